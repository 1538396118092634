"""The one door from orchestration to the sandbox, opened in sandbox mode only.

Orchestration runs the production nightly; the sandbox (``sandbox/``) is a simulated business
with a ground truth, for development, tests and demos. Nothing else in orchestration imports
the sandbox, and this module imports its plug-in (``sandbox/plugin.py``) only when asked for it:

- by the Dagster definitions, when ``NORTHSTAR_SANDBOX_TRUTH`` names the truth folder of a
  sandbox build (``northstar run --sandbox`` and ``northstar dev --sandbox`` set it, the tests
  too): the reconciliation checks against the truth, and the history check's judge by it;
- by the CLI, when the command line names the sandbox (``northstar sandbox ...``,
  ``run --sandbox``, ``dev --sandbox``): the ``sandbox`` commands, the world options and the
  server a sandbox run builds from.

A production nightly sets neither, so it loads no module of the sandbox
(tests/orchestration/test_plugins.py checks it).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

TRUTH_SETTING = "NORTHSTAR_SANDBOX_TRUTH"


class CliError(Exception):
    """An expected failure of a command: reported as one line, exit status 2.

    Defined here rather than in cli.py so that a plug-in's command raises the very class
    ``python -m orchestration.cli`` (where cli.py runs as ``__main__``) catches.
    """


def truth_dir() -> Path | None:
    """The sandbox's truth folder when this is a sandbox build, else None."""
    value = os.environ.get(TRUTH_SETTING)
    return Path(value) if value else None


def sandbox() -> ModuleType:
    """``sandbox.plugin``, imported now."""
    import sandbox.plugin

    return sandbox.plugin


def asset_checks() -> list:
    """The sandbox's checks against its truth; none in production."""
    truth = truth_dir()
    return [] if truth is None else sandbox().asset_checks(truth)


def history_judge():
    """The sandbox's judge for the published-history check; None in production (closed months
    may not move)."""
    truth = truth_dir()
    return None if truth is None else sandbox().history_judge(truth)


def wants_sandbox(argv: Sequence[str]) -> bool:
    """Whether the command line names the sandbox: the ``sandbox`` command, or ``--sandbox`` on
    another, or any abbreviation of it argparse would read (``--sand``; ``--s``, which the
    world options then make ambiguous, as it always was)."""
    words = [word for word in argv if not word.startswith("-")]
    if words[:1] == ["sandbox"]:
        return True
    return any(len(word) > 2 and "--sandbox".startswith(word) for word in argv)


def cli_plugin(argv: Sequence[str]) -> ModuleType | None:
    """``sandbox.plugin`` when the command line names the sandbox, else None."""
    return sandbox() if wants_sandbox(argv) else None
