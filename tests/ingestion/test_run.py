"""``northstar ingest``: any subset of sources, one line per failure, nothing lost on a crash."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import duckdb

from ingestion.run import ingest
from ingestion.warehouse import warehouse_path
from sandbox.checks.reconciliation import row_counts
from tests.ingestion.conftest import query


def _mismatched(expected_counts: dict) -> list[tuple]:
    with duckdb.connect(str(warehouse_path()), read_only=True) as con:
        return [row for row in row_counts(con, expected_counts) if row[2] != row[3]]


def test_every_source_loads_exactly_the_expected_rows(sandbox_env, expected_counts):
    results = ingest()
    assert [(r.name, r.status) for r in results] == [
        ("stripe", "loaded"), ("ga4", "loaded"), ("google_ads", "loaded"), ("meta_ads", "loaded"),
        ("linkedin_ads", "loaded"), ("ecb_fx", "loaded")]
    mismatched = _mismatched(expected_counts)
    assert mismatched == []


def test_unconfigured_sources_are_skipped_with_a_note(monkeypatch, sandbox, warehouse):
    for key in [k for k in os.environ if k.startswith("SOURCES__")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("SOURCES__GA4__BUCKET_URL", f"{sandbox.base_url}/ga4/")
    # the ECB's rates need no credential: only its base URL points at the sandbox, not the ECB
    monkeypatch.setenv("SOURCES__ECB_FX__API_BASE", sandbox.base_url)
    monkeypatch.setenv("SOURCES__ECB_FX__START_DATE", "2025-01-01")
    results = {r.name: r for r in ingest()}
    assert results["ga4"].status == "loaded"
    assert results["ecb_fx"].status == "loaded"
    assert results["stripe"].status == "skipped"
    assert "SOURCES__STRIPE__API_KEY" in results["stripe"].message
    assert {results[n].status for n in ("google_ads", "meta_ads", "linkedin_ads")} == {"skipped"}


def test_a_wrong_key_stops_only_that_source_in_one_line_without_the_secret(sandbox_env, monkeypatch, warehouse):
    monkeypatch.setenv("SOURCES__STRIPE__API_KEY", "sk_test_not_the_right_one")
    results = {r.name: r for r in ingest(["stripe", "meta_ads"])}
    assert results["stripe"].status == "failed"
    assert results["stripe"].line().startswith("stripe: failed: HTTP 401 from /v1/")
    assert "sk_test_not_the_right_one" not in results["stripe"].line()
    assert "\n" not in results["stripe"].line()
    assert results["meta_ads"].status == "loaded"


def test_cli_reports_a_failure_in_one_line_and_exit_1(sandbox_env, monkeypatch):
    env = {**os.environ, "SOURCES__META_ADS__ACCESS_TOKEN": "wrong-token-abcdef"}
    proc = subprocess.run([sys.executable, "-m", "orchestration.cli", "ingest", "meta_ads"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 1
    failure = [line for line in proc.stderr.splitlines() if line.startswith("meta_ads: failed")]
    assert len(failure) == 1 and "HTTP 4" in failure[0]
    assert "Traceback" not in proc.stderr and "wrong-token-abcdef" not in proc.stderr + proc.stdout


def test_a_killed_run_loses_nothing(sandbox_env, expected_counts):
    # kill -9 a CLI run part-way, then run again: the result equals an uninterrupted run
    proc = subprocess.Popen([sys.executable, "-m", "orchestration.cli", "ingest"], env=dict(os.environ),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(4)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    results = ingest()
    assert all(r.status == "loaded" for r in results), [r.line() for r in results]
    assert _mismatched(expected_counts) == []
    assert query(warehouse_path(), "select count(*) - count(distinct id) from raw_stripe.customers") == [(0,)]
