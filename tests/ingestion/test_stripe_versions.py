"""Stripe API versions: the sandbox answers in the version asked for, and the warehouse builds
the same marts from the 2024-06-20 shape and from the current one (2026-10-28.endive).

The world is stored once (2024-06-20); the sandbox renders the newer shape from it when
serving (sandbox/stripe_versions.py), so the two loads below hold the same business
in two shapes. Staging reads either (macros/stripe_versions.sql).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import requests
import stripe

from ingestion.run import ingest
from ingestion.sources.stripe import DEFAULT_API_VERSION, stripe_source
from ingestion.warehouse import LOADER_FILE_FORMAT, make_pipeline
from orchestration.dbt_project import relation
from sandbox import stripe_api, stripe_versions
from sandbox.client_env import source_env
from sandbox.server import SandboxServer, start_server
from sandbox.simulation import simulate
from sandbox.world import World
from tests.dbt_helpers import failures, run_dbt
from tests.ingestion.conftest import AS_OF, START, point_sources_at, query

OLD, NEW = stripe_versions.STORED_VERSION, DEFAULT_API_VERSION
LINES = "raw_stripe.invoices__lines__data"
MARTS = ("mrr_summary", "fct_subscription_changes", "cohort_retention", "channel_attribution")


def _server(world: World, account_version: str) -> Iterator[SandboxServer]:
    server = start_server(replace(world, stripe_api_version=account_version), port=0)
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def old_account(ingest_sim) -> Iterator[SandboxServer]:
    """An account whose default API version is 2024-06-20."""
    yield from _server(ingest_sim.world, OLD)


@pytest.fixture(scope="module")
def new_account(ingest_sim) -> Iterator[SandboxServer]:
    """The same business on an account upgraded to the current version."""
    yield from _server(ingest_sim.world, NEW)


@pytest.fixture
def sdk(monkeypatch, old_account) -> str:
    """The official SDK's global configuration pointed at the sandbox; it pins its version."""
    monkeypatch.setattr(stripe, "api_key", stripe_api.SANDBOX_API_KEY)
    monkeypatch.setattr(stripe, "api_base", old_account.base_url)
    monkeypatch.setattr(stripe, "max_network_retries", 0)
    return old_account.base_url


def _get(base_url: str, path: str, version: str | None = None, **params) -> requests.Response:
    headers = {"Authorization": f"Bearer {stripe_api.SANDBOX_API_KEY}"}
    if version:
        headers["Stripe-Version"] = version
    return requests.get(base_url + path, params=params, headers=headers, timeout=30)


def test_the_sdk_pages_through_the_sandbox_at_its_own_pinned_version(sdk, ingest_sim):
    assert stripe.api_version == NEW  # the SDK in uv.lock pins the source's default version
    listed = list(stripe.Subscription.list(limit=7, status="all").auto_paging_iter())

    world = ingest_sim.world.stripe["subscriptions"]
    assert sorted(s.id for s in listed) == sorted(s["id"] for s in world)
    for sub in listed:
        assert "current_period_end" not in sub and "discount" not in sub
        for item in sub["items"]["data"]:
            assert isinstance(item["current_period_end"], int)
    stored = {s["id"]: s for s in world}
    assert all(
        item["current_period_end"] == stored[sub.id]["current_period_end"]
        for sub in listed
        for item in sub["items"]["data"]
    )


def test_the_sdk_gets_an_explicit_old_version(sdk, ingest_sim):
    listed = list(
        stripe.Subscription.list(limit=100, status="all", stripe_version=OLD).auto_paging_iter()
    )
    stored = {s["id"]: s for s in ingest_sim.world.stripe["subscriptions"]}
    assert len(listed) == len(stored)
    for sub in listed:
        old = stored[sub.id]
        assert sub["current_period_end"] == old["current_period_end"]
        assert sub["current_period_start"] == old["current_period_start"]
        assert (sub["discount"] and sub["discount"]["coupon"]["id"]) == (
            old["discount"] and old["discount"]["coupon"]["id"]
        )


