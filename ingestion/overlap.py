"""Sources extract at the same time; only their loads take turns at the warehouse.

DuckDB allows one writer per file. Of dlt's three steps only ``load`` writes the warehouse:
``extract`` reads the API (I/O-bound: Stripe's pages, GA4's files, the ad platforms) and,
with ``normalize``, writes the pipeline's own working folder. So each source's extract and
normalize run in a thread of their own, at the same time as the others', and its load waits for
``WRITER``, this process's one turn at the warehouse. The slowest source's extract, not the
sum of them all, is then what a run waits for.

``prepare`` + ``load`` are ``pipeline.run`` in two halves (the same state sync, extract,
normalize and load, with the same kill-safety: ``discard_interrupted_loads`` first). The state
sync reads the warehouse, so it takes the writer's turn too: a read never overlaps a write in
progress, even though DuckDB would allow it within one process.

A turn holds the DuckDB file open (``writers_turn``). dlt opens and closes the file for each
piece of a load or state sync: 36 opens and 35 closes in the ingestion of one 15-minute job,
each open reading the catalog again and each close checkpointing the file. While the turn's own
connection is open, DuckDB hands dlt's connections the same open database, and the file is
checkpointed once, when the turn ends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import dlt
import duckdb
from dlt.common.pipeline import LoadInfo
from dlt.extract.source import DltSource
from dlt.pipeline.exceptions import PipelineStepFailed

from ingestion.warehouse import discard_interrupted_loads, loader_file_format, pipeline_duckdb_file

#: The warehouse's one writer in this process: every dlt load (and state sync) holds it.
WRITER = threading.RLock()


@contextmanager
def writers_turn(pipeline: dlt.Pipeline) -> Iterator[None]:
    """``WRITER``, with ``pipeline``'s DuckDB file open for the turn: dlt's own connections then
    share this open database instead of opening and checkpointing the file for each step. The
    same arguments as dlt's ``duckdb.connect``, so DuckDB hands both one instance; checkpointed
    and closed when the turn ends, so no connection outlives the turn."""
    with WRITER:
        path = pipeline_duckdb_file(pipeline)
        if path is None:
            yield
            return
        held = duckdb.connect(database=path, read_only=False, config={})
        try:
            yield
            # the turn's writes reach the file here: a close would swallow a failed checkpoint (a
            # full disk) and leave them in the WAL, where a load must fail instead
            held.execute("checkpoint")
        finally:
            held.close()


def import_shared_modules() -> None:
    """Import, in the calling thread, what the sources' threads would import lazily: pyarrow
    (through dlt's hints) and pandas (pyarrow's conversions). When two threads import one module
    at once and their import locks would deadlock, Python hands one of them the module
    half-initialised (``AttributeError: partially initialized module 'pyarrow' has no attribute
    'Schema'``), and dlt takes ``sys.modules["pandas"]`` as it finds it, maybe half-imported by
    another thread (``... 'pandas' has no attribute 'DataFrame'``). Imported once before the
    threads start, they are whole for all of them."""
    import dlt.common.libs.pyarrow  # noqa: F401
    import pandas  # noqa: F401


@dataclass
class Prepared:
    """A source extracted and normalized into its pipeline's folder, ready to load."""

    name: str
    pipeline: dlt.Pipeline
    source: DltSource
    #: rows per table the normalize step wrote (dlt's own tables left out)
    rows: dict[str, int] = field(default_factory=dict)
    #: load packages of a killed run that were discarded first (their data read again)
    discarded: list[str] = field(default_factory=list)
    extract_seconds: float = 0.0


def restore(pipeline: dlt.Pipeline, *, drop_local: bool = False) -> list[str]:
    """Ready ``pipeline`` to extract: a killed run's unfinished packages discarded (their ids
    returned), its state and schemas synced from the warehouse. A read of the warehouse, in the
    writer's turn.

    ``drop_local`` forgets the local folder first (as dagster-dlt does before each run): state
    and schemas then come from the warehouse alone.
    """
    with writers_turn(pipeline):
        discarded = discard_interrupted_loads(pipeline)
        if drop_local:
            pipeline.drop()
        pipeline.sync_destination()
    return discarded


def extract(name: str, pipeline: dlt.Pipeline, source: DltSource, discarded: list[str] | None = None) -> Prepared:
    """Extract and normalize ``source`` with a ``restore``d ``pipeline``: no warehouse needed."""
    began = time.perf_counter()
    pipeline.extract(source, loader_file_format=loader_file_format())
    info = pipeline.normalize()
    rows = {table: count for table, count in (info.row_counts if info else {}).items()
            if not table.startswith("_dlt")}
    return Prepared(name, pipeline, source, rows, discarded or [], time.perf_counter() - began)


def prepare(name: str, pipeline: dlt.Pipeline, source: DltSource, *, drop_local: bool = False) -> Prepared:
    """``restore`` then ``extract``: everything ``pipeline.run`` does but the load.

    Where several sources start together, restore them all first, then extract them in their
    threads: a restore waiting behind another source's load would hold its extract back.
    """
    return extract(name, pipeline, source, restore(pipeline, drop_local=drop_local))


def load(prepared: Prepared) -> LoadInfo:
    """Load what ``prepare`` left, in the writer's turn; a failed job raises (as ``run`` does)."""
    try:
        with writers_turn(prepared.pipeline):
            info = prepared.pipeline.load()
    except duckdb.Error as exc:  # the turn's checkpoint (dlt's own errors come as PipelineStepFailed)
        raise PipelineStepFailed(prepared.pipeline, "load", None, exc) from exc
    info.raise_on_failed_jobs()
    return info
