"""Notes a source leaves for its run's report: one line each, printed under the source's line.

A source logs a note to ``note_logger(<source>)``: at WARNING when something needs a look
(the GA4 source's new columns, quarantined lines, empty files), at INFO otherwise.
``northstar ingest`` collects the WARNING ones into ``SourceResult.notes`` (ingestion/run.py);
anywhere else (a Dagster run, a script) they are ordinary log records, which Python prints to
stderr at its default level even when nothing configured logging.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

NOTES_LOGGER = "ingestion.notes"


def note_logger(source: str) -> logging.Logger:
    return logging.getLogger(f"{NOTES_LOGGER}.{source}")


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@contextmanager
def collecting_notes(source: str) -> Iterator[list[str]]:
    """The WARNING notes ``source`` logs inside the block (collected instead of printed)."""
    collector = _Collector()
    log = note_logger(source)
    log.addHandler(collector)
    try:
        yield collector.lines
    finally:
        log.removeHandler(collector)
