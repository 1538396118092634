"""LinkedIn Marketing API (versioned ``/rest/``) for the sandbox: ad accounts, campaigns, analytics.

- ``GET /rest/adAccounts/{id}``                           the account
- ``GET /rest/adAccounts/{id}/adCampaigns?q=search``      campaigns, ``pageSize``/``pageToken``
- ``GET /rest/adAnalytics?q=analytics&pivot=CAMPAIGN|ACCOUNT&timeGranularity=DAILY|ALL``
  ``&dateRange=(start:(year:..,month:..,day:..),end:(...))&accounts=List(urn...)``
  ``[&campaigns=List(urn...)]&fields=...``, optionally paged with ``start``/``count``

Query values use Rest.li 2.0 syntax (``List(...)``, ``(key:value,...)``), parsed by
``parse_restli``. Every call needs ``LinkedIn-Version: YYYYMM`` and a bearer token.
"""

from __future__ import annotations

import base64
import math
import re
from datetime import UTC, date, datetime, time
from decimal import Decimal
from urllib.parse import unquote, urlencode

from sandbox.http import Request, Response
from sandbox.world import AdAccount, World

PLATFORM = "linkedin_ads"
#: The bearer token (``Authorization: Bearer ...``) the sandbox accepts.
SANDBOX_ACCESS_TOKEN = "sandbox-linkedin-access-token"
#: ``LinkedIn-Version``s active on 2026-12-01 (LinkedIn's Marketing API migrations table:
#: 202511 sunset 2026-11-16, 202601 sunsets 2027-01-15; 202607 is the newest published).
#: Others answer 426 NONEXISTENT_VERSION, as LinkedIn answers a sunset version.
OLDEST_VERSION = "202601"
NEWEST_VERSION = "202607"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000

ANALYTICS_FIELDS = (
    "dateRange",
    "pivotValues",
    "impressions",
    "clicks",
    "costInLocalCurrency",
    "externalWebsiteConversions",
)
#: What adAnalytics returns without ``fields``: LinkedIn sends only these two metrics.
DEFAULT_ANALYTICS_FIELDS = ("impressions", "clicks")

ACCOUNT_URN = "urn:li:sponsoredAccount:"
CAMPAIGN_URN = "urn:li:sponsoredCampaign:"

_VERSION = re.compile(r"^(?P<yyyymm>\d{6})(\.\d{2})?$")
_ACCOUNT_PATH = re.compile(r"^/rest/adAccounts/(?P<account>[^/]+)(?P<campaigns>/adCampaigns)?/?$")


