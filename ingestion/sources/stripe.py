"""Stripe -> ``raw_stripe``: every billing object, kept current, with the history Stripe forgets.

Tables: customers, products, prices, coupons, subscriptions (+ ``subscriptions__items__data``),
invoices (+ ``invoices__lines__data``), charges, refunds, balance_transactions, events and
subscription_history. Everything merges on ``id``, so re-reading an overlap never duplicates.

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
read, and ``subscription_history`` keeps one row per distinct subscription state observed.
Cursors live in dlt's state, which dlt restores from the warehouse when the local pipelines
folder is missing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import dlt
from dlt.common import logger
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
from dlt.sources.helpers.rest_client.paginators import BasePaginator
from requests import Request, Response

from ingestion.errors import SourceHTTPError, error_hook, retries_exhausted
from ingestion.http_client import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    Timeouts,
    http_session,
)

SOURCE = "stripe"
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
}
#: Extra list parameters: without ``status=all`` Stripe hides canceled subscriptions.
LIST_PARAMS: dict[str, dict[str, str]] = {"subscriptions": {"status": "all"}}

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
    resources and ``events`` cost one events listing between them.
    """

    def __init__(self, api_base: str, api_key: str, timeouts: Timeouts | None = None) -> None:
        self.client = RESTClient(
            base_url=api_base.rstrip("/"),
            auth=BearerTokenAuth(api_key),
            paginator=StripePaginator(),
            data_selector="data",
            session=http_session(timeouts or Timeouts()),  # RUNTIME__REQUEST_* retries, timeouts
        )
        self._events_since: dict[int | None, Page] = {}
        self._retained: dict[str, bool] = {}
        self._newest_event: dict[str, Any] | None = None

    def pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[Page]:
        """Every page of a list endpoint, newest objects first."""
        params = {"limit": PAGE_LIMIT, **(params or {})}
        with retries_exhausted(SOURCE):
            for page in self.client.paginate(path, params=params, hooks=_HOOKS):
                yield list(page)

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        with retries_exhausted(SOURCE):
            return self.client.get(path, params=params, hooks=_HOOKS).json()

    def events_since(self, created: int | None) -> Page:
        """Events created at or after ``created`` (all that Stripe serves if None)."""
        if created not in self._events_since:
            params = {} if created is None else {"created[gte]": created}
            self._events_since[created] = [
                e for page in self.pages("/v1/events", params) for e in page
            ]
        return self._events_since[created]

    def newest_event(self) -> dict[str, Any] | None:
        """The latest event, read before a full listing so nothing after it is missed."""
        if self._newest_event is None:
            page = self.get("/v1/events", {"limit": 1}).get("data") or []
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


_HOOKS = {"response": [error_hook(SOURCE, _error_detail, secrets=())]}


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
    for page in api.pages(f"/v1/{resource}", LIST_PARAMS.get(resource)):
        max_created = _max_created(max_created, page)
        yield page
    state["event_cursor"] = _event_cursor(newest)
    state["max_created"] = max_created


def _changed_pages(api: StripeAPI, object_name: str, state: dict[str, Any]) -> Iterator[Page]:
    """Latest event snapshots of the objects changed since the cursor, plus new objects
    listed by ``created[gte]`` (a listing is at least as fresh as any snapshot, so it wins)."""
    resource = MUTABLE_RESOURCES[object_name]
    events = api.events_since(state["event_cursor"]["created"])
    changed = _latest_objects(events, object_name)
    params = {**LIST_PARAMS.get(resource, {}), "created[gte]": state["max_created"]}
    for page in api.pages(f"/v1/{resource}", params):
        changed.update((obj["id"], obj) for obj in page)
        state["max_created"] = _max_created(state["max_created"], page)
    if events:
        state["event_cursor"] = _event_cursor(events[0])  # lists are newest first
    if changed:
        yield list(changed.values())


def _max_created(current: int | None, page: Page) -> int | None:
    values = [obj["created"] for obj in page] + ([] if current is None else [current])
    return max(values, default=None)


def _state_hash(obj: dict[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()[:32]


# --- resources ---------------------------------------------------------------------------------


@dlt.resource(name="customers", primary_key="id", write_disposition="merge")
def customers(api: StripeAPI) -> Iterator[Page]:
    yield from _mutable_pages(api, "customer")


@dlt.resource(name="subscriptions", primary_key="id", write_disposition="merge")
def subscriptions(api: StripeAPI) -> Iterator[Page]:
    yield from _mutable_pages(api, "subscription")


@dlt.resource(name="invoices", primary_key="id", write_disposition="merge")
def invoices(api: StripeAPI) -> Iterator[Page]:
    yield from _mutable_pages(api, "invoice")


@dlt.resource(name="charges", primary_key="id", write_disposition="merge")
def charges(api: StripeAPI) -> Iterator[Page]:
    yield from _mutable_pages(api, "charge")


@dlt.resource(name="products", primary_key="id", write_disposition="merge")
def products(
    api: StripeAPI, created: dlt.sources.incremental[int] = CREATED_CURSOR
) -> Iterator[Page]:
    yield from api.pages("/v1/products", _created_params(created))


@dlt.resource(name="prices", primary_key="id", write_disposition="merge")
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


@dlt.resource(name="coupons", primary_key="id", write_disposition="merge")
def coupons(
    api: StripeAPI, created: dlt.sources.incremental[int] = CREATED_CURSOR
) -> Iterator[Page]:
    yield from api.pages("/v1/coupons", _created_params(created))


@dlt.resource(name="refunds", primary_key="id", write_disposition="merge")
def refunds(
    api: StripeAPI, created: dlt.sources.incremental[int] = CREATED_CURSOR
) -> Iterator[Page]:
    yield from api.pages("/v1/refunds", _created_params(created))


@dlt.resource(name="balance_transactions", primary_key="id", write_disposition="merge")
def balance_transactions(
    api: StripeAPI,
    created: dlt.sources.incremental[int] = BALANCE_CURSOR,
) -> Iterator[Page]:
    yield from api.pages("/v1/balance_transactions", _created_params(created))


@dlt.resource(
    name="events",
    primary_key="id",
    write_disposition="merge",
    columns={"data": {"data_type": "json"}},
)
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
    columns={"state": {"data_type": "json"}},
)
def subscription_history(page: Page) -> Iterator[Page]:
    """One row per distinct subscription state seen; a state seen again adds nothing."""
    yield [
        {
            "subscription_id": sub["id"],
            "state_hash": _state_hash(sub),
            "status": sub.get("status"),
            "customer": sub.get("customer"),
            "current_period_start": sub.get("current_period_start"),
            "current_period_end": sub.get("current_period_end"),
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
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
) -> Any:
    """All Stripe resources; nesting 2 keeps items/lines as child tables, prices as columns."""
    api = StripeAPI(api_base, api_key, Timeouts(connect_timeout, read_timeout))
    subs = subscriptions(api)
    return (
        customers(api),
        products(api),
        prices(api),
        coupons(api),
        subs,
        subs | subscription_history,
        invoices(api),
        charges(api),
        refunds(api),
        balance_transactions(api),
        events(api),
    )
