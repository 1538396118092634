"""Google Ads API (REST) for the sandbox: ``googleAds:searchStream`` and ``googleAds:search``.

Real ingestion code sends GAQL, so the sandbox parses a useful subset of it:

    SELECT <fields> FROM campaign|customer
    [WHERE <cond> [AND <cond>...]] [ORDER BY <field> [ASC|DESC], ...] [LIMIT n]

Conditions: ``segments.date`` with BETWEEN, =, <, <=, >, >= or DURING (YESTERDAY, TODAY,
LAST_7_DAYS, LAST_14_DAYS, LAST_30_DAYS, THIS_MONTH, LAST_MONTH, relative to ``world.as_of``);
any other selectable field with =, !=, <, <=, >, >=, IN, NOT IN (e.g. ``campaign.status =
'ENABLED'``, ``campaign.id = 123``, ``metrics.clicks > 0``). Rows are shaped like the REST
API's: nested camelCase objects, int64 values as strings, doubles as numbers.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from sandbox.http import Request, Response
from sandbox.world import AdAccount, AdCampaign, World

PLATFORM = "google_ads"
#: The ``developer-token`` header value the sandbox accepts.
SANDBOX_DEVELOPER_TOKEN = "sandbox-developer-token"
#: The OAuth access token (``Authorization: Bearer ...``) the sandbox accepts.
SANDBOX_ACCESS_TOKEN = "sandbox-google-ads-access-token"
#: Major versions live on 2026-12-01 (Google Ads API release notes and sunset reminders on the
#: Google Ads Developer Blog: v22 sunset 2026-10-07; v23 released 2026-01-28, v26 2026-10-14).
#: Older ones answer as a sunset version does (400 UNSUPPORTED_VERSION), newer ones 404.
OLDEST_VERSION = 23
NEWEST_VERSION = 26
#: Rows per searchStream batch, as the real API (module-level so tests can shrink it).
STREAM_BATCH_SIZE = 10_000
#: Rows per ``search`` page when the request sets no ``pageSize``.
DEFAULT_PAGE_SIZE = 10_000

_PATH = re.compile(
    r"^/v(?P<version>\d+)/customers/(?P<customer>[^/]+)/googleAds:(?P<method>search|searchStream)$"
)

#: Selectable fields and the object each belongs to in a result row.
FIELDS = {
    "campaign.id": "campaign",
    "campaign.name": "campaign",
    "campaign.status": "campaign",
    "campaign.resource_name": "campaign",
    "campaign.advertising_channel_type": "campaign",
    "customer.id": "customer",
    "customer.resource_name": "customer",
    "customer.currency_code": "customer",
    "customer.descriptive_name": "customer",
    "segments.date": "segments",
    "metrics.impressions": "metrics",
    "metrics.clicks": "metrics",
    "metrics.cost_micros": "metrics",
    "metrics.conversions": "metrics",
}
#: int64 fields, which the REST API renders as JSON strings.
_INT64_FIELDS = {
    "campaign.id",
    "customer.id",
    "metrics.impressions",
    "metrics.clicks",
    "metrics.cost_micros",
}

#: DURING ranges as (first, last) day given ``today`` (= world.as_of, the day not yet simulated).
_DURING: dict[str, Callable[[date], tuple[date, date]]] = {
    "TODAY": lambda today: (today, today),
    "YESTERDAY": lambda today: (today - timedelta(1), today - timedelta(1)),
    "LAST_7_DAYS": lambda today: (today - timedelta(7), today - timedelta(1)),
    "LAST_14_DAYS": lambda today: (today - timedelta(14), today - timedelta(1)),
    "LAST_30_DAYS": lambda today: (today - timedelta(30), today - timedelta(1)),
    "THIS_MONTH": lambda today: (today.replace(day=1), today),
    "LAST_MONTH": lambda today: (
        (today.replace(day=1) - timedelta(1)).replace(day=1),
        today.replace(day=1) - timedelta(1),
    ),
}


# --- errors -------------------------------------------------------------------------------


class GaqlError(ValueError):
    """A query the real API would refuse with 400 INVALID_ARGUMENT."""

    def __init__(self, message: str, code: str = "QUERY_ERROR", family: str = "queryError") -> None:
        super().__init__(message)
        self.error_code = {family: code}


def error_response(
    http_status: int,
    message: str,
    status: str,
    error_code: dict[str, str] | None = None,
    version: str = str(NEWEST_VERSION),
) -> Response:
    """Google's error JSON; Ads-specific failures carry a ``GoogleAdsFailure`` detail."""
    error: dict = {"code": http_status, "message": message, "status": status}
    if error_code is not None:
        error["details"] = [
            {
                "@type": f"type.googleapis.com/google.ads.googleads.v{version}.errors.GoogleAdsFailure",
                "errors": [{"errorCode": error_code, "message": message}],
                "requestId": _request_id(message),
            }
        ]
    return Response.json({"error": error}, http_status)


