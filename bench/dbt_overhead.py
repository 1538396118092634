"""Benchmark: dbt's overhead, ``dbt build`` against the same SQL run directly by DuckDB (issue 6).

    uv run python bench/dbt_overhead.py --warehouse warehouse/northstar.duckdb --repeats 3 \\
        --work-dir warehouse/bench/dbt_overhead

Input: a loaded warehouse file (raw tables; built marts are ignored). It is only read: every
run works on copies under ``--work-dir``, which start as the nightly's fresh file does before
``dbt build``: dlt's schemas only (everything in the schemas dbt builds in is
dropped, and the first build checks that none of its relations was there).

Each repeat:
1. ``dbt build`` (seeds, models, data tests, unit tests) of a fresh copy, through dbtRunner
   in-process: ``tests.dbt_helpers.run_dbt(["build", "--quiet"])``, ``--target prod`` with
   NORTHSTAR_WAREHOUSE naming the copy. (The nightly starts the ``dbt`` executable through
   dagster-dbt instead, orchestration/assets/dbt.py: the same build, without the unit tests,
   plus a process start-up; dbt's own work, measured here, is what both pay.) It runs in a
   fresh Python process per repeat and is timed inside it from ``import dbt`` to the end of
   ``invoke``; the process's wall time, interpreter start-up included, is reported apart.
2. One DuckDB SQL script assembled from that invocation's artefacts, doing the same work:
   seeds loaded with ``read_csv`` and the exact column types dbt gave them (read from the dbt
   copy), every model in the order dbt completed it (run_results.json, checked topological
   against manifest.json) as ``create or replace table|view <relation> as (<compiled SQL>)``
   (incremental models as full builds: the nightly builds a fresh file), and every data test
   and unit test as the exact query dbt ran (``target/run/...``: data tests count failures,
   unit tests return the actual and expected rows that dbt diffs). The script runs statement by
   statement on one connection of one fresh Python process, on a fresh copy, timed from
   ``import duckdb`` to ``close()`` (the final checkpoint is work dbt's run does too). The
   script is written to ``<work-dir>/raw_build.sql`` for reading or for the duckdb CLI.
   It runs one statement at a time, where dbt runs two nodes at a time (threads: 2 in
   profiles.yml): DuckDB does not keep both cores busy on every query, so dbt can win back
   part of its overhead (the slowest models are listed with both timings).
3. Row counts of every seed and model relation, and every data test's failure count, must be
   equal in both copies; a difference is printed loudly and makes the CLI exit 1.

Fixed seconds per invocation: ``dbt build --select tag:bench_selects_nothing``, the build
command with a selector matching nothing. It imports dbt, loads the project and profile, parses
(full or partial), builds and writes the graph and manifest, then stops before connecting (the
warehouse connection and relation cache are per-run costs inside the build's execution phase,
about 0.2 s on DuckDB). Measured both with a full parse and with a warm partial parse. The
builds run with a full parse by default, the worst case: dbt discards its saved parse whenever
the profile changed, and the warehouse path is part of the profile (a build of another file,
or a dev-target run sharing ``target/``, forces a full parse: "Unable to do partial parsing
because profile has changed" in dbt.log). The nightly avoids it by building its draft at one
fixed path and keeping that draft's parse (orchestration/assets/dbt.py); ``--partial-parse``
measures the builds with a warm one, as the nightly runs once its parse is kept.

Prints a table; writes ``--out`` (JSON). Figures are medians over the repeats.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# run as a script (python bench/...), so bench is importable only once ROOT is on sys.path
from bench.machine import header_line, machine_info  # noqa: E402
from orchestration.dbt_project import DBT_SCHEMAS  # noqa: E402

NOTHING_SELECTOR = "tag:bench_selects_nothing"
TARGET_RATIO = 1.5

# Runs in a fresh interpreter (cwd = repository root): dbt's build in-process, timed from the
# import of dbt. argv: dbt args (JSON), target path, where to write the timings.
DBT_CHILD = """
import json, sys, time
from pathlib import Path
started = time.perf_counter()
from tests.dbt_helpers import failures, run_dbt
imported = time.perf_counter()
result = run_dbt(json.loads(sys.argv[1]), target_path=Path(sys.argv[2]))
finished = time.perf_counter()
Path(sys.argv[3]).write_text(json.dumps({
    "seconds": finished - started,
    "import_seconds": imported - started,
    "invoke_seconds": finished - imported,
    "success": result.success,
    "failures": failures(result),
}))
"""

# Runs the assembled script in a fresh interpreter on one connection. argv: plan (JSON),
# warehouse copy, where to write the timings. The plan is read before the clock starts.
RAW_CHILD = """
import json, sys, time
from pathlib import Path
steps = json.loads(Path(sys.argv[1]).read_text())
started = time.perf_counter()
import duckdb
con = duckdb.connect(sys.argv[2])
timings = []
for step in steps:
    began = time.perf_counter()
    cursor = con.execute(step["sql"])
    outcome = None
    if step["kind"] == "data_test":
        outcome = cursor.fetchone()[0]
    elif step["kind"] == "unit_test":
        outcome = len(cursor.fetchall())
    timings.append({"unique_id": step["unique_id"], "seconds": time.perf_counter() - began,
                    "outcome": outcome})
