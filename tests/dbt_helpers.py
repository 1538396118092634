"""dbt in-process (dbtRunner) for the tests and the dbt-overhead benchmark, on the warehouse
NORTHSTAR_WAREHOUSE names.

The nightly job runs dbt through dagster-dbt (orchestration/assets/dbt.py); this is the plain
path the dbt tests (tests/transformation) and ``bench/dbt_overhead.py`` take, so that a test
can build a selection of models on a warehouse of its own without a Dagster run. Every dbt
invocation costs seconds of start-up and parsing: build once per warehouse, not once per model.
"""

from __future__ import annotations

from pathlib import Path

from dbt.cli.main import dbtRunner, dbtRunnerResult

from ingestion.engine import dbt_target
from orchestration.dbt_project import PROJECT_DIR, failed_nodes


def run_dbt(args: list[str], target: str | None = None, target_path: Path | None = None) -> dbtRunnerResult:
    """``dbt <args>`` against the project, on ``target`` (default: the engine's output,
    ``ingestion.engine.dbt_target``: prod = the NORTHSTAR_WAREHOUSE file when on DuckDB).

    ``target_path`` keeps concurrent invocations (tests, a developer's shell) from sharing
    ``target/``.
    """
    command = [*args, "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR),
               "--target", target or dbt_target()]
    if target_path is not None:
        command += ["--target-path", str(target_path)]
    return dbtRunner().invoke(command)


def failures(result: dbtRunnerResult) -> list[str]:
    """One line per failed node, as the nightly reports them (``failed_nodes``, read from the
    invocation's run_results.json), or dbt's exception when it stopped before any node."""
    if result.exception is not None:
        return [f"dbt: {type(result.exception).__name__}: {result.exception}".splitlines()[0]]
    if getattr(result.result, "results", None) is None:  # docs generate: a catalog, no nodes
        return []
    target_path = Path(result.result.args.get("target_path") or "target")
    models, tests = failed_nodes(PROJECT_DIR / target_path)  # an absolute path stays as it is
    return [*models, *tests]
