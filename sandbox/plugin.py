"""What the sandbox adds to orchestration, through its plug-in point (orchestration/plugins.py).

Orchestration imports this module only in sandbox mode, and this module imports the rest of
the sandbox only when one of its functions is called: ``northstar sandbox generate`` needs no
Dagster, and the Dagster definitions need no simulator.

- ``asset_checks(truth)``: the reconciliation checks against the truth folder.
- ``history_judge(truth)``: the published-history check's verdict by the truth.
- ``add_commands(commands)``: the ``northstar sandbox`` commands; ``add_world_options(parser)``
  their world options, which ``run --sandbox`` and ``dev --sandbox`` take too;
  ``HANDLERS`` runs them.
- ``serve(args)``: simulate the world the options describe, write its truth, serve it and
  point every source and the checks at it (``run --sandbox``, ``dev --sandbox``).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def asset_checks(truth: Path) -> list:
    from sandbox.checks.reconciliation import build_reconciliation_checks

    return build_reconciliation_checks(truth)


def history_judge(truth: Path):
    from sandbox.checks.history import truth_judge

    return truth_judge(truth)


def add_commands(commands) -> None:
    from sandbox.cli import add_commands

    add_commands(commands)


def add_world_options(parser: argparse.ArgumentParser) -> None:
    from sandbox.cli import world_options

    world_options(parser)


def handlers() -> dict:
    """(command, action) -> handler for the ``sandbox`` commands."""
    from sandbox.cli import HANDLERS

    return HANDLERS


def serve(args: argparse.Namespace):
    """The running server of the world ``args`` describe (``shutdown()`` it)."""
    from sandbox.cli import serve_for_build

    return serve_for_build(args)
