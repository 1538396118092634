"""Processes that open one dlt pipeline at once wait for each other instead of wiping each
other's files.

Every process that imports the code location opens every source's pipeline: each step process
of a Dagster run, each pytest worker collecting the tests. On a new warehouse folder dlt creates
the pipeline's working folder by wiping it first, and two processes doing that at once failed
with ``Directory not empty`` (CI's collection, on a fresh clone, did).
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

OPEN_EVERY_PIPELINE = (
    "from ingestion.warehouse import make_pipeline\n"
    "for source in ('stripe', 'ga4', 'google_ads', 'meta_ads', 'linkedin_ads'):\n"
    "    make_pipeline(source)\n"
)
REPO = Path(__file__).resolve().parents[2]


def _start(code: str, warehouse: Path) -> subprocess.Popen:
    env = dict(os.environ, NORTHSTAR_WAREHOUSE=str(warehouse))
    return subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _waits_on(pid: int, lock_file: Path) -> bool:
    """Whether ``pid`` is blocked on ``lock_file``'s flock: a ``->`` line of /proc/locks."""
    inode = f":{os.stat(lock_file).st_ino} "
    return any(line.split()[1] == "->" and line.split()[5] == str(pid) and inode in line
               for line in Path("/proc/locks").read_text().splitlines())


def test_a_process_opening_a_pipeline_waits_while_another_creates_it(tmp_path):
    folder = tmp_path / ".dlt_pipelines"
    folder.mkdir()
    lock_file = folder / ".northstar_stripe.lock"
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as a process creating the pipeline holds it
    child = _start(OPEN_EVERY_PIPELINE, tmp_path / "northstar.duckdb")
    try:
        deadline = time.monotonic() + 120
        while not _waits_on(child.pid, lock_file):
            assert child.poll() is None, f"the child did not wait for the lock: {child.communicate()}"
            assert time.monotonic() < deadline, "the child never reached the pipeline's lock"
            time.sleep(0.05)
        assert not (folder / "northstar_stripe").exists()
    finally:
        os.close(fd)
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    assert (folder / "northstar_stripe" / "state.json").is_file()


def test_four_processes_open_every_pipeline_of_a_new_warehouse_at_once(tmp_path):
    children = [_start(OPEN_EVERY_PIPELINE, tmp_path / "northstar.duckdb") for _ in range(4)]
    errors = [child.communicate(timeout=180)[1] for child in children]
    assert [child.returncode for child in children] == [0, 0, 0, 0], errors
    folders = sorted(p.name for p in (tmp_path / ".dlt_pipelines").iterdir() if p.is_dir())
    assert folders == ["northstar_ga4", "northstar_google_ads", "northstar_linkedin_ads",
                       "northstar_meta_ads", "northstar_stripe"]
    assert all((tmp_path / ".dlt_pipelines" / name / "state.json").is_file() for name in folders)
