"""Growth marts (channel_performance, funnel, feature_adoption, user_retention) recomputed in Python.

Each expected value is rebuilt here from the sandbox's truth files or from the warehouse's lowest
layers (staging events, the identity map, the unified spend fact), never from the marts' own
intermediate models, so agreement means the SQL implements docs/metrics.md's definitions.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlsplit

import duckdb

PLATFORM_CHANNEL = {
    "google_ads": "Paid Search",
    "meta_ads": "Paid Social",
    "linkedin_ads": "Paid Social",
}


def _query(warehouse, sql: str) -> list[tuple]:
    """Opened like ``Warehouse.query`` (dbt-duckdb in this process holds a read-write handle)."""
    with duckdb.connect(str(warehouse.path)) as con:
        return con.execute(sql).fetchall()


def _truth(warehouse, name: str) -> list[dict]:
    with (warehouse.truth_dir / name).open(newline="") as handle:
        return list(csv.DictReader(handle))


def _month(value: datetime | date | str) -> date:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return date(value.year, value.month, 1)


def _round6(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)


def _visitor_of(warehouse) -> dict[str, str]:
    """user_pseudo_id -> person: the customer of the browser's user_id, else that user_id, else itself."""
    customer_of_user = dict(
        _query(
            warehouse,
            "select user_id, customer_id from staging.stg_stripe__customers where user_id is not null",
        )
    )
    first_user: dict[str, tuple] = {}
    for pseudo, user_id, at in _query(
        warehouse,
        "select user_pseudo_id, user_id, event_at from staging.stg_ga4__events where user_id is not null",
    ):
        if pseudo not in first_user or (at, user_id) < first_user[pseudo]:
            first_user[pseudo] = (at, user_id)
    mapping = {}
    for (pseudo,) in _query(warehouse, "select distinct user_pseudo_id from staging.stg_ga4__events"):
        user_id = first_user.get(pseudo, (None, None))[1]
        mapping[pseudo] = customer_of_user.get(user_id) or user_id or pseudo
    return mapping


def test_channel_performance_spend_equals_unified_spend_by_platform(built_warehouse):
    expected: dict[tuple[date, str], Decimal] = defaultdict(Decimal)
    for spend_date, platform, spend in _query(
        built_warehouse,
        "select spend_date, platform, spend_amount_usd from core.fct_ad_spend_daily",
    ):
        expected[(_month(spend_date), PLATFORM_CHANNEL[platform])] += spend
    model = {
        (m, c): s
        for m, c, s in _query(
            built_warehouse,
            "select month, channel, spend_amount_usd from metrics.channel_performance where spend_amount_usd <> 0",
        )
    }
    assert len(expected) >= 24, "a year of Paid Search and Paid Social spend"
    assert model == dict(expected)
    truth_usd_total = sum(
        Decimal(r["spend"])
        for r in _truth(built_warehouse, "ad_spend_daily.csv")
        if r["currency"] == "USD"
    )
    usd_in_model = _query(
        built_warehouse,
        "select sum(spend_amount_usd) from core.fct_ad_spend_daily where currency = 'USD'",
    )[0][0]
    assert usd_in_model == truth_usd_total


def test_channel_performance_new_customers_and_blended_cac(built_warehouse):
    """Attributed new customers add up to the truth's first paying months; blended CAC = spend / them."""
    new_customers = Counter(
        _month(r["first_paid_month"])
        for r in _truth(built_warehouse, "customer_conversions.csv")
        if r["first_paid_month"]
    )
    trials = Counter(
        _month(r["trial_started_at"].replace("Z", ""))
        for r in _truth(built_warehouse, "customer_conversions.csv")
        if r["trial_started_at"]
    )
    spend: dict[date, Decimal] = defaultdict(Decimal)
    for spend_date, s in _query(
        built_warehouse, "select spend_date, spend_amount_usd from core.fct_ad_spend_daily"
    ):
        spend[_month(spend_date)] += s
    rows = _query(
        built_warehouse,
        """select month, sum(new_customers), sum(trials), min(blended_cac_usd), max(blended_cac_usd)
           from metrics.channel_performance group by month""",
    )
    assert sum(new_customers.values()) > 50
    for month, customers, trial_count, cac_min, cac_max in rows:
        assert customers == new_customers.get(month, 0), month
        assert trial_count == trials.get(month, 0), month
        assert cac_min == cac_max, month
        expected = (
            _round6(spend[month] / new_customers[month]) if new_customers.get(month) else None
        )
        assert cac_min == expected, month


def test_funnel_by_event_month_matches_truth_and_events(built_warehouse):
    conversions = _truth(built_warehouse, "customer_conversions.csv")
    trials = Counter(
        _month(r["trial_started_at"].replace("Z", "")) for r in conversions if r["trial_started_at"]
    )
    paid = Counter(_month(r["first_paid_month"]) for r in conversions if r["first_paid_month"])
    first_sign_up: dict[str, datetime] = {}
    for user_id, at in _query(
        built_warehouse,
        "select user_id, event_at from staging.stg_ga4__events where event_name = 'sign_up'",
    ):
        first_sign_up[user_id] = min(at, first_sign_up.get(user_id, at))
    sign_ups = Counter(_month(at) for at in first_sign_up.values())
    model = {
        m: (t, p, s)
        for m, t, p, s in _query(
            built_warehouse,
            """select month, sum(trials), sum(paid), sum(sign_ups) from metrics.funnel
               where funnel_view = 'by_event_month' group by month""",
        )
    }
    assert sum(trials.values()) > 100
    for month in set(trials) | set(paid) | set(sign_ups) | set(model):
        assert model.get(month, (0, 0, 0)) == (
            trials.get(month, 0),
            paid.get(month, 0),
            sign_ups.get(month, 0),
        ), month