def _request_id(*parts: object) -> str:
    """A request id that is stable for the same request, so responses are reproducible."""
    digest = hashlib.sha256("\0".join(map(str, parts)).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:22]


# --- GAQL parsing -------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    field: str
    op: str  # "=", "!=", "<", "<=", ">", ">=", "BETWEEN", "IN", "NOT IN", "DURING"
    values: tuple[object, ...]


@dataclass
class Query:
    fields: list[str]
    resource: str
    conditions: list[Condition] = field(default_factory=list)
    order_by: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    limit: int | None = None


_TOKEN = re.compile(
    r"\s*(?:(?P<string>'[^']*'|\"[^\"]*\")|(?P<number>-?\d+(?:\.\d+)?)"
    r"|(?P<op>>=|<=|!=|=|<|>|,|\(|\))|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))"
)
_KEYWORDS = {
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "ORDER",
    "BY",
    "ASC",
    "DESC",
    "LIMIT",
    "PARAMETERS",
    "BETWEEN",
    "IN",
    "NOT",
    "DURING",
}


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos, text = [], 0, text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise GaqlError(f"Error in query: unexpected input {text[pos : pos + 20].strip()!r}.")
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "word" and value.upper() in _KEYWORDS:
            kind, value = "keyword", value.upper()
        tokens.append((kind, value))
        pos = match.end()
    return tokens


class _Parser:
    """Recursive descent over the token list; every method consumes what it names."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", "")

    def take(self, kind: str, value: str | None = None) -> str:
        tok_kind, tok_value = self.peek()
        if tok_kind != kind or (value is not None and tok_value != value):
            found = tok_value or "end of query"
            raise GaqlError(
                f"Error in query: expected {value or kind}, found {found!r}.",
                "UNEXPECTED_END_OF_QUERY" if tok_kind == "end" else "QUERY_ERROR",
            )
        self.pos += 1
        return tok_value

    def accept(self, kind: str, value: str) -> bool:
        if self.peek() == (kind, value):
            self.pos += 1
            return True
        return False

    def field_name(self) -> str:
        name = self.take("word")
        if name not in FIELDS:
            raise GaqlError(f"Unrecognized field in the query: '{name}'.", "UNRECOGNIZED_FIELD")
        return name

    def literal(self) -> object:
        kind, value = self.peek()
        if kind == "string":
            self.pos += 1
            return value[1:-1]
        if kind == "number":
            self.pos += 1
            return float(value) if "." in value else int(value)
        raise GaqlError(f"Error in query: expected a value, found {value or 'end of query'!r}.")

    def query(self) -> Query:
        self.take("keyword", "SELECT")
        fields = [self.field_name()]
        while self.accept("op", ","):
            fields.append(self.field_name())
        self.take("keyword", "FROM")
        query = Query(fields=fields, resource=self.take("word"))
        if self.accept("keyword", "WHERE"):
            query.conditions.append(self.condition())
            while self.accept("keyword", "AND"):
                query.conditions.append(self.condition())
        if self.accept("keyword", "ORDER"):
            self.take("keyword", "BY")
            query.order_by.append(self.ordering())
            while self.accept("op", ","):
                query.order_by.append(self.ordering())
        if self.accept("keyword", "LIMIT"):
            query.limit = int(self.take("number"))
        if self.accept("keyword", "PARAMETERS"):  # e.g. include_drafts=true: accepted, ignored
            self.pos = len(self.tokens)
        if self.peek()[0] != "end":
            raise GaqlError(f"Error in query: unexpected input {self.peek()[1]!r}.")
        return query

    def condition(self) -> Condition:
        name = self.field_name()
        kind, value = self.peek()
        if kind == "op" and value in ("=", "!=", "<", "<=", ">", ">="):
            self.pos += 1
            return Condition(name, value, (self.literal(),))
        if self.accept("keyword", "BETWEEN"):
            low = self.literal()
            self.take("keyword", "AND")
            return Condition(name, "BETWEEN", (low, self.literal()))
        if self.accept("keyword", "DURING"):
            return Condition(name, "DURING", (self.take("word").upper(),))
        negated = self.accept("keyword", "NOT")
        self.take("keyword", "IN")
        self.take("op", "(")
        values = [self.literal()]
        while self.accept("op", ","):
            values.append(self.literal())
        self.take("op", ")")
        return Condition(name, "NOT IN" if negated else "IN", tuple(values))

    def ordering(self) -> tuple[str, bool]:
        name = self.field_name()
        if self.accept("keyword", "DESC"):
            return name, True
        self.accept("keyword", "ASC")
        return name, False


def parse_gaql(text: str) -> Query:
    """Parse and validate a GAQL query; raises ``GaqlError`` like the API's 400."""
    query = _Parser(text).query()
    if query.resource not in ("campaign", "customer"):
        raise GaqlError(
            f"Invalid resource in the FROM clause: '{query.resource}'.",
            "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE",
        )
    used = query.fields + [c.field for c in query.conditions] + [f for f, _ in query.order_by]
    if query.resource == "customer":
        for name in used:
            if FIELDS[name] == "campaign":
                raise GaqlError(
                    f"Cannot select or filter on '{name}' when FROM resource is customer.",
                    "PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE",
                )
    for cond in query.conditions:
        if cond.field == "segments.date":
            _check_date_condition(cond)
    date_ops = {c.op for c in query.conditions if c.field == "segments.date"}
    bounded = date_ops & {"DURING", "=", "BETWEEN", ">", ">="} and date_ops & {
        "DURING",
        "=",
        "BETWEEN",
        "<",
        "<=",
    }
    if "segments.date" in query.fields and not bounded:
        raise GaqlError(
            "A finite date range on segments.date is required when segments.date is selected.",
            "EXPECTED_FILTERS_ON_DATE_RANGE",
        )
    return query