def test_invoices_lines_and_charges_in_the_new_shape(sdk, ingest_sim):
    invoices = list(stripe.Invoice.list(limit=100).auto_paging_iter())
    stored = {i["id"]: i for i in ingest_sim.world.stripe["invoices"]}
    assert len(invoices) == len(stored)
    for invoice in invoices:
        old = stored[invoice.id]
        for gone in ("subscription", "charge", "tax", "discount", "paid"):
            assert gone not in invoice
        assert invoice["parent"]["subscription_details"]["subscription"] == old["subscription"]
        for line, old_line in zip(invoice["lines"]["data"], old["lines"]["data"], strict=True):
            assert "price" not in line and "proration" not in line and "type" not in line
            assert line["pricing"]["price_details"]["price"] == old_line["price"]["id"]
            # the SDK decodes it as its model declares: a decimal string
            unit_amount = Decimal(old_line["price"]["unit_amount_decimal"])
            assert line["pricing"]["unit_amount_decimal"] == unit_amount
            details = line["parent"][line["parent"]["type"]]
            assert details["proration"] == old_line["proration"]
            assert details["subscription"] == old_line["subscription"]
    # a charge no longer names its invoice: the invoice payment holding its payment intent does
    charge = stripe.Charge.list(limit=1).data[0]
    assert "invoice" not in charge
    invoice_id = next(
        c["invoice"] for c in ingest_sim.world.stripe["charges"] if c["id"] == charge.id
    )
    payments = stripe.InvoicePayment.list(limit=100, invoice=invoice_id).data
    assert [p["payment"]["payment_intent"] for p in payments] == [charge.payment_intent]


def test_discounts_expand_to_objects_naming_their_coupon(old_account, ingest_sim):
    sub = next(s for s in ingest_sim.world.stripe["subscriptions"] if s["discount"])
    path, expand = f"/v1/subscriptions/{sub['id']}", {"expand[]": "discounts"}
    new = _get(old_account.base_url, path, NEW, **expand)
    old = _get(old_account.base_url, path, **expand)
    plain = _get(old_account.base_url, path, NEW)

    [discount] = new.json()["discounts"]
    assert discount["source"] == {"coupon": sub["discount"]["coupon"]["id"], "type": "coupon"}
    assert "coupon" not in discount and discount["id"] == sub["discount"]["id"]
    assert old.json()["discounts"] == [sub["discount"]]  # 2024-06-20: the coupon embedded
    assert plain.json()["discounts"] == [sub["discount"]["id"]]


def test_without_a_version_the_account_default_answers(old_account, new_account, ingest_sim):
    sub_id = ingest_sim.world.stripe["subscriptions"][0]["id"]
    old = _get(old_account.base_url, f"/v1/subscriptions/{sub_id}")
    new = _get(new_account.base_url, f"/v1/subscriptions/{sub_id}")
    assert (old.headers["Stripe-Version"], new.headers["Stripe-Version"]) == (OLD, NEW)
    assert "current_period_end" in old.json() and "current_period_end" not in new.json()


def test_events_keep_the_account_version_whatever_the_request_asks(old_account, new_account):
    def first_subscription_event(server: SandboxServer, version: str) -> dict:
        response = _get(server.base_url, "/v1/events", version, type="customer.subscription.*")
        return response.json()["data"][0]

    old = first_subscription_event(old_account, NEW)
    new = first_subscription_event(new_account, OLD)
    assert old["api_version"] == OLD and "current_period_end" in old["data"]["object"]
    assert new["api_version"] == NEW and "current_period_end" not in new["data"]["object"]


@pytest.mark.parametrize(
    "version", ["2023-10-16", "2025-03-31.clover", "2027-01-27.endive", "basil"]
)
def test_an_unknown_version_is_stripes_error_naming_it(old_account, version):
    response = _get(old_account.base_url, "/v1/customers", version)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith(f"Invalid Stripe API version: {version}.")


