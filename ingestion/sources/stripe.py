"""Stripe -> ``raw_stripe``: every billing object, kept current, with the history Stripe forgets.

Tables: customers, products, prices, coupons, subscriptions (+ ``subscriptions__items__data``,
``subscriptions__discounts``), invoices (+ ``invoices__lines__data``, ``invoices__discounts``),
charges, invoice_payments, refunds, balance_transactions, events and subscription_history.
Everything merges on ``id``, so re-reading an overlap never duplicates.

Every request names its API version (``Stripe-Version``, the ``api_version`` setting), so the
objects have the shape the staging models were tested with, whatever version the account is
pinned to; events keep the version the account had when they happened (Stripe renders them
once), so both shapes can arrive and staging reads either (models/staging/stripe/). Column
types are declared once (``stripe_columns.py``): a field no object has set yet still has its
column, and a resource with no object yet still has its table.

Two incremental strategies, because Stripe objects come in two kinds:

- Objects that do not change once created (products, prices, coupons, refunds) are listed
  with ``created[gte]`` = the stored cursor (``dlt.sources.incremental("created")``).
  balance_transactions change once (``pending`` -> ``available`` within days), so they are
  re-listed over a lookback window (the incremental's ``lag``).
- Objects that change (customers, subscriptions, invoices, charges) are fully listed once.
  Later runs read ``/v1/events`` since the newest event seen by the previous run and merge
  the latest ``data.object`` of every event that mentions an object (the object as it was
  at that event, i.e. its current state unless a newer event exists), plus a
  ``created[gte]`` listing for new objects. Stripe only keeps 30 days of events: when the
  stored cursor event is no longer retrievable, a full reload happens instead.

Because Stripe forgets events and overwrites objects, ``events`` keeps every event ever
read, and ``subscription_history`` keeps one row per distinct subscription state observed,
with ``observed_at``: the API's own clock (the response's ``Date`` header) when the state was
read, so that what a load saw is dated by the account's time, never by the machine's.
Cursors live in dlt's state, which dlt restores from the warehouse when the local pipelines
folder is missing.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from typing import Any

import dlt
from dlt.common import logger
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
from dlt.sources.helpers.rest_client.paginators import BasePaginator
from requests import Request, Response

from ingestion.common.errors import (
    Envelope,
    SourceHTTPError,
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
from ingestion.sources import stripe_columns as columns

SOURCE = "stripe"
#: The Stripe API version requested by default: the newest the project supports and tests
#: (tests/ingestion/test_stripe_versions.py builds identical marts from it and from
#: 2024-06-20), and the one the official ``stripe`` SDK in uv.lock (16.1.0) pins. Raise it
#: together with the SDK, after reading Stripe's changelog for the fields staging reads.
DEFAULT_API_VERSION = "2026-10-28.endive"
#: Stripe's largest page.
PAGE_LIMIT = 100
#: How far back balance transactions are re-listed: their status settles within days.
BALANCE_LOOKBACK_SECONDS = 14 * 24 * 3600

#: Objects that change after creation, by the ``object`` name their events carry.
MUTABLE_RESOURCES = {
    "customer": "customers",
    "subscription": "subscriptions",
    "invoice": "invoices",
    "charge": "charges",
    "invoice_payment": "invoice_payments",
}
#: Extra list parameters: without ``status=all`` Stripe hides canceled subscriptions; since
#: basil a subscription's or invoice's discounts (and their coupon) come only as expanded
#: ``discounts`` (Stripe keeps only ids otherwise).
LIST_PARAMS: dict[str, dict[str, str]] = {
    "subscriptions": {"status": "all", "expand[]": "data.discounts"},
    "invoices": {"expand[]": "data.discounts"},
}
#: Resources whose objects are read with ``discounts`` expanded (see LIST_PARAMS).
EXPANDS_DISCOUNTS = frozenset({"subscriptions", "invoices"})

Page = list[dict[str, Any]]

#: Cursors on ``created`` (dlt copies a default incremental for every resource it binds).
CREATED_CURSOR = dlt.sources.incremental("created")
#: localstripe's plans, loaded when prices are missing, may lack ``created``: keep them.
PRICES_CURSOR = dlt.sources.incremental("created", on_cursor_value_missing="include")
#: Balance transactions are re-read over the lookback window, where their status settles.
BALANCE_CURSOR = dlt.sources.incremental("created", lag=BALANCE_LOOKBACK_SECONDS)


class StripePaginator(BasePaginator):
    """Stripe lists: ``has_more`` says whether to go on, the last object's id is the cursor."""

    def __init__(self) -> None:
        super().__init__()
        self._last_id: str | None = None

    def update_state(self, response: Response, data: list[Any] | None = None) -> None:
        body = response.json()
        items = body.get("data") or []
        self._last_id = items[-1]["id"] if items else None
        self._has_next_page = bool(body.get("has_more")) and self._last_id is not None

    def update_request(self, request: Request) -> None:
        request.params = {**(request.params or {}), "starting_after": self._last_id}


