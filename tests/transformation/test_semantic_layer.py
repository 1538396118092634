"""The MetricFlow semantic layer answers with the marts' own numbers, through the real ``mf`` CLI.

``mf`` runs as a subprocess on the session's built warehouse (``built_warehouse``), with the
dbt project's profile on the prod target and NORTHSTAR_WAREHOUSE naming that file, as an analyst
would run it from the repository root. It reads ``target/semantic_manifest.json`` under the dbt
project directory (a fixed path in dbt-metricflow), so each test gets a project directory of
its own: links to the repository's dbt files and its own ``target/`` written by ``dbt parse``.
mf reads a copy of the built file (dbt-duckdb in the test process holds its lock). Every figure
is compared as a Decimal with the mart's value. Amounts, counts and balances are exact. Rates are
ratio or derived metrics, which MetricFlow divides in DOUBLE, while the marts divide exactly and
round to 6 decimals half away from zero (macro exact_divide): a rate is compared at the marts'
precision, the DOUBLE rounded the same way, so a difference in the 6th decimal still fails.
Rates at coarser grains (a quarter, no channel, all currencies) are checked against the same
ratio computed here from the marts' component columns, and against what a max of the mart's
rows (the old metrics) would have said.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path

import pytest

from orchestration.dbt_project import PROJECT_DIR
from tests.dbt_helpers import failures, run_dbt

pytestmark = pytest.mark.slow  # builds a warehouse (tests/conftest.py runs these first)

MF = Path(shutil.which("mf") or Path(PROJECT_DIR, ".venv", "bin", "mf"))
PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "tests")


@pytest.fixture(scope="module")
def mf_project(built_warehouse, tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A dbt project directory whose ``target/`` holds this build's semantic manifest."""
    project = tmp_path_factory.mktemp("mf_project")
    for name in PROJECT_FILES:
        (project / name).symlink_to(PROJECT_DIR / name)
    # dbt-duckdb in this process keeps the built file locked: mf reads a checkpointed copy, under
    # the same file name (DuckDB's catalog name, which the manifest's relations carry)
    built_warehouse.query("checkpoint")
    warehouse = project / built_warehouse.path.name
    shutil.copy(built_warehouse.path, warehouse)
    env = {
        **os.environ,
        "NORTHSTAR_WAREHOUSE": str(warehouse),
        "NORTHSTAR_DBT_TARGET": "prod",
        "DBT_PROFILES_DIR": str(project),
        "DBT_PROJECT_DIR": str(project),
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NORTHSTAR_WAREHOUSE", str(warehouse))
        result = run_dbt(["parse"], target_path=project / "target")
    assert result.success, failures(result)
    assert (project / "target" / "semantic_manifest.json").is_file()
    return project, env


def mf(project_env: tuple[Path, dict[str, str]], *args: str) -> subprocess.CompletedProcess:
    project, env = project_env
    done = subprocess.run(
        [str(MF), *args], check=False, cwd=project, env=env, capture_output=True, text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"mf {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done


def mf_query(project_env, metrics: list[str], group_by: list[str], tmp_path: Path) -> list[dict]:
    """``mf query`` written as CSV: metrics as Decimals (None for an empty cell), time dimensions as
    dates, other dimensions as strings."""
    out = tmp_path / f"{'_'.join(metrics)}__{'_'.join(group_by)}.csv"
    mf(project_env, "query", "--metrics", ",".join(metrics), "--group-by", ",".join(group_by),
       "--csv", str(out))
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows, f"mf query {metrics} by {group_by} returned no rows"
    return [{key: _value(key, cell, metrics) for key, cell in row.items()} for row in rows]


def _value(key: str, cell: str, metrics: list[str]):
    if cell in ("", "None"):
        return None
    if key.startswith("metric_time"):
        return date.fromisoformat(cell[:10])
    if key in metrics:
        return Decimal(cell)
    return cell


def _decimal(value) -> Decimal | None:
    return None if value is None else Decimal(value)


HALF_UNIT = Decimal("0.0000005")  # half a unit of the marts' 6th decimal


def _rate(value: Decimal | None) -> Decimal | None:
    """A rate at the marts' precision: 6 decimals, half away from zero (macro exact_divide)."""
    return None if value is None else value.quantize(HALF_UNIT * 2, rounding=ROUND_HALF_UP)


def _ratio(numerator, denominator) -> Decimal | None:
    """numerator / denominator, exact to 40 digits; None on 0 (the marts' nullif)."""
    if denominator is None or Decimal(denominator) == 0:
        return None
    with localcontext() as context:
        context.prec = 40
        return Decimal(numerator) / Decimal(denominator)


def _agrees(got: Decimal | None, want: Decimal | None, half_unit: Decimal) -> bool:
    """MetricFlow's DOUBLE quotient (15+ significant digits) agrees with ``want``: a mart's rate,
    which is the exact quotient rounded to 6 decimals (``half_unit`` = HALF_UNIT; rounding the
    DOUBLE instead would miss the exact ties, e.g. spend / 0.4 attributed customers), or an exact
    quotient computed here (``half_unit`` = 0)."""
    if got is None or want is None:
        return got is None and want is None
    return abs(got - want) <= half_unit + abs(want) * Decimal("1e-12")


def _matched(got: dict, expected: dict, rates, half_unit: Decimal = HALF_UNIT) -> dict:
    """``got`` with each value at a position in ``rates`` replaced by the expected one where they
    agree (``_agrees``), so that ``assert _matched(got, expected, ...) == expected`` shows only
    real differences; amounts and counts (other positions) stay exact."""
    matched = {}
    for key, values in got.items():
        want = expected.get(key, (None,) * len(values))
        matched[key] = tuple(
            w if i in rates and _agrees(g, w, half_unit) else g
            for i, (g, w) in enumerate(zip(values, want, strict=True)))
    return matched


def _quarter(month: date) -> date:
    return date(month.year, 3 * ((month.month - 1) // 3) + 1, 1)


def test_validate_configs(mf_project):
    """The semantic manifest and the warehouse agree (MetricFlow's own semantic and DW checks)."""
    done = mf(mf_project, "validate-configs")
    passed = done.stdout.count("Successfully validated")
    assert passed == 6 and "Breaking issues" not in done.stdout, done.stdout


def _by_month(built_warehouse, mf_project, tmp_path, metrics: list[str], columns: str
              ) -> tuple[dict, dict]:
    """``mf query`` of ``metrics`` by month, and the reporting rows of ``mrr_summary``'s
    ``columns`` (in the same order), each as month -> values."""
    got = {
        row["metric_time__month"]: tuple(row[m] for m in metrics)
        for row in mf_query(mf_project, metrics, ["metric_time__month"], tmp_path)
    }
    expected = {
        month: tuple(_decimal(v) for v in values)
        for month, *values in built_warehouse.query(
            f"select month, {columns} from metrics.mrr_summary where currency_scope = 'reporting'"
        )
    }
    return got, expected


def test_mrr_by_month_equals_mrr_summary(built_warehouse, mf_project, tmp_path):
    """MRR, ARR, customers (balances) and the month's movements, month by month."""
    got, expected = _by_month(
        built_warehouse, mf_project, tmp_path,
        ["mrr", "arr", "customers", "new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr",
         "reactivation_mrr"],
        "ending_mrr, ending_arr, ending_customers, new_mrr, expansion_mrr, contraction_mrr, "
        "churn_mrr, reactivation_mrr")
    assert len(expected) >= 12
    assert sum(1 for values in expected.values() if values[0] > 0) >= 6
    assert got == expected


def test_mrr_by_quarter_is_the_quarter_end_balance(built_warehouse, mf_project, tmp_path):
    """A balance at a coarser grain is its last month's value; a flow is the sum of the months."""
    got = {
        row["metric_time__quarter"]: (row["mrr"], row["customers"], row["starting_mrr"], row["new_mrr"])
        for row in mf_query(mf_project, ["mrr", "customers", "starting_mrr", "new_mrr"],
                            ["metric_time__quarter"], tmp_path)
    }
    months = built_warehouse.query(
        "select month, ending_mrr, ending_customers, starting_mrr, new_mrr from metrics.mrr_summary "
        "where currency_scope = 'reporting' order by month"
    )
    expected: dict[date, tuple] = {}
    for month, mrr, customers, starting, new in months:
        quarter = date(month.year, 3 * ((month.month - 1) // 3) + 1, 1)
        if quarter not in expected:
            expected[quarter] = (mrr, customers, Decimal(starting), Decimal(new))
        else:
            first_starting, new_so_far = expected[quarter][2], expected[quarter][3]
            expected[quarter] = (mrr, customers, first_starting, new_so_far + Decimal(new))
    expected = {q: (Decimal(m), Decimal(c), s, n) for q, (m, c, s, n) in expected.items()}
    assert len(expected) >= 4
    assert got == expected


RATE_COLUMNS = {  # metric -> mrr_summary column
    "nrr": "net_revenue_retention",
    "grr": "gross_revenue_retention",
    "logo_churn_rate": "logo_churn_rate",
    "gross_mrr_churn_rate": "gross_mrr_churn_rate",
    "mrr_growth_rate": "mrr_growth_rate",
    "quick_ratio": "quick_ratio",
    "arpa": "arpa",
}


def test_nrr_grr_and_logo_churn_equal_mrr_summary(built_warehouse, mf_project, tmp_path):
    """By month the ratio metrics are mrr_summary's rates (at its precision); LTV and trailing-12
    NRR, point-in-time figures of the mart, are its values exactly."""
    rates = list(RATE_COLUMNS)
    got, expected = _by_month(
        built_warehouse, mf_project, tmp_path, [*rates, "ltv", "trailing_12_month_nrr"],
        ", ".join(RATE_COLUMNS.values()) + ", ltv, trailing_12_month_net_revenue_retention")
    assert sum(1 for values in expected.values() if values[0] is not None) >= 6
    assert sum(1 for values in expected.values() if values[-2] is not None) >= 3  # LTV
    assert _matched(got, expected, range(len(rates))) == expected


def test_mrr_rates_by_quarter_are_the_quarters_not_a_month_max(built_warehouse, mf_project, tmp_path):
    """A quarter's NRR, GRR, logo churn, growth, quick ratio and ARPA are its movements over its
    starting balances (ARPA: its end balances), computed here from mrr_summary's components, in
    the reporting scope (all billing currencies converted). The old metrics showed the quarter's
    last month's rate: at least one quarter differs."""
    rates = list(RATE_COLUMNS)
    got = {
        row["metric_time__quarter"]: tuple(row[m] for m in rates)
        for row in mf_query(mf_project, rates, ["metric_time__quarter"], tmp_path)
    }
    months = built_warehouse.query(
        "select month, starting_mrr, new_mrr, reactivation_mrr, expansion_mrr, contraction_mrr, "
        "churn_mrr, ending_mrr, starting_customers, churned_customers, ending_customers, "
        + ", ".join(RATE_COLUMNS.values())
        + " from metrics.mrr_summary where currency_scope = 'reporting' order by month"
    )
    quarters: dict[date, dict] = {}
    for month, *values in months:
        (starting, new, reactivation, expansion, contraction, churn, ending, starting_customers,
         churned, ending_customers) = (Decimal(v) for v in values[:10])
        quarter = quarters.setdefault(_quarter(month), {
            "starting": starting, "starting_customers": starting_customers, "new": Decimal(0),
            "reactivation": Decimal(0), "expansion": Decimal(0), "contraction": Decimal(0),
            "churn": Decimal(0), "churned": Decimal(0)})
        for key, value in (("new", new), ("reactivation", reactivation), ("expansion", expansion),
                           ("contraction", contraction), ("churn", churn), ("churned", churned)):
            quarter[key] += value
        quarter["ending"], quarter["ending_customers"] = ending, ending_customers
        quarter["last_month_rates"] = tuple(_decimal(v) for v in values[10:])
    expected = {
        quarter: (
            _ratio(q["starting"] + q["expansion"] - q["contraction"] - q["churn"], q["starting"]),
            _ratio(q["starting"] - q["contraction"] - q["churn"], q["starting"]),
            _ratio(q["churned"], q["starting_customers"]),
            _ratio(q["contraction"] + q["churn"], q["starting"]),
            _ratio(q["ending"] - q["starting"], q["starting"]),
            _ratio(q["new"] + q["reactivation"] + q["expansion"], q["contraction"] + q["churn"]),
            _ratio(q["ending"], q["ending_customers"]),
        )
        for quarter, q in quarters.items()
    }
    assert len(expected) >= 4
    assert sum(1 for values in expected.values() if values[0] is not None) >= 2
    assert _matched(got, expected, range(len(rates)), half_unit=Decimal(0)) == expected
    last_month = {quarter: q["last_month_rates"] for quarter, q in quarters.items()}
    for position in (0, 1, 2):  # NRR, GRR, logo churn
        assert any(_rate(expected[q][position]) != last_month[q][position]
                   for q in expected if expected[q][position] is not None)


def test_logo_churn_over_all_billing_currencies(built_warehouse, mf_project, tmp_path):
    """Logo churn (a ratio of counts) in the reporting scope is the churn over every billing
    currency: the currencies' churned customers / their starting customers, summed."""
    got = {
        row["metric_time__month"]: (row["logo_churn_rate"],)
        for row in mf_query(mf_project, ["logo_churn_rate"], ["metric_time__month"], tmp_path)
    }
    expected = {
        month: (_ratio(churned, starting),)
        for month, churned, starting in built_warehouse.query(
            "select month, sum(churned_customers), sum(starting_customers) from metrics.mrr_summary "
            "where currency_scope = 'currency' group by month"
        )
    }
    assert sum(1 for (value,) in expected.values() if value) >= 3
    assert _matched(got, expected, {0}, half_unit=Decimal(0)) == expected


def test_cohort_retention_rates_equal_cohort_retention(built_warehouse, mf_project, tmp_path):
    """Cohort metrics sum the channels' rows: without a channel they are the mart's 'All channels'
    rows, by cohort_channel each channel's row."""
    metrics = ["cohort_customers", "cohort_active_customers", "cohort_logo_retention", "cohort_nrr",
               "cohort_grr"]
    columns = "cohort_customers, active_customers, logo_retention, net_revenue_retention, " \
              "gross_revenue_retention"

    got_all = {
        (row["metric_time__month"], int(row["cohort__months_since_start"])): tuple(row[m] for m in metrics)
        for row in mf_query(mf_project, metrics, ["metric_time__month", "cohort__months_since_start"],
                            tmp_path)
    }
    got_by_channel = {
        (row["metric_time__month"], int(row["cohort__months_since_start"]), row["cohort__cohort_channel"]):
            tuple(row[m] for m in metrics)
        for row in mf_query(mf_project, metrics, ["metric_time__month", "cohort__months_since_start",
                                                  "cohort__cohort_channel"], tmp_path)
    }
    rows = built_warehouse.query(
        f"select cohort_month, months_since_start, channel, {columns} from metrics.cohort_retention")
    expected_all = {(m, k): tuple(_decimal(v) for v in values)
                    for m, k, channel, *values in rows if channel == "All channels"}
    expected_by_channel = {(m, k, channel): tuple(_decimal(v) for v in values)
                           for m, k, channel, *values in rows if channel != "All channels"}
    assert len(expected_all) >= 12 and len({key[2] for key in expected_by_channel}) >= 2
    assert _matched(got_all, expected_all, {2, 3, 4}) == expected_all
    assert _matched(got_by_channel, expected_by_channel, {2, 3, 4}) == expected_by_channel


def test_cac_by_channel_equals_channel_performance(built_warehouse, mf_project, tmp_path):
    """By month and channel, CAC, ROAS, payback and LTV:CAC are the mart's (at its precision)."""
    metrics = ["cac", "first_year_roas", "payback_months", "ltv_to_cac", "attributed_new_customers"]
    got = {
        (row["metric_time__month"], row["channel"]): tuple(row[m] for m in metrics)
        for row in mf_query(mf_project, metrics, ["metric_time__month", "channel"], tmp_path)
    }
    expected = {
        (month, channel): tuple(_decimal(v) for v in values)
        for month, channel, *values in built_warehouse.query(
            "select month, channel, cac_usd, first_year_roas, payback_months, "
            "ltv_to_cac, new_customers from metrics.channel_performance"
        )
    }
    assert sum(1 for values in expected.values() if values[0] is not None) >= 6
    assert sum(1 for values in expected.values() if values[2] is not None) >= 6
    assert _matched(got, expected, {0, 1, 2, 3}) == expected


def test_cac_without_channel_is_all_spend_over_all_customers(built_warehouse, mf_project, tmp_path):
    """CAC with no channel is the month's (or quarter's) attributed spend / attributed new
    customers over every channel, not the highest channel's CAC; blended CAC is the mart's."""
    by_month = {
        row["metric_time__month"]: (row["cac"], row["blended_cac"])
        for row in mf_query(mf_project, ["cac", "blended_cac"], ["metric_time__month"], tmp_path)
    }
    components = built_warehouse.query(
        "select month, sum(spend_amount_usd), sum(new_customers), max(cac_usd), max(blended_cac_usd), "
        "count(distinct coalesce(blended_cac_usd, -1)) from metrics.channel_performance group by month"
    )
    assert all(distinct == 1 for *_, distinct in components)  # blended CAC: one figure per month
    expected = {month: (_ratio(spend, customers), _decimal(blended))
                for month, spend, customers, _, blended, _ in components}
    assert sum(1 for cac, _ in expected.values() if cac is not None) >= 6
    # CAC against the exact quotient of the components, blended CAC against the mart's figure
    assert _matched(_matched(by_month, expected, {0}, half_unit=Decimal(0)), expected, {1}) == expected
    highest = {month: _decimal(top) for month, _, _, top, _, _ in components}
    assert any(_rate(expected[m][0]) != highest[m] for m in expected if expected[m][0] is not None)

    by_quarter = {
        (row["metric_time__quarter"], row["channel"]): (row["cac"],)
        for row in mf_query(mf_project, ["cac"], ["metric_time__quarter", "channel"], tmp_path)
    }
    sums: dict[tuple, list[Decimal]] = {}
    for month, channel, spend, customers in built_warehouse.query(
            "select month, channel, spend_amount_usd, new_customers from metrics.channel_performance"):
        total = sums.setdefault((_quarter(month), channel), [Decimal(0), Decimal(0)])
        total[0] += Decimal(spend)
        total[1] += Decimal(customers)
    expected = {key: (_ratio(spend, customers),) for key, (spend, customers) in sums.items()}
    assert sum(1 for (cac,) in expected.values() if cac) >= 4
    assert _matched(by_quarter, expected, {0}, half_unit=Decimal(0)) == expected


def test_ad_rates_by_channel_equal_channel_performance(built_warehouse, mf_project, tmp_path):
    """CTR, CPC and CPM over ad_spend's rows are the mart's by month and channel."""
    metrics = ["click_through_rate", "cost_per_click", "cost_per_mille"]
    got = {
        (row["metric_time__month"], row["channel"]): tuple(row[m] for m in metrics)
        for row in mf_query(mf_project, metrics, ["metric_time__month", "channel"], tmp_path)
    }
    expected = {
        (month, channel): tuple(_decimal(v) for v in values)
        for month, channel, *values in built_warehouse.query(
            "select month, channel, click_through_rate, cost_per_click_usd, cost_per_mille_usd "
            "from metrics.channel_performance where impressions > 0"
        )
    }
    assert len(expected) >= 12
    assert _matched(got, expected, {0, 1, 2}) == expected


def test_funnel_rates_by_month_channel_and_quarter(built_warehouse, mf_project, tmp_path):
    """Funnel stage rates by month x channel are the mart's cohorted rows; by quarter (no channel)
    they pool the quarter's visitors: stage sums / previous stage sums, not a max of rows."""
    rates = {"visitor_to_sign_up_rate": ("sign_ups", "visitors"),
             "sign_up_to_activated_rate": ("activated", "sign_ups"),
             "activated_to_trial_rate": ("trials", "activated"),
             "funnel_trial_to_paid_rate": ("paid", "trials"),
             "paid_to_expanded_rate": ("expanded", "paid"),
             "visitor_to_trial_rate": ("trials", "visitors"),
             "visitor_to_paid_rate": ("paid", "visitors")}
    metrics = list(rates)
    rows = built_warehouse.query(
        "select month, channel, visitors, sign_ups, activated, trials, paid, expanded, "
        "visitor_to_sign_up_rate, sign_up_to_activated_rate, activated_to_trial_rate, trial_to_paid_rate, "
        "paid_to_expanded_rate, visitor_to_trial_rate, visitor_to_paid_rate "
        "from metrics.funnel where funnel_view = 'cohorted'"
    )
    got = {
        (row["metric_time__month"], row["funnel_month__first_touch_channel"]): tuple(row[m] for m in metrics)
        for row in mf_query(mf_project, metrics, ["metric_time__month", "funnel_month__first_touch_channel"],
                            tmp_path)
    }
    expected = {(month, channel): tuple(_decimal(v) for v in values[6:]) for month, channel, *values in rows}
    assert _matched(got, expected, range(len(metrics))) == expected

    stages = ("visitors", "sign_ups", "activated", "trials", "paid", "expanded")
    totals: dict[date, dict[str, int]] = {}
    highest: dict[date, Decimal | None] = {}
    for month, _, *values in rows:
        total = totals.setdefault(_quarter(month), dict.fromkeys(stages, 0))
        for stage, value in zip(stages, values[:6], strict=True):
            total[stage] += value
        rate = _decimal(values[6])
        if rate is not None:
            highest[_quarter(month)] = max(rate, highest.get(_quarter(month), rate))
    expected = {quarter: tuple(_ratio(t[num], t[den]) for num, den in rates.values())
                for quarter, t in totals.items()}
    got = {
        row["metric_time__quarter"]: tuple(row[m] for m in metrics)
        for row in mf_query(mf_project, metrics, ["metric_time__quarter"], tmp_path)
    }
    assert len(expected) >= 4
    assert _matched(got, expected, range(len(metrics)), half_unit=Decimal(0)) == expected
    assert any(_rate(expected[q][0]) != highest[q] for q in highest)


def test_ad_spend_by_channel_equals_channel_performance(built_warehouse, mf_project, tmp_path):
    """Spend from the daily fact, summed by MetricFlow, is channel_performance's spend."""
    got = {
        (row["metric_time__month"], row["channel"]): row["ad_spend"]
        for row in mf_query(mf_project, ["ad_spend"], ["metric_time__month", "channel"], tmp_path)
    }
    expected = {
        (month, channel): Decimal(spend)
        for month, channel, spend in built_warehouse.query(
            "select month, channel, spend_amount_usd from metrics.channel_performance "
            "where spend_amount_usd <> 0"
        )
    }
    assert len(expected) >= 12
    assert got == expected
