"""Benchmark: latency of ten typical BI queries on the published marts (issue 6).

    uv run python bench/bi_queries.py --warehouse warehouse/northstar.duckdb --repeats 20

Opens the warehouse ``read_only=True`` in one fresh connection, as a BI tool does, and runs the
ten queries a growth dashboard sends (MRR trend and movements, cohort grid and one cohort's
curve, attribution and CAC by channel, funnel, feature adoption, user retention, latest KPI
alerts) round-robin ``--repeats`` times: one dashboard refresh per round. Reports median and
p95 milliseconds per query and over all of them (target: p95 under 100 ms), and separately the
cost of the first query of a fresh connection (connect + plan + cold reads), which a BI tool
pays once per session rather than per chart. Every query must return rows: a renamed column
or an empty mart fails the benchmark instead of making it trivially fast. Prints a table and
writes ``--out`` (JSON).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# run as a script (python bench/...), so bench is importable only once ROOT is on sys.path
from bench.machine import header_line, machine_info  # noqa: E402

# Each query reads the marts the way a dashboard chart does: filtered to one scope or model,
# aggregated to what is plotted. Relative windows are subqueries so they track the data's end.
QUERIES: dict[str, str] = {
    "mrr_trend": """
        select month, ending_mrr, ending_arr, ending_customers, mrr_growth_rate, net_revenue_retention
        from metrics.mrr_summary
        where currency_scope = 'reporting'
        order by month
    """,
    "mrr_movements_by_month": """
        select month, movement_type, count(*) as movements,
            sum(mrr_change_amount_usd) as mrr_change_usd
        from core.fct_subscription_changes
        group by month, movement_type
        order by month, movement_type
    """,
    "cohort_grid": """
        select cohort_month, months_since_start, cohort_customers, logo_retention,
            net_revenue_retention
        from metrics.cohort_retention
        where channel = 'All channels'
        order by cohort_month, months_since_start
    """,
    "cohort_retention_curve": """
        select months_since_start, active_customers, logo_retention, net_revenue_retention,
            gross_revenue_retention
        from metrics.cohort_retention
        where channel = 'All channels'
            and cohort_month = (
                select max(cohort_month) from metrics.cohort_retention where months_since_start = 12
            )
        order by months_since_start
    """,
    "attribution_by_channel": """
        select channel, sum(attributed_conversions) as conversions,
            sum(attributed_value_usd) as value_usd
        from metrics.channel_attribution
        where attribution_model = 'position_based'
            and conversion_type = 'paid'
            and conversion_month >= (
                select max(conversion_month) - interval 11 month from metrics.channel_attribution
            )
        group by channel
        order by value_usd desc
    """,
    "cac_by_channel": """
        select channel, sum(spend_amount_usd) as spend_usd, sum(new_customers) as new_customers,
            sum(spend_amount_usd) / nullif(sum(new_customers), 0) as cac_usd
        from metrics.channel_performance
        where month >= (select max(month) - interval 2 month from metrics.channel_performance)
        group by channel
        order by spend_usd desc
    """,
    "funnel_by_month": """
        select month, sum(visitors) as visitors, sum(sign_ups) as sign_ups,
            sum(activated) as activated, sum(trials) as trials, sum(paid) as paid,
            sum(paid) / nullif(sum(visitors), 0) as visitor_to_paid_rate
        from metrics.funnel
        where funnel_view = 'cohorted'
        group by month
        order by month
    """,
    "feature_adoption_latest": """
        select feature_name, active_users, adopted_users, adoption_rate, habitual_rate
        from metrics.feature_adoption
        where month = (select max(month) from metrics.feature_adoption)
        order by adoption_rate desc
    """,
    "user_retention_grid": """
        select cohort_week, weeks_since_first_visit, cohort_users, retention_rate
        from metrics.user_retention
        where cohort_week >= (select max(cohort_week) - interval 12 week from metrics.user_retention)
            and weeks_since_first_visit <= 12
        order by cohort_week, weeks_since_first_visit
    """,
    "kpi_alerts_latest": """
        select period_start, period_grain, metric, metric_value, status, bound_crossed
        from metrics.kpi_alerts
        where is_latest_period
        order by metric
    """,
}


def percentile(values: list[float], fraction: float) -> float:
    """Linear-interpolated percentile (numpy's default), so p95 of 20 samples is not the max."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def timed_query(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[float, int]:
    """(milliseconds, rows) of one query, rows fetched: a BI tool reads the whole result."""
    started = time.perf_counter()
    rows = con.execute(sql).fetchall()
    return (time.perf_counter() - started) * 1000, len(rows)


def summary(samples_ms: list[float]) -> dict:
    return {
        "median_ms": round(statistics.median(samples_ms), 3),
        "p95_ms": round(percentile(samples_ms, 0.95), 3),
        "max_ms": round(max(samples_ms), 3),
    }


def measure_bi_queries(warehouse: Path, repeats: int = 20) -> dict:
    """Median / p95 ms of each query over ``repeats`` rounds on one read-only connection.

    ``first_query_ms`` is connect + the first query (mrr_trend) of a fresh connection, kept out
    of the per-query figures. Raises when a query returns no rows.
    """
    machine = machine_info()
    names = list(QUERIES)
    started = time.perf_counter()
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        _, first_rows = timed_query(con, QUERIES[names[0]])
        first_query_ms = (time.perf_counter() - started) * 1000
        samples: dict[str, list[float]] = {name: [] for name in names}
        rows: dict[str, int] = {names[0]: first_rows}
        for _ in range(repeats):
            for name in names:
                elapsed_ms, rows[name] = timed_query(con, QUERIES[name])
                samples[name].append(elapsed_ms)
    finally:
        con.close()
    empty = [name for name in names if rows[name] == 0]
    if empty:
        raise RuntimeError(f"BI queries returned no rows (is {warehouse} built?): {', '.join(empty)}")
    every_sample = [ms for name in names for ms in samples[name]]
    return {
        "benchmark": "bi_queries",
        "warehouse": str(warehouse),
        "warehouse_bytes": warehouse.stat().st_size,
        "machine": {**machine, "load_average_after": machine_info()["load_average"]},
        "repeats": repeats,
        "connection": "duckdb.connect(read_only=True), one connection, queries round-robin",
        "first_query_ms": round(first_query_ms, 3),
        "queries": {
            name: {"rows": rows[name], **summary(samples[name]), "samples_ms": [round(ms, 3) for ms in samples[name]]}
            for name in names
        },
        "overall": summary(every_sample),
        "target_p95_ms": 100,
    }


def print_table(result: dict) -> None:
    print(f"BI queries on {result['warehouse']} ({header_line(result['machine'])}); "
          f"{result['repeats']} rounds, one read-only connection")
    width = max(len(name) for name in result["queries"])
    print(f"  {'query':<{width}}  {'rows':>6}  {'median ms':>9}  {'p95 ms':>8}")
    for name, figures in result["queries"].items():
        print(f"  {name:<{width}}  {figures['rows']:>6}  {figures['median_ms']:>9.2f}  {figures['p95_ms']:>8.2f}")
    overall = result["overall"]
    print(f"  {'all queries':<{width}}  {'':>6}  {overall['median_ms']:>9.2f}  {overall['p95_ms']:>8.2f}"
          f"   (target p95 < {result['target_p95_ms']} ms)")
    print(f"  first query of a fresh connection (connect + mrr_trend): {result['first_query_ms']:.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, default=ROOT / "warehouse" / "northstar.duckdb",
                        help="a built warehouse (opened read-only)")
    parser.add_argument("--repeats", type=int, default=20, help="rounds of the ten queries")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "bi_queries.json")
    args = parser.parse_args()
    result = measure_bi_queries(args.warehouse, args.repeats)
    print_table(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"  wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
