"""Marketing marts reconciled with the sandbox's ground truth (a year of the small sandbox).

The truth files come from the simulator's own state (sessions it drew, ad stats it generated),
never from the API payloads, so agreement here means the GA4 session, identity and ad-spend
logic in dbt recovers what really happened.
"""

from __future__ import annotations

import csv
import shutil
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from orchestration.dbt_project import relation
from sandbox.simulation import catalog
from tests.dbt_helpers import failures, run_dbt

pytestmark = pytest.mark.slow  # builds a warehouse (tests/conftest.py runs these first)

GROUPING = {c.code: c.grouping for c in catalog.CHANNELS}


def _query(warehouse, sql: str) -> list[tuple]:
    """Like ``Warehouse.query`` but opened with dbt's configuration: dbt-duckdb, run in-process by
    ``built_warehouse``, keeps its read-write handle on the file, and DuckDB refuses a second
    handle to the same file with another configuration (read_only=True)."""
    with duckdb.connect(str(warehouse.path)) as con:
        return con.execute(sql).fetchall()


def _truth(warehouse, name: str) -> list[dict]:
    with (warehouse.truth_dir / name).open(newline="") as handle:
        return list(csv.DictReader(handle))


def _utc(iso: str) -> datetime:
    return datetime.fromisoformat(iso).replace(tzinfo=None)


def test_first_touch_matches_truth_for_every_customer(built_warehouse):
    truth = {r["customer_id"]: r for r in _truth(built_warehouse, "customer_conversions.csv")}
    model = {
        row[0]: row[1:]
        for row in _query(
            built_warehouse,
            "select customer_id, channel, source, medium, campaign, first_touch_at "
            "from intermediate.int_customer_first_touch",
        )
    }
    assert len(truth) > 100, "the sandbox year should convert a few hundred customers"
    channel_misses = [
        c for c, t in truth.items() if c not in model or model[c][0] != t["first_touch_channel"]
    ]
    rate = 1 - len(channel_misses) / len(truth)
    assert not channel_misses, (
        f"first-touch channel match rate {rate:.2%}; e.g. {channel_misses[:5]}"
    )

    for customer_id, t in truth.items():
        _, source, medium, campaign, first_touch_at = model[customer_id]
        assert (source, medium) == (t["first_touch_source"], t["first_touch_medium"]), customer_id
        # truth leaves email campaigns blank; the export tags them utm_campaign=monthly-digest-YYYY-MM
        if t["first_touch_medium"] == "email":
            assert campaign.startswith("monthly-digest-"), (customer_id, campaign)
        else:
            assert (campaign or "") == t["first_touch_campaign"], customer_id
        # truth is the session's start second; the model's the first event (up to 30 s of jitter later)
        lag = first_touch_at - _utc(t["first_touch_at"])
        assert timedelta(0) <= lag < timedelta(seconds=30), (customer_id, lag)


def test_spend_per_platform_per_day_equals_truth_exactly(built_warehouse):
    truth: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    truth_counts: dict[tuple[str, str, str], tuple[int, int]] = {}
    for r in _truth(built_warehouse, "ad_spend_daily.csv"):
        truth[(r["date"], r["platform"])] += Decimal(r["spend"])
        truth_counts[(r["date"], r["platform"], r["campaign_id"])] = (
            int(r["impressions"]),
            int(r["clicks"]),
        )
    spend = {
        (d.isoformat(), platform): amount
        for d, platform, amount in _query(
            built_warehouse,
            "select spend_date, platform, sum(spend_amount) from core.fct_ad_spend_daily group by all",
        )
    }
    assert all(isinstance(v, Decimal) for v in spend.values()), "spend must stay an exact DECIMAL"
    assert spend == dict(truth)
    counts = {
        (d.isoformat(), platform, campaign_id): (impressions, clicks)
        for d, platform, campaign_id, impressions, clicks in _query(
            built_warehouse,
            "select spend_date, platform, campaign_id, impressions, clicks from core.fct_ad_spend_daily",
        )
    }
    assert counts == truth_counts


