"""A full disk or a read-only folder, recognised wherever it surfaces, said in one line.

The error reaches us in many shapes: an ``OSError`` from ``open`` or ``mkdir``, dlt's
``PipelineStepFailed`` wrapping one, DuckDB's ``IOException`` ("Could not write file "x":
No space left on device"), SQLite's "database or disk is full" from Dagster's storage, or only
as text in a Dagster step failure. ``storage_problem`` finds it in an exception's chain or in a
message and says what happened and where: ``no space left on device: /data/warehouse/x.wal``.
Retrying cannot fix it, so steps fail at once, and the CLI prints this line, not a traceback.
"""

from __future__ import annotations

import errno
import logging
import os
import re
from collections.abc import Iterator

_BY_ERRNO = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
}
_BY_TEXT = (
    ("no space left on device", "no space left on device"),
    ("database or disk is full", "no space left on device"),
    ("disk quota exceeded", "disk quota exceeded"),
    ("read-only file system", "read-only file system"),
    ("attempt to write a readonly database", "read-only file system"),
    ("[errno 13] permission denied", "permission denied"),  # an OSError's text, not an API's 403
)
_QUOTED_PATH = re.compile(r"""["'](/[^"']+)["']""")
_SAID_PATH = re.compile(r": (/[^\s;,()]+)")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def storage_problem(exc: BaseException, where: object = None) -> str | None:
    """``<what>: <path>`` for the first storage failure in ``exc``'s chain, else None.

    ``where`` (a folder) names the place when the error itself carries no path.
    """
    for error in _chain(exc):
        if isinstance(error, OSError) and error.errno in _BY_ERRNO:
            if error.errno == errno.EACCES and not error.filename:
                continue  # a socket's EACCES (a firewall), not a file's
            path = error.filename or _path_in(str(error)) or where
            return _say(_BY_ERRNO[error.errno], path)
    for error in _chain(exc):
        found = problem_in_text(str(error), where)
        if found:
            return found
    return None


def problem_in_text(text: str, where: object = None) -> str | None:
    """The same, from a message (a Dagster step failure keeps only the text)."""
    lowered = text.lower()
    for needle, what in _BY_TEXT:
        at = lowered.find(needle)
        if at >= 0:
            said = _SAID_PATH.match(text, at + len(needle))  # our own "<what>: /path" again
            return _say(what, (said and said.group(1)) or _path_in(text) or where)
    return None


def disk_full(folder: os.PathLike | str) -> bool:
    """Less than 1 MiB left for this user on ``folder``'s file system.

    For a failure whose error hides the cause: dlt, failing to copy a job file onto a full
    disk, can report the ``EXDEV`` of the rename it tried first instead of the ``ENOSPC``.
    """
    try:
        stats = os.statvfs(folder)
    except OSError:
        return False
    blocks = stats.f_bfree if os.geteuid() == 0 else stats.f_bavail  # root may use the reserve
    return blocks * stats.f_frsize < 2**20


def _path_in(text: str) -> str | None:
    match = _QUOTED_PATH.search(text)
    return match.group(1) if match else None


def _say(what: str, path: object) -> str:
    return f"{what}: {path}" if path else what


class StorageProblemFilter(logging.Filter):
    """Keeps a library's logged traceback of a storage failure off the terminal, remembering
    the first such problem: the CLI reports it once, in one line."""

    def __init__(self, where: object = None) -> None:
        super().__init__()
        self.where = where
        self.problem: str | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        problem = None
        if record.exc_info and record.exc_info[1] is not None:
            problem = storage_problem(record.exc_info[1], self.where)
        if problem is None and record.levelno >= logging.ERROR:
            problem = problem_in_text(record.getMessage(), self.where)
        if problem is None:
            return True
        self.problem = self.problem or problem
        return False


def quiet_storage_tracebacks(*logger_names: str, where: object = None) -> StorageProblemFilter:
    """Install one ``StorageProblemFilter`` on the named loggers (dlt logs and re-raises);
    ``where`` names the place when an error carries no path."""
    found = StorageProblemFilter(where)
    for name in logger_names:
        logging.getLogger(name).addFilter(found)
    return found