con.close()
finished = time.perf_counter()
Path(sys.argv[3]).write_text(json.dumps({"seconds": finished - started, "steps": timings}))
"""


# ---------------------------------------------------------------------------- warehouse copies


def copy_warehouse(source: Path, destination: Path) -> Path:
    """Copy a DuckDB file (and its WAL when there is one) over whatever was at ``destination``."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", ".wal"):
        Path(f"{destination}{suffix}").unlink(missing_ok=True)
        if Path(f"{source}{suffix}").exists():
            shutil.copyfile(f"{source}{suffix}", f"{destination}{suffix}")
    return destination


def prepare_loaded_copy(warehouse: Path, destination: Path) -> list[str]:
    """A copy as the nightly's fresh file is before ``dbt build``: what dlt loaded, nothing built.

    Drops every relation in the schemas dbt builds into: the target schema ``main`` and the
    layers' schemas (``DBT_SCHEMAS``: staging, intermediate, core, metrics, seeds). Returns the
    schemas left, dlt's datasets.
    """
    copy_warehouse(warehouse, destination)
    with duckdb.connect(str(destination)) as con:
        relations = con.execute(
            "select schema_name, view_name, 'view' from duckdb_views() "
            "where database_name = current_database() and not internal "
            "union all select schema_name, table_name, 'table' from duckdb_tables() "
            "where database_name = current_database()").fetchall()
        for schema, name, kind in relations:
            if schema == "main" or schema in DBT_SCHEMAS:
                con.execute(f'drop {kind} if exists "{schema}"."{name}"')
        for (schema,) in con.execute(
                "select schema_name from duckdb_schemas() where database_name = current_database() "
                "and list_contains(?, schema_name)", [list(DBT_SCHEMAS)]).fetchall():
            con.execute(f'drop schema "{schema}" cascade')
        con.execute("checkpoint")
        return [row[0] for row in con.execute(
            "select distinct schema_name from duckdb_tables() where database_name = current_database() "
            "order by 1").fetchall()]


def assert_unbuilt(base: Path, relations: list[str]) -> None:
    """The copies must not hold a relation dbt builds, or incremental models would run as such."""
    with duckdb.connect(str(base), read_only=True) as con:
        present = []
        for relation in relations:
            try:
                con.execute(f"select 1 from {relation} limit 0")
            except duckdb.CatalogException:
                continue
            present.append(relation)
    if present:
        raise RuntimeError(f"the loaded copy {base} already holds dbt relations: {', '.join(present)}")


# ---------------------------------------------------------------------------- running dbt


