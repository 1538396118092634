"""The nightly Dagster job, in-process, on the small sandbox: three runs in sequence.

1. A first build (Jan..Jun 2025) passes every data check and publishes the warehouse.
2. A second build (one month later) runs while a BI reader in another process holds the
   published file open: the build is not blocked, the held connection keeps seeing the first
   build, and a new connection sees the second.
3. A third build, with the sandbox serving a negative invoice amount, fails at the raw Stripe
   invoices suite; the published warehouse stays byte for byte the second build's, and the
   run-failure alert names the check and the run.

The first two runs post the daily digest and write the weekly report after publishing; the
third sends its failure alert and no report.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration.assets.dbt import run_target_path
from orchestration.nightly import NightlyOutcome, run_nightly
from orchestration.test_window import TEST_WINDOW_DAYS
from sandbox.build import serve_simulation
from sandbox.simulation import Simulation, simulate
from tests.orchestration.webhook_receiver import running_receiver

pytestmark = pytest.mark.slow

START = date(2025, 1, 1)
AS_OF = (date(2025, 7, 1), date(2025, 8, 1), date(2025, 9, 1))
SEED = 11
MRR_QUERY = ("select cast(max(month) as varchar), count(*), cast(sum(ending_mrr) as varchar) "
             "from metrics.mrr_summary where currency_scope = 'reporting'")
READER = f"""
import duckdb, json, os, sys, time
path, stop = sys.argv[1], sys.argv[2]
con = duckdb.connect(path, read_only=True)
query = {MRR_QUERY!r}
print(json.dumps({{"held": con.execute(query).fetchone()}}), flush=True)
readings = []
while not os.path.exists(stop):
    readings.append(con.execute(query).fetchone())
    time.sleep(0.05)
