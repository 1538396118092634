"""The dashboards in a real browser: Debian's headless Chromium, driven by Playwright.

The pages are rendered by the real ``dct`` from a serving snapshot of the built test world and
served over HTTP as ``make dashboards`` serves them. Every page loads with no console error or
failed request; its headline figures, read from the DOM, equal the marts' values (queried from
the warehouse itself, formatted as the boards format them); a full-page screenshot of each is
kept in tests/artifacts/dashboards/ (git-ignored). The pages are rendered again only when what
they show has changed.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml
from playwright.sync_api import Page, sync_playwright

from orchestration.dashboards import (
    PAGES,
    DashboardsBuildError,
    build,
    content_fingerprint,
    refresh,
    resolved_project,
    serve,
)
from orchestration.run_summary import dashboards_line
from orchestration.serving import write_snapshot

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "dashboards"


@pytest.fixture(scope="module")
def site(built_warehouse, tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    root = tmp_path_factory.mktemp("dashboards")
    snapshot = write_snapshot(built_warehouse.path, root / "serving" / "northstar.duckdb")
    index = build(snapshot, root / "site")
    server = serve(index.parent)
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield chromium
        chromium.close()


def _open(browser, url: str) -> tuple[Page, list[str]]:
    """The page at ``url``, loaded, with every console error, page error and failed request."""
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))
    page.goto(url, wait_until="load")
    return page, problems


def _text(page: Page, chart: str) -> str:
    return " ".join(page.locator(f'[data-authored-path="charts.{chart}"]').text_content().split())


def _money(value) -> str:
    return f"${float(value):,.0f}"


def _pct(value) -> str:
    return f"{float(value) * 100:.1f}%"


@pytest.mark.parametrize("stem", [stem for stem, _ in PAGES])
def test_every_page_loads_without_an_error_and_is_kept_as_a_screenshot(browser, site, stem):
    page, problems = _open(browser, site + f"{stem}.html")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{stem}.png"), full_page=True)
    assert problems == []
    assert page.locator("[data-authored-kind=chart]").count() >= 8
    page.close()


def test_the_index_links_every_page(browser, site):
    page, problems = _open(browser, site)
    assert problems == []
    assert [a.get_attribute("href") for a in page.locator("a").all()] == [f"{s}.html" for s, _ in PAGES]
    page.close()


def test_executive_headlines_equal_mrr_summary_and_kpi_alerts(browser, site, built_warehouse):
    page, _ = _open(browser, site + "executive.html")
    mrr, arr, growth, nrr, grr, customers = built_warehouse.query(
        "select ending_mrr, ending_arr, mrr_growth_rate, net_revenue_retention, gross_revenue_retention, "
        "ending_customers from metrics.mrr_summary where currency_scope = 'reporting' order by month desc limit 1")[0]
    assert _text(page, "k_mrr") == f"{_money(mrr)} MRR (End of Month) +{_pct(growth)} month over month"
    assert _text(page, "k_arr") == f"{_money(arr)} ARR"
    assert _text(page, "k_nrr").startswith(_pct(nrr))
    assert _text(page, "k_grr").startswith(_pct(grr))
    assert _text(page, "k_customers").startswith(f"{customers:,}")
    lights = _text(page, "kpi_table")
    latest = built_warehouse.query("select metric, status from metrics.kpi_alerts where is_latest_period")
    assert len(latest) == 6
    for metric, status in latest:
        assert metric in lights and status.upper() in lights.split(metric, 1)[1][:60], metric
    page.close()


def test_marketing_headlines_equal_channel_performance_and_attribution(browser, site, built_warehouse):
    page, _ = _open(browser, site + "marketing.html")
    spend, sessions, sign_ups, new_customers = built_warehouse.query(
        "select sum(spend_amount_usd), sum(sessions), sum(sign_ups), sum(new_customers) "
        "from metrics.channel_performance "
        "where month > (select max(month) from metrics.channel_performance) - interval 12 month")[0]
    assert _text(page, "k_spend").startswith(_money(spend))
    assert _text(page, "k_sessions").startswith(f"{sessions:,}")
    assert _text(page, "k_sign_ups").startswith(f"{sign_ups:,}")
    assert _text(page, "k_new_customers").startswith(f"{float(new_customers):,.0f}")
    grid = _text(page, "attribution_grid")
    models = ["first_touch", "last_touch", "last_non_direct", "linear", "time_decay", "position_based", "data_driven"]
    rows = built_warehouse.query(
        "select channel, " + ", ".join(f"sum(attributed_conversions) filter (where attribution_model = '{m}')"
                                       for m in models)
        + " from metrics.channel_attribution where conversion_type = 'paid' and conversion_month > "
          "(select max(conversion_month) from metrics.channel_attribution) - interval 12 month "
          "group by channel order by channel")
    assert len(rows) >= 5
    for channel, *values in rows:
        cells = "".join(f"{float(v or 0):,.1f}" for v in values)  # the cells' text, one after another
        assert f"{channel}{cells}".replace(" ", "") in grid.replace(" ", ""), channel
    page.close()


def test_product_headlines_equal_user_engagement(browser, site, built_warehouse):
    page, _ = _open(browser, site + "product.html")
    dau, mau, ratio = built_warehouse.query(
        "select daily_active_users, monthly_active_users, dau_mau_ratio from metrics.user_engagement "
        "order by activity_date desc limit 1")[0]
    assert mau > dau > 0
    assert _text(page, "k_dau") == f"{dau:,} Daily Active Users"
    assert _text(page, "k_mau") == f"{mau:,} Monthly Active Users (30 Days)"
    assert _text(page, "k_stickiness") == f"{_pct(ratio)} DAU / MAU"
    page.close()


def test_pages_are_rendered_again_only_when_what_they_show_changes(built_warehouse, tmp_path, monkeypatch):
    snapshot = write_snapshot(built_warehouse.path, tmp_path / "serving" / "northstar.duckdb")
    out = tmp_path / "site"
    monkeypatch.setenv("NORTHSTAR_SERVING_WAREHOUSE", str(snapshot))  # what the run's summary reads
    monkeypatch.setenv("NORTHSTAR_DASHBOARDS_DIR", str(out))
    index, rendered = refresh(snapshot, out)
    assert rendered and index == out / "index.html"
    assert dashboards_line() == f"dashboards: {index} (serve them with `make dashboards`); BI tools read {snapshot}"
    first = {page.name: page.read_bytes() for page in out.glob("*.html")}
    assert len(first) == len(PAGES) + 1
    assert refresh(snapshot, out) == (index, False)
    write_snapshot(built_warehouse.path, snapshot)  # the next run's snapshot, with the same rows
    assert dashboards_line() is None  # not yet checked against it
    assert refresh(snapshot, out) == (index, False)
    assert {page.name: page.read_bytes() for page in out.glob("*.html")} == first
    assert dashboards_line() == (f"dashboards: {index} (unchanged: the marts they show are as they were) "
                                 f"(serve them with `make dashboards`); BI tools read {snapshot}")
    with duckdb.connect(str(snapshot)) as con:  # a figure the Executive page shows changes
        customers = con.execute(
            "update metrics.mrr_summary set ending_customers = ending_customers + 7654321 "
            "where currency_scope = 'reporting' and month = (select max(month) from metrics.mrr_summary) "
            "returning ending_customers").fetchone()[0]
    assert refresh(snapshot, out) == (index, True)
    assert f"{customers:,}".encode() not in first["executive.html"]
    assert f"{customers:,}".encode() in (out / "executive.html").read_bytes()
    assert refresh(snapshot, out) == (index, False)


def test_a_snapshot_the_board_queries_cannot_read_has_no_fingerprint(tmp_path):
    """Such a snapshot is rendered anyway, and dct's error names the board and query."""
    empty = tmp_path / "northstar.duckdb"
    duckdb.connect(str(empty)).close()
    assert content_fingerprint(empty) is None
    with pytest.raises(DashboardsBuildError) as raised:
        refresh(empty, tmp_path / "site")
    message = str(raised.value)
    assert message.startswith("dashboards: dct render failed: ")
    assert "metrics.user_retention" in message and "charts/product.yml:" in message
    assert "dct-project-" not in message  # the render's temporary copy is never named


def test_dct_reads_the_project_file_with_the_snapshot_path_written_in(tmp_path):
    """The render's project file names the snapshot itself: no Jinja left for dct to render
    (rendering it imports dbt, half of a render's time)."""
    snapshot = tmp_path / "serving" / "northstar.duckdb"
    folder = resolved_project(snapshot, tmp_path)
    assert folder == tmp_path
    text = (folder / "dbt_charts.yml").read_text()
    assert "{{" not in text and "{%" not in text
    config = yaml.safe_load(text)
    assert config["sources"]["northstar"] == {"type": "duckdb", "path": str(snapshot)}
