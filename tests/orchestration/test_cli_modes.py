"""``northstar check`` and ``northstar run`` on configured sources (production mode).

The sources are configured as a user configures real accounts (dlt's ``SOURCES__*`` settings),
pointing at a sandbox server this test starts: the CLI is not told it is a sandbox, runs no
truth check, and skips the source left unconfigured (Meta) with a note naming its settings.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date

import duckdb
import pytest

from ingestion.run import SOURCES
from sandbox.client_env import source_env
from sandbox.server import start_server
from sandbox.simulation import simulate

pytestmark = pytest.mark.slow

START, AS_OF = date(2025, 1, 1), date(2025, 3, 1)
WRONG_TOKEN = "li-wrong-token-7c1d9e"


@pytest.fixture(scope="module")
def configured(tmp_path_factory):
    """The environment of a user whose accounts are configured, except Meta's."""
    root = tmp_path_factory.mktemp("production")
    sim = simulate(42, START, AS_OF, "small", root / "ga4")
    server = start_server(sim.world, port=0)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SOURCES__", "NORTHSTAR_", "DAGSTER_HOME"))}
    env.update({k: v for k, v in source_env(server.base_url, START, AS_OF).items() if "META_ADS" not in k})
    env["NORTHSTAR_WAREHOUSE"] = str(root / "warehouse" / "northstar.duckdb")
    env["DAGSTER_HOME"] = str(root / "dagster")
    # a stray truth setting must not turn the sandbox's checks on: only --sandbox does
    env["NORTHSTAR_SANDBOX_TRUTH"] = str(root / "no-such-truth")
    yield env
    server.shutdown()


def northstar(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "orchestration.cli", *args], env=env,
                          capture_output=True, text=True, timeout=900, check=False)


def rows(output: str) -> dict[str, list[str]]:
    """The check table's rows by source, split on runs of two or more spaces."""
    import re

    table = {}
    for line in output.splitlines()[1:]:
        cells = re.split(r"\s{2,}", line.strip())
        if cells[0] in SOURCES:
            table[cells[0]] = cells
    return table


def test_check_prints_every_source_and_exits_0_when_the_configured_ones_answer(configured):
    proc = northstar(configured, "check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    table = rows(proc.stdout)
    assert set(table) == set(SOURCES)
    assert table["meta_ads"][1:4] == ["missing account_id, access_token", "-", table["meta_ads"][3]]
    for name in ("stripe", "ga4", "google_ads", "linkedin_ads", "ecb_fx"):
        assert table[name][2] == "yes", table[name]
    assert table["stripe"][4] == "read 5 products from the first page"
    assert table["ga4"][4] == "59 daily export files, 20250101 .. 20250228"
    assert table["ecb_fx"][4].startswith("read ") and table["ecb_fx"][4].endswith(" daily_rates from the first page")
    assert "5 of 5 configured sources reachable" in proc.stdout


def test_check_names_a_refused_credential_without_showing_it(configured):
    env = {**configured, "SOURCES__LINKEDIN_ADS__REFRESH_TOKEN": WRONG_TOKEN}
    proc = northstar(env, "check")
    assert proc.returncode == 1
    linkedin = rows(proc.stdout)["linkedin_ads"]
    assert linkedin[2] == "no" and linkedin[4].startswith("HTTP 400 from /oauth/v2/accessToken: ")
    assert linkedin[4].endswith("renew the refresh token and set SOURCES__LINKEDIN_ADS__REFRESH_TOKEN")
    assert "failing: linkedin_ads" in proc.stdout
    assert WRONG_TOKEN not in proc.stdout + proc.stderr and "Traceback" not in proc.stderr


def test_check_without_any_source_says_so(configured):
    env = {k: v for k, v in configured.items() if not k.startswith("SOURCES__")}
    proc = northstar(env, "check")
    assert proc.returncode == 1
    assert "no source is configured" in proc.stderr


def test_run_without_sources_refuses_in_one_line(configured):
    env = {k: v for k, v in configured.items() if not k.startswith("SOURCES__")}
    proc = northstar(env, "run")
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [(
        "northstar: error: no source is configured: put their settings in .dlt/secrets.toml (see "
        ".dlt/secrets.toml.example and the README's 'Connect your own accounts'), or run the "
        "embedded sandbox with `northstar run --sandbox`")]


def test_run_builds_and_publishes_from_the_configured_sources(configured):
    proc = northstar(configured, "run")
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    header = out.splitlines()[0]
    assert header.startswith("northstar run: PRODUCTION mode, configured sources: stripe, ga4, google_ads, "
                             "linkedin_ads, ecb_fx; skipped: meta_ads (set SOURCES__META_ADS__ACCOUNT_ID, "
                             "SOURCES__META_ADS__ACCESS_TOKEN)")
    # progress as it goes: each step's start and end, rows per source, elapsed time
    lines = out.splitlines()
    started = lines.index(next(line for line in lines if line.endswith("] ingest_stripe: started")))
    assert "] ingest_stripe: succeeded in " in lines[started + 1]
    assert lines[started + 1].endswith(" rows loaded into 11 tables")
    assert any(line.endswith("] dbt_build: started") for line in lines)
    assert not any("ingest_meta_ads" in line for line in lines)
    assert "rows_match_sandbox_truth" not in out and "mrr_matches_sandbox_truth" not in out
    assert f"published to {configured['NORTHSTAR_WAREHOUSE']}" in out
    assert lines[-1].startswith("northstar run (production): ok in ")
    with duckdb.connect(configured["NORTHSTAR_WAREHOUSE"], read_only=True) as con:
        schemas = {s for (s,) in con.execute("select distinct table_schema from information_schema.tables").fetchall()}
        [(months,)] = con.execute("select count(distinct month) from metrics.mrr_summary").fetchall()
    assert {"raw_stripe", "raw_ga4", "raw_google_ads", "raw_linkedin_ads"} <= schemas
    assert "raw_meta_ads" not in schemas
    assert months == 2
