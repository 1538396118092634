"""What an observer of the Stripe API can know of each subscription's items, and from when.

The ground truth (truth.py) knows the instant of every plan or quantity change. A pipeline
reading Stripe at as-of knows the items only through evidence, each showing the true items at
an instant (``Evidence``, ranked like the dbt models rank them on one instant):

- rank 1, an invoice's non-proration subscription lines: every item, from the period start;
- rank 2, an invoiced 'remaining time' proration line: one item's new price and quantity,
  from the change;
- rank 3, every state in the events Stripe still serves (created in the 30 days before
  as-of), at its time;
- rank 0, the event window's completeness: no event is missing from it, so a subscription's
  items at its start are those its first served event replaced (``previous_attributes``), or
  its current ones when no event is served;
- rank 4, the subscription object: its items at as-of.

A change without any of these (its prorations never invoiced: the subscription ended first or
its next invoice is after as-of; its events gone) is undatable: the items before it hold until
the next evidence. Status and discounts are always dated (invoices, payment attempts,
``ended_at``, the discount's start and end), so only items differ from the truth.

What an observer learns is what Stripe served, so evidence holds the items as the served
objects show them (invoice lines, the states behind the events), not as re-derived later.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, replace

from sandbox.simulation.billing import Item, Ledger, SubscriptionRecord, SubState

#: Stripe serves the events of the last 30 days (stripe_api.EVENT_RETENTION_SECONDS).
EVENT_WINDOW_SECONDS = 30 * 24 * 3600


@dataclass(frozen=True)
class Evidence:
    at: int  # the items are those in force just after this instant
    rank: int  # tie-break on one instant: subscription 4 > event 3 > proration 2 > invoice 1 > window 0
    items: tuple[Item, ...]
    full: bool  # every item of the subscription (else: only these items)


class ObservableItems:
    """Per subscription, the evidence a first load at ``as_of_ts`` has, and the state it shows."""

    def __init__(self, ledger: Ledger, price_refs: dict, as_of_ts: int):
        self.as_of_ts = as_of_ts
        key_of_price = {ref.id: key for key, ref in price_refs.items()}
        invoices = defaultdict(list)
        for invoice in ledger.invoices:
            invoices[invoice.subscription_id].append(invoice)
        self.evidence: dict[str, list[Evidence]] = {}
        self._instants: dict[str, list[int]] = {}
        for sub in ledger.subscriptions:
            found = _invoice_evidence(invoices[sub.id], key_of_price) + _served_evidence(sub, as_of_ts)
            self.evidence[sub.id] = sorted(found, key=lambda e: (e.at, e.rank))
            self._instants[sub.id] = [e.at for e in self.evidence[sub.id]]

    def state_at(self, sub: SubscriptionRecord, ts: int) -> SubState | None:
        """The true state at ``ts`` with the items the latest evidence before ``ts`` shows."""
        state = sub.state_at(ts)
        if state is None:
            return None
        return replace(state, items=self._items(sub.id, ts))

    def undatable_changes(self, sub: SubscriptionRecord, ts: int) -> list[int]:
        """Instants of the item changes before ``ts`` that the evidence before ``ts`` does not
        show yet: why the observable state differs from the true one."""
        evidence = self.evidence[sub.id][: self._before(sub.id, ts)]
        base = max((e.at for e in evidence if e.full), default=None)
        shown = {e.at for e in evidence}
        changes = []
        previous: SubState | None = None
        for at, state in sub.versions:
            changed = previous is not None and at < ts and state.items != previous.items
            if changed and at not in shown and (base is None or at > base):
                changes.append(at)
            previous = state
        return changes

    def knowable_states(self, sub: SubscriptionRecord, ts: int) -> list[SubState]:
        """Every state an incremental pipeline may show at ``ts``: an earlier load may have
        seen (and dated) any state the subscription had since the evidence a first load has."""
        state = sub.state_at(ts)
        if state is None:
            return []
        evidence = self.evidence[sub.id][: self._before(sub.id, ts)]
        base = max((e.at for e in evidence if e.full), default=None)
        states = [self.state_at(sub, ts), state]
        for at, _ in sub.versions:
            if base is not None and base <= at < ts:
                seen = sub.state_at(at + 1)
                if seen is not None:
                    states.append(replace(state, items=seen.items))
        return states

    def _before(self, sub_id: str, ts: int) -> int:
        return bisect_left(self._instants[sub_id], ts)

    def _items(self, sub_id: str, ts: int) -> tuple[Item, ...]:
        evidence = self.evidence[sub_id][: self._before(sub_id, ts)]
        base = next((i for i in range(len(evidence) - 1, -1, -1) if evidence[i].full), None)
        if base is None:
            return ()
        items = []
        for item in evidence[base].items:
            # the latest version of each item since the full set: evidence is sorted by (at, rank)
            latest = item
            for later in evidence[base + 1 :]:
                latest = next((i for i in later.items if i.id == item.id), latest)
            items.append(latest)
        return tuple(items)


def _invoice_evidence(invoices: list, key_of_price: dict[str, str]) -> list[Evidence]:
    found = []
    for invoice in invoices:
        billed = tuple(_item(line, key_of_price) for line in invoice.lines
                       if line["type"] == "subscription" and not line["proration"])
        found.append(Evidence(invoice.period_start, 1, billed, True))
        found += [Evidence(line["period"]["start"], 2, (_item(line, key_of_price),), False)
                  for line in invoice.lines
                  if line["type"] == "subscription" and line["proration"] and line["amount"] >= 0]
    return found


def _served_evidence(sub: SubscriptionRecord, as_of_ts: int) -> list[Evidence]:
    """The served events' states, the window's start and the current object."""
    if not sub.versions:
        return []
    window = as_of_ts - EVENT_WINDOW_SECONDS
    served = [i for i, (at, _) in enumerate(sub.versions) if window <= at < as_of_ts]
    found = [Evidence(sub.versions[i][0], 3, sub.versions[i][1].items, True) for i in served]
    first = min(served, key=lambda i: sub.versions[i][0], default=None)
    # events are rendered in the order of the versions: the first served one replaced the
    # version before it; the window's state holds from its start (the instant before it)
    if first is None:
        found.append(Evidence(window - 1, 0, sub.versions[-1][1].items, True))
    elif first > 0:
        found.append(Evidence(window - 1, 0, sub.versions[first - 1][1].items, True))
    found.append(Evidence(as_of_ts - 1, 4, sub.versions[-1][1].items, True))
    return found


def _item(line: dict, key_of_price: dict[str, str]) -> Item:
    return Item(line["subscription_item"], key_of_price[line["price"]["id"]], line["quantity"])
