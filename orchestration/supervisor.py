"""``northstar run`` as two processes: a supervisor that answers signals, a worker that runs.

Dagster defers interrupts during an in-process run: a signal is only recorded while the
executor waits (for a pool slot, say) and is raised inside the next step, where a step with a
RetryPolicy treats it as a reason to retry. So SIGTERM and Ctrl-C during a nightly were
retried or ignored, and a run waiting for a slot could not be stopped at all. The supervisor
does nothing but wait for its worker, so it always answers: on SIGINT, SIGTERM or SIGHUP it
kills the worker's process group (the worker, dbt and their DuckDB connections), reports the
run failed in the Dagster instance (freeing its ``warehouse`` slot), sends the alert, prints
one line and exits 128 + the signal (130 for SIGINT, 143 for SIGTERM). Only the worker
publishes, so nothing is published once it is gone; the run's draft stays for inspection.

The supervisor takes the warehouse's lock before the worker starts and hands the locked
descriptor down, so the warehouse stays locked while either process lives. The worker runs in
a session of its own (a terminal's Ctrl-C reaches only the supervisor) and kills its whole
process group when the supervisor disappears (``kill -9``), so no orphan goes on writing a
draft; the next run then finds the run unfinished and recovers it (``recovery``). A worker
that dies on its own (the OOM killer) is reported failed by the supervisor at once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from orchestration import run_lock

WORKER_ENV = "NORTHSTAR_RUN_WORKER"  # "<run id>:<locked descriptor>:<supervisor pid>"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_WATCH_SECONDS = 0.2


def supervise(argv: list[str], published: Path) -> int:
    """Run ``northstar <argv>`` as the worker, holding the warehouse; its exit status, or
    128 + the signal that stopped it."""
    run_id = str(uuid.uuid4())
    with run_lock.holding(published, run_id) as fd:
        before = _identity(published)
        received: list[int] = []
        worker: subprocess.Popen | None = None

        def stop(signum: int, frame: object) -> None:
            received.append(signum)
            if worker is not None:
                _kill_group(worker.pid)

        previous = {s: signal.signal(s, stop) for s in STOP_SIGNALS}
        try:
            worker = subprocess.Popen(
                [sys.executable, "-m", "orchestration.cli", *argv],
                env={**os.environ, WORKER_ENV: f"{run_id}:{fd}:{os.getpid()}"},
                pass_fds=(fd,), start_new_session=True)
            if received:  # a signal before the worker existed
                _kill_group(worker.pid)
            code = worker.wait()
            _kill_group(worker.pid)  # whatever the worker left behind (dbt, after an OOM kill)
            if received:
                return _stopped(run_id, published, received[0], before)
            if code < 0:
                _report(run_id, published, f"its process was killed by {signal.Signals(-code).name}",
                        before, to_stderr=True)
                return 1
            if code != 0:  # the worker said why; a run it left unfinished is marked failed
                _report(run_id, published, f"its process exited with status {code} before the run "
                        "ended", before, to_stderr=False)
            return code
        finally:
            if worker is not None and worker.poll() is None:
                _kill_group(worker.pid)
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def _stopped(run_id: str, published: Path, signum: int, before: tuple | None) -> int:
    _report(run_id, published, f"interrupted by {signal.Signals(signum).name}", before, to_stderr=True)
    return 128 + signum


def _report(run_id: str, published: Path, reason: str, before: tuple | None, to_stderr: bool) -> None:
    """Mark the run failed when it did not finish; with ``to_stderr``, say so in one line."""
    from dagster import DagsterInstance

    from orchestration.recovery import FINISHED, fail_run
    from orchestration.resources import WarehouseResource
    from orchestration.storage_errors import storage_problem

    marked = ""
    try:
        instance = DagsterInstance.get()
        run = instance.get_run_by_id(run_id)
        if run is None:
            marked = "before its Dagster run started"
        elif run.status in FINISHED:
            marked = f"after run {run_id} ended ({run.status.value.lower()})"
            if not to_stderr:
                return
        else:
            fail_run(instance, run, reason)
            marked = f"run {run_id} marked failed, its warehouse slot freed"
    except Exception as exc:  # noqa: BLE001 - the line below matters more (a full disk, say)
        marked = f"run {run_id} could not be marked failed ({storage_problem(exc) or type(exc).__name__})"
    if not to_stderr:
        return
    changed = _identity(published) != before
    draft = WarehouseResource(path=str(published)).run_draft(run_id)
    parts = [f"northstar run: {reason}: {marked}",
             "the warehouse was published before it stopped" if changed
             else "nothing published (the last published warehouse is unchanged)"]
    if draft.exists():
        parts.append(f"its draft is kept for inspection: {draft}")
    print("; ".join(parts), file=sys.stderr, flush=True)


def _identity(path: Path) -> tuple | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def worker_settings() -> tuple[str, int, int] | None:
    """(run id, locked descriptor, supervisor pid) in the worker; None in the supervisor."""
    value = os.environ.pop(WORKER_ENV, None)
    if not value:
        return None
    run_id, fd, parent = value.split(":")
    return run_id, int(fd), int(parent)


def die_with(parent: int) -> None:
    """In the worker: kill this process group as soon as the supervisor is gone."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_WATCH_SECONDS)
        os.killpg(0, signal.SIGKILL)

    threading.Thread(target=watch, name="northstar-supervisor-watch", daemon=True).start()
