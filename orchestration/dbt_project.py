"""Where the dbt project is, and what a dbt invocation's artefacts say failed.

Plain Python (no Dagster, no dbt import): the nightly's dbt asset (orchestration/assets/dbt.py),
the KPI checks, and the tests' and benchmark's own dbt runs (tests/dbt_helpers.py) share it,
with the way both keep dbt's partial parse from one invocation to the next.
``dbt_project.yml`` and ``profiles.yml`` live at the repository root, where analytics engineers
run dbt by hand.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
#: The schemas dbt builds in (one per layer, and the seeds'); everything else is dlt's raw data.
DBT_SCHEMAS = ("staging", "intermediate", "core", "metrics", "seeds")


def relation(model: str, project_dir: Path = PROJECT_DIR) -> str:
    """``<schema>.<model>``: where dbt builds a model. Each layer has a schema named as its folder
    (dbt_project.yml, macros/generate_schema_name.sql): ``models/staging`` builds in
    ``staging``, ``models/intermediate`` in ``intermediate``, ``models/marts/core`` in ``core``
    and ``models/marts/metrics`` in ``metrics``."""
    found = sorted((project_dir / "models").rglob(f"{model}.sql"))
    if not found:
        raise LookupError(f"no dbt model named {model} under {project_dir / 'models'}")
    layer = found[0].relative_to(project_dir / "models").parts
    schema = layer[1] if layer[0] == "marts" else layer[0]
    return f"{schema}.{model}"


def failed_nodes(target_path: Path) -> tuple[list[str], list[str]]:
    """(failed models/seeds, failed tests) of the invocation whose artefacts are in target_path,
    one line each: ``<unique id>: <status>: <dbt's message on one line>``."""
    results_file = target_path / "run_results.json"
    if not results_file.exists():
        return [], []
    models, tests = [], []
    for result in json.loads(results_file.read_text())["results"]:
        if result["status"] not in ("error", "fail", "runtime error"):
            continue
        message = " ".join(line.strip() for line in (result.get("message") or "").splitlines()
                           if line.strip())
        line = f"{result['unique_id']}: {result['status']}" + (f": {message[:300]}" if message else "")
        (tests if result["unique_id"].startswith("test.") else models).append(line)
    return models, tests


#: How many saved parses a folder keeps (the newest): one per warehouse and ``--vars`` in use.
KEEP_PARSES = 8


def point_symlink(link: Path, to: Path | str) -> None:
    """Point ``link`` at ``to`` in one rename: whoever follows it finds the old target or the new.

    dbt keeps a partial parse (about 1 s, against 5-10 s for a full one) only while its profile,
    which names the warehouse path, is unchanged: a caller points dbt at a fixed path through a
    symlink to the folder of the file of the moment (the folder, so DuckDB's write-ahead log,
    ``<path>.wal``, lands beside the real file).
    """
    staged = link.with_name(f".{link.name}.new")
    staged.unlink(missing_ok=True)
    os.symlink(to, staged)
    os.replace(staged, link)


def kept_parse(folder: Path, warehouse_path: Path, cli_vars: Sequence[str]) -> Path:
    """Where ``folder`` keeps the partial parse of dbt's invocations on ``warehouse_path`` (the
    fixed path the profile names) with ``cli_vars``: dbt discards a parse made with another
    profile or other ``--vars``, so each pair keeps its own, and the weekly run with every test
    (no vars) or another warehouse never replaces the one the next nightly reuses."""
    key = hashlib.md5("\0".join([str(warehouse_path), *cli_vars]).encode()).hexdigest()[:16]
    return folder / f"{key}.msgpack"


def reuse_partial_parse(target_path: Path, kept: Path, fallback: Path | None = None) -> None:
    """Hand an invocation writing to ``target_path`` the parse ``kept`` (else ``fallback``)."""
    source = kept if kept.exists() or fallback is None else fallback
    if source.exists() and not (target_path / "partial_parse.msgpack").exists():
        target_path.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target_path / "partial_parse.msgpack")


def keep_partial_parse(target_path: Path, kept: Path) -> None:
    """Keep the parse the invocation in ``target_path`` made, as ``kept``: copied aside, then
    renamed, so a concurrent run never reads half a file; the folder keeps the newest few."""
    made = target_path / "partial_parse.msgpack"
    if not made.exists():
        return
    kept.parent.mkdir(parents=True, exist_ok=True)
    staged = kept.with_name(f".{kept.name}.{os.getpid()}")
    shutil.copyfile(made, staged)
    os.replace(staged, kept)
    newest = sorted(kept.parent.glob("*.msgpack"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in newest[KEEP_PARSES:]:
        old.unlink(missing_ok=True)
