"""Benchmark: the GA4 source against DuckDB's own ``read_json`` of the same files.

    .venv/bin/python bench/ga4_load.py --scale default --dir /tmp/ga4_default

Generates the export (seed 42, 2024-11-01 .. 2026-11-01) into ``--dir`` unless files are
already there, then times (a) DuckDB reading every file into a table of a fresh DuckDB file
(the practical limit) and (b) the GA4 source loading the same local folder into a fresh
warehouse (extract + normalize + load, merge-ready schema and state included). Prints events/s
for both and their ratio; writes ``bench/results/ga4_load_<scale>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def ensure_files(scale: str, folder: Path) -> float:
    """Seconds spent generating (0 when the files were already there)."""
    if any(folder.glob("events_*.json.gz")):
        return 0.0
    from sandbox.simulation import simulate

    started = time.perf_counter()
    simulate(42, date(2024, 11, 1), date(2026, 11, 1), scale, folder)
    return time.perf_counter() - started


def duckdb_baseline(folder: Path, work: Path) -> tuple[float, int]:
    path = work / "baseline.duckdb"
    started = time.perf_counter()
    con = duckdb.connect(str(path))
    con.execute(f"create table events as select * from read_json('{folder}/events_*.json.gz', "
                "format='newline_delimited')")
    rows = con.execute("select count(*) from events").fetchone()[0]
    con.close()  # the checkpoint is part of the work
    return time.perf_counter() - started, rows


def ga4_source_load(folder: Path, work: Path) -> tuple[float, int, dict[str, float]]:
    os.environ["NORTHSTAR_WAREHOUSE"] = str(work / "warehouse" / "northstar.duckdb")
    os.environ["SOURCES__GA4__BUCKET_URL"] = str(folder)
    os.environ.pop("SOURCES__GA4__START_DATE", None)
    from ingestion.sources.ga4 import ga4_source
    from ingestion.warehouse import LOADER_FILE_FORMAT, make_pipeline, warehouse_path

    pipeline = make_pipeline("ga4")
    steps: dict[str, float] = {}
    started = time.perf_counter()
    pipeline.extract(ga4_source(), loader_file_format=LOADER_FILE_FORMAT)
    steps["extract_s"] = time.perf_counter() - started
    pipeline.normalize()
    steps["normalize_s"] = time.perf_counter() - started - steps["extract_s"]
    info = pipeline.load()
    elapsed = time.perf_counter() - started
    steps["load_s"] = elapsed - steps["extract_s"] - steps["normalize_s"]
    assert not info.has_failed_jobs
    with duckdb.connect(str(warehouse_path()), read_only=True) as con:
        rows = con.execute("select count(*) from raw_ga4.events").fetchone()[0]
    return elapsed, rows, steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=("small", "default", "large"), default="default")
    parser.add_argument("--dir", type=Path, required=True, help="folder of the export files")
    args = parser.parse_args()
    folder = args.dir.expanduser().resolve()
    generated_s = ensure_files(args.scale, folder)
    files = sorted(folder.glob("events_*.json.gz"))
    with tempfile.TemporaryDirectory(prefix="ga4_bench_") as tmp:
        work = Path(tmp)
        base_s, base_rows = duckdb_baseline(folder, work)
        source_s, source_rows, steps = ga4_source_load(folder, work)
    if base_rows != source_rows:
        raise SystemExit(f"row counts differ: duckdb {base_rows} vs ga4 source {source_rows}")
    result = {
        "scale": args.scale,
        "files": len(files),
        "bytes_gz": sum(f.stat().st_size for f in files),
        "events": source_rows,
        "generated_s": round(generated_s, 2),
        "duckdb_read_json_s": round(base_s, 2),
        "duckdb_events_per_s": round(base_rows / base_s),
        "ga4_source_s": round(source_s, 2),
        "ga4_source_events_per_s": round(source_rows / source_s),
        "ga4_source_steps": {k: round(v, 2) for k, v in steps.items()},
        "ratio": round(base_s / source_s, 3),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
    }
    out = ROOT / "bench" / "results" / f"ga4_load_{args.scale}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{result['events']:,} events in {result['files']} files ({result['bytes_gz'] / 1e6:.0f} MB gz)")
    print(f"duckdb read_json : {base_s:6.2f} s  {result['duckdb_events_per_s']:>10,} events/s")
    print(f"ga4 source       : {source_s:6.2f} s  {result['ga4_source_events_per_s']:>10,} events/s"
          f"  (extract {steps['extract_s']:.2f}, normalize {steps['normalize_s']:.2f}, "
          f"load {steps['load_s']:.2f})")
    print(f"ratio (source / duckdb throughput): {result['ratio']:.2f}  -> {out}")


if __name__ == "__main__":
    main()
