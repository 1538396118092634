"""Runs that died: found when the next run starts, marked failed, their warehouse slot freed.

A run killed with ``kill -9`` (or by the OOM killer, or a lost machine) never reports its end:
Dagster keeps it STARTED and its step keeps the ``warehouse`` pool's only slot, so every later
run waits for that slot forever. Dagster's run monitoring cannot see this for in-process runs
(the default run launcher has no worker health check), so Northstar checks itself.

Every run is tagged with the warehouse it writes and the process running it. The next run
takes the warehouse's lock (``run_lock``) first; holding it proves that no other live process
is running on that warehouse, so any unfinished run tagged with it is dead. A run tagged with
another warehouse (a Dagster instance shared by two warehouses) is dead when its process is
gone from this host. A dead run is reported failed through the instance (what Dagster's own
run monitoring does), its pool slots and queued steps are freed, and an alert names it.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

from dagster import DagsterInstance, DagsterRun, DagsterRunStatus, RunsFilter

from orchestration.alerts.messages import run_failure_message, short_run_id
from orchestration.alerts.webhook import send_alert

TAG_WAREHOUSE = "northstar/warehouse"
TAG_PID = "northstar/pid"
TAG_HOST = "northstar/host"
TAG_PROCESS_START = "northstar/process_start"
UNFINISHED = [DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED,
              DagsterRunStatus.CANCELING]
FINISHED = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}


class PoolBlocked(Exception):
    """Another run still holds the warehouse pool's slot (the message names it, on one line)."""


@dataclass
class DeadRun:
    run_id: str
    job_name: str
    pid: str
    host: str

    def line(self) -> str:
        process = f"process {self.pid} on {self.host}" if self.pid else "its process"
        return (f"recovered: run {self.run_id} of {self.job_name} died without finishing ({process} is "
                f"gone): marked failed, its warehouse slot freed")


def run_tags(published: Path) -> dict[str, str]:
    """The tags that let a later run decide whether this one is still alive."""
    tags = {TAG_WAREHOUSE: str(published), TAG_PID: str(os.getpid()), TAG_HOST: socket.gethostname()}
    start = process_start(os.getpid())
    if start:
        tags[TAG_PROCESS_START] = start
    return tags


def process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), to tell a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22, counted after the command name


def process_alive(pid: int, started: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: alive
    now = process_start(pid)
    return started is None or now is None or now == started


def is_dead(run: DagsterRun, published: Path) -> bool:
    """Dead: unfinished and tagged with this warehouse (call with its lock held), or tagged with
    a process of this host that is gone. Untagged runs are never judged."""
    if run.tags.get(TAG_WAREHOUSE) == str(published):
        return True
    pid, host = run.tags.get(TAG_PID), run.tags.get(TAG_HOST)
    if not pid or host != socket.gethostname():
        return False
    return not process_alive(int(pid), run.tags.get(TAG_PROCESS_START))


def fail_run(instance: DagsterInstance, run: DagsterRun, reason: str) -> None:
    """Report ``run`` failed, free its pool slots and queued steps, and send the alert."""
    instance.report_run_failed(run, reason)
    instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
    send_alert(run_failure_message(run.job_name, run.run_id, [("", reason)]))


def recover_dead_runs(instance: DagsterInstance, published: Path, current_run_id: str) -> list[DeadRun]:
    """Mark every dead run failed (see ``is_dead``) and free what finished runs still hold.

    Call with the warehouse's lock held.
    """
    dead = []
    for run in instance.get_runs(filters=RunsFilter(statuses=UNFINISHED)):
        if run.run_id == current_run_id or not is_dead(run, published):
            continue
        pid, host = run.tags.get(TAG_PID, ""), run.tags.get(TAG_HOST, "")
        where = f"process {pid} on {host}" if pid else "its process"
        fail_run(instance, run, f"died without finishing ({where} is gone); found by run "
                                f"{short_run_id(current_run_id)}, which freed its warehouse slot")
        dead.append(DeadRun(run.run_id, run.job_name, pid, host))
    _free_slots_of_finished_runs(instance)
    return dead


def _free_slots_of_finished_runs(instance: DagsterInstance) -> None:
    """What Dagster's daemon does after ``free_slots_after_run_end_seconds``; no daemon watches
    ``northstar run``."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return
    holders = set(storage.get_concurrency_run_ids())
    for key in storage.get_concurrency_keys():
        holders |= {slot.run_id for slot in storage.get_concurrency_info(key).claimed_slots}
    for run_id in holders:
        run = instance.get_run_by_id(run_id)
        if run is None or run.status in FINISHED:
            storage.free_concurrency_slots_for_run(run_id)


def ensure_pool_free(instance: DagsterInstance, pool: str, current_run_id: str) -> None:
    """PoolBlocked naming the run that holds ``pool``'s slot, rather than waiting for it forever."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return
    info = storage.get_concurrency_info(pool)
    holders = {slot.run_id for slot in info.claimed_slots} - {current_run_id}
    if not holders:
        return
    run_id = min(holders)
    run = instance.get_run_by_id(run_id)
    status = run.status.value if run else "unknown"
    raise PoolBlocked(f"the {pool} pool's slot is held by run {run_id} ({status}), which is not a "
                      f"northstar run on this warehouse; if it is no longer running, terminate it in "
                      f"the Dagster UI (DAGSTER_HOME={os.environ.get('DAGSTER_HOME', '?')})")


def claim_warehouse(instance: DagsterInstance, published: Path, run_id: str,
                    refuse_if_blocked: bool = True) -> list[DeadRun]:
    """Before a run: recover dead runs, then make sure nothing else holds the pool's slot."""
    from orchestration.resources import WAREHOUSE_POOL

    dead = recover_dead_runs(instance, published, run_id)
    if refuse_if_blocked:
        ensure_pool_free(instance, WAREHOUSE_POOL, run_id)
    return dead
