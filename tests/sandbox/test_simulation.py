"""The simulated business: deterministic, append-only in as-of, and internally consistent."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from datetime import date, timedelta

import pytest

from sandbox.simulation import simulate
from sandbox.simulation.clock import day_start
from sandbox.simulation.stripe_objects import StripeRenderer


def _files(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.glob("events_*.json.gz"))}


def _events(folder):
    rows = []
    for path in sorted(folder.glob("events_*.json.gz")):
        rows.extend(json.loads(line) for line in gzip.decompress(path.read_bytes()).splitlines())
    return rows


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not(tmp_path):
    first = simulate(3, date(2025, 3, 1), date(2025, 5, 1), "small", tmp_path / "a")
    second = simulate(3, date(2025, 3, 1), date(2025, 5, 1), "small", tmp_path / "b")
    other = simulate(4, date(2025, 3, 1), date(2025, 5, 1), "small", tmp_path / "c")
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    assert len(_files(tmp_path / "a")) == 61
    assert json.dumps(first.world.stripe, sort_keys=True) == json.dumps(second.world.stripe, sort_keys=True)
    assert first.world.ad_stats == second.world.ad_stats
    assert _files(tmp_path / "a") != _files(tmp_path / "c")
    assert {c["id"] for c in first.world.stripe["customers"]} != {c["id"] for c in other.world.stripe["customers"]}


def test_as_of_hides_the_future_and_advancing_it_only_appends(tmp_path):
    start, as_of = date(2025, 2, 1), date(2025, 6, 1)
    before = simulate(5, start, as_of, "small", tmp_path / "d0")
    after = simulate(5, start, as_of + timedelta(days=1), "small", tmp_path / "d1")
    cutoff = day_start(as_of)

    for name, objects in before.world.stripe.items():
        assert all(o["created"] < cutoff for o in objects), name
        later = {o["id"]: o for o in after.world.stripe[name]}
        if name != "events":  # events roll: the API keeps 30 days
            assert {o["id"] for o in objects} <= set(later), name
            assert all(later[o["id"]]["created"] == o["created"] for o in objects), name
    new_customers = len(after.world.stripe["customers"]) - len(before.world.stripe["customers"])
    assert new_customers >= 0
    assert any(o["created"] >= cutoff for o in after.world.stripe["invoices"])

    # GA4: nothing on or after as-of; old days are byte-identical; the last days may grow (late events)
    files_before, files_after = _files(tmp_path / "d0"), _files(tmp_path / "d1")
    assert max(files_before) == f"events_{(as_of - timedelta(days=1)):%Y%m%d}.json.gz"
    assert f"events_{as_of:%Y%m%d}.json.gz" in files_after
    old_days = [name for name in files_before if name < f"events_{(as_of - timedelta(days=2)):%Y%m%d}.json.gz"]
    assert old_days and all(files_before[n] == files_after[n] for n in old_days)
    assert all(e["event_timestamp"] < cutoff * 1_000_000 for e in _events(tmp_path / "d0"))

    # ad stats of settled days do not change; recent conversions may be revised upwards
    settled = {(r.campaign_id, r.day): r for r in before.world.ad_stats if r.day < as_of - timedelta(days=8)}
    later_stats = {(r.campaign_id, r.day): r for r in after.world.ad_stats}
    assert settled and all(later_stats[k] == v for k, v in settled.items())
    recent = [r for r in before.world.ad_stats if r.day >= as_of - timedelta(days=7)]
    assert all(later_stats[(r.campaign_id, r.day)].conversions >= r.conversions for r in recent)
    assert all(later_stats[(r.campaign_id, r.day)].spend_micros == r.spend_micros for r in recent)


def test_stripe_customers_are_the_ga4_users_who_signed_up(small_sim):
    events = _events(small_sim.world.ga4_dir)
    signed_up = {e["user_id"] for e in events if e["event_name"] == "sign_up"}
    customers = small_sim.world.stripe["customers"]
    assert len(customers) > 100
    assert {c["metadata"]["user_id"] for c in customers} <= signed_up
    # identity: every event after sign-up on the main browser carries the user_id
    names = Counter(e["event_name"] for e in events)
    assert names["sign_up"] == len({e["user_id"] for e in events if e["event_name"] == "sign_up"})
    assert names["feature_used"] > 0 and names["login"] > 0 and names["activated"] > 0
    features = {p["value"]["string_value"] for e in events if e["event_name"] == "feature_used"
                for p in e["event_params"] if p["key"] == "feature_name"}
    assert len(features) >= 6


def test_subscription_lifecycles_cover_the_cases_metrics_must_handle(small_sim):
    subs = small_sim.world.stripe["subscriptions"]
    statuses = Counter(s["status"] for s in subs)
    assert statuses["active"] > 20 and statuses["canceled"] > 100 and statuses["trialing"] > 0
    assert any(s["cancel_at_period_end"] for s in subs) or any(
        e["type"] == "customer.subscription.updated"
        and "cancel_at_period_end" in e["data"].get("previous_attributes", {})
        for e in small_sim.world.stripe["events"])
    assert {s["currency"] for s in subs} == {"usd", "eur", "gbp", "jpy"}
    assert any(s["items"]["data"][0]["price"]["recurring"]["interval"] == "year" for s in subs)
    assert any(s["discount"] and s["discount"]["coupon"]["duration"] == "forever" for s in subs)
    lines = [line for inv in small_sim.world.stripe["invoices"] for line in inv["lines"]["data"]]
    assert any(line["proration"] for line in lines)
    assert any(line["type"] == "invoiceitem" for line in lines)
    assert any((line["price"]["recurring"] or {}).get("usage_type") == "metered" for line in lines)
    charges = small_sim.world.stripe["charges"]
    assert any(c["status"] == "failed" for c in charges) and any(c["amount_refunded"] for c in charges)
    # reactivation: some customer has two subscriptions
    per_customer = Counter(s["customer"] for s in subs)
    assert max(per_customer.values()) >= 2


def test_ad_clicks_are_consistent_with_the_paid_sessions_they_brought(small_sim):
    sessions = Counter()
    for e in _events(small_sim.world.ga4_dir):
        cts = e.get("collected_traffic_source")
        if e["event_name"] == "session_start" and cts and cts["manual_medium"] in ("cpc", "paid_social"):
            # the click's day is the session's start (ga_session_id), even when an event crosses midnight
            started = next(p["value"]["int_value"] for p in e["event_params"] if p["key"] == "ga_session_id")
            sessions[(cts["manual_campaign_id"], f"{date(1970, 1, 1) + timedelta(seconds=started):%Y%m%d}")] += 1
    assert sum(sessions.values()) > 500
    for row in small_sim.world.ad_stats:
        n = sessions.get((row.campaign_id, f"{row.day:%Y%m%d}"), 0)
        assert n <= row.clicks <= n + max(3, n // 2), (row, n)
        assert row.clicks <= row.impressions and row.spend_micros >= 0
    # platforms over-claim: their conversions add up to more than the sign-ups they touched
    claimed = sum(r.conversions for r in small_sim.world.ad_stats)
    assert claimed > 0


def test_malformed_lines_are_extra_and_seeded(tmp_path):
    clean = simulate(9, date(2025, 3, 1), date(2025, 3, 15), "small", tmp_path / "clean")
    dirty = simulate(9, date(2025, 3, 1), date(2025, 3, 15), "small", tmp_path / "dirty", malformed_rate=0.01)
    assert dirty.ga4.malformed_lines > 0
    good, bad = 0, 0
    for path in sorted((tmp_path / "dirty").glob("*.json.gz")):
        for line in gzip.decompress(path.read_bytes()).splitlines():
            try:
                json.loads(line)
                good += 1
            except json.JSONDecodeError:
                bad += 1
    assert (good, bad) == (clean.ga4.events, dirty.ga4.malformed_lines)


@pytest.mark.parametrize("seed", [11, 23])
def test_a_week_later_every_settled_ga4_day_is_byte_identical(tmp_path, seed):
    # only the last two days may change (late events); sign-ups straddling as-of must not shift the past
    start, as_of = date(2025, 1, 1), date(2025, 5, 1)
    simulate(seed, start, as_of, "small", tmp_path / "now")
    simulate(seed, start, as_of + timedelta(days=7), "small", tmp_path / "later")
    now, later = _files(tmp_path / "now"), _files(tmp_path / "later")
    settled = [n for n in now if n < f"events_{(as_of - timedelta(days=2)):%Y%m%d}.json.gz"]
    changed = [n for n in settled if now[n] != later[n]]
    assert len(settled) == 118 and changed == []


def test_stripe_ids_are_unique_even_for_changes_in_the_same_second(small_sim, tmp_path):
    for name, objects in small_sim.world.stripe.items():
        ids = [o["id"] for o in objects]
        assert len(ids) == len(set(ids)), name
    # the default world has a repeating coupon that ends exactly at a renewal: two updates, one second
    renderer = StripeRenderer(1, small_sim.stripe_catalog, 10**10)
    sub = {"id": "sub_x"}
    renderer._emit("customer.subscription.updated", 10**10 - 5, sub, {"discount": None})
    renderer._emit("customer.subscription.updated", 10**10 - 5, sub, {"items": None})
    assert len({e["id"] for e in renderer.events}) == 2


#: seed -> pairs of as-ofs (from 2025-01-01, small scale) whose worlds the test below compares.
#: Seed 7: a discount ending 2025-05-20 was recorded only once a later change existed. Seed 11:
#: a subscription created an hour before 2025-06-01, "incomplete" in that world (its first
#: payment not made yet) and "active" in the later one; and a plan change on 2025-09-15 made
#: while an invoice was past due, recorded after the payment of 2025-09-17.
APPEND_ONLY_AS_OFS = {
    7: [(date(2025, 6, 1), date(2025, 6, 16))],
    11: [(date(2025, 6, 1), date(2025, 6, 16)), (date(2025, 9, 16), date(2025, 10, 1))],
}


@pytest.mark.parametrize("seed", list(APPEND_ONLY_AS_OFS))
def test_advancing_as_of_adds_no_event_dated_before_the_earlier_as_of(tmp_path, seed):
    """An incremental load reads the events created since its last run: an event created
    before the previous as-of but served only by a later world is never loaded. For two
    as-ofs, every event of the later world created before the earlier as-of (within the 30
    days both serve) is in the earlier world, identical, and every subscription's versions are
    a timeline."""
    events = {}
    for as_of in sorted({as_of for pair in APPEND_ONLY_AS_OFS[seed] for as_of in pair}):
        sim = simulate(seed, date(2025, 1, 1), as_of, "small", tmp_path / as_of.isoformat())
        for sub in sim.ledger.subscriptions:
            times = [at for at, _ in sub.versions]
            assert times == sorted(times), sub.id
        events[as_of] = sim.world.stripe["events"]
    window = 30 * 86_400
    for earlier, later in APPEND_ONLY_AS_OFS[seed]:
        cutoff = day_start(earlier)
        served_before = {e["id"]: e for e in events[earlier]}
        overlap = [e for e in events[later] if cutoff - window <= e["created"] < cutoff]
        backdated = [(e["type"], e["created"], e["data"]["object"]["id"])
                     for e in overlap if served_before.get(e["id"]) != e]
        assert backdated == [], (earlier, later)
        assert len(overlap) > 50
        # and nothing the earlier world served inside the later window has gone
        kept = {e["id"] for e in events[later]}
        assert all(e["id"] in kept for e in events[earlier]
                   if e["created"] >= day_start(later) - window)
