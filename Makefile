# Northstar: `make run` (the nightly build on the sandbox) and `make test` (the whole suite)
# do all set-up on a fresh machine. uv is installed with pip when it is missing.

UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
export NORTHSTAR_WAREHOUSE ?= $(CURDIR)/warehouse/northstar.duckdb

.PHONY: install run dev test lint bench bench-generate bench-ingest clean

install: .venv/.installed

.venv/.installed: pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen
	@mkdir -p warehouse
	@touch $@

# The nightly Dagster job, in-process, on the embedded sandbox; its runs show in `make dev`'s UI.
run: install
	$(UV) run northstar run

# The Dagster UI (dagster dev) on http://127.0.0.1:3000, with the sandbox serving the sources.
dev: install
	$(UV) run northstar dev

# sqlfluff's dbt templater opens the dev warehouse: one process, so no two workers race for its lock
test: install
	@mkdir -p warehouse
	$(UV) run sqlfluff lint models tests/sql
	$(UV) run pytest -q

lint: install
	$(UV) run ruff check ingestion orchestration tests bench
	$(UV) run sqlfluff lint models tests/sql

# Benchmarks (figures, not pass/fail): sandbox generation, then GA4 loading vs DuckDB's own read_json.
BENCH_SCALE ?= large
bench: install bench-generate bench-ingest

bench-generate: install
	/usr/bin/time -v $(UV) run northstar sandbox generate --scale default --dir warehouse/bench/default

bench-ingest: install
	$(UV) run python bench/ga4_load.py --scale $(BENCH_SCALE) --dir warehouse/bench/$(BENCH_SCALE)/ga4

clean:
	rm -rf warehouse/sandbox warehouse/bench .pytest_cache
