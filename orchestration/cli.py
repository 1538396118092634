"""The ``northstar`` command line.

Subcommands:
- ``northstar run``               the nightly Dagster job in-process on the configured sources
- ``northstar run --sandbox``     the same job on the embedded sandbox, with truth checks (``make run``)
- ``northstar dev [--sandbox]``   the Dagster UI on the project (``make dev`` serves the sandbox)
- ``northstar check``             one cheap authenticated request per configured source, as a table
- ``northstar ingest [SOURCE ...]`` run dlt sources into the warehouse (all when none named)
- ``northstar sandbox generate``  simulate the business, write the GA4 export and the truth
- ``northstar sandbox serve``     serve the simulated business over the real APIs' wire formats
- ``northstar sandbox truth``     write the ground truth for an as-of

Expected failures print one line, without a traceback: bad arguments, a port in use, a warehouse
another run holds (exit 2); a full disk or a read-only folder (exit 1, naming the path). A
``northstar run`` stopped by SIGINT or SIGTERM exits 130 or 143 (``orchestration/supervisor.py``).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

from sandbox.simulation import catalog

DEFAULT_SANDBOX_DIR = Path(os.environ.get("NORTHSTAR_SANDBOX_DIR", "warehouse/sandbox"))


class CliError(Exception):
    """An expected failure: reported as one line, exit status 2."""


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1): {text}")
    return value


def _currencies(text: str) -> tuple[str, ...]:
    try:
        return catalog.check_currencies(tuple(text.split(",")))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix(f"--currencies {text}: ")) from None


def _world_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=catalog.DEFAULT_SEED, help="simulation seed (default %(default)s)")
    parser.add_argument("--start", type=_day, default=catalog.DEFAULT_START, help="first simulated day (default %(default)s)")
    parser.add_argument("--as-of", type=_day, default=catalog.DEFAULT_AS_OF,
                        help="the simulated now: midnight UTC of this day; nothing later is visible (default %(default)s)")
    parser.add_argument("--scale", choices=sorted(catalog.SCALES), default="default", help="volume (default %(default)s)")
    parser.add_argument("--dir", type=Path, default=DEFAULT_SANDBOX_DIR,
                        help="folder for the GA4 export (ga4/) and the truth (truth/) (default %(default)s)")
    parser.add_argument("--malformed-rate", type=_rate, default=0.0,
                        help="share of extra malformed lines in the GA4 files (default 0)")
    parser.add_argument("--currencies", type=_currencies, default=None,
                        help=f"billing currencies, e.g. usd,cad,chf (default the scale's: {','.join(catalog.DEFAULT_CURRENCIES)}, usd for minimal; "
                             f"priced: {','.join(catalog.PRICED_CURRENCIES)})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="northstar", description="Northstar: SaaS growth metrics warehouse.")
    commands = parser.add_subparsers(dest="command", required=True)
    sandbox = commands.add_parser("sandbox", help="the simulated SaaS business").add_subparsers(dest="action", required=True)

    generate = sandbox.add_parser("generate", help="simulate, write the GA4 export and the truth, print a summary")
    _world_args(generate)

    serve = sandbox.add_parser("serve", help="serve Stripe, GA4 and ad-platform APIs on a local port")
    _world_args(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=12111)
    serve.add_argument("--error-rate", type=_rate, default=0.0, help="share of requests answered 5xx")
    serve.add_argument("--rate-limit-rate", type=_rate, default=0.0, help="share of requests answered 429")
    serve.add_argument("--retry-after", type=int, default=1, help="Retry-After seconds on 429 (default 1)")

    truth = sandbox.add_parser("truth", help="write the ground truth (MRR, movements, first touches, spend, counts)")
    _world_args(truth)
    truth.add_argument("--out", type=Path, default=None, help="truth folder (default <dir>/truth)")

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
                          "truth checks (what `make run` does); the world options apply to it")
    _world_args(run)

    dev = commands.add_parser("dev", help="the Dagster UI (dagster dev) on the project: the configured "
                                          "sources, or with --sandbox the embedded sandbox")
    dev.add_argument("--sandbox", action="store_true", help="serve the sandbox and point every source at it")
    _world_args(dev)
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=3000, help="UI port (default %(default)s)")
    return parser


def _simulate(args: argparse.Namespace):
    from sandbox.simulation import simulate

    try:
        return simulate(args.seed, args.start, args.as_of, args.scale, args.dir / "ga4", args.malformed_rate,
                        currencies=args.currencies)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _summary(sim, seconds: float) -> str:
    world = sim.world
    stripe = ", ".join(f"{name} {len(objs)}" for name, objs in world.stripe.items())
    ads = ", ".join(f"{p} {sum(r.platform == p for r in world.ad_stats)} daily rows" for p in ("google_ads", "meta_ads", "linkedin_ads"))
    active = sum(s["status"] in ("active", "past_due") for s in world.stripe["subscriptions"])
    return "\n".join([
        f"sandbox: seed {world.seed}, {world.start} .. {world.as_of} (as-of, exclusive), scale {world.scale}, {seconds:.1f}s",
        f"  stripe: {stripe}",
        f"  live subscriptions at as-of: {active}",
        f"  ga4: {sim.ga4.events} events in {sim.ga4.files} daily files ({sim.ga4.malformed_lines} malformed lines) under {world.ga4_dir}",
        f"  ads: {ads}",
    ])


def cmd_generate(args: argparse.Namespace) -> None:
    from sandbox.truth import write_truth

    began = time.perf_counter()
    sim = _simulate(args)
    write_truth(sim, args.dir / "truth")
    print(_summary(sim, time.perf_counter() - began))
    print(f"  truth: {args.dir / 'truth'}")


def cmd_truth(args: argparse.Namespace) -> None:
    from sandbox.truth import write_truth

    sim = _simulate(args)
    out = args.out or args.dir / "truth"
    counts = write_truth(sim, out)
    print(f"truth for as-of {args.as_of} written to {out} ({counts['ga4']['events']} GA4 events, "
          f"{counts['stripe']['subscriptions']} subscriptions)")


def cmd_serve(args: argparse.Namespace) -> None:
    from sandbox.client_env import source_env
    from sandbox.faults import FaultPlan
    from sandbox.server import start_server

    began = time.perf_counter()
    sim = _simulate(args)
    faults = FaultPlan(seed=args.seed, error_rate=args.error_rate, rate_limit_rate=args.rate_limit_rate,
                       retry_after_seconds=args.retry_after)
    try:
        server = start_server(sim.world, port=args.port, host=args.host, faults=faults)
    except OSError as exc:
        raise CliError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    print(_summary(sim, time.perf_counter() - began))
    base = server.base_url
    print(f"serving on {base} (Ctrl-C stops); point the sources at it with:", flush=False)
    for key, value in source_env(base, sim.world.start, sim.world.as_of).items():
        print(f"  export {key}={value}")
    sys.stdout.flush()
    # SIGTERM (docker stop, a supervisor, a test) stops it like Ctrl-C, even when the parent
    # process left SIGTERM ignored (an ignored signal is inherited across exec).
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.shutdown()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def cmd_ingest(args: argparse.Namespace) -> int:
    """Each source in turn, one line each; a full disk or a read-only folder stops at once, in
    one line naming it (the other sources would fail the same way)."""
    from ingestion.run import SOURCES, ingest
    from ingestion.warehouse import warehouse_path
    from orchestration.storage_errors import disk_full, problem_in_text, quiet_storage_tracebacks

    unknown = [name for name in args.sources if name not in SOURCES]
    if unknown:
        raise CliError(f"unknown source {', '.join(unknown)}: choose from {', '.join(SOURCES)}")
    logged = quiet_storage_tracebacks("dlt", where=warehouse_path().parent)
    failed = False
    for name in [n for n in SOURCES if n in (args.sources or SOURCES)]:
        [result] = ingest([name])
        if result.status == "failed":
            folder = warehouse_path().parent
            problem = logged.problem or problem_in_text(result.message, folder)
            if problem is None and disk_full(folder):
                problem = f"no space left on device: {folder} ({result.message})"
            if problem:
                print(f"northstar: error: {problem} (loading {name} into {warehouse_path()})", file=sys.stderr)
                return 1
            failed = True
        print(result.line(), file=sys.stderr if result.status == "failed" else sys.stdout)
    return 1 if failed else 0


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
    from orchestration.sandbox_build import serve_sandbox

    try:
        return serve_sandbox(args.seed, args.start, args.as_of, args.scale, args.dir, args.currencies)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _production_header() -> str:
    """Which sources will run, and what the others lack; an error when none is configured."""
    from ingestion.run import REFERENCE_SOURCES, SOURCES, SourceNotConfigured, configured_source
    from orchestration.checks.reconciliation import TRUTH_SETTING

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
    if args.sandbox:
        print(f"northstar run: SANDBOX mode: simulated business seed {args.seed}, {args.start} .. "
              f"{args.as_of}, scale {args.scale}, with truth checks; warehouse {warehouse_path()}",
              flush=True)
        server = _serve_sandbox(args)
        print(f"  sandbox serving on {server.base_url}", flush=True)
    else:
        print(f"northstar run: {_production_header()}; warehouse {warehouse_path()}", flush=True)
    try:
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
    print(f"  warehouse: {'published to ' + str(warehouse_path()) if outcome.published else 'NOT published (the last published warehouse is unchanged)'}")
    if outcome.published:
        from orchestration.run_summary import report_queries

        for name, (columns, rows) in report_queries().items():
            print(f"  {name}:")
            print("    " + " | ".join(columns))
            for row in rows:
                print("    " + " | ".join(_cell(v) for v in row))
        from orchestration.run_summary import dashboards_line

        if line := dashboards_line():
            print(f"  {line}")
    mode = "sandbox" if args.sandbox else "production"
    print(f"northstar run ({mode}): {'ok' if outcome.success else 'FAILED'} in {time.perf_counter() - began:.1f}s")
    return 0 if outcome.success else 1


def _cell(value: object) -> str:
    """Numbers to 4 significant decimals at most: a summary, not the data."""
    if isinstance(value, float | Decimal):
        return f"{value:,.4f}".rstrip("0").rstrip(".")
    return "" if value is None else str(value)


def main(argv: list[str] | None = None) -> int:
    raw = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(raw)
    args.argv = raw  # northstar run hands them to its worker
    handler = {("sandbox", "generate"): cmd_generate, ("sandbox", "serve"): cmd_serve,
               ("sandbox", "truth"): cmd_truth, ("ingest", None): cmd_ingest,
               ("run", None): cmd_run, ("check", None): cmd_check, ("dev", None): cmd_dev}[(args.command, getattr(args, "action", None))]
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
