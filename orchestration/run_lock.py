"""One run at a time per warehouse: an exclusive ``flock`` on a file beside the warehouse.

Two runs on one warehouse would wipe each other's draft and publish copies that miss each
other's loads; Dagster's run queue does not see ``northstar run``'s in-process runs, so the
warehouse itself is locked. ``flock`` belongs to the open file description: the kernel drops it
when the last process holding that description exits, however it exits (``kill -9``
included), so a crash never leaves a stale lock behind and no one has to clean up a pid file.

The holder writes its pid, host, run id and start time into the lock file so that a refused
run can say, in one line, who holds the warehouse. Within a process the lock is reentrant
(``northstar run``'s worker adopts the lock its supervisor took and passed down; the
``warehouse`` resource takes it again for the run), counted per warehouse path.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


class WarehouseBusy(Exception):
    """Another process holds the warehouse (the message names it, on one line)."""


@dataclass
class _Held:
    fd: int
    count: int


_HELD: dict[Path, _Held] = {}
_GUARD = threading.Lock()


def lock_path(published: Path) -> Path:
    """``<folder>/.<name>.lock``: one lock per warehouse file, next to it."""
    return published.parent / f".{published.name}.lock"


def acquire(published: Path, run_id: str = "") -> int:
    """Take the warehouse's lock without waiting; WarehouseBusy when another process holds it.

    Returns the locked descriptor (``northstar run`` hands it to its worker process).
    """
    with _GUARD:
        held = _HELD.get(published)
        if held is not None:
            held.count += 1
            return held.fd
        path = lock_path(published)
        path.parent.mkdir(parents=True, exist_ok=True)  # a first run on a new warehouse folder
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise WarehouseBusy(busy_message(published)) from None
        except BaseException:
            os.close(fd)
            raise
        try:
            _write_holder(fd, run_id)
        except BaseException:
            os.close(fd)  # releases the lock
            raise
        _HELD[published] = _Held(fd, 1)
        return fd


def release(published: Path) -> None:
    with _GUARD:
        held = _HELD.get(published)
        if held is None:
            return
        held.count -= 1
        if held.count == 0:
            del _HELD[published]
            os.close(held.fd)  # the kernel releases the flock with the last descriptor


def adopt(published: Path, fd: int) -> None:
    """Record an inherited descriptor that already holds the lock (the worker's, from its
    supervisor). ``flock`` on it succeeds at once: it is the same open file description."""
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    with _GUARD:
        _HELD[published] = _Held(fd, 1)  # never released: the process's exit releases it


def is_held_here(published: Path) -> bool:
    return published in _HELD


@contextmanager
def holding(published: Path, run_id: str = "") -> Iterator[int]:
    """Hold the warehouse for the block (reentrant within a process)."""
    fd = acquire(published, run_id)
    try:
        yield fd
    finally:
        release(published)


def _write_holder(fd: int, run_id: str) -> None:
    holder = {"pid": os.getpid(), "host": socket.gethostname(), "run_id": run_id,
              "since": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")}
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(holder).encode(), 0)


def busy_message(published: Path) -> str:
    """``warehouse X is in use by another northstar run (pid 123 on host, run 1a2b3c4d, since ...)``."""
    try:
        holder = json.loads(lock_path(published).read_text() or "{}")
    except (OSError, ValueError):
        holder = {}
    who = ", ".join(part for part in (
        f"pid {holder['pid']} on {holder.get('host', '?')}" if holder.get("pid") else "",
        f"run {holder['run_id'][:8]}" if holder.get("run_id") else "",
        f"since {holder['since']}" if holder.get("since") else "",
    ) if part)
    return (f"warehouse {published} is in use by another northstar run ({who or 'holder unknown'}); "
            f"one run at a time: try again when it has finished")