def _check_date_condition(cond: Condition) -> None:
    if cond.op == "DURING":
        if cond.values[0] not in _DURING:
            raise GaqlError(
                f"Invalid value for DURING: '{cond.values[0]}'.",
                "INVALID_VALUE_WITH_DURING_OPERATOR",
            )
        return
    if cond.op not in ("=", "<", "<=", ">", ">=", "BETWEEN"):
        raise GaqlError(
            f"Operator {cond.op} is not supported on segments.date.", "PROHIBITED_FILTER_OPERATOR"
        )
    for value in cond.values:
        try:
            date.fromisoformat(str(value))
        except ValueError:
            raise GaqlError(
                f"Invalid date in the query: '{value}'; expected 'YYYY-MM-DD'.", "INVALID_LITERAL"
            ) from None


def _date_bounds(conditions: list[Condition], today: date) -> tuple[date | None, date | None]:
    """Intersect every segments.date condition into one inclusive (first, last) range."""
    low: date | None = None
    high: date | None = None

    def narrow(lo: date | None, hi: date | None) -> None:
        nonlocal low, high
        if lo is not None:
            low = lo if low is None else max(low, lo)
        if hi is not None:
            high = hi if high is None else min(high, hi)

    for cond in conditions:
        if cond.field != "segments.date":
            continue
        if cond.op == "DURING":
            narrow(*_DURING[str(cond.values[0])](today))
            continue
        days = [date.fromisoformat(str(v)) for v in cond.values]
        one = timedelta(days=1)
        narrow(
            *{
                "=": (days[0], days[0]),
                "BETWEEN": (days[0], days[-1]),
                ">=": (days[0], None),
                ">": (days[0] + one, None),
                "<=": (None, days[0]),
                "<": (None, days[0] - one),
            }[cond.op]
        )
    return low, high


# --- running a query ----------------------------------------------------------------------


def _campaign_attributes(campaign: AdCampaign) -> dict[str, object]:
    return {
        "campaign.id": int(campaign.campaign_id),
        "campaign.name": campaign.name,
        "campaign.status": campaign.status,
        "campaign.resource_name": f"customers/{campaign.account_id}/campaigns/{campaign.campaign_id}",
        "campaign.advertising_channel_type": "SEARCH",
    }


def _customer_attributes(customer: AdAccount) -> dict[str, object]:
    return {
        "customer.id": int(customer.account_id),
        "customer.resource_name": f"customers/{customer.account_id}",
        "customer.currency_code": customer.currency,
        "customer.descriptive_name": customer.name,
    }