def run_dbt_child(args: list[str], warehouse_copy: Path, work_dir: Path, label: str) -> dict:
    """One dbt invocation in a fresh process; its timings, parse mode and process wall time."""
    log_dir = work_dir / "logs" / label
    shutil.rmtree(log_dir, ignore_errors=True)
    timing_file = work_dir / f"timing-{label}.json"
    env = {**os.environ, "NORTHSTAR_WAREHOUSE": str(warehouse_copy), "DBT_LOG_PATH": str(log_dir)}
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", DBT_CHILD, json.dumps(args), str(work_dir / "target"), str(timing_file)],
        check=False, cwd=ROOT, env=env, capture_output=True, text=True)
    process_seconds = time.perf_counter() - started
    if completed.returncode != 0 or not timing_file.exists():
        raise RuntimeError(f"dbt {' '.join(args)} crashed:\n{completed.stdout}\n{completed.stderr}")
    timing = json.loads(timing_file.read_text())
    if not timing["success"] and args[0] == "build" and "--select" not in args:
        raise RuntimeError(f"dbt build failed on {warehouse_copy}: " + "; ".join(timing["failures"]))
    return {**timing, "process_seconds": process_seconds, "parse": parse_mode(log_dir / "dbt.log"),
            "threads": threads(log_dir / "dbt.log"), "phases": log_phases(log_dir / "dbt.log")}


def parse_mode(log_file: Path) -> str:
    """'partial' or 'full', from dbt's own log lines about its saved parse."""
    text = log_file.read_text() if log_file.exists() else ""
    full = ("Partial parsing not enabled", "Unable to do partial parsing", "Starting full parse")
    if any(line in text for line in full):
        return "full"
    return "partial" if "Partial parsing enabled" in text else "unknown"


def threads(log_file: Path) -> int | None:
    """The threads dbt ran with (profiles.yml), from its 'Concurrency: N threads' log line."""
    match = re.search(r"Concurrency: (\d+) threads", log_file.read_text() if log_file.exists() else "")
    return int(match.group(1)) if match else None


# dbt's log lines that open and close the phases of an invocation
PHASE_MARKS = {
    "start": re.compile(r"Running with dbt="),
    "parsed": re.compile(r"\bFound \d+ models"),
    "executing": re.compile(r"Concurrency: "),
    "executed": re.compile(r"Finished running (?!node)"),
    "end": re.compile(r"Command `cli \w+` (succeeded|failed)"),
}
TIME = re.compile(r"(\d\d):(\d\d):(\d\d\.\d+)")


def log_phases(log_file: Path) -> dict[str, float]:
    """Seconds of each phase of an invocation, from the timestamps of dbt's own log lines.

    load_and_parse: project, profile, macros, parse (dbt already imported); execution: from
    'Concurrency' to 'Finished running' (connection, relation cache, every node); artefacts:
    writing manifest and run_results. A build that selects nothing has no execution phase:
    its graph, selection and artefacts are one phase.
    """
    seen: dict[str, float] = {}
    for line in log_file.read_text().splitlines() if log_file.exists() else []:
        for mark, pattern in PHASE_MARKS.items():
            if mark not in seen and pattern.search(line) and (clock := TIME.search(line)):
                hours, minutes, seconds = clock.groups()
                seen[mark] = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    if "executing" in seen and "executed" in seen:
        spans = {"load_and_parse": ("start", "parsed"), "graph_and_selection": ("parsed", "executing"),
                 "execution": ("executing", "executed"), "artefacts": ("executed", "end")}
    else:
        spans = {"load_and_parse": ("start", "parsed"), "graph_selection_and_artefacts": ("parsed", "end")}
    return {name: round((seen[b] - seen[a]) % 86400, 3)
            for name, (a, b) in spans.items() if a in seen and b in seen}


def build_args(partial_parse: bool, select: str | None = None) -> list[str]:
    """``build --quiet``, plus what we vary."""
    args = ["build", "--quiet"]
    if select:
        args += ["--select", select]
    if not partial_parse:
        args.append("--no-partial-parse")
    return args


