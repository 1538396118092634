"""``make bench``: the nightly build at the small, default and large scales, and what limits it.

    uv run python bench/run.py                      # everything: about an hour on 2 cores
    uv run python bench/run.py --quick              # default scale, once, no Chromium: ~10 minutes
    uv run python bench/run.py --scales default --repeats 1 --parts nightly ga4
    uv run python bench/run.py --help

Defaults come from the environment when set (BENCH_SCALES="small default large",
BENCH_REPEATS=3, BENCH_LARGE_REPEATS=1); the arguments win over it.

For each scale, in this order (each a script of its own under bench/, run as a child process
so that one's memory does not weigh on the next):
1. bench/nightly.py: full nightly build on an empty warehouse, then the incremental nightly one
   simulated day later; stage times and memory peaks (median of BENCH_REPEATS; the large
   scale BENCH_LARGE_REPEATS, default 1: one repeat takes a quarter of an hour here).
2. bench/ga4_load.py: the GA4 source against DuckDB's own read_json of the same files, and the
   same world as Parquet shards (each the median of BENCH_REPEATS runs).
   With the GA4 files, the same days through the sandbox's BigQuery REST endpoint, once (the
   Storage Read API, BigQuery's fast path, cannot be measured here: the sandbox serves REST only).
3. bench/dbt_overhead.py (default and large): dbt build against the same SQL run directly.
4. bench/bi_queries.py: ten BI queries on the published marts, median and p95.
5. bench/dashboard_load.py: each dashboard page's load time in headless Chromium (and the
   snapshot and render times behind it).
6. bench/engines.py (default scale only): the same world loaded into DuckDB, a throwaway
   PostgreSQL 15 cluster and Spark in local mode, and the same ``dbt build`` on each, as
   ratios to DuckDB's (what moving engines costs on one machine, not a race).
Results: bench/results/<part>_<scale>.json and bench/results/bench.json (the summary, with
the machine and each target met or not), plus a table on stdout. Figures, not a test: nothing
here fails a build.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import header_line, machine_info  # noqa: E402 - run as a script: importable once the root is on sys.path

RESULTS = ROOT / "bench" / "results"
WORK = ROOT / "warehouse" / "bench"


def _run(script: str, *args: str) -> None:
    command = [sys.executable, str(ROOT / "bench" / script), *args]
    print(f"$ {' '.join(command[1:])}", flush=True)
    subprocess.run(command, cwd=ROOT, check=False)


def _load(name: str) -> dict | None:
    path = RESULTS / name
    return json.loads(path.read_text()) if path.exists() else None


#: The parts of a scale's bench, in the order they run (each needs the nightly's warehouse).
PARTS = ("nightly", "ga4", "dbt", "bi", "dashboards", "engines")
#: ``--quick``: the default scale once, without dbt's overhead study and Chromium (~10 minutes).
QUICK = {"scales": ["default"], "repeats": 1, "parts": ["nightly", "ga4", "bi"]}


def bench_scale(scale: str, repeats: int, parts: Sequence[str] = PARTS, full_only: bool = False) -> dict:
    if "nightly" in parts:
        _run("nightly.py", "--scale", scale, "--repeats", str(repeats), "--work-dir", str(WORK / "nightly"),
             "--out", str(RESULTS / f"nightly_{scale}.json"), *(["--full-only"] if full_only else []))
    run0 = WORK / "nightly" / scale / "run0"
    if "ga4" in parts:
        bigquery = ["--bigquery"] if scale != "large" else []  # large: an hour of f/v rows over REST
        _run("ga4_load.py", "--scale", scale, "--dir", str(run0 / "sandbox_full" / "ga4"), "--repeats", str(repeats),
             *bigquery)
    if "dbt" in parts and scale != "small":
        _run("dbt_overhead.py", "--warehouse", str(run0 / "northstar.duckdb"), "--repeats", str(repeats),
             "--work-dir", str(WORK / "dbt_overhead" / scale), "--partial-parse",
             "--out", str(RESULTS / f"dbt_overhead_{scale}.json"))
    warehouse = str(run0 / "northstar.duckdb")
    if "bi" in parts:
        _run("bi_queries.py", "--warehouse", warehouse, "--out", str(RESULTS / f"bi_queries_{scale}.json"))
    if "dashboards" in parts:
        _run("dashboard_load.py", "--warehouse", warehouse, "--out", str(RESULTS / f"dashboard_load_{scale}.json"))
    if "engines" in parts and scale == "default":
        _run("engines.py", "--scale", scale, "--work-dir", str(WORK / "engines"),
             "--out", str(RESULTS / f"engines_{scale}.json"))
    return summarise(scale)


def summarise(scale: str) -> dict:
    nightly, ga4 = _load(f"nightly_{scale}.json"), _load(f"ga4_load_{scale}.json")
    dbt, bi = _load(f"dbt_overhead_{scale}.json"), _load(f"bi_queries_{scale}.json")
    row: dict = {"scale": scale}
    if nightly:
        incremental = nightly.get("incremental") or {}
        fifteen = nightly.get("fifteen_minute") or {}
        row.update(ga4_events=nightly["ga4_events"], repeats=nightly["repeats"],
                   full_job_s=nightly["full"]["job_seconds"], generate_s=nightly["full"]["generate_seconds"],
                   full_to_publish_s=nightly["full"].get("to_publish_seconds"),
                   full_peak_mib=nightly["full"]["peak_mib"], stages=nightly["full"]["stages"],
                   incremental_job_s=incremental.get("job_seconds", float("nan")),
                   incremental_share=incremental.get("share_of_full_job", float("nan")),
                   incremental_to_publish_s=incremental.get("to_publish_seconds"),
                   incremental_to_publish_share=incremental.get("share_of_full_to_publish"),
                   fifteen_minute_job_s=fifteen.get("job_seconds"),
                   succeeded=nightly["all_succeeded"])
    if ga4:
        row.update(ga4_ratio=ga4["ratio"], ga4_events_per_s=ga4["ga4_source_events_per_s"],
                   duckdb_events_per_s=ga4["duckdb_events_per_s"],
                   ga4_parquet_vs_json=ga4.get("parquet_vs_json"),
                   ga4_bigquery_events_per_s=(ga4.get("bigquery") or {}).get("events_per_s"))
    if dbt:
        row.update(dbt_ratio=dbt["ratio"], dbt_fixed_s=dbt["fixed_seconds"])
    if bi:
        row.update(bi_median_ms=bi["overall"]["median_ms"], bi_p95_ms=bi["overall"]["p95_ms"])
    dashboards = _load(f"dashboard_load_{scale}.json")
    if dashboards:
        row.update(dashboard_load_s=dashboards["slowest_median_s"], dashboard_render_s=dashboards["render_seconds"])
    engines = _load(f"engines_{scale}.json")
    if engines:
        row.update(engines=engines["engines"])
    return row


def targets(rows: dict[str, dict]) -> list[tuple[str, str, bool | None]]:
    """(target, measured, met) for each target of issues 6 and 15 that the figures cover.

    Issue 15 times a nightly from ingest to publish (what a reader waits for); the whole job,
    with the serving steps after the publish, is shown beside it."""
    out: list[tuple[str, str, bool | None]] = []
    default, large = rows.get("default", {}), rows.get("large", {})
    for scale, row, full_limit, later_limit in (("default", default, 60, 15), ("large", large, 300, 30)):
        if row.get("full_to_publish_s") is not None:
            out.append((f"{scale} full nightly (ingest -> publish) < {full_limit} s",
                        f"{row['full_to_publish_s']:.1f} s ({row['full_job_s']:.1f} s with serving, "
                        f"+{row['generate_s']:.1f} s sandbox generation)", row["full_to_publish_s"] < full_limit))
        later = row.get("incremental_to_publish_s")
        if later is not None:
            share = row.get("incremental_to_publish_share")
            shown = f"{later:.1f} s ({row['incremental_job_s']:.1f} s with serving)"
            if scale == "default" and share is not None:
                out.append((f"{scale} nightly a day later < {later_limit} s and < 15% of full",
                            f"{shown}, {share:.0%} of full", later < later_limit and share < 0.15))
            else:
                out.append((f"{scale} nightly a day later < {later_limit} s", shown, later < later_limit))
    if default.get("fifteen_minute_job_s") is not None:
        out.append(("default 15-minute job < 20 s", f"{default['fifteen_minute_job_s']:.1f} s",
                    default["fifteen_minute_job_s"] < 20))
    if "full_job_s" in large:
        out.append(("large peak memory < 4 GiB", f"{large['full_peak_mib'] / 1024:.2f} GiB",
                    large["full_peak_mib"] < 4096))
    per_million = {s: r["full_job_s"] / (r["ga4_events"] / 1e6) for s, r in rows.items() if "full_job_s" in r}
    if len(per_million) > 1:
        ordered = sorted(rows[s]["ga4_events"] for s in per_million)
        biggest = next(s for s in per_million if rows[s]["ga4_events"] == ordered[-1])
        smallest = next(s for s in per_million if rows[s]["ga4_events"] == ordered[0])
        out.append(("cost no worse than linear in events",
                    ", ".join(f"{s} {v:.1f} s/M events" for s, v in per_million.items()),
                    per_million[biggest] <= per_million[smallest]))
    for scale, row in rows.items():
        if "ga4_ratio" in row:
            out.append((f"GA4 load >= 0.5 of read_json ({scale})", f"{row['ga4_ratio']:.2f}", row["ga4_ratio"] >= 0.5))
        if row.get("ga4_parquet_vs_json") is not None:
            out.append((f"GA4 Parquet shards at least as fast as JSON files ({scale})",
                        f"{row['ga4_parquet_vs_json']:.2f}x", row["ga4_parquet_vs_json"] >= 1))
    for scale, row in rows.items():
        if row.get("ga4_bigquery_events_per_s"):
            out.append((f"GA4 by BigQuery REST, events/s next to the files' ({scale})",
                        f"{row['ga4_bigquery_events_per_s']:,} against {row['ga4_events_per_s']:,} "
                        "(Storage Read API: not measurable against the sandbox)", None))
    if "dbt_ratio" in large:
        out.append(("dbt overhead ratio < 1.5 (large)", f"{large['dbt_ratio']:.2f}", large["dbt_ratio"] < 1.5))
    for scale, row in rows.items():
        if "bi_p95_ms" in row:
            out.append((f"BI queries p95 < 100 ms ({scale})", f"{row['bi_p95_ms']:.1f} ms", row["bi_p95_ms"] < 100))
    for scale, row in rows.items():
        if "dashboard_load_s" in row:
            measured = f"{row['dashboard_load_s']:.2f} s (slowest page's median)"
            out.append((f"dashboard page load < 3 s ({scale})", measured, row["dashboard_load_s"] < 3))
    for scale, row in rows.items():
        for engine, figures in (row.get("engines") or {}).items():
            if engine != "duckdb" and figures.get("build_vs_duckdb") is not None:
                out.append((f"dbt build on {engine} against DuckDB ({scale})",
                            f"{figures['build_s']:.1f} s, {figures['build_vs_duckdb']:.2f}x DuckDB's "
                            f"(publish {figures.get('publish_s', 0):.1f} s)", None))
    return out


def print_summary(machine: dict, rows: dict[str, dict], checks: list) -> None:
    print(f"\nNorthstar bench ({header_line(machine)})")
    print(f"{'scale':<8} {'GA4 events':>11} {'gen s':>6} {'ingest':>7} {'dbt':>6} {'checks':>7} {'publish':>8} "
          f"{'serve':>6} {'job s':>6} {'peak MiB':>9} {'incr s':>7} {'incr %':>7} {'GA4 ratio':>9} "
          f"{'dbt ratio':>9} {'BI p95':>7}")
    for scale, r in rows.items():
        if "full_job_s" not in r:
            continue
        st = r["stages"]
        print(f"{scale:<8} {r['ga4_events']:>11,} {r['generate_s']:>6.1f} {st['ingest']['seconds']:>7.1f} "
              f"{st['dbt build']['seconds']:>6.1f} {st['checks']['seconds']:>7.1f} {st['publish']['seconds']:>8.1f} "
              f"{st['serve']['seconds']:>6.1f} "
              f"{r['full_job_s']:>6.1f} {r['full_peak_mib']:>9.0f} {r['incremental_job_s']:>7.1f} "
              f"{r['incremental_share']:>7.0%} {r.get('ga4_ratio', float('nan')):>9.2f} "
              f"{r.get('dbt_ratio', float('nan')):>9.2f} {r.get('bi_p95_ms', float('nan')):>6.1f}ms")
    print("\ntargets:")
    for target, measured, met in checks:
        print(f"  {'    ' if met is None else 'met ' if met else 'MISS'}  {target}: {measured}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(
        prog="bench/run.py", description=doc.split("\n\n")[0].strip("`").replace("``", ""),
        epilog="Parts: nightly (full build, then one simulated day later), ga4 (the GA4 source against "
               "DuckDB's read_json, Parquet shards, BigQuery REST), dbt (dbt build against its SQL run "
               "directly), bi (ten BI queries), dashboards (page loads in headless Chromium), engines (dbt "
               "build on DuckDB, PostgreSQL and Spark, default scale). Results: bench/results/.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", nargs="+", choices=("small", "default", "large"),
                        default=(os.environ.get("BENCH_SCALES") or "small default large").split(),
                        help="sandbox scales to run, in order (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=int(os.environ.get("BENCH_REPEATS") or 3),
                        help="repeats of each measure at small and default scale; medians are "
                             "reported (default: %(default)s)")
    parser.add_argument("--large-repeats", type=int, default=int(os.environ.get("BENCH_LARGE_REPEATS") or 1),
                        help="repeats at large scale: one takes a quarter of an hour (default: %(default)s)")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS),
                        help="what to measure at each scale (default: all)")
    parser.add_argument("--full-only", action="store_true",
                        help="the full nightly only, not the one a simulated day later")
    parser.add_argument("--quick", action="store_true",
                        help="fits in about 10 minutes: --scales default --repeats 1 --parts nightly ga4 bi")
    args = parser.parse_args(argv)
    if args.quick:
        args.scales, args.repeats, args.parts = QUICK["scales"], QUICK["repeats"], QUICK["parts"]
    if args.repeats < 1 or args.large_repeats < 1:
        parser.error("--repeats and --large-repeats must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    machine = machine_info()
    rows = {}
    for scale in args.scales:
        rows[scale] = bench_scale(scale, args.large_repeats if scale == "large" else args.repeats,
                                  args.parts, args.full_only)
    checks = targets(rows)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bench.json").write_text(json.dumps(
        {"machine": machine, "scales": rows,
         "targets": [{"target": t, "measured": m, "met": ok} for t, m, ok in checks]},
        indent=2))
    print_summary(machine, rows, checks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