def test_funnel_cohorted_customers_by_first_touch_month_and_channel(built_warehouse):
    """Cohorted trials / paid per first-touch month x channel equal the truth's customers grouped so."""
    trials: Counter = Counter()
    paid: Counter = Counter()
    for r in _truth(built_warehouse, "customer_conversions.csv"):
        key = (_month(r["first_touch_at"].replace("Z", "")), r["first_touch_channel"])
        trials[key] += bool(r["trial_started_at"])
        paid[key] += bool(r["first_paid_month"])
    model = _query(
        built_warehouse,
        "select month, channel, trials, paid, visitors from metrics.funnel where funnel_view = 'cohorted'",
    )
    assert {(m, c): (t, p) for m, c, t, p, _ in model if t or p} == {
        k: (trials[k], paid[k]) for k in trials if trials[k] or paid[k]
    }
    visitors = _visitor_of(built_warehouse)
    assert sum(v for *_, v in model) == len(set(visitors.values()))


def _activity(warehouse) -> tuple[dict[str, set[date]], dict[str, date]]:
    visitors = _visitor_of(warehouse)
    days: dict[str, set[date]] = defaultdict(set)
    first: dict[str, datetime] = {}
    for pseudo, started in _query(
        warehouse,
        """select user_pseudo_id, min(event_at) from staging.stg_ga4__events group by user_pseudo_id, ga_session_id""",
    ):
        v = visitors[pseudo]
        days[v].add(started.date())
        first[v] = min(started, first.get(v, started))
    return days, {v: at.date() for v, at in first.items()}


def test_user_retention_weekly_and_day_n_recomputed(built_warehouse):
    days, first = _activity(built_warehouse)
    last = max(d for ds in days.values() for d in ds)
    cohort_users: Counter = Counter()
    active: Counter = Counter()
    for v, f in first.items():
        week = f - timedelta(days=f.weekday())
        cohort_users[week] += 1
        for k in {((d - timedelta(days=d.weekday())) - week).days // 7 for d in days[v]}:
            active[(week, k)] += 1
    rows = _query(
        built_warehouse,
        "select cohort_week, weeks_since_first_visit, cohort_users, active_users, retention_rate, day_7_retention"
        " from metrics.user_retention",
    )
    assert rows
    for week, k, users, active_users, rate, day_7 in rows:
        assert users == cohort_users[week]
        assert active_users == active.get((week, k), 0), (week, k)
        if k == 0:
            assert rate == 1
        eligible = [
            v
            for v, f in first.items()
            if f - timedelta(days=f.weekday()) == week and f + timedelta(7) <= last
        ]
        retained = sum(first[v] + timedelta(7) in days[v] for v in eligible)
        assert day_7 == (_round6(Decimal(retained) / len(eligible)) if eligible else None), week
    assert {w for w, *_ in rows} == set(cohort_users)


def _is_app_page(url: str) -> bool:
    path = urlsplit(url).path
    return path == "/app" or path.startswith("/app/")


def test_feature_adoption_recomputed_from_events(built_warehouse):
    visitors = _visitor_of(built_warehouse)
    events = _query(
        built_warehouse,
        """select user_pseudo_id, event_name, feature_name, event_date, page_location from staging.stg_ga4__events
           where event_name in ('feature_used', 'login')
              or (event_name = 'page_view' and page_location like '%/app%')""",
    )
    events = [e for e in events if e[1] != "page_view" or _is_app_page(e[4])]
    active: dict[date, set[str]] = defaultdict(set)
    uses: dict[tuple[str, str], list[date]] = defaultdict(list)
    for pseudo, name, feature, day, _ in events:
        active[_month(day)].add(visitors[pseudo])
        if name == "feature_used":
            uses[(visitors[pseudo], feature)].append(day)
    features = {f for _, f in uses}
    rows = _query(
        built_warehouse,
        "select feature_name, month, active_users, tried_users, adopted_users, habitual_users"
        " from metrics.feature_adoption",
    )
    assert len(rows) == len(features) * len(active)
    habitual_total = 0
    for feature, month, n_active, tried, adopted, habitual in rows:
        end = (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        to_date = {v: [d for d in uses.get((v, feature), []) if d <= end] for v in active[month]}
        weeks = {
            v: {(end - d).days // 7 for d in ds if (end - d).days < 28} for v, ds in to_date.items()
        }
        assert n_active == len(active[month])
        assert tried == sum(len(ds) >= 1 for ds in to_date.values()), (feature, month)
        assert adopted == sum(len(ds) >= 3 for ds in to_date.values()), (feature, month)
        assert habitual == sum(len(w) >= 3 for w in weeks.values()), (feature, month)
        habitual_total += habitual
    assert habitual_total > 0, "the sandbox should have some habitual users"
