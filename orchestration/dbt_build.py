"""Invoking dbt in-process (dbtRunner), on the warehouse NORTHSTAR_WAREHOUSE names.

The nightly job runs dbt through dagster-dbt (orchestration/assets/dbt.py); this is the plain
path the dbt tests (tests/transformation) and the dbt-overhead benchmark use. Every dbt
invocation costs seconds of start-up and parsing: call ``dbt build`` once for the whole
project, never once per model. ``profiles.yml`` and ``dbt_project.yml`` live at the
repository root, where analytics engineers run dbt by hand.
"""

from __future__ import annotations

from pathlib import Path

from dbt.cli.main import dbtRunner, dbtRunnerResult

PROJECT_DIR = Path(__file__).resolve().parents[1]


def run_dbt(args: list[str], target: str = "prod", target_path: Path | None = None) -> dbtRunnerResult:
    """``dbt <args>`` against the project, on ``target`` (prod = the NORTHSTAR_WAREHOUSE file).

    ``target_path`` keeps concurrent invocations (tests, a developer's shell) from sharing
    ``target/``.
    """
    command = [*args, "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR), "--target", target]
    if target_path is not None:
        command += ["--target-path", str(target_path)]
    return dbtRunner().invoke(command)


def failures(result: dbtRunnerResult) -> list[str]:
    """One line per failed node: what failed and why (for a one-line report)."""
    if result.exception is not None:
        return [f"dbt: {type(result.exception).__name__}: {result.exception}".splitlines()[0]]
    lines = []
    for node_result in getattr(result.result, "results", None) or []:
        if str(node_result.status) in ("error", "fail", "runtime error"):
            # dbt's message starts with "Runtime Error in model X (path)"; the reason is below it
            message = " ".join(line.strip() for line in (node_result.message or "").splitlines() if line.strip())
            lines.append(f"{node_result.node.unique_id}: {node_result.status}: {message}")
    return lines