def test_spend_in_usd_uses_the_months_fx_rate(built_warehouse):
    rows = _query(
        built_warehouse,
        """
        select count(*), count(*) filter (where currency = 'USD' and spend_amount_usd <> spend_amount),
               count(*) filter (where currency <> 'USD' and spend_amount > 0 and spend_amount_usd = spend_amount)
        from core.fct_ad_spend_daily
        """,
    )
    total, usd_changed, foreign_unconverted = rows[0]
    assert total > 0 and usd_changed == 0 and foreign_unconverted == 0


def test_campaign_sessions_never_exceed_clicks(built_warehouse):
    paid = _query(
        built_warehouse,
        "select count(*), count(campaign_key) from core.fct_sessions where medium in ('cpc', 'paid_social')",
    )[0]
    assert paid[0] > 1000 and paid[0] == paid[1], (
        "every paid session joins its campaign through UTM naming"
    )
    over = _query(
        built_warehouse,
        """
        with sessions as (
            select session_date, campaign_key, count(*) as sessions
            from core.fct_sessions where campaign_key is not null group by all
        )
        select sessions.session_date, sessions.campaign_key, sessions.sessions, spend.clicks
        from sessions
        left join core.fct_ad_spend_daily as spend
            on sessions.session_date = spend.spend_date and sessions.campaign_key = spend.campaign_key
        where sessions.sessions > coalesce(spend.clicks, 0)
        """,
    )
    assert over == []
    # the hand-tagged Meta retargeting campaign (utm rt_q3_2024) is found through the mapping seed
    assert (
        _query(
            built_warehouse,
            "select count(*) from core.fct_sessions where campaign_key = 'meta_ads:23850002'",
        )[0][0]
        > 0
    )


def test_channel_seed_reproduces_the_simulators_groupings(built_warehouse):
    expected = {
        (src, med): GROUPING[code]
        for code, pairs in catalog.CHANNEL_SOURCES.items()
        for src, med in pairs
    }
    for channel in catalog.CHANNELS:
        if channel.platform:
            expected[catalog.PLATFORM_UTM[channel.platform]] = channel.grouping
    seen = {
        (source, medium): channel
        for source, medium, channel in _query(
            built_warehouse, "select distinct source, medium, channel from core.fct_sessions"
        )
    }
    assert seen == expected


#: every incremental model (all must run incrementally after the first run), and the GA4
#: browsers whose cut-off day's events arrive a run late (GA4's re-read of the last 3 days)
INCREMENTAL_MODELS = ("stg_ga4__events", "int_ga4_sessions", "int_touchpoints", "fct_sessions", "fct_events")
LATE_EVENT_BROWSERS = "hash(user_pseudo_id) % 7 = 0"


def _built_tables(path: Path) -> dict[str, list[tuple]]:
    """Every table dbt built (models and seeds, not views), its rows in a fixed order."""
    with duckdb.connect(str(path)) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE' "
            "and table_schema in ('staging', 'intermediate', 'core', 'metrics')"
        ).fetchall()
        return {
            name: sorted(con.execute(f'select * from "{schema}"."{name}"').fetchall(), key=repr)
            for schema, name in tables
        }


