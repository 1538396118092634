"""Proof against a Stripe implementation we did not write: PyPI's localstripe.

Objects are created with the official ``stripe`` SDK; the Stripe source must bring every id
home. localstripe has no ``/v1/prices`` (the source reads plans instead) and refuses
``created[...]`` filters on some lists, which the source must survive.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import stripe

from ingestion.sources.stripe import stripe_source
from ingestion.warehouse import LOADER_FILE_FORMAT, make_pipeline
from tests.ingestion.conftest import query

API_KEY = "sk_test_localstripe"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def localstripe_url():
    port = _free_port()
    executable = shutil.which("localstripe") or str(Path(sys.executable).with_name("localstripe"))
    proc = subprocess.Popen([executable, "--port", str(port), "--from-scratch"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/v1/customers", auth=(API_KEY, ""), timeout=2).ok:
                break
        except requests.ConnectionError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("localstripe did not start")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def created(localstripe_url):
    """Customers, products, plans and subscriptions made through the official SDK."""
    client = stripe.StripeClient(API_KEY, base_addresses={"api": localstripe_url})
    ids: dict[str, set[str]] = {"customers": set(), "products": set(), "plans": set(), "subscriptions": set()}
    product = client.v1.products.create(params={"name": "Northstar Professional"})
    ids["products"].add(product.id)
    plans = []
    for interval, amount in (("month", 4900), ("year", 49000)):
        plan = client.v1.plans.create(params={"id": f"professional_{interval}", "amount": amount, "currency": "usd",
                                               "interval": interval, "product": product.id})
        ids["plans"].add(plan.id)
        plans.append(plan.id)
    for n in range(12):
        customer = client.v1.customers.create(
            params={"email": f"user{n}@example.com", "metadata": {"user_id": f"u{n}"}})
        ids["customers"].add(customer.id)
        method = client.v1.payment_methods.create(params={"type": "card", "card": {
            "number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}})
        client.v1.payment_methods.attach(method.id, params={"customer": customer.id})
        client.v1.customers.update(customer.id, params={"invoice_settings": {"default_payment_method": method.id}})
        subscription = client.v1.subscriptions.create(params={
            "customer": customer.id, "items": [{"plan": plans[n % 2], "quantity": 1 + n % 3}]})
        ids["subscriptions"].add(subscription.id)
    return ids


def test_every_created_id_arrives(localstripe_url, created, monkeypatch, warehouse):
    monkeypatch.setenv("SOURCES__STRIPE__API_BASE", localstripe_url)
    monkeypatch.setenv("SOURCES__STRIPE__API_KEY", API_KEY)
    pipeline = make_pipeline("stripe")
    pipeline.run(stripe_source(), loader_file_format=LOADER_FILE_FORMAT)
    for table, wanted in (("customers", created["customers"]), ("products", created["products"]),
                          ("prices", created["plans"]), ("subscriptions", created["subscriptions"])):
        got = {row[0] for row in query(warehouse, f"select id from raw_stripe.{table}")}
        assert wanted <= got, table
    assert len(created["customers"]) == 12
    quantities = query(warehouse, "select sum(quantity) from raw_stripe.subscriptions__items__data")
    assert quantities == [(sum(1 + n % 3 for n in range(12)),)]
