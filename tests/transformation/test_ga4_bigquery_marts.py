"""The marts cannot tell how GA4 was loaded: a world loaded with GA4 from the BigQuery export
(the real google-cloud-bigquery client against the sandbox) and the same world loaded from the
export files build identical models, table for table and row for row.

The build from the daily files is built once per run (tests/quarter_world.py), the reference of
the file layouts' test and the Spark comparison too; the test builds its other path first, so
that a worker reaching it while another builds it seldom waits."""

from __future__ import annotations

import pytest

from sandbox.simulation import Simulation
from tests.quarter_world import daily_files_models, load_and_build, models, quarter

pytestmark = pytest.mark.slow  # builds a warehouse (tests/conftest.py runs these first)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Simulation:
    return quarter(tmp_path_factory.mktemp("ga4_paths") / "ga4")


def test_marts_identical_whichever_ga4_path(world, tmp_path, tmp_path_factory):
    by_bigquery = models(load_and_build(world, tmp_path / "bigquery", bigquery=True))
    by_files = daily_files_models(tmp_path_factory)
    assert sorted(by_files) == sorted(by_bigquery)
    names = {key.split(".", 1)[1] for key in by_files}
    assert {"fct_events", "fct_sessions", "channel_attribution", "funnel"} <= names
    differing = [key for key in by_files if by_files[key] != by_bigquery[key]]
    assert differing == []
    # the GA4-fed marts compared are not empty
    assert all(rows for key, rows in by_files.items()
               if key.endswith((".fct_events", ".fct_sessions")))
