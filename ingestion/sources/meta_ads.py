"""Meta (Facebook) Marketing API: campaigns and daily campaign insights of one ad account.

Insights are read at ``level=campaign`` with ``time_increment=1`` over a ``time_range``,
following the cursor links in ``paging.next``. Meta sends numbers as strings and spend as a
decimal string in the account currency: it is kept exactly as text (``spend``) and as integer
micros (``spend_micros``); conversions are the ``actions`` entry of ``conversion_action_type``.

Authentication is a long-lived access token (``SOURCES__META_ADS__ACCESS_TOKEN``, 60 days;
Meta has no refresh grant for it). When Meta answers that it has expired (OAuthException
190, subcode 463) the run fails in one line saying so and naming that setting.

Tables in ``raw_meta_ads``:
- ``campaigns``: id, name, status, account_id, currency, effective_status, objective, ...
- ``campaign_stats_daily``: date, account_id, campaign_id, currency, impressions, clicks,
  spend (exact decimal text), spend_micros, conversions, campaign_name, actions (JSON)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import dlt
from dlt.sources.helpers.requests import Response
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
from dlt.sources.helpers.rest_client.paginators import JSONLinkPaginator

from ingestion.common import ad_platform as ads
from ingestion.common.http_client import DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, Timeouts

SOURCE = "meta_ads"
DEFAULT_API_BASE = "https://graph.facebook.com"
#: v27.0 (released 2026-11-04, the newest on 2026-12-01); expiry not announced yet ("TBD";
#: Marketing API versions have lived about 13 months: v24.0 2025-10-08 to 2026-11-10).
#: Source: Meta's "Marketing API version history" (developers.facebook.com/documentation/
#: ads-commerce/marketing-api/marketing-api-changelog/versions), which lists v25.0 expiring
#: 2027-02-23 and v19.0, the old default, expired 2025-02-04. The insights and campaigns
#: fields we read are unchanged from v19.0 to v27.0.
DEFAULT_API_VERSION = "v27.0"
SETTINGS = "SOURCES__META_ADS__"
#: The action type counted as a conversion (pixel purchases).
DEFAULT_CONVERSION_ACTION = "offsite_conversion.fb_pixel_purchase"
#: Rows per page (Graph's ``limit``).
PAGE_SIZE = 100

INSIGHTS_FIELDS = (
    "account_id,account_currency,campaign_id,campaign_name,"
    "impressions,clicks,spend,actions,date_start,date_stop"
)
CAMPAIGN_FIELDS = "id,account_id,name,status,effective_status,objective,created_time,start_time"

#: Meta keeps the raw actions list next to the chosen conversion count.
META_STATS_COLUMNS = {**ads.STATS_COLUMNS, "actions": {"data_type": "json"}}


@dlt.source(name="meta_ads")
def meta_ads_source(
    api_base: str = DEFAULT_API_BASE,
    account_id: str = dlt.config.value,
    access_token: str = dlt.secrets.value,
    start_date: str | None = None,
    lookback_days: int = 7,
    end_date: str | None = None,
    api_version: str = DEFAULT_API_VERSION,
    conversion_action_type: str = DEFAULT_CONVERSION_ACTION,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
) -> Any:
    """Campaigns and daily campaign insights of the ad account ``account_id`` (with or without ``act_``)."""
    # The token travels in the Authorization header, so it is never part of a paging.next URL.
    client = RESTClient(
        base_url=f"{api_base.rstrip('/')}/{api_version}",
        auth=BearerTokenAuth(access_token),
        session=ads.session(Timeouts(connect_timeout, read_timeout)),
    )
    account = str(account_id).removeprefix("act_")
    api = ads.AdAPI(META_ADS, client, account, (access_token,),
                conversion_action_type=conversion_action_type)
    return ads.resources(api, start_date, lookback_days, end_date)


def _pages(api: ads.AdAPI, edge: str, params: dict[str, Any]) -> Iterator[ads.Page]:
    """An edge of the ad account, following Graph's ``paging.next`` links."""
    return api.pages(f"/act_{api.account}/{edge}", JSONLinkPaginator(next_url_path="paging.next"),
                     {**params, "limit": PAGE_SIZE})


def _currency(api: ads.AdAPI) -> str:
    return api.currency(f"/act_{api.account}", {"fields": "currency"})


def _campaigns(api: ads.AdAPI) -> Iterator[ads.Page]:
    currency = _currency(api)
    for page in _pages(api, "campaigns", {"fields": CAMPAIGN_FIELDS}):
        yield [_campaign_row(item, api.account, currency) for item in page]


def _stats(api: ads.AdAPI, first: date, last: date) -> Iterator[ads.Page]:
    params = {
        "level": "campaign",
        "time_increment": 1,
        "time_range": json.dumps({"since": first.isoformat(), "until": last.isoformat()}),
        "fields": INSIGHTS_FIELDS,
    }
    for page in _pages(api, "insights", params):
        yield [_stats_row(item, api.options["conversion_action_type"]) for item in page]


def _campaign_row(item: dict[str, Any], account: str, currency: str) -> dict[str, Any]:
    rest = dict(item)
    account_id = str(rest.pop("account_id", account))
    return {**ads.campaign_row(rest, account_id, currency), **rest}


#: Meta sends numbers as strings, spend as decimal text in the account currency
METRICS = ads.Metrics(spend="spend")


def _stats_row(item: dict[str, Any], conversion_action_type: str) -> dict[str, Any]:
    rest = dict(item)
    actions = rest.pop("actions", None) or []
    rest.pop("date_stop", None)  # equals date_start with time_increment=1
    conversions = sum(float(a.get("value", 0)) for a in actions
                      if a.get("action_type") == conversion_action_type)
    row = ads.stats_row(
        METRICS, rest, conversions, date=rest.pop("date_start"),
        account_id=str(rest.pop("account_id")), campaign_id=str(rest.pop("campaign_id")),
        currency=rest.pop("account_currency", None),
    )
    return {**row, "actions": actions, **rest}  # anything else Meta sends: its own column


#: OAuthException 190 subcodes: why Meta refused the access token.
_TOKEN_REFUSALS = {
    463: "has expired",
    460: "was invalidated by a password change",
    458: "was revoked (the app was removed)",
    467: "is no longer valid",
}


def _detail(response: Response) -> str:
    """The Graph API's error body: code and message; a refused token says what to do."""
    error = response.json()["error"]
    if error.get("code") == 190:
        subcode = error.get("error_subcode")
        why = _TOKEN_REFUSALS.get(subcode, "was refused")
        code = f"190/{subcode}" if subcode else "190"
        return (f"the access token {why} (OAuthException {code}); create a new long-lived "
                f"token and set {SETTINGS}ACCESS_TOKEN")
    return f"(code {error.get('code')}) {error.get('message', '')}"


META_ADS = ads.AdPlatform(
    source=SOURCE, describe=_detail, read_campaigns=_campaigns, read_stats=_stats,
    rows_under="data", stats_columns=META_STATS_COLUMNS,
)