def measure_fixed(warehouse_copy: Path, work_dir: Path, repeats: int) -> dict:
    """Seconds of a build selecting nothing: start-up, project load and parse, graph, artefacts."""
    full = [run_dbt_child(build_args(False, NOTHING_SELECTOR), warehouse_copy, work_dir, f"noop-full-{i}")
            for i in range(repeats)]
    run_dbt_child(build_args(True, NOTHING_SELECTOR), warehouse_copy, work_dir, "noop-warm-up")
    partial = [run_dbt_child(build_args(True, NOTHING_SELECTOR), warehouse_copy, work_dir, f"noop-partial-{i}")
               for i in range(repeats)]
    modes = {run["parse"] for run in partial}
    if modes != {"partial"}:
        print(f"WARNING: dbt did not reuse its saved parse in the partial-parse runs: {modes}", file=sys.stderr)
    return {
        "command": "dbt " + " ".join(build_args(True, NOTHING_SELECTOR)),
        "full_parse_phases_seconds": median_phases(full),
        "partial_parse_phases_seconds": median_phases(partial),
        "full_parse_seconds": median_of(full, "seconds"),
        "partial_parse_seconds": median_of(partial, "seconds"),
        "import_seconds": median_of(full + partial, "import_seconds"),
        "full_parse_runs": [round(run["seconds"], 3) for run in full],
        "partial_parse_runs": [round(run["seconds"], 3) for run in partial],
    }


def median_phases(runs: list[dict]) -> dict[str, float]:
    """Median of each phase over the runs, dbt's import (timed in the child) first."""
    phases = {"import": median_of(runs, "import_seconds")}
    for name in [name for name in runs[0]["phases"] if all(name in run["phases"] for run in runs)]:
        phases[name] = round(statistics.median(run["phases"][name] for run in runs), 3)
    return phases


def median_of(runs: list[dict], key: str) -> float:
    return round(statistics.median(run[key] for run in runs), 3)


# ---------------------------------------------------------------------------- the raw-SQL script


def load_artefacts(target: Path) -> tuple[dict, dict]:
    return (json.loads((target / "manifest.json").read_text()),
            json.loads((target / "run_results.json").read_text()))


def manifest_node(manifest: dict, unique_id: str) -> dict:
    return manifest["nodes"].get(unique_id) or manifest["unit_tests"][unique_id]


def executed_in_order(manifest: dict, run_results: dict) -> list[dict]:
    """The nodes dbt ran, in the order it completed them, checked to be topological.

    Unit tests are left out of the check: they depend on the model they test but dbt build
    runs them before it, so that a failing one stops the model.
    """
    ids = [result["unique_id"] for result in run_results["results"]]
    position = {unique_id: index for index, unique_id in enumerate(ids)}
    for unique_id in (i for i in ids if not i.startswith("unit_test.")):
        for parent in manifest_node(manifest, unique_id)["depends_on"].get("nodes", []):
            if parent in position and position[parent] > position[unique_id]:
                raise RuntimeError(f"run_results order is not topological: {parent} after {unique_id}")
    return [manifest_node(manifest, unique_id) for unique_id in ids]


def run_sql_file(target: Path, node: dict) -> Path:
    """Where dbt wrote the statement it ran for a test (dbt's get_target_write_path rule).

    Unit tests are written under their yml file's path, by name: found by search.
    """
    original = node["original_file_path"]
    relative = original if Path(node["path"]).name == Path(original).name else f"{original}/{node['path']}"
    candidate = target / "run" / node["package_name"] / relative
    if candidate.is_file():
        return candidate
    matches = list((target / "run" / node["package_name"] / original).glob(f"**/{node['name']}.sql"))
    if len(matches) != 1:
        raise RuntimeError(f"no single run file for {node['unique_id']}: {matches}")
    return matches[0]


