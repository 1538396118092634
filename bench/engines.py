"""Benchmark: the same ``dbt build`` on DuckDB, PostgreSQL and Spark (issue 16), as ratios.

    uv run python bench/engines.py --scale default --work-dir warehouse/bench/engines

One simulated world (seed 42, the nightly benchmark's two years, ``--scale``) is served once per
engine and loaded by the real sources into that engine (NORTHSTAR_TARGET): a DuckDB file, a
throwaway PostgreSQL 15 cluster (initdb + pg_ctl in the work folder, on a free port: the engine
tests' ``tests/engines/postgres_cluster.py``) and Spark's Parquet files (local mode, in this
process). Then each engine runs the same ``dbt build`` (seeds, models, data and unit tests),
in-process through dbtRunner, timed from invoke to its end. dbt's start-up and parse are in
every figure alike. PostgreSQL and Spark build through their write-audit-publish paths
(orchestration/postgres_wap.py, orchestration/spark_wap.py): the build into a draft or a slot,
then the publish, which is timed apart. DuckDB's build is of its file in place.

This is not a race DuckDB must lose: one machine, two cores, and engines made for clusters. It
shows what moving costs here. Prints a table; writes ``--out`` (JSON) after each engine, so a
stopped run keeps the engines that finished. At the default scale PostgreSQL's build is long
here: a first run (machine load 5-10) was stopped after 45 minutes, with DuckDB's whole
``dbt build`` at 231 s and PostgreSQL's ``int_subscription_mrr_daily`` alone at 1,070 s (its
subscription-by-day range join) and ``user_retention`` unfinished after 15 minutes.
``--scale small`` gives a figure in minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

START, AS_OF, SEED = date(2024, 11, 1), date(2026, 11, 1), 42  # bench/nightly.py's world


def _build_seconds(target: str, target_path: Path) -> dict[str, float | str]:
    """``dbt build`` on ``target``: seconds of the build (and of the publish on a server engine)."""
    from orchestration import postgres_wap, spark_wap
    from tests.dbt_helpers import failures, run_dbt

    began = time.perf_counter()
    if target == "duckdb":
        result = run_dbt(["build", "--quiet"], target="prod", target_path=target_path)
        if not result.success:
            raise SystemExit(f"dbt build failed on duckdb: {failures(result)}")
        return {"build_s": round(time.perf_counter() - began, 2)}
    module = postgres_wap if target == "postgres" else spark_wap
    outcome = module.build_and_publish(target_path=target_path, dbt_args=("--quiet",))
    if not outcome.published:
        raise SystemExit(f"dbt build failed on {target}: {outcome.failures[:5]}")
    total = time.perf_counter() - began
    return {"build_s": round(total - outcome.publish_s, 2), "publish_s": round(outcome.publish_s, 2)}


def _write(out: Path, scale: str, results: dict[str, dict]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"scale": scale, "engines": results, "cpus": os.cpu_count()}, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=("small", "default", "large"), default="default")
    parser.add_argument("--engines", nargs="+", choices=("duckdb", "postgres", "spark"),
                        default=["duckdb", "postgres", "spark"])
    parser.add_argument("--work-dir", type=Path, default=ROOT / "warehouse" / "bench" / "engines")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    # a stopped run (timeout, Ctrl-C) still stops its PostgreSQL cluster (the finally below)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    import pytest

    from sandbox.simulation import simulate
    from tests.engines.postgres_cluster import start_cluster
    from tests.world_loads import serve_and_load

    out = args.out or ROOT / "bench" / "results" / f"engines_{args.scale}.json"
    work = args.work_dir.expanduser().resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    sim = simulate(SEED, START, AS_OF, args.scale, work / "ga4")
    results: dict[str, dict] = {}
    cluster = start_cluster() if "postgres" in args.engines else None
    try:
        for engine in args.engines:
            env = {"NORTHSTAR_TARGET": engine, "NORTHSTAR_WAREHOUSE": str(work / engine / "northstar.duckdb"),
                   "NORTHSTAR_SPARK_DIR": str(work / "spark")}
            if engine == "postgres":
                env |= cluster.env
            (work / engine).mkdir(exist_ok=True)
            with pytest.MonkeyPatch.context() as patch:  # the engine's settings for its load and build
                for key, value in env.items():
                    patch.setenv(key, value)
                began = time.perf_counter()
                serve_and_load(sim, env)
                load_s = round(time.perf_counter() - began, 2)
                results[engine] = {"load_s": load_s, **_build_seconds(engine, work / engine / "target")}
            print(f"{engine:9s} load {results[engine]['load_s']:7.1f} s   dbt build "
                  f"{results[engine]['build_s']:7.1f} s", flush=True)
            _write(out, args.scale, results)  # what finished survives a run stopped later
    finally:
        if cluster is not None:
            cluster.stop()
    base = results.get("duckdb", {}).get("build_s")
    for figures in results.values():
        if base:
            figures["build_vs_duckdb"] = round(figures["build_s"] / base, 2)
    _write(out, args.scale, results)
    print(f"{'engine':9s} {'dbt build':>10s} {'x DuckDB':>9s} {'publish':>8s}")
    for engine, figures in results.items():
        ratio = figures.get("build_vs_duckdb")
        print(f"{engine:9s} {figures['build_s']:9.1f}s {ratio if ratio is not None else '':>9} "
              f"{figures.get('publish_s', ''):>8}")
    print(f"-> {out}")


if __name__ == "__main__":
    main()
