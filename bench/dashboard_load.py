"""Benchmark: how long a dashboard page takes to load in headless Chromium (issue 14).

    uv run python bench/dashboard_load.py --warehouse warehouse/northstar.duckdb --repeats 5

Writes the serving snapshot of ``--warehouse`` and renders the dbt Charts pages from it, as the
nightly does (both timed), serves them over local HTTP as ``make dashboards`` does, and opens
each page ``--repeats`` times in a fresh browser context of Debian's Chromium: load time =
the navigation's loadEventEnd (request sent to every chart drawn; the pages are static, so
nothing is fetched after it). Target: every page's median under 3 s, aim for 1 s. Prints a
table and writes ``--out`` (JSON).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.machine import header_line, machine_info  # noqa: E402 - run as a script: importable once the root is on sys.path

CHROMIUM = "/usr/bin/chromium"


def measure(warehouse: Path, repeats: int) -> dict:
    from playwright.sync_api import sync_playwright

    from orchestration.dashboards import PAGES, build, serve
    from orchestration.serving import write_snapshot

    with tempfile.TemporaryDirectory(prefix="dashboard_bench_") as tmp:
        began = time.perf_counter()
        snapshot = write_snapshot(warehouse, Path(tmp) / "serving" / "northstar.duckdb")
        snapshot_s = time.perf_counter() - began
        began = time.perf_counter()
        index = build(snapshot, Path(tmp) / "site")
        render_s = time.perf_counter() - began
        server = serve(index.parent)
        pages: dict[str, list[float]] = {}
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
                for stem, _ in PAGES:
                    for _ in range(repeats):
                        context = browser.new_context(viewport={"width": 1440, "height": 900})  # a cold cache
                        page = context.new_page()
                        page.goto(f"http://127.0.0.1:{server.server_port}/{stem}.html", wait_until="load")
                        load_ms = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
                        pages.setdefault(stem, []).append(load_ms / 1000)
                        context.close()
                browser.close()
        finally:
            server.shutdown()
        sizes = {stem: (index.parent / f"{stem}.html").stat().st_size for stem, _ in PAGES}
    per_page = {stem: {"median_s": statistics.median(t), "max_s": max(t), "html_kib": round(sizes[stem] / 1024)}
                for stem, t in pages.items()}
    return {"repeats": repeats, "snapshot_seconds": snapshot_s, "render_seconds": render_s, "pages": per_page,
            "slowest_median_s": max(p["median_s"] for p in per_page.values())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = {"machine": machine_info(), **measure(args.warehouse.resolve(), args.repeats)}
    print(f"dashboard page load in headless Chromium ({header_line(result['machine'])})")
    print(f"  serving snapshot {result['snapshot_seconds']:.1f} s, "
          f"render of the pages {result['render_seconds']:.1f} s")
    for stem, page in result["pages"].items():
        print(f"  {stem:<10} median {page['median_s']:.2f} s, max {page['max_s']:.2f} s ({page['html_kib']} KiB)")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
