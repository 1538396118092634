"""The MetricFlow semantic layer answers with the marts' own numbers, through the real ``mf`` CLI.

``mf`` runs as a subprocess on the session's built warehouse (``built_warehouse``), with the
dbt project's profile on the prod target and NORTHSTAR_WAREHOUSE naming that file, as an analyst
would run it from the repository root. It reads ``target/semantic_manifest.json`` under the dbt
project directory (a fixed path in dbt-metricflow), so each test gets a project directory of
its own: links to the repository's dbt files and its own ``target/`` written by ``dbt parse``.
mf reads a copy of the built file (dbt-duckdb in the test process holds its lock). Every figure
is compared as a Decimal with the mart's value: exact, no tolerance.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from orchestration.dbt_project import PROJECT_DIR
from tests.dbt_helpers import failures, run_dbt

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
    """``mf query`` written as CSV; values as Decimals (None for an empty cell), dates as dates."""
    out = tmp_path / f"{'_'.join(metrics)}.csv"
    mf(project_env, "query", "--metrics", ",".join(metrics), "--group-by", ",".join(group_by),
       "--csv", str(out))
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows, f"mf query {metrics} by {group_by} returned no rows"
    return [{key: _value(key, cell) for key, cell in row.items()} for row in rows]


def _value(key: str, cell: str):
    if cell in ("", "None"):
        return None
    if key.startswith("metric_time"):
        return date.fromisoformat(cell[:10])
    if key in ("channel",):
        return cell
    return Decimal(cell)


def _decimal(value) -> Decimal | None:
    return None if value is None else Decimal(value)


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


def test_nrr_grr_and_logo_churn_equal_mrr_summary(built_warehouse, mf_project, tmp_path):
    got, expected = _by_month(
        built_warehouse, mf_project, tmp_path,
        ["nrr", "grr", "logo_churn_rate", "arpa", "ltv", "trailing_12_month_nrr"],
        "net_revenue_retention, gross_revenue_retention, logo_churn_rate, arpa, ltv, "
        "trailing_12_month_net_revenue_retention")
    assert sum(1 for values in expected.values() if values[0] is not None) >= 6
    assert got == expected


def test_cac_by_channel_equals_channel_performance(built_warehouse, mf_project, tmp_path):
    metrics = ["cac", "blended_cac", "first_year_roas", "payback_months", "ltv_to_cac",
               "attributed_new_customers"]
    got = {
        (row["metric_time__month"], row["channel"]): tuple(row[m] for m in metrics)
        for row in mf_query(mf_project, metrics, ["metric_time__month", "channel"], tmp_path)
    }
    expected = {
        (month, channel): tuple(_decimal(v) for v in values)
        for month, channel, *values in built_warehouse.query(
            "select month, channel, cac_usd, blended_cac_usd, first_year_roas, payback_months, "
            "ltv_to_cac, new_customers from metrics.channel_performance"
        )
    }
    assert sum(1 for values in expected.values() if values[0] is not None) >= 6
    assert got == expected


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
