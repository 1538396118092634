"""Stripe Billing for one customer: subscriptions, invoices, payments, refunds, as they unfold.

Every decision (plan, coupon, trial outcome, changes, churn, failed payments) is drawn from a
generator seeded by the customer's stable key, in a fixed order, and applied only while its
time is before as-of: a later as-of sees the same past and more of the future.

The module records *history* (timelines of states); ``stripe_objects.py`` renders the API's
objects and events from it, and ``truth.py`` computes MRR from it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from sandbox.simulation import catalog
from sandbox.simulation.clock import DAY, add_months
from sandbox.simulation.ids import stripe_id
from sandbox.simulation.stripe_catalog import StripeCatalog, plan_from_price

LIVE_STATUSES = ("active", "past_due")
#: A subscription in one of these has ended: nothing changes on it any more.
ENDED_STATUSES = ("canceled", "incomplete_expired")


@dataclass(frozen=True)
class Discount:
    id: str
    coupon_id: str
    start: int
    end: int | None

    def active_at(self, ts: int) -> bool:
        return self.end is None or ts < self.end


@dataclass(frozen=True)
class Item:
    id: str  # si_...
    price_key: str
    quantity: int | None  # None for metered prices


@dataclass(frozen=True)
class SubState:
    """The mutable part of a subscription at one moment."""

    status: str
    items: tuple[Item, ...]
    discount: Discount | None
    current_period_start: int
    current_period_end: int
    cancel_at_period_end: bool = False
    cancel_at: int | None = None
    canceled_at: int | None = None
    ended_at: int | None = None
    latest_invoice: str | None = None


@dataclass
class SubscriptionRecord:
    id: str
    customer_id: str
    currency: str
    created: int
    trial_start: int | None
    trial_end: int | None
    billing_cycle_anchor: int
    versions: list[tuple[int, SubState]] = field(default_factory=list)

    def state_at(self, ts: int) -> SubState | None:
        """The state in force at ``ts`` (after every change strictly before it).

        A discount whose ``end`` has passed is gone, as Stripe removes it then, even when no
        other change was recorded after it.
        """
        current = None
        for t, state in self.versions:
            if t >= ts:
                break
            current = state
        if current is not None and current.discount is not None and not current.discount.active_at(ts - 1):
            current = replace(current, discount=None)
        return current


@dataclass
class InvoiceRecord:
    id: str
    customer_id: str
    subscription_id: str | None
    currency: str
    created: int
    billing_reason: str
    period_start: int
    period_end: int
    lines: list[dict]
    subtotal: int
    discount_amount: int
    discount: Discount | None
    tax: int
    #: (time, status, attempt_count, charge_id) -- draft is skipped: invoices finalize at once
    timeline: list[tuple[int, str, int, str | None]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.subtotal - self.discount_amount + self.tax


@dataclass
class ChargeRecord:
    id: str
    customer_id: str
    invoice_id: str
    currency: str
    amount: int
    created: int
    status: str  # succeeded | failed
    balance_transaction_id: str | None
    refunds: list[tuple[int, str, int]] = field(default_factory=list)  # (time, refund id, amount)


@dataclass
class BalanceTransaction:
    id: str
    created: int
    amount: int
    fee: int
    currency: str
    type: str  # charge | refund
    source: str


@dataclass
class CustomerRecord:
    id: str
    user_id: str
    created: int
    email: str
    name: str
    country: str
    currency: str
    delinquency: list[tuple[int, bool]] = field(default_factory=list)


@dataclass
class Ledger:
    """Everything billing recorded, across all customers."""

    customers: list[CustomerRecord] = field(default_factory=list)
    subscriptions: list[SubscriptionRecord] = field(default_factory=list)
    invoices: list[InvoiceRecord] = field(default_factory=list)
    charges: list[ChargeRecord] = field(default_factory=list)
    balance_transactions: list[BalanceTransaction] = field(default_factory=list)


@dataclass
class CustomerPlan:
    """What the journey decided about a customer before billing plays it out."""

    key: str
    user_id: str
    trial_ts: int  # time of the first subscription
    country: str
    currency: str
    activated: bool
    with_trial: bool


class BillingSimulator:
    """Plays out customers' subscriptions into a ``Ledger``, never past ``as_of_ts``."""

    def __init__(self, seed: int, stripe: StripeCatalog, as_of_ts: int,
                 account: catalog.Account = catalog.FULL_ACCOUNT):
        self.seed = seed
        self.stripe = stripe
        self.currencies = stripe.currencies
        self.as_of = as_of_ts
        self.account = account
        self.ledger = Ledger()

    # --- customers -------------------------------------------------------------------------

    def run_customer(self, plan: CustomerPlan) -> list[tuple[int, int]]:
        """Simulate one customer; returns the (start, end) spans when a subscription was live."""
        rng = random.Random(f"{self.seed}:billing:{plan.key}")
        customer = CustomerRecord(
            id=stripe_id("cus", self.seed, plan.key),
            user_id=plan.user_id,
            created=plan.trial_ts - 30,
            email=f"{plan.user_id}@customers.example",
            name=f"Customer {plan.key}",
            country=plan.country,
            currency=plan.currency,
        )
        self.ledger.customers.append(customer)
        spans: list[tuple[int, int]] = []
        start, n, with_trial = plan.trial_ts, 0, plan.with_trial
        while start < self.as_of:
            had_revenue, ended = self._run_subscription(customer, plan, rng, n, start, with_trial, spans)
            # reactivation: a former paying customer comes back with a new subscription
            if ended is None or not had_revenue or rng.random() >= 0.15:
                break
            start, n, with_trial = ended + int(rng.uniform(20, 200) * DAY), n + 1, False
        return spans

    # --- one subscription ----------------------------------------------------------------------

    def _run_subscription(self, customer: CustomerRecord, plan: CustomerPlan, rng: random.Random, n: int,
                          t0: int, with_trial: bool, spans: list[tuple[int, int]]) -> tuple[bool, int | None]:
        outcome = self._play_subscription(customer, plan, rng, n, t0, with_trial, spans)
        self._end_lapsed_discount(self.ledger.subscriptions[-1])
        return outcome

    def _end_lapsed_discount(self, sub: SubscriptionRecord) -> None:
        """A discount that ended before as-of is removed at its end, as Stripe does then.

        ``record`` removes it when the next change is recorded; when that change falls at or
        after as-of, the removal (before as-of) must exist all the same: advancing as-of only
        appends, so a later world cannot add a change dated before the earlier as-of.
        """
        if not sub.versions:
            return
        at, state = sub.versions[-1]
        ends = state.discount.end if state.discount is not None else None
        if state.status in ENDED_STATUSES or ends is None:
            return
        if at < ends < self.as_of:
            sub.versions.append((ends, replace(state, discount=None)))

    def _play_subscription(self, customer: CustomerRecord, plan: CustomerPlan, rng: random.Random, n: int,
                           t0: int, with_trial: bool, spans: list[tuple[int, int]]) -> tuple[bool, int | None]:
        key = f"{plan.key}:{n}"
        cur = plan.currency
        tier = rng.choices(catalog.TIERS, catalog.TIER_WEIGHTS)[0]
        interval = "year" if rng.random() < catalog.ANNUAL_SHARE else "month"
        quantity = {"starter": 1, "professional": rng.randint(1, 3), "business": rng.randint(2, 10)}[tier]
        coupon_spec = rng.choice(catalog.COUPONS) if n == 0 and rng.random() < catalog.COUPON_SHARE else None
        if not self.account.coupons:
            coupon_spec = None  # drawn all the same: the draws that follow stay the same
        metered = tier == "business" and rng.random() < 0.3
        onboarding = rng.random() < 0.1
        p_convert = catalog.TRIAL_CONVERSION[tier] * (1.3 if plan.activated else 0.7)
        converts = rng.random() < p_convert
        months = 12 if interval == "year" else 1

        sub = SubscriptionRecord(
            id=stripe_id("sub", self.seed, key), customer_id=customer.id, currency=cur, created=t0,
            trial_start=t0 if with_trial else None,
            trial_end=t0 + catalog.TRIAL_DAYS * DAY if with_trial else None,
            billing_cycle_anchor=t0 + catalog.TRIAL_DAYS * DAY if with_trial else t0,
        )
        self.ledger.subscriptions.append(sub)
        anchor_day = _utc_day(sub.billing_cycle_anchor)
        items = [Item(stripe_id("si", self.seed, key, "base"), f"{tier}_{interval}_{cur}", quantity)]
        if metered:
            items.append(Item(stripe_id("si", self.seed, key, "metered"), f"api_calls_{cur}", None))
        discount = None
        if coupon_spec is not None:
            coupon_id = coupon_spec.code if coupon_spec.amount_off is None else f"{coupon_spec.code}_{cur.upper()}"
            first_paid = sub.billing_cycle_anchor
            end = {
                "forever": None,
                "once": add_months(first_paid, months, anchor_day),
                "repeating": add_months(t0, coupon_spec.duration_in_months or 0),
            }[coupon_spec.duration]
            discount = Discount(stripe_id("di", self.seed, key), coupon_id, t0, end)

        pending: list[dict] = []  # proration lines waiting for the next invoice
        had_revenue = False

        def record(t: int, state: SubState) -> bool:
            if t >= self.as_of:
                return False
            # a discount whose end has passed is removed first, as Stripe does
            if state.discount and state.discount.end is not None and state.discount.end <= t:
                if (sub.versions and sub.versions[-1][1].discount is not None
                        and sub.versions[-1][0] < state.discount.end):
                    sub.versions.append((state.discount.end, replace(sub.versions[-1][1], discount=None)))
                state = replace(state, discount=None)
            sub.versions.append((t, state))
            return True

        if with_trial:
            state = SubState("trialing", tuple(items), discount, t0, sub.trial_end)
            invoice = self._invoice(sub, key, 0, t0, "subscription_create", state, t0, sub.trial_end, [], trial=True)
            if not record(t0, replace(state, latest_invoice=invoice.id)):
                return False, None
            self._pay(invoice, rng, customer, force_success=True)
            state = sub.versions[-1][1]
            if not converts:
                end = sub.trial_end
                record(end, replace(state, status="canceled", canceled_at=end, ended_at=end))
                return False, end if end < self.as_of else None
            period_start = sub.trial_end
        else:
            period_start = t0
            state = SubState("incomplete", tuple(items), discount, t0, add_months(t0, months, anchor_day))

        number = 1
        while True:
            period_end = add_months(period_start, months, anchor_day)
            if period_start >= self.as_of:
                return had_revenue, None
            reason = "subscription_create" if number == 1 and not with_trial else "subscription_cycle"
            lines = list(pending)
            pending.clear()
            if number > 1 and metered:
                lines.append(self._usage_line(sub, key, number, rng, state, period_start))
            if number == 1 and onboarding:
                lines.append(self._onboarding_line(sub, key, cur))
            current_discount = sub.versions[-1][1].discount if sub.versions else discount
            state = replace(state, current_period_start=period_start, current_period_end=period_end,
                            discount=current_discount)
            invoice = self._invoice(sub, key, number, period_start, reason, state, period_start, period_end, lines)
            paid_at, failed_at = self._pay(invoice, rng, customer)
            state = replace(state, latest_invoice=invoice.id)
            if reason == "subscription_create" and paid_at is None:
                # first payment failed: incomplete, then expired after 23 hours
                record(period_start, replace(state, status="incomplete"))
                expired_at = period_start + 23 * 3600
                record(expired_at, replace(state, status="incomplete_expired", ended_at=expired_at))
                return False, None
            if failed_at is not None:
                if not record(failed_at, replace(state, status="past_due")):
                    return had_revenue, None
                self._delinquent(customer, failed_at, True)
                if paid_at is None:
                    cancel_at = period_start + 14 * DAY
                    self._mark_uncollectible(invoice, cancel_at)
                    record(cancel_at, replace(state, status="canceled", canceled_at=cancel_at, ended_at=cancel_at))
                    spans.append((period_start, cancel_at))
                    return True, cancel_at if cancel_at < self.as_of else None
                self._delinquent(customer, paid_at, False)
                state = replace(state, status="past_due")
                recovered_at = paid_at  # a step of the period, in time order with the others
            else:
                state = replace(state, status="active")
                if not record(period_start, state):
                    return had_revenue, None
                recovered_at = None
            had_revenue = True

            # mid-period decisions, drawn in a fixed order every period
            churn_p = 0.25 if interval == "year" else 0.035
            churns = rng.random() < churn_p
            immediate = rng.random() < 0.2
            reverts = rng.random() < 0.15
            change_at = period_start + int(rng.uniform(0.1, 0.9) * (period_end - period_start))
            change = rng.random()
            seats = rng.choice((-2, -1, 1, 1, 2))
            if interval == "year":
                decide_at = period_end - int(rng.uniform(5, 60) * DAY)
            else:
                decide_at = period_start + int(rng.uniform(0.2, 0.95) * (period_end - period_start))

            base = state.items[0]
            new_base = None
            if change < 0.03 and tier != "business":
                tier = catalog.TIERS[catalog.TIERS.index(tier) + 1]
                new_base = replace(base, price_key=f"{tier}_{interval}_{cur}")
            elif change < 0.045 and tier != "starter":
                tier = catalog.TIERS[catalog.TIERS.index(tier) - 1]
                new_base = replace(base, price_key=f"{tier}_{interval}_{cur}",
                                   quantity=1 if tier == "starter" else base.quantity)
            elif change < 0.09 and tier != "starter":
                new_base = replace(base, quantity=max(1, (base.quantity or 1) + seats))
            # The period's changes, applied and recorded in the order they happen: a plan change
            # or a decision to cancel may come before a late payment or before each other.
            # Recorded out of order, versions are not a timeline, and a later world would hold a
            # change dated before an earlier world's as-of that the earlier world lacks.
            steps: list[tuple[int, str]] = [] if recovered_at is None else [(recovered_at, "recover")]
            if new_base is not None and new_base != base:
                steps.append((change_at, "change"))
                pending.extend(self._proration_lines(sub, key, number, base, new_base, change_at,
                                                     period_start, period_end))
            if churns and immediate:
                steps.append((max(decide_at, change_at + 60), "cancel_now"))
            elif churns:
                steps.append((decide_at, "cancel_at_period_end"))
                if reverts:
                    steps.append((decide_at + (period_end - decide_at) // 2, "revert"))
                else:
                    steps.append((period_end, "end"))
            for at, step in sorted(steps, key=lambda s: s[0]):
                state = _apply(state, step, at, new_base, period_end)
                if not record(at, state):
                    spans.append((period_start, self.as_of))
                    return True, None
                if state.status == "canceled":
                    spans.append((period_start, at))
                    return True, at
            spans.append((period_start, min(period_end, self.as_of)))
            period_start = period_end
            number += 1

    # --- invoices and payments ---------------------------------------------------------------------

    def _price(self, key: str) -> dict:
        return self.stripe.price_objects[self.stripe.price_refs[key].id]

    def _line(self, sub: SubscriptionRecord, line_key: str, price_key: str, quantity: int | None,
              amount: int, start: int, end: int, proration: bool, description: str,
              item_id: str | None, kind: str = "subscription") -> dict:
        price = self._price(price_key)
        return {
            "id": stripe_id("il", self.seed, line_key), "object": "line_item", "amount": amount,
            "amount_excluding_tax": amount, "currency": sub.currency, "description": description,
            "discount_amounts": [], "discountable": kind == "subscription", "discounts": [],
            "livemode": False, "metadata": {}, "period": {"start": start, "end": end},
            "plan": plan_from_price(price) if price["recurring"] else None, "price": price,
            "proration": proration, "quantity": quantity, "subscription": sub.id,
            "subscription_item": item_id, "tax_amounts": [], "type": kind,
        }

    def _invoice(self, sub: SubscriptionRecord, key: str, number: int, created: int, reason: str,
                 state: SubState, start: int, end: int, extra: list[dict], trial: bool = False) -> InvoiceRecord:
        inv_id = stripe_id("in", self.seed, key, number)
        lines = []
        for item in state.items:
            if item.quantity is None:
                continue  # metered: billed in arrears by a usage line
            ref = self.stripe.price_refs[item.price_key]
            amount = 0 if trial else ref.unit_amount * item.quantity
            tier_name = self._price(item.price_key)["nickname"]
            description = f"Trial period for {tier_name}" if trial else f"{item.quantity} x {tier_name}"
            lines.append(self._line(sub, f"{inv_id}:{item.id}", item.price_key, item.quantity, amount,
                                    start, end, False, description, item.id))
        lines.extend(extra)
        for line in lines:
            line["invoice"] = inv_id
        subtotal = sum(line["amount"] for line in lines)
        discountable = sum(line["amount"] for line in lines if line["discountable"])
        discount_amount = 0
        if state.discount is not None and state.discount.active_at(created) and discountable > 0:
            coupon = self.stripe.coupon_objects[state.discount.coupon_id]
            if coupon["percent_off"] is not None:
                discount_amount = round(discountable * coupon["percent_off"] / 100)
            else:
                discount_amount = min(coupon["amount_off"], discountable)
        taxable = max(subtotal - discount_amount, 0)
        tax = round(taxable * catalog.TAX_PERCENT[sub.currency] / 100) if self.account.tax else 0
        invoice = InvoiceRecord(inv_id, sub.customer_id, sub.id, sub.currency, created, reason, start, end, lines,
                                subtotal, discount_amount, state.discount if discount_amount else None, tax)
        if created < self.as_of:
            self.ledger.invoices.append(invoice)
        return invoice

    def _usage_line(self, sub: SubscriptionRecord, key: str, number: int, rng: random.Random,
                    state: SubState, period_start: int) -> dict:
        item = state.items[1]
        usage = rng.randint(0, 400)
        unit = self.stripe.price_refs[item.price_key].unit_amount
        prev_start = state.current_period_start
        return self._line(sub, f"{key}:{number}:usage", item.price_key, usage, usage * unit, prev_start,
                          period_start, False, f"{usage} x API calls (per 1,000)", item.id)

    def _onboarding_line(self, sub: SubscriptionRecord, key: str, cur: str) -> dict:
        amount = self.stripe.price_refs[f"onboarding_{cur}"].unit_amount
        return self._line(sub, f"{key}:onboarding", f"onboarding_{cur}", 1, amount, sub.created, sub.created,
                          False, "Onboarding package", None, kind="invoiceitem")

    def _proration_lines(self, sub: SubscriptionRecord, key: str, number: int, old: Item, new: Item, at: int,
                         start: int, end: int) -> list[dict]:
        """Stripe's default create_prorations: unused time credited, remaining time charged."""
        share = (end - at) / (end - start)
        old_ref, new_ref = self.stripe.price_refs[old.price_key], self.stripe.price_refs[new.price_key]
        credit = -round(old_ref.unit_amount * (old.quantity or 1) * share)
        charge = round(new_ref.unit_amount * (new.quantity or 1) * share)
        return [
            self._line(sub, f"{key}:{number}:unused", old.price_key, old.quantity, credit, at, end, True,
                       "Unused time on previous plan", old.id),
            self._line(sub, f"{key}:{number}:remaining", new.price_key, new.quantity, charge, at, end, True,
                       "Remaining time on new plan", new.id),
        ]

    def _pay(self, invoice: InvoiceRecord, rng: random.Random, customer: CustomerRecord,
             force_success: bool = False) -> tuple[int | None, int | None]:
        """Collect an invoice: returns (paid_at, first_failed_at). Smart retries on days 3, 5, 7.

        The times returned are the decided ones, even when at or after as-of (only the charges
        before it exist): what the subscription does until as-of must not depend on where
        as-of falls, or a later as-of would rewrite the past (a first payment due after as-of
        read as a failed one: "incomplete" at creation, "active" in the later world).
        """
        fails_first = rng.random() < 0.05 and not force_success
        retry_success = [rng.random() < 0.5 for _ in range(3)]
        refund_draw, refund_full, refund_day = rng.random(), rng.random() < 0.6, rng.uniform(1, 10)
        due = max(invoice.total, 0)
        t = invoice.created + 3600
        if due == 0:
            self._status(invoice, invoice.created, "paid", 0, None)
            return invoice.created, None
        self._status(invoice, invoice.created, "open", 0, None)
        attempts = [t] + [invoice.created + d * DAY for d in (3, 5, 7)]
        outcomes = [not fails_first] + retry_success
        first_failed = None
        for attempt, (at, ok) in enumerate(zip(attempts, outcomes, strict=True), start=1):
            if at < self.as_of:  # later attempts are decided, not yet made
                charge = self._charge(invoice, attempt, at, "succeeded" if ok else "failed")
                self._status(invoice, at, "paid" if ok else "open", attempt, charge.id)
                if ok and refund_draw < 0.02 and self.account.refunds:
                    amount = due if refund_full else due // 2
                    self._refund(charge, at + int(refund_day * DAY), amount)
            if ok:
                return at, first_failed
            first_failed = first_failed or at
        return None, first_failed

    def _status(self, invoice: InvoiceRecord, at: int, status: str, attempts: int, charge_id: str | None) -> None:
        if at < self.as_of:
            invoice.timeline.append((at, status, attempts, charge_id))

    def _mark_uncollectible(self, invoice: InvoiceRecord, at: int) -> None:
        last = invoice.timeline[-1]
        self._status(invoice, at, "uncollectible", last[2], last[3])

    def _charge(self, invoice: InvoiceRecord, attempt: int, at: int, status: str) -> ChargeRecord:
        charge_id = stripe_id("ch", self.seed, invoice.id, attempt)
        txn = None
        due = max(invoice.total, 0)
        if status == "succeeded":
            txn = stripe_id("txn", self.seed, charge_id)
            self.ledger.balance_transactions.append(
                BalanceTransaction(txn, at, due, _fee(due, invoice.currency), invoice.currency, "charge", charge_id)
            )
        charge = ChargeRecord(charge_id, invoice.customer_id, invoice.id, invoice.currency, due, at, status, txn)
        self.ledger.charges.append(charge)
        return charge

    def _refund(self, charge: ChargeRecord, at: int, amount: int) -> None:
        if at >= self.as_of:
            return
        refund_id = stripe_id("re", self.seed, charge.id)
        charge.refunds.append((at, refund_id, amount))
        self.ledger.balance_transactions.append(
            BalanceTransaction(stripe_id("txn", self.seed, refund_id), at, -amount, 0, charge.currency,
                               "refund", refund_id)
        )

    def _delinquent(self, customer: CustomerRecord, at: int, value: bool) -> None:
        if at < self.as_of:
            customer.delinquency.append((at, value))


def _apply(state: SubState, step: str, at: int, new_base: Item | None, period_end: int) -> SubState:
    """The subscription's state after one of a period's changes, made at ``at``."""
    if step == "change":
        return replace(state, items=(new_base, *state.items[1:]))
    if step == "cancel_now":
        return replace(state, status="canceled", canceled_at=at, ended_at=at)
    if step == "cancel_at_period_end":
        return replace(state, cancel_at_period_end=True, cancel_at=period_end, canceled_at=at)
    if step == "recover":  # the failed invoice is paid after all
        return replace(state, status="active")
    if step == "revert":
        return replace(state, cancel_at_period_end=False, cancel_at=None, canceled_at=None)
    return replace(state, status="canceled", ended_at=period_end)  # "end"


def _fee(amount: int, currency: str) -> int:
    """Stripe's card fee: 2.9% + a fixed fee in the currency (3.6% for zero-decimal JPY)."""
    if currency == "jpy":
        return round(amount * 0.036)
    return round(amount * 0.029) + catalog.CARD_FIXED_FEE[currency]


def _utc_day(ts: int) -> int:
    return datetime.fromtimestamp(ts, tz=UTC).day