def seed_columns(dbt_copy: Path, relation: tuple[str, str]) -> dict[str, str]:
    """The column types dbt gave a seed table (agate inference + column_types), in order."""
    with duckdb.connect(str(dbt_copy), read_only=True) as con:
        return dict(con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position", list(relation)).fetchall())


def seed_step(node: dict, dbt_copy: Path) -> str:
    columns = seed_columns(dbt_copy, (node["schema"], node["alias"]))
    struct = ", ".join(f"'{name}': '{kind}'" for name, kind in columns.items())
    delimiter = node["config"].get("delimiter") or ","
    csv = Path(node["root_path"]) / node["original_file_path"]
    return (f"create or replace table {node['relation_name']} as select * from read_csv("
            f"'{csv}', header = true, delim = '{delimiter}', columns = {{{struct}}})")


def model_step(node: dict, compiled_code: str) -> str | None:
    materialized = node["config"]["materialized"]
    if materialized == "ephemeral":
        return None
    kind = "view" if materialized == "view" else "table"
    return f"create or replace {kind} {node['relation_name']} as (\n{compiled_code}\n)"


def assemble_script(manifest: dict, run_results: dict, target: Path, dbt_copy: Path) -> list[dict]:
    """The steps of the raw-SQL build: schemas, then every node dbt ran, in dbt's order."""
    compiled = {result["unique_id"]: result.get("compiled_code") for result in run_results["results"]}
    nodes = executed_in_order(manifest, run_results)
    schemas = sorted({(n["database"], n["schema"]) for n in nodes if n["resource_type"] in ("model", "seed")})
    steps = [{"unique_id": f"schema.{db}.{schema}", "kind": "schema",
              "sql": f'create schema if not exists "{db}"."{schema}"'} for db, schema in schemas]
    for node in nodes:
        kind = node["resource_type"]
        if kind == "seed":
            sql = seed_step(node, dbt_copy)
        elif kind == "model":
            sql = model_step(node, compiled[node["unique_id"]] or node["compiled_code"])
        elif kind in ("test", "unit_test"):
            kind = "data_test" if kind == "test" else kind
            sql = run_sql_file(target, node).read_text()
        else:
            raise RuntimeError(f"no raw-SQL equivalent for {node['unique_id']} ({kind})")
        if sql is not None:
            steps.append({"unique_id": node["unique_id"], "kind": kind, "sql": sql})
    return steps


def write_script(steps: list[dict], path: Path) -> None:
    header = ("-- The work of one `dbt build` as one DuckDB script (bench/dbt_overhead.py):\n"
              "-- seeds, models in dbt's completion order, data tests and unit tests as queries.\n\n")
    path.write_text(header + "".join(f"-- {s['unique_id']}\n{s['sql'].strip()};\n\n" for s in steps))


def run_raw_child(steps: list[dict], warehouse_copy: Path, work_dir: Path) -> dict:
    plan = work_dir / "raw_plan.json"
    plan.write_text(json.dumps(steps))
    timing_file = work_dir / "timing-raw.json"
    timing_file.unlink(missing_ok=True)
    started = time.perf_counter()
    completed = subprocess.run([sys.executable, "-c", RAW_CHILD, str(plan), str(warehouse_copy), str(timing_file)],
                               check=False, cwd=ROOT, capture_output=True, text=True)
    process_seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"raw-SQL script failed on {warehouse_copy}:\n{completed.stderr}")
    return {**json.loads(timing_file.read_text()), "process_seconds": process_seconds}


# ---------------------------------------------------------------------------- honesty checks


def built_relations(manifest: dict, run_results: dict) -> list[str]:
    nodes = [manifest_node(manifest, r["unique_id"]) for r in run_results["results"]]
    return [n["relation_name"] for n in nodes
            if n["resource_type"] in ("seed", "model") and n["config"]["materialized"] != "ephemeral"]


def row_counts(warehouse_copy: Path, relations: list[str]) -> dict[str, int]:
    with duckdb.connect(str(warehouse_copy), read_only=True) as con:
        return {relation: con.execute(f"select count(*) from {relation}").fetchone()[0] for relation in relations}


