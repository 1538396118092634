"""Anomaly suites: a series' latest period against its own history, and GX's Data Docs.

The history is planted in a small warehouse: 57 days of GA4 events with a weekly rhythm and
slow growth, and 9 weeks of trial sign-ups. The normal latest day passes; a double load, a
lost half-day and a week without trials are flagged, each in one line naming the bounds.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from orchestration.quality import ANOMALY_SUITES, SUITES, check_series, validate
from orchestration.quality.anomaly_suites import MARGIN
from orchestration.quality.docs import QualityDocs, docs_folder, kept_runs_per_suite
from tests.quality.conftest import NOW, TABLES, create_tables

SERIES = {series.name: series for series in ANOMALY_SUITES}
FIRST_DAY = date(2026, 9, 5)  # 57 days up to 2026-10-31
DAYS = 57


def events_on(day: int) -> int:
    """Events on day ``day`` (0 = FIRST_DAY): 100 on weekdays, 60 on weekends, +1 a week."""
    weekday = (FIRST_DAY + timedelta(days=day)).weekday()
    return (60 if weekday >= 5 else 100) + day // 7


def _micros(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, 12).timestamp() * 1_000_000)


@pytest.fixture
def history(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(tmp_path / "history.duckdb"))
    con.execute("set timezone = 'UTC'")
    create_tables(con, {"raw_ga4.events": (TABLES["raw_ga4.events"][0], []),
                        "metrics.kpi_alerts": (("metric varchar, period_start date, metric_value decimal(38,6),"
                                             " is_latest_period boolean"), [])})
    for day in range(DAYS):
        at = _micros(FIRST_DAY + timedelta(days=day))
        con.execute("insert into raw_ga4.events select 'p' || i, 'page_view', ? + i from range(?) t(i)",
                    [at, events_on(day)])
    weeks = [40, 44, 38, 47, 45, 50, 43, 48, 52, 20]  # the last: the current, incomplete week
    con.executemany("insert into metrics.kpi_alerts values ('weekly_trial_signups', ?, ?, ?)",
                    [[date(2026, 8, 31) + timedelta(weeks=n), value, n == 8] for n, value in enumerate(weeks)])
    yield con
    con.close()


def test_the_latest_day_within_its_history_passes(history: duckdb.DuckDBPyConnection) -> None:
    result = check_series(history, SERIES["volume_raw_ga4_events"])
    assert (result.passed, result.rows, result.failures, result.note) == (True, 56, [], None)
    assert result.line() == "volume_raw_ga4_events on raw_ga4.events: passed, 56 rows"


def test_a_double_load_of_the_latest_day_is_flagged(history: duckdb.DuckDBPyConnection) -> None:
    history.execute("insert into raw_ga4.events select * from raw_ga4.events"
                    " where event_timestamp >= ?", [_micros(date(2026, 10, 31)) - 43_200_000_000])
    result = check_series(history, SERIES["volume_raw_ga4_events"])
    # the last day (a Saturday) had 68 events; the 56 days before: 60..108
    assert result.failures == [
        f"2026-10-31: 136.0 outside 45.0..133.75 (the 56 days before: 60.0..107.0, widened by {MARGIN:.0%})"]
    assert not result.passed


def test_a_lost_half_day_is_flagged(history: duckdb.DuckDBPyConnection) -> None:
    history.execute("delete from raw_ga4.events where event_timestamp >= ? and user_pseudo_id >= 'p4'",
                    [_micros(date(2026, 10, 31)) - 43_200_000_000])
    result = check_series(history, SERIES["volume_raw_ga4_events"])
    assert result.failures == [
        f"2026-10-31: 34.0 outside 45.0..133.75 (the 56 days before: 60.0..107.0, widened by {MARGIN:.0%})"]


def test_a_day_without_rows_counts_as_0(history: duckdb.DuckDBPyConnection) -> None:
    day = _micros(date(2026, 10, 20)) - 43_200_000_000
    history.execute("delete from raw_ga4.events where event_timestamp between ? and ?",
                    [day, day + 86_399_999_999])
    result = check_series(history, SERIES["volume_raw_ga4_events"])
    assert result.passed  # 0 is now in the history: the latest day is within 0..135
    assert result.rows == 56


def test_the_latest_complete_week_of_trials_against_the_8_before(history: duckdb.DuckDBPyConnection) -> None:
    series = SERIES["anomaly_weekly_trial_signups"]
    assert check_series(history, series).passed  # 52 within 38..50 widened; the current week is not read
    history.execute("update metrics.kpi_alerts set metric_value = 3 where is_latest_period")
    assert check_series(history, series).failures == [
        f"2026-10-26: 3.0 outside 28.5..62.5 (the 8 weeks before: 38.0..50.0, widened by {MARGIN:.0%})"]


def test_too_little_history_or_no_table_is_nothing_to_compare(history: duckdb.DuckDBPyConnection) -> None:
    history.execute("delete from metrics.kpi_alerts where period_start < date '2026-09-14'")
    result = check_series(history, SERIES["anomaly_weekly_trial_signups"])
    assert (result.passed, result.note) == (True, "7 weeks of history, 9 needed: nothing to compare")
    result = check_series(history, SERIES["volume_raw_stripe_invoices"])
    assert (result.passed, result.note) == (True, "table raw_stripe.invoices does not exist: nothing to compare")


def test_every_raw_volume_series_reads_its_table(warehouse: duckdb.DuckDBPyConnection) -> None:
    """On the tiny warehouse (a day or two of rows) each series runs and has too little history."""
    for series in ANOMALY_SUITES:
        result = check_series(warehouse, series)
        assert result.passed and "of history" in (result.note or ""), result.line()


# --- Data Docs ------------------------------------------------------------------------------

def test_data_docs_name_every_suite_validated(warehouse: duckdb.DuckDBPyConnection,
                                              history: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    folder = docs_folder(tmp_path / "warehouse" / "northstar.duckdb")
    assert folder == tmp_path / "warehouse" / "quality_docs"
    raw = QualityDocs(folder, run_name="run-1")  # one step of a run: the blocking suites
    for suite in SUITES:
        validate(warehouse, suite, now=NOW, docs=raw)
    raw.build()
    anomalies = QualityDocs(folder, run_name="run-1")  # a later step adds to the same site
    check_series(history, ANOMALY_SUITES[0], docs=anomalies)
    index = anomalies.build()
    assert index == folder / "index.html" and index.exists()
    html = index.read_text()
    for name in [*(s.name for s in SUITES), "volume_raw_ga4_events"]:
        assert f"validations/{name}/run-1/" in html, name
        assert (folder / "expectations" / f"{name}.html").exists(), name


def test_data_docs_render_only_their_step_and_keep_each_suites_last_runs(
        warehouse: duckdb.DuckDBPyConnection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A step renders its own pages (earlier pages stay as written) and the index; each suite
    keeps its last NORTHSTAR_QUALITY_DOCS_RUNS runs, so a 15-minute job cannot grow the site."""
    monkeypatch.setenv("NORTHSTAR_QUALITY_DOCS_RUNS", "2")
    folder = tmp_path / "quality_docs"
    suite = next(s for s in SUITES if s.name == "raw_ga4_events")
    pages: dict[str, Path] = {}
    for run in ("run-1", "run-2", "run-3"):
        docs = QualityDocs(folder, run_name=run)
        validate(warehouse, suite, now=NOW, docs=docs)
        index = docs.build().read_text()
        [pages[run]] = (folder / "validations" / suite.name / run).rglob("*.html")
        if run == "run-2":
            written = pages["run-2"].stat().st_mtime_ns
    assert pages["run-2"].stat().st_mtime_ns == written  # run-3's step did not render it again
    kept = sorted(p.name for p in (folder / "validations" / suite.name).iterdir())
    assert kept == ["run-2", "run-3"]
    stored = sorted(p.name for p in (folder / ".gx" / "uncommitted" / "validations" / suite.name).iterdir())
    assert stored == ["run-2", "run-3"]
    assert f"validations/{suite.name}/run-3/" in index and f"validations/{suite.name}/run-2/" in index
    assert "run-1" not in index


@pytest.mark.parametrize("setting", ["0", "thirty", "-2"])
def test_a_bad_data_docs_retention_is_named_in_one_line(setting: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NORTHSTAR_QUALITY_DOCS_RUNS", setting)
    with pytest.raises(ValueError) as error:
        kept_runs_per_suite()
    assert str(error.value) == (f"NORTHSTAR_QUALITY_DOCS_RUNS is {setting!r}: expected the number of runs "
                                "whose results each suite keeps in the Data Docs, 1 or more")


def test_the_data_docs_retention_defaults_to_30_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NORTHSTAR_QUALITY_DOCS_RUNS", raising=False)
    assert kept_runs_per_suite() == 30
    monkeypatch.setenv("NORTHSTAR_QUALITY_DOCS_RUNS", "5")
    assert kept_runs_per_suite() == 5
