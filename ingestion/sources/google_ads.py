"""Google Ads: campaigns and daily campaign stats through the REST ``googleAds:searchStream``.

One GAQL query per resource; searchStream answers with a single JSON array of batches (up to
10,000 rows each), each yielded as one page. Money stays in integer micros of the customer's
currency (``cost_micros``), as Google reports it.

Authentication is OAuth 2.0 with a refresh token (``ingestion.common.oauth``): the access token is
fetched from ``token_url``, renewed before it expires and once more on a 401, so a nightly
never depends on a token that lives an hour. Settings (``SOURCES__GOOGLE_ADS__...``):
``CUSTOMER_ID``, ``CLIENT_ID``, ``CLIENT_SECRET``, ``REFRESH_TOKEN``, ``DEVELOPER_TOKEN``, and
``LOGIN_CUSTOMER_ID`` when a manager account's credentials read a client account (sent as the
``login-customer-id`` header).

Tables in ``raw_google_ads``:
- ``campaigns``: id, name, status, account_id, currency (+ any other selected campaign field)
- ``campaign_stats_daily``: date, account_id, campaign_id, currency, impressions, clicks,
  spend_micros (= cost_micros), spend (exact decimal text), conversions (platform-reported)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import dlt
from dlt.sources.helpers.requests import Response
from dlt.sources.helpers.rest_client import RESTClient

from ingestion.common import ad_platform as ads
from ingestion.common.http_client import DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, Timeouts

SOURCE = "google_ads"
DEFAULT_API_BASE = "https://googleads.googleapis.com"
#: v26 (released 2026-10-14, the newest on 2026-12-01). Sunset: not announced yet; Google's
#: "Deprecation and sunset" page gives major versions about 12 months, so ~October 2027.
#: Sources: Google Ads API release notes ("Release summary": v26 2026-10-14) and the Google
#: Ads Developer Blog ("Google Ads API v22 sunset reminder": v22 sunset 2026-10-07; v17, the
#: old default, sunset 2025-06-04). Our GAQL fields are unchanged from v17 to v26.
DEFAULT_API_VERSION = "v26"
DEFAULT_TOKEN_URL = "https://oauth2.googleapis.com/token"

CAMPAIGN_QUERY = (
    "SELECT campaign.id, campaign.name, campaign.status, customer.id, customer.currency_code "
    "FROM campaign ORDER BY campaign.id"
)
STATS_QUERY = (
    "SELECT segments.date, customer.id, customer.currency_code, campaign.id, "
    "metrics.impressions, metrics.clicks, metrics.cost_micros, metrics.conversions "
    "FROM campaign WHERE segments.date BETWEEN '{first}' AND '{last}' "
    "ORDER BY segments.date, campaign.id"
)


@dlt.source(name="google_ads")
def google_ads_source(
    api_base: str = DEFAULT_API_BASE,
    customer_id: str = dlt.config.value,
    developer_token: str = dlt.secrets.value,
    client_id: str = dlt.config.value,
    client_secret: str = dlt.secrets.value,
    refresh_token: str = dlt.secrets.value,
    login_customer_id: str | None = None,
    token_url: str = DEFAULT_TOKEN_URL,
    start_date: str | None = None,
    lookback_days: int = 7,
    end_date: str | None = None,
    api_version: str = DEFAULT_API_VERSION,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
) -> Any:
    """Campaigns and daily stats of one Google Ads customer (``customer_id``, digits or 123-456-7890)."""
    session = ads.session(Timeouts(connect_timeout, read_timeout))
    auth = ads.refresh_token_auth(SOURCE, session, token_url, client_id, client_secret, refresh_token)
    headers = {"developer-token": developer_token}
    if login_customer_id:
        headers["login-customer-id"] = str(login_customer_id).replace("-", "")
    client = RESTClient(base_url=api_base, headers=headers, auth=auth, session=session)
    customer = str(customer_id).replace("-", "")
    secrets = (developer_token, client_secret, refresh_token)
    api = ads.AdAPI(GOOGLE_ADS, client, customer, secrets, api_version=api_version)
    return ads.resources(api, start_date, lookback_days, end_date)


def _search(api: ads.AdAPI, query: str) -> Iterator[ads.Page]:
    """searchStream's batches of results, one page each."""
    path = f"/{api.options['api_version']}/customers/{api.account}/googleAds:searchStream"
    for batch in api.post(path, {"query": query}, _stream):
        yield batch.get("results", [])


def _campaigns(api: ads.AdAPI) -> Iterator[ads.Page]:
    for results in _search(api, CAMPAIGN_QUERY):
        yield [_campaign_row(result) for result in results]


def _stats(api: ads.AdAPI, first: date, last: date) -> Iterator[ads.Page]:
    for results in _search(api, STATS_QUERY.format(first=first.isoformat(), last=last.isoformat())):
        yield [_stats_row(result) for result in results]


def _campaign_row(result: dict[str, Any]) -> dict[str, Any]:
    campaign = dict(result.get("campaign") or {})
    customer = dict(result.get("customer") or {})
    account_id = str(customer.pop("id"))
    row = ads.campaign_row(campaign, account_id, customer.pop("currencyCode", None))
    return _keep_rest(row, {**result, "campaign": campaign, "customer": customer})


#: cost comes in micros of the customer's currency; proto3 JSON leaves zero metrics out
METRICS = ads.Metrics(spend="costMicros", spend_in_micros=True, conversions="conversions")


def _stats_row(result: dict[str, Any]) -> dict[str, Any]:
    segments, customer, campaign, metrics = (
        dict(result.get(key) or {}) for key in ("segments", "customer", "campaign", "metrics")
    )
    row = ads.stats_row(
        METRICS, metrics, date=segments.pop("date"), account_id=str(customer.pop("id")),
        campaign_id=str(campaign.pop("id")), currency=customer.pop("currencyCode", None),
    )
    rest = {**result, "segments": segments, "customer": customer, "campaign": campaign,
            "metrics": metrics}
    return _keep_rest(row, rest)


def _keep_rest(row: dict[str, Any], rest: dict[str, Any]) -> dict[str, Any]:
    """Fields not normalised above land as their own columns (e.g. ``campaign__resource_name``)."""
    for key, value in rest.items():
        if value not in ({}, None):
            row[key] = value
    return row


def _stream(body: Any) -> str | None:
    """What is wrong with a searchStream answer: a JSON array of at least one batch, each with
    its ``fieldMask`` (an empty result is one batch without ``results``: proto3 leaves it out)."""
    if not isinstance(body, list):
        return "not a list of result batches"
    if not body:
        return "no result batch (even an empty result has one)"
    for batch in body:
        if not isinstance(batch, dict) or not ("results" in batch or "fieldMask" in batch):
            return 'a batch without "results" or "fieldMask"'
        if not isinstance(batch.get("results", []), list):
            return '"results" is not a list'
    return None


def _detail(response: Response) -> str:
    """Google's error body (a stream answers with a list of them): status and message."""
    error = response.json()
    error = (error[0] if isinstance(error, list) else error)["error"]
    return f"{error.get('status', '')} {error.get('message', '')}".strip()


GOOGLE_ADS = ads.AdPlatform(
    source=SOURCE, describe=_detail, read_campaigns=_campaigns, read_stats=_stats,
)
