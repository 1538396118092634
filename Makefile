# Northstar: `make run` (the nightly build on the sandbox) and `make test` (the whole suite)
# do all set-up on a fresh machine. uv is installed with pip when it is missing.

UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
export NORTHSTAR_WAREHOUSE ?= $(CURDIR)/warehouse/northstar.duckdb
# Python keeps its bytecode cache here even where the environment switches it off
# (PYTHONDONTWRITEBYTECODE=1 in many container images): without it every process (a pytest worker,
# dbt, a `northstar` command, Dagster) compiles dbt, Dagster, great-expectations and dlt from
# source again, about 10 s each (measured: importing the stack takes 19-20 s against 9.3 s).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: install run dev dashboards test test-spark lint bench clean

install: .venv/.installed

.venv/.installed: pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@# the dashboards' browser test drives Debian's headless Chromium
	@command -v chromium >/dev/null 2>&1 || apt-get install -y -q chromium >/dev/null 2>&1 || \
		{ apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; } || \
		{ echo "make: cannot install chromium (apt-get install chromium, as root)" >&2; exit 1; }
	@# the Spark engine test runs pyspark on Java 17
	@command -v java >/dev/null 2>&1 || apt-get install -y -q openjdk-17-jre-headless >/dev/null 2>&1 || \
		{ apt-get update -q >/dev/null && apt-get install -y -q openjdk-17-jre-headless >/dev/null; } || \
		{ echo "make: cannot install Java 17 (apt-get install openjdk-17-jre-headless, as root)" >&2; exit 1; }
	@# the engine tests (tests/engines) start a throwaway PostgreSQL 15 cluster with its initdb
	@test -x /usr/lib/postgresql/15/bin/initdb || apt-get install -y -q postgresql-15 >/dev/null 2>&1 || \
		{ apt-get update -q >/dev/null && apt-get install -y -q postgresql-15 >/dev/null; } || \
		{ echo "make: cannot install postgresql-15 (apt-get install postgresql-15, as root)" >&2; exit 1; }
	@# installed packages compiled once here (uv sync leaves them as source by default)
	$(UV) sync --frozen --compile-bytecode
	@mkdir -p warehouse
	@touch $@

# The nightly Dagster job, in-process, on the embedded sandbox; its runs show in `make dev`'s UI.
run: install
	$(UV) run northstar run --sandbox

# The Dagster UI (dagster dev) on http://127.0.0.1:3000, with the sandbox serving the sources.
dev: install
	$(UV) run northstar dev --sandbox

# The dashboards (dbt Charts, dashboards/charts/) rendered from the serving snapshot that the last
# `make run` wrote, served on http://127.0.0.1:8088/ (NORTHSTAR_DASHBOARDS_PORT). Ctrl-C stops.
dashboards: install
	$(UV) run python -m orchestration.dashboards

# sqlfluff's dbt templater opens the dev warehouse: one process, so no two workers race for its lock.
# pytest runs a worker per core (pytest-xdist), each test file in one worker, the files that build
# a warehouse first (tests/conftest.py; xdist's own reorder would put them last);
# `make test TEST_WORKERS=0` runs them in one process.
TEST_WORKERS ?= auto
test: install
	@mkdir -p warehouse
	$(UV) run ruff check ingestion orchestration sandbox tests bench
	$(UV) run sqlfluff lint models tests/sql
	$(UV) run pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=10

# The Spark engine tests alone (tests/engines/test_spark.py: part of make test too).
test-spark: install
	$(UV) run pytest -q -m spark tests/engines/test_spark.py

lint: install
	$(UV) run ruff check ingestion orchestration sandbox tests bench
	$(UV) run sqlfluff lint models tests/sql

# Benchmarks (figures, not pass/fail): the nightly build at three scales, GA4 loading against
# DuckDB's read_json, dbt against the same SQL run directly, BI query latency (bench/run.py).
# BENCH_SCALES="small default large", BENCH_REPEATS=3, BENCH_LARGE_REPEATS=1; about an hour here.
bench: install
	$(UV) run python bench/run.py

clean:
	rm -rf warehouse/sandbox warehouse/bench .pytest_cache
