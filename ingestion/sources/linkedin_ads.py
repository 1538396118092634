"""LinkedIn Marketing API (versioned ``/rest/``): campaigns and daily campaign analytics.

``adAnalytics`` (``q=analytics``, ``pivot=CAMPAIGN``, ``timeGranularity=DAILY``) is paged with
``start``/``count``; campaigns (``adAccounts/{id}/adCampaigns?q=search``) with ``pageToken``.
Query values use Rest.li 2.0 syntax; every call carries ``LinkedIn-Version``. Cost comes as a
decimal string in the account currency: kept exactly as text (``spend``) and as integer micros
(``spend_micros``); the account currency is read from ``adAccounts/{id}``.

Authentication is OAuth 2.0 with a refresh token (``ingestion.common.oauth``; LinkedIn's
programmatic refresh tokens): the access token is fetched from ``token_url``, renewed before it
expires and once more on a 401. Settings (``SOURCES__LINKEDIN_ADS__...``): ``ACCOUNT_ID``,
``CLIENT_ID``, ``CLIENT_SECRET``, ``REFRESH_TOKEN``.

Tables in ``raw_linkedin_ads``:
- ``campaigns``: id, name, status, account_id, currency, type, run_schedule__start, ...
- ``campaign_stats_daily``: date, account_id, campaign_id, currency, impressions, clicks,
  spend (exact decimal text), spend_micros, conversions (externalWebsiteConversions)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from urllib.parse import quote

import dlt
from dlt.sources.helpers.requests import Response
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator, OffsetPaginator

from ingestion.common.ad_platform import (
    CAMPAIGN_COLUMNS,
    STATS_COLUMNS,
    STATS_KEY,
    date_cursor,
    window,
)
from ingestion.common.errors import (
    envelope_hook,
    error_hook,
    list_under,
    object_with,
    retries_exhausted,
)
from ingestion.common.http_client import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    Timeouts,
    http_session,
)
from ingestion.common.oauth import RefreshTokenAuth

SOURCE = "linkedin_ads"
DEFAULT_API_BASE = "https://api.linkedin.com"
#: 202607 (July 2026, the newest published on 2026-12-01); sunset 2027-07-15. Source:
#: LinkedIn Marketing API "Migrations" table (learn.microsoft.com/linkedin/marketing/
#: integrations/migrations; each monthly version is supported for one year, per
#: "LinkedIn Marketing API Versioning"). The old default 202505 was sunset 2026-05-15.
#: adAnalytics and adCampaigns fields we read are unchanged from 202505 to 202607.
DEFAULT_API_VERSION = "202607"
DEFAULT_TOKEN_URL = "https://www.linkedin.com/oauth/v2/accessToken"
SETTINGS = "SOURCES__LINKEDIN_ADS__"
ACCOUNT_URN = "urn:li:sponsoredAccount:"
CAMPAIGN_URN = "urn:li:sponsoredCampaign:"
#: Elements per adAnalytics page (``count``) and per adCampaigns page (``pageSize``).
ANALYTICS_PAGE_SIZE = 100
CAMPAIGN_PAGE_SIZE = 100

ANALYTICS_FIELDS = "dateRange,pivotValues,impressions,clicks,costInLocalCurrency,externalWebsiteConversions"



@dlt.source(name="linkedin_ads")
def linkedin_ads_source(
    api_base: str = DEFAULT_API_BASE,
    account_id: str = dlt.config.value,
    client_id: str = dlt.config.value,
    client_secret: str = dlt.secrets.value,
    refresh_token: str = dlt.secrets.value,
    token_url: str = DEFAULT_TOKEN_URL,
    start_date: str | None = None,
    lookback_days: int = 7,
    end_date: str | None = None,
    api_version: str = DEFAULT_API_VERSION,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
) -> Any:
    """Campaigns and daily campaign analytics of the ad account ``account_id`` (id or URN)."""
    account = str(account_id).removeprefix(ACCOUNT_URN)
    session = http_session(Timeouts(connect_timeout, read_timeout))
    auth = RefreshTokenAuth(
        access_token_url=token_url, client_id=client_id, client_secret=client_secret,
        refresh_token=refresh_token, source=SOURCE, settings=SETTINGS, session=session,
    )
    client = RESTClient(
        base_url=f"{api_base.rstrip('/')}/rest",
        headers={"LinkedIn-Version": api_version, "X-Restli-Protocol-Version": "2.0.0"},
        auth=auth,
        session=session,
    )
    refused = error_hook(SOURCE, _detail, [client_secret, refresh_token])
    # Rest.li collections are {"elements": [...], "paging"/"metadata": ...}; the account is
    # one entity with its currency.
    list_hooks = {"response": [refused, envelope_hook(SOURCE, list_under("elements"))]}
    account_hooks = {"response": [refused, envelope_hook(SOURCE, object_with("currency"))]}
    currency_of: dict[str, str] = {}

    def currency() -> str:
        if not currency_of:
            with retries_exhausted(SOURCE):
                account_node = client.get(f"/adAccounts/{account}", hooks=account_hooks).json()
            currency_of["value"] = account_node["currency"]
        return currency_of["value"]

    @dlt.resource(write_disposition="merge", primary_key="id", columns=CAMPAIGN_COLUMNS)
    def campaigns() -> Iterator[list[dict[str, Any]]]:
        account_currency = currency()
        with retries_exhausted(SOURCE):
            for page in client.paginate(
                f"/adAccounts/{account}/adCampaigns",
                params={"q": "search", "pageSize": CAMPAIGN_PAGE_SIZE},
                paginator=JSONResponseCursorPaginator(
                    cursor_path="metadata.nextPageToken", cursor_param="pageToken"
                ),
                data_selector="elements",
                hooks=list_hooks,
            ):
                yield [_campaign_row(item, account, account_currency) for item in page]

    cursor_on_date = date_cursor(start_date, lookback_days, end_date)

    @dlt.resource(write_disposition="merge", primary_key=STATS_KEY, columns=STATS_COLUMNS)
    def campaign_stats_daily(
        cursor: dlt.sources.incremental[str] = cursor_on_date,
    ) -> Iterator[list[dict[str, Any]]]:
        first, last = window(cursor, end_date)
        account_currency = currency()
        # Rest.li values go in the URL as they are: parentheses, colons and commas must stay
        # unencoded; only the URNs inside List(...) are percent-encoded.
        query = (
            f"q=analytics&pivot=CAMPAIGN&timeGranularity=DAILY"
            f"&dateRange=(start:{_restli_date(first)},end:{_restli_date(last)})"
            f"&accounts=List({quote(ACCOUNT_URN + account, safe='')})&fields={ANALYTICS_FIELDS}"
        )
        with retries_exhausted(SOURCE):
            for page in client.paginate(
                f"/adAnalytics?{query}",
                paginator=OffsetPaginator(
                    limit=ANALYTICS_PAGE_SIZE, offset_param="start", limit_param="count",
                    total_path="paging.total",
                ),
                data_selector="elements",
                hooks=list_hooks,
            ):
                yield [_stats_row(item, account, account_currency) for item in page]

    return campaigns, campaign_stats_daily


def _restli_date(day: date) -> str:
    return f"(year:{day.year},month:{day.month},day:{day.day})"


def _campaign_row(item: dict[str, Any], account: str, currency: str) -> dict[str, Any]:
    rest = dict(item)
    row = {
        "id": str(rest.pop("id")),
        "name": rest.pop("name", None),
        "status": rest.pop("status", None),
        "account_id": str(rest.pop("account", account)).removeprefix(ACCOUNT_URN),
        "currency": currency,
    }
    return {**row, **rest}  # anything else LinkedIn sends lands as its own column


def _stats_row(item: dict[str, Any], account: str, currency: str) -> dict[str, Any]:
    rest = dict(item)
    start = rest.pop("dateRange")["start"]
    pivot = rest.pop("pivotValues")
    spend = str(rest.pop("costInLocalCurrency", "0"))
    row = {
        "date": date(int(start["year"]), int(start["month"]), int(start["day"])).isoformat(),
        "account_id": account,
        "campaign_id": str(pivot[0]).removeprefix(CAMPAIGN_URN),
        "currency": currency,
        "impressions": int(rest.pop("impressions", 0)),
        "clicks": int(rest.pop("clicks", 0)),
        "spend": spend,
        "spend_micros": _micros(spend),
        "conversions": float(rest.pop("externalWebsiteConversions", 0)),
    }
    return {**row, **rest}


def _micros(amount: str) -> int:
    """A decimal string as integer micros (LinkedIn may send more digits: rounded half-even)."""
    return int((Decimal(amount) * 1_000_000).to_integral_value(rounding=ROUND_HALF_EVEN))


def _detail(response: Response) -> str:
    """LinkedIn's error body: code and message."""
    body = response.json()
    return f"{body.get('code', '')} {body.get('message', '')}".strip()
