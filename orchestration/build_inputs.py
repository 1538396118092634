"""What a dbt build read, kept in the warehouse, so the 15-minute job rebuilds only what changed.

Every model is a function of the raw tables dlt loads, the seeds and the project's code (no
model reads the clock). So a model whose raw tables hold the same rows as at the last build,
with the same project, would be rebuilt to the same rows. Most 15-minute runs change little or
nothing: GA4 exports a day once a day and the re-read of its last days loads the same events
again, the ad platforms and the ECB move a few times a day, Stripe only when a customer does.

After each successful build, the dbt step records here a fingerprint of every raw table the
project reads (its rows, whatever dlt's load ids) and of the project (its files). The
15-minute job's dbt step compares them with the draft's: a model none of whose raw tables
changed is left as the last build made it, with its tests (it was audited then), and the step
says so; with nothing changed, dbt does not start at all. This is dbt's own
``source_status:fresher+`` idea, with the rows' content as the freshness, since dlt's merge
reloads unchanged rows with new load ids. The nightly builds and tests everything, whatever
changed, and records what it read.

The fingerprint of a table is its row count and the sum of each row's hash, over every column
but dlt's bookkeeping (``_dlt_load_id``, ``_dlt_id`` and the parent links, which change with
every load; ``_dlt_list_idx``, a position in the parent's list, stays): order does not matter,
and a duplicated row counts. A missing table has its own fingerprint.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

#: Where the fingerprints live: in the warehouse, so they are published with the build they
#: describe, and a failed run (never published) records nothing.
SCHEMA = "northstar_builds"
TABLE = f"{SCHEMA}.inputs"
#: The fingerprint row of the dbt project itself (a changed model or seed rebuilds everything).
PROJECT = "project"
_DLT_BOOKKEEPING = ("_dlt_load_id", "_dlt_id", "_dlt_parent_id", "_dlt_root_id")
_ABSENT = "absent"


def project_fingerprint(project_dir: Path, files: Iterable[Path]) -> str:
    """The project's files (assets/dbt.py ``project_files``), path and bytes: a model's SQL, a
    yml's config or test, a seed's rows, a var in dbt_project.yml."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(project_dir)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def raw_tables(manifest: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """Each dbt source's unique id and the (schema, table) it reads."""
    return {uid: (source["schema"], source.get("identifier") or source["name"])
            for uid, source in manifest.get("sources", {}).items()}


def table_fingerprint(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> str:
    """Row count and the sum of the rows' hashes, dlt's bookkeeping columns left out."""
    columns = [name for (name,) in con.execute(
        "select column_name from duckdb_columns() where schema_name = ? and table_name = ? "
        "and database_name = current_database() order by column_index", [schema, table]).fetchall()
        if name not in _DLT_BOOKKEEPING]
    if not columns:
        return _ABSENT
    quoted = ", ".join('"' + c.replace('"', '""') + '"' for c in columns)
    rows, total = con.execute(
        f'select count(*), coalesce(sum(hash({quoted})::hugeint), 0) from "{schema}"."{table}"').fetchone()
    return f"{rows}:{total}"


def fingerprints(con: duckdb.DuckDBPyConnection, manifest: Mapping[str, Any], project: str) -> dict[str, str]:
    """The project's fingerprint (``project``) and every raw table's, keyed by source unique id."""
    found = {PROJECT: project}
    for uid, (schema, table) in sorted(raw_tables(manifest).items()):
        found[uid] = table_fingerprint(con, schema, table)
    return found


@dataclass(frozen=True)
class Recorded:
    """What the last successful build read, and which run built it."""

    run_id: str
    inputs: dict[str, str]


def recorded(con: duckdb.DuckDBPyConnection) -> Recorded | None:
    """The last build's record, or None (none yet: a warehouse built before this module)."""
    exists = con.execute("select count(*) from duckdb_tables() where schema_name = ? and table_name = ? "
                         "and database_name = current_database()", [SCHEMA, TABLE.split(".")[1]]).fetchone()[0]
    if not exists:
        return None
    rows = con.execute(f"select input, fingerprint, run_id from {TABLE}").fetchall()
    if not rows:
        return None
    return Recorded(run_id=rows[0][2], inputs={name: value for name, value, _ in rows})


def record(con: duckdb.DuckDBPyConnection, inputs: Mapping[str, str], run_id: str) -> None:
    """Replace the record with what this run's build read."""
    con.execute(f"create schema if not exists {SCHEMA}")
    con.execute(f"create table if not exists {TABLE} (input varchar primary key, fingerprint varchar not null, "
                "run_id varchar not null, recorded_at timestamp with time zone not null)")
    con.execute("begin")
    con.execute(f"delete from {TABLE}")
    con.executemany(f"insert into {TABLE} values (?, ?, ?, now())",
                    [[name, value, run_id] for name, value in sorted(inputs.items())])
    con.execute("commit")


def changed_inputs(now: Mapping[str, str], before: Recorded | None) -> set[str]:
    """The inputs whose fingerprint differs from the record's (every one without a record)."""
    if before is None:
        return set(now)
    return {name for name, value in now.items() if before.inputs.get(name) != value}


def stale_nodes(manifest: Mapping[str, Any], changed: Iterable[str]) -> set[str]:
    """The changed sources and every node downstream of one; everything when the project changed."""
    changed = set(changed)
    if PROJECT in changed:
        return set(manifest.get("nodes", {})) | set(manifest.get("sources", {}))
    children = manifest.get("child_map", {})
    stale, todo = set(changed), list(changed)
    while todo:
        node = todo.pop()
        for child in children.get(node, ()):
            if child not in stale:
                stale.add(child)
                todo.append(child)
    return stale


def depths(manifest: Mapping[str, Any]) -> dict[str, int]:
    """Each node's longest path from an input: sorted by it, a node comes after its parents."""
    parents = manifest.get("parent_map", {})
    found: dict[str, int] = {}

    def depth(node: str) -> int:
        if node not in found:
            found[node] = 0  # a cycle cannot occur in dbt's graph; this stops one anyway
            found[node] = 1 + max((depth(p) for p in parents.get(node, ())), default=-1)
        return found[node]

    for node in parents:
        depth(node)
    return found