def _load_stripe(world: World, monkeypatch) -> None:
    server = start_server(replace(world, stripe_api_version=NEW), port=0)
    try:
        point_sources_at(monkeypatch, server)
        make_pipeline("stripe").run(stripe_source(), loader_file_format=LOADER_FILE_FORMAT)
    finally:
        server.shutdown()


def test_a_later_run_keeps_each_discount_and_its_coupon(
    ingest_sim, warehouse, monkeypatch, tmp_path
):
    """Events never expand: a changed subscription's discount comes back as an id only, and
    the source re-reads it expanded rather than lose its coupon."""
    _load_stripe(ingest_sim.world, monkeypatch)
    later = simulate(11, START, AS_OF + timedelta(days=25), "small", tmp_path / "later").world
    _load_stripe(later, monkeypatch)

    before = {s["id"]: s for s in ingest_sim.world.stripe["subscriptions"]}
    now = [s for s in later.stripe["subscriptions"] if s["discount"]]
    assert [s for s in now if before.get(s["id"]) not in (None, s)], "no discounted sub changed"
    discounted = {s["id"]: s["discount"]["coupon"]["id"] for s in now}
    rows = query(warehouse, """
        select subscriptions.id, discounts.source__coupon
        from raw_stripe.subscriptions
        inner join raw_stripe.subscriptions__discounts as discounts
            on discounts._dlt_parent_id = subscriptions._dlt_id
    """)
    assert dict(rows) == discounted


# --- the same marts from either shape --------------------------------------------------------


def _load_and_build(world: World, version: str, root: Path) -> Path:
    """Load every source from an account at ``version``, asking for ``version``; dbt build."""
    path = root / "northstar.duckdb"
    server = start_server(replace(world, stripe_api_version=version), port=0)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NORTHSTAR_WAREHOUSE", str(path))
        for key, value in source_env(server.base_url, server.world.start, server.world.as_of).items():
            patch.setenv(key, value)
        patch.setenv("SOURCES__STRIPE__API_VERSION", version)
        try:
            results = ingest()
        finally:
            server.shutdown()
        assert all(r.status == "loaded" for r in results), [r.line() for r in results]
        selection = [f"+{mart}" for mart in MARTS]
        # cautious: a test runs when all the models it reads are built (relationships tests)
        result = run_dbt(["build", "--select", *selection, "--indirect-selection", "cautious"],
                         target_path=root / "target")
    assert result.success, failures(result)
    return path


def _rows(path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path)) as con:
        return con.execute(sql).fetchall()


@pytest.mark.slow
def test_both_versions_build_byte_identical_marts(ingest_sim, tmp_path):
    old = _load_and_build(ingest_sim.world, OLD, tmp_path / "old")
    new = _load_and_build(ingest_sim.world, NEW, tmp_path / "new")

    # the two warehouses really hold two shapes
    periods = "select count(current_period_end), count(*) from raw_stripe.subscriptions"
    invoices = "select count(subscription), count(parent__subscription_details__subscription)"
    lines = "select count(price__id), count(pricing__price_details)"
    subs = len(ingest_sim.world.stripe["subscriptions"])
    assert _rows(old, periods) == [(subs, subs)] and _rows(new, periods) == [(0, subs)]
    invoices, lines = f"{invoices} from raw_stripe.invoices", f"{lines} from {LINES}"
    for sql in (invoices, lines):
        (old_path, old_new_path), = _rows(old, sql)
        (new_old_path, new_path), = _rows(new, sql)
        assert old_path > 0 and old_new_path == 0 and new_old_path == 0 and new_path > 0, sql

    for mart in MARTS:
        sql = f"select * from {relation(mart)} order by all"
        old_rows, new_rows = _rows(old, sql), _rows(new, sql)
        assert old_rows, mart
        assert old_rows == new_rows, mart
    movements = _rows(new, "select distinct movement_type from core.fct_subscription_changes")
    assert {"new", "churn"} <= {movement for (movement,) in movements}
