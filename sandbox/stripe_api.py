"""Stripe v1 list and retrieve endpoints over a ``World``, on Stripe's wire format.

The point is that an unmodified Stripe client (the official SDK, dlt's Stripe source, curl)
behaves against the sandbox exactly as against api.stripe.com: same auth, same list objects,
same cursor semantics, same error bodies. The sandbox is read-only; anything that would
create or change an object is refused.

Objects are served in the version the ``Stripe-Version`` header names, else in the account's
default (``World.stripe_api_version``); events in the account's default, as Stripe renders an
event once (``stripe_versions.py``).

Lists hold up to ~100k objects, so each resource is sorted once per world (oldest first by
``(created, id)``) and every page is found by bisecting that order: a page costs
O(log n + limit), whatever its depth.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import threading
import weakref
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sandbox import stripe_versions
from sandbox.http import Request, Response
from sandbox.world import STRIPE_RESOURCES, World

#: The secret key the sandbox accepts unless the world carries its own ``stripe_api_key``.
SANDBOX_API_KEY = "sk_test_northstar_sandbox"

#: Stripe only serves events from the last 30 days, on list and on retrieve.
EVENT_RETENTION_SECONDS = 30 * 24 * 3600

MAX_LIMIT = 100
DEFAULT_LIMIT = 10

#: Singular object names, as Stripe spells them in "No such <object>: '<id>'".
OBJECT_NAMES = {
    "customers": "customer",
    "products": "product",
    "prices": "price",
    "coupons": "coupon",
    "subscriptions": "subscription",
    "invoices": "invoice",
    "charges": "charge",
    "refunds": "refund",
    "balance_transactions": "balance_transaction",
    "events": "event",
    "invoice_payments": "invoice_payment",
}

SUBSCRIPTION_STATUSES = (
    "active",
    "past_due",
    "unpaid",
    "canceled",
    "incomplete",
    "incomplete_expired",
    "trialing",
    "paused",
)
#: What ``GET /v1/subscriptions`` lists without ``status``: everything not ended.
DEFAULT_SUBSCRIPTION_STATUSES = frozenset(SUBSCRIPTION_STATUSES) - {
    "canceled",
    "incomplete_expired",
}
INVOICE_STATUSES = ("draft", "open", "paid", "uncollectible", "void")

_MISSING_KEY_MESSAGE = (
    "You did not provide an API key. You need to provide your API key in the Authorization "
    "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
    "https://stripe.com/docs/api#authentication for details, or we can help at "
    "https://support.stripe.com/."
)

_PAGING_PARAMS = frozenset({"limit", "starting_after", "ending_before"})
_CREATED_PARAMS = frozenset(
    {"created", "created[gt]", "created[gte]", "created[lt]", "created[lte]"}
)
#: Array parameters arrive as ``name[]`` (curl) or ``name[0]`` (the SDKs).
_ARRAY_PARAM = re.compile(r"^(?P<name>\w+)\[\d*\]$")


class StripeError(Exception):
    """An error answered as Stripe's ``{"error": {...}}`` body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.headers = headers or {}

    def response(self) -> Response:
        error: dict[str, str] = {"message": self.message, "type": "invalid_request_error"}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        return Response.json({"error": error}, self.status, self.headers)


def _no_such(object_name: str, object_id: str, param: str, status: int) -> StripeError:
    return StripeError(
        status, f"No such {object_name}: '{object_id}'", param=param, code="resource_missing"
    )


# --- filters ---------------------------------------------------------------------------------


def _field(name: str) -> Callable[[dict], tuple[str, ...]]:
    """Values a list filter on ``name`` matches: ids of expanded objects, booleans as text."""

    def values(obj: dict) -> tuple[str, ...]:
        value = obj.get(name)
        if isinstance(value, dict):
            value = value.get("id")
        if isinstance(value, bool):
            value = "true" if value else "false"
        return () if value is None else (str(value),)

    return values


def _subscription_prices(subscription: dict) -> tuple[str, ...]:
    """A subscription matches ``price=`` if any of its items is on that price."""
    prices = (item.get("price") for item in (subscription.get("items") or {}).get("data") or [])
    return tuple(price["id"] if isinstance(price, dict) else price for price in prices if price)