def _error_detail(response: Response) -> str:
    """Stripe's error message, except for auth errors: those echo (part of) the key."""
    if response.status_code in (401, 403):
        return "the API key was refused (check SOURCES__STRIPE__API_KEY)"
    error = response.json().get("error") or {}
    return str(error.get("message") or error.get("type") or "")


class StripeAPI:
    """The few calls the resources need, over dlt's RESTClient.

    Also memoizes the reads several resources share within one run (the events since a
    cursor, the newest event, whether an event is still retained), so that the mutable
    resources and ``events`` cost one events listing between them, and notes when each
    object was read by the API's clock (``observed_at``, see ``observe``).
    """

    def __init__(
        self, api_base: str, api_key: str, api_version: str = DEFAULT_API_VERSION,
        timeouts: Timeouts | None = None,
    ) -> None:
        self.client = RESTClient(
            base_url=api_base.rstrip("/"),
            headers={"Stripe-Version": api_version},
            auth=BearerTokenAuth(api_key),
            paginator=StripePaginator(),
            data_selector="data",
            session=http_session(timeouts or Timeouts()),  # RUNTIME__REQUEST_* retries, timeouts
        )
        #: the API's time (epoch seconds, its ``Date`` header) at the latest response
        self.server_time: int | None = None
        #: object id -> the API's time when this run read the state it loaded
        self.observed_at: dict[str, int] = {}
        self._events_since: dict[int | None, Page] = {}
        self._events_read_at: dict[int | None, int | None] = {}
        self._retained: dict[str, bool] = {}
        self._newest_event: dict[str, Any] | None = None

    def _clock(self, response: Response, *args: Any, **kwargs: Any) -> None:
        """Note the API's time of a response: its ``Date`` header (the machine's clock only
        when an answer has none). The sandbox's clock is its simulated as-of."""
        if response.status_code >= 400:
            return
        try:
            self.server_time = int(parsedate_to_datetime(response.headers["Date"]).timestamp())
        except (KeyError, TypeError, ValueError):
            self.server_time = int(time.time())

    def _hooks(self, envelope: Envelope) -> dict[str, list[Any]]:
        """The API's clock first, then the status and envelope checks of every Stripe answer."""
        return {"response": [self._clock, *_hooks(envelope)["response"]]}

    def observe(self, objects: Page, at: int | None = None) -> None:
        """Note that this run read these objects' states at ``at`` (default: the latest
        response's time, i.e. the page just received)."""
        when = self.server_time if at is None else at
        for obj in objects:
            self.observed_at[obj["id"]] = when

    def pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[Page]:
        """Every page of a list endpoint, newest objects first."""
        params = {"limit": PAGE_LIMIT, **(params or {})}
        with retries_exhausted(SOURCE):
            for page in self.client.paginate(path, params=params, hooks=self._hooks(A_LIST)):
                yield list(page)

    def get(
        self, path: str, params: dict[str, Any] | None = None, envelope: Envelope | None = None
    ) -> dict[str, Any]:
        """One object (``envelope``: one with an ``id``), or a list's first page."""
        with retries_exhausted(SOURCE):
            return self.client.get(path, params=params, hooks=self._hooks(envelope or AN_OBJECT)).json()

    def events_since(self, created: int | None) -> Page:
        """Events created at or after ``created`` (all that Stripe serves if None)."""
        if created not in self._events_since:
            params = {} if created is None else {"created[gte]": created}
            events: Page = []
            read_at = None
            for page in self.pages("/v1/events", params):
                read_at = self.server_time if read_at is None else read_at
                events.extend(page)
            self._events_since[created] = events
            self._events_read_at[created] = read_at
        return self._events_since[created]

    def events_read_at(self, created: int | None) -> int | None:
        """The API's time when ``events_since(created)`` began: the newest event of an object
        in that listing shows the object's state as of then (a later change would be a later
        event, on a page before the first)."""
        self.events_since(created)
        return self._events_read_at[created]

    def newest_event(self) -> dict[str, Any] | None:
        """The latest event, read before a full listing so nothing after it is missed."""
        if self._newest_event is None:
            page = self.get("/v1/events", {"limit": 1}, A_LIST)["data"]
            self._newest_event = page[0] if page else {}
        return self._newest_event or None

    def event_retained(self, event_id: str) -> bool:
        """Whether Stripe still serves this event (it forgets events after 30 days)."""
        if event_id not in self._retained:
            try:
                self.get(f"/v1/events/{event_id}")
                self._retained[event_id] = True
            except SourceHTTPError as exc:
                if exc.status != 404:
                    raise
                self._retained[event_id] = False
        return self._retained[event_id]


