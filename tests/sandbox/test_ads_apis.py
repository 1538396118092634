"""The sandbox's Google Ads, Meta and LinkedIn APIs over real HTTP, against a hand-made world.

Expectations are computed straight from the fixture's ``AdStatRow`` list, never from the code
under test: every paging walk must return each stat exactly once and sum to the world's totals.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
import requests

from sandbox import google_ads_api, linkedin_ads_api, meta_ads_api
from sandbox.server import SandboxServer, start_server
from sandbox.world import AdAccount, AdCampaign, AdStatRow, World

#: The newest version of each API the sandbox serves (older ones are sunset there too).
GOOGLE_VERSION = f"v{google_ads_api.NEWEST_VERSION}"
META_VERSION = "v{}.{}".format(*meta_ads_api.NEWEST_VERSION)
LINKEDIN_VERSION = linkedin_ads_api.NEWEST_VERSION

AS_OF = date(2025, 3, 2)
START = AS_OF - timedelta(days=60)
GOOGLE_ID, GOOGLE_OTHER_ID = "1234567890", "2222222222"
META_ID, META_JPY_ID = "555000111", "555000222"
LINKEDIN_ID = "507000123"
ACCOUNTS = [
    AdAccount("google_ads", GOOGLE_ID, "Northstar Search", "USD"),
    AdAccount("google_ads", GOOGLE_OTHER_ID, "Northstar Brand", "USD"),
    AdAccount("meta_ads", META_ID, "Northstar EU", "EUR"),
    AdAccount("meta_ads", META_JPY_ID, "Northstar JP", "JPY"),
    AdAccount("linkedin_ads", LINKEDIN_ID, "Northstar B2B", "GBP"),
]
# (platform, account, campaign id, status); ids are unique per platform.
CAMPAIGN_SPECS = [
    ("google_ads", GOOGLE_ID, "111", "ENABLED"),
    ("google_ads", GOOGLE_ID, "112", "ENABLED"),
    ("google_ads", GOOGLE_ID, "113", "PAUSED"),
    ("google_ads", GOOGLE_OTHER_ID, "211", "ENABLED"),
    ("meta_ads", META_ID, "23850001", "ACTIVE"),
    ("meta_ads", META_ID, "23850002", "ACTIVE"),
    ("meta_ads", META_ID, "23850003", "PAUSED"),
    ("meta_ads", META_JPY_ID, "23859001", "ACTIVE"),
    ("linkedin_ads", LINKEDIN_ID, "610001", "ACTIVE"),
    ("linkedin_ads", LINKEDIN_ID, "610002", "ACTIVE"),
    ("linkedin_ads", LINKEDIN_ID, "610003", "PAUSED"),
]


def build_world(ga4_dir: Path | None = None) -> World:
    """Three platforms, ~60 days of stats with gaps, odd micros and fractional conversions."""
    rng = random.Random(11)
    world = World(seed=11, start=START, as_of=AS_OF, scale="test", ga4_dir=ga4_dir)
    world.ad_accounts = list(ACCOUNTS)
    for n, (platform, account, campaign_id, status) in enumerate(CAMPAIGN_SPECS):
        created = START - timedelta(days=n)
        world.ad_campaigns.append(
            AdCampaign(
                platform,
                account,
                campaign_id,
                f"Campaign {campaign_id}",
                f"camp-{n}",
                status,
                created,
            )
        )
        for offset in range(60):
            if (offset + n) % 9 == 0:  # some days without delivery
                continue
            impressions = rng.randint(50, 5000)
            clicks = rng.randint(0, impressions // 20)
            world.ad_stats.append(
                AdStatRow(
                    platform,
                    account,
                    campaign_id,
                    START + timedelta(days=offset),
                    impressions,
                    clicks,
                    spend_micros=rng.randint(0, 90_000_000),
                    conversions=rng.choice([0.0, 1.0, 2.0, 0.5, 3.25]),
                )
            )
    rng.shuffle(world.ad_stats)  # storage order must not matter
    return world


def stats(world: World, account: str, first: date = START, last: date = AS_OF) -> list[AdStatRow]:
    return [s for s in world.ad_stats if s.account_id == account and first <= s.day <= last]


@pytest.fixture(scope="module")
def world() -> World:
    return build_world()


@pytest.fixture(scope="module")
def server(world: World) -> Iterator[SandboxServer]:
    server = start_server(world, port=0)
    yield server
    server.shutdown()
    server.server_close()


# --- Google Ads ---------------------------------------------------------------------------

GOOGLE_HEADERS = {
    "developer-token": google_ads_api.SANDBOX_DEVELOPER_TOKEN,
    "Authorization": f"Bearer {google_ads_api.SANDBOX_ACCESS_TOKEN}",
}
DAILY_GAQL = (
    "SELECT campaign.id, campaign.name, segments.date, metrics.impressions, metrics.clicks, "
    f"metrics.cost_micros, metrics.conversions FROM campaign "
    f"WHERE segments.date BETWEEN '{START}' AND '{AS_OF - timedelta(days=1)}'"
)


def gads(
    server: SandboxServer,
    query: str,
    method: str = "searchStream",
    customer: str = GOOGLE_ID,
    headers: dict[str, str] | None = None,
    **body: object,
) -> requests.Response:
    url = f"{server.base_url}/{GOOGLE_VERSION}/customers/{customer}/googleAds:{method}"
    return requests.post(
        url, json={"query": query, **body}, headers=headers or GOOGLE_HEADERS, timeout=10
    )


def google_rows(response: requests.Response) -> list[dict]:
    assert response.status_code == 200, response.text
    return [row for batch in response.json() for row in batch.get("results", [])]


def test_google_search_stream_daily_rows_match_world(server: SandboxServer, world: World) -> None:
    response = gads(server, DAILY_GAQL)
    batches = response.json()
    rows = google_rows(response)
    expected = {(s.campaign_id, s.day.isoformat()): s for s in stats(world, GOOGLE_ID)}
    got = {(r["campaign"]["id"], r["segments"]["date"]): r for r in rows}
    assert len(rows) == len(got) == len(expected)
    assert got.keys() == expected.keys()
    for key, row in got.items():
        stat = expected[key]
        assert row["metrics"] == {
            "impressions": str(stat.impressions),
            "clicks": str(stat.clicks),
            "costMicros": str(stat.spend_micros),
            "conversions": stat.conversions,
        }
        assert row["campaign"]["resourceName"] == f"customers/{GOOGLE_ID}/campaigns/{key[0]}"
        assert row["campaign"]["name"] == f"Campaign {key[0]}"
    assert batches[0]["fieldMask"] == (
        "campaign.id,campaign.name,segments.date,metrics.impressions,metrics.clicks,"
        "metrics.costMicros,metrics.conversions"
    )
    assert batches[0]["requestId"]


def test_google_stream_batches_split_rows(
    server: SandboxServer, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(google_ads_api, "STREAM_BATCH_SIZE", 40)
    batches = gads(server, DAILY_GAQL).json()
    total = len(stats(world, GOOGLE_ID))
    assert [len(b["results"]) for b in batches] == [40] * (total // 40) + (
        [total % 40] if total % 40 else []
    )


def test_google_search_pages_cover_every_row_once(server: SandboxServer, world: World) -> None:
    seen: list[tuple[str, str]] = []
    clicks = cost = pages = 0
    token = None
    while True:
        body = {"pageSize": 40, **({"pageToken": token} if token else {})}
        page = gads(server, DAILY_GAQL, method="search", **body).json()
        pages += 1
        for row in page["results"]:
            seen.append((row["campaign"]["id"], row["segments"]["date"]))
            clicks += int(row["metrics"]["clicks"])
            cost += int(row["metrics"]["costMicros"])
        token = page.get("nextPageToken")
        if not token:
            break
    expected = stats(world, GOOGLE_ID)
    assert len(seen) == len(set(seen)) == len(expected)
    assert pages == -(-len(expected) // 40)
    assert clicks == sum(s.clicks for s in expected)
    assert cost == sum(s.spend_micros for s in expected)


def test_google_summed_metrics_over_during_window(server: SandboxServer, world: World) -> None:
    query = (
        "SELECT campaign.id, metrics.clicks, metrics.impressions, metrics.cost_micros FROM campaign "
        "WHERE segments.date DURING LAST_7_DAYS"
    )
    rows = google_rows(gads(server, query))
    window = stats(world, GOOGLE_ID, AS_OF - timedelta(days=7), AS_OF - timedelta(days=1))
    assert {r["campaign"]["id"] for r in rows} == {s.campaign_id for s in window}
    for row in rows:
        mine = [s for s in window if s.campaign_id == row["campaign"]["id"]]
        assert int(row["metrics"]["clicks"]) == sum(s.clicks for s in mine)
        assert int(row["metrics"]["impressions"]) == sum(s.impressions for s in mine)
        assert int(row["metrics"]["costMicros"]) == sum(s.spend_micros for s in mine)
    yesterday = google_rows(gads(server, query.replace("LAST_7_DAYS", "YESTERDAY")))
    assert sum(int(r["metrics"]["clicks"]) for r in yesterday) == sum(
        s.clicks
        for s in stats(world, GOOGLE_ID, AS_OF - timedelta(days=1), AS_OF - timedelta(days=1))
    )


def test_google_date_comparisons_and_campaign_filters(server: SandboxServer, world: World) -> None:
    first, last = START + timedelta(days=10), START + timedelta(days=19)
    query = (
        "select campaign.id, segments.date, metrics.clicks from campaign "
        f"where segments.date >= '{first}' and segments.date < '{last + timedelta(days=1)}' "
        "and campaign.id = 112"
    )
    rows = google_rows(gads(server, query))
    expected = [s for s in stats(world, GOOGLE_ID, first, last) if s.campaign_id == "112"]
    assert sorted(r["segments"]["date"] for r in rows) == sorted(
        s.day.isoformat() for s in expected
    )
    assert {r["campaign"]["id"] for r in rows} == {"112"}

    enabled = google_rows(
        gads(
            server,
            "SELECT campaign.id, campaign.status FROM campaign "
            "WHERE campaign.status = 'ENABLED' ORDER BY campaign.id DESC",
        )
    )
    assert [r["campaign"]["id"] for r in enabled] == ["112", "111"]
    assert all("metrics" not in r and "segments" not in r for r in enabled)

    top = google_rows(
        gads(
            server,
            "SELECT campaign.id, metrics.clicks FROM campaign ORDER BY metrics.clicks DESC LIMIT 2",
        )
    )
    totals = sorted(
        (sum(s.clicks for s in stats(world, GOOGLE_ID) if s.campaign_id == c), c)
        for c in ("111", "112", "113")
    )
    assert [r["campaign"]["id"] for r in top] == [totals[2][1], totals[1][1]]


def test_google_customer_resource(server: SandboxServer, world: World) -> None:
    rows = google_rows(
        gads(
            server,
            "SELECT customer.id, customer.currency_code, customer.descriptive_name FROM customer",
        )
    )
    assert rows == [
        {
            "customer": {
                "resourceName": f"customers/{GOOGLE_ID}",
                "id": GOOGLE_ID,
                "currencyCode": "USD",
                "descriptiveName": "Northstar Search",
            }
        }
    ]
    daily = google_rows(
        gads(
            server,
            "SELECT segments.date, metrics.clicks FROM customer WHERE "
            f"segments.date BETWEEN '{START}' AND '{AS_OF}'",
        )
    )
    assert sum(int(r["metrics"]["clicks"]) for r in daily) == sum(
        s.clicks for s in stats(world, GOOGLE_ID)
    )
    other = google_rows(
        gads(server, "SELECT metrics.clicks FROM customer", customer=GOOGLE_OTHER_ID)
    )
    assert int(other[0]["metrics"]["clicks"]) == sum(
        s.clicks for s in stats(world, GOOGLE_OTHER_ID)
    )


def test_google_empty_result_has_no_results_key(server: SandboxServer) -> None:
    batches = gads(
        server,
        "SELECT campaign.id, metrics.clicks FROM campaign WHERE "
        "segments.date BETWEEN '2020-01-01' AND '2020-01-31'",
    ).json()
    assert len(batches) == 1 and "results" not in batches[0] and batches[0]["fieldMask"]


@pytest.mark.parametrize(
    ("headers", "status", "google_status"),
    [
        ({"developer-token": google_ads_api.SANDBOX_DEVELOPER_TOKEN}, 401, "UNAUTHENTICATED"),
        ({**GOOGLE_HEADERS, "Authorization": "Bearer nope"}, 401, "UNAUTHENTICATED"),
        ({"Authorization": GOOGLE_HEADERS["Authorization"]}, 403, "PERMISSION_DENIED"),
        ({**GOOGLE_HEADERS, "developer-token": "wrong"}, 403, "PERMISSION_DENIED"),
    ],
)
def test_google_auth_errors(
    server: SandboxServer, headers: dict[str, str], status: int, google_status: str
) -> None:
    response = gads(server, "SELECT campaign.id FROM campaign", headers=headers)
    assert response.status_code == status
    error = response.json()["error"]
    assert (error["code"], error["status"]) == (status, google_status)
    if status == 401:
        assert error["message"].startswith(
            "Request is missing required authentication credential"
        ) or error["message"].startswith("Request had invalid authentication credentials")


def test_google_unknown_customer(server: SandboxServer) -> None:
    response = gads(server, "SELECT campaign.id FROM campaign", customer="9999999999")
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["status"] == "PERMISSION_DENIED"
    assert error["details"][0]["errors"][0]["errorCode"] == {
        "authorizationError": "USER_PERMISSION_DENIED"
    }


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("SELECT campaign.id, campaign.budget FROM campaign", "UNRECOGNIZED_FIELD"),
        ("SELECT campaign.id campaign", "QUERY_ERROR"),
        ("SELECT campaign.id FROM", "UNEXPECTED_END_OF_QUERY"),
        ("SELECT campaign.id FROM ad_group", "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE"),
        ("SELECT campaign.id, segments.date FROM campaign", "EXPECTED_FILTERS_ON_DATE_RANGE"),
        (
            "SELECT campaign.id, segments.date FROM campaign WHERE segments.date >= '2025-01-01'",
            "EXPECTED_FILTERS_ON_DATE_RANGE",
        ),
        ("SELECT campaign.id FROM campaign WHERE segments.date = '2025-13-01'", "INVALID_LITERAL"),
        (
            "SELECT campaign.id FROM campaign WHERE segments.date DURING LAST_YEAR_OR_SO",
            "INVALID_VALUE_WITH_DURING_OPERATOR",
        ),
        ("SELECT campaign.name FROM customer", "PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE"),
        ("SELECT campaign.id FROM campaign LIMIT ten", "QUERY_ERROR"),
    ],
)
def test_google_bad_gaql(server: SandboxServer, query: str, code: str) -> None:
    response = gads(server, query)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["status"]) == (400, "INVALID_ARGUMENT")
    assert error["details"][0]["errors"][0]["errorCode"] == {"queryError": code}
    assert error["details"][0]["@type"].endswith("GoogleAdsFailure")


def test_google_foreign_page_token_is_refused(server: SandboxServer) -> None:
    page = gads(server, DAILY_GAQL, method="search", pageSize=10).json()
    other = gads(
        server, "SELECT campaign.id FROM campaign", method="search", pageToken=page["nextPageToken"]
    )
    assert other.status_code == 400
    assert other.json()["error"]["details"][0]["errors"][0]["errorCode"] == {
        "requestError": "INVALID_PAGE_TOKEN"
    }


# --- Meta -----------------------------------------------------------------------------------

META_FIELDS = "campaign_id,campaign_name,impressions,clicks,spend,account_currency,actions,date_start,date_stop"


def meta_get(server: SandboxServer, path: str, **params: object) -> requests.Response:
    params.setdefault("access_token", meta_ads_api.SANDBOX_ACCESS_TOKEN)
    return requests.get(f"{server.base_url}/{META_VERSION}/{path}", params=params, timeout=10)


def meta_all_pages(first: requests.Response) -> tuple[list[dict], int]:
    """Follow ``paging.next`` links to the end; returns the rows and the number of pages."""
    rows, pages, response = [], 0, first
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        rows += body["data"]
        pages += 1
        if "next" not in body.get("paging", {}):
            return rows, pages
        response = requests.get(body["paging"]["next"], timeout=10)


def cents(micros: int) -> Decimal:
    return (Decimal(micros) / 1_000_000).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def test_meta_daily_insights_paged_match_world(server: SandboxServer, world: World) -> None:
    time_range = json.dumps({"since": str(START), "until": str(AS_OF - timedelta(days=1))})
    rows, pages = meta_all_pages(
        meta_get(
            server,
            f"act_{META_ID}/insights",
            level="campaign",
            time_increment=1,
            time_range=time_range,
            fields=META_FIELDS,
        )
    )
    expected = {(s.campaign_id, s.day.isoformat()): s for s in stats(world, META_ID)}
    got = {(r["campaign_id"], r["date_start"]): r for r in rows}
    assert len(rows) == len(got) == len(expected) and got.keys() == expected.keys()
    assert pages == -(-len(expected) // meta_ads_api.DEFAULT_LIMIT)
    for key, row in got.items():
        stat = expected[key]
        assert row["date_stop"] == row["date_start"]
        assert (row["impressions"], row["clicks"]) == (str(stat.impressions), str(stat.clicks))
        assert row["spend"] == str(cents(stat.spend_micros))
        assert row["account_currency"] == "EUR" and row["campaign_name"] == f"Campaign {key[0]}"
        purchases = [
            a["value"]
            for a in row.get("actions", [])
            if a["action_type"] == meta_ads_api.PURCHASE_ACTION
        ]
        assert float(purchases[0] if purchases else 0) == stat.conversions
    assert sum(int(r["impressions"]) for r in rows) == sum(s.impressions for s in expected.values())
    assert sum(Decimal(r["spend"]) for r in rows) == sum(
        cents(s.spend_micros) for s in expected.values()
    )


def test_meta_only_requested_fields(server: SandboxServer) -> None:
    time_range = json.dumps({"since": str(START), "until": str(START + timedelta(days=3))})
    body = meta_get(
        server,
        f"act_{META_ID}/insights",
        level="campaign",
        time_increment=1,
        time_range=time_range,
        fields="clicks",
    ).json()
    assert body["data"] and all(
        set(r) == {"clicks", "date_start", "date_stop"} for r in body["data"]
    )
    assert all(
        str(START) <= r["date_start"] <= str(START + timedelta(days=3)) for r in body["data"]
    )
    assert "next" not in body["paging"] and body["paging"]["cursors"]["before"]


def test_meta_all_days_totals_and_limit(server: SandboxServer, world: World) -> None:
    since, until = START + timedelta(days=5), START + timedelta(days=34)
    response = meta_get(
        server,
        f"act_{META_ID}/insights",
        level="campaign",
        limit=2,
        time_range=json.dumps({"since": str(since), "until": str(until)}),
        fields="campaign_id,clicks,spend",
    )
    rows, pages = meta_all_pages(response)
    assert pages == 2
    window = stats(world, META_ID, since, until)
    assert {r["campaign_id"] for r in rows} == {s.campaign_id for s in window}
    for row in rows:
        mine = [s for s in window if s.campaign_id == row["campaign_id"]]
        assert int(row["clicks"]) == sum(s.clicks for s in mine)
        assert row["spend"] == str(cents(sum(s.spend_micros for s in mine)))
        assert (row["date_start"], row["date_stop"]) == (str(since), str(until))


def test_meta_yen_spend_has_no_decimals(server: SandboxServer, world: World) -> None:
    body = meta_get(
        server, f"act_{META_JPY_ID}/insights", date_preset="last_7d", fields="spend"
    ).json()
    [row] = body["data"]
    window = stats(world, META_JPY_ID, AS_OF - timedelta(days=7), AS_OF - timedelta(days=1))
    micros = sum(s.spend_micros for s in window)
    assert row["spend"] == str(
        (Decimal(micros) / 1_000_000).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    )
    assert "." not in row["spend"]


def test_meta_campaigns_and_account(server: SandboxServer) -> None:
    rows, pages = meta_all_pages(
        meta_get(
            server,
            f"act_{META_ID}/campaigns",
            fields="id,name,status,objective,created_time",
            limit=2,
        )
    )
    assert pages == 2
    assert [(r["id"], r["status"]) for r in rows] == [
        ("23850001", "ACTIVE"),
        ("23850002", "ACTIVE"),
        ("23850003", "PAUSED"),
    ]
    assert (
        rows[0]["created_time"].endswith("T00:00:00+0000")
        and rows[0]["name"] == "Campaign 23850001"
    )
    account = meta_get(server, f"act_{META_ID}", fields="currency,name,account_id").json()
    assert account == {
        "currency": "EUR",
        "name": "Northstar EU",
        "account_id": META_ID,
        "id": f"act_{META_ID}",
    }
    bearer = requests.get(
        f"{server.base_url}/{META_VERSION}/act_{META_ID}",
        params={"fields": "currency"},
        headers={"Authorization": f"Bearer {meta_ads_api.SANDBOX_ACCESS_TOKEN}"},
        timeout=10,
    )
    assert bearer.json()["currency"] == "EUR"


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        (f"act_{META_ID}/insights", {"access_token": "garbage"}, 400, 190),
        (f"act_{META_ID}/insights", {"access_token": ""}, 400, 104),
        ("act_42/insights", {}, 400, 100),
        (
            f"act_{META_ID}/insights",
            {"time_range": '{"since":"2025-02-30","until":"2025-03-01"}'},
            400,
            100,
        ),
        (f"act_{META_ID}/insights", {"time_range": "last week"}, 400, 100),
        (f"act_{META_ID}/insights", {"fields": "clicks,reach_of_stars"}, 400, 100),
        (f"act_{META_ID}/adsets", {}, 400, 2500),
    ],
)
def test_meta_errors(
    server: SandboxServer, path: str, params: dict, status: int, code: int
) -> None:
    response = meta_get(server, path, **params)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and error["type"] in ("OAuthException", "GraphMethodException")
    assert error["message"] and error["fbtrace_id"]
    if code == 190:
        assert error["message"] == "Invalid OAuth access token - Cannot parse access token"


# --- LinkedIn ---------------------------------------------------------------------------------

LINKEDIN_HEADERS = {
    "Authorization": f"Bearer {linkedin_ads_api.SANDBOX_ACCESS_TOKEN}",
    "LinkedIn-Version": LINKEDIN_VERSION,
    "X-Restli-Protocol-Version": "2.0.0",
}


def date_range(first: date, last: date) -> str:
    return (
        f"(start:(year:{first.year},month:{first.month},day:{first.day}),"
        f"end:(year:{last.year},month:{last.month},day:{last.day}))"
    )


def linkedin_get(
    server: SandboxServer, path_and_query: str, headers: dict[str, str] | None = None
) -> requests.Response:
    """GET with a pre-encoded query string, as Rest.li wants (requests would re-encode a dict)."""
    return requests.get(
        f"{server.base_url}{path_and_query}", headers=headers or LINKEDIN_HEADERS, timeout=10
    )


def analytics_url(first: date, last: date, granularity: str = "DAILY", extra: str = "") -> str:
    return (
        f"/rest/adAnalytics?q=analytics&pivot=CAMPAIGN&timeGranularity={granularity}"
        f"&dateRange={date_range(first, last)}"
        f"&accounts=List(urn%3Ali%3AsponsoredAccount%3A{LINKEDIN_ID})"
        "&fields=impressions,clicks,costInLocalCurrency,dateRange,pivotValues,externalWebsiteConversions"
        f"{extra}"
    )


def test_linkedin_daily_analytics_paged_match_world(server: SandboxServer, world: World) -> None:
    expected = stats(world, LINKEDIN_ID)
    elements, path = [], analytics_url(START, AS_OF, extra="&start=0&count=50")
    while path:
        body = linkedin_get(server, path).json()
        assert body["paging"]["total"] == len(expected) and body["paging"]["count"] == 50
        elements += body["elements"]
        path = next(
            (link["href"] for link in body["paging"]["links"] if link["rel"] == "next"), None
        )
    keys = [
        (
            e["pivotValues"][0],
            e["dateRange"]["start"]["year"],
            e["dateRange"]["start"]["month"],
            e["dateRange"]["start"]["day"],
        )
        for e in elements
    ]
    assert len(keys) == len(set(keys)) == len(expected)
    assert all(e["dateRange"]["start"] == e["dateRange"]["end"] for e in elements)
    assert {k[0] for k in keys} == {f"urn:li:sponsoredCampaign:{s.campaign_id}" for s in expected}
    assert sum(e["impressions"] for e in elements) == sum(s.impressions for s in expected)
    assert sum(e["clicks"] for e in elements) == sum(s.clicks for s in expected)
    assert (
        sum(Decimal(e["costInLocalCurrency"]) for e in elements)
        == Decimal(sum(s.spend_micros for s in expected)) / 1_000_000
    )
    assert sum(e["externalWebsiteConversions"] for e in elements) == pytest.approx(
        sum(s.conversions for s in expected)
    )


def test_linkedin_all_granularity_and_campaign_facet(server: SandboxServer, world: World) -> None:
    first, last = START + timedelta(days=3), START + timedelta(days=12)
    url = (
        "/rest/adAnalytics?q=analytics&pivot=CAMPAIGN&timeGranularity=ALL"
        f"&dateRange={date_range(first, last)}"
        "&campaigns=List(urn:li:sponsoredCampaign:610002,urn%3Ali%3AsponsoredCampaign%3A610003)"
        "&fields=pivotValues,clicks,costInLocalCurrency"
    )
    body = linkedin_get(server, url).json()
    assert body["paging"]["total"] == 2 and not body["paging"]["links"]
    for element in body["elements"]:
        campaign_id = element["pivotValues"][0].rsplit(":", 1)[1]
        mine = [s for s in stats(world, LINKEDIN_ID, first, last) if s.campaign_id == campaign_id]
        assert element["clicks"] == sum(s.clicks for s in mine)
        assert (
            Decimal(element["costInLocalCurrency"])
            == Decimal(sum(s.spend_micros for s in mine)) / 1_000_000
        )
        assert set(element) == {"pivotValues", "clicks", "costInLocalCurrency"}


def test_linkedin_campaigns_and_account(server: SandboxServer) -> None:
    elements, token, pages = [], None, 0
    while True:
        query = "?q=search&pageSize=2" + (f"&pageToken={token}" if token else "")
        body = linkedin_get(server, f"/rest/adAccounts/{LINKEDIN_ID}/adCampaigns{query}").json()
        elements += body["elements"]
        pages += 1
        token = body["metadata"].get("nextPageToken")
        if not token:
            break
    assert pages == 2
    assert [(e["id"], e["status"]) for e in elements] == [
        (610001, "ACTIVE"),
        (610002, "ACTIVE"),
        (610003, "PAUSED"),
    ]
    assert elements[0]["account"] == f"urn:li:sponsoredAccount:{LINKEDIN_ID}"
    assert elements[0]["dailyBudget"]["currencyCode"] == "GBP"
    assert isinstance(elements[0]["runSchedule"]["start"], int)
    active = linkedin_get(
        server,
        f"/rest/adAccounts/{LINKEDIN_ID}/adCampaigns?q=search"
        "&search=(status:(values:List(PAUSED)))",
    ).json()
    assert [e["id"] for e in active["elements"]] == [610003]
    account = linkedin_get(server, f"/rest/adAccounts/{LINKEDIN_ID}").json()
    assert (account["id"], account["currency"], account["name"]) == (
        int(LINKEDIN_ID),
        "GBP",
        "Northstar B2B",
    )


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"LinkedIn-Version": LINKEDIN_VERSION}, 401, "EMPTY_ACCESS_TOKEN"),
        ({**LINKEDIN_HEADERS, "Authorization": "Bearer expired"}, 401, "INVALID_ACCESS_TOKEN"),
        ({"Authorization": LINKEDIN_HEADERS["Authorization"]}, 400, "VERSION_MISSING"),
        ({**LINKEDIN_HEADERS, "LinkedIn-Version": "2025-01"}, 426, "NONEXISTENT_VERSION"),
        ({**LINKEDIN_HEADERS, "LinkedIn-Version": "201901"}, 426, "NONEXISTENT_VERSION"),
    ],
)
def test_linkedin_header_errors(
    server: SandboxServer, headers: dict[str, str], status: int, code: str
) -> None:
    response = linkedin_get(server, f"/rest/adAccounts/{LINKEDIN_ID}", headers=headers)
    assert response.status_code == status
    assert response.json()["status"] == status and response.json()["code"] == code
    if code == "INVALID_ACCESS_TOKEN":
        assert response.json() == {
            "status": 401,
            "serviceErrorCode": 65600,
            "code": "INVALID_ACCESS_TOKEN",
            "message": "Invalid access token",
        }


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (analytics_url(START, AS_OF).replace("day:1)", "day:32)"), 400),
        (analytics_url(START, AS_OF).replace("&accounts=", "&nothing="), 400),
        (analytics_url(START, AS_OF).replace("fields=impressions", "fields=reach"), 400),
        (analytics_url(AS_OF, START), 400),
        (analytics_url(START, AS_OF).replace(LINKEDIN_ID, "1"), 403),
        ("/rest/adAccounts/999", 404),
        ("/rest/adTargeting", 404),
    ],
)
def test_linkedin_request_errors(server: SandboxServer, path: str, status: int) -> None:
    response = linkedin_get(server, path)
    assert response.status_code == status
    assert response.json()["status"] == status and response.json()["message"]


def test_parse_restli() -> None:
    parse = linkedin_ads_api.parse_restli
    assert parse("List(urn%3Ali%3AsponsoredAccount%3A1,urn:li:sponsoredAccount:2)") == [
        "urn:li:sponsoredAccount:1",
        "urn:li:sponsoredAccount:2",
    ]
    assert parse("(start:(year:2025,month:1,day:1))") == {
        "start": {"year": "2025", "month": "1", "day": "1"}
    }
    assert parse("List()") == [] and parse("(status:(values:List(ACTIVE)))") == {
        "status": {"values": ["ACTIVE"]}
    }
    for bad in ("List(a", "(a:1", "(a)", "List(a)b"):
        with pytest.raises(ValueError):
            parse(bad)
