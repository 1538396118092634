"""What write-audit-publish on PostgreSQL and on Spark share (orchestration/postgres_wap.py,
orchestration/spark_wap.py): the outcome of a run, the unpublished build (``dbt build`` into
schemas with a suffix, audited by its tests) and the nightly's plain path (every source, then
the build and the publish). Each engine module keeps what differs: where the build goes and
how it is published.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from orchestration.dbt_project import PROJECT_DIR, failed_nodes


@dataclass
class Outcome:
    published: bool = False
    publish_s: float = 0.0  # seconds the publish took (bench/engines.py)
    slot: str = ""  # Spark's build slot (blue or green); empty on PostgreSQL
    loads: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return self.published and not self.failures


@contextmanager
def schema_suffix(suffix: str) -> Iterator[None]:
    """dbt builds every layer into ``<layer><suffix>`` while in this block (NORTHSTAR_SCHEMA_SUFFIX,
    read by macros/generate_schema_name.sql)."""
    previous = os.environ.get("NORTHSTAR_SCHEMA_SUFFIX")
    os.environ["NORTHSTAR_SCHEMA_SUFFIX"] = suffix
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("NORTHSTAR_SCHEMA_SUFFIX", None)
        else:
            os.environ["NORTHSTAR_SCHEMA_SUFFIX"] = previous


def build_unpublished(target: str, suffix: str, target_path: Path | None, dbt_args: tuple[str, ...]) -> list[str]:
    """``dbt build`` (models, seeds, data and unit tests) of ``target`` into the ``suffix``
    schemas; the failed models and tests, one line each (empty when all passed)."""
    from dbt.cli.main import dbtRunner

    target_path = target_path or Path(os.environ.get("DBT_TARGET_PATH") or PROJECT_DIR / "target")
    with schema_suffix(suffix):
        result = dbtRunner().invoke(
            ["build", *dbt_args, "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR),
             "--target", target, "--target-path", str(target_path)])
    if result.success:
        return []
    models, tests = failed_nodes(target_path)
    return [*models, *tests] or [f"dbt build failed: {result.exception}"]


def timed_publish(outcome: Outcome, publish: Callable[[], object]) -> Outcome:
    """Run ``publish()`` and record it in ``outcome``."""
    began = time.perf_counter()
    publish()
    outcome.publish_s = time.perf_counter() - began
    outcome.published = True
    return outcome


def run_engine(build_and_publish: Callable[..., Outcome], building: str, progress: bool = True) -> Outcome:
    """The nightly without Dagster: every configured source, then ``build_and_publish`` (its
    build, audit and publish). One line per source and per failure; ``building`` says where the
    build goes."""
    from ingestion.run import ingest

    def say(line: str) -> None:
        if progress:
            print(line, flush=True)

    began = time.perf_counter()
    results = ingest()
    loads = [result.line() for result in results]
    for line in loads:
        say(f"  {line}")
    failed = [result.line() for result in results if result.status == "failed"]
    if failed:
        return Outcome(loads=loads, failures=failed)
    say(f"  dbt build into {building} ...")
    outcome = build_and_publish(dbt_args=("--quiet",))  # failures are printed from run_results
    outcome.loads = loads
    published = "published" + (f" slot {outcome.slot}" if outcome.slot else "")
    say(f"  {published if outcome.published else 'NOT published'} in {time.perf_counter() - began:.1f}s")
    return outcome
