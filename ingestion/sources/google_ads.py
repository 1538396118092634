"""Google Ads: campaigns and daily campaign stats through the REST ``googleAds:searchStream``.

One GAQL query per resource; searchStream answers with a single JSON array of batches (up to
10,000 rows each), each yielded as one page. Money stays in integer micros of the customer's
currency (``cost_micros``), as Google reports it.

Tables in ``raw_google_ads``:
- ``campaigns``: id, name, status, account_id, currency (+ any other selected campaign field)
- ``campaign_stats_daily``: date, account_id, campaign_id, currency, impressions, clicks,
  spend_micros (= cost_micros), spend (exact decimal text), conversions (platform-reported)
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import dlt
from dlt.sources.helpers.requests import Response
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth

from ingestion.errors import error_hook, retries_exhausted
from ingestion.sources.ad_tables import (
    CAMPAIGN_COLUMNS,
    STATS_COLUMNS,
    STATS_KEY,
    date_cursor,
    window,
)

SOURCE = "google_ads"
DEFAULT_API_BASE = "https://googleads.googleapis.com"
DEFAULT_API_VERSION = "v17"

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
    access_token: str = dlt.secrets.value,
    start_date: str | None = None,
    lookback_days: int = 7,
    end_date: str | None = None,
    api_version: str = DEFAULT_API_VERSION,
) -> Any:
    """Campaigns and daily stats of one Google Ads customer (``customer_id``, digits or 123-456-7890)."""
    customer = str(customer_id).replace("-", "")
    client = RESTClient(
        base_url=api_base,
        headers={"developer-token": developer_token},
        auth=BearerTokenAuth(access_token),
    )
    path = f"/{api_version}/customers/{customer}/googleAds:searchStream"
    secrets = (developer_token, access_token)

    def search(query: str) -> Iterator[list[dict[str, Any]]]:
        with retries_exhausted(SOURCE):
            response = client.post(path, json={"query": query}, hooks={"response": [error_hook(SOURCE, _detail, secrets)]})
            for batch in response.json():
                yield batch.get("results", [])

    @dlt.resource(write_disposition="merge", primary_key="id", columns=CAMPAIGN_COLUMNS)
    def campaigns() -> Iterator[list[dict[str, Any]]]:
        for results in search(CAMPAIGN_QUERY):
            yield [_campaign_row(result) for result in results]

    cursor_on_date = date_cursor(start_date, lookback_days, end_date)

    @dlt.resource(write_disposition="merge", primary_key=STATS_KEY, columns=STATS_COLUMNS)
    def campaign_stats_daily(
        cursor: dlt.sources.incremental[str] = cursor_on_date,
    ) -> Iterator[list[dict[str, Any]]]:
        first, last = window(cursor, end_date)
        for results in search(STATS_QUERY.format(first=first.isoformat(), last=last.isoformat())):
            yield [_stats_row(result) for result in results]

    return campaigns, campaign_stats_daily


def _campaign_row(result: dict[str, Any]) -> dict[str, Any]:
    campaign = dict(result.get("campaign") or {})
    customer = dict(result.get("customer") or {})
    row = {
        "id": str(campaign.pop("id")),
        "name": campaign.pop("name", None),
        "status": campaign.pop("status", None),
        "account_id": str(customer.pop("id")),
        "currency": customer.pop("currencyCode", None),
    }
    return _keep_rest(row, {**result, "campaign": campaign, "customer": customer})


def _stats_row(result: dict[str, Any]) -> dict[str, Any]:
    segments = dict(result.get("segments") or {})
    customer = dict(result.get("customer") or {})
    campaign = dict(result.get("campaign") or {})
    metrics = dict(result.get("metrics") or {})
    # proto3 JSON leaves zero values out, so a metric may be missing: it is 0.
    cost_micros = int(metrics.pop("costMicros", 0))
    row = {
        "date": segments.pop("date"),
        "account_id": str(customer.pop("id")),
        "campaign_id": str(campaign.pop("id")),
        "currency": customer.pop("currencyCode", None),
        "impressions": int(metrics.pop("impressions", 0)),
        "clicks": int(metrics.pop("clicks", 0)),
        "spend_micros": cost_micros,
        "spend": f"{Decimal(cost_micros).scaleb(-6):f}",
        "conversions": float(metrics.pop("conversions", 0.0)),
    }
    rest = {**result, "segments": segments, "customer": customer, "campaign": campaign, "metrics": metrics}
    return _keep_rest(row, rest)


def _keep_rest(row: dict[str, Any], rest: dict[str, Any]) -> dict[str, Any]:
    """Fields not normalised above land as their own columns (e.g. ``campaign__resource_name``)."""
    for key, value in rest.items():
        if value not in ({}, None):
            row[key] = value
    return row


def _detail(response: Response) -> str:
    """Google's error body (a stream answers with a list of them): status and message."""
    error = response.json()
    error = (error[0] if isinstance(error, list) else error)["error"]
    return f"{error.get('status', '')} {error.get('message', '')}".strip()
