"""Render the billing ledger as Stripe API objects at as-of, and the events of the last 30 days.

Objects show their latest state before as-of. Events carry the object as it was at the
event's time (``data.object``) and what changed (``data.previous_attributes``), like Stripe's.
Everything is rendered in the 2024-06-20 shape; ``sandbox/stripe_versions.py``
derives the newer versions' shapes when serving. Every invoice with an amount due has one
payment intent, which all its charges (attempts) share, and one invoice payment linking the
two (the link newer versions keep once ``charge.invoice`` is gone).
"""

from __future__ import annotations

from collections import Counter

from sandbox.simulation import catalog
from sandbox.simulation.billing import (
    ChargeRecord,
    CustomerRecord,
    Discount,
    InvoiceRecord,
    Ledger,
    SubscriptionRecord,
    SubState,
)
from sandbox.simulation.clock import DAY
from sandbox.simulation.ids import stripe_id
from sandbox.simulation.stripe_catalog import StripeCatalog, plan_from_price
from sandbox.stripe_versions import STORED_VERSION

API_VERSION = STORED_VERSION  # the shape everything here is rendered in
EVENT_WINDOW = 30 * DAY


class StripeRenderer:
    def __init__(self, seed: int, stripe: StripeCatalog, as_of_ts: int,
                 account: catalog.Account = catalog.FULL_ACCOUNT):
        self.seed = seed
        self.stripe = stripe
        self.as_of = as_of_ts
        self.account = account
        self.events: list[dict] = []
        self.invoice_payments: list[dict] = []
        #: events already emitted per (type, object, second): two changes in one second (a coupon
        #: ending at a renewal) are two events, and need two ids
        self._same_instant: Counter[tuple[str, str, int]] = Counter()

    def render(self, ledger: Ledger) -> dict[str, list[dict]]:
        """Every resource's objects at as-of, plus ``events`` (all of them: the API keeps 30 days)."""
        subscriptions = [self._subscriptions(sub) for sub in ledger.subscriptions if sub.versions]
        customers = [self._customers(c) for c in ledger.customers if c.created < self.as_of]
        invoices = [self._invoices(inv) for inv in ledger.invoices if inv.timeline]
        charges, refunds = [], []
        for charge in ledger.charges:
            if charge.created < self.as_of:
                charges.append(self._charges(charge))
                refunds.extend(self._refund(charge, at, rid, amount) for at, rid, amount in charge.refunds)
        balance = [
            {
                "id": t.id, "object": "balance_transaction", "amount": t.amount, "available_on": t.created + 2 * DAY,
                "created": t.created, "currency": t.currency, "description": None, "exchange_rate": None,
                "fee": t.fee,
                "fee_details": [{"amount": t.fee, "currency": t.currency, "type": "stripe_fee"}] if t.fee else [],
                "net": t.amount - t.fee, "reporting_category": t.type, "source": t.source,
                "status": "available" if t.created + 2 * DAY < self.as_of else "pending", "type": t.type,
            }
            for t in ledger.balance_transactions if t.created < self.as_of
        ]
        return {
            "customers": customers, "products": self.stripe.products, "prices": self.stripe.prices,
            "coupons": self.stripe.coupons, "subscriptions": subscriptions, "invoices": invoices,
            "charges": charges, "refunds": refunds, "balance_transactions": balance, "events": self.events,
            "invoice_payments": self.invoice_payments,
        }

    # --- events --------------------------------------------------------------------------------

    def _emit(self, kind: str, at: int, obj: dict, previous: dict | None = None) -> None:
        if not (self.as_of - EVENT_WINDOW <= at < self.as_of):
            return
        data: dict = {"object": obj}
        if previous:
            data["previous_attributes"] = previous
        sequence = self._same_instant[(kind, obj["id"], at)]
        self._same_instant[(kind, obj["id"], at)] += 1
        self.events.append({
            "id": stripe_id("evt", self.seed, kind, obj["id"], at, *([sequence] if sequence else [])),
            "object": "event", "api_version": API_VERSION,
            "created": at, "data": data, "livemode": False, "pending_webhooks": 0,
            "request": {"id": None, "idempotency_key": None}, "type": kind,
        })

    def _emit_versions(self, prefix: str, versions: list[tuple[int, dict]], deleted_when=None) -> None:
        """created / updated (with previous_attributes) / deleted events for a versioned object."""
        previous = None
        for at, obj in versions:
            if previous is None:
                self._emit(f"{prefix}.created", at, obj)
            else:
                changed = {k: previous[k] for k in obj if obj[k] != previous.get(k)}
                if deleted_when is not None and deleted_when(obj) and not deleted_when(previous):
                    self._emit(f"{prefix}.deleted", at, obj)
                elif changed:
                    self._emit(f"{prefix}.updated", at, obj, changed)
            previous = obj

    # --- customers -------------------------------------------------------------------------------

    def _customer(self, c: CustomerRecord, delinquent: bool) -> dict:
        return {
            "id": c.id, "object": "customer",
            "address": {"city": None, "country": c.country, "line1": None, "line2": None,
                        "postal_code": None, "state": None} if self.account.addresses else None,
            "balance": 0, "created": c.created, "currency": c.currency, "default_source": None,
            "delinquent": delinquent, "description": None, "discount": None, "email": c.email,
            "invoice_prefix": c.id[4:12].upper(), "livemode": False, "metadata": {"user_id": c.user_id},
            "name": c.name, "phone": None, "preferred_locales": [], "shipping": None, "tax_exempt": "none",
        }

    def _customers(self, c: CustomerRecord) -> dict:
        versions = [(c.created, self._customer(c, False))]
        versions += [(at, self._customer(c, value)) for at, value in c.delinquency]
        self._emit_versions("customer", versions)
        return versions[-1][1]

    # --- subscriptions -----------------------------------------------------------------------------

    def _discount(self, d: Discount | None, sub: SubscriptionRecord) -> dict | None:
        if d is None:
            return None
        return {
            "id": d.id, "object": "discount", "coupon": self.stripe.coupon_objects[d.coupon_id],
            "customer": sub.customer_id, "end": d.end, "invoice": None, "invoice_item": None,
            "promotion_code": None, "start": d.start, "subscription": sub.id,
        }

    def _subscription(self, sub: SubscriptionRecord, state: SubState) -> dict:
        items = []
        for item in state.items:
            price = self.stripe.price_objects[self.stripe.price_refs[item.price_key].id]
            items.append({
                "id": item.id, "object": "subscription_item", "created": sub.created,
                "current_period_start": state.current_period_start, "current_period_end": state.current_period_end,
                "discounts": [], "metadata": {}, "plan": plan_from_price(price), "price": price,
                "quantity": item.quantity, "subscription": sub.id, "tax_rates": [],
            })
        base_price = items[0]["price"] if items else None
        return {
            "id": sub.id, "object": "subscription", "application_fee_percent": None,
            "billing_cycle_anchor": sub.billing_cycle_anchor, "cancel_at": state.cancel_at,
            "cancel_at_period_end": state.cancel_at_period_end, "canceled_at": state.canceled_at,
            "cancellation_details": {"comment": None, "feedback": None,
                                     "reason": "cancellation_requested" if state.canceled_at else None},
            "collection_method": "charge_automatically", "created": sub.created, "currency": sub.currency,
            "current_period_end": state.current_period_end, "current_period_start": state.current_period_start,
            "customer": sub.customer_id, "days_until_due": None, "default_payment_method": None,
            "discount": self._discount(state.discount, sub),
            "discounts": [state.discount.id] if state.discount else [], "ended_at": state.ended_at,
            "items": {"object": "list", "data": items, "has_more": False, "total_count": len(items),
                      "url": f"/v1/subscription_items?subscription={sub.id}"},
            "latest_invoice": state.latest_invoice, "livemode": False, "metadata": {},
            "pause_collection": None, "plan": plan_from_price(base_price) if len(items) == 1 else None,
            "quantity": items[0]["quantity"] if len(items) == 1 else None, "start_date": sub.created,
            "status": state.status, "trial_end": sub.trial_end, "trial_start": sub.trial_start,
        }

    def _subscriptions(self, sub: SubscriptionRecord) -> dict:
        versions = [(at, self._subscription(sub, state)) for at, state in sub.versions]
        self._emit_versions("customer.subscription", versions,
                            deleted_when=lambda o: o["status"] in ("canceled", "incomplete_expired"))
        return self._subscription(sub, sub.state_at(self.as_of))

    # --- invoices, charges, refunds ------------------------------------------------------------------

    def _invoice(self, inv: InvoiceRecord, at: int, status: str, attempts: int, charge_id: str | None,
                 paid_at: int | None, first_at: int) -> dict:
        due = max(inv.total, 0)
        paid = status == "paid"
        return {
            "id": inv.id, "object": "invoice", "account_country": "US", "amount_due": due,
            "amount_paid": due if paid else 0, "amount_remaining": 0 if paid else due,
            "attempt_count": attempts, "attempted": attempts > 0, "auto_advance": status == "open",
            "billing_reason": inv.billing_reason, "charge": charge_id,
            "collection_method": "charge_automatically",
            "created": inv.created, "currency": inv.currency, "customer": inv.customer_id,
            "discount": (self._discount(inv.discount, _SubRef(inv.subscription_id, inv.customer_id))
                         if inv.discount else None),
            "discounts": [inv.discount.id] if inv.discount else [], "due_date": None, "ending_balance": 0,
            "hosted_invoice_url": None,
            "lines": {"object": "list", "data": inv.lines, "has_more": False,
                      "total_count": len(inv.lines), "url": f"/v1/invoices/{inv.id}/lines"},
            "livemode": False, "metadata": {}, "number": f"{inv.customer_id[4:12].upper()}-{inv.id[-4:]}",
            "paid": paid, "payment_intent": self._payment_intent(inv), "period_end": inv.period_end,
            "period_start": inv.period_start,
            "starting_balance": 0, "status": status,
            "status_transitions": {"finalized_at": first_at,
                                   "marked_uncollectible_at": at if status == "uncollectible" else None,
                                   "paid_at": paid_at, "voided_at": None},
            "subscription": inv.subscription_id, "subtotal": inv.subtotal,
            "subtotal_excluding_tax": inv.subtotal, "tax": inv.tax if self.account.tax else None,
            "total": inv.total,
            "total_discount_amounts": ([{"amount": inv.discount_amount, "discount": inv.discount.id}]
                                       if inv.discount else []),
            "total_excluding_tax": inv.subtotal - inv.discount_amount,
            "total_tax_amounts": ([{"amount": inv.tax, "inclusive": False, "tax_rate": "txr_sandbox_vat"}]
                                  if inv.tax else []),
        }

    def _invoices(self, inv: InvoiceRecord) -> dict:
        first_at = inv.timeline[0][0]
        paid_at = None
        obj = None
        for i, (at, status, attempts, charge_id) in enumerate(inv.timeline):
            paid_at = at if status == "paid" else paid_at
            obj = self._invoice(inv, at, status, attempts, charge_id, paid_at, first_at)
            if i == 0:
                self._emit("invoice.created", at, obj)
                self._emit("invoice.finalized", at, obj)
            if status == "paid":
                self._emit("invoice.paid", at, obj)
                self._emit("invoice.payment_succeeded", at, obj)
            elif attempts and status == "open":
                self._emit("invoice.payment_failed", at, obj)
            elif status == "uncollectible":
                self._emit("invoice.marked_uncollectible", at, obj)
        if self._payment_intent(inv):
            self.invoice_payments.append(self._invoice_payment(inv, paid_at))
        return obj

    def _payment_intent(self, inv: InvoiceRecord) -> str | None:
        return stripe_id("pi", self.seed, inv.id) if inv.total > 0 else None

    def _invoice_payment(self, inv: InvoiceRecord, paid_at: int | None) -> dict:
        """The invoice's default payment: its payment intent, open until paid."""
        due = inv.total
        obj = {
            "id": stripe_id("inpay", self.seed, inv.id), "object": "invoice_payment",
            "amount_paid": due if paid_at is not None else None, "amount_requested": due,
            "created": inv.created, "currency": inv.currency, "invoice": inv.id, "is_default": True,
            "livemode": False,
            "payment": {"type": "payment_intent", "payment_intent": self._payment_intent(inv)},
            "status": "paid" if paid_at is not None else "open",
            "status_transitions": {"canceled_at": None, "paid_at": paid_at},
        }
        if paid_at is not None:
            self._emit("invoice_payment.paid", paid_at, obj)
        return obj

    def _charge(self, c: ChargeRecord, refunded: int) -> dict:
        failed = c.status == "failed"
        return {
            "id": c.id, "object": "charge", "amount": c.amount, "amount_captured": 0 if failed else c.amount,
            "amount_refunded": refunded, "balance_transaction": c.balance_transaction_id, "captured": not failed,
            "created": c.created, "currency": c.currency, "customer": c.customer_id, "description": None,
            "disputed": False, "failure_code": "card_declined" if failed else None,
            "failure_message": "Your card was declined." if failed else None, "invoice": c.invoice_id,
            "livemode": False, "metadata": {},
            "outcome": {"network_status": "declined_by_network" if failed else "approved_by_network",
                        "type": "issuer_declined" if failed else "authorized"},
            "paid": not failed, "payment_intent": stripe_id("pi", self.seed, c.invoice_id),
            "payment_method_details": {"type": "card"},
            "refunded": refunded == c.amount and refunded > 0, "status": c.status,
        }

    def _charges(self, c: ChargeRecord) -> dict:
        obj = self._charge(c, 0)
        self._emit("charge.failed" if c.status == "failed" else "charge.succeeded", c.created, obj)
        refunded = 0
        for at, _, amount in c.refunds:
            refunded += amount
            before = obj
            obj = self._charge(c, refunded)
            self._emit("charge.refunded", at, obj,
                       {"amount_refunded": before["amount_refunded"], "refunded": before["refunded"]})
        return obj

    def _refund(self, c: ChargeRecord, at: int, refund_id: str, amount: int) -> dict:
        obj = {
            "id": refund_id, "object": "refund", "amount": amount,
            "balance_transaction": stripe_id("txn", self.seed, refund_id), "charge": c.id, "created": at,
            "currency": c.currency, "metadata": {}, "payment_intent": None, "reason": "requested_by_customer",
            "status": "succeeded",
        }
        self._emit("refund.created", at, obj)
        return obj


class _SubRef:
    """Just enough of a subscription for rendering an invoice's discount."""

    def __init__(self, sub_id: str | None, customer_id: str):
        self.id = sub_id
        self.customer_id = customer_id
