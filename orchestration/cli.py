"""The ``northstar`` command line.

Subcommands:
- ``northstar run``               the nightly Dagster job in-process on the configured sources
- ``northstar run --sandbox``     the same job on the embedded sandbox, with truth checks (``make run``)
- ``northstar dev [--sandbox]``   the Dagster UI on the project (``make dev`` serves the sandbox)
- ``northstar check``             one cheap authenticated request per configured source, as a table
- ``northstar ingest [SOURCE ...]`` run dlt sources into the warehouse (all when none named)
- ``northstar sandbox ...``       the simulated business: generate, serve, truth (sandbox/cli.py)

The sandbox's commands and its world options (``--seed``, ``--as-of``, ``--scale``, ...) come
through the plug-in point (orchestration/plugins.py), loaded only when the command line names
the sandbox: a production ``northstar run`` imports nothing of it.

Expected failures print one line, without a traceback: bad arguments, a port in use, a warehouse
another run holds (exit 2); a full disk or a read-only folder (exit 1, naming the path). A
``northstar run`` stopped by SIGINT or SIGTERM exits 130 or 143 (``orchestration/supervisor.py``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

from orchestration.plugins import CliError, cli_plugin

WORLD_OPTIONS = "the world options (--seed, --start, --as-of, --scale, ...: `northstar {} --sandbox -h`)"


def build_parser(sandbox=None) -> argparse.ArgumentParser:
    """The command line; ``sandbox`` (``sandbox.plugin``, from ``cli_plugin``) adds the
    ``sandbox`` commands and the world options of ``run --sandbox`` and ``dev --sandbox``."""
    parser = argparse.ArgumentParser(prog="northstar", description="Northstar: SaaS growth metrics warehouse.")
    commands = parser.add_subparsers(dest="command", required=True)
    worlds = {name: "the world options below" if sandbox is not None else WORLD_OPTIONS.format(name)
              for name in ("run", "dev")}
    if sandbox is not None:
        sandbox.add_commands(commands)
    else:  # listed in the help; `northstar sandbox ...` loads the real commands
        commands.add_parser("sandbox", help="the simulated SaaS business")

    ingest = commands.add_parser("ingest", help="load sources into the warehouse (NORTHSTAR_WAREHOUSE)")
    ingest.add_argument("sources", nargs="*", metavar="SOURCE",
                        help="stripe, ga4, google_ads, meta_ads, linkedin_ads, ecb_fx (default: all configured)")

    commands.add_parser("check", help="try each configured source with one cheap authenticated request "
                                      "and print a table: settings, reachable, API version, reason")

    run = commands.add_parser(
        "run", help="the nightly build: on the sources configured in dlt's config and secrets, "
                    "or with --sandbox on the embedded sandbox")
    run.add_argument("--sandbox", action="store_true",
                     help="simulate a business, serve it on a local port and build from it, with the "
                          f"truth checks (what `make run` does); {worlds['run']} apply to it")

    dev = commands.add_parser("dev", help="the Dagster UI (dagster dev) on the project: the configured "
                                          "sources, or with --sandbox the embedded sandbox")
    dev.add_argument("--sandbox", action="store_true",
                     help=f"serve the sandbox and point every source at it; {worlds['dev']} "
                          "apply to it")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=3000, help="UI port (default %(default)s)")
    if sandbox is not None:
        sandbox.add_world_options(run)
        sandbox.add_world_options(dev)
    return parser


def cmd_ingest(args: argparse.Namespace) -> int:
    """The named sources (all when none are named) at the same time, as the nightly loads them
    (their extracts overlap, their loads take turns: ingestion/overlap.py), then one line each.
    A full disk or a read-only folder is said in one line naming it instead (every source
    fails the same way)."""
    from ingestion.run import SOURCES, ingest
    from ingestion.warehouse import warehouse_path
    from orchestration.storage_errors import disk_full, problem_in_text, quiet_storage_tracebacks

    unknown = [name for name in args.sources if name not in SOURCES]
    if unknown:
        raise CliError(f"unknown source {', '.join(unknown)}: choose from {', '.join(SOURCES)}")
    logged = quiet_storage_tracebacks("dlt", where=warehouse_path().parent)
    results = ingest([n for n in SOURCES if n in (args.sources or SOURCES)])
    folder = warehouse_path().parent
    for result in results:
        if result.status != "failed":
            continue
        problem = logged.problem or problem_in_text(result.message, folder)
        if problem is None and disk_full(folder):
            problem = f"no space left on device: {folder} ({result.message})"
        if problem:
            print(f"northstar: error: {problem} (loading {result.name} into {warehouse_path()})", file=sys.stderr)
            return 1
    for result in results:
        print(result.line(), file=sys.stderr if result.status == "failed" else sys.stdout)
    return 1 if any(result.status == "failed" for result in results) else 0


def cmd_check(args: argparse.Namespace) -> int:
    """Exit 0 when every configured source answered and at least one is configured."""
    from ingestion.check import check_all, table
    from ingestion.run import REFERENCE_SOURCES

    results = check_all()
    print(table(results))
    configured = [r for r in results if r.reachable != "-"]
    if not [r for r in configured if r.source not in REFERENCE_SOURCES]:
        print("northstar check: no source is configured (see .dlt/secrets.toml.example)", file=sys.stderr)
        return 1
    failed = [r.source for r in configured if not r.ok]
    print(f"northstar check: {len(configured) - len(failed)} of {len(configured)} configured sources reachable"
          + (f"; failing: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


def cmd_dev(args: argparse.Namespace) -> int:
    """``dagster dev`` on the code location until Ctrl-C: the configured sources, or the sandbox."""
    import subprocess

    from orchestration.dagster_home import ensure_dagster_home

    home = ensure_dagster_home()
    server = None
    if args.sandbox:
        server = _serve_sandbox(args)
        print(f"northstar dev: SANDBOX mode, every source on {server.base_url}; Dagster instance {home}",
              flush=True)
    else:
        print(f"northstar dev: {_production_header()}; Dagster instance {home}", flush=True)
    dagster = Path(sys.executable).with_name("dagster")
    command = [str(dagster), "dev", "-m", "orchestration.definitions", "-h", args.host, "-p", str(args.port)]
    try:
        return subprocess.call(command, env=os.environ.copy())
    except KeyboardInterrupt:
        return 0
    finally:
        if server is not None:
            server.shutdown()


def _serve_sandbox(args: argparse.Namespace):
    """The sandbox a ``--sandbox`` run or UI builds from, serving; ``shutdown()`` it."""
    from orchestration.plugins import sandbox

    return sandbox().serve(args)


def _production_header() -> str:
    """Which sources will run, and what the others lack; an error when none is configured."""
    from ingestion.run import REFERENCE_SOURCES, SOURCES, SourceNotConfigured, configured_source
    from orchestration.plugins import TRUTH_SETTING

    os.environ.pop(TRUTH_SETTING, None)  # the truth checks belong to the sandbox alone
    configured, missing = [], []
    for name in SOURCES:
        try:
            configured_source(name)
            configured.append(name)
        except SourceNotConfigured as exc:
            missing.append(f"{name} ({str(exc).removeprefix('not configured (').rstrip(')')})")
    if not set(configured) - set(REFERENCE_SOURCES):
        raise CliError("no source is configured: put their settings in .dlt/secrets.toml (see "
                       ".dlt/secrets.toml.example and the README's 'Connect your own accounts'), "
                       "or run the embedded sandbox with `northstar run --sandbox`")
    header = f"PRODUCTION mode, configured sources: {', '.join(configured)}"
    return header + (f"; skipped: {'; '.join(missing)}" if missing else "")


def cmd_run(args: argparse.Namespace) -> int:
    """The supervisor (``orchestration/supervisor.py``) when started by a user, the worker when
    started by the supervisor."""
    from ingestion.warehouse import warehouse_path
    from orchestration import run_lock
    from orchestration.dagster_home import ensure_dagster_home
    from orchestration.supervisor import die_with, supervise, worker_settings

    worker = worker_settings()
    ensure_dagster_home()
    if worker is None:
        try:
            return supervise(args.argv, warehouse_path())
        except run_lock.WarehouseBusy as exc:
            raise CliError(str(exc)) from None
    run_id, lock_fd, supervisor = worker
    die_with(supervisor)
    run_lock.adopt(warehouse_path(), lock_fd)
    try:
        code = _run_worker(args, run_id)
    except CliError as exc:
        print(f"northstar: error: {exc}", file=sys.stderr)
        code = 2
    except Exception as exc:
        from orchestration.storage_errors import storage_problem

        problem = storage_problem(exc)
        if problem is None:
            raise
        print(f"northstar: error: {problem}", file=sys.stderr)
        code = 1
    # Like a multiprocessing child, the worker leaves without Python's finalisation: after a
    # failed load, dlt's tracebacks still reference DuckDB connections, and DuckDB's bindings
    # would print dozens of lines about them at exit. Everything is committed or flushed here.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _run_worker(args: argparse.Namespace, run_id: str) -> int:
    from ingestion.warehouse import warehouse_path
    from orchestration.nightly import run_nightly
    from orchestration.recovery import PoolBlocked
    from orchestration.storage_errors import quiet_storage_tracebacks

    quiet_storage_tracebacks("dlt", where=warehouse_path().parent)
    began = time.perf_counter()
    server = None
    where = _warehouse_name()
    if args.sandbox:
        print(f"northstar run: SANDBOX mode: simulated business seed {args.seed}, {args.start} .. "
              f"{args.as_of}, scale {args.scale}, "
              f"{'with truth checks' if _engine() == 'duckdb' else 'audited by dbt tests only'}; warehouse {where}",
              flush=True)
        server = _serve_sandbox(args)
        print(f"  sandbox serving on {server.base_url}", flush=True)
    else:
        print(f"northstar run: {_production_header()}; warehouse {where}", flush=True)
    try:
        if _engine() in ("postgres", "spark"):
            return _run_on_server_engine(args, began)
        outcome = run_nightly(progress=True, run_id=run_id)
    except PoolBlocked as exc:
        raise CliError(str(exc)) from None
    finally:
        if server is not None:
            server.shutdown()
    print(f"  dagster run {outcome.run_id} of the nightly job")
    passed = sum(c.passed for c in outcome.checks)
    print(f"  checks: {passed} of {len(outcome.checks)} passed")
    for check in outcome.failed_checks:
        print(f"    {check.severity.lower()}: {check.name}: {check.description}")
    problem = outcome.storage_problem
    if problem:  # every step after it failed the same way: one line says it
        print(f"northstar: error: {problem}", file=sys.stderr)
    else:
        for line in outcome.step_failures:
            print(f"  failed: {line}", file=sys.stderr)
    kept = "NOT published (the last published warehouse is unchanged)"
    print(f"  warehouse: {'published to ' + str(warehouse_path()) if outcome.published else kept}")
    if outcome.published:
        from orchestration.run_summary import dashboards_line, report_queries

        for name, (columns, rows) in report_queries().items():
            print(f"  {name}:")
            print("    " + " | ".join(columns))
            for row in rows:
                print("    " + " | ".join(_cell(v) for v in row))
        if line := dashboards_line():
            print(f"  {line}")
    if outcome.report:
        print(f"  weekly report: {outcome.report}")
    mode = "sandbox" if args.sandbox else "production"
    print(f"northstar run ({mode}): {'ok' if outcome.success else 'FAILED'} in {time.perf_counter() - began:.1f}s")
    return 0 if outcome.success else 1


def _engine() -> str:
    from ingestion.engine import EngineSettingError, engine

    try:
        return engine()
    except EngineSettingError as exc:
        raise CliError(str(exc)) from None


def _warehouse_name() -> str:
    """What the run writes, for people: the DuckDB file, or the database (never a password)."""
    from ingestion.engine import postgres_location
    from ingestion.warehouse import warehouse_path

    if _engine() == "postgres":
        return f"postgres {postgres_location()}"
    if _engine() == "spark":
        from ingestion.spark import spark_dir

        return f"spark {spark_dir()}"
    return str(warehouse_path())


def _run_on_server_engine(args: argparse.Namespace, began: float) -> int:
    """The plain path on PostgreSQL (orchestration/postgres_wap.py) and Spark
    (orchestration/spark_wap.py): load, build unpublished, audit with dbt's tests, publish. Not
    the Dagster job: its other checks read DuckDB files."""
    name = _engine()
    if name == "postgres":
        from orchestration.postgres_wap import run_postgres as run_engine
    else:
        from orchestration.spark_wap import run_spark as run_engine

    outcome = run_engine(progress=True)
    for line in outcome.failures:
        print(f"  failed: {line}", file=sys.stderr)
    kept = "NOT published (the published schemas are unchanged)"
    print(f"  warehouse: {'published to ' + _warehouse_name() if outcome.published else kept}")
    mode = "sandbox" if args.sandbox else "production"
    print(f"northstar run ({mode}, {name}): {'ok' if outcome.success else 'FAILED'} "
          f"in {time.perf_counter() - began:.1f}s")
    return 0 if outcome.success else 1


def _cell(value: object) -> str:
    """Numbers to 4 significant decimals at most: a summary, not the data."""
    if isinstance(value, float | Decimal):
        return f"{value:,.4f}".rstrip("0").rstrip(".")
    return "" if value is None else str(value)


def main(argv: list[str] | None = None) -> int:
    raw = list(sys.argv[1:] if argv is None else argv)
    sandbox = cli_plugin(raw)
    args = build_parser(sandbox).parse_args(raw)
    args.argv = raw  # northstar run hands them to its worker
    handlers = {("ingest", None): cmd_ingest, ("run", None): cmd_run, ("check", None): cmd_check,
                ("dev", None): cmd_dev, **(sandbox.handlers() if sandbox is not None else {})}
    handler = handlers[(args.command, getattr(args, "action", None))]
    try:
        return handler(args) or 0
    except CliError as exc:
        print(f"northstar: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        from orchestration.storage_errors import storage_problem

        problem = storage_problem(exc)
        if problem is None:
            raise
        print(f"northstar: error: {problem}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