def compare_builds(manifest: dict, run_results: dict, raw: dict, dbt_copy: Path, raw_copy: Path) -> dict:
    """Row counts of every seed and model, failures of every data test: dbt's against raw's."""
    relations = built_relations(manifest, run_results)
    dbt_rows, raw_rows = row_counts(dbt_copy, relations), row_counts(raw_copy, relations)
    raw_outcome = {step["unique_id"]: step["outcome"] for step in raw["steps"]}
    test_mismatches = [
        f"{r['unique_id']}: dbt {r['failures']} failures, raw {raw_outcome.get(r['unique_id'])}"
        for r in run_results["results"]
        if r["unique_id"].startswith("test.") and r["failures"] != raw_outcome.get(r["unique_id"])]
    return {
        "relations_compared": len(relations),
        "row_count_mismatches": [f"{rel}: dbt {dbt_rows[rel]} rows, raw {raw_rows[rel]}"
                                 for rel in relations if dbt_rows[rel] != raw_rows[rel]],
        "test_failure_mismatches": test_mismatches,
    }


def shout(problems: list[str], what: str) -> None:
    if problems:
        bar = "!" * 78
        print(f"{bar}\nMISMATCH: {what} differ between dbt and the raw-SQL script; the comparison "
              f"is not like for like:", file=sys.stderr)
        for line in problems:
            print(f"  {line}", file=sys.stderr)
        print(bar, file=sys.stderr)


# ---------------------------------------------------------------------------- figures


def node_kind(unique_id: str) -> str:
    kind = unique_id.split(".")[0]
    return "data_test" if kind == "test" else kind


def breakdown(run_results: dict, raw: dict) -> dict[str, dict]:
    """Per resource type: nodes, dbt's summed node seconds, the raw script's summed seconds.

    dbt's node seconds (run_results execution_time) include its per-node work: compiling,
    relation-cache look-ups, begin / commit, the create-as-__dbt_tmp-then-rename dance, unit
    test fixtures and temp tables. Two threads overlap them, so their sum exceeds wall time.
    """
    figures: dict[str, dict] = {}
    for result in run_results["results"]:
        entry = figures.setdefault(node_kind(result["unique_id"]),
                                   {"nodes": 0, "dbt_node_seconds": 0.0, "raw_seconds": 0.0})
        entry["nodes"] += 1
        entry["dbt_node_seconds"] += result["execution_time"]
    for step in raw["steps"]:
        if not step["unique_id"].startswith("schema."):
            figures[node_kind(step["unique_id"])]["raw_seconds"] += step["seconds"]
    return figures


def median_breakdown(breakdowns: list[dict[str, dict]]) -> dict[str, dict]:
    """Median over the repeats of each type's figures, with dbt's overhead per node in ms."""
    result = {}
    for kind in breakdowns[0]:
        dbt_seconds = statistics.median(b[kind]["dbt_node_seconds"] for b in breakdowns)
        raw_seconds = statistics.median(b[kind]["raw_seconds"] for b in breakdowns)
        nodes = breakdowns[0][kind]["nodes"]
        result[kind] = {
            "nodes": nodes,
            "dbt_node_seconds": round(dbt_seconds, 3),
            "raw_seconds": round(raw_seconds, 3),
            "overhead_ms_per_node": round((dbt_seconds - raw_seconds) / nodes * 1000, 1),
        }
    return result


def slowest_models(run_results: dict, raw: dict, limit: int = 5) -> list[dict]:
    """The models dbt spent longest on, with the raw script's seconds for the same SQL."""
    raw_seconds = {step["unique_id"]: step["seconds"] for step in raw["steps"]}
    models = [r for r in run_results["results"] if r["unique_id"].startswith("model.")]
    models.sort(key=lambda r: r["execution_time"], reverse=True)
    return [{"model": r["unique_id"].split(".")[-1], "dbt_seconds": round(r["execution_time"], 3),
             "raw_seconds": round(raw_seconds.get(r["unique_id"], 0.0), 3), "dbt_thread": r["thread_id"]}
            for r in models[:limit]]


def counts(manifest: dict, run_results: dict) -> dict:
    nodes = [manifest_node(manifest, r["unique_id"]) for r in run_results["results"]]
    materializations: dict[str, int] = {}
    for node in nodes:
        if node["resource_type"] == "model":
            kind = node["config"]["materialized"]
            materializations[kind] = materializations.get(kind, 0) + 1
    by_kind = {kind: sum(1 for n in nodes if node_kind(n["unique_id"]) == kind)
               for kind in ("model", "seed", "data_test", "unit_test")}
    return {**{f"{kind}s": n for kind, n in by_kind.items()}, "model_materializations": materializations}


