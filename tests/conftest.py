"""Suite-wide set-up, so that ``make test`` can run the tests in parallel (pytest-xdist, one
worker a core, whole files to a worker: ``--dist loadfile`` keeps a module's shared fixtures
in one process).

What the workers would otherwise share, each gets once:
- the Dagster code location's dbt manifest (``target/dagster/manifest.json``) is prepared by the
  controller before any worker imports the definitions, so no two workers parse into it at once;
- dbt's own log (``logs/dbt.log`` under the project) goes to a folder of each worker's, so two
  in-process dbt runs never rotate one file.

The files that build a warehouse (marked ``spark`` or ``slow``) are handed out first, longest
first by marker: xdist's default order (files with the most tests first, ``make test`` turns it off
with ``--no-loadscope-reorder``) left the five-minute Spark and nightly files for the end, one
worker building them while the other sat idle.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    worker = getattr(config, "workerinput", {}).get("workerid")
    if worker is None:  # the controller, or a run without xdist
        from orchestration.assets.dbt import prepare_manifest

        prepare_manifest()
        return
    log_dir = Path(tempfile.gettempdir()) / f"northstar-tests-{os.getuid()}" / f"dbt-logs-{worker}"
    log_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DBT_LOG_PATH", str(log_dir))


def _start_order(item: pytest.Item) -> int:
    """0 for the Spark files (the longest), 1 for the other files that build a warehouse, 2 else."""
    if item.get_closest_marker("spark"):
        return 0
    return 1 if item.get_closest_marker("slow") else 2


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # a stable sort keeps each file's tests together and in their order (every worker collects
    # the same order, as xdist requires)
    items.sort(key=_start_order)


#: user_properties key of a line for the end of the run (xdist carries a report's properties
#: from its worker to the controller)
SUMMARY = "northstar_summary"


@pytest.fixture
def summary_line(record_property):
    """``summary_line(text)``: print ``text`` in the run's closing summary (e.g. the cells an
    engine comparison compared), which ``-q`` and xdist would otherwise swallow."""
    return lambda text: record_property(SUMMARY, text)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    lines = [value for report in terminalreporter.getreports("passed") + terminalreporter.getreports("failed")
             for key, value in getattr(report, "user_properties", ()) if key == SUMMARY]
    if lines:
        terminalreporter.section("northstar figures")
        for line in lines:
            terminalreporter.line(line)
