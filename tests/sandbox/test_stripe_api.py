"""The sandbox's Stripe layer, exercised over real HTTP with the official ``stripe`` SDK.

The world here is hand-made so every expectation is computed independently of the code under
test: newest first is ``sorted(..., key=(created, id), reverse=True)`` over the fixture lists.
"""

from __future__ import annotations

import base64
import itertools
import json
import random
import re
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import stripe

from sandbox import stripe_api, stripe_versions
from sandbox.http import Request
from sandbox.world import STRIPE_RESOURCES, World

KEY = stripe_api.SANDBOX_API_KEY
AS_OF = date(2024, 6, 1)
DAY = 86_400
SUBSCRIPTION_STATUSES = stripe_api.SUBSCRIPTION_STATUSES


def _newest_first(objects: list[dict]) -> list[str]:
    return [o["id"] for o in sorted(objects, key=lambda o: (o["created"], o["id"]), reverse=True)]


def _make_world() -> World:
    """A few hundred objects per resource, with ties on ``created`` and shuffled storage order."""
    rng = random.Random(7)
    world = World(seed=7, start=date(2024, 1, 1), as_of=AS_OF, scale="test")
    now = world.as_of_ts
    t0 = now - 120 * DAY

    def ident(prefix: str) -> str:
        return prefix + "".join(
            rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789", k=14)
        )

    # Customers: groups of three share a creation second, so order within a group is by id.
    customers = [
        {
            "id": ident("cus_"),
            "object": "customer",
            "created": t0 + (i // 3) * 3_600,
            "email": f"c{i}@example.com",
        }
        for i in range(250)
    ]
    products = [
        {"id": ident("prod_"), "object": "product", "created": t0 + i, "active": i != 2}
        for i in range(5)
    ]
    prices = [
        {
            "id": ident("price_"),
            "object": "price",
            "created": t0 + 10 + i,
            "product": products[i % 5]["id"],
            "currency": "usd",
            "active": True,
        }
        for i in range(8)
    ]
    coupons = [{"id": f"COUPON{i}", "object": "coupon", "created": t0 + 20} for i in range(3)]
    subscriptions = []
    for i in range(160):
        sub_id = ident("sub_")
        price = prices[i % 8]
        items = [
            {
                "id": ident("si_"),
                "object": "subscription_item",
                "created": t0,
                "price": price,
                "subscription": sub_id,
            }
            for _ in range(1 + (i % 3))
        ]
        subscriptions.append(
            {
                "id": sub_id,
                "object": "subscription",
                "created": t0 + 1_000 + (i // 2) * 5_000,
                "status": SUBSCRIPTION_STATUSES[i % len(SUBSCRIPTION_STATUSES)],
                "customer": customers[i % 50]["id"],
                "items": {
                    "object": "list",
                    "data": items,
                    "has_more": False,
                    "url": f"/v1/subscription_items?subscription={sub_id}",
                },
            }
        )
    invoices = []
    for i in range(300):
        inv_id = ident("in_")
        lines = [
            {"id": ident("il_"), "object": "line_item", "amount": 100 * n}
            for n in range(25 if i == 0 else 2)
        ]
        sub = subscriptions[i % 160]
        invoices.append(
            {
                "id": inv_id,
                "object": "invoice",
                "created": t0 + 2_000 + i * 7_000,
                "customer": sub["customer"],
                "subscription": sub["id"],
                "status": ("paid", "open", "void", "draft", "uncollectible")[i % 5],
                "lines": {
                    "object": "list",
                    "data": lines,
                    "has_more": False,
                    "url": f"/v1/invoices/{inv_id}/lines",
                },
            }
        )
    charges = [
        {
            "id": ident("ch_"),
            "object": "charge",
            "created": inv["created"] + 60,
            "customer": inv["customer"],
        }
        for inv in invoices[:200]
    ]
    refunds = [
        {
            "id": ident("re_"),
            "object": "refund",
            "created": charges[i * 5]["created"] + DAY,
            "charge": charges[i * 5]["id"],
        }
        for i in range(30)
    ]
    invoice_payments = [
        {
            "id": ident("inpay_"),
            "object": "invoice_payment",
            "created": inv["created"],
            "invoice": inv["id"],
            "status": ("paid", "open")[i % 2],
        }
        for i, inv in enumerate(invoices[:120])
    ]
    balance_transactions = [
        {
            "id": ident("txn_"),
            "object": "balance_transaction",
            "created": o["created"],
            "type": o["object"],
            "source": o["id"],
        }
        for o in charges + refunds
    ]
    # Events every 2 hours over the 60 days before as_of, plus two straddling the 30-day edge.
    edge = now - stripe_api.EVENT_RETENTION_SECONDS
    event_types = (
        "customer.created",
        "customer.subscription.created",
        "customer.subscription.updated",
        "invoice.paid",
    )
    events = [
        {
            "id": ident("evt_"),
            "object": "event",
            "created": now - 60 * DAY + 7_200 * i,
            "type": event_types[i % 4],
            "data": {"object": {}},
        }
        for i in range(720)
    ]
    events += [
        {
            "id": "evt_edge_in",
            "object": "event",
            "created": edge,
            "type": "invoice.paid",
            "data": {"object": {}},
        },
        {
            "id": "evt_edge_out",
            "object": "event",
            "created": edge - 1,
            "type": "invoice.paid",
            "data": {"object": {}},
        },
    ]
    world.stripe = {
        "customers": customers,
        "products": products,
        "prices": prices,
        "coupons": coupons,
        "subscriptions": subscriptions,
        "invoices": invoices,
        "charges": charges,
        "refunds": refunds,
        "balance_transactions": balance_transactions,
        "events": events,
        "invoice_payments": invoice_payments,
    }
    for objects in world.stripe.values():
        rng.shuffle(objects)
    return world


class _Handler(BaseHTTPRequestHandler):
    """Just enough of an HTTP front to put ``stripe_api.handle`` on a socket."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: avoid 40 ms stalls
    world: World

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        request = Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
        )
        response = stripe_api.handle(self.world, request)
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = do_POST = do_DELETE = _serve


@pytest.fixture(scope="module")
def world() -> World:
    return _make_world()


@pytest.fixture(scope="module")
def base_url(world: World) -> Iterator[str]:
    handler = type("Handler", (_Handler,), {"world": world})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def client(base_url: str) -> stripe.StripeClient:
    """The SDK at the version the objects are stored in: they come back exactly as stored (the
    versions' shapes: tests/ingestion/test_stripe_versions.py)."""
    return stripe.StripeClient(
        KEY,
        base_addresses={"api": base_url},
        max_network_retries=0,
        stripe_version=stripe_versions.STORED_VERSION,
    )


def _service(client: stripe.StripeClient, resource: str):
    return getattr(client.v1, resource)


def _ids(objects) -> list[str]:
    return [o.id for o in objects]


def _get(base_url: str, path: str, **params) -> requests.Response:
    return requests.get(
        base_url + path, params=params, headers={"Authorization": f"Bearer {KEY}"}, timeout=10
    )


# --- paging --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "resource", [r for r in STRIPE_RESOURCES if r not in ("subscriptions", "events")]
)
def test_auto_paging_yields_every_object_once_newest_first(client, world, resource):
    served = _ids(_service(client, resource).list({"limit": 7}).auto_paging_iter())
    assert served == _newest_first(world.stripe[resource])
    assert len(set(served)) == len(world.stripe[resource])


def test_customers_with_equal_created_are_ordered_by_id_descending(client, world):
    served = _ids(client.v1.customers.list({"limit": 100}).auto_paging_iter())
    created = {c["id"]: c["created"] for c in world.stripe["customers"]}
    ties = [(a, b) for a, b in itertools.pairwise(served) if created[a] == created[b]]
    assert len(ties) > 100
    assert all(a > b for a, b in ties)


def test_default_limit_is_ten_and_limit_is_honoured(client, world):
    expected = _newest_first(world.stripe["customers"])
    first = client.v1.customers.list()
    assert _ids(first) == expected[:10] and first.has_more is True
    assert _ids(client.v1.customers.list({"limit": 100})) == expected[:100]
    assert _ids(client.v1.customers.list({"limit": 1})) == expected[:1]


def test_starting_after_returns_the_next_older_page(client, world):
    expected = _newest_first(world.stripe["customers"])
    page = client.v1.customers.list({"limit": 5, "starting_after": expected[41]})
    assert _ids(page) == expected[42:47] and page.has_more is True
    last = client.v1.customers.list({"limit": 5, "starting_after": expected[-3]})
    assert _ids(last) == expected[-2:] and last.has_more is False


def test_ending_before_returns_the_page_just_newer_still_newest_first(client, world):
    expected = _newest_first(world.stripe["customers"])
    page = client.v1.customers.list({"limit": 5, "ending_before": expected[100]})
    assert _ids(page) == expected[95:100] and page.has_more is True
    top = client.v1.customers.list({"limit": 5, "ending_before": expected[3]})
    assert _ids(top) == expected[:3] and top.has_more is False


def test_auto_paging_backwards_with_ending_before(client, world):
    expected = _newest_first(world.stripe["customers"])
    served = _ids(
        client.v1.customers.list({"limit": 9, "ending_before": expected[-1]}).auto_paging_iter()
    )
    assert served == expected[-2::-1]  # oldest to newest, the cursor itself excluded


def test_legacy_global_api_base(base_url, world, monkeypatch):
    monkeypatch.setattr(stripe, "api_key", KEY)
    monkeypatch.setattr(stripe, "api_base", base_url)
    served = _ids(stripe.Charge.list(limit=50).auto_paging_iter())
    assert served == _newest_first(world.stripe["charges"])


def test_unknown_cursor_is_a_missing_resource(client):
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.customers.list({"starting_after": "cus_nope"})
    assert raised.value.http_status == 400
    assert raised.value.code == "resource_missing"
    assert raised.value.param == "starting_after"
    assert raised.value.user_message == "No such customer: 'cus_nope'"


def test_cursor_of_another_resource_is_missing(client, world):
    price_id = world.stripe["prices"][0]["id"]
    with pytest.raises(stripe.InvalidRequestError, match=f"No such customer: '{price_id}'"):
        client.v1.customers.list({"ending_before": price_id})


# --- created filters -----------------------------------------------------------------------


def test_created_gte_and_lt(client, world):
    invoices = world.stripe["invoices"]
    low, high = (
        sorted(i["created"] for i in invoices)[50],
        sorted(i["created"] for i in invoices)[120],
    )
    served = _ids(
        client.v1.invoices.list(
            {"limit": 13, "created": {"gte": low, "lt": high}}
        ).auto_paging_iter()
    )
    assert served == _newest_first([i for i in invoices if low <= i["created"] < high])
    assert len(served) == 70


def test_created_gt_lte_and_exact(client, world):
    customers = world.stripe["customers"]
    t = sorted(c["created"] for c in customers)[90]
    gt_lte = _ids(
        client.v1.customers.list(
            {"limit": 100, "created": {"gt": t, "lte": t + 7_200}}
        ).auto_paging_iter()
    )
    assert gt_lte == _newest_first([c for c in customers if t < c["created"] <= t + 7_200])
    assert len(gt_lte) == 6
    exact = _ids(client.v1.customers.list({"created": t}))
    assert exact == _newest_first([c for c in customers if c["created"] == t]) and len(exact) == 3


def test_created_filter_combines_with_cursor(client, world):
    customers = world.stripe["customers"]
    t = sorted(c["created"] for c in customers)[100]
    expected = _newest_first([c for c in customers if c["created"] >= t])
    page = client.v1.customers.list(
        {"limit": 10, "created": {"gte": t}, "starting_after": expected[-12]}
    )
    assert _ids(page) == expected[-11:-1] and page.has_more is True


# --- resource filters ----------------------------------------------------------------------


def test_subscriptions_default_excludes_canceled_and_incomplete_expired(client, world):
    subs = world.stripe["subscriptions"]
    served = _ids(client.v1.subscriptions.list({"limit": 11}).auto_paging_iter())
    expected = _newest_first(
        [s for s in subs if s["status"] not in ("canceled", "incomplete_expired")]
    )
    assert served == expected and len(served) == 120


def test_subscriptions_status_all_ended_and_single(client, world):
    subs = world.stripe["subscriptions"]
    everything = _ids(
        client.v1.subscriptions.list({"status": "all", "limit": 100}).auto_paging_iter()
    )
    assert everything == _newest_first(subs)
    ended = _ids(client.v1.subscriptions.list({"status": "ended", "limit": 100}).auto_paging_iter())
    assert ended == _newest_first(
        [s for s in subs if s["status"] in ("canceled", "incomplete_expired")]
    )
    canceled = _ids(
        client.v1.subscriptions.list({"status": "canceled", "limit": 100}).auto_paging_iter()
    )
    assert (
        canceled == _newest_first([s for s in subs if s["status"] == "canceled"])
        and len(canceled) == 20
    )


def test_subscriptions_invalid_status(client):
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.subscriptions.list({"status": "zombie"})
    assert raised.value.http_status == 400 and raised.value.param == "status"
    assert "must be one of active" in raised.value.user_message


def test_subscriptions_by_customer_and_price(client, world):
    subs = world.stripe["subscriptions"]
    customer = subs[0]["customer"]
    by_customer = _ids(client.v1.subscriptions.list({"customer": customer, "status": "all"}))
    assert (
        by_customer == _newest_first([s for s in subs if s["customer"] == customer])
        and len(by_customer) > 1
    )
    default = _ids(client.v1.subscriptions.list({"customer": customer}))
    assert default == _newest_first(
        [
            s
            for s in subs
            if s["customer"] == customer and s["status"] not in ("canceled", "incomplete_expired")
        ]
    )
    price = subs[0]["items"]["data"][0]["price"]["id"]
    by_price = _ids(client.v1.subscriptions.list({"price": price, "status": "all", "limit": 100}))
    assert by_price == _newest_first(
        [s for s in subs if s["items"]["data"][0]["price"]["id"] == price]
    )


def test_cursor_may_be_an_object_the_filter_excludes(client, world):
    subs = world.stripe["subscriptions"]
    canceled = [s for s in subs if s["status"] == "canceled"]
    cursor = sorted(canceled, key=lambda s: s["created"])[10]
    page = client.v1.subscriptions.list({"limit": 100, "starting_after": cursor["id"]})
    expected = _newest_first(
        [
            s
            for s in subs
            if (s["created"], s["id"]) < (cursor["created"], cursor["id"])
            and s["status"] not in ("canceled", "incomplete_expired")
        ]
    )
    assert _ids(page) == expected and page.has_more is False


@pytest.mark.parametrize(
    ("resource", "param"),
    [
        ("invoices", "customer"),
        ("invoices", "subscription"),
        ("invoices", "status"),
        ("charges", "customer"),
        ("refunds", "charge"),
        ("balance_transactions", "type"),
        ("balance_transactions", "source"),
        ("invoice_payments", "invoice"),
        ("invoice_payments", "status"),
        ("prices", "product"),
        ("customers", "email"),
    ],
)
def test_resource_filters(client, world, resource, param):
    objects = world.stripe[resource]
    value = objects[0][param]
    served = _ids(_service(client, resource).list({param: value, "limit": 3}).auto_paging_iter())
    assert served == _newest_first([o for o in objects if o[param] == value])
    assert len(served) >= 1


def test_invoice_filters_combine(client, world):
    invoices = world.stripe["invoices"]
    customer = invoices[0]["customer"]
    served = _ids(client.v1.invoices.list({"customer": customer, "status": "paid", "limit": 100}))
    expected = _newest_first(
        [i for i in invoices if i["customer"] == customer and i["status"] == "paid"]
    )
    assert served == expected


# --- events --------------------------------------------------------------------------------


def test_events_serve_only_the_last_30_days(client, world):
    served = _ids(client.v1.events.list({"limit": 100}).auto_paging_iter())
    oldest = world.as_of_ts - 30 * DAY
    assert served == _newest_first([e for e in world.stripe["events"] if e["created"] >= oldest])
    assert "evt_edge_in" in served and "evt_edge_out" not in served
    assert len(served) == 361  # 360 regular events from the edge on, plus evt_edge_in


def test_old_events_cannot_be_retrieved(client, world):
    assert client.v1.events.retrieve("evt_edge_in").id == "evt_edge_in"
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.events.retrieve("evt_edge_out")
    assert (
        raised.value.http_status == 404
        and raised.value.user_message == "No such event: 'evt_edge_out'"
    )


def test_events_type_wildcard_and_types(client, world):
    recent = [e for e in world.stripe["events"] if e["created"] >= world.as_of_ts - 30 * DAY]
    wildcard = _ids(
        client.v1.events.list({"type": "customer.subscription.*", "limit": 100}).auto_paging_iter()
    )
    assert wildcard == _newest_first(
        [e for e in recent if e["type"].startswith("customer.subscription.")]
    )
    exact = _ids(client.v1.events.list({"type": "invoice.paid", "limit": 100}).auto_paging_iter())
    assert exact == _newest_first([e for e in recent if e["type"] == "invoice.paid"])
    several = _ids(
        client.v1.events.list(
            {"types": ["customer.created", "invoice.paid"], "limit": 100}
        ).auto_paging_iter()
    )
    assert several == _newest_first(
        [e for e in recent if e["type"] in ("customer.created", "invoice.paid")]
    )


# --- retrieve and sub-lists ----------------------------------------------------------------


@pytest.mark.parametrize("resource", STRIPE_RESOURCES)
def test_retrieve_each_resource(client, world, resource):
    obj = max(world.stripe[resource], key=lambda o: o["created"])
    assert _service(client, resource).retrieve(obj["id"]).to_dict() == obj


def test_retrieve_unknown_id_is_404(client, world):
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.customers.retrieve("cus_nope")
    assert raised.value.http_status == 404
    assert raised.value.code == "resource_missing" and raised.value.param == "id"
    assert raised.value.user_message == "No such customer: 'cus_nope'"
    customer_id = world.stripe["customers"][0]["id"]
    with pytest.raises(stripe.InvalidRequestError, match=f"No such price: '{customer_id}'"):
        client.v1.prices.retrieve(customer_id)


def test_invoice_lines_page_in_their_own_order(client, world):
    invoice = next(i for i in world.stripe["invoices"] if len(i["lines"]["data"]) == 25)
    expected = [line["id"] for line in invoice["lines"]["data"]]
    first = client.v1.invoices.line_items.list(invoice["id"], {"limit": 10})
    assert _ids(first) == expected[:10] and first.has_more is True
    assert first.url == f"/v1/invoices/{invoice['id']}/lines"
    assert _ids(first.auto_paging_iter()) == expected
    back = client.v1.invoices.line_items.list(
        invoice["id"], {"limit": 4, "ending_before": expected[10]}
    )
    assert _ids(back) == expected[6:10]


def test_subscription_items(client, world):
    sub = next(s for s in world.stripe["subscriptions"] if len(s["items"]["data"]) == 3)
    expected = [item["id"] for item in sub["items"]["data"]]
    served = _ids(
        client.v1.subscription_items.list(
            {"subscription": sub["id"], "limit": 2}
        ).auto_paging_iter()
    )
    assert served == expected
    with pytest.raises(stripe.InvalidRequestError, match="No such subscription: 'sub_nope'"):
        client.v1.subscription_items.list({"subscription": "sub_nope"})


# --- auth ----------------------------------------------------------------------------------


def test_wrong_key_is_401_and_masked(base_url):
    wrong = "sk_test_thisIsNotTheKey9876"
    bad_client = stripe.StripeClient(wrong, base_addresses={"api": base_url}, max_network_retries=0)
    with pytest.raises(stripe.AuthenticationError) as raised:
        bad_client.v1.customers.list()
    assert raised.value.http_status == 401
    message = raised.value.user_message
    assert wrong not in message and "thisIsNotTheKey" not in message
    assert message == "Invalid API Key provided: sk_test_" + "*" * 15 + "9876"


def test_missing_key_is_401(base_url):
    response = requests.get(f"{base_url}/v1/customers", timeout=10)
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("You did not provide an API key.")
    assert response.headers["WWW-Authenticate"] == 'Basic realm="Stripe"'


def test_basic_auth_like_curl_u(base_url, world):
    response = requests.get(f"{base_url}/v1/coupons", auth=(KEY, ""), timeout=10)
    assert response.status_code == 200
    assert [c["id"] for c in response.json()["data"]] == _newest_first(world.stripe["coupons"])


def test_world_may_carry_its_own_key():
    world = World(seed=1, start=AS_OF, as_of=AS_OF, scale="test", stripe={"coupons": []})
    world.stripe_api_key = "sk_test_custom"  # type: ignore[attr-defined]

    def call(key: str) -> int:
        auth = {"authorization": f"Bearer {key}"}
        return stripe_api.handle(world, Request("GET", "/v1/coupons", headers=auth)).status

    assert call("sk_test_custom") == 200
    assert call(KEY) == 401


def test_mask_key_never_reveals_short_keys():
    assert stripe_api.mask_key("sk_test_abc") == "sk_test_***"
    assert stripe_api.mask_key("hunter2") == "*******"
    basic = base64.b64encode(b"sk_test_zz:").decode()
    response = stripe_api.handle(
        World(1, AS_OF, AS_OF, "t"),
        Request("GET", "/v1/customers", headers={"authorization": f"Basic {basic}"}),
    )
    assert response.status == 401 and b"sk_test_**" in response.body and b"zz" not in response.body


# --- parameter validation ------------------------------------------------------------------


def test_limit_out_of_range_is_400(client, base_url):
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.customers.list({"limit": 101})
    assert raised.value.http_status == 400 and raised.value.param == "limit"
    assert raised.value.user_message == "This value must be less than or equal to 100."
    zero = _get(base_url, "/v1/customers", limit=0).json()["error"]
    assert (
        zero["message"] == "This value must be greater than or equal to 1."
        and zero["param"] == "limit"
    )
    text = _get(base_url, "/v1/customers", limit="ten")
    assert text.status_code == 400
    assert text.json()["error"]["message"] == "Invalid integer: ten"


def test_invalid_created_bound_names_the_param(base_url):
    response = _get(base_url, "/v1/charges", **{"created[gte]": "yesterday"})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "created[gte]"


def test_unknown_parameter_is_refused_but_expand_is_ignored(base_url, world):
    unknown = _get(base_url, "/v1/customers", colour="blue")
    assert unknown.status_code == 400
    assert unknown.json()["error"]["message"] == "Received unknown parameter: colour"
    expanded = _get(base_url, "/v1/charges", **{"expand[]": "data.customer", "limit": 3})
    assert expanded.status_code == 200
    assert [c["id"] for c in expanded.json()["data"]] == _newest_first(world.stripe["charges"])[:3]


def test_both_cursors_is_400(client, world):
    ids = _newest_first(world.stripe["customers"])
    with pytest.raises(stripe.InvalidRequestError, match="only specify one"):
        client.v1.customers.list({"starting_after": ids[5], "ending_before": ids[1]})


# --- wire format ---------------------------------------------------------------------------


def test_list_object_shape_and_headers(base_url, world):
    response = _get(base_url, "/v1/refunds", limit=2)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert re.fullmatch(r"req_[0-9a-f]{14}", response.headers["Request-Id"])
    body = response.json()
    assert set(body) == {"object", "data", "has_more", "url"}
    assert body["object"] == "list" and body["url"] == "/v1/refunds" and body["has_more"] is True
    assert [r["id"] for r in body["data"]] == _newest_first(world.stripe["refunds"])[:2]
    assert (
        _get(base_url, "/v1/refunds", limit=2).headers["Request-Id"]
        == response.headers["Request-Id"]
    )


def test_empty_resource_lists_empty(base_url):
    world = World(seed=1, start=AS_OF, as_of=AS_OF, scale="test")
    auth = {"authorization": f"Bearer {KEY}"}
    response = stripe_api.handle(world, Request("GET", "/v1/charges", headers=auth))
    assert response.status == 200
    assert response.body == b'{"object":"list","data":[],"has_more":false,"url":"/v1/charges"}'


def test_writes_and_unknown_urls_are_refused(base_url):
    auth = {"Authorization": f"Bearer {KEY}"}
    post = requests.post(
        f"{base_url}/v1/customers", data={"email": "x@example.com"}, headers=auth, timeout=10
    )
    assert post.status_code == 405 and post.headers["Allow"] == "GET, HEAD"
    assert post.json()["error"]["type"] == "invalid_request_error"
    unknown = requests.get(f"{base_url}/v1/payment_intents", headers=auth, timeout=10)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"].startswith(
        "Unrecognized request URL (GET: /v1/payment_intents)."
    )


# --- scale ---------------------------------------------------------------------------------


def test_deep_pages_of_a_large_world_are_exact():
    """100k customers: pages deep in the list still come out exactly (index built once)."""
    world = World(seed=1, start=AS_OF, as_of=AS_OF, scale="large")
    world.stripe = {
        "customers": [
            {"id": f"cus_{i:06d}", "object": "customer", "created": 1_700_000_000 + i // 10}
            for i in range(100_000)
        ]
    }
    auth = {"authorization": f"Bearer {KEY}"}

    def page(**query: str) -> dict:
        request = Request(
            "GET", "/v1/customers", query={k: [v] for k, v in query.items()}, headers=auth
        )
        return json.loads(stripe_api.handle(world, request).body)

    deep = page(limit="100", starting_after="cus_000500")
    assert [c["id"] for c in deep["data"]] == [f"cus_{i:06d}" for i in range(499, 399, -1)]
    back = page(limit="3", ending_before="cus_099990")
    assert [c["id"] for c in back["data"]] == ["cus_099993", "cus_099992", "cus_099991"]
    assert back["has_more"] is True
    tail = page(limit="100", starting_after="cus_000050")
    assert len(tail["data"]) == 50 and tail["has_more"] is False
