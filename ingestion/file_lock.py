"""``waiting_for(path)``: hold an exclusive ``flock`` on ``path``, waiting for it, for the
length of a block.

For the few steps that every process of a run repeats on shared files when it starts, where two
at once would destroy each other's work: dlt creating a pipeline's working folder
(ingestion/warehouse.py), ``dbt parse`` writing the code location's manifest
(orchestration/assets/dbt.py). The kernel drops the lock with the descriptor, however the
process ends, so a crash never leaves a stale lock. (One run at a time per warehouse, which
refuses rather than waits, is orchestration/run_lock.py.)
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def waiting_for(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
