"""One run per warehouse (a lock that survives kill -9) and a draft of its own for every run.

Fast: real processes hold the lock, real files make the drafts; no Dagster run.
"""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pytest
from dagster import build_init_resource_context

from ingestion.warehouse import warehouse_path
from orchestration import run_lock
from orchestration.resources import WarehouseResource
from orchestration.storage_errors import problem_in_text, storage_problem

RUN_A = "1a2b3c4d-0000-4000-8000-000000000001"
RUN_B = "5e6f7a8b-0000-4000-8000-000000000002"
HOLD = """
import sys, time
from pathlib import Path
from orchestration import run_lock
run_lock.acquire(Path(sys.argv[1]), sys.argv[2])
print("held", flush=True)
time.sleep(600)
"""


def test_a_held_warehouse_refuses_naming_its_holder_until_the_holder_is_killed(tmp_path):
    published = tmp_path / "northstar.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(published), RUN_A],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(run_lock.WarehouseBusy) as busy:
            run_lock.acquire(published, RUN_B)
        assert str(busy.value).startswith(
            f"warehouse {published} is in use by another northstar run (pid {holder.pid} on "
            f"{os.uname().nodename}, run 1a2b3c4d, since ")
    finally:
        holder.kill()  # SIGKILL: no clean-up code runs; the kernel drops the lock
        holder.wait()
    with run_lock.holding(published, RUN_B) as fd, run_lock.holding(published, RUN_B) as again:
        assert again == fd  # reentrant within a process
    assert not run_lock.is_held_here(published)


def test_every_run_gets_a_draft_of_its_own_behind_one_fixed_path_for_dbt(tmp_path, monkeypatch):
    published = tmp_path / "northstar.duckdb"
    with duckdb.connect(str(published)) as con:
        con.execute("create table t as select 1 as v")
    warehouse = WarehouseResource(path=str(published))
    fixed = warehouse.draft_path()

    first = warehouse.draft(RUN_A)
    assert first == tmp_path / ".drafts" / RUN_A / "northstar.duckdb"
    assert fixed.resolve() == first
    second = warehouse.draft(RUN_B)  # the next run: the earlier (failed) run's draft goes
    assert second == tmp_path / ".drafts" / RUN_B / "northstar.duckdb"
    assert not first.parent.exists() and fixed.resolve() == second

    monkeypatch.setenv("NORTHSTAR_WAREHOUSE", str(published))
    with warehouse.writing(RUN_B) as draft:
        assert os.environ["NORTHSTAR_WAREHOUSE"] == str(fixed)  # what dbt's profile reads
        assert warehouse_path() == draft == second  # what dlt opens in this process
        with duckdb.connect(str(fixed)) as con:  # through the link, as dbt does
            con.execute("insert into t values (2)")
    assert os.environ["NORTHSTAR_WAREHOUSE"] == str(published)

    assert warehouse.publish(RUN_B) == published
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("select count(*) from t").fetchone() == (2,)
    assert list((tmp_path / ".drafts").iterdir()) == []


def test_a_runs_resource_names_the_published_file_even_inside_writing(tmp_path, monkeypatch):
    """``writing`` points NORTHSTAR_WAREHOUSE at the draft for a step; the resource a run's
    steps get (no ``path`` configured: the setting names the warehouse) still names the
    published file there, and so the same draft."""
    published = tmp_path / "northstar.duckdb"
    monkeypatch.setenv("NORTHSTAR_WAREHOUSE", str(published))
    with WarehouseResource().yield_for_execution(build_init_resource_context()) as warehouse:
        assert warehouse.path == str(published)
        with warehouse.writing(RUN_A) as draft:
            assert warehouse_path() == draft != published  # the setting names the draft here
            assert warehouse.published_path == published
            assert warehouse.run_draft(RUN_A) == draft
            assert not warehouse.published_path.exists()  # a first build: nothing published yet


def test_a_storage_failure_is_named_with_its_path_wherever_it_surfaces():
    assert storage_problem(OSError(28, "No space left on device", "/data/w.duckdb")) == \
        "no space left on device: /data/w.duckdb"
    try:
        try:
            raise OSError(30, "Read-only file system", "/ro/.dlt_pipelines")
        except OSError as inner:
            raise RuntimeError("pipeline failed") from inner
    except RuntimeError as outer:
        assert storage_problem(outer) == "read-only file system: /ro/.dlt_pipelines"
    duckdb_text = 'IO Error: Could not write file "/full/x.duckdb.wal": No space left on device'
    assert problem_in_text(duckdb_text) == "no space left on device: /full/x.duckdb.wal"
    assert problem_in_text("database or disk is full", "/home") == "no space left on device: /home"
    assert problem_in_text("HTTP 403 from /v1/customers: permission denied") is None
