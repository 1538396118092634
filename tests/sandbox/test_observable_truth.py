"""The observable MRR truth: what an observer of the Stripe API can date, and what it cannot.

Hand-built subscriptions pin each kind of evidence (an invoice, an invoiced proration, a served
event, the event window's start); a simulated year checks that every month where the
observable truth parts from the real one holds a change nothing Stripe returns dates.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from sandbox.observable import EVENT_WINDOW_SECONDS, ObservableItems
from sandbox.simulation import Simulation, simulate
from sandbox.simulation.billing import (
    InvoiceRecord,
    Item,
    Ledger,
    SubscriptionRecord,
    SubState,
)
from sandbox.simulation.clock import DAY, day_start
from sandbox.simulation.stripe_catalog import build_catalog
from sandbox.truth import UNDATABLE_FIELDS, subscription_mrr, write_truth

CATALOG = build_catalog(1, 0)
AS_OF = day_start(date(2025, 7, 1))  # the event window starts on June 1st
MONTHLY, ANNUAL = "starter_month_usd", "professional_year_usd"


def _ts(day: str) -> int:
    return day_start(date.fromisoformat(day)) + 12 * 3600  # noon: never on a month's edge


def _month_end(month: str) -> int:
    """The month's last instant as the truth reads it (the next month's first second)."""
    first = date.fromisoformat(month + "-01")
    return day_start(first.replace(year=first.year + first.month // 12, month=first.month % 12 + 1))


def _state(quantity: int, price: str = MONTHLY, status: str = "active", **changes) -> SubState:
    return SubState(status, (Item("si_1", price, quantity),), None, 0, 1, **changes)


def _line(price: str, quantity: int, start: int, proration: bool = False) -> dict:
    object_ = CATALOG.price_objects[CATALOG.price_refs[price].id]
    return {"type": "subscription", "proration": proration, "amount": 100, "quantity": quantity,
            "period": {"start": start, "end": start + DAY}, "subscription_item": "si_1",
            "price": object_}


def _invoice(sub: SubscriptionRecord, at: int, lines: list[dict]) -> InvoiceRecord:
    return InvoiceRecord(f"in_{sub.id}_{at}", sub.customer_id, sub.id, "usd", at,
                         "subscription_cycle", at, at + DAY, lines, 0, 0, None, 0)


def _monthly_invoices(sub: SubscriptionRecord, days: tuple[str, ...]) -> list[InvoiceRecord]:
    return [_invoice(sub, _ts(day), [_line(MONTHLY, 1, _ts(day))]) for day in days]


def _sub(name: str, versions: list[tuple[str, SubState]]) -> SubscriptionRecord:
    created = _ts(versions[0][0])
    sub = SubscriptionRecord(name, "cus_1", "usd", created, None, None, created)
    sub.versions = [(_ts(day), state) for day, state in versions]
    return sub


def _observable(sub: SubscriptionRecord, invoices: list[InvoiceRecord]) -> ObservableItems:
    ledger = Ledger(subscriptions=[sub], invoices=invoices)
    return ObservableItems(ledger, CATALOG.price_refs, AS_OF)


def _quantities(seen: ObservableItems, sub: SubscriptionRecord, months: list[str]) -> list[int]:
    return [seen.state_at(sub, _month_end(m)).items[0].quantity for m in months]


def test_an_invoiced_proration_dates_a_change_to_its_instant():
    sub = _sub("sub_prorated", [("2025-01-15", _state(1)), ("2025-03-20", _state(3)),
                                ("2025-04-15", _state(3))])
    invoices = _monthly_invoices(sub, ("2025-01-15", "2025-02-15", "2025-03-15"))
    invoices.append(_invoice(sub, _ts("2025-04-15"), [
        _line(MONTHLY, 3, _ts("2025-04-15")),
        _line(MONTHLY, 3, _ts("2025-03-20"), proration=True)]))
    observable = _observable(sub, invoices)
    assert _quantities(observable, sub, ["2025-02", "2025-03", "2025-04"]) == [1, 3, 3]
    assert observable.undatable_changes(sub, _month_end("2025-03")) == []


def test_a_change_whose_prorations_were_never_invoiced_counts_from_the_next_evidence():
    """Changed on March 20th, canceled at the period's end (April 15th): no invoice bills the
    change and its events are gone by July; the March value keeps the old quantity."""
    ended = _state(3, status="canceled", ended_at=_ts("2025-04-15"))
    sub = _sub("sub_ended", [("2025-01-15", _state(1)), ("2025-03-20", _state(3)),
                             ("2025-03-25", _state(3, cancel_at_period_end=True)),
                             ("2025-04-15", ended)])
    invoices = _monthly_invoices(sub, ("2025-01-15", "2025-02-15", "2025-03-15"))
    observable = _observable(sub, invoices)
    assert _quantities(observable, sub, ["2025-02", "2025-03"]) == [1, 1]
    assert sub.state_at(_month_end("2025-03")).items[0].quantity == 3  # what really happened
    assert observable.undatable_changes(sub, _month_end("2025-03")) == [_ts("2025-03-20")]
    knowable = {s.items[0].quantity for s in observable.knowable_states(sub, _month_end("2025-03"))}
    assert knowable == {1, 3}  # an earlier load may have seen the change: either is right


def test_the_event_window_dates_an_older_change_from_its_start():
    """An annual plan changed on March 5th, next invoice in 2026: undatable until the served
    events begin (June 1st: nothing served after it changes the items, so May's last instant,
    the window's first, already has them)."""
    sub = _sub("sub_annual", [("2025-01-10", _state(1, ANNUAL)),
                              ("2025-03-05", _state(4, ANNUAL))])
    invoices = [_invoice(sub, _ts("2025-01-10"), [_line(ANNUAL, 1, _ts("2025-01-10"))])]
    observable = _observable(sub, invoices)
    assert AS_OF - EVENT_WINDOW_SECONDS == _month_end("2025-05")
    months = ["2025-02", "2025-03", "2025-04", "2025-05", "2025-06"]
    assert _quantities(observable, sub, months) == [1, 1, 1, 4, 4]
    assert observable.undatable_changes(sub, _month_end("2025-04")) == [_ts("2025-03-05")]
    assert observable.undatable_changes(sub, _month_end("2025-05")) == []


def test_a_served_event_dates_its_change_and_shows_the_state_it_replaced():
    """Two changes: March 5th (undatable) and June 10th (served): the June event's previous
    state dates the March one from the window's start, the event dates its own exactly."""
    sub = _sub("sub_twice", [("2025-01-10", _state(1, ANNUAL)), ("2025-03-05", _state(2, ANNUAL)),
                             ("2025-06-10", _state(3, ANNUAL))])
    invoices = [_invoice(sub, _ts("2025-01-10"), [_line(ANNUAL, 1, _ts("2025-01-10"))])]
    observable = _observable(sub, invoices)
    months = ["2025-03", "2025-04", "2025-05", "2025-06"]
    assert _quantities(observable, sub, months) == [1, 1, 2, 3]
    assert [sub.state_at(_month_end(m)).items[0].quantity for m in months] == [2, 2, 2, 3]


# --- a simulated year ---------------------------------------------------------------------

#: seed 11's year at small scale has plan changes no Stripe data dates (the nightly tests' seed)
SEED, START, WORLD_AS_OF = 11, date(2025, 1, 1), date(2026, 1, 1)


@pytest.fixture(scope="module")
def year(tmp_path_factory) -> tuple[Simulation, Path]:
    root = tmp_path_factory.mktemp("observable")
    sim = simulate(SEED, START, WORLD_AS_OF, "small", root / "ga4")
    write_truth(sim, root / "truth")
    return sim, root / "truth"


def _read(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_each_undatable_month_holds_a_change_nothing_stripe_returns_dates(year):
    sim, truth = year
    rows = _read(truth / "mrr_undatable.csv")
    assert rows and tuple(rows[0]) == UNDATABLE_FIELDS
    subs = {sub.id: sub for sub in sim.ledger.subscriptions}
    invoices = defaultdict(list)
    for invoice in sim.ledger.invoices:
        invoices[invoice.subscription_id].append(invoice)
    window = day_start(WORLD_AS_OF) - EVENT_WINDOW_SECONDS
    for row in rows:
        sub = subs[row["subscription_id"]]
        changes = [_parse(t) for t in row["undated_changes"].split(";")]
        assert changes, row
        for at in changes:
            assert at < window  # its events are gone
            lines = [line for invoice in invoices[sub.id] for line in invoice.lines]
            assert not any(line["proration"] and line["period"]["start"] == at for line in lines)
            # and no invoice billed the new items between the change and the month's end
            end = _month_end(row["month"][:7])
            assert not any(at < invoice.period_start < end for invoice in invoices[sub.id])
        state = sub.state_at(_month_end(row["month"][:7]))
        true = subscription_mrr(state, sim.stripe_catalog.price_refs,
                                sim.stripe_catalog.coupon_objects, row["mrr_discounts"])
        assert Decimal(row["mrr_minor"]) == round(Decimal(true.numerator) / true.denominator, 4)
        knowable = set(row["knowable_mrr_minor"].split(";"))
        assert {row["mrr_minor"], row["observable_mrr_minor"]} <= knowable


def test_the_observable_truth_parts_from_the_truth_only_by_the_undatable_months(year):
    _, truth = year
    full = {(r["month"], r["currency"], r["mrr_discounts"]): r
            for r in _read(truth / "mrr_monthly.csv")}
    seen = {(r["month"], r["currency"], r["mrr_discounts"]): r
            for r in _read(truth / "mrr_monthly_observable.csv")}
    assert set(seen) == set(full)
    gaps: dict[tuple, Decimal] = defaultdict(Decimal)
    for row in _read(truth / "mrr_undatable.csv"):
        gaps[(row["month"], row["currency"], row["mrr_discounts"])] += (
            Decimal(row["mrr_minor"]) - Decimal(row["observable_mrr_minor"]))
    parted = {key for key in full if full[key]["mrr_minor"] != seen[key]["mrr_minor"]}
    assert parted and parted <= set(gaps)
    for key, row in full.items():
        gap = Decimal(row["mrr_minor"]) - Decimal(seen[key]["mrr_minor"])
        assert abs(gap - gaps.get(key, Decimal(0))) <= Decimal("0.0002"), key  # 4-decimal rounding
        assert row["active_customers"] == seen[key]["active_customers"]  # status is always dated


def _parse(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp())
