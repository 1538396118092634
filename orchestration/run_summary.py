"""What ``northstar run`` prints after a published build: the headline rows of the marts."""

from __future__ import annotations

from ingestion.warehouse import connect


def report_queries() -> dict[str, tuple[list[str], list[tuple]]]:
    """The last months of mrr_summary (reporting currency) and the latest kpi_alerts."""
    queries = {
        "mrr_summary": "select month, ending_mrr, new_mrr + reactivation_mrr + expansion_mrr as gained, "
                       "contraction_mrr + churn_mrr as lost, ending_customers, mrr_growth_rate, "
                       "net_revenue_retention, quick_ratio from metrics.mrr_summary "
                       "where currency_scope = 'reporting' order by month desc limit 3",
        "kpi_alerts": "select period_start, metric, metric_value, status, bound_crossed from metrics.kpi_alerts "
                      "where is_latest_period order by metric",
    }
    result = {}
    with connect() as con:
        tables = {f"{s}.{t}" for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables").fetchall()}
        for name, sql in queries.items():
            relation = next((t for t in tables if t.endswith(f".{name}")), None)
            if relation is None:
                continue
            cursor = con.execute(sql.replace(f"main.{name}", relation))
            result[name] = ([d[0] for d in cursor.description], cursor.fetchall())
    return result


def dashboards_line() -> str | None:
    """Where the dashboards are, when this run rendered them or found them current (the mark
    their render leaves, ``.rendered-from``, is newer than the serving snapshot: the dashboards
    step touches it when the marts the pages show are unchanged); else None."""
    from orchestration.dashboards import RENDERED_FROM, output_dir
    from orchestration.serving import serving_path

    index, mark, snapshot = output_dir() / "index.html", output_dir() / RENDERED_FROM, serving_path()
    if not (index.exists() and mark.exists() and snapshot.exists()) or mark.stat().st_mtime < snapshot.stat().st_mtime:
        return None
    rendered = index.stat().st_mtime >= snapshot.stat().st_mtime
    unchanged = "" if rendered else " (unchanged: the marts they show are as they were)"
    return f"dashboards: {index}{unchanged} (serve them with `make dashboards`); BI tools read {snapshot}"
