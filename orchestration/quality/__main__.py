"""``python -m orchestration.quality [WAREHOUSE]``: every suite on a warehouse, read-only.

Prints one line per suite with the seconds it took (GX's import is timed apart), so that a
suite's cost can be measured on a real warehouse without Dagster. Exit status 1 when a suite
fails.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ingestion.warehouse import connect, warehouse_path
from orchestration.quality import ANOMALY_SUITES, SUITES, check_series, validate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.quality", description=__doc__.splitlines()[0])
    parser.add_argument("warehouse", nargs="?", type=Path, default=None,
                        help="DuckDB file (default: NORTHSTAR_WAREHOUSE, else warehouse/northstar.duckdb)")
    args = parser.parse_args(argv)
    path = args.warehouse or warehouse_path()
    if not path.exists():
        print(f"no warehouse at {path}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    import great_expectations  # noqa: F401  (once, here: its ~8 s would be charged to the first suite)

    print(f"{time.perf_counter() - started:6.2f}s  import great_expectations", flush=True)
    failed = 0
    with connect(path) as con:
        for suite in SUITES:
            began = time.perf_counter()
            result = validate(con, suite)
            print(f"{time.perf_counter() - began:6.2f}s  {result.line()}", flush=True)
            failed += not result.passed
        for series in ANOMALY_SUITES:  # a WARN in the nightly: printed, not counted as failed
            began = time.perf_counter()
            print(f"{time.perf_counter() - began:6.2f}s  {check_series(con, series).line()}", flush=True)
    print(f"{len(SUITES)} suites, {failed} failed, {time.perf_counter() - started:.1f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
