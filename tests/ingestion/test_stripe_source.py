"""The Stripe source against the sandbox: complete, idempotent, incremental, fault-tolerant."""

from __future__ import annotations

import json
import shutil
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from ingestion.common.errors import SourceHTTPError
from ingestion.sources.stripe import DEFAULT_API_VERSION, stripe_source
from ingestion.warehouse import LOADER_FILE_FORMAT, make_pipeline, pipelines_dir
from sandbox import stripe_api, stripe_versions
from sandbox.http import Request, Response
from sandbox.server import SandboxServer, start_server
from sandbox.simulation import simulate
from sandbox.world import World
from tests.ingestion.conftest import AS_OF, START, point_sources_at, query

#: Columns compared with the world, per table: ids, and the fields that change where they change
#: (a subscription's current period: on its items, where the source's API version has it).
COMPARED = {
    "customers": ("id", "created", "delinquent", "email"),
    "products": ("id", "created"),
    "prices": ("id", "created", "unit_amount"),
    "coupons": ("id", "created"),
    "subscriptions": ("id", "status", "cancel_at_period_end", "canceled_at", "latest_invoice"),
    "invoices": ("id", "status", "amount_paid", "attempt_count"),
    "charges": ("id", "status", "amount_refunded", "refunded"),
    "invoice_payments": ("id", "status", "amount_paid"),
    "refunds": ("id", "created", "amount"),
    "balance_transactions": ("id", "status", "net"),
    "events": ("id", "created", "type"),
}
#: The version the source asks for: the world's objects as the sandbox serves them at it.
SERVED_VERSION = stripe_versions.version_date(DEFAULT_API_VERSION)


def _load() -> None:
    make_pipeline("stripe").run(stripe_source(), loader_file_format=LOADER_FILE_FORMAT)


def _stripe_requests(server: SandboxServer) -> int:
    with urllib.request.urlopen(f"{server.base_url}/_sandbox/requests") as response:
        return json.load(response).get("stripe", 0)


def _served(world: World, resource: str) -> list[dict]:
    objects = world.stripe[resource]
    if resource == "events":
        oldest = world.as_of_ts - stripe_api.EVENT_RETENTION_SECONDS
        return [event for event in objects if event["created"] >= oldest]
    return [stripe_versions.render(obj, SERVED_VERSION) for obj in objects]


def _world_rows(world: World, table: str) -> set[tuple]:
    return {tuple(obj[column] for column in COMPARED[table]) for obj in _served(world, table)}


def _warehouse_rows(path, table: str) -> list[tuple]:
    columns = ", ".join(COMPARED[table])
    return query(path, f"select {columns} from raw_stripe.{table}")


def _assert_equals_world(path, world: World, tables=tuple(COMPARED)) -> None:
    for table in tables:
        rows = _warehouse_rows(path, table)
        assert len(rows) == len({row[0] for row in rows}), f"duplicate ids in {table}"
        assert set(rows) == _world_rows(world, table), table
    if "subscriptions" in tables:
        periods = query(
            path,
            "select id, current_period_start, current_period_end"
            " from raw_stripe.subscriptions__items__data",
        )
        assert set(periods) == {
            (item["id"], item["current_period_start"], item["current_period_end"])
            for sub in _served(world, "subscriptions")
            for item in sub["items"]["data"]
        }


def _counts(path) -> dict[str, int]:
    return {
        table: query(path, f"select count(*) from raw_stripe.{table}")[0][0] for table in COMPARED
    }


def _history(path) -> dict[str, set[str]]:
    """Subscription id -> the states (hashes) subscription_history holds for it."""
    history: dict[str, set[str]] = {}
    for sub_id, state_hash in query(
        path, "select subscription_id, state_hash from raw_stripe.subscription_history"
    ):
        history.setdefault(sub_id, set()).add(state_hash)
    return history