class LinkedInError(Exception):
    """An error LinkedIn would answer with; ``handle`` turns it into its JSON."""

    def __init__(
        self, status: int, code: str, message: str, service_error_code: int | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.service_error_code = status, code, service_error_code


def error_response(
    status: int, code: str, message: str, service_error_code: int | None = None
) -> Response:
    """LinkedIn's error JSON: ``{"status", ["serviceErrorCode",] "code", "message"}``."""
    body: dict[str, object] = {"status": status}
    if service_error_code is not None:
        body["serviceErrorCode"] = service_error_code
    body.update(code=code, message=message)
    return Response.json(body, status)


def _bad_request(message: str) -> LinkedInError:
    return LinkedInError(400, "ILLEGAL_ARGUMENT", message, 100)


# --- Rest.li 2.0 values -------------------------------------------------------------------


def parse_restli(text: str) -> object:
    """Parse a Rest.li 2.0 query value into lists, dicts and (URL-decoded) strings.

    ``List(a,b)`` is a list, ``(k:v,...)`` a record, anything else a string; a string ends at
    ``,``, ``(`` or ``)`` so URNs may keep their colons, encoded or not.
    """
    value, end = _restli_value(text, 0)
    if end != len(text):
        raise ValueError(f"unexpected {text[end:]!r} in Rest.li value {text!r}")
    return value


def _restli_value(text: str, pos: int) -> tuple[object, int]:
    if text.startswith("List(", pos):
        items: list[object] = []
        pos += len("List(")
        while not text.startswith(")", pos):
            item, pos = _restli_value(text, pos)
            items.append(item)
            pos = _after_item(text, pos)
        return items, pos + 1
    if text.startswith("(", pos):
        record: dict[str, object] = {}
        pos += 1
        while not text.startswith(")", pos):
            colon = text.find(":", pos)
            if colon < 0:
                raise ValueError(f"expected key:value in Rest.li value {text!r}")
            record[unquote(text[pos:colon])], pos = _restli_value(text, colon + 1)
            pos = _after_item(text, pos)
        return record, pos + 1
    end = pos
    while end < len(text) and text[end] not in ",()":
        end += 1
    return unquote(text[pos:end]), end


def _after_item(text: str, pos: int) -> int:
    """Step over the comma after a list item or record field; stop before a closing paren."""
    if text.startswith(",", pos):
        return pos + 1
    if text.startswith(")", pos):
        return pos
    raise ValueError(f"unterminated Rest.li value {text!r}")


def _restli_date(value: object) -> date:
    if not isinstance(value, dict):
        raise TypeError("expected (year:..,month:..,day:..)")
    return date(int(value["year"]), int(value["month"]), int(value["day"]))


def _restli_urns(request: Request, name: str, prefix: str) -> list[str] | None:
    """Ids from a ``List(urn:li:...:id, ...)`` parameter, or None when it is absent."""
    raw = request.arg(name)
    if raw is None:
        return None
    try:
        urns = parse_restli(raw)
    except ValueError as exc:
        raise _bad_request(f"Invalid value for param {name}: {exc}") from None
    if not isinstance(urns, list) or not all(
        isinstance(u, str) and u.startswith(prefix) for u in urns
    ):
        raise _bad_request(f"Param {name} must be List({prefix}...)")
    return [u.removeprefix(prefix) for u in urns]


# --- checks -------------------------------------------------------------------------------


def _check_headers(request: Request) -> None:
    authorization = request.headers.get("authorization", "")
    if not authorization.startswith("Bearer ") or not authorization[len("Bearer ") :].strip():
        raise LinkedInError(401, "EMPTY_ACCESS_TOKEN", "Empty oauth2 access token", 65604)
    if request.token_state == "expired":  # issued by the sandbox's /oauth/v2/accessToken
        raise LinkedInError(
            401, "EXPIRED_ACCESS_TOKEN", "The token used in the request has expired", 65602
        )
    fixed = authorization[len("Bearer ") :].strip() == SANDBOX_ACCESS_TOKEN
    if not fixed and request.token_state != "valid":
        raise LinkedInError(401, "INVALID_ACCESS_TOKEN", "Invalid access token", 65600)
    version = request.headers.get("linkedin-version")
    if not version:
        raise LinkedInError(
            400,
            "VERSION_MISSING",
            "A version must be present. Please specify a version "
            "by adding the LinkedIn-Version header.",
        )
    match = _VERSION.match(version)
    if (match is None or not 1 <= int(match["yyyymm"][4:]) <= 12
            or not OLDEST_VERSION <= match["yyyymm"] <= NEWEST_VERSION):
        raise LinkedInError(
            426, "NONEXISTENT_VERSION", f"Requested version {version} is not active"
        )


def _account(world: World, account_id: str) -> AdAccount:
    for account in world.ad_accounts:
        if account.platform == PLATFORM and account.account_id == account_id:
            return account
    raise LinkedInError(404, "NOT_FOUND", f"Not found: {ACCOUNT_URN}{account_id}")


def _int_arg(request: Request, name: str, default: int, minimum: int) -> int:
    raw = request.arg(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < minimum:
        raise _bad_request(f"Invalid value for param {name}: {raw!r}")
    return int(raw)


# --- analytics ------------------------------------------------------------------------------


def cost_string(micros: int) -> str:
    """Cost as LinkedIn sends it: an exact decimal string in the account currency."""
    return f"{(Decimal(micros) / 1_000_000).normalize():f}"


def _restli_day(day: date) -> dict[str, int]:
    return {"year": day.year, "month": day.month, "day": day.day}


def _analytics(world: World, request: Request) -> Response:
    if request.arg("q") != "analytics":
        raise _bad_request("Param q must be 'analytics'")
    pivot = request.arg("pivot")
    if pivot not in ("CAMPAIGN", "ACCOUNT"):
        raise _bad_request(
            f"Invalid value for param pivot: {pivot!r} (the sandbox supports CAMPAIGN, ACCOUNT)"
        )
    granularity = request.arg("timeGranularity")
    if granularity not in ("DAILY", "ALL"):
        raise _bad_request(
            f"Invalid value for param timeGranularity: {granularity!r} (use DAILY or ALL)"
        )
    try:
        date_range = parse_restli(request.arg("dateRange") or "")
        if not isinstance(date_range, dict):
            raise TypeError("expected (start:(...),end:(...))")
        first = _restli_date(date_range["start"])
        last = _restli_date(date_range["end"]) if "end" in date_range else world.as_of
    except (ValueError, KeyError, TypeError) as exc:
        raise _bad_request(f"Invalid value for param dateRange: {exc}") from None
    if first > last:
        raise _bad_request("Invalid value for param dateRange: start is after end")
    raw_fields = request.arg("fields")
    fields = raw_fields.split(",") if raw_fields else list(DEFAULT_ANALYTICS_FIELDS)
    for name in fields:
        if name not in ANALYTICS_FIELDS:
            raise _bad_request(f"Invalid field in projection: {name!r}")

    account_ids = _restli_urns(request, "accounts", ACCOUNT_URN)
    campaign_ids = _restli_urns(request, "campaigns", CAMPAIGN_URN)
    if account_ids is None and campaign_ids is None:
        raise _bad_request("One of the facets accounts or campaigns is required")
    known = {a.account_id for a in world.ad_accounts if a.platform == PLATFORM}
    for account_id in account_ids or []:
        if account_id not in known:
            raise LinkedInError(
                403,
                "ACCESS_DENIED",
                f"Not enough permissions to access: {ACCOUNT_URN}{account_id}",
                100,
            )

    totals: dict[tuple[date | None, str], list[float]] = {}
    for stat in world.ad_stats:
        if stat.platform != PLATFORM or not first <= stat.day <= last:
            continue
        if account_ids is not None and stat.account_id not in account_ids:
            continue
        if campaign_ids is not None and stat.campaign_id not in campaign_ids:
            continue
        urn = (
            CAMPAIGN_URN + stat.campaign_id
            if pivot == "CAMPAIGN"
            else ACCOUNT_URN + stat.account_id
        )
        total = totals.setdefault(
            (stat.day if granularity == "DAILY" else None, urn), [0, 0, 0, 0.0]
        )
        total[0] += stat.impressions
        total[1] += stat.clicks
        total[2] += stat.spend_micros
        total[3] += stat.conversions

    elements = []
    for (day, urn), (impressions, clicks, spend, conversions) in sorted(
        totals.items(), key=lambda item: (item[0][0] or first, int(item[0][1].rsplit(":", 1)[1]))
    ):
        values = {
            "dateRange": {"start": _restli_day(day or first), "end": _restli_day(day or last)},
            "pivotValues": [urn],
            "impressions": impressions,
            "clicks": clicks,
            "costInLocalCurrency": cost_string(int(spend)),
            "externalWebsiteConversions": int(conversions)
            if conversions == int(conversions)
            else conversions,
        }
        elements.append({f: values[f] for f in fields})

    start = _int_arg(request, "start", 0, 0)
    count = _int_arg(request, "count", max(len(elements) - start, 0), 0)  # unpaged: everything
    params = [
        (k, v) for k, values in request.query.items() if k not in ("start", "count") for v in values
    ]
    links = []
    if start + count < len(elements) and count > 0:
        query = urlencode([*params, ("start", start + count), ("count", count)], safe="(),")
        links.append({"type": "application/json", "rel": "next", "href": f"{request.path}?{query}"})
    if start > 0:
        query = urlencode([*params, ("start", max(start - count, 0)), ("count", count)], safe="(),")
        links.append({"type": "application/json", "rel": "prev", "href": f"{request.path}?{query}"})
    return Response.json(
        {
            "paging": {"start": start, "count": count, "total": len(elements), "links": links},
            "elements": elements[start : start + count],
        }
    )


# --- accounts and campaigns ---------------------------------------------------------------


def _epoch_ms(day: date) -> int:
    return int(datetime.combine(day, time(0), tzinfo=UTC).timestamp()) * 1000


def _account_json(account: AdAccount) -> dict[str, object]:
    return {
        "id": int(account.account_id),
        "name": account.name,
        "currency": account.currency,
        "status": "ACTIVE",
        "type": "BUSINESS",
        "test": False,
    }


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset={offset}".encode()).decode()


def _page_offset(token: str) -> int:
    try:
        key, _, offset = base64.urlsafe_b64decode(token.encode()).decode().partition("=")
        if key == "offset" and offset.isdigit():
            return int(offset)
    except ValueError:
        pass
    raise _bad_request("Invalid value for param pageToken")


def _campaigns(world: World, account: AdAccount, request: Request) -> Response:
    if request.arg("q") != "search":
        raise _bad_request("Param q must be 'search'")
    statuses = None
    if request.arg("search"):
        try:
            search = parse_restli(request.arg("search") or "")
            if not isinstance(search, dict):
                raise TypeError("expected (field:(values:List(...)),...)")
            statuses = set(search["status"]["values"]) if "status" in search else None
        except (ValueError, KeyError, TypeError) as exc:
            raise _bad_request(f"Invalid value for param search: {exc}") from None
    page_size = min(_int_arg(request, "pageSize", DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE)
    offset = _page_offset(request.arg("pageToken") or "") if request.arg("pageToken") else 0

    max_spend: dict[str, int] = {}
    for stat in world.ad_stats:
        if stat.platform == PLATFORM and stat.account_id == account.account_id:
            max_spend[stat.campaign_id] = max(max_spend.get(stat.campaign_id, 0), stat.spend_micros)
    elements = []
    campaigns = [
        c
        for c in world.ad_campaigns
        if c.platform == PLATFORM and c.account_id == account.account_id
    ]
    for campaign in sorted(campaigns, key=lambda c: int(c.campaign_id)):
        if statuses is not None and campaign.status not in statuses:
            continue
        created = _epoch_ms(campaign.created_date)
        # The world has no budgets; a budget never below the busiest day's spend is plausible.
        budget = max(math.ceil(max_spend.get(campaign.campaign_id, 0) / 1_000_000), 1)
        elements.append(
            {
                "id": int(campaign.campaign_id),
                "name": campaign.name,
                "status": campaign.status,
                "account": f"{ACCOUNT_URN}{campaign.account_id}",
                "type": "SPONSORED_UPDATES",
                "runSchedule": {"start": created},
                "dailyBudget": {"amount": str(budget), "currencyCode": account.currency},
                "changeAuditStamps": {
                    "created": {"time": created},
                    "lastModified": {"time": created},
                },
            }
        )
    body: dict[str, object] = {"elements": elements[offset : offset + page_size], "metadata": {}}
    if offset + page_size < len(elements):
        body["metadata"] = {"nextPageToken": _page_token(offset + page_size)}
    return Response.json(body)


def handle(world: World, request: Request) -> Response:
    """Serve ``GET /rest/adAnalytics``, ``/rest/adAccounts/{id}`` and its ``/adCampaigns``."""
    try:
        _check_headers(request)
        if request.method != "GET":
            raise LinkedInError(405, "METHOD_NOT_ALLOWED", f"{request.method} is not supported")
        if request.path.rstrip("/") == "/rest/adAnalytics":
            return _analytics(world, request)
        match = _ACCOUNT_PATH.match(request.path)
        if match is None:
            raise LinkedInError(404, "NOT_FOUND", "No virtual resource found")
        account = _account(world, unquote(match["account"]).removeprefix(ACCOUNT_URN))
        if match["campaigns"]:
            return _campaigns(world, account, request)
        return Response.json(_account_json(account))
    except LinkedInError as exc:
        return error_response(exc.status, exc.code, str(exc), exc.service_error_code)