def measure_dbt_overhead(warehouse: Path, repeats: int = 3, work_dir: Path | None = None,
                         partial_parse: bool = False) -> dict:
    """dbt build vs the same SQL as one DuckDB script, and dbt's fixed seconds per invocation.

    ``work_dir`` (default ``warehouse/bench/dbt_overhead``) receives the copies, dbt's target
    and logs and the assembled script; it needs about three times the warehouse's size.
    """
    machine = machine_info()
    work_dir = (work_dir or ROOT / "warehouse" / "bench" / "dbt_overhead").resolve()
    shutil.rmtree(work_dir / "target", ignore_errors=True)
    base = work_dir / "base" / warehouse.name
    dbt_copy, raw_copy = work_dir / "dbt" / warehouse.name, work_dir / "raw" / warehouse.name
    kept = prepare_loaded_copy(warehouse, base)
    # every invocation names the same path, so dbt sees the same profile each time
    fixed = measure_fixed(copy_warehouse(base, dbt_copy), work_dir, repeats)
    dbt_runs, raw_runs, checks, breakdowns = [], [], [], []
    for index in range(repeats):
        copy_warehouse(base, dbt_copy)
        dbt_run = run_dbt_child(build_args(partial_parse), dbt_copy, work_dir, f"build-{index}")
        manifest, run_results = load_artefacts(work_dir / "target")
        if index == 0:
            assert_unbuilt(base, built_relations(manifest, run_results))
        dbt_run["execution_seconds"] = run_results["elapsed_time"]
        steps = assemble_script(manifest, run_results, work_dir / "target", dbt_copy)
        write_script(steps, work_dir / "raw_build.sql")
        raw_run = run_raw_child(steps, copy_warehouse(base, raw_copy), work_dir)
        check = compare_builds(manifest, run_results, raw_run, dbt_copy, raw_copy)
        shout(check["row_count_mismatches"], "row counts")
        shout(check["test_failure_mismatches"], "data test failures")
        dbt_runs.append(dbt_run)
        raw_runs.append(raw_run)
        checks.append(check)
        breakdowns.append(breakdown(run_results, raw_run))
    dbt_seconds, raw_seconds = median_of(dbt_runs, "seconds"), median_of(raw_runs, "seconds")
    execution_seconds = median_of(dbt_runs, "execution_seconds")
    return {
        "benchmark": "dbt_overhead",
        "warehouse": str(warehouse),
        "warehouse_bytes": warehouse.stat().st_size,
        "machine": {**machine, "load_average_after": machine_info()["load_average"]},
        "repeats": repeats,
        "loaded_schemas": kept,
        "dbt_command": "dbt " + " ".join(build_args(partial_parse)) + " --target prod (dbtRunner, in-process)",
        "dbt_parse": sorted({run["parse"] for run in dbt_runs}),
        "dbt_threads": dbt_runs[-1]["threads"],
        "dbt_seconds": dbt_seconds,
        "raw_sql_seconds": raw_seconds,
        "ratio": round(dbt_seconds / raw_seconds, 3),
        "target_ratio": TARGET_RATIO,
        "overhead_seconds": round(dbt_seconds - raw_seconds, 3),
        "fixed_seconds": fixed["partial_parse_seconds"] if partial_parse else fixed["full_parse_seconds"],
        "fixed": fixed,
        "dbt_execution_seconds": execution_seconds,
        "dbt_start_up_and_parse_seconds": round(dbt_seconds - execution_seconds, 3),
        "dbt_phases_seconds": median_phases(dbt_runs),
        "counts": counts(manifest, run_results),
        "by_resource_type": median_breakdown(breakdowns),
        "slowest_models_last_repeat": slowest_models(run_results, raw_runs[-1]),
        "runs": {
            "dbt_seconds": [round(run["seconds"], 3) for run in dbt_runs],
            "dbt_import_seconds": [round(run["import_seconds"], 3) for run in dbt_runs],
            "dbt_execution_seconds": [round(run["execution_seconds"], 3) for run in dbt_runs],
            "dbt_process_seconds": [round(run["process_seconds"], 3) for run in dbt_runs],
            "raw_sql_seconds": [round(run["seconds"], 3) for run in raw_runs],
            "raw_sql_process_seconds": [round(run["process_seconds"], 3) for run in raw_runs],
        },
        "raw_sql_script": str(work_dir / "raw_build.sql"),
        "relations_compared": checks[-1]["relations_compared"],
        "row_counts_match": not any(c["row_count_mismatches"] for c in checks),
        "test_failures_match": not any(c["test_failure_mismatches"] for c in checks),
        "mismatches": sorted({line for c in checks
                              for line in c["row_count_mismatches"] + c["test_failure_mismatches"]}),
    }


