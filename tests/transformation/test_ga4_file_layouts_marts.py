"""The marts cannot tell how the GA4 export was written: one world exported as one JSON file a
day, as EXPORT DATA's JSON shards and as its Parquet shards (each served over the sandbox's
``/ga4/`` index) builds identical models, table for table and row for row."""

from __future__ import annotations

import pytest

from tests.quarter_world import daily_files_models, load_and_build, models, quarter

pytestmark = pytest.mark.slow  # builds a warehouse (tests/conftest.py runs these first)

#: compared with the daily files' build (``daily_files_models``, shared with the BigQuery test)
LAYOUTS = ("json-shards", "parquet-shards")


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    root = tmp_path_factory.mktemp("ga4_layouts")
    return {layout: quarter(root / layout, ga4_layout=layout) for layout in LAYOUTS}


def test_marts_identical_whichever_file_layout(worlds, tmp_path, tmp_path_factory):
    built = {layout: models(load_and_build(sim, tmp_path / layout, bigquery=False))
             for layout, sim in worlds.items()}
    daily = daily_files_models(tmp_path_factory)
    names = {key.split(".", 1)[1] for key in daily}
    assert {"fct_events", "fct_sessions", "channel_attribution", "funnel"} <= names
    assert all(rows for key, rows in daily.items()
               if key.endswith((".fct_events", ".fct_sessions")))
    for layout in LAYOUTS:
        assert sorted(built[layout]) == sorted(daily), layout
        assert [key for key in daily if built[layout][key] != daily[key]] == [], layout
