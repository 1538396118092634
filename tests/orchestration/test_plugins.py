"""Orchestration reaches the sandbox through one door (orchestration/plugins.py), opened in
sandbox mode only: a production process loads no module of the sandbox.

Each probe runs in a fresh interpreter, so what this test process imported does not count.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from orchestration.plugins import TRUTH_SETTING, wants_sandbox

#: Imports ``module``, does what argv[2] says, and prints the sandbox modules then loaded.
PROBE = """
import importlib, json, sys
module = importlib.import_module(sys.argv[1])
if sys.argv[2] == "parse":  # the CLI's own steps for a command line, short of running it
    argv = json.loads(sys.argv[3])
    args = module.build_parser(module.cli_plugin(argv)).parse_args(argv)
print(json.dumps(sorted(m for m in sys.modules if m == "sandbox" or m.startswith("sandbox."))))
"""


def _sandbox_modules(tmp_path, module: str, action: str = "import", argv: list[str] = (),
                     truth: str | None = None) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "NORTHSTAR_"))}
    env["NORTHSTAR_WAREHOUSE"] = str(tmp_path / "warehouse" / "northstar.duckdb")
    if truth is not None:
        env[TRUTH_SETTING] = truth
    proc = subprocess.run([sys.executable, "-c", PROBE, module, action, json.dumps(list(argv))],
                          env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.splitlines()[-1])


def test_the_production_definitions_import_nothing_of_the_sandbox(tmp_path):
    assert _sandbox_modules(tmp_path, "orchestration.definitions") == []


@pytest.mark.parametrize("argv", [["run"], ["dev", "--port", "3001"], ["ingest", "stripe"], ["check"]])
def test_the_production_command_line_imports_nothing_of_the_sandbox(tmp_path, argv):
    assert _sandbox_modules(tmp_path, "orchestration.cli", "parse", argv) == []


def test_sandbox_mode_opens_the_door(tmp_path):
    truth = tmp_path / "truth"
    truth.mkdir()
    loaded = _sandbox_modules(tmp_path, "orchestration.definitions", truth=str(truth))
    assert {"sandbox.plugin", "sandbox.checks.reconciliation", "sandbox.checks.history"} <= set(loaded)
    loaded = _sandbox_modules(tmp_path, "orchestration.cli", "parse", ["run", "--sandbox", "--seed", "7"])
    assert {"sandbox.plugin", "sandbox.cli"} <= set(loaded)


def test_the_command_line_names_the_sandbox():
    assert wants_sandbox(["sandbox", "generate", "--seed", "3"])
    assert wants_sandbox(["run", "--sandbox"]) and wants_sandbox(["dev", "--port", "1", "--sand"])
    assert not wants_sandbox(["run"]) and not wants_sandbox(["ingest", "stripe"])
    assert not wants_sandbox(["-h"]) and not wants_sandbox(["run", "--"])
    assert wants_sandbox(["run", "--s"])  # with the world options, as ambiguous as it always was
