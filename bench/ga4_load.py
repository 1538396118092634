"""Benchmark: the GA4 source against DuckDB's own ``read_json`` of the same files.

    .venv/bin/python bench/ga4_load.py --scale default --dir /tmp/ga4_default [--bigquery] [--repeats 3]

Generates the export (seed 42, 2024-11-01 .. 2026-11-01) into ``--dir`` unless files are
already there, then times (a) DuckDB reading every file into a table of a fresh DuckDB file
(the practical limit) and (b) the GA4 source loading the same local folder into a fresh
warehouse (extract + normalize + load, merge-ready schema and state included). Prints events/s
for both and their ratio; writes ``bench/results/ga4_load_<scale>.json``. With ``--repeats N``
each file load (and DuckDB's) runs N times and the run of median seconds is reported (the
README's figures are medians of 3: the machine is shared, one run can be a third off); the
BigQuery load runs once.

Next to it: (c) the same world exported as EXPORT DATA's Parquet shards (generated into
``<dir>_parquet_shards``), loaded by the source (target: at least as fast as the JSON files),
and with ``--bigquery`` (d) the BigQuery path: the real google-cloud-bigquery client reading
the same days through the sandbox's REST endpoint (tabledata.list, f/v rows encoded and decoded
in Python on both ends of a local socket). The Storage Read API (Arrow), the fast path on real
BigQuery, cannot be measured here: the sandbox serves REST only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


START, AS_OF = date(2024, 11, 1), date(2026, 11, 1)


def ensure_files(scale: str, folder: Path, layout: str = "daily") -> float:
    """Seconds spent generating (0 when the files were already there)."""
    if any(folder.glob("events_*.json.gz")) or any(folder.glob("events_*.parquet")):
        return 0.0
    from sandbox.simulation import simulate

    started = time.perf_counter()
    simulate(42, START, AS_OF, scale, folder, ga4_layout=layout)
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


def ga4_source_load(folder: Path | str, work: Path, env: dict[str, str] | None = None
                    ) -> tuple[float, int, dict[str, float]]:
    """The GA4 source loading ``folder`` (or any bucket_url) into a fresh warehouse in ``work``."""
    os.environ["NORTHSTAR_WAREHOUSE"] = str(work / "warehouse" / "northstar.duckdb")
    os.environ["SOURCES__GA4__BUCKET_URL"] = str(folder)
    os.environ.pop("SOURCES__GA4__START_DATE", None)
    os.environ.update(env or {})
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
        rows = con.execute("select count(*) from raw_ga4.events").fetchall()[0][0]
    return elapsed, rows, steps


def median_run(load: Callable[[Path], tuple], work: Path, repeats: int) -> tuple:
    """``load(work dir)`` run ``repeats`` times (each into a fresh folder): the run of median
    seconds (its first item)."""
    runs = []
    for i in range(repeats):
        (work / f"run{i}").mkdir(parents=True)
        runs.append(load(work / f"run{i}"))
    return sorted(runs, key=lambda run: run[0])[(len(runs) - 1) // 2]


def parquet_shards_load(scale: str, json_dir: Path, work: Path, repeats: int = 1
                        ) -> dict[str, float | int]:
    """The same world as EXPORT DATA Parquet shards (generated next to ``json_dir``), loaded."""
    folder = json_dir.with_name(json_dir.name + "_parquet_shards")
    generated_s = ensure_files(scale, folder, "parquet-shards")
    seconds, rows, steps = median_run(lambda w: ga4_source_load(folder, w), work / "parquet", repeats)
    return {"generated_s": round(generated_s, 2), "files": len(list(folder.glob("*.parquet"))),
            "bytes": sum(f.stat().st_size for f in folder.glob("*.parquet")),
            "events": rows, "source_s": round(seconds, 2),
            "events_per_s": round(rows / seconds), "steps": {k: round(v, 2) for k, v in steps.items()}}


def bigquery_load(scale: str, json_dir: Path, work: Path, repeats: int = 1) -> dict[str, float | int]:
    """The BigQuery path (REST: tables.get + tabledata.list) over the sandbox serving the days
    of ``json_dir`` as tables, with the real client; one page is the client's default size."""
    from sandbox import bigquery_api
    from sandbox.server import start_server
    from sandbox.world import World

    server = start_server(World(seed=42, start=START, as_of=AS_OF, scale=scale,
                                ga4_dir=json_dir))
    try:
        env = bigquery_api.client_env(server.base_url)
        seconds, rows, steps = median_run(
            lambda w: ga4_source_load(env["SOURCES__GA4__BUCKET_URL"], w, env), work / "bq", repeats)
    finally:
        server.shutdown()
        for key in bigquery_api.client_env(""):
            os.environ.pop(key, None)
    return {"events": rows, "source_s": round(seconds, 2), "events_per_s": round(rows / seconds),
            "steps": {k: round(v, 2) for k, v in steps.items()},
            "storage_api": "not measured: the sandbox serves BigQuery's REST API only"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=("small", "default", "large"), default="default")
    parser.add_argument("--dir", type=Path, required=True, help="folder of the export files")
    parser.add_argument("--bigquery", action="store_true",
                        help="also load the same days through the sandbox's BigQuery endpoint")
    parser.add_argument("--repeats", type=int, default=1,
                        help="runs of each load; the run of median seconds is reported (default 1)")
    args = parser.parse_args()
    folder = args.dir.expanduser().resolve()
    generated_s = ensure_files(args.scale, folder)
    files = sorted(folder.glob("events_*.json.gz"))
    with tempfile.TemporaryDirectory(prefix="ga4_bench_") as tmp:
        work = Path(tmp)
        repeats = max(1, args.repeats)
        base_s, base_rows = median_run(lambda w: duckdb_baseline(folder, w), work / "duckdb", repeats)
        source_s, source_rows, steps = median_run(lambda w: ga4_source_load(folder, w), work / "json",
                                                  repeats)
        parquet = parquet_shards_load(args.scale, folder, work, repeats)
        # once: a REST load of the default scale takes 10 to 40 minutes here (f/v rows encoded and
        # decoded in Python on both ends of a local socket)
        bigquery = bigquery_load(args.scale, folder, work) if args.bigquery else None
    if base_rows != source_rows:
        raise SystemExit(f"row counts differ: duckdb {base_rows} vs ga4 source {source_rows}")
    for name, other in (("parquet shards", parquet), ("bigquery", bigquery)):
        if other is not None and other["events"] != source_rows:
            raise SystemExit(f"row counts differ: json files {source_rows} vs {name} "
                             f"{other['events']}")
    result = {
        "scale": args.scale,
        "repeats": repeats,
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
        "parquet_shards": parquet,
        "parquet_vs_json": round(source_s / parquet["source_s"], 3),
        "bigquery": bigquery,
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
    print(f"ratio (source / duckdb throughput): {result['ratio']:.2f}")
    print(f"parquet shards   : {parquet['source_s']:6.2f} s  {parquet['events_per_s']:>10,} events/s"
          f"  ({parquet['files']} files; {result['parquet_vs_json']:.2f}x the JSON files' speed)")
    if bigquery is not None:
        print(f"bigquery (REST)  : {bigquery['source_s']:6.2f} s  {bigquery['events_per_s']:>10,} "
              "events/s  (Storage Read API: not measurable against the sandbox)")
    print(f"-> {out}")


if __name__ == "__main__":
    main()
