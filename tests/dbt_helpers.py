"""dbt in-process (dbtRunner) for the tests and the dbt-overhead benchmark, on the warehouse
NORTHSTAR_WAREHOUSE names.

The nightly job runs dbt through dagster-dbt (orchestration/assets/dbt.py); this is the plain
path the dbt tests (tests/transformation) and ``bench/dbt_overhead.py`` take, so that a test
can build a selection of models on a warehouse of its own without a Dagster run. Every dbt
invocation costs seconds of start-up and parsing: build once per warehouse, not once per model.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dbt.cli.main import dbtRunner, dbtRunnerResult

from ingestion.engine import dbt_target
from orchestration.dbt_project import (
    PROJECT_DIR,
    failed_nodes,
    keep_partial_parse,
    kept_parse,
    point_symlink,
    reuse_partial_parse,
)

#: Leave dbt's unit tests out of a build. A unit test reads its fixture rows, and the warehouse
#: only for its inputs' column types. Staging fixes the columns every other model reads (explicit
#: final selects of columns typed in the sources ymls), so only the two unit tests of Stripe
#: staging models read raw tables' columns, and those change with Stripe's API version or a source
#: never loaded. So the year world's build (tests/transformation/conftest.py, ``built_warehouse``)
#: runs them on DuckDB, test_spark.py on Spark, and the Stripe-version and partial-source builds
#: keep them. The other builds of a world that differs in its data leave them out: they would
#: assert the same rows again. In dbt's log of the quarter's build, 26 unit tests took 20.3 s on
#: its 2 threads (~0.8 s each), about 10 of its 42 s.
WITHOUT_UNIT_TESTS = ("--exclude-resource-type", "unit_test")


def project_unit_tests(target_path: Path) -> set[str]:
    """Every unit test of the project, from the manifest the build in ``target_path`` parsed
    (its target's own parse: what that build could run)."""
    return set(json.loads((target_path / "manifest.json").read_text())["unit_tests"])


def run_dbt(args: list[str], target: str | None = None, target_path: Path | None = None) -> dbtRunnerResult:
    """``dbt <args>`` against the project, on ``target`` (default: the engine's output,
    ``ingestion.engine.dbt_target``: prod = the NORTHSTAR_WAREHOUSE file when on DuckDB).

    ``target_path`` keeps concurrent invocations (tests, a developer's shell) from sharing
    ``target/``.
    """
    target = target or dbt_target()
    command = [*args, "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR), "--target", target]
    if target_path is not None:
        command += ["--target-path", str(target_path)]
    if target != "prod" or not os.environ.get("NORTHSTAR_WAREHOUSE"):
        return dbtRunner().invoke(command)
    with _through_fixed_path(PROJECT_DIR / (target_path or "target"), _vars(args)):
        return dbtRunner().invoke(command)


def _vars(args: list[str]) -> str:
    """The ``--vars`` of an invocation: part of what dbt checks before it keeps a partial parse."""
    return next((value for flag, value in zip(args, args[1:], strict=False) if flag == "--vars"), "")


#: this process's fixed way to its current warehouse: ``<folder>/current`` is a symlink to the
#: folder of the file a test builds (one folder a process: xdist's workers never share it); the
#: parses kept beside it
_FIXED = Path(tempfile.gettempdir()) / f"northstar-tests-{os.getuid()}" / f"dbt-path-{os.getpid()}"


@contextmanager
def _through_fixed_path(target_path: Path, cli_vars: str) -> Iterator[None]:
    """Point dbt at NORTHSTAR_WAREHOUSE's file through a path that is the same for every warehouse
    of this process, and hand dbt the last parse made with it and the same vars.

    Each test builds a warehouse of its own, and each ``target_path`` starts without a saved
    parse, so every invocation parsed in full; the nightly does the same for its drafts
    (``WarehouseResource.draft_path``). dbt-duckdb keeps its database instance for the next
    invocation with the same profile, which would then write through the old symlink's file:
    it is closed at the end.
    """
    real = Path(os.environ["NORTHSTAR_WAREHOUSE"]).resolve()
    if not _FIXED.exists():
        _FIXED.mkdir(parents=True)
        atexit.register(shutil.rmtree, _FIXED, ignore_errors=True)
    point_symlink(_FIXED / "current", real.parent)
    fixed = _FIXED / "current" / real.name
    kept = kept_parse(_FIXED, fixed, [cli_vars])
    reuse_partial_parse(target_path, kept)
    previous = os.environ["NORTHSTAR_WAREHOUSE"]
    os.environ["NORTHSTAR_WAREHOUSE"] = str(fixed)
    try:
        yield
    finally:
        os.environ["NORTHSTAR_WAREHOUSE"] = previous
        _close_duckdb()
        keep_partial_parse(target_path, kept)


def _close_duckdb() -> None:
    """Close the database instance dbt-duckdb keeps between invocations of this process."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager._ENV = None


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