def _caused_by(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    while exc is not None:
        if isinstance(exc, kind):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


@pytest.fixture(scope="module")
def later_sim(tmp_path_factory):
    """The same business ten days later: same seed, so the same past, plus changes and news."""
    return simulate(
        11, START, AS_OF + timedelta(days=10), "small", tmp_path_factory.mktemp("later")
    )


@pytest.fixture
def later_sandbox(later_sim) -> Iterator[SandboxServer]:
    server = start_server(later_sim.world, port=0)
    yield server
    server.shutdown()


# --- first load --------------------------------------------------------------------------------


def test_first_load_has_every_object(sandbox_env, warehouse, ingest_sim, expected_counts):
    _load()

    assert _counts(warehouse) == expected_counts["stripe"]
    assert expected_counts["stripe"]["events"] == len(_served(ingest_sim.world, "events"))
    _assert_equals_world(warehouse, ingest_sim.world)
    items = sum(len(sub["items"]["data"]) for sub in ingest_sim.world.stripe["subscriptions"])
    assert (
        query(warehouse, "select count(*) from raw_stripe.subscriptions__items__data")[0][0]
        == items
    )
    lines = sum(len(inv["lines"]["data"]) for inv in ingest_sim.world.stripe["invoices"])
    assert query(warehouse, "select count(*) from raw_stripe.invoices__lines__data")[0][0] == lines
    history = _history(warehouse)
    assert set(history) == {sub["id"] for sub in ingest_sim.world.stripe["subscriptions"]}
    assert all(len(states) == 1 for states in history.values())
    # each state is dated by the API's clock (the sandbox's: its as-of), not the machine's
    observed = query(warehouse, "select distinct observed_at from raw_stripe.subscription_history")
    assert observed == [(ingest_sim.world.as_of_ts,)]


def test_second_run_changes_nothing(sandbox_env, warehouse, expected_counts):
    _load()
    before = {table: sorted(_warehouse_rows(warehouse, table)) for table in COMPARED}
    history_rows = query(warehouse, "select count(*) from raw_stripe.subscription_history")[0][0]

    _load()

    assert {table: sorted(_warehouse_rows(warehouse, table)) for table in COMPARED} == before
    assert _counts(warehouse) == expected_counts["stripe"]
    assert (
        query(warehouse, "select count(*) from raw_stripe.subscription_history")[0][0]
        == history_rows
    )


# --- incremental ---------------------------------------------------------------------------------


def _assert_caught_up(
    warehouse, first: World, later: World, first_requests: int, later_requests: int
) -> None:
    """The warehouse equals the later world, got there without re-listing, and kept history."""
    assert later_requests < first_requests
    _assert_equals_world(warehouse, later, tables=[t for t in COMPARED if t != "events"])
    events = {e["id"] for e in _served(first, "events")} | {
        e["id"] for e in _served(later, "events")
    }
    assert {row[0] for row in _warehouse_rows(warehouse, "events")} == events

    before = {sub["id"]: sub for sub in first.stripe["subscriptions"]}
    changed = [
        sub
        for sub in later.stripe["subscriptions"]
        if sub["id"] in before and sub != before[sub["id"]]
    ]
    status_changed = [sub for sub in changed if sub["status"] != before[sub["id"]]["status"]]
    assert status_changed, "the later world should change some subscription's status"
    history = _history(warehouse)
    assert {sub_id for sub_id, states in history.items() if len(states) == 2} == {
        sub["id"] for sub in changed
    }
    observed = query(
        warehouse,
        "select observed_at, count(*) from raw_stripe.subscription_history group by all",
    )
    assert dict(observed) == {first.as_of_ts: len(first.stripe["subscriptions"]),
                              later.as_of_ts: len(history) - len(before) + len(changed)}
    assert all(len(states) <= 2 for states in history.values())
    statuses = dict(
        query(
            warehouse,
            "select subscription_id || state_hash, status from raw_stripe.subscription_history",
        )
    )
    for sub in status_changed:
        assert {statuses[sub["id"] + h] for h in history[sub["id"]]} == {
            before[sub["id"]]["status"],
            sub["status"],
        }


def test_later_run_reads_only_changes(
    sandbox_env, warehouse, monkeypatch, ingest_sim, later_sim, later_sandbox
):
    start = _stripe_requests(sandbox_env)
    _load()
    first_requests = _stripe_requests(sandbox_env) - start

    point_sources_at(monkeypatch, later_sandbox)
    _load()

    later_requests = _stripe_requests(later_sandbox)
    _assert_caught_up(warehouse, ingest_sim.world, later_sim.world, first_requests, later_requests)


def test_state_is_restored_from_the_warehouse(
    sandbox_env, warehouse, monkeypatch, ingest_sim, later_sim, later_sandbox
):
    """dagster-dlt deletes the pipelines folder: the cursors must come back from the warehouse."""
    start = _stripe_requests(sandbox_env)
    _load()
    first_requests = _stripe_requests(sandbox_env) - start
    shutil.rmtree(pipelines_dir())

    point_sources_at(monkeypatch, later_sandbox)
    _load()

    later_requests = _stripe_requests(later_sandbox)
    _assert_caught_up(warehouse, ingest_sim.world, later_sim.world, first_requests, later_requests)


def test_forgotten_events_force_a_full_reload(sandbox_env, warehouse, monkeypatch, tmp_path):
    """40 days later the last event read is gone: changes can no longer be replayed."""
    _load()
    much_later = simulate(
        11, START, AS_OF + timedelta(days=40), "small", tmp_path / "much_later"
    ).world
    server = start_server(much_later, port=0)
    try:
        point_sources_at(monkeypatch, server)
        _load()
    finally:
        server.shutdown()

    _assert_equals_world(warehouse, much_later, tables=[t for t in COMPARED if t != "events"])


# --- failures ------------------------------------------------------------------------------------


def test_faults_are_retried_to_the_same_rows(
    faulty_sandbox, warehouse, monkeypatch, ingest_sim, expected_counts
):
    point_sources_at(monkeypatch, faulty_sandbox)

    _load()

    assert faulty_sandbox.faults.injected_errors > 0
    assert faulty_sandbox.faults.injected_rate_limits > 0
    assert _counts(warehouse) == expected_counts["stripe"]
    _assert_equals_world(warehouse, ingest_sim.world)


def test_wrong_key_fails_clearly_without_the_key(sandbox_env, warehouse, monkeypatch):
    wrong_key = "sk_test_wrong_secret_key_9876"
    monkeypatch.setenv("SOURCES__STRIPE__API_KEY", wrong_key)

    with pytest.raises(PipelineStepFailed) as failed:
        _load()

    error = _caused_by(failed.value, SourceHTTPError)
    assert error is not None, f"expected a SourceHTTPError, got {failed.value!r}"
    assert (error.source, error.status) == ("stripe", 401)
    assert error.url_path.startswith("/v1/")
    assert str(error).startswith(f"stripe: HTTP 401 from {error.url_path}")
    for exc in (failed.value, error):
        assert wrong_key not in str(exc) and "9876" not in str(exc)


class _NoPricesServer(SandboxServer):
    """A Stripe without /v1/prices (like localstripe) that serves the same objects as plans."""

    def dispatch(self, request: Request) -> Response:
        if request.path == "/v1/prices":
            return Response.json(
                {"error": {"message": "Unrecognized request URL (GET: /v1/prices)."}}, 404
            )
        if request.path == "/v1/plans":
            request = replace(request, path="/v1/prices")
        return super().dispatch(request)


def test_missing_prices_endpoint_falls_back_to_plans(
    warehouse, monkeypatch, ingest_sim, expected_counts
):
    server = _NoPricesServer(("127.0.0.1", 0), ingest_sim.world)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        point_sources_at(monkeypatch, server)
        _load()
    finally:
        server.shutdown()

    assert _counts(warehouse) == expected_counts["stripe"]
    _assert_equals_world(warehouse, ingest_sim.world, tables=["prices", "subscriptions"])


def test_schema_evolution_new_field_becomes_a_column_and_a_changed_type_does_not_corrupt(
        ingest_sim, monkeypatch, warehouse):
    """A field Stripe adds lands as a new column; a value of another type never rewrites a column."""
    stripe = {name: [dict(obj) for obj in objs] for name, objs in ingest_sim.world.stripe.items()}
    stripe["customers"][0]["preferred_language"] = "de"
    stripe["customers"][1]["balance"] = "not-a-number"  # was an integer everywhere
    world = replace(ingest_sim.world, stripe=stripe)
    server = start_server(world, port=0)
    try:
        point_sources_at(monkeypatch, server)
        _load()
    finally:
        server.shutdown()
    columns = dict(query(warehouse, "select column_name, data_type from information_schema.columns "
                                    "where table_schema = 'raw_stripe' and table_name = 'customers'"))
    assert columns["preferred_language"] == "VARCHAR"
    assert columns["balance"] == "BIGINT"
    first_id = stripe["customers"][0]["id"]
    assert query(warehouse, f"select preferred_language from raw_stripe.customers where id = '{first_id}'") == [("de",)]
    variant = [c for c in columns if c.startswith("balance__v_")]
    assert variant and query(warehouse, f"select {variant[0]} from raw_stripe.customers "
                                        f"where id = '{stripe['customers'][1]['id']}'") == [("not-a-number",)]
    assert query(warehouse, "select count(*) from raw_stripe.customers") == [(len(stripe["customers"]),)]
