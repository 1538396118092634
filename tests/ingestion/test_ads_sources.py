"""Google Ads, Meta and LinkedIn sources: real dlt into DuckDB from the sandbox's HTTP APIs."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from ingestion.common.errors import SourceHTTPError
from ingestion.sources.google_ads import google_ads_source
from ingestion.sources.linkedin_ads import linkedin_ads_source
from ingestion.sources.meta_ads import meta_ads_source
from ingestion.warehouse import LOADER_FILE_FORMAT, make_pipeline, pipelines_dir
from sandbox import google_ads_api
from sandbox.faults import FaultPlan, request_key
from sandbox.http import Request
from sandbox.linkedin_ads_api import parse_restli
from sandbox.server import SandboxServer, start_server
from sandbox.simulation import simulate
from tests.ingestion.conftest import AS_OF, START, point_sources_at, query

SOURCES = {"google_ads": google_ads_source, "meta_ads": meta_ads_source, "linkedin_ads": linkedin_ads_source}
PLATFORMS = list(SOURCES)
LOOKBACK = 7
#: The last simulated day of the session's world (as_of is the day not yet simulated).
LAST_DAY = AS_OF - timedelta(days=1)
#: The first day a run after the session's world re-reads: its last day minus the lookback.
SINCE = LAST_DAY - timedelta(days=LOOKBACK)
#: The credential each platform's runs start from (Google and LinkedIn trade a refresh token).
TOKEN_ENV = {
    "google_ads": "SOURCES__GOOGLE_ADS__REFRESH_TOKEN",
    "meta_ads": "SOURCES__META_ADS__ACCESS_TOKEN",
    "linkedin_ads": "SOURCES__LINKEDIN_ADS__REFRESH_TOKEN",
}


@pytest.fixture(autouse=True)
def small_stream_batches(monkeypatch):
    """Several searchStream batches per Google response, as with real volumes."""
    monkeypatch.setattr(google_ads_api, "STREAM_BATCH_SIZE", 100)


def run(platform: str):
    pipeline = make_pipeline(platform)
    pipeline.run(SOURCES[platform](), loader_file_format=LOADER_FILE_FORMAT)
    return pipeline


def extracted_stats_rows(pipeline) -> int:
    return pipeline.last_trace.last_normalize_info.row_counts.get("campaign_stats_daily", 0)


def loaded_stats(path, platform: str) -> dict[tuple[date, str], tuple]:
    rows = query(path, f"""select date, campaign_id, account_id, currency, impressions, clicks, spend_micros,
                                  spend, conversions
                           from raw_{platform}.campaign_stats_daily""")
    keys = Counter((r[0], r[1]) for r in rows)
    assert max(keys.values()) == 1, "duplicate (date, campaign_id) rows"
    return {(r[0], r[1]): r[2:] for r in rows}


def world_stats(world, platform: str, since: date = date.min) -> dict[tuple[date, str], object]:
    return {(s.day, s.campaign_id): s for s in world.ad_stats if s.platform == platform and s.day >= since}


def record_requests(monkeypatch, server: SandboxServer) -> list[Request]:
    """Every API request the server answers from now on (the sandbox itself only counts them)."""
    seen: list[Request] = []
    dispatch = server.dispatch

    def recording(request: Request):
        seen.append(request)
        return dispatch(request)

    monkeypatch.setattr(server, "dispatch", recording)
    return seen


def stats_windows(platform: str, requests: list[Request]) -> set[tuple[date, date]]:
    """The (first, last) days of every stats request the server saw."""
    windows = set()
    for request in requests:
        if platform == "google_ads" and "segments.date" in request.body.decode():
            found = re.search(r"BETWEEN '([\d-]+)' AND '([\d-]+)'", json.loads(request.body)["query"])
            assert found
            windows.add((date.fromisoformat(found[1]), date.fromisoformat(found[2])))
        elif platform == "meta_ads" and request.path.endswith("/insights"):
            time_range = json.loads(request.arg("time_range"))
            windows.add((date.fromisoformat(time_range["since"]), date.fromisoformat(time_range["until"])))
        elif platform == "linkedin_ads" and request.path == "/rest/adAnalytics":
            window = parse_restli(request.arg("dateRange"))
            windows.add(tuple(date(int(d["year"]), int(d["month"]), int(d["day"]))
                              for d in (window["start"], window["end"])))
    return windows


def assert_matches_world(path, platform: str, world) -> None:
    loaded, expected = loaded_stats(path, platform), world_stats(world, platform)
    assert loaded.keys() == expected.keys()
    account = next(a for a in world.ad_accounts if a.platform == platform)
    for key, stat in expected.items():
        account_id, currency, impressions, clicks, spend_micros, spend, conversions = loaded[key]
        assert (account_id, currency) == (account.account_id, account.currency), key
        assert (impressions, clicks, spend_micros, conversions) == (
            stat.impressions, stat.clicks, stat.spend_micros, stat.conversions), key
        assert Decimal(spend) * 1_000_000 == stat.spend_micros, key


@pytest.mark.parametrize("platform", PLATFORMS)
def test_full_load_matches_the_world(platform, sandbox_env, warehouse, ingest_sim, expected_counts, monkeypatch):
    requests = record_requests(monkeypatch, sandbox_env)
    run(platform)

    world, expected = ingest_sim.world, expected_counts["ads"][platform]
    [(stats_rows,)] = query(warehouse, f"select count(*) from raw_{platform}.campaign_stats_daily")
    [(campaign_rows,)] = query(warehouse, f"select count(*) from raw_{platform}.campaigns")
    assert (stats_rows, campaign_rows) == (expected["daily_rows"], expected["campaigns"])

    stats = [s for s in world.ad_stats if s.platform == platform]
    [(impressions, clicks, spend_micros)] = query(
        warehouse, f"select sum(impressions), sum(clicks), sum(spend_micros) from raw_{platform}.campaign_stats_daily")
    assert (impressions, clicks, spend_micros) == (
        sum(s.impressions for s in stats), sum(s.clicks for s in stats), sum(s.spend_micros for s in stats))
    spend = sum(Decimal(s) for (s,) in query(warehouse, f"select spend from raw_{platform}.campaign_stats_daily"))
    assert spend == Decimal(sum(s.spend_micros for s in stats)).scaleb(-6)
    assert_matches_world(warehouse, platform, world)

    campaigns = query(warehouse, f"select id, name, status, account_id, currency from raw_{platform}.campaigns")
    account = next(a for a in world.ad_accounts if a.platform == platform)
    assert sorted(campaigns) == sorted(
        (c.campaign_id, c.name, c.status, c.account_id, account.currency)
        for c in world.ad_campaigns if c.platform == platform)

    # A first run reads from start_date to today.
    [(first, last)] = stats_windows(platform, requests)
    assert first == START and last >= LAST_DAY


def test_fields_not_normalised_land_as_columns(sandbox_env, warehouse):
    """Nothing is whitelisted away: extra response fields become columns (dlt schema evolution)."""
    run("linkedin_ads")
    run("google_ads")
    linkedin = {c for (c,) in query(warehouse, "select column_name from information_schema.columns "
                                    "where table_schema = 'raw_linkedin_ads' and table_name = 'campaigns'")}
    assert {"daily_budget__amount", "run_schedule__start", "type"} <= linkedin
    [(resource,)] = query(warehouse, "select distinct campaign__resource_name from raw_google_ads.campaigns "
                                     "where id = '20110001'")
    assert resource == "customers/4815162342/campaigns/20110001"


@pytest.mark.parametrize("platform", PLATFORMS)
def test_rerun_is_idempotent_and_reads_only_the_lookback(platform, sandbox_env, warehouse, ingest_sim,
                                                          expected_counts, monkeypatch):
    run(platform)
    requests = record_requests(monkeypatch, sandbox_env)
    pipeline = run(platform)

    expected = expected_counts["ads"][platform]
    assert len(loaded_stats(warehouse, platform)) == expected["daily_rows"]  # and no duplicate keys
    [(campaign_rows,)] = query(warehouse, f"select count(*) from raw_{platform}.campaigns")
    assert campaign_rows == expected["campaigns"]
    [(first, _)] = stats_windows(platform, requests)
    assert first == SINCE
    assert extracted_stats_rows(pipeline) == len(world_stats(ingest_sim.world, platform, SINCE))

    # Without the local pipelines folder the cursor comes back from the warehouse.
    shutil.rmtree(pipelines_dir())
    requests.clear()
    pipeline = run(platform)
    [(first, _)] = stats_windows(platform, requests)
    assert first == SINCE
    assert extracted_stats_rows(pipeline) == len(world_stats(ingest_sim.world, platform, SINCE))
    assert len(loaded_stats(warehouse, platform)) == expected["daily_rows"]


@pytest.fixture(scope="module")
def later_world(tmp_path_factory):
    """The same business three days later, as the platforms report it then.

    The simulation revises recent conversions upwards, but at small scale only a row or two; so
    every platform also revises the conversions of its last ten days of the session's world (two
    of them before the lookback window, which the incremental run must leave alone).
    """
    world = simulate(11, START, AS_OF + timedelta(days=3), "small", tmp_path_factory.mktemp("ads_later")).world
    revised = [replace(s, conversions=s.conversions + 2.5) if SINCE - timedelta(days=2) <= s.day <= LAST_DAY else s
               for s in world.ad_stats]
    return replace(world, ad_stats=revised)


@pytest.fixture(scope="module")
def later_sandbox(later_world):
    server = start_server(later_world, port=0)
    yield server
    server.shutdown()


@pytest.mark.parametrize("platform", PLATFORMS)
def test_incremental_run_rereads_the_lookback_and_takes_revisions(platform, sandbox_env, warehouse, ingest_sim,
                                                                  later_world, later_sandbox, monkeypatch):
    run(platform)
    old, new = world_stats(ingest_sim.world, platform), world_stats(later_world, platform)

    point_sources_at(monkeypatch, later_sandbox)
    requests = record_requests(monkeypatch, later_sandbox)
    pipeline = run(platform)

    [(first, last)] = stats_windows(platform, requests)
    assert first == SINCE and last >= later_world.as_of - timedelta(days=1)
    assert extracted_stats_rows(pipeline) == len(world_stats(later_world, platform, SINCE)) < len(new)

    loaded = loaded_stats(warehouse, platform)  # no duplicate keys
    assert loaded.keys() == new.keys()  # the three new days are in
    conversions = {key: row[-1] for key, row in loaded.items()}
    revised = [k for k in old if old[k].conversions != new[k].conversions]
    in_window = [k for k in revised if k[0] >= SINCE]
    assert len(in_window) >= LOOKBACK and len(revised) > len(in_window)
    # Revisions inside the lookback window are taken; older ones are out of reach by design.
    assert all(conversions[k] == new[k].conversions for k in in_window)
    assert all(conversions[k] == old[k].conversions for k in revised if k[0] < SINCE)
    assert all(conversions[k] == new[k].conversions for k in new if k[0] >= SINCE)
    assert all(loaded[k][2:5] == (new[k].impressions, new[k].clicks, new[k].spend_micros) for k in new)


@pytest.fixture
def always_faulty_sandbox(ingest_sim):
    """Every distinct request fails once (a 5xx or a 429), then succeeds.

    An ads run makes only a handful of requests: a fault *rate* could miss all of them, and
    whether it did would hang on the hash of each request's text. Failing every request once
    makes the faults certain, whatever the requests say.
    """
    faults = FaultPlan(seed=3, error_rate=0.7, rate_limit_rate=0.3, retry_after_seconds=0, max_consecutive=1)
    server = start_server(ingest_sim.world, port=0, faults=faults)
    yield server
    server.shutdown()


@pytest.mark.parametrize("platform", PLATFORMS)
def test_transient_errors_are_retried(platform, always_faulty_sandbox, warehouse, ingest_sim, monkeypatch):
    # Retry-After: 0 makes dlt fall back to its exponential backoff; keep it short for the test.
    monkeypatch.setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "0.05")
    point_sources_at(monkeypatch, always_faulty_sandbox)
    requests = record_requests(monkeypatch, always_faulty_sandbox)
    run(platform)
    faults = always_faulty_sandbox.faults
    served = [r for r in requests if not r.path.startswith("/_sandbox/")]
    # each distinct request was refused once, then answered: twice as many requests as keys
    assert faults.injected == len({request_key(r) for r in served}) == len(served) // 2 >= 2
    assert_matches_world(warehouse, platform, ingest_sim.world)


def test_rate_limits_honour_retry_after(warehouse, ingest_sim, monkeypatch):
    """A 429's Retry-After is waited out (dlt's backoff is made negligible so only it counts)."""
    import time

    monkeypatch.setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "0.001")
    server = start_server(ingest_sim.world, port=0, faults=FaultPlan(seed=3, rate_limit_rate=1.0,
                                                                     retry_after_seconds=1, max_consecutive=1))
    try:
        point_sources_at(monkeypatch, server)
        started = time.monotonic()
        run("google_ads")  # a token and two searches, each rate limited once
        elapsed = time.monotonic() - started
    finally:
        server.shutdown()
    assert server.faults.injected_rate_limits == 3
    assert elapsed >= 3
    assert_matches_world(warehouse, "google_ads", ingest_sim.world)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_wrong_token_fails_with_source_http_error(platform, sandbox_env, warehouse, monkeypatch):
    token = "wrong-token-3f9a7c"
    monkeypatch.setenv(TOKEN_ENV[platform], token)
    with pytest.raises(PipelineStepFailed) as failed:
        run(platform)
    chain, exc = [], failed.value
    while exc is not None:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    errors = [e for e in chain if isinstance(e, SourceHTTPError)]
    assert errors, chain
    error = errors[0]
    assert error.source == platform and error.status in (400, 401)
    assert str(error).startswith(f"{platform}: HTTP {error.status} from /")
    assert TOKEN_ENV[platform] in str(error)  # names the setting to fix
    assert all(token not in str(e) for e in chain)
