"""Meta Marketing API (Graph API) for the sandbox: ad account, campaigns and insights.

Served under ``/vNN.N/`` like graph.facebook.com:
- ``GET /act_{id}``            the ad account node (``fields=currency,name,account_id``)
- ``GET /act_{id}/campaigns``  campaign metadata, cursor paged
- ``GET /act_{id}/insights``   stats at ``level=campaign|account`` over ``time_range`` (JSON) or
  ``date_preset``, bucketed by ``time_increment`` (days, or ``all_days``), cursor paged.

Numbers come back as strings and spend as a decimal string in the account currency, as Meta
sends them; conversions hide in ``actions`` next to other action types, as in real insights.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlencode

from sandbox.currency import exponent as currency_exponent
from sandbox.http import Request, Response
from sandbox.world import AdAccount, World

PLATFORM = "meta_ads"
#: The access token (``access_token=`` or ``Authorization: Bearer``) the sandbox accepts.
SANDBOX_ACCESS_TOKEN = "sandbox-meta-access-token"
#: A long-lived token whose 60 days are over: answered with OAuthException 190/463, as Meta
#: answers an expired session.
SANDBOX_EXPIRED_ACCESS_TOKEN = "sandbox-meta-expired-access-token"
#: Marketing API versions live on 2026-12-01 (Meta's "Marketing API version history": v24.0
#: expired 2026-11-10, v25.0 expires 2027-02-23, v27.0 released 2026-11-04). Older ones answer
#: error #2635 as a deprecated Ads API version does; newer ones do not exist yet.
OLDEST_VERSION = (25, 0)
NEWEST_VERSION = (27, 0)
DEFAULT_LIMIT = 25
MAX_LIMIT = 500
#: The action type carrying pixel purchases (the conversions ingestion wants).
PURCHASE_ACTION = "offsite_conversion.fb_pixel_purchase"

INSIGHTS_FIELDS = (
    "account_id",
    "account_name",
    "account_currency",
    "campaign_id",
    "campaign_name",
    "impressions",
    "clicks",
    "spend",
    "actions",
    "date_start",
    "date_stop",
)
CAMPAIGN_FIELDS = (
    "id",
    "account_id",
    "name",
    "status",
    "effective_status",
    "objective",
    "created_time",
    "start_time",
)
ACCOUNT_FIELDS = ("id", "account_id", "name", "currency", "account_status")

#: date_preset -> (days before as_of of the first day, of the last day).
_DATE_PRESETS = {
    "today": (0, 0),
    "yesterday": (1, 1),
    "last_3d": (3, 1),
    "last_7d": (7, 1),
    "last_14d": (14, 1),
    "last_28d": (28, 1),
    "last_30d": (30, 1),
    "last_90d": (90, 1),
}

_PATH = re.compile(r"^/v(?P<version>\d+\.\d+)/act_(?P<account>[^/]+)(?:/(?P<edge>[^/]*))?/?$")


class GraphError(Exception):
    """An error the Graph API would answer with; ``handle`` turns it into its JSON."""

    def __init__(
        self,
        message: str,
        code: int = 100,
        type_: str = "OAuthException",
        status: int = 400,
        subcode: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code, self.type, self.status, self.subcode = code, type_, status, subcode

    def response(self) -> Response:
        return error_response(self.status, str(self), self.type, self.code, subcode=self.subcode)


def error_response(
    http_status: int,
    message: str,
    type_: str,
    code: int,
    *,
    subcode: int | None = None,
    is_transient: bool = False,
) -> Response:
    """Graph's error JSON: ``{"error": {"message", "type", "code", "fbtrace_id", ...}}``."""
    error: dict[str, object] = {"message": message, "type": type_, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    if is_transient:
        error["is_transient"] = True
    trace = hashlib.sha256(f"{http_status}{message}".encode()).digest()
    error["fbtrace_id"] = base64.b64encode(trace).decode()[:11].replace("+", "A").replace("/", "B")
    headers = {}
    if code == 190:
        headers["WWW-Authenticate"] = f'OAuth "Facebook Platform" "invalid_token" "{message}"'
    return Response.json({"error": error}, http_status, headers)


# --- request parsing -----------------------------------------------------------------------


def _check_token(request: Request, world: World) -> None:
    token = request.arg("access_token")
    authorization = request.headers.get("authorization", "")
    if token is None and authorization.lower().startswith(("bearer ", "oauth ")):
        token = authorization.split(" ", 1)[1].strip()
    if not token:
        raise GraphError("An access token is required to request this resource.", code=104)
    if token == SANDBOX_EXPIRED_ACCESS_TOKEN:
        expired = world.as_of - timedelta(days=1)
        raise GraphError(
            f"Error validating access token: Session has expired on {expired:%A, %d-%b-%y} "
            f"00:00:00 PST. The current time is {world.as_of:%A, %d-%b-%y} 00:00:00 PST.",
            code=190,
            subcode=463,
        )
    if token != SANDBOX_ACCESS_TOKEN:
        raise GraphError("Invalid OAuth access token - Cannot parse access token", code=190)


def _check_version(version: str) -> None:
    major, minor = (int(part) for part in version.split("."))
    newest = "v{}.{}".format(*NEWEST_VERSION)
    if (major, minor) < OLDEST_VERSION:
        raise GraphError(
            f"(#2635) You are calling a deprecated version of the Ads API. Please update to the "
            f"latest version: {newest}.",
            code=2635,
        )
    if (major, minor) > NEWEST_VERSION:
        raise GraphError(f"Unknown path components: /v{version}", code=2500)


def _account(world: World, account_id: str) -> AdAccount:
    for account in world.ad_accounts:
        if account.platform == PLATFORM and account.account_id == account_id:
            return account
    raise GraphError(
        f"Unsupported get request. Object with ID 'act_{account_id}' does not exist, cannot be loaded "
        "due to missing permissions, or does not support this operation. Please read the Graph API "
        "documentation at https://developers.facebook.com/docs/graph-api",
        code=100,
        type_="GraphMethodException",
        subcode=33,
    )


def _fields(
    request: Request, allowed: Sequence[str], default: Sequence[str], node_type: str
) -> list[str]:
    raw = request.arg("fields")
    if raw is None:
        return list(default)
    fields = [f.strip() for f in raw.split(",") if f.strip()]
    for name in fields:
        if name not in allowed:
            raise GraphError(
                f"(#100) Tried accessing nonexisting field ({name}) on node type ({node_type})"
            )
    return fields


def _time_range(request: Request, today: date) -> tuple[date, date]:
    """``time_range={"since","until"}`` (inclusive) or ``date_preset``; Meta's default: last_30d."""
    raw = request.arg("time_range")
    if raw is not None:
        try:
            parsed = json.loads(raw)
            since, until = date.fromisoformat(parsed["since"]), date.fromisoformat(parsed["until"])
        except (ValueError, KeyError, TypeError):
            raise GraphError(
                "(#100) Param time_range must be a JSON object with since and until dates "
                "formatted as YYYY-MM-DD"
            ) from None
        if since > until:
            raise GraphError("(#100) Param time_range: since must be on or before until")
        return since, until
    preset = request.arg("date_preset", "last_30d")
    if preset not in _DATE_PRESETS:
        raise GraphError(
            f"(#100) date_preset must be one of the following values: {', '.join(_DATE_PRESETS)}"
        )
    first, last = _DATE_PRESETS[preset]
    return today - timedelta(first), today - timedelta(last)


def _positive_int(request: Request, name: str, default: int) -> int:
    raw = request.arg(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) <= 0:
        raise GraphError(f"(#100) Param {name} must be a positive integer")
    return int(raw)


# --- paging ---------------------------------------------------------------------------------


def _cursor(index: int) -> str:
    """Opaque cursor for a row position (Meta's look alike: base64 without padding)."""
    return base64.urlsafe_b64encode(str(index).encode()).decode().rstrip("=")


def _cursor_index(cursor: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except ValueError:
        raise GraphError("(#100) The after/before cursor is invalid") from None


def paginate(request: Request, items: list[dict]) -> Response:
    """One page of ``items`` after/before the request's cursor, with Graph's ``paging`` block."""
    limit = min(_positive_int(request, "limit", DEFAULT_LIMIT), MAX_LIMIT)
    if request.arg("after"):
        start = _cursor_index(request.arg("after") or "") + 1
    elif request.arg("before"):
        start = max(0, _cursor_index(request.arg("before") or "") - limit)
    else:
        start = 0
    page = items[start : start + limit]
    if not page:
        return Response.json({"data": []})
    end = start + len(page)
    paging: dict[str, object] = {"cursors": {"before": _cursor(start), "after": _cursor(end - 1)}}
    params = [
        (k, v)
        for k, values in request.query.items()
        if k not in ("after", "before")
        for v in values
    ]
    if end < len(items):
        paging["next"] = (
            f"{request.base_url}{request.path}?{urlencode([*params, ('after', _cursor(end - 1))])}"
        )
    if start > 0:
        paging["previous"] = (
            f"{request.base_url}{request.path}?{urlencode([*params, ('before', _cursor(start))])}"
        )
    return Response.json({"data": page, "paging": paging})


# --- rendering ------------------------------------------------------------------------------


def spend_string(micros: int, currency: str) -> str:
    """Spend as Meta renders it: a decimal string rounded to the currency's minor unit."""
    minor_unit = Decimal(1).scaleb(-currency_exponent(currency))
    return str((Decimal(micros) / 1_000_000).quantize(minor_unit, rounding=ROUND_HALF_UP))


def _count_string(value: float) -> str:
    """An action count as a string: "3" for whole numbers, "3.5" otherwise."""
    return f"{value:.6f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def _insights(world: World, account: AdAccount, request: Request) -> list[dict]:
    level = request.arg("level", "account")
    if level not in ("campaign", "account"):
        raise GraphError(
            "(#100) level must be one of the following values: campaign, account "
            "(the sandbox has no ad sets or ads)"
        )
    if request.arg("breakdowns"):
        raise GraphError("(#100) breakdowns are not supported by the sandbox")
    fields = _fields(request, INSIGHTS_FIELDS, ("impressions", "spend"), "AdsInsights")
    since, until = _time_range(request, world.as_of)
    increment = request.arg("time_increment", "all_days")
    if increment == "all_days":
        days_per_row = (until - since).days + 1
    elif increment.isdigit() and 1 <= int(increment) <= 90:
        days_per_row = int(increment)
    else:
        raise GraphError("(#100) time_increment must be all_days or a number of days from 1 to 90")

    campaigns = {
        c.campaign_id: c
        for c in world.ad_campaigns
        if c.platform == PLATFORM and c.account_id == account.account_id
    }
    totals: dict[tuple[str, date], list[float]] = {}
    for stat in world.ad_stats:
        if (
            stat.platform != PLATFORM
            or stat.account_id != account.account_id
            or not since <= stat.day <= until
        ):
            continue
        bucket = since + timedelta(days=(stat.day - since).days // days_per_row * days_per_row)
        entity = stat.campaign_id if level == "campaign" else account.account_id
        total = totals.setdefault((entity, bucket), [0, 0, 0, 0.0])
        total[0] += stat.impressions
        total[1] += stat.clicks
        total[2] += stat.spend_micros
        total[3] += stat.conversions

    rows = []
    for (entity, start), (impressions, clicks, spend, conversions) in sorted(
        totals.items(), key=lambda item: (item[0][1], int(item[0][0]))
    ):
        campaign = campaigns.get(entity) if level == "campaign" else None
        actions = [
            {"action_type": t, "value": _count_string(v)}
            for t, v in (("link_click", clicks), (PURCHASE_ACTION, conversions))
            if v
        ]
        values: dict[str, object] = {
            "account_id": account.account_id,
            "account_name": account.name,
            "account_currency": account.currency,
            "impressions": str(impressions),
            "clicks": str(clicks),
            "spend": spend_string(int(spend), account.currency),
            "actions": actions,
        }
        if level == "campaign":
            values["campaign_id"] = entity
            values["campaign_name"] = campaign.name if campaign else ""
        row = {f: values[f] for f in fields if f in values and not (f == "actions" and not actions)}
        row["date_start"] = start.isoformat()
        row["date_stop"] = min(start + timedelta(days=days_per_row - 1), until).isoformat()
        rows.append(row)
    return rows


def _campaigns(world: World, account: AdAccount, request: Request) -> list[dict]:
    fields = _fields(request, CAMPAIGN_FIELDS, ("id",), "Campaign")
    statuses = None
    if request.arg("effective_status"):
        try:
            statuses = set(json.loads(request.arg("effective_status") or ""))
        except ValueError:
            raise GraphError(
                "(#100) Param effective_status must be a JSON array of statuses"
            ) from None
    rows = []
    campaigns = [
        c
        for c in world.ad_campaigns
        if c.platform == PLATFORM and c.account_id == account.account_id
    ]
    for campaign in sorted(campaigns, key=lambda c: int(c.campaign_id)):
        if statuses is not None and campaign.status not in statuses:
            continue
        created = f"{campaign.created_date.isoformat()}T00:00:00+0000"
        values = {
            "id": campaign.campaign_id,
            "account_id": campaign.account_id,
            "name": campaign.name,
            "status": campaign.status,
            "effective_status": campaign.status,
            "objective": "OUTCOME_SALES",
            "created_time": created,
            "start_time": created,
        }
        rows.append({"id": campaign.campaign_id, **{f: values[f] for f in fields}})
    return rows


def handle(world: World, request: Request) -> Response:
    """Serve ``GET /vNN.N/act_{id}[/campaigns|/insights]``."""
    match = _PATH.match(request.path)
    try:
        _check_token(request, world)
        if match is None or request.method != "GET":
            raise GraphError(f"Unknown path components: {request.path}", code=2500)
        _check_version(match["version"])
        account = _account(world, match["account"])
        edge = match["edge"] or ""
        if edge == "insights":
            return paginate(request, _insights(world, account, request))
        if edge == "campaigns":
            return paginate(request, _campaigns(world, account, request))
        if edge:
            raise GraphError(f"Unknown path components: /{edge}", code=2500)
        fields = _fields(request, ACCOUNT_FIELDS, ("id",), "AdAccount")
        values = {
            "id": f"act_{account.account_id}",
            "account_id": account.account_id,
            "name": account.name,
            "currency": account.currency,
            "account_status": 1,
        }
        return Response.json({**{f: values[f] for f in fields}, "id": values["id"]})
    except GraphError as exc:
        return exc.response()