def print_table(result: dict) -> None:
    c = result["counts"]
    print(f"dbt overhead on {result['warehouse']} ({header_line(result['machine'])}); "
          f"median of {result['repeats']}; {c['models']} models, {c['seeds']} seeds, "
          f"{c['data_tests']} data tests, {c['unit_tests']} unit tests")
    rows = [
        ("dbt build (s)", result["dbt_seconds"], result["runs"]["dbt_seconds"]),
        ("  of which execution (s)", result["dbt_execution_seconds"], result["runs"]["dbt_execution_seconds"]),
        ("raw SQL, one DuckDB script (s)", result["raw_sql_seconds"], result["runs"]["raw_sql_seconds"]),
        ("fixed per invocation, full parse (s)", result["fixed"]["full_parse_seconds"],
         result["fixed"]["full_parse_runs"]),
        ("fixed per invocation, partial parse (s)", result["fixed"]["partial_parse_seconds"],
         result["fixed"]["partial_parse_runs"]),
    ]
    width = max(len(row[0]) for row in rows)
    for label, value, runs in rows:
        print(f"  {label:<{width}}  {value:>8.2f}   runs {', '.join(f'{r:.2f}' for r in runs)}")
    print(f"  {'ratio dbt / raw':<{width}}  {result['ratio']:>8.2f}   (target < {result['target_ratio']})")
    phases = ", ".join(f"{name} {seconds:.2f}" for name, seconds in result["dbt_phases_seconds"].items())
    print(f"  dbt build phases (s, {', '.join(result['dbt_parse'])} parse): {phases}")
    print(f"  {'by resource type (sum of node s)':<{width}}  {'nodes':>8}  {'dbt s':>7}  {'raw s':>7}  "
          f"{'overhead ms/node':>16}")
    for kind, figures in result["by_resource_type"].items():
        print(f"  {kind:<{width}}  {figures['nodes']:>8}  {figures['dbt_node_seconds']:>7.2f}  "
              f"{figures['raw_seconds']:>7.2f}  {figures['overhead_ms_per_node']:>16.1f}")
    slowest = ", ".join(f"{m['model']} {m['dbt_seconds']:.1f}/{m['raw_seconds']:.1f}"
                        for m in result["slowest_models_last_repeat"])
    print(f"  slowest models, dbt s / raw s: {slowest}")
    verdict = "match" if result["row_counts_match"] and result["test_failures_match"] else "MISMATCH"
    print(f"  row counts of {result['relations_compared']} relations and data test failures: {verdict}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, default=ROOT / "warehouse" / "northstar.duckdb",
                        help="a loaded warehouse (only read; copies are made under --work-dir)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--work-dir", type=Path, default=ROOT / "warehouse" / "bench" / "dbt_overhead")
    parser.add_argument("--partial-parse", action="store_true",
                        help="time the builds with a warm partial parse (default: full, the worst case)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "dbt_overhead.json")
    args = parser.parse_args()
    result = measure_dbt_overhead(args.warehouse.resolve(), args.repeats, args.work_dir, args.partial_parse)
    print_table(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"  wrote {args.out}")
    return 0 if result["row_counts_match"] and result["test_failures_match"] else 1


if __name__ == "__main__":
    sys.exit(main())