#: List filters each resource accepts, by query parameter, with the values an object offers.
FILTERS: dict[str, dict[str, Callable[[dict], tuple[str, ...]]]] = {
    "customers": {"email": _field("email")},
    "products": {"active": _field("active")},
    "prices": {
        "active": _field("active"),
        "product": _field("product"),
        "currency": _field("currency"),
    },
    "coupons": {},
    "subscriptions": {
        "status": _field("status"),
        "customer": _field("customer"),
        "price": _subscription_prices,
    },
    "invoices": {
        "status": _field("status"),
        "customer": _field("customer"),
        "subscription": _field("subscription"),
    },
    "charges": {"customer": _field("customer")},
    "refunds": {"charge": _field("charge")},
    "balance_transactions": {"type": _field("type"), "source": _field("source")},
    "events": {"type": _field("type")},
    "invoice_payments": {"invoice": _field("invoice"), "status": _field("status")},
}

Filters = dict[str, frozenset[str]]  # parameter -> values an object may have to be listed


# --- indexes ---------------------------------------------------------------------------------


def _sort_key(obj: dict) -> tuple[int, str]:
    return (obj["created"], obj["id"])


@dataclass(frozen=True)
class _View:
    """Objects oldest first, with their sort keys alongside for bisect."""

    rows: list[dict]
    keys: list[tuple]

    @classmethod
    def sorted_by_created(cls, rows: list[dict]) -> _View:
        """``rows`` must already be oldest first by ``(created, id)``."""
        return cls(rows, [_sort_key(row) for row in rows])

    @classmethod
    def embedded(cls, newest_first: list[dict]) -> _View:
        """An embedded list (invoice lines, subscription items): its own order is newest first."""
        rows = newest_first[::-1]
        return cls(rows, [(position, row["id"]) for position, row in enumerate(rows)])


_EMPTY_VIEW = _View([], [])


class _ResourceIndex:
    """One resource of one world: sorted once, then filtered views built on demand and cached.

    Views for one filter value (``customer=cus_x``) come from a per-parameter grouping built in
    one pass, so fetching every customer's subscriptions in turn stays linear overall. Views
    combining several values or parameters are computed from the smallest group and kept in a
    small LRU cache, because paging through one means asking for it once per page.
    """

    _MAX_CACHED_VIEWS = 256

    def __init__(
        self, objects: Iterable[dict], filters: dict[str, Callable[[dict], tuple[str, ...]]]
    ):
        rows = sorted(objects, key=_sort_key)
        self.all = _View.sorted_by_created(rows)
        self.by_id = {row["id"]: row for row in rows}
        self._filters = filters
        self._groups: dict[str, dict[str, _View]] = {}
        self._views: OrderedDict[frozenset, _View] = OrderedDict()
        self._lock = threading.Lock()

    def _group(self, param: str) -> dict[str, _View]:
        if param not in self._groups:
            grouped: dict[str, list[dict]] = {}
            for row in self.all.rows:
                for value in set(self._filters[param](row)):
                    grouped.setdefault(value, []).append(row)
            self._groups[param] = {
                value: _View.sorted_by_created(rows) for value, rows in grouped.items()
            }
        return self._groups[param]

    def values(self, param: str) -> Iterable[str]:
        """Every value of ``param`` present in this resource (for wildcard event types)."""
        with self._lock:
            return list(self._group(param))

    def view(self, filters: Filters) -> _View:
        if not filters:
            return self.all
        with self._lock:
            if len(filters) == 1:
                [(param, values)] = filters.items()
                if len(values) == 1:
                    return self._group(param).get(next(iter(values)), _EMPTY_VIEW)
            key = frozenset(filters.items())
            if key in self._views:
                self._views.move_to_end(key)
                return self._views[key]
            view = self._compute(filters)
            self._views[key] = view
            if len(self._views) > self._MAX_CACHED_VIEWS:
                self._views.popitem(last=False)
            return view

    def _compute(self, filters: Filters) -> _View:
        def size(item: tuple[str, frozenset[str]]) -> int:
            param, values = item
            return sum(len(self._group(param).get(value, _EMPTY_VIEW).rows) for value in values)

        param, values = min(filters.items(), key=size)
        candidates = {
            row["id"]: row
            for value in values
            for row in self._group(param).get(value, _EMPTY_VIEW).rows
        }
        rows = [
            row
            for row in candidates.values()
            if all(set(self._filters[p](row)) & allowed for p, allowed in filters.items())
        ]
        return _View.sorted_by_created(sorted(rows, key=_sort_key))


class _WorldIndex:
    """The resource indexes of one world, each built on first use."""

    def __init__(self, world: World):
        self._world = weakref.ref(world)
        self._resources: dict[str, _ResourceIndex] = {}
        self._lock = threading.Lock()

    def resource(self, name: str) -> _ResourceIndex:
        with self._lock:
            if name not in self._resources:
                world = self._world()
                assert world is not None, "index outlived its world"
                objects = world.stripe.get(name, [])
                if name == "events":
                    oldest = world.as_of_ts - EVENT_RETENTION_SECONDS
                    objects = [event for event in objects if event["created"] >= oldest]
                self._resources[name] = _ResourceIndex(objects, FILTERS[name])
            return self._resources[name]


