"""Ground truth: what the simulated business really did, from the simulator's own state.

Never computed from API payloads: MRR comes from the billing ledger's subscription states,
first touches from the sessions the simulator drew, spend from the ad stats it generated.
The warehouse is reconciled against these files.

MRR follows docs/metrics.md: live statuses (active, past_due) count; items'
unit_amount x quantity normalised to a month; metered items excluded; discounts by the
``mrr_discounts`` switch (forever / all / none); the value at each month's last instant.
Amounts are exact fractions of a minor unit, written with 4 decimals.

A second MRR truth, ``mrr_monthly_observable.csv``, is what an observer of the Stripe API can
know (observable.py): a plan or quantity change that no invoice line and no served event dates
counts from its next evidence. ``mrr_undatable.csv`` lists each subscription month where the two
part, with the changes no evidence dates yet and every value an incremental pipeline, which
kept what earlier loads saw, may hold.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from pathlib import Path

from sandbox import ecb_api
from sandbox.currency import exponent, rate_day, reporting_rate
from sandbox.observable import ObservableItems
from sandbox.simulation import Simulation, catalog
from sandbox.simulation.billing import LIVE_STATUSES, SubscriptionRecord, SubState
from sandbox.simulation.clock import day_start, month_starts, next_month
from sandbox.simulation.visitors import SOURCES
from sandbox.world import AD_PLATFORMS

DISCOUNT_MODES = ("forever", "all", "none")
MOVEMENT_TYPES = ("new", "reactivation", "expansion", "contraction", "churn")
UNDATABLE_FIELDS = ("month", "currency", "mrr_discounts", "subscription_id", "customer_id", "mrr_minor",
                    "observable_mrr_minor", "knowable_mrr_minor", "undated_changes")


def subscription_mrr(state: SubState | None, price_refs: dict, coupons: dict, mode: str) -> Fraction:
    """Monthly recurring revenue of one subscription state, in minor units (exact)."""
    if state is None or state.status not in LIVE_STATUSES:
        return Fraction(0)
    total = Fraction(0)
    months = 1
    for item in state.items:
        ref = price_refs[item.price_key]
        if ref.usage_type != "licensed" or item.quantity is None:
            continue  # metered usage is revenue, not MRR
        months = {"day": Fraction(12, 365), "week": Fraction(12, 52), "month": 1, "year": 12}[ref.interval]
        total += Fraction(ref.unit_amount * item.quantity) / months
    discount = state.discount
    if discount is not None and mode != "none":
        coupon = coupons[discount.coupon_id]
        if mode == "all" or coupon["duration"] == "forever":
            if coupon["percent_off"] is not None:
                total *= 1 - Fraction(str(coupon["percent_off"])) / 100
            else:
                total -= Fraction(coupon["amount_off"]) / months
    return max(total, Fraction(0))


def _fmt(value: Fraction, places: int = 4) -> str:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return str(exact.quantize(Decimal(1).scaleb(-places), ROUND_HALF_EVEN))


def _iso(ts: int | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts, tz=UTC).isoformat().replace("+00:00", "Z")


class Truth:
    def __init__(self, sim: Simulation, price_refs: dict, coupons: dict):
        self.sim = sim
        self.price_refs = price_refs
        self.coupons = coupons
        world = sim.world
        # complete months only: a month's value is its last instant, which must be before as-of
        self.months = [m for m in month_starts(world.start, world.as_of) if next_month(m) <= world.as_of]
        self.currency_of = {c.id: c.currency for c in sim.ledger.customers}
        self.observable = ObservableItems(sim.ledger, price_refs, day_start(world.as_of))
        self._states: dict[tuple[str, bool], list[SubState | None]] = {}

    def customer_mrr(self, mode: str, observable: bool = False) -> dict[str, list[Fraction]]:
        """customer id -> MRR at each month end (sum over the customer's subscriptions);
        ``observable``: as an observer of the API can date the items (observable.py)."""
        result: dict[str, list[Fraction]] = defaultdict(lambda: [Fraction(0)] * len(self.months))
        for sub in self.sim.ledger.subscriptions:
            values = result[sub.customer_id]
            for i, state in enumerate(self.month_end_states(sub, observable)):
                if state is not None and state.status in LIVE_STATUSES:
                    values[i] += subscription_mrr(state, self.price_refs, self.coupons, mode)
        return result

    def month_end_states(self, sub: SubscriptionRecord, observable: bool = False) -> list[SubState | None]:
        """The subscription's state at each month's last instant (computed once per kind)."""
        key = (sub.id, observable)
        if key not in self._states:
            state_at = self.observable.state_at if observable else SubscriptionRecord.state_at
            self._states[key] = [state_at(sub, day_start(next_month(m))) for m in self.months]
        return self._states[key]

    def undatable_rows(self) -> list[dict]:
        """One row per subscription x month x discount mode whose observable MRR is not the
        true one: both values, the changes no evidence dates by then, and every value a
        pipeline that kept earlier loads' observations may hold (``;``-separated)."""
        rows = []
        for sub in self.sim.ledger.subscriptions:
            pairs = zip(self.months, self.month_end_states(sub), self.month_end_states(sub, True), strict=True)
            for month, true_state, seen_state in pairs:
                if true_state == seen_state:
                    continue
                end = day_start(next_month(month))
                for mode in DISCOUNT_MODES:
                    true = subscription_mrr(true_state, self.price_refs, self.coupons, mode)
                    seen = subscription_mrr(seen_state, self.price_refs, self.coupons, mode)
                    if true == seen:
                        continue
                    knowable = {subscription_mrr(s, self.price_refs, self.coupons, mode)
                                for s in self.observable.knowable_states(sub, end)}
                    rows.append({
                        "month": month.isoformat(), "currency": sub.currency, "mrr_discounts": mode,
                        "subscription_id": sub.id, "customer_id": sub.customer_id,
                        "mrr_minor": _fmt(true), "observable_mrr_minor": _fmt(seen),
                        "knowable_mrr_minor": ";".join(_fmt(v) for v in sorted(knowable)),
                        "undated_changes": ";".join(_iso(t) for t in self.observable.undatable_changes(sub, end)),
                    })
        return sorted(rows, key=lambda r: (r["mrr_discounts"], r["month"], r["currency"], r["subscription_id"]))

    def mrr_rows(self, observable: bool = False) -> tuple[list[dict], list[dict], list[dict]]:
        mrr_rows, movement_rows, customer_rows = [], [], []
        for mode in DISCOUNT_MODES:
            per_customer = self.customer_mrr(mode, observable)
            # the first month each customer had MRR > 0 (for new vs reactivation)
            first_paid = {c: next((j for j, v in enumerate(values) if v > 0), len(self.months))
                          for c, values in per_customer.items()}
            for i, month in enumerate(self.months):
                totals: dict[str, Fraction] = defaultdict(Fraction)
                active: dict[str, int] = defaultdict(int)
                moves: dict[tuple[str, str], list] = defaultdict(lambda: [Fraction(0), 0])
                for customer_id, values in per_customer.items():
                    cur = self.currency_of[customer_id]
                    now, prev = values[i], values[i - 1] if i else Fraction(0)
                    if not now and not prev:
                        continue
                    totals[cur] += now
                    active[cur] += now > 0
                    kind = _movement(prev, now, first_paid[customer_id] < i - 1)
                    if kind:
                        moves[(cur, kind)][0] += now - prev
                        moves[(cur, kind)][1] += 1
                for cur in self.sim.world.currencies:
                    major = totals[cur] / 10 ** exponent(cur)
                    mrr_rows.append({
                        "month": month.isoformat(), "currency": cur, "mrr_discounts": mode,
                        "mrr_minor": _fmt(totals[cur]), "mrr": _fmt(major, 6),
                        "mrr_usd": _fmt(major * Fraction(reporting_rate(cur, month, self.sim.world.as_of)), 6),
                        "active_customers": active[cur],
                    })
                    for kind in MOVEMENT_TYPES:
                        amount, count = moves.get((cur, kind), [Fraction(0), 0])
                        movement_rows.append({
                            "month": month.isoformat(), "currency": cur, "mrr_discounts": mode,
                            "movement_type": kind, "amount_minor": _fmt(amount), "customers": count,
                        })
                if mode == "forever":
                    customer_rows.append({
                        "month": month.isoformat(), "active_customers": sum(active.values()),
                        **{f"{k}_customers": sum(moves.get((c, k), [0, 0])[1] for c in self.sim.world.currencies)
                           for k in MOVEMENT_TYPES},
                    })
        return mrr_rows, movement_rows, customer_rows

    def fx_rows(self, reporting: str = "USD") -> list[dict]:
        """The monthly reporting-currency rate of every currency the business bills or
        advertises in, for each complete month (what dbt's int_fx_rates_monthly must hold)."""
        as_of = self.sim.world.as_of
        return [
            {"month": month.isoformat(), "currency": cur, "reporting_currency": reporting,
             "rate_date": "" if cur == reporting else rate_day(month, as_of).isoformat(),
             "reporting_per_unit": str(reporting_rate(cur, month, as_of, reporting))}
            for month in self.months for cur in self.sim.world.fx_currencies
        ]

    def conversion_rows(self) -> list[dict]:
        sim = self.sim
        s = sim.sessions
        first_by_pseudo: dict[int, int] = {}
        for i in s.start.argsort(kind="stable").tolist():
            first_by_pseudo.setdefault(int(s.pseudo[i]), i)
        subs_by_customer = defaultdict(list)
        for sub in sim.ledger.subscriptions:
            subs_by_customer[sub.customer_id].append(sub)
        per_customer = self.customer_mrr("forever")
        rows = []
        for user in sim.users:
            if user.customer_id is None:
                continue
            subs = subs_by_customer[user.customer_id]
            first = min((first_by_pseudo[p] for p in user.pseudos if p in first_by_pseudo), key=lambda i: s.start[i])
            channel = catalog.CHANNELS[int(s.channel[first])]
            source, medium, campaign = _session_source(int(s.campaign[first]), int(s.source[first]))
            paid_at = next((t for sub in sorted(subs, key=lambda x: x.created) for t, st in sub.versions
                            if subscription_mrr(st, self.price_refs, self.coupons, "forever") > 0), None)
            values = per_customer.get(user.customer_id, [])
            # not strict: a customer missing from per_customer has no values (never paid)
            first_month = next((m for m, v in zip(self.months, values, strict=False) if v > 0), None)
            rows.append({
                "customer_id": user.customer_id, "user_id": user.user_id,
                "currency": self.currency_of[user.customer_id],
                "signed_up_at": _iso(user.signup_ts), "trial_started_at": _iso(min(sub.created for sub in subs)),
                "first_paid_at": _iso(paid_at), "first_paid_month": first_month.isoformat() if first_month else "",
                "first_touch_at": _iso(int(s.start[first])), "first_touch_channel": channel.grouping,
                "first_touch_source": source, "first_touch_medium": medium, "first_touch_campaign": campaign,
            })
        return sorted(rows, key=lambda r: r["customer_id"])

    def spend_rows(self) -> list[dict]:
        currency = {a.account_id: a.currency for a in self.sim.world.ad_accounts}
        return [
            {"date": r.day.isoformat(), "platform": r.platform, "account_id": r.account_id,
             "campaign_id": r.campaign_id, "currency": currency[r.account_id],
             "spend": str(Decimal(r.spend_micros).scaleb(-6).quantize(Decimal("0.01"))),
             "impressions": r.impressions, "clicks": r.clicks}
            for r in sorted(self.sim.world.ad_stats, key=lambda r: (r.day, r.platform, r.campaign_id))
        ]

    def expected_counts(self) -> dict:
        world = self.sim.world
        return {
            "as_of": world.as_of.isoformat(), "seed": world.seed, "scale": world.scale,
            "start": world.start.isoformat(),
            "stripe": {name: len(objs) for name, objs in world.stripe.items()},
            "ga4": {"files": self.sim.ga4.files, "events": self.sim.ga4.events,
                    "malformed_lines": self.sim.ga4.malformed_lines},
            "ads": {p: {"campaigns": sum(c.platform == p for c in world.ad_campaigns),
                        "daily_rows": sum(r.platform == p for r in world.ad_stats)} for p in AD_PLATFORMS},
            # what the ECB sandbox serves from the day its clients start at (client_env)
            "ecb_fx": {"daily_rates": len(ecb_api.published_rates(
                tuple(ecb_api.SERIES), ecb_api.client_start_date(world.start), world.as_of - timedelta(days=1)))},
        }


def _movement(prev: Fraction, now: Fraction, had_before: bool) -> str | None:
    """docs/metrics.md's classification, in its order."""
    if prev == 0 and now > 0:
        return "reactivation" if had_before else "new"
    if prev > 0 and now == 0:
        return "churn"
    if now > prev > 0:
        return "expansion"
    if prev > now > 0:
        return "contraction"
    return None


def _session_source(campaign: int, source: int) -> tuple[str, str, str]:
    if campaign >= 0:
        spec = catalog.CAMPAIGNS[campaign]
        return (*catalog.PLATFORM_UTM[spec.platform], spec.slug)
    _, src, med = SOURCES[source]
    return src, med, ""


def _write_csv(path: Path, rows: list[dict], fields: tuple[str, ...] = ()) -> None:
    """``rows`` as CSV; with no rows, only the header of ``fields`` (or an empty file)."""
    with path.open("w", newline="") as handle:
        if not rows and not fields:
            return
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else list(fields))
        writer.writeheader()
        writer.writerows(rows)


def write_truth(sim: Simulation, out_dir: Path) -> dict:
    """Write every truth file into ``out_dir``; returns the expected counts."""
    out_dir.mkdir(parents=True, exist_ok=True)
    truth = Truth(sim, sim.stripe_catalog.price_refs, sim.stripe_catalog.coupon_objects)
    mrr, movements, customers = truth.mrr_rows()
    _write_csv(out_dir / "mrr_monthly.csv", mrr)
    _write_csv(out_dir / "mrr_movements_monthly.csv", movements)
    _write_csv(out_dir / "customers_monthly.csv", customers)
    _write_csv(out_dir / "mrr_monthly_observable.csv", truth.mrr_rows(observable=True)[0])
    _write_csv(out_dir / "mrr_undatable.csv", truth.undatable_rows(), UNDATABLE_FIELDS)
    _write_csv(out_dir / "customer_conversions.csv", truth.conversion_rows())
    _write_csv(out_dir / "ad_spend_daily.csv", truth.spend_rows())
    _write_csv(out_dir / "fx_rates_monthly.csv", truth.fx_rows())
    counts = truth.expected_counts()
    (out_dir / "expected_counts.json").write_text(json.dumps(counts, indent=2, sort_keys=True) + "\n")
    return counts
