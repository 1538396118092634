"""Fault injection: deterministic per seed, bounded per request, invisible to a retrying client."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from sandbox import meta_ads_api
from sandbox.faults import FaultPlan
from sandbox.http import Request
from sandbox.server import SandboxServer, start_server

from .test_ads_apis import (
    AS_OF,
    DAILY_GAQL,
    GOOGLE_HEADERS,
    GOOGLE_ID,
    GOOGLE_VERSION,
    LINKEDIN_HEADERS,
    META_FIELDS,
    META_ID,
    META_VERSION,
    START,
    analytics_url,
    build_world,
)
from .test_ga4_serving import write_ga4_export

RETRYABLE = {429, 500, 502, 503}


def statuses(plan: FaultPlan, requests_: list[Request]) -> list[int]:
    """What the plan answers each request with (200 for "no fault")."""
    return [(fault.status if (fault := plan.decide(r)) else 200) for r in requests_]


def distinct_requests(n: int) -> list[Request]:
    return [Request("GET", "/v1/customers", {"starting_after": [f"cus_{i}"]}) for i in range(n)]


# --- the plan on its own ----------------------------------------------------------------------


def test_defaults_inject_nothing() -> None:
    plan = FaultPlan(seed=1)
    assert set(statuses(plan, distinct_requests(500))) == {200}
    assert plan.injected_errors == plan.injected_rate_limits == 0


def test_same_seed_same_faults_different_seed_different_faults() -> None:
    sequence = distinct_requests(200) * 3  # repeated keys exercise the attempt counter too
    first = statuses(FaultPlan(seed=7, error_rate=0.3, rate_limit_rate=0.1), sequence)
    again = statuses(FaultPlan(seed=7, error_rate=0.3, rate_limit_rate=0.1), sequence)
    other = statuses(FaultPlan(seed=8, error_rate=0.3, rate_limit_rate=0.1), sequence)
    assert first == again
    assert first != other
    assert {500, 502, 503, 429, 200} == set(first)


def test_rates_are_roughly_honoured_and_counted() -> None:
    plan = FaultPlan(seed=3, error_rate=0.3, rate_limit_rate=0.1)
    got = statuses(plan, distinct_requests(3000))
    errors = sum(s >= 500 for s in got)
    limits = got.count(429)
    assert 0.25 < errors / 3000 < 0.35 and 0.07 < limits / 3000 < 0.13
    assert (plan.injected_errors, plan.injected_rate_limits) == (errors, limits)
    assert plan.injected == errors + limits


def test_never_more_than_max_consecutive_failures() -> None:
    request = Request("POST", "/v19/customers/1/googleAds:searchStream", body=b'{"query": "x"}')
    always = statuses(FaultPlan(seed=1, error_rate=1.0, max_consecutive=2), [request] * 6)
    assert [s == 200 for s in always] == [False, False, True, False, False, True]
    assert set(statuses(FaultPlan(seed=1, error_rate=1.0, max_consecutive=0), [request] * 4)) == {
        200
    }
    plan = FaultPlan(seed=9, error_rate=0.5, rate_limit_rate=0.3, max_consecutive=3)
    for r in distinct_requests(300):  # a client retrying each request until it succeeds
        attempts = 1
        while plan.decide(r) is not None:
            attempts += 1
        assert attempts <= 4


def test_a_key_is_independent_of_other_traffic() -> None:
    key = Request("GET", "/v19.0/act_1/insights", {"after": ["MjQ"], "limit": ["25"]})
    alone = statuses(FaultPlan(seed=4, error_rate=0.4), [key] * 20)
    plan = FaultPlan(seed=4, error_rate=0.4)
    noise = distinct_requests(20)
    mixed = [statuses(plan, [noise[i], key])[1] for i in range(20)]
    assert mixed == alone
    # the key includes the sorted query and the body
    reordered = Request("GET", "/v19.0/act_1/insights", {"limit": ["25"], "after": ["MjQ"]})
    assert statuses(FaultPlan(seed=4, error_rate=0.4), [reordered] * 20) == alone


def test_sandbox_admin_paths_are_never_faulted() -> None:
    plan = FaultPlan(seed=1, error_rate=1.0, max_consecutive=100)
    assert set(statuses(plan, [Request("GET", "/_sandbox/requests")] * 10)) == {200}


def test_invalid_rates_are_refused() -> None:
    with pytest.raises(ValueError):
        FaultPlan(seed=1, error_rate=0.8, rate_limit_rate=0.3)
    with pytest.raises(ValueError):
        FaultPlan(seed=1, error_rate=-0.1)


@pytest.mark.parametrize(
    ("path", "check"),
    [
        (
            "/v19/customers/1/googleAds:search",
            lambda b, s: b["error"]["code"] == s and b["error"]["status"],
        ),
        (
            "/v19.0/act_1/insights",
            lambda b, s: b["error"]["type"] == "OAuthException" and b["error"]["code"],
        ),
        ("/rest/adAnalytics", lambda b, s: b["status"] == s and b["code"]),
        ("/v1/charges", lambda b, s: b["error"]["type"] in ("api_error", "invalid_request_error")),
        ("/ga4/events_20250101.json.gz", lambda b, s: b["error"]["code"] == s),
    ],
)
def test_faults_speak_each_apis_error_shape(
    path: str, check: Callable[[dict, int], object]
) -> None:
    for rate_limited in (False, True):
        plan = FaultPlan(
            seed=2,
            error_rate=0.0 if rate_limited else 1.0,
            rate_limit_rate=1.0 if rate_limited else 0.0,
            retry_after_seconds=4,
        )
        fault = plan.decide(Request("GET", path))
        assert fault is not None
        assert check(json.loads(fault.body), fault.status)
        if rate_limited:
            assert fault.status == 429 and fault.headers["Retry-After"] == "4"
        else:
            assert fault.status in (500, 502, 503) and "Retry-After" not in fault.headers


# --- over HTTP: a retrying client sees no difference ------------------------------------------


@pytest.fixture(scope="module")
def ga4_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ga4_faults")
    write_ga4_export(folder, rows_per_day=50)
    return folder


def serve(ga4_dir: Path, faults: FaultPlan | None) -> SandboxServer:
    return start_server(build_world(ga4_dir), port=0, faults=faults)


@pytest.fixture
def servers() -> Iterator[list[SandboxServer]]:
    """Servers a test starts, shut down after it."""
    started: list[SandboxServer] = []
    yield started
    for server in started:
        server.shutdown()
        server.server_close()


class RetryingClient:
    """Retries 429/5xx, sleeping what Retry-After asks; logs every status it sees."""

    def __init__(self) -> None:
        self.log: list[tuple[str, int]] = []

    def request(self, method: str, url: str, **kwargs: object) -> requests.Response:
        for _ in range(10):
            response = requests.request(method, url, timeout=10, **kwargs)  # type: ignore[arg-type]
            self.log.append((url.split("?")[0], response.status_code))
            if response.status_code not in RETRYABLE:
                return response
            time.sleep(float(response.headers.get("Retry-After", "0")))
        raise AssertionError(f"{url} still failing after 10 attempts")


def harvest(base: str, client: RetryingClient) -> dict[str, object]:
    """Everything an ingestion run would pull from every ads API and the GA4 folder."""
    out: dict[str, object] = {}
    gads = f"{base}/{GOOGLE_VERSION}/customers/{GOOGLE_ID}/googleAds"
    out["google_stream"] = client.request(
        "POST", f"{gads}:searchStream", json={"query": DAILY_GAQL}, headers=GOOGLE_HEADERS
    ).json()
    pages, token = [], None
    while True:
        body = {"query": DAILY_GAQL, "pageSize": 60, **({"pageToken": token} if token else {})}
        pages.append(
            client.request("POST", f"{gads}:search", json=body, headers=GOOGLE_HEADERS).json()
        )
        token = pages[-1].get("nextPageToken")
        if not token:
            break
    out["google_search"] = [row for page in pages for row in page["results"]]

    time_range = json.dumps({"since": str(START), "until": str(AS_OF - timedelta(days=1))})
    params = {
        "level": "campaign",
        "time_increment": 1,
        "time_range": time_range,
        "fields": META_FIELDS,
        "limit": 50,
        "access_token": meta_ads_api.SANDBOX_ACCESS_TOKEN,
    }
    meta_rows, response = (
        [],
        client.request("GET", f"{base}/{META_VERSION}/act_{META_ID}/insights", params=params),
    )
    while True:
        meta_rows += response.json()["data"]
        next_url = response.json()["paging"].get("next")
        if not next_url:
            break
        response = client.request("GET", next_url)
    out["meta"] = meta_rows

    linkedin, path = [], analytics_url(START, AS_OF, extra="&start=0&count=60")
    while path:
        body = client.request("GET", f"{base}{path}", headers=LINKEDIN_HEADERS).json()
        linkedin += body["elements"]
        path = next(
            (link["href"] for link in body["paging"]["links"] if link["rel"] == "next"), None
        )
    out["linkedin"] = linkedin

    out["ga4_index"] = client.request("GET", f"{base}/ga4/").text
    out["ga4_file"] = client.request("GET", f"{base}/ga4/events_20250102.json.gz").content
    return out


def test_retrying_client_gets_identical_data_under_faults(
    ga4_dir: Path, servers: list[SandboxServer]
) -> None:
    clean = serve(ga4_dir, None)
    plan = FaultPlan(seed=5, error_rate=0.3, rate_limit_rate=0.1, retry_after_seconds=0)
    faulty = serve(ga4_dir, plan)
    servers += [clean, faulty]
    clean_client, faulty_client = RetryingClient(), RetryingClient()
    expected = harvest(clean.base_url, clean_client)
    got = harvest(faulty.base_url, faulty_client)
    assert got == expected
    assert {status for _, status in clean_client.log} == {200}
    assert plan.injected_errors > 0 and plan.injected_rate_limits > 0
    seen_errors = sum(status >= 500 for _, status in faulty_client.log)
    assert (seen_errors, [s for _, s in faulty_client.log].count(429)) == (
        plan.injected_errors,
        plan.injected_rate_limits,
    )
    assert len(faulty_client.log) == len(clean_client.log) + plan.injected


def test_fault_sequence_over_http_depends_only_on_the_seed(
    ga4_dir: Path, servers: list[SandboxServer]
) -> None:
    logs = []
    for seed in (21, 21, 22):
        server = serve(
            ga4_dir,
            FaultPlan(seed=seed, error_rate=0.3, rate_limit_rate=0.1, retry_after_seconds=0),
        )
        servers.append(server)
        client = RetryingClient()
        harvest(server.base_url, client)
        logs.append(
            [(url.split("/", 3)[-1], status) for url, status in client.log]
        )  # drop the port
    assert logs[0] == logs[1]
    assert logs[0] != logs[2]


def test_rate_limit_over_http_carries_retry_after(
    ga4_dir: Path, servers: list[SandboxServer]
) -> None:
    plan = FaultPlan(seed=1, rate_limit_rate=1.0, retry_after_seconds=1, max_consecutive=1)
    server = serve(ga4_dir, plan)
    servers.append(server)
    url = f"{server.base_url}/rest/adAccounts/507000123"
    first = requests.get(url, headers=LINKEDIN_HEADERS, timeout=10)
    assert first.status_code == 429 and first.headers["Retry-After"] == "1"
    assert first.json() == {
        "status": 429,
        "code": "TOO_MANY_REQUESTS",
        "message": "Resource level throttle limit reached",
    }
    second = requests.get(url, headers=LINKEDIN_HEADERS, timeout=10)  # max_consecutive=1: through
    assert second.status_code == 200 and second.json()["currency"] == "GBP"
    assert requests.get(f"{server.base_url}/_sandbox/health", timeout=10).status_code == 200