_INDEXES: dict[int, _WorldIndex] = {}
_INDEXES_LOCK = threading.Lock()


def _index(world: World) -> _WorldIndex:
    """The cached index of ``world`` (World is an unhashable dataclass, hence keyed by id and
    dropped when the world is garbage collected, before its id can be reused)."""
    with _INDEXES_LOCK:
        index = _INDEXES.get(id(world))
        if index is None:
            index = _INDEXES[id(world)] = _WorldIndex(world)
            weakref.finalize(world, _INDEXES.pop, id(world), None)
        return index


# --- request parsing -------------------------------------------------------------------------


def _params(request: Request, accepted: Iterable[str]) -> dict[str, list[str]]:
    """Query parameters by name (array forms folded to their name), refusing unknown ones like
    Stripe does, so a client relying on a filter the sandbox lacks fails loudly. ``expand`` is
    read apart (``_expansions``): only ``discounts`` changes what is served, the world's objects
    already embed the rest."""
    accepted = set(accepted)
    params: dict[str, list[str]] = {}
    for raw_name, values in request.query.items():
        array = _ARRAY_PARAM.match(raw_name)
        name = array["name"] if array else raw_name
        if name == "expand":
            continue
        if name not in accepted:
            raise StripeError(400, f"Received unknown parameter: {raw_name}", param=raw_name)
        params.setdefault(name, []).extend(values)
    return params


def _expansions(request: Request, prefix: str = "") -> frozenset[str]:
    """The request's ``expand[]`` paths below ``prefix`` (``data.`` on lists)."""
    paths = []
    for raw_name, values in request.query.items():
        array = _ARRAY_PARAM.match(raw_name)
        if (array["name"] if array else raw_name) == "expand":
            paths.extend(values)
    return frozenset(p.removeprefix(prefix) for p in paths if p.startswith(prefix))


@dataclass(frozen=True)
class _Version:
    """How this request's objects are rendered: its version and the account's default."""

    date: str
    account_version: str

    def present(self, obj: dict, expand: frozenset[str] = frozenset()) -> dict:
        if obj.get("object") == "event":
            return stripe_versions.render_event(obj, self.account_version)
        return stripe_versions.render(obj, self.date, expand)


def _integer(params: dict[str, list[str]], name: str) -> int | None:
    if name not in params:
        return None
    text = params[name][0]
    try:
        return int(text)
    except ValueError:
        raise StripeError(
            400, f"Invalid integer: {text}", param=name, code="parameter_invalid_integer"
        ) from None


@dataclass(frozen=True)
class _Page:
    """Paging parameters of a list request."""

    limit: int
    starting_after: str | None
    ending_before: str | None
    created_min: int | None  # inclusive
    created_max: int | None  # inclusive

    @classmethod
    def parse(cls, params: dict[str, list[str]]) -> _Page:
        limit = _integer(params, "limit")
        if limit is None:
            limit = DEFAULT_LIMIT
        elif limit < 1:
            raise StripeError(400, "This value must be greater than or equal to 1.", param="limit")
        elif limit > MAX_LIMIT:
            raise StripeError(
                400, f"This value must be less than or equal to {MAX_LIMIT}.", param="limit"
            )
        starting_after = params.get("starting_after", [None])[0] or None
        ending_before = params.get("ending_before", [None])[0] or None
        if starting_after and ending_before:
            raise StripeError(
                400, "You may only specify one of these parameters: ending_before, starting_after."
            )
        bounds_min = [_integer(params, "created"), _integer(params, "created[gte]")]
        bounds_max = [_integer(params, "created"), _integer(params, "created[lte]")]
        if (gt := _integer(params, "created[gt]")) is not None:
            bounds_min.append(gt + 1)
        if (lt := _integer(params, "created[lt]")) is not None:
            bounds_max.append(lt - 1)
        created_min = max((b for b in bounds_min if b is not None), default=None)
        created_max = min((b for b in bounds_max if b is not None), default=None)
        return cls(limit, starting_after, ending_before, created_min, created_max)

    def slice(self, view: _View, cursor_key: tuple | None) -> tuple[list[dict], bool]:
        """This page of ``view``, newest first, and whether more lie beyond it.

        Beyond means older for ``starting_after`` (and no cursor), newer for ``ending_before``:
        the SDK's backward auto-paging relies on that.
        """
        lo = 0 if self.created_min is None else bisect_left(view.keys, (self.created_min,))
        hi = (
            len(view.keys)
            if self.created_max is None
            else bisect_left(view.keys, (self.created_max + 1,))
        )
        if self.ending_before and cursor_key is not None:
            lo = max(lo, bisect_right(view.keys, cursor_key))
            end = min(hi, lo + self.limit)
            return view.rows[lo:end][::-1], end < hi
        if cursor_key is not None:
            hi = min(hi, bisect_left(view.keys, cursor_key))
        start = max(lo, hi - self.limit)
        return view.rows[start:hi][::-1], start > lo

    @property
    def cursor(self) -> tuple[str, str] | None:
        if self.starting_after:
            return "starting_after", self.starting_after
        if self.ending_before:
            return "ending_before", self.ending_before
        return None


