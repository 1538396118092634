"""The ``northstar sandbox`` commands, and the world options ``run --sandbox`` and
``dev --sandbox`` share with them.

- ``northstar sandbox generate``  simulate the business, write the GA4 export and the truth
- ``northstar sandbox serve``     serve the simulated business over the real APIs' wire formats
- ``northstar sandbox truth``     write the ground truth for an as-of

The ``northstar`` command line (orchestration/cli.py) adds them through its plug-in point
(orchestration/plugins.py, sandbox/plugin.py) when the command line names the sandbox.
Expected failures raise ``CliError``: one line, exit status 2.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from datetime import date
from pathlib import Path

from orchestration.plugins import CliError
from sandbox.simulation import catalog

DEFAULT_SANDBOX_DIR = Path(os.environ.get("NORTHSTAR_SANDBOX_DIR", "warehouse/sandbox"))


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


def world_options(parser: argparse.ArgumentParser) -> None:
    """The options that describe the simulated world."""
    parser.add_argument("--seed", type=int, default=catalog.DEFAULT_SEED,
                        help="simulation seed (default %(default)s)")
    parser.add_argument("--start", type=_day, default=catalog.DEFAULT_START,
                        help="first simulated day (default %(default)s)")
    parser.add_argument("--as-of", type=_day, default=catalog.DEFAULT_AS_OF,
                        help="the simulated now: midnight UTC of this day; nothing later is "
                             "visible (default %(default)s)")
    parser.add_argument("--scale", choices=sorted(catalog.SCALES), default="default",
                        help="volume (default %(default)s)")
    parser.add_argument("--dir", type=Path, default=DEFAULT_SANDBOX_DIR,
                        help="folder for the GA4 export (ga4/) and the truth (truth/) "
                             "(default %(default)s)")
    parser.add_argument("--malformed-rate", type=_rate, default=0.0,
                        help="share of extra malformed lines in the GA4 files (default 0)")
    parser.add_argument("--currencies", type=_currencies, default=None,
                        help="billing currencies, e.g. usd,cad,chf (default the scale's: "
                             f"{','.join(catalog.DEFAULT_CURRENCIES)}, usd for minimal; "
                             f"priced: {','.join(catalog.PRICED_CURRENCIES)})")


def add_commands(commands) -> None:
    """``northstar sandbox generate|serve|truth`` on the ``northstar`` subparsers ``commands``."""
    sandbox = commands.add_parser("sandbox", help="the simulated SaaS business").add_subparsers(
        dest="action", required=True)

    generate = sandbox.add_parser(
        "generate", help="simulate, write the GA4 export and the truth, print a summary")
    world_options(generate)

    serve = sandbox.add_parser("serve", help="serve Stripe, GA4 and ad-platform APIs on a local port")
    world_options(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=12111)
    serve.add_argument("--error-rate", type=_rate, default=0.0, help="share of requests answered 5xx")
    serve.add_argument("--rate-limit-rate", type=_rate, default=0.0,
                       help="share of requests answered 429")
    serve.add_argument("--retry-after", type=int, default=1,
                       help="Retry-After seconds on 429 (default 1)")

    truth = sandbox.add_parser(
        "truth", help="write the ground truth (MRR, movements, first touches, spend, counts)")
    world_options(truth)
    truth.add_argument("--out", type=Path, default=None, help="truth folder (default <dir>/truth)")


def _simulate(args: argparse.Namespace):
    from sandbox.simulation import simulate

    try:
        return simulate(args.seed, args.start, args.as_of, args.scale, args.dir / "ga4",
                        args.malformed_rate, currencies=args.currencies)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _summary(sim, seconds: float) -> str:
    world = sim.world
    stripe = ", ".join(f"{name} {len(objs)}" for name, objs in world.stripe.items())
    ads = ", ".join(f"{p} {sum(r.platform == p for r in world.ad_stats)} daily rows"
                    for p in ("google_ads", "meta_ads", "linkedin_ads"))
    active = sum(s["status"] in ("active", "past_due") for s in world.stripe["subscriptions"])
    return "\n".join([
        (f"sandbox: seed {world.seed}, {world.start} .. {world.as_of} (as-of, exclusive), "
         f"scale {world.scale}, {seconds:.1f}s"),
        f"  stripe: {stripe}",
        f"  live subscriptions at as-of: {active}",
        (f"  ga4: {sim.ga4.events} events in {sim.ga4.files} daily files "
         f"({sim.ga4.malformed_lines} malformed lines) under {world.ga4_dir}"),
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
    faults = FaultPlan(seed=args.seed, error_rate=args.error_rate,
                       rate_limit_rate=args.rate_limit_rate, retry_after_seconds=args.retry_after)
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


def serve_for_build(args: argparse.Namespace):
    """The sandbox ``run --sandbox`` and ``dev --sandbox`` build from (sandbox/build.py)."""
    from sandbox.build import serve_sandbox

    try:
        return serve_sandbox(args.seed, args.start, args.as_of, args.scale, args.dir, args.currencies)
    except ValueError as exc:
        raise CliError(str(exc)) from None


HANDLERS = {("sandbox", "generate"): cmd_generate, ("sandbox", "serve"): cmd_serve,
            ("sandbox", "truth"): cmd_truth}
