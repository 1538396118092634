"""Live progress of an in-process run (``northstar run``): a Dagster logger printing one line as
each step starts and ends, with rows loaded per source and the time since the run began.

Dagster's own console logger prints every event with stack traces; a nightly run in a terminal
wants to know what it is doing now and how far it got, so ``northstar run`` swaps the console
logger for this one (``run_config``), while the instance's event log (the UI) keeps everything.
"""

from __future__ import annotations

import logging
import sys
import time
from collections import defaultdict
from typing import TextIO

from dagster import DagsterEvent, DagsterEventType, InitLoggerContext, logger

PROGRESS_LOGGER = "progress"


class ProgressHandler(logging.Handler):
    """Turns Dagster step events into ``[  12.3s] ingest_stripe: ...`` lines."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(level=logging.DEBUG)
        self.stream = stream
        self.began = time.monotonic()
        self.step_began: dict[str, float] = {}
        self.rows: dict[str, int] = defaultdict(int)
        self.tables: dict[str, int] = defaultdict(int)

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "dagster_event", None)
        if not isinstance(event, DagsterEvent) or not event.step_key:
            return
        line = self._line(event)
        if line:
            stream = self.stream or sys.stdout
            print(f"  [{time.monotonic() - self.began:7.1f}s] {line}", file=stream, flush=True)

    def _line(self, event: DagsterEvent) -> str | None:
        step, kind = event.step_key, event.event_type
        if kind == DagsterEventType.STEP_START:
            self.step_began[step] = time.monotonic()
            return f"{step}: started"
        if kind == DagsterEventType.ASSET_MATERIALIZATION:
            metadata = event.event_specific_data.materialization.metadata
            rows = metadata.get("rows_loaded")
            if rows is not None:
                self.rows[step] += int(rows.value)
                self.tables[step] += 1
            return None
        took = time.monotonic() - self.step_began.get(step, self.began)
        if kind == DagsterEventType.STEP_SUCCESS:
            tables = self.tables.get(step)
            plural = "" if tables == 1 else "s"
            loaded = f", {self.rows[step]:,} rows loaded into {tables} table{plural}" if tables else ""
            return f"{step}: succeeded in {took:.1f}s{loaded}"
        if kind == DagsterEventType.STEP_UP_FOR_RETRY:
            return f"{step}: failed after {took:.1f}s, retrying"
        if kind == DagsterEventType.STEP_FAILURE:
            return f"{step}: FAILED after {took:.1f}s"
        if kind == DagsterEventType.STEP_SKIPPED:
            return f"{step}: skipped (an upstream step failed)"
        return None


@logger(description="One line per step start and end, rows loaded per source, elapsed time.")
def progress_logger(init_context: InitLoggerContext) -> logging.Logger:
    # a logger of its own per run, outside logging's registry: runs never stack handlers
    log = logging.Logger("northstar.progress", level=logging.DEBUG)  # noqa: LOG001
    log.addHandler(ProgressHandler())
    return log