def _one_of(param: str, value: str, choices: Iterable[str]) -> str:
    choices = list(choices)
    if value not in choices:
        allowed = ", ".join(choices[:-1]) + f", or {choices[-1]}"
        raise StripeError(400, f"Invalid {param}: must be one of {allowed}", param=param)
    return value


def _filters(resource: str, params: dict[str, list[str]], index: _ResourceIndex) -> Filters:
    """The filters of a list request, with Stripe's special cases for statuses and event types."""
    filters: Filters = {
        param: frozenset(params[param][:1]) for param in FILTERS[resource] if param in params
    }
    if resource == "subscriptions":
        status = params.get("status", [""])[0]
        if not status:
            filters["status"] = DEFAULT_SUBSCRIPTION_STATUSES
        elif _one_of("status", status, (*SUBSCRIPTION_STATUSES, "all", "ended")) == "all":
            del filters["status"]
        elif status == "ended":
            filters["status"] = frozenset({"canceled", "incomplete_expired"})
    elif resource == "invoices" and "status" in params:
        _one_of("status", params["status"][0], INVOICE_STATUSES)
    elif resource == "events":
        if "type" in params and "types" in params:
            raise StripeError(400, "You may only specify one of these parameters: type, types.")
        patterns = params.get("type", [])[:1] or params.get("types", [])
        if patterns:
            known = index.values("type")
            filters["type"] = frozenset(
                event_type
                for pattern in patterns
                for event_type in (
                    [t for t in known if t.startswith(pattern[:-1])]
                    if pattern.endswith("*")
                    else [pattern]
                )
            )
    return filters


# --- endpoints -------------------------------------------------------------------------------


def _list_object(data: list[dict], has_more: bool, url: str) -> Response:
    return Response.json({"object": "list", "data": data, "has_more": has_more, "url": url})


def _list_resource(world: World, request: Request, resource: str, version: _Version) -> Response:
    index = _index(world).resource(resource)
    extra = ("types",) if resource == "events" else ()
    params = _params(request, [*_PAGING_PARAMS, *_CREATED_PARAMS, *FILTERS[resource], *extra])
    page = _Page.parse(params)
    cursor_key = None
    if page.cursor:
        param, cursor_id = page.cursor
        if cursor_id not in index.by_id:
            raise _no_such(OBJECT_NAMES[resource], cursor_id, param, 400)
        cursor_key = _sort_key(index.by_id[cursor_id])
    data, has_more = page.slice(index.view(_filters(resource, params, index)), cursor_key)
    expand = _expansions(request, "data.")
    return _list_object([version.present(o, expand) for o in data], has_more, f"/v1/{resource}")


def _list_embedded(
    request: Request,
    items: list[dict],
    object_name: str,
    url: str,
    version: _Version,
    accepted: Iterable[str] = (),
) -> Response:
    """Page an embedded list (invoice lines, subscription items) in its own order."""
    page = _Page.parse(_params(request, [*_PAGING_PARAMS, *accepted]))
    view = _View.embedded(items)
    cursor_key = None
    if page.cursor:
        param, cursor_id = page.cursor
        cursor_key = next((key for key in view.keys if key[1] == cursor_id), None)
        if cursor_key is None:
            raise _no_such(object_name, cursor_id, param, 400)
    data, has_more = page.slice(view, cursor_key)
    return _list_object([version.present(o) for o in data], has_more, url)


def _retrieve(
    world: World, request: Request, resource: str, object_id: str, version: _Version
) -> dict:
    _params(request, ())
    obj = _index(world).resource(resource).by_id.get(object_id)
    if obj is None:
        raise _no_such(OBJECT_NAMES[resource], object_id, "id", 404)
    return version.present(obj, _expansions(request))


