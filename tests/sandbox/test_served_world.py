"""The simulated world served over HTTP: official clients read exactly what the truth expects."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time

import fsspec
import pytest
import requests
import stripe

from sandbox import google_ads_api, linkedin_ads_api, meta_ads_api, stripe_api
from sandbox.server import start_server


@pytest.fixture(scope="module")
def served(small_sim):
    server = start_server(small_sim.world, port=0)
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def expected(small_truth):
    return json.loads((small_truth / "expected_counts.json").read_text())


def test_stripe_sdk_lists_every_object_the_truth_expects(served, expected):
    client = stripe.StripeClient(stripe_api.SANDBOX_API_KEY, base_addresses={"api": served.base_url})
    listed = {}
    for name in expected["stripe"]:
        params = {"limit": 100, **({"status": "all"} if name == "subscriptions" else {})}
        ids = [obj.id for obj in getattr(client.v1, name).list(params=params).auto_paging_iter()]
        assert len(ids) == len(set(ids)), name
        listed[name] = len(ids)
    assert listed == expected["stripe"]
    assert listed["customers"] > 100 and listed["events"] > 0


def test_stripe_wrong_key_is_a_401_without_the_key(served):
    client = stripe.StripeClient("sk_test_wrong_key_1234", base_addresses={"api": served.base_url})
    with pytest.raises(stripe.AuthenticationError) as caught:
        client.v1.customers.list()
    assert caught.value.http_status == 401
    assert "sk_test_wrong_key_1234" not in str(caught.value)


def test_ga4_export_over_http_holds_every_event(served, expected):
    fs = fsspec.filesystem("http")
    files = fs.glob(f"{served.base_url}/ga4/events_*.json.gz")
    assert len(files) == expected["ga4"]["files"]
    total = sum(len(gzip.decompress(fs.cat(url)).splitlines()) for url in files)
    assert total == expected["ga4"]["events"]


def test_each_ad_platform_serves_its_daily_rows(served, expected, small_sim):
    base = served.base_url
    google = requests.post(
        f"{base}/v{google_ads_api.NEWEST_VERSION}/customers/4815162342/googleAds:searchStream",
        json={"query": "SELECT campaign.id, segments.date, metrics.clicks, metrics.cost_micros FROM campaign "
                       "WHERE segments.date BETWEEN '2025-01-01' AND '2025-12-31'"},
        headers={"developer-token": google_ads_api.SANDBOX_DEVELOPER_TOKEN,
                 "Authorization": f"Bearer {google_ads_api.SANDBOX_ACCESS_TOKEN}"}, timeout=30)
    rows = [r for batch in google.json() for r in batch.get("results", [])]
    assert len(rows) == expected["ads"]["google_ads"]["daily_rows"]
    google_clicks = sum(r.clicks for r in small_sim.world.ad_stats if r.platform == "google_ads")
    assert sum(int(r["metrics"]["clicks"]) for r in rows) == google_clicks

    meta_rows, url = [], f"{base}/v{meta_ads_api.NEWEST_VERSION[0]}.0/act_1029384756/insights"
    params = {"level": "campaign", "time_increment": 1, "limit": 200, "fields": "campaign_id,clicks,spend",
              "time_range": json.dumps({"since": "2025-01-01", "until": "2025-12-31"}),
              "access_token": meta_ads_api.SANDBOX_ACCESS_TOKEN}
    while url:
        page = requests.get(url, params=params, timeout=30).json()
        meta_rows.extend(page["data"])
        url, params = page.get("paging", {}).get("next"), None
    assert len(meta_rows) == expected["ads"]["meta_ads"]["daily_rows"]

    linkedin = requests.get(
        f"{base}/rest/adAnalytics?q=analytics&pivot=CAMPAIGN&timeGranularity=DAILY"
        "&dateRange=(start:(year:2025,month:1,day:1),end:(year:2025,month:12,day:31))"
        "&accounts=List(urn%3Ali%3AsponsoredAccount%3A508123456)&fields=impressions,clicks,costInLocalCurrency,dateRange,pivotValues",
        headers={"LinkedIn-Version": linkedin_ads_api.NEWEST_VERSION,
                 "Authorization": f"Bearer {linkedin_ads_api.SANDBOX_ACCESS_TOKEN}"},
        timeout=30)
    assert len(linkedin.json()["elements"]) == expected["ads"]["linkedin_ads"]["daily_rows"]


def test_cli_serve_starts_and_bad_input_is_one_line(tmp_path):
    bad = subprocess.run([sys.executable, "-m", "orchestration.cli", "sandbox", "generate", "--start", "2025-03-01",
                          "--as-of", "2025-02-01", "--dir", str(tmp_path)], check=False, capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode == 2
    assert bad.stderr.strip() == "northstar: error: --as-of 2025-02-01 must be after --start 2025-03-01"
    assert "Traceback" not in bad.stderr

    proc = subprocess.Popen([sys.executable, "-m", "orchestration.cli", "sandbox", "serve", "--port", "0",
                             "--start", "2025-05-01", "--as-of", "2025-05-08", "--scale", "small",
                             "--dir", str(tmp_path)],
                            stdout=subprocess.PIPE, text=True)
    try:
        base = None
        deadline = time.monotonic() + 60
        while base is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if line.startswith("serving on "):
                base = line.split()[2]
        assert base is not None
        health = requests.get(f"{base}/_sandbox/health", timeout=10).json()
        assert health == {"status": "ok", "as_of": "2025-05-08"}
        customers = requests.get(f"{base}/v1/customers", auth=(stripe_api.SANDBOX_API_KEY, ""), timeout=10)
        assert customers.status_code == 200 and customers.json()["object"] == "list"
        assert requests.get(f"{base}/_sandbox/requests", timeout=10).json() == {"stripe": 1}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
            raise AssertionError("northstar sandbox serve ignored SIGTERM") from None
