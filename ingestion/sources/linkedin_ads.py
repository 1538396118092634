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
from typing import Any
from urllib.parse import quote

import dlt
from dlt.sources.helpers.requests import Response
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator, OffsetPaginator

from ingestion.common import ad_platform as ads
from ingestion.common.http_client import DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, Timeouts

SOURCE = "linkedin_ads"
DEFAULT_API_BASE = "https://api.linkedin.com"
#: 202607 (July 2026, the newest published on 2026-12-01); sunset 2027-07-15. Source:
#: LinkedIn Marketing API "Migrations" table (learn.microsoft.com/linkedin/marketing/
#: integrations/migrations; each monthly version is supported for one year, per
#: "LinkedIn Marketing API Versioning"). The old default 202505 was sunset 2026-05-15.
#: adAnalytics and adCampaigns fields we read are unchanged from 202505 to 202607.
DEFAULT_API_VERSION = "202607"
DEFAULT_TOKEN_URL = "https://www.linkedin.com/oauth/v2/accessToken"
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
    session = ads.session(Timeouts(connect_timeout, read_timeout))
    auth = ads.refresh_token_auth(SOURCE, session, token_url, client_id, client_secret, refresh_token)
    client = RESTClient(
        base_url=f"{api_base.rstrip('/')}/rest",
        headers={"LinkedIn-Version": api_version, "X-Restli-Protocol-Version": "2.0.0"},
        auth=auth,
        session=session,
    )
    account = str(account_id).removeprefix(ACCOUNT_URN)
    api = ads.AdAPI(LINKEDIN_ADS, client, account, (client_secret, refresh_token))
    return ads.resources(api, start_date, lookback_days, end_date)


def _currency(api: ads.AdAPI) -> str:
    """The ad account is one entity with its currency."""
    return api.currency(f"/adAccounts/{api.account}")


def _campaigns(api: ads.AdAPI) -> Iterator[ads.Page]:
    """The adCampaigns search finder, paged with ``pageToken``."""
    currency = _currency(api)
    paginator = JSONResponseCursorPaginator(
        cursor_path="metadata.nextPageToken", cursor_param="pageToken"
    )
    path = f"/adAccounts/{api.account}/adCampaigns"
    for page in api.pages(path, paginator, {"q": "search", "pageSize": CAMPAIGN_PAGE_SIZE}):
        yield [_campaign_row(item, api.account, currency) for item in page]


def _stats(api: ads.AdAPI, first: date, last: date) -> Iterator[ads.Page]:
    """The adAnalytics finder (daily, by campaign), paged with ``start``/``count``."""
    currency = _currency(api)
    # Rest.li values go in the URL as they are: parentheses, colons and commas must stay
    # unencoded; only the URNs inside List(...) are percent-encoded.
    query = (
        f"q=analytics&pivot=CAMPAIGN&timeGranularity=DAILY"
        f"&dateRange=(start:{_restli_date(first)},end:{_restli_date(last)})"
        f"&accounts=List({quote(ACCOUNT_URN + api.account, safe='')})&fields={ANALYTICS_FIELDS}"
    )
    paginator = OffsetPaginator(
        limit=ANALYTICS_PAGE_SIZE, offset_param="start", limit_param="count",
        total_path="paging.total",
    )
    for page in api.pages(f"/adAnalytics?{query}", paginator):
        yield [_stats_row(item, api.account, currency) for item in page]


def _restli_date(day: date) -> str:
    return f"(year:{day.year},month:{day.month},day:{day.day})"


def _campaign_row(item: dict[str, Any], account: str, currency: str) -> dict[str, Any]:
    rest = dict(item)
    account_id = str(rest.pop("account", account)).removeprefix(ACCOUNT_URN)
    return {**ads.campaign_row(rest, account_id, currency), **rest}  # the rest: own columns


#: cost is decimal text in the account currency
METRICS = ads.Metrics(spend="costInLocalCurrency", conversions="externalWebsiteConversions")


def _stats_row(item: dict[str, Any], account: str, currency: str) -> dict[str, Any]:
    rest = dict(item)
    start = rest.pop("dateRange")["start"]
    day = date(int(start["year"]), int(start["month"]), int(start["day"]))
    campaign_urn = rest.pop("pivotValues")[0]
    row = ads.stats_row(
        METRICS, rest, date=day.isoformat(), account_id=account,
        campaign_id=str(campaign_urn).removeprefix(CAMPAIGN_URN), currency=currency,
    )
    return {**row, **rest}


def _detail(response: Response) -> str:
    """LinkedIn's error body: code and message."""
    body = response.json()
    return f"{body.get('code', '')} {body.get('message', '')}".strip()


LINKEDIN_ADS = ads.AdPlatform(
    source=SOURCE, describe=_detail, read_campaigns=_campaigns, read_stats=_stats,
    rows_under="elements",
)