def run_query(world: World, customer: AdAccount, query: Query) -> list[dict[str, object]]:
    """The query's rows as flat ``{field name: python value}`` dicts, filtered and ordered.

    With ``segments.date`` selected there is one row per entity and day with stats; with
    metrics but no date, one row per entity summed over the date filter (entities without
    stats are left out, as Google does); with neither, one metadata row per entity.
    """
    customer_attrs = _customer_attributes(customer)
    campaigns = [
        c
        for c in world.ad_campaigns
        if c.platform == PLATFORM and c.account_id == customer.account_id
    ]
    if query.resource == "campaign":
        entities = {c.campaign_id: {**customer_attrs, **_campaign_attributes(c)} for c in campaigns}
    else:
        entities = {customer.account_id: customer_attrs}
    by_day = "segments.date" in query.fields
    if by_day or any(FIELDS[f] == "metrics" for f in query.fields):
        low, high = _date_bounds(query.conditions, world.as_of)
        campaign_ids = {c.campaign_id for c in campaigns}
        totals: dict[tuple[str, date | None], list[float]] = {}
        for stat in world.ad_stats:
            if stat.platform != PLATFORM or stat.account_id != customer.account_id:
                continue
            if stat.campaign_id not in campaign_ids:
                continue
            if (low is not None and stat.day < low) or (high is not None and stat.day > high):
                continue
            entity = stat.campaign_id if query.resource == "campaign" else customer.account_id
            total = totals.setdefault((entity, stat.day if by_day else None), [0, 0, 0, 0.0])
            total[0] += stat.impressions
            total[1] += stat.clicks
            total[2] += stat.spend_micros
            total[3] += stat.conversions
        rows = [
            {
                **entities[entity],
                **({"segments.date": day.isoformat()} if day is not None else {}),
                "metrics.impressions": total[0],
                "metrics.clicks": total[1],
                "metrics.cost_micros": total[2],
                "metrics.conversions": total[3],
            }
            for (entity, day), total in totals.items()
        ]
    else:
        rows = list(entities.values())
    rows = [
        r
        for r in rows
        if all(_matches(r, c) for c in query.conditions if c.field != "segments.date")
    ]
    rows.sort(key=lambda r: (r.get("campaign.id", 0), r.get("segments.date", "")))
    for name, descending in reversed(query.order_by):  # stable sorts, last key first
        if rows and name in rows[0]:  # rows are uniform: a field is in all of them or none
            rows.sort(key=lambda r: r[name], reverse=descending)
    return rows[: query.limit] if query.limit is not None else rows


def _matches(row: dict[str, object], cond: Condition) -> bool:
    actual = row.get(cond.field)
    if isinstance(actual, (int, float)):
        values = [
            float(v) if isinstance(v, (int, float)) or str(v).lstrip("-").isdigit() else v
            for v in cond.values
        ]
    else:
        values = [str(v) for v in cond.values]
    first = values[0]
    try:
        return {
            "=": lambda: actual == first,
            "!=": lambda: actual != first,
            "<": lambda: actual < first,
            "<=": lambda: actual <= first,
            ">": lambda: actual > first,
            ">=": lambda: actual >= first,
            "BETWEEN": lambda: first <= actual <= values[-1],
            "IN": lambda: actual in values,
            "NOT IN": lambda: actual not in values,
        }[cond.op]()
    except TypeError:  # e.g. a string compared with a number: never true, as in Google's typing
        return False


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def to_rest_row(row: dict[str, object], query: Query) -> dict[str, dict[str, object]]:
    """One flat row in the REST shape; the FROM resource's resourceName always comes along."""
    out: dict[str, dict[str, object]] = {}
    for name in dict.fromkeys([f"{query.resource}.resource_name", *query.fields]):
        obj, attr = name.split(".")
        value = row[name]
        out.setdefault(_camel(obj), {})[_camel(attr)] = (
            str(value) if name in _INT64_FIELDS else value
        )
    return out


def field_mask(query: Query) -> str:
    return ",".join(".".join(_camel(part) for part in f.split(".")) for f in query.fields)


# --- HTTP ---------------------------------------------------------------------------------