def _invoice_lines(
    world: World, request: Request, invoice_id: str, version: _Version
) -> Response:
    invoice = _index(world).resource("invoices").by_id.get(invoice_id)
    if invoice is None:
        raise _no_such("invoice", invoice_id, "id", 404)
    lines = (invoice.get("lines") or {}).get("data") or []
    return _list_embedded(
        request, lines, "line_item", f"/v1/invoices/{invoice_id}/lines", version
    )


def _subscription_items(world: World, request: Request, version: _Version) -> Response:
    subscription_id = request.query.get("subscription", [""])[0]
    if not subscription_id:
        raise StripeError(
            400,
            "Missing required param: subscription.",
            param="subscription",
            code="parameter_missing",
        )
    subscription = _index(world).resource("subscriptions").by_id.get(subscription_id)
    if subscription is None:
        raise _no_such("subscription", subscription_id, "subscription", 400)
    items = (subscription.get("items") or {}).get("data") or []
    return _list_embedded(
        request, items, "subscription_item", "/v1/subscription_items", version, ["subscription"]
    )


def _route(world: World, request: Request, version: _Version) -> Response:
    # "/v1/invoices/in_1/lines" -> ["invoices", "in_1", "lines"]
    parts = request.path.rstrip("/").split("/")[2:]
    known = bool(parts) and (parts[0] in STRIPE_RESOURCES or parts == ["subscription_items"])
    if known and request.method not in ("GET", "HEAD"):
        raise StripeError(
            405,
            f"The Northstar sandbox is read-only: {request.method} {request.path} is not supported.",
            headers={"Allow": "GET, HEAD"},
        )
    if parts == ["subscription_items"]:
        return _subscription_items(world, request, version)
    if known and len(parts) == 1:
        return _list_resource(world, request, parts[0], version)
    if known and len(parts) == 2:
        return Response.json(_retrieve(world, request, parts[0], parts[1], version))
    if known and parts[0] == "invoices" and len(parts) == 3 and parts[2] == "lines":
        return _invoice_lines(world, request, parts[1], version)
    raise StripeError(
        404,
        f"Unrecognized request URL ({request.method}: {request.path}). Please see "
        "https://stripe.com/docs or we can help at https://support.stripe.com/.",
    )


# --- auth and entry point --------------------------------------------------------------------


def _presented_key(request: Request) -> str | None:
    """The key from ``Authorization: Bearer <key>`` or Basic auth with the key as user name."""
    scheme, _, credentials = request.headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer":
        return credentials.strip() or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode()
        except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
            return None
        return decoded.partition(":")[0] or None
    return None


def mask_key(key: str) -> str:
    """Stripe's rendering of a rejected key: prefix and last four kept, the rest starred."""
    prefix_match = re.match(r"^[a-z]+_(?:(?:test|live)_)?", key)
    prefix = prefix_match.group(0) if prefix_match else ""
    secret = key[len(prefix) :]
    tail = secret[-4:] if len(secret) > 8 else ""
    return prefix + "*" * (len(secret) - len(tail)) + tail


def _authenticate(world: World, request: Request) -> None:
    expected = getattr(world, "stripe_api_key", None) or SANDBOX_API_KEY
    key = _presented_key(request)
    challenge = {"WWW-Authenticate": 'Basic realm="Stripe"'}
    if key is None:
        raise StripeError(401, _MISSING_KEY_MESSAGE, headers=challenge)
    if not hmac.compare_digest(key.encode(), expected.encode()):
        raise StripeError(401, f"Invalid API Key provided: {mask_key(key)}", headers=challenge)


def _request_id(request: Request) -> str:
    """A ``req_...`` id like Stripe's, derived from the request so runs are reproducible."""
    query = sorted((name, value) for name, values in request.query.items() for value in values)
    digest = hashlib.blake2b(f"{request.method} {request.path} {query}".encode(), digest_size=7)
    return f"req_{digest.hexdigest()}"


def _version(world: World, request: Request) -> tuple[str, _Version]:
    """The version the request asks for (``Stripe-Version``), else the account's default."""
    account = world.stripe_api_version
    asked = request.headers.get("stripe-version", "").strip() or account
    try:
        stripe_versions.version_date(account)
        return asked, _Version(stripe_versions.version_date(asked), account)
    except stripe_versions.UnknownVersion as exc:
        raise StripeError(400, str(exc)) from None


def handle(world: World, request: Request) -> Response:
    """Answer one ``/v1/...`` request as api.stripe.com would."""
    version_name = None
    try:
        _authenticate(world, request)
        version_name, version = _version(world, request)
        response = _route(world, request, version)
    except StripeError as error:
        response = error.response()
    response.headers["Request-Id"] = _request_id(request)
    if version_name:
        response.headers["Stripe-Version"] = version_name
    return response