#: Every Stripe list is ``{"object": "list", "data": [...], "has_more": ...}``; every object
#: has an ``id``. An answer without them fails the source instead of reading as empty.
A_LIST, AN_OBJECT = list_under("data"), object_with("id")


def _hooks(envelope: Envelope) -> dict[str, list[Any]]:
    """Error statuses end the run (or go back to the retries); a 2xx must have ``envelope``."""
    return {"response": [error_hook(SOURCE, _error_detail, secrets=()),
                         envelope_hook(SOURCE, envelope)]}


# --- helpers -----------------------------------------------------------------------------------


def _created_params(created: dlt.sources.incremental[int]) -> dict[str, Any]:
    """``created[gte]`` from the stored cursor (lag applied); nothing on the first run."""
    return {} if created.last_value is None else {"created[gte]": created.last_value}


def _event_cursor(event: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if event is None else {"id": event["id"], "created": event["created"]}


def _latest_objects(events: Page, object_name: str) -> dict[str, dict[str, Any]]:
    """The most recent snapshot (``data.object``) of every ``object_name`` the events mention."""
    latest: dict[str, tuple[int, dict[str, Any]]] = {}
    for event in events:
        obj = (event.get("data") or {}).get("object") or {}
        if obj.get("object") != object_name or "id" not in obj:
            continue
        seen = latest.get(obj["id"])
        if seen is None or event["created"] >= seen[0]:
            latest[obj["id"]] = (event["created"], obj)
    return {object_id: obj for object_id, (_, obj) in latest.items()}


def _mutable_pages(api: StripeAPI, object_name: str) -> Iterator[Page]:
    """Current state of a mutable resource: the changes since the last run when Stripe still
    has the events for them, else a full listing.

    The cursor (in this resource's own state, so a run that skipped the resource cannot make
    it miss changes) is the newest event read before the objects were: anything later is
    read again next time.
    """
    state = dlt.current.resource_state()
    cursor = state.get("event_cursor")
    if cursor and state.get("max_created") is not None and api.event_retained(cursor["id"]):
        yield from _changed_pages(api, object_name, state)
        return
    if cursor:
        logger.warning(
            f"{SOURCE}: the events since the last run are gone (Stripe keeps 30 days);"
            f" reloading all {MUTABLE_RESOURCES[object_name]}"
        )
    yield from _full_pages(api, object_name, state)


def _full_pages(api: StripeAPI, object_name: str, state: dict[str, Any]) -> Iterator[Page]:
    resource = MUTABLE_RESOURCES[object_name]
    newest = api.newest_event()
    max_created = None
    for page in _listing(api, resource, LIST_PARAMS.get(resource, {})):
        max_created = _max_created(max_created, page)
        api.observe(page)
        yield page
    state["event_cursor"] = _event_cursor(newest)
    state["max_created"] = max_created


def _changed_pages(api: StripeAPI, object_name: str, state: dict[str, Any]) -> Iterator[Page]:
    """Latest event snapshots of the objects changed since the cursor, plus new objects
    listed by ``created[gte]`` (a listing is at least as fresh as any snapshot, so it wins)."""
    resource = MUTABLE_RESOURCES[object_name]
    events = api.events_since(state["event_cursor"]["created"])
    snapshots = _latest_objects(events, object_name)
    api.observe(list(snapshots.values()), api.events_read_at(state["event_cursor"]["created"]))
    listed: dict[str, dict[str, Any]] = {}
    params = {**LIST_PARAMS.get(resource, {}), "created[gte]": state["max_created"]}
    for page in _listing(api, resource, params):
        listed.update((obj["id"], obj) for obj in page)
        api.observe(page)
        state["max_created"] = _max_created(state["max_created"], page)
    changed = {**snapshots, **listed}
    if resource in EXPANDS_DISCOUNTS:
        for object_id, obj in snapshots.items():
            if object_id not in listed and _discounts_unknown(obj):
                changed[object_id] = _reread(api, resource, obj)
    if events:
        state["event_cursor"] = _event_cursor(events[0])  # lists are newest first
    if changed:
        yield list(changed.values())


def _listing(api: StripeAPI, resource: str, params: dict[str, Any]) -> Iterator[Page]:
    """A list's pages, its discounts expanded where the API can: a Stripe whose objects have
    no discounts at all (localstripe) refuses the expansion, and is read without it."""
    try:
        yield from api.pages(f"/v1/{resource}", params)
    except SourceHTTPError as exc:
        if exc.status != 400 or "expand" not in exc.detail.lower() or "expand[]" not in params:
            raise
        logger.warning(f"{SOURCE}: /v1/{resource} refused expand[]: reading it unexpanded")
        unexpanded = {k: v for k, v in params.items() if k != "expand[]"}
        yield from api.pages(f"/v1/{resource}", unexpanded)


def _discount_ids(obj: dict[str, Any]) -> list[str]:
    """The ids in ``discounts``, whether expanded or not."""
    return [d if isinstance(d, str) else d.get("id") for d in obj.get("discounts") or []]


def _discounts_unknown(obj: dict[str, Any]) -> bool:
    """Whether a snapshot names a discount without its coupon. Events never expand: their
    ``discounts`` are ids; only versions before basil add the single ``discount`` in full."""
    single = obj.get("discount")
    known = {single.get("id")} if isinstance(single, dict) else set()
    expanded = {d.get("id") for d in obj.get("discounts") or [] if isinstance(d, dict)}
    return any(i not in known | expanded for i in _discount_ids(obj))


def _reread(api: StripeAPI, resource: str, snapshot: dict[str, Any]) -> dict[str, Any]:
    """The object as it is now, its discounts expanded (the snapshot if it is gone)."""
    try:
        current = api.get(f"/v1/{resource}/{snapshot['id']}", {"expand[]": "discounts"})
        api.observe([current])
        return current
    except SourceHTTPError as exc:
        if exc.status != 404:
            raise
        return snapshot


def _max_created(current: int | None, page: Page) -> int | None:
    values = [obj["created"] for obj in page] + ([] if current is None else [current])
    return max(values, default=None)


def _or_empty_table(pages: Iterator[Page]) -> Iterator[Any]:
    """The pages; if there is none, an empty table all the same (``columns`` give its shape):
    an account without a coupon or a refund yet still has the table staging reads."""
    empty = True
    for page in pages:
        empty = empty and not page
        yield page
    if empty:
        yield dlt.mark.materialize_table_schema()


def _current_period(sub: dict[str, Any]) -> tuple[int | None, int | None]:
    """The subscription's billing period: on the subscription until basil (2025-03-31), on its
    items since, where items may differ: the span of them all."""
    if sub.get("current_period_start") is not None or sub.get("current_period_end") is not None:
        return sub.get("current_period_start"), sub.get("current_period_end")
    items = (sub.get("items") or {}).get("data") or []
    starts = [i["current_period_start"] for i in items if i.get("current_period_start") is not None]
    ends = [i["current_period_end"] for i in items if i.get("current_period_end") is not None]
    return min(starts, default=None), max(ends, default=None)


def _state_hash(sub: dict[str, Any]) -> str:
    """What a subscription's state is, whatever API version rendered it (an event keeps the
    version it was rendered in; a listing has the requested one, discounts expanded): status,
    items (price, quantity), billing period, discounts and cancellation."""
    items = (sub.get("items") or {}).get("data") or []
    state = {
        "status": sub.get("status"),
        "customer": sub.get("customer"),
        "items": sorted(
            [i.get("id"), (i.get("price") or {}).get("id"), i.get("quantity")] for i in items
        ),
        "current_period": _current_period(sub),
        "discounts": sorted(_discount_ids(sub)),
        **{
            key: sub.get(key)
            for key in ("trial_start", "trial_end", "cancel_at_period_end", "cancel_at",
                        "canceled_at", "ended_at", "latest_invoice", "pause_collection")
        },
    }
    return hashlib.sha256(
        json.dumps(state, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()[:32]


# --- resources ---------------------------------------------------------------------------------


@dlt.resource(name="customers", primary_key="id", write_disposition="merge",
              columns=columns.CUSTOMERS)
def customers(api: StripeAPI) -> Iterator[Page]:
    yield from _mutable_pages(api, "customer")


@dlt.resource(name="subscriptions", primary_key="id", write_disposition="merge",
              columns=columns.SUBSCRIPTIONS, nested_hints=columns.SUBSCRIPTIONS_NESTED)
def subscriptions(api: StripeAPI) -> Iterator[Page]:
    yield from _mutable_pages(api, "subscription")


@dlt.resource(name="invoices", primary_key="id", write_disposition="merge",
              columns=columns.INVOICES, nested_hints=columns.INVOICES_NESTED)
def invoices(api: StripeAPI) -> Iterator[Page]:
    yield from _mutable_pages(api, "invoice")


@dlt.resource(name="charges", primary_key="id", write_disposition="merge",
              columns=columns.CHARGES)
def charges(api: StripeAPI) -> Iterator[Page]:
    yield from _mutable_pages(api, "charge")


@dlt.resource(name="invoice_payments", primary_key="id", write_disposition="merge",
              columns=columns.INVOICE_PAYMENTS)
def invoice_payments(api: StripeAPI) -> Iterator[Any]:
    """Which payment (intent) pays which invoice: since basil the only link from a charge to
    its invoice (``charge.invoice`` is gone). An account or a Stripe without the endpoint
    (localstripe) has none: older versions' ``charge.invoice`` serves."""
    try:
        yield from _or_empty_table(_mutable_pages(api, "invoice_payment"))
    except SourceHTTPError as exc:
        if exc.status != 404:
            raise
        logger.warning(f"{SOURCE}: /v1/invoice_payments answered 404; no invoice payments loaded")


@dlt.resource(name="products", primary_key="id", write_disposition="merge",
              columns=columns.PRODUCTS)
def products(
    api: StripeAPI, created: dlt.sources.incremental[int] = CREATED_CURSOR
) -> Iterator[Page]:
    yield from api.pages("/v1/products", _created_params(created))


@dlt.resource(name="prices", primary_key="id", write_disposition="merge", columns=columns.PRICES)
def prices(
    api: StripeAPI,
    created: dlt.sources.incremental[int] = PRICES_CURSOR,
) -> Iterator[Page]:
    """Prices, or the legacy plans where ``/v1/prices`` does not exist (localstripe)."""
    try:
        yield from api.pages("/v1/prices", _created_params(created))
    except SourceHTTPError as exc:
        if exc.status != 404:
            raise
        logger.warning(f"{SOURCE}: /v1/prices answered 404; loading /v1/plans into prices instead")
        yield from api.pages("/v1/plans")


@dlt.resource(name="coupons", primary_key="id", write_disposition="merge", columns=columns.COUPONS)
def coupons(
    api: StripeAPI, created: dlt.sources.incremental[int] = CREATED_CURSOR
) -> Iterator[Any]:
    yield from _or_empty_table(api.pages("/v1/coupons", _created_params(created)))


@dlt.resource(name="refunds", primary_key="id", write_disposition="merge", columns=columns.REFUNDS)
def refunds(
    api: StripeAPI, created: dlt.sources.incremental[int] = CREATED_CURSOR
) -> Iterator[Any]:
    yield from _or_empty_table(api.pages("/v1/refunds", _created_params(created)))


@dlt.resource(name="balance_transactions", primary_key="id", write_disposition="merge",
              columns=columns.BALANCE_TRANSACTIONS)
def balance_transactions(
    api: StripeAPI,
    created: dlt.sources.incremental[int] = BALANCE_CURSOR,
) -> Iterator[Any]:
    yield from _or_empty_table(api.pages("/v1/balance_transactions", _created_params(created)))


@dlt.resource(name="events", primary_key="id", write_disposition="merge", columns=columns.EVENTS)
def events(
    api: StripeAPI, created: dlt.sources.incremental[int] = CREATED_CURSOR
) -> Iterator[Page]:
    """Every event ever read (Stripe keeps 30 days); ``data`` stays one JSON column."""
    served = api.events_since(created.last_value)
    for start in range(0, len(served), PAGE_LIMIT):
        yield served[start : start + PAGE_LIMIT]


@dlt.transformer(
    name="subscription_history",
    primary_key=("subscription_id", "state_hash"),
    write_disposition={"disposition": "merge", "strategy": "insert-only"},
    columns=columns.SUBSCRIPTION_HISTORY,
)
def subscription_history(page: Page, api: StripeAPI) -> Iterator[Page]:
    """One row per distinct subscription state seen (``_state_hash``); a state seen again, in
    any API version's shape, adds nothing, so ``observed_at`` is when it was first seen (the
    API's time of the read: the state held then, and since the account's last change)."""
    yield [
        {
            "subscription_id": sub["id"],
            "state_hash": _state_hash(sub),
            "observed_at": api.observed_at.get(sub["id"]),
            "status": sub.get("status"),
            "customer": sub.get("customer"),
            "current_period_start": _current_period(sub)[0],
            "current_period_end": _current_period(sub)[1],
            "cancel_at_period_end": sub.get("cancel_at_period_end"),
            "canceled_at": sub.get("canceled_at"),
            "ended_at": sub.get("ended_at"),
            "state": sub,
        }
        for sub in page
    ]


@dlt.source(name="stripe", max_table_nesting=2)
def stripe_source(
    api_base: str = "https://api.stripe.com",
    api_key: str = dlt.secrets.value,
    api_version: str = DEFAULT_API_VERSION,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
) -> Any:
    """All Stripe resources; nesting 2 keeps items/lines as child tables, prices as columns.

    ``api_version`` (``SOURCES__STRIPE__API_VERSION``) is sent as ``Stripe-Version``.
    """
    api = StripeAPI(api_base, api_key, api_version, Timeouts(connect_timeout, read_timeout))
    subs = subscriptions(api)
    return (
        customers(api),
        products(api),
        prices(api),
        coupons(api),
        subs,
        subs | subscription_history(api),
        invoices(api),
        charges(api),
        invoice_payments(api),
        refunds(api),
        balance_transactions(api),
        events(api),
    )