readings.append(con.execute(query).fetchone())
con.close()  # one process shares one database instance per path: close it to open the new file
fresh = duckdb.connect(path, read_only=True).execute(query).fetchone()
print(json.dumps({{"readings": readings, "fresh": fresh}}), flush=True)
"""


@dataclass
class Runs:
    published: Path
    outcomes: list[NightlyOutcome]
    digests: list[str]  # md5 of the published file after each run
    reader: dict
    alerts: list[str]
    kpi_status: dict[str, str]  # metric -> status after the first run
    posted: list[list[str]]  # what each run posted to the webhook, run by run


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _build(sim: Simulation, sandbox_dir: Path) -> NightlyOutcome:
    server = serve_simulation(sim, sandbox_dir)
    try:
        return run_nightly()
    finally:
        server.shutdown()


def _negative_invoice(sim: Simulation, after: date) -> str:
    """Make one invoice created after ``after`` (so the incremental load reads it) negative."""
    since = int(time.mktime(after.timetuple())) + 86400
    invoice = next(i for i in sim.world.stripe["invoices"] if i["created"] > since and i["amount_due"] > 0)
    for event in sim.world.stripe["events"]:
        if event["data"]["object"].get("id") == invoice["id"]:
            event["data"]["object"]["amount_due"] = -invoice["amount_due"]
    invoice["amount_due"] = -invoice["amount_due"]
    return invoice["id"]


def _with_reader(published: Path, stop: Path, build) -> tuple[NightlyOutcome, dict]:
    reader = subprocess.Popen([sys.executable, "-c", READER, str(published), str(stop)],
                              stdout=subprocess.PIPE, text=True)
    held = json.loads(reader.stdout.readline())  # the reader has the file open from here on
    outcome = build()
    time.sleep(0.5)  # a few more reads after publishing
    stop.touch()
    rest = json.loads(reader.stdout.readline())
    reader.wait(timeout=30)
    return outcome, {**held, **rest}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Runs:
    root = tmp_path_factory.mktemp("nightly")
    published = root / "northstar.duckdb"
    saved = dict(os.environ)
    try:
        with running_receiver() as receiver:
            os.environ.pop("DAGSTER_HOME", None)
            os.environ["NORTHSTAR_WAREHOUSE"] = str(published)
            os.environ["NORTHSTAR_ALERT_WEBHOOK"] = receiver.url
            sims = [simulate(SEED, START, as_of, "small", root / f"sandbox{i}" / "ga4")
                    for i, as_of in enumerate(AS_OF)]
            outcomes, digests = [_build(sims[0], root / "sandbox0")], [_md5(published)]
            marks = [len(receiver.bodies)]
            with duckdb.connect(str(published), read_only=True) as con:
                kpi = dict(con.execute(
                    "select metric, status from metrics.kpi_alerts where is_latest_period").fetchall())
            second, reader = _with_reader(published, root / "stop", lambda: _build(sims[1], root / "sandbox1"))
            outcomes.append(second)
            digests.append(_md5(published))
            marks.append(len(receiver.bodies))
            _negative_invoice(sims[2], AS_OF[1])
            outcomes.append(_build(sims[2], root / "sandbox2"))
            digests.append(_md5(published))
            alerts = [body["text"] for body in receiver.bodies]
            posted = [alerts[start:end] for start, end in zip([0, *marks], [*marks, len(alerts)], strict=True)]
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return Runs(published, outcomes, digests, reader, alerts, kpi, posted)


def _is_kpi(check) -> bool:
    return check.name.startswith("kpi_alerts:kpi_")


def test_the_first_build_tests_every_row_and_the_next_the_last_days(runs: Runs):
    """A build from nothing (no published warehouse yet) runs every data test on every row; the
    next one reads the incremental models' last days (macros/test_window.sql), as dbt compiled
    the test of a GA4 event's session id: the window starts TEST_WINDOW_DAYS before the newest
    event_date, and no ``--vars`` carry it (they would cost dbt a full parse). The raw events'
    suite reads the same days. (The third build fails its checks: the published file is the
    second's.)"""
    compiled = [next(run_target_path(outcome.run_id).glob(
        "compiled/**/not_null_stg_ga4__events_ga_session_id.sql")).read_text() for outcome in runs.outcomes[:2]]
    assert "event_date >=" not in compiled[0]
    with duckdb.connect(str(runs.published), read_only=True) as con:
        [(newest,)] = con.execute("select max(event_date) from staging.stg_ga4__events").fetchall()
    start = date.fromordinal(newest.toordinal() - TEST_WINDOW_DAYS)
    assert f"event_date >= cast('{start.isoformat()}' as date)" in compiled[1]
    used = [json.loads((run_target_path(outcome.run_id) / "run_results.json").read_text())["args"].get("vars", {})
            for outcome in runs.outcomes[:2]]
    assert used == [{}, {}]
    # the great-expectations suite on the raw events reads the same days (orchestration/test_window.py)
    suite = [next(c.description for c in outcome.checks if c.name == "ga4/events:gx_raw_ga4_events")
             for outcome in runs.outcomes[:2]]
    assert " with " not in suite[0]
    assert f"rows with event_date >= '{start.strftime('%Y%m%d')}'" in suite[1], suite[1]


def test_a_build_starts_from_the_last_parse_of_the_same_warehouse(runs: Runs):
    """dbt parses the project in full (5-10 s) unless it is handed a parse made with the same
    profile and ``--vars``. The second build, the first with a test window, and the third, on
    the same warehouse, start from the one before's parse, whatever other warehouses (the
    suite's other workers) built in between: the window is no var. dbt logs every full parse
    at info, the level of the nightly's dbt log file ("Unable to do partial parsing because
    ..."; a missing saved parse too)."""
    logs = ["".join(log.read_text() for log in run_target_path(outcome.run_id).glob("dbt.log*"))  # rotated too
            for outcome in runs.outcomes]
    for log in logs[1:3]:
        assert "Unable to do partial parsing" not in log
        assert re.search(r"Found \d+ models", log)  # the log is the build's, at info
        assert '"level": "debug"' not in log  # not dbt's default debug (orchestration/assets/dbt.py)


def test_first_build_passes_every_data_check_and_publishes(runs: Runs):
    first = runs.outcomes[0]
    assert first.success, first.step_failures
    assert first.published
    data_checks = [c for c in first.checks if not _is_kpi(c)]
    assert len(data_checks) > 300  # every dbt test, the suites, reconciliations, freshness
    assert [c.name for c in data_checks if not c.passed] == []
    names = {c.name for c in data_checks}
    assert "stripe/invoices:gx_raw_stripe_invoices" in names
    assert "mrr_summary:gx_mrr_summary" in names
    assert {"ga4/events:gx_volume_raw_ga4_events", "kpi_alerts:gx_anomaly_weekly_trial_signups"} <= names
    assert "stripe/invoices:rows_match_sandbox_truth" in names
    assert "int_customer_mrr_monthly:mrr_matches_sandbox_truth" in names
    assert "int_customer_mrr_monthly:mrr_matches_observable_truth" in names
    steps = {step: status for step, status, _ in first.steps}
    assert steps["published_warehouse"] == "success"
    docs = (runs.published.parent / "quality_docs" / "index.html").read_text()  # GX's Data Docs
    for suite in ("raw_stripe_invoices", "mrr_summary", "volume_raw_ga4_events", "anomaly_weekly_trial_signups"):
        assert f"validations/{suite}/{first.run_id}/" in docs, suite


def test_kpi_checks_follow_the_kpi_alerts_mart(runs: Runs):
    kpis = {c.name.split(":kpi_", 1)[1]: c for c in runs.outcomes[0].checks if _is_kpi(c)}
    assert set(kpis) == set(runs.kpi_status)
    for metric, status in runs.kpi_status.items():
        check = kpis[metric]
        assert check.passed == (status in ("green", "neutral")), (metric, status)
        if status == "red":
            assert check.severity == "ERROR"
        elif status == "yellow":
            assert check.severity == "WARN"
    red = sorted(m for m, s in runs.kpi_status.items() if s == "red")
    assert red, "the small sandbox has too few trials a week: weekly_trial_signups is red"
    first_run = runs.outcomes[0].run_id[:8]
    posted = sorted(m for m in red for text in runs.alerts
                    if text.startswith(f"Northstar KPI red: {m} =") and first_run in text)
    assert posted == red


def test_a_reader_holding_the_published_file_is_not_blocked_and_sees_no_partial_build(runs: Runs):
    second = runs.outcomes[1]
    assert second.success and second.published, second.step_failures
    held, readings, fresh = runs.reader["held"], runs.reader["readings"], runs.reader["fresh"]
    assert held[0] == "2025-06-01"
    assert len(readings) > 20  # the reader kept querying through the build
    assert all(r == held for r in readings)  # the open connection saw the first build throughout
    assert fresh[0] == "2025-07-01" and fresh != held  # a new connection sees the second build
    assert runs.digests[1] != runs.digests[0]


def test_each_build_compares_its_history_with_the_published_one(runs: Runs):
    """The first build has nothing published to compare with; the second compares every month
    of the first build with the truth, and no number got farther from it."""
    first, second = ({c.name: c for c in outcome.checks}["mrr_summary:published_history_not_worse"]
                     for outcome in runs.outcomes[:2])
    assert first.passed and first.description == "first run: no published warehouse to compare with"
    assert second.passed, second.description
    assert second.description.startswith("24 month x currency cells no farther from the truth")


def test_a_corrupted_source_fails_the_run_at_its_check_and_publishes_nothing(runs: Runs):
    third = runs.outcomes[2]
    assert not third.success and not third.published
    failed = {c.name: c for c in third.failed_checks if not _is_kpi(c)}
    assert "stripe/invoices:gx_raw_stripe_invoices" in failed
    assert "amount_due" in failed["stripe/invoices:gx_raw_stripe_invoices"].description
    assert runs.digests[2] == runs.digests[1]  # the published warehouse is untouched
    draft = runs.published.parent / ".drafts" / third.run_id / "northstar.duckdb"  # kept for inspection
    assert draft.exists()
    assert [d.name for d in draft.parent.parent.iterdir() if not d.is_symlink()] == [third.run_id]
    run_alerts = [t for t in runs.alerts if t.startswith(f"Northstar: run {third.run_id[:8]} of nightly failed")]
    assert len(run_alerts) == 1
    assert "stripe/invoices:gx_raw_stripe_invoices" in run_alerts[0] and "amount_due" in run_alerts[0]


def test_reports_follow_each_published_build_and_never_a_failed_one(runs: Runs):
    """Data through 2025-06-30 (a Monday), then 2025-07-31 (a Thursday): one digest each, and
    the weekly report of the latest complete ISO week; the failed third run posts only its alert."""
    digests = [[t for t in texts if t.startswith("*Northstar daily digest")] for texts in runs.posted]
    assert [[t.splitlines()[0] for t in d] for d in digests] == [
        ["*Northstar daily digest for Mon 2025-06-30* (the last day of data)"],
        ["*Northstar daily digest for Thu 2025-07-31* (the last day of data)"],
        []]
    reports = runs.published.parent / "reports" / "weekly"
    assert [o.report for o in runs.outcomes] == [str(reports / "northstar-weekly-2025-06-23.pdf"),
                                                 str(reports / "northstar-weekly-2025-07-21.pdf"), None]
    assert all(Path(o.report).read_bytes().startswith(b"%PDF") for o in runs.outcomes[:2])
    third = runs.outcomes[2].run_id[:8]
    assert [t for t in runs.posted[2] if not t.startswith("Northstar KPI")] == [
        next(t for t in runs.alerts if t.startswith(f"Northstar: run {third} of nightly failed"))]
