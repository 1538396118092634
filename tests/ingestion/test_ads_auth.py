"""Ads credentials a nightly can live with: refresh tokens across expiries, clear refusals."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ingestion.run import ingest
from ingestion.sources.meta_ads import DEFAULT_API_VERSION as META_VERSION
from sandbox import meta_ads_api
from sandbox.http import Request
from sandbox.oauth import GOOGLE_TOKEN_PATH, LINKEDIN_TOKEN_PATH, TokenAuthority
from sandbox.server import SandboxServer, start_server
from tests.ingestion.conftest import point_sources_at, query
from tests.ingestion.test_ads_sources import assert_matches_world, record_requests, run

REFRESHING = ["google_ads", "linkedin_ads"]
#: API requests an issued token is good for: Google's run is two searchStream calls, LinkedIn's
#: a dozen pages, so each run crosses at least one expiry.
LIFETIME = {"google_ads": 1, "linkedin_ads": 3}
TOKEN_PATHS = {"google_ads": GOOGLE_TOKEN_PATH, "linkedin_ads": LINKEDIN_TOKEN_PATH}
#: How each platform's API paths begin (its token endpoint's do not).
API_PATHS = {"google_ads": "/v", "linkedin_ads": "/rest/"}


def serve(world, tokens: TokenAuthority) -> Iterator[SandboxServer]:
    server = start_server(world, port=0, tokens=tokens)
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def short_notice_sandbox(ingest_sim) -> Iterator[SandboxServer]:
    """It announces tokens that live 30 s: less than the client's renewal margin."""
    yield from serve(ingest_sim.world, TokenAuthority(expires_in=30))


def table_rows(path, platform: str, table: str) -> list[tuple]:
    """Every row of a raw table, dlt's own bookkeeping columns left out, in a stable order."""
    sql = f"""select column_name from information_schema.columns
              where table_schema = 'raw_{platform}' and table_name = '{table}'
                and column_name not like '\\_dlt%' escape '\\'
              order by column_name"""
    columns = [c for (c,) in query(path, sql)]
    return query(path, f"select {', '.join(columns)} from raw_{platform}.{table} order by all")


def api_requests(requests: list[Request], platform: str) -> list[Request]:
    return [r for r in requests if r.path.startswith(API_PATHS[platform])]


@pytest.mark.parametrize("platform", REFRESHING)
def test_a_run_crossing_token_expiries_loads_what_an_uninterrupted_run_loads(
    platform, sandbox_env, warehouse, ingest_sim, monkeypatch, tmp_path
):
    granted = sandbox_env.tokens.grants[platform]
    run(platform)  # uninterrupted: one token for the whole run
    assert sandbox_env.tokens.grants[platform] == granted + 1
    uninterrupted = {
        t: table_rows(warehouse, platform, t) for t in ("campaigns", "campaign_stats_daily")
    }

    other = tmp_path / "expiring" / "northstar.duckdb"
    monkeypatch.setenv("NORTHSTAR_WAREHOUSE", str(other))
    expiring = start_server(
        ingest_sim.world, port=0, tokens=TokenAuthority(lifetime_requests=LIFETIME[platform])
    )
    try:
        point_sources_at(monkeypatch, expiring)
        seen = record_requests(monkeypatch, expiring)
        run(platform)
    finally:
        expiring.shutdown()
        expiring.server_close()

    calls = api_requests(seen, platform)
    refusals = len(calls) - sum(1 for r in calls if r.token_state == "valid")
    assert refusals >= 1, "the run never crossed an expiry"
    # each expiry costs one 401, one token and one repeat of the refused request
    assert expiring.tokens.grants[platform] == refusals + 1
    assert sum(1 for r in seen if r.path == TOKEN_PATHS[platform]) == refusals + 1
    for table, rows in uninterrupted.items():
        assert table_rows(other, platform, table) == rows, table
    assert_matches_world(other, platform, ingest_sim.world)


@pytest.mark.parametrize("platform", REFRESHING)
def test_tokens_are_renewed_before_they_expire(
    platform, short_notice_sandbox, warehouse, ingest_sim, monkeypatch
):
    point_sources_at(monkeypatch, short_notice_sandbox)
    seen = record_requests(monkeypatch, short_notice_sandbox)
    run(platform)
    calls = api_requests(seen, platform)
    assert calls and all(r.token_state == "valid" for r in calls)  # never sent a stale token
    assert short_notice_sandbox.tokens.grants[platform] == len(calls)  # a fresh one each time
    assert_matches_world(warehouse, platform, ingest_sim.world)


def test_login_customer_id_is_sent_for_manager_accounts(sandbox_env, warehouse, monkeypatch):
    monkeypatch.setenv("SOURCES__GOOGLE_ADS__LOGIN_CUSTOMER_ID", "987-654-3210")
    seen = record_requests(monkeypatch, sandbox_env)
    run("google_ads")
    calls = api_requests(seen, "google_ads")
    assert calls and {r.headers.get("login-customer-id") for r in calls} == {"9876543210"}


@pytest.mark.parametrize(
    ("setting", "value", "names"),
    [
        (
            "SOURCES__GOOGLE_ADS__REFRESH_TOKEN",
            "1//0gWrongRefreshTokenA1b2",
            "SOURCES__GOOGLE_ADS__REFRESH_TOKEN",
        ),
        (
            "SOURCES__GOOGLE_ADS__CLIENT_SECRET",
            "GOCSPX-wrong-secret-9f8e",
            "SOURCES__GOOGLE_ADS__CLIENT_SECRET",
        ),
        (
            "SOURCES__LINKEDIN_ADS__REFRESH_TOKEN",
            "AQWrongRefreshToken77",
            "SOURCES__LINKEDIN_ADS__REFRESH_TOKEN",
        ),
    ],
)
def test_refused_credentials_fail_in_one_line_naming_the_setting(
    setting, value, names, sandbox_env, warehouse, monkeypatch
):
    monkeypatch.setenv(setting, value)
    platform = setting.split("__")[1].lower()
    [result] = ingest([platform])
    line = result.line()
    assert result.status == "failed"
    assert line.startswith(f"{platform}: failed: HTTP 40")
    assert "\n" not in line and names in line and "token endpoint refused" in line
    assert value not in line


def test_an_expired_meta_token_fails_in_one_line_naming_the_setting(
    sandbox_env, warehouse, monkeypatch
):
    monkeypatch.setenv("SOURCES__META_ADS__ACCESS_TOKEN", meta_ads_api.SANDBOX_EXPIRED_ACCESS_TOKEN)
    results = {r.name: r for r in ingest(["meta_ads", "linkedin_ads"])}
    line = results["meta_ads"].line()
    assert results["meta_ads"].status == "failed"
    assert line == (
        f"meta_ads: failed: HTTP 400 from /{META_VERSION}/act_1029384756: the access token has "
        "expired (OAuthException 190/463); create a new long-lived token and set "
        "SOURCES__META_ADS__ACCESS_TOKEN"
    )
    assert meta_ads_api.SANDBOX_EXPIRED_ACCESS_TOKEN not in line
    assert results["linkedin_ads"].status == "loaded"
