"""Where the dbt project is, and what a dbt invocation's artefacts say failed.

Plain Python (no Dagster, no dbt import): the nightly's dbt asset (orchestration/assets/dbt.py),
the KPI checks, and the tests' and benchmark's own dbt runs (tests/dbt_helpers.py) share it.
``dbt_project.yml`` and ``profiles.yml`` live at the repository root, where analytics engineers
run dbt by hand.
"""

from __future__ import annotations

import json
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
