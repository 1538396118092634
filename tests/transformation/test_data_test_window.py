"""Data tests that scale with new data (macros/test_window.sql): with the environment variable
``NORTHSTAR_TEST_WINDOW_DAYS`` (both jobs set it) or the var ``test_window_days``, a test on a
large incremental model reads only the last days of the model's data; without either (the
weekly run, ``dbt build`` by hand) every row.

The event the tests break lost its GA4 session id, the parameter stg_ga4__events reads from
the event's JSON: the window must hold it off for an old day and catch it on a new one.
stg_ga4__events is an incremental table, so each check builds it first: in full after the old
day's change (further back than its 3-day re-read), incrementally after the new day's.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.dbt_helpers import failures, run_dbt
from tests.transformation.conftest import Warehouse, _own_copy

SESSION_ID_TEST = "not_null_stg_ga4__events_ga_session_id"
WINDOW = "{test_window_days: 4}"


@pytest.fixture
def warehouse(year_world, tmp_path_factory) -> Warehouse:
    return _own_copy(year_world, "built", tmp_path_factory)


def _drop_session_id(warehouse: Warehouse, day: str) -> None:
    """Strip the parameters of one event exported on ``day`` (YYYYMMDD), its session id with them."""
    [(changed,)] = warehouse.query(
        "update raw_ga4.events set event_params = '[]' where rowid = "
        f"(select min(rowid) from raw_ga4.events where event_date = '{day}') returning 1")
    assert changed == 1


def _failed(warehouse: Warehouse, tmp_path, window: str | None, build: list[str] | None = None) -> list[str]:
    """The failing tests of stg_ga4__events with the window given as ``window`` ("vars", "env")
    or none; with ``build`` (extra `dbt build` arguments), the model is built first in the same
    invocation."""
    command = ["build", *build] if build is not None else ["test"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NORTHSTAR_WAREHOUSE", str(warehouse.path))
        patch.delenv("NORTHSTAR_TEST_WINDOW_DAYS", raising=False)
        if window == "env":
            patch.setenv("NORTHSTAR_TEST_WINDOW_DAYS", "4")
        result = run_dbt([*command, "--select", "stg_ga4__events", *(["--vars", WINDOW] if window == "vars" else [])],
                         target_path=tmp_path / "target")
    return failures(result)


def test_the_window_skips_old_days_and_catches_new_ones(warehouse: Warehouse, tmp_path) -> None:
    [(newest,)] = warehouse.query("select max(event_date) from raw_ga4.events")
    ten_days_before = (datetime.strptime(newest, "%Y%m%d") - timedelta(days=10)).strftime("%Y%m%d")

    _drop_session_id(warehouse, ten_days_before)
    # outside the last 4 days
    assert _failed(warehouse, tmp_path, window="vars", build=["--full-refresh"]) == []
    assert _failed(warehouse, tmp_path, window="env") == []
    everything = _failed(warehouse, tmp_path, window=None)
    assert len(everything) == 1 and SESSION_ID_TEST in everything[0], everything

    _drop_session_id(warehouse, newest)
    windowed = _failed(warehouse, tmp_path, window="env", build=[])
    assert len(windowed) == 1 and SESSION_ID_TEST in windowed[0], windowed
