"""Processes that start at once wait for each other where they would write the same files.

Every process that imports the code location (each step process of a Dagster run, each pytest
worker collecting the tests) opens every source's dlt pipeline and makes sure the dbt manifest
is fresh. On a new warehouse folder dlt creates a pipeline's working folder by wiping it first,
and two processes doing that at once failed with ``Directory not empty`` (CI's collection, on a
fresh clone, did); two ``dbt parse`` into one folder would leave a manifest half written.
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
    env = dict(os.environ, NORTHSTAR_WAREHOUSE=str(warehouse), PYTHONPATH=str(REPO))
    return subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _waits_on(pid: int, lock_file: Path) -> bool:
    """Whether ``pid`` is blocked on ``lock_file``'s flock: a ``->`` line of /proc/locks."""
    inode = f":{os.stat(lock_file).st_ino} "
    return any(line.split()[1] == "->" and line.split()[5] == str(pid) and inode in line
               for line in Path("/proc/locks").read_text().splitlines())


def _run_while_held(lock_file: Path, code: str, warehouse: Path, created: Path) -> None:
    """Hold ``lock_file`` as a process at work would, start ``code``, see it wait on the lock
    with ``created`` not yet there, release, and see it finish and create ``created``."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    child = _start(code, warehouse)
    try:
        deadline = time.monotonic() + 180
        while not _waits_on(child.pid, lock_file):
            assert child.poll() is None, f"the child did not wait for the lock: {child.communicate()}"
            assert time.monotonic() < deadline, f"the child never reached {lock_file.name}"
            time.sleep(0.05)
        assert not created.exists()
    finally:
        os.close(fd)
    _, err = child.communicate(timeout=300)
    assert child.returncode == 0, err
    assert created.is_file()


def test_a_process_opening_a_pipeline_waits_while_another_creates_it(tmp_path):
    folder = tmp_path / ".dlt_pipelines"
    _run_while_held(folder / ".northstar_stripe.lock", OPEN_EVERY_PIPELINE, tmp_path / "northstar.duckdb",
                    folder / "northstar_stripe" / "state.json")


def test_a_process_preparing_the_manifest_waits_while_another_parses(tmp_path):
    target = tmp_path / "target"
    prepare = ("from dagster_dbt import DbtProject\n"
               "from orchestration.assets.dbt import PROJECT_DIR, prepare_manifest\n"
               f"prepare_manifest(DbtProject(project_dir=PROJECT_DIR, target_path={str(target)!r},\n"
               "                            profiles_dir=PROJECT_DIR, target='prod'))\n")
    _run_while_held(target / ".manifest.lock", prepare, tmp_path / "northstar.duckdb", target / "manifest.json")


def test_four_processes_open_every_pipeline_of_a_new_warehouse_at_once(tmp_path):
    children = [_start(OPEN_EVERY_PIPELINE, tmp_path / "northstar.duckdb") for _ in range(4)]
    errors = [child.communicate(timeout=180)[1] for child in children]
    assert [child.returncode for child in children] == [0, 0, 0, 0], errors
    folders = sorted(p.name for p in (tmp_path / ".dlt_pipelines").iterdir() if p.is_dir())
    assert folders == ["northstar_ga4", "northstar_google_ads", "northstar_linkedin_ads",
                       "northstar_meta_ads", "northstar_stripe"]
    assert all((tmp_path / ".dlt_pipelines" / name / "state.json").is_file() for name in folders)