def _authenticate(
    world: World, request: Request, customer_id: str, version: str
) -> AdAccount | Response:
    """The customer's account, or the error Google answers a badly authorized call with."""
    authorization = request.headers.get("authorization", "")
    # the fixed token, or one the sandbox's /token issued and has not expired yet (Google
    # answers an expired token like any invalid one)
    valid = authorization == f"Bearer {SANDBOX_ACCESS_TOKEN}" or request.token_state == "valid"
    if not authorization:
        return error_response(
            401,
            "Request is missing required authentication credential. Expected OAuth 2 access token, "
            "login cookie or other valid authentication credential. "
            "See https://developers.google.com/identity/sign-in/web/devconsole-project.",
            "UNAUTHENTICATED",
        )
    if not valid:
        return error_response(
            401,
            "Request had invalid authentication credentials. Expected OAuth 2 access token, "
            "login cookie or other valid authentication credential. "
            "See https://developers.google.com/identity/sign-in/web/devconsole-project.",
            "UNAUTHENTICATED",
        )
    if request.headers.get("developer-token") != SANDBOX_DEVELOPER_TOKEN:
        return error_response(
            403,
            "The developer token is not valid.",
            "PERMISSION_DENIED",
            {"authenticationError": "DEVELOPER_TOKEN_INVALID"},
            version,
        )
    login_customer_id = request.headers.get("login-customer-id")
    if login_customer_id is not None and not login_customer_id.isdigit():
        return error_response(
            400,
            f"Invalid login-customer-id '{login_customer_id}': digits only, without dashes.",
            "INVALID_ARGUMENT",
            {"requestError": "INVALID_LOGIN_CUSTOMER_ID"},
            version,
        )
    if not customer_id.isdigit():
        return error_response(
            400,
            f"Invalid customer ID '{customer_id}'.",
            "INVALID_ARGUMENT",
            {"requestError": "INVALID_CUSTOMER_ID"},
            version,
        )
    for account in world.ad_accounts:
        if account.platform == PLATFORM and account.account_id == customer_id:
            return account
    return error_response(
        403,
        "User doesn't have permission to access customer. Note: If you're accessing a client "
        "customer, the manager's customer id must be set in the 'login-customer-id' header.",
        "PERMISSION_DENIED",
        {"authorizationError": "USER_PERMISSION_DENIED"},
        version,
    )


def _page_token(offset: int, fingerprint: str) -> str:
    return base64.urlsafe_b64encode(f"{offset}:{fingerprint}".encode()).decode()


def _page_offset(token: str, fingerprint: str) -> int:
    """Offset a ``nextPageToken`` stands for; a token from another query is refused."""
    try:
        offset, _, seen = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if seen == fingerprint and int(offset) >= 0:
            return int(offset)
    except ValueError:
        pass
    raise GaqlError("Page token is invalid.", "INVALID_PAGE_TOKEN", "requestError")


def handle(world: World, request: Request) -> Response:
    """Serve ``POST /vNN/customers/{id}/googleAds:search`` and ``...:searchStream``."""
    match = _PATH.match(request.path)
    if match is None or request.method != "POST":
        return error_response(
            404, f"Method not found: {request.method} {request.path}", "NOT_FOUND"
        )
    version = match["version"]
    if int(version) > NEWEST_VERSION:
        return error_response(
            404, f"Method not found: {request.method} {request.path}", "NOT_FOUND"
        )
    if int(version) < OLDEST_VERSION:
        return error_response(
            400,
            f"Version v{version} is deprecated. Requests to this version will be blocked.",
            "INVALID_ARGUMENT",
            {"requestError": "UNSUPPORTED_VERSION"},
        )
    customer = _authenticate(world, request, match["customer"], version)
    if isinstance(customer, Response):
        return customer
    try:
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            raise GaqlError(
                "Invalid JSON payload: 'query' is required.", "REQUIRED_FIELD_MISSING", "fieldError"
            )
        query = parse_gaql(body["query"])
        rows = run_query(world, customer, query)
        results = [to_rest_row(row, query) for row in rows]
        request_id = _request_id(customer.account_id, body["query"])
        header = {"fieldMask": field_mask(query), "requestId": request_id}
        if match["method"] == "searchStream":
            batches = [
                {"results": results[i : i + STREAM_BATCH_SIZE], **header}
                for i in range(0, len(results), STREAM_BATCH_SIZE)
            ]
            return Response.json(batches or [header])  # Google omits an empty "results"
        fingerprint = request_id[:8]  # ties page tokens to this customer and query
        offset = _page_offset(body["pageToken"], fingerprint) if body.get("pageToken") else 0
        page_size = int(body.get("pageSize") or DEFAULT_PAGE_SIZE)
        if page_size <= 0:
            raise GaqlError("Page size must be positive.", "INVALID_PAGE_SIZE", "requestError")
    except GaqlError as exc:
        return error_response(400, str(exc), "INVALID_ARGUMENT", exc.error_code, version)
    except (ValueError, TypeError) as exc:  # body is not JSON, pageSize not a number
        return error_response(400, f"Invalid JSON payload received. {exc}", "INVALID_ARGUMENT")
    page: dict[str, object] = {}
    if results[offset : offset + page_size]:
        page["results"] = results[offset : offset + page_size]
    page.update(header)
    if offset + page_size < len(results):
        page["nextPageToken"] = _page_token(offset + page_size, fingerprint)
    if body.get("returnTotalResultsCount"):
        page["totalResultsCount"] = str(len(results))
    return Response.json(page)
