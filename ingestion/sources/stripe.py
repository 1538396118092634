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

Several requests in flight: every list resource is ``parallelized``, so dlt's extract threads
page through the resources at the same time (Stripe allows 100 read requests a second in live
mode, 25 in test mode; dlt runs at most ``[extract] workers``, default 5, at once). Within one
resource the pages stay in order (a Stripe list is a chain of ``starting_after`` cursors), so
every cursor is what a one-at-a-time run would store. What the resources share is guarded:
the memoized events listing and newest event are read once under a lock, and the API's clock
is kept per thread (the page just received is dated by its own response).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
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

Page = list[dict[str, Any]]

#: Cursors on ``created`` (dlt copies a default incremental for every resource it binds).
CREATED_CURSOR = dlt.sources.incremental("created")
#: localstripe's plans, loaded when prices are missing, may lack ``created``: keep them.
PRICES_CURSOR = dlt.sources.incremental("created", on_cursor_value_missing="include")
#: Balance transactions are re-read over the lookback window, where their status settles.
BALANCE_CURSOR = dlt.sources.incremental("created", lag=BALANCE_LOOKBACK_SECONDS)
#: Since basil a subscription's or invoice's discounts (and their coupon) come only expanded
#: (Stripe keeps only their ids otherwise).
EXPAND_DISCOUNTS = {"expand[]": "data.discounts"}


@dataclass(frozen=True)
class Endpoint:
    """A Stripe list ``/v1/<name>`` loaded into the table ``<name>``, merged on ``id``, with
    the column types of ``stripe_columns.COLUMNS[name]`` (and its ``NESTED`` tables).

    Either ``changes_as`` or ``cursor`` is set: they are the two incremental strategies (see
    the module's docstring).
    """

    name: str
    #: An object that changes after creation: the ``object`` name its events carry.
    changes_as: str | None = None
    #: An object that does not: listed with ``created[gte]`` from this cursor.
    cursor: dlt.sources.incremental[int] | None = None
    #: Extra list parameters.
    params: dict[str, str] = field(default_factory=dict)
    #: An account with no such object yet still gets the (empty) table staging reads.
    always_table: bool = False
    #: When the endpoint answers 404 (an account or a Stripe without it, e.g. localstripe):
    #: the path loaded instead, or "" to load nothing. None: a 404 fails the source.
    if_missing: str | None = None

    @property
    def path(self) -> str:
        return f"/v1/{self.name}"

    @property
    def expands_discounts(self) -> bool:
        return "discounts" in self.params.get("expand[]", "")


#: Every list endpoint, in load order; adding one is one row (and its columns).
#: ``status=all``: without it Stripe hides canceled subscriptions.
ENDPOINTS = (
    Endpoint("customers", changes_as="customer"),
    Endpoint("products", cursor=CREATED_CURSOR),
    Endpoint("prices", cursor=PRICES_CURSOR, if_missing="/v1/plans"),
    Endpoint("coupons", cursor=CREATED_CURSOR, always_table=True),
    Endpoint("subscriptions", changes_as="subscription",
             params={"status": "all", **EXPAND_DISCOUNTS}),
    Endpoint("invoices", changes_as="invoice", params=EXPAND_DISCOUNTS),
    Endpoint("charges", changes_as="charge"),
    # since basil the only link from a charge to its invoice (``charge.invoice`` is gone);
    # where the endpoint is missing, older versions' ``charge.invoice`` serves
    Endpoint("invoice_payments", changes_as="invoice_payment", always_table=True, if_missing=""),
    Endpoint("refunds", cursor=CREATED_CURSOR, always_table=True),
    Endpoint("balance_transactions", cursor=BALANCE_CURSOR, always_table=True),
)


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
        #: the API's time at the latest response, per thread (resources page in parallel)
        self._clock_of = threading.local()
        #: the memoized reads are made once, whichever resource asks first
        self._memo = threading.RLock()
        #: object id -> the API's time when this run read the state it loaded
        self.observed_at: dict[str, int] = {}
        self._events_since: dict[int | None, Page] = {}
        self._events_read_at: dict[int | None, int | None] = {}
        self._retained: dict[str, bool] = {}
        self._newest_event: dict[str, Any] | None = None

    @property
    def server_time(self) -> int | None:
        """The API's time (epoch seconds, its ``Date`` header) at this thread's latest response."""
        return getattr(self._clock_of, "time", None)

    @server_time.setter
    def server_time(self, value: int | None) -> None:
        self._clock_of.time = value

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
        with self._memo:
            return self._list_events_since(created)

    def _list_events_since(self, created: int | None) -> Page:
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
        with self._memo:
            if self._newest_event is None:
                page = self.get("/v1/events", {"limit": 1}, A_LIST)["data"]
                self._newest_event = page[0] if page else {}
        return self._newest_event or None

    def event_retained(self, event_id: str) -> bool:
        """Whether Stripe still serves this event (it forgets events after 30 days)."""
        with self._memo:
            return self._is_retained(event_id)

    def _is_retained(self, event_id: str) -> bool:
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