def test_incremental_runs_equal_a_full_refresh(
    loaded_warehouse, built_warehouse, tmp_path: Path, monkeypatch
):
    """Build the project on the events up to a cut-off day, advance the sandbox by a day and run
    it again (incremental models incrementally), then load the rest of the year and run again:
    every table (each incremental model and every mart downstream of them) must equal the full
    build's row for row. The days include a session crossing the cut-off midnight, events of
    the cut-off day arriving a day late (GA4 re-reads the last 3 days), customers whose earlier
    anonymous browsing is linked after the cut-off (a user_id seen on a browser after sign-up),
    and a Stripe customer record arriving after all its sessions."""
    full = _built_tables(built_warehouse.path)
    # the last day of November with a session crossing its midnight: the run after it must finish it
    (cutoff,) = _query(
        built_warehouse,
        "select max(session_date) from core.fct_sessions "
        "where last_event_date > session_date and session_date < date '2025-12-01'",
    )[0]
    assert cutoff is not None, "the sandbox year has sessions crossing midnight"
    # customers identified after the cut-off whose touches include sessions from before the
    # lookback window: their earlier anonymous browsing must be linked retroactively
    (relinked,) = _query(
        built_warehouse,
        f"""
        select count(distinct touchpoints.customer_id)
        from intermediate.int_touchpoints as touchpoints
        inner join intermediate.int_identity_map as identity_map
            on touchpoints.user_pseudo_id = identity_map.user_pseudo_id
        where cast(identity_map.first_identified_at as date) > date '{cutoff}'
          and touchpoints.session_ended_at < date '{cutoff}' - interval 3 day
        """,
    )[0]
    assert relinked > 0
    # a Stripe customer record arriving late (after all its sessions left the lookback window):
    # its touchpoints appear only through int_touchpoints' identity-map rule
    (late_customer,) = _query(
        built_warehouse,
        f"""
        select min(customer_id) from (
            select customer_id from intermediate.int_touchpoints group by customer_id
            having max(session_ended_at) < date '{cutoff}' - interval 5 day
        )
        """,
    )[0]
    assert late_customer is not None
    path = tmp_path / "northstar.duckdb"
    shutil.copy(loaded_warehouse.path, path)
    next_day = cutoff + timedelta(days=1)
    with duckdb.connect(str(path)) as con:
        con.execute("create table raw_ga4.events_all as select * from raw_ga4.events")
        con.execute(f"delete from raw_ga4.events where event_date > '{cutoff:%Y%m%d}'")
        (late_events,) = con.execute(
            f"delete from raw_ga4.events where event_date = '{cutoff:%Y%m%d}' and {LATE_EVENT_BROWSERS}"
        ).fetchone()
        con.execute("create table raw_stripe.customers_all as select * from raw_stripe.customers")
        con.execute(f"delete from raw_stripe.customers where id = '{late_customer}'")
    assert late_events > 0
    monkeypatch.setenv("NORTHSTAR_WAREHOUSE", str(path))
    target = tmp_path / "target"
    first = run_dbt(["build", "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"],
                    target_path=target)
    assert first.success, failures(first)

    def counts() -> dict[str, int]:
        with duckdb.connect(str(path)) as con:
            return {
                model: con.execute(f"select count(*) from {relation(model)}").fetchone()[0]
                for model in INCREMENTAL_MODELS
            }

    before = counts()
    # the sandbox advances by a day: GA4 re-reads the last 3 days (the cut-off day's late events
    # arrive with the next day's), and the late Stripe customer arrives
    with duckdb.connect(str(path)) as con:
        con.execute("delete from raw_stripe.customers")
        con.execute("insert into raw_stripe.customers select * from raw_stripe.customers_all")
        con.execute(
            "insert into raw_ga4.events select * from raw_ga4.events_all "
            f"where event_date = '{next_day:%Y%m%d}' "
            f"or (event_date = '{cutoff:%Y%m%d}' and {LATE_EVENT_BROWSERS})"
        )
    second = run_dbt(["run"], target_path=target)
    assert second.success, failures(second)
    for model in INCREMENTAL_MODELS:
        run_sql = next((target / "run").rglob(f"{model}.sql")).read_text()
        assert "delete from" in run_sql.lower(), (
            f"the second run of {model} should have been incremental (delete+insert)"
        )
    after_a_day = counts()
    # then the rest of the year
    with duckdb.connect(str(path)) as con:
        con.execute("delete from raw_ga4.events")
        con.execute("insert into raw_ga4.events select * from raw_ga4.events_all")
    third = run_dbt(["run"], target_path=target)
    assert third.success, failures(third)
    incremental = _built_tables(path)
    for model in INCREMENTAL_MODELS:
        assert 0 < before[model] <= after_a_day[model] < len(incremental[model]), model
    assert sorted(incremental) == sorted(full)
    differing = [name for name in full if incremental[name] != full[name]]
    assert not differing, f"differ from the full build: {differing}"


