"""Peak resident memory of a process and its children, sampled from /proc.

The nightly build runs in one process, but dbt runs in a child process (dagster-dbt), so a
stage's memory is the sum over the process tree, sampled a few times a second.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Self

PAGE = 4096


def _children(pid: int) -> list[int]:
    kids = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            pass
    return kids


def _rss(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and every descendant."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        total += _rss(current)
        stack += _children(current)
    return total


class TreeSampler:
    """Samples ``tree_rss(pid)`` every ``interval`` seconds in a thread: (unix time, bytes)."""

    def __init__(self, pid: int, interval: float = 0.2):
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), tree_rss(self.pid)))
            self._stop.wait(self.interval)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def peak(self, start: float | None = None, end: float | None = None) -> int:
        inside = [b for t, b in self.samples if (start is None or t >= start) and (end is None or t <= end)]
        return max(inside, default=0)