def _mutable_pages(api: StripeAPI, endpoint: Endpoint) -> Iterator[Page]:
    """Current state of a mutable resource: the changes since the last run when Stripe still
    has the events for them, else a full listing.

    The cursor (in this resource's own state, so a run that skipped the resource cannot make
    it miss changes) is the newest event read before the objects were: anything later is
    read again next time.
    """
    state = dlt.current.resource_state(endpoint.name)  # named: an extract thread cannot tell
    cursor = state.get("event_cursor")
    if cursor and state.get("max_created") is not None and api.event_retained(cursor["id"]):
        yield from _changed_pages(api, endpoint, state)
        return
    if cursor:
        logger.warning(
            f"{SOURCE}: the events since the last run are gone (Stripe keeps 30 days);"
            f" reloading all {endpoint.name}"
        )
    yield from _full_pages(api, endpoint, state)


def _full_pages(api: StripeAPI, endpoint: Endpoint, state: dict[str, Any]) -> Iterator[Page]:
    newest = api.newest_event()
    max_created = None
    for page in _listing(api, endpoint.path, endpoint.params):
        max_created = _max_created(max_created, page)
        api.observe(page)
        yield page
    state["event_cursor"] = _event_cursor(newest)
    state["max_created"] = max_created


def _changed_pages(api: StripeAPI, endpoint: Endpoint, state: dict[str, Any]) -> Iterator[Page]:
    """Latest event snapshots of the objects changed since the cursor, plus new objects
    listed by ``created[gte]`` (a listing is at least as fresh as any snapshot, so it wins)."""
    events = api.events_since(state["event_cursor"]["created"])
    snapshots = _latest_objects(events, endpoint.changes_as)
    api.observe(list(snapshots.values()), api.events_read_at(state["event_cursor"]["created"]))
    listed: dict[str, dict[str, Any]] = {}
    params = {**endpoint.params, "created[gte]": state["max_created"]}
    for page in _listing(api, endpoint.path, params):
        listed.update((obj["id"], obj) for obj in page)
        api.observe(page)
        state["max_created"] = _max_created(state["max_created"], page)
    changed = {**snapshots, **listed}
    if endpoint.expands_discounts:
        for object_id, obj in snapshots.items():
            if object_id not in listed and _discounts_unknown(obj):
                changed[object_id] = _reread(api, endpoint.path, obj)
    if events:
        state["event_cursor"] = _event_cursor(events[0])  # lists are newest first
    if changed:
        yield list(changed.values())


def _listing(api: StripeAPI, path: str, params: dict[str, Any]) -> Iterator[Page]:
    """A list's pages, its discounts expanded where the API can: a Stripe whose objects have
    no discounts at all (localstripe) refuses the expansion, and is read without it."""
    try:
        yield from api.pages(path, params)
    except SourceHTTPError as exc:
        if exc.status != 400 or "expand" not in exc.detail.lower() or "expand[]" not in params:
            raise
        logger.warning(f"{SOURCE}: {path} refused expand[]: reading it unexpanded")
        unexpanded = {k: v for k, v in params.items() if k != "expand[]"}
        yield from api.pages(path, unexpanded)


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


def _reread(api: StripeAPI, path: str, snapshot: dict[str, Any]) -> dict[str, Any]:
    """The object as it is now, its discounts expanded (the snapshot if it is gone)."""
    try:
        current = api.get(f"{path}/{snapshot['id']}", {"expand[]": "discounts"})
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


def _read(
    api: StripeAPI, endpoint: Endpoint, created: dlt.sources.incremental[int] | None
) -> Iterator[Any]:
    """An endpoint's pages, by its incremental strategy, as its row in ENDPOINTS says."""
    if endpoint.changes_as:
        pages = _mutable_pages(api, endpoint)
    else:
        pages = api.pages(endpoint.path, _created_params(created))
    try:
        yield from _or_empty_table(pages) if endpoint.always_table else pages
    except SourceHTTPError as exc:
        if exc.status != 404 or endpoint.if_missing is None:
            raise
        if not endpoint.if_missing:
            logger.warning(f"{SOURCE}: {endpoint.path} answered 404;"
                           f" no {endpoint.name.replace('_', ' ')} loaded")
            return
        logger.warning(f"{SOURCE}: {endpoint.path} answered 404;"
                       f" loading {endpoint.if_missing} into {endpoint.name} instead")
        yield from api.pages(endpoint.if_missing)


def _resource(endpoint: Endpoint) -> Any:
    """The dlt resource of one ENDPOINTS row (called with the StripeAPI to bind it)."""
    if endpoint.cursor is None:

        def read(api: StripeAPI) -> Iterator[Any]:
            yield from _read(api, endpoint, None)

    else:

        def read(  # the cursor is a default argument: that is where dlt looks for it
            api: StripeAPI, created: dlt.sources.incremental[int] = endpoint.cursor
        ) -> Iterator[Any]:
            yield from _read(api, endpoint, created)

    return dlt.resource(
        read, name=endpoint.name, primary_key="id", write_disposition="merge",
        columns=columns.COLUMNS[endpoint.name], nested_hints=columns.NESTED.get(endpoint.name),
        parallelized=True,
    )


@dlt.resource(name="events", primary_key="id", write_disposition="merge",
              columns=columns.COLUMNS["events"], parallelized=True)
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
    columns=columns.COLUMNS["subscription_history"],
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
    listed = [_resource(endpoint)(api) for endpoint in ENDPOINTS]
    after = [endpoint.name for endpoint in ENDPOINTS].index("subscriptions") + 1
    history = listed[after - 1] | subscription_history(api)
    return (*listed[:after], history, *listed[after:], events(api))