def test_an_incremental_mart_built_without_its_constraints_is_built_whole_once(
    built_warehouse, tmp_path: Path, monkeypatch
):
    """An incremental mart's runs insert into the table its whole build made, whose constraints
    (its contract's not_null and check) judge the new rows. A table built before them (a warehouse
    older than the contract) has none: the next run builds it whole, with them
    (macros/incremental_contracts.sql), and the run after that is incremental again."""
    path = tmp_path / "northstar.duckdb"
    shutil.copy(built_warehouse.path, path)
    constraints = ("select count(*) from duckdb_constraints() where schema_name = 'core'"
                   " and table_name = 'fct_events' and constraint_type in ('NOT NULL', 'CHECK')")
    with duckdb.connect(str(path)) as con:
        (declared,) = con.execute(constraints).fetchone()
        (rows,) = con.execute("select count(*) from core.fct_events").fetchone()
        # the same rows in a table without constraints, as a build before the contract made it
        con.execute("create table core.fct_events_unconstrained as select * from core.fct_events")
        con.execute("drop table core.fct_events")
        con.execute("alter table core.fct_events_unconstrained rename to fct_events")
    monkeypatch.setenv("NORTHSTAR_WAREHOUSE", str(path))
    incremental, built = [], []
    for run in ("first", "second"):
        target = tmp_path / run
        result = run_dbt(["run", "--select", "fct_events"], target_path=target)
        assert result.success, failures(result)
        incremental.append("delete from" in next((target / "run").rglob("fct_events.sql")).read_text().lower())
        with duckdb.connect(str(path)) as con:
            built.append((con.execute(constraints).fetchone()[0],
                          con.execute("select count(*) from core.fct_events").fetchone()[0]))
    assert declared == 8
    assert incremental == [False, True]
    assert built == [(declared, rows), (declared, rows)]


@pytest.mark.parametrize(
    "model", ["fct_sessions", "fct_ad_spend_daily", "dim_campaigns", "dim_channels"]
)
def test_marts_are_not_empty(built_warehouse, model):
    assert _query(built_warehouse, f"select count(*) from {relation(model)}")[0][0] > 0


def test_attribution_conversions_match_truth(built_warehouse):
    truth = _truth(built_warehouse, "customer_conversions.csv")
    rows = _query(
        built_warehouse,
        "select customer_id, conversion_type, converted_at, conversion_month "
        "from intermediate.int_attribution_conversions",
    )
    trials = {c: at for c, kind, at, _ in rows if kind == "trial_start"}
    paid = {c: (at, month.isoformat()) for c, kind, at, month in rows if kind == "paid"}
    assert trials == {r["customer_id"]: _utc(r["trial_started_at"]) for r in truth}
    assert paid == {
        r["customer_id"]: (_utc(r["first_paid_at"]), r["first_paid_month"])
        for r in truth
        if r["first_paid_month"]
    }


def test_attribution_weights_add_up_to_the_totals_exactly(built_warehouse):
    not_one = _query(
        built_warehouse,
        "select conversion_key, attribution_model, sum(weight) from intermediate.int_attribution_weights "
        "group by all having sum(weight) <> 1",
    )
    assert not_one == []
    totals = {
        (month, kind): (Decimal(n), value)
        for month, kind, n, value in _query(
            built_warehouse,
            "select conversion_month, conversion_type, count(*), sum(conversion_value_usd) "
            "from intermediate.int_attribution_conversions group by all",
        )
    }
    attributed = _query(
        built_warehouse,
        "select conversion_month, conversion_type, attribution_model, sum(attributed_conversions), "
        "sum(attributed_value_usd) from metrics.channel_attribution group by all",
    )
    assert len(attributed) == 7 * len(totals)
    for month, kind, model, conversions, value in attributed:
        assert (conversions, value) == totals[(month, kind)], (month, kind, model)
    paid_value = sum(v for (_, kind), (_, v) in totals.items() if kind == "paid")
    assert paid_value > 0
