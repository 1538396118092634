"""A read-only warehouse folder and a full disk: one line naming what failed and where, no
traceback, a non-zero exit, for ``northstar ingest`` and ``northstar run``.

Real file systems, not patched calls: a tmpfs remounted read-only (root ignores permission
bits, not a read-only mount) and a 2 MB tmpfs that fills during the load. Mounting needs root
(CAP_SYS_ADMIN); without it the tests fail, saying so (they never skip).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest

from sandbox.client_env import source_env
from sandbox.server import start_server
from sandbox.simulation import simulate
from tests.orchestration.webhook_receiver import running_receiver

pytestmark = pytest.mark.slow

START, AS_OF = date(2025, 1, 1), date(2025, 3, 1)


@contextmanager
def tmpfs(path: Path, size: str, read_only: bool = False) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs here (the test needs root): {mounted.stderr.strip()}")
    try:
        if read_only:
            subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True)
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Iterator[dict[str, str]]:
    root = tmp_path_factory.mktemp("storage")
    sim = simulate(42, START, AS_OF, "small", root / "ga4")
    server = start_server(sim.world, port=0)
    with running_receiver() as receiver:
        environment = {k: v for k, v in os.environ.items()
                       if not k.startswith(("SOURCES__", "NORTHSTAR_", "DAGSTER_HOME"))}
        environment.update(source_env(server.base_url, START, AS_OF))
        environment["NORTHSTAR_ALERT_WEBHOOK"] = receiver.url
        environment["TEST_ROOT"] = str(root)
        yield environment
    server.shutdown()


def northstar(env: dict[str, str], warehouse: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "orchestration.cli", *args],
                          env={**env, "NORTHSTAR_WAREHOUSE": str(warehouse / "northstar.duckdb")},
                          capture_output=True, text=True, timeout=900, check=False)


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.mark.parametrize("command", [["ingest", "stripe"], ["run"]])
def test_a_read_only_warehouse_folder_is_one_line(env, command):
    root = Path(env["TEST_ROOT"])
    with tmpfs(root / f"read-only-{command[0]}", "8m", read_only=True) as folder:
        proc = northstar(env, folder, *command)  # DAGSTER_HOME: its default, in the folder too
    line = one_error_line(proc)
    assert line.startswith(f"northstar: error: read-only file system: {folder}/")
    assert proc.stdout == ""


def test_ingest_on_a_full_disk_is_one_line(env):
    root = Path(env["TEST_ROOT"])
    with tmpfs(root / "full-ingest", "2m") as folder:
        proc = northstar(env, folder, "ingest", "stripe")
    line = one_error_line(proc)
    assert line.startswith(f"northstar: error: no space left on device: {folder}")
    assert line.endswith(f" (loading stripe into {folder}/northstar.duckdb)")


def test_run_on_a_full_disk_is_one_line(env):
    root = Path(env["TEST_ROOT"])
    with tmpfs(root / "full-run", "2m") as folder:
        proc = northstar({**env, "DAGSTER_HOME": str(root / "dagster")}, folder, "run")
    line = one_error_line(proc)
    # the first source whose load hits the full disk is named (GA4's or ECB's, by step order)
    assert line.startswith("northstar: error: no space left on device: ") and "(asset " in line
    assert re.search(r"\] ingest_(ga4|ecb_fx): FAILED after ", proc.stdout)
    assert "failed after" not in proc.stdout  # "failed after ..., retrying": a full disk is not retried
    assert "warehouse: NOT published" in proc.stdout
    assert proc.stdout.splitlines()[-1].startswith("northstar run (production): FAILED in ")
