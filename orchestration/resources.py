"""Write-audit-publish of the warehouse file, as a Dagster resource (``WarehouseResource``).

Where the warehouse is and how to connect to it is ``ingestion/warehouse.py``'s; this module
adds what a Dagster run does with it.

BI tools read the *published* file (``NORTHSTAR_WAREHOUSE``). A run never writes it: the first
step of a run that writes copies the published file to a *draft* of its own
(``<folder>/.drafts/<run id>/<name>.duckdb``), every loader and dbt write there, the blocking
checks audit the draft, and the ``published_warehouse`` asset renames the draft over the
published file in one atomic ``os.replace``. So a reader holding the published file open keeps
reading the last good warehouse (on POSIX it keeps the old inode), a reader never waits on the
build's write lock, and a failed audit leaves the published file as it was. The draft starts as
a copy because the warehouse is the source of truth for dlt's incremental state and for dbt's
incremental models: a nightly build continues from the last published one.

One run at a time per warehouse: a run holds the warehouse's lock (``run_lock``) from before
its Dagster run exists until it ends, so two runs can neither share a draft nor interleave
publishes. A failed or killed run's draft stays for inspection until the next run starts.

dbt keeps its partial parse (seconds per run) only while its profile is unchanged, and the
profile names the warehouse path; so dbt is pointed at a fixed path,
``.drafts/<name>.current/<name>``, where ``<name>.current`` is a symlink to the running run's
draft folder, switched under the lock. The symlink names a folder, not the file, so DuckDB's
write-ahead log (``<path>.wal``) lands in the run's own folder too.

DuckDB allows one writing process per file, so every step that opens the draft runs in the
``warehouse`` concurrency pool (size 1, see ``dagster.yaml``).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster import ConfigurableResource, Failure, InitResourceContext

from ingestion.warehouse import connect, warehouse_path
from orchestration import run_lock
from orchestration.dbt_project import point_symlink
from orchestration.storage_errors import disk_full, problem_in_text, storage_problem

#: The Dagster concurrency pool of every step that opens the warehouse (limit 1: one writer).
WAREHOUSE_POOL = "warehouse"
_DRAFTS = ".drafts"
_RUN_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class WarehouseResource(ConfigurableResource):
    """The published warehouse file and the per-run draft that a run writes and audits."""

    path: str = ""  # empty: NORTHSTAR_WAREHOUSE (default warehouse/northstar.duckdb)

    @property
    def published_path(self) -> Path:
        return Path(self.path).expanduser().resolve() if self.path else warehouse_path()

    @property
    def drafts_dir(self) -> Path:
        return self.published_path.parent / _DRAFTS

    def run_draft(self, run_id: str) -> Path:
        """The draft of run ``run_id``: ``.drafts/<run id>/<name>`` (the name keeps DuckDB's
        catalog name, which the views dbt creates refer to)."""
        return self.drafts_dir / run_id / self.published_path.name

    def draft_path(self) -> Path:
        """The fixed path dbt's profile names: a symlinked folder onto the running run's draft."""
        name = self.published_path.name
        return self.drafts_dir / f"{name}.current" / name

    @contextmanager
    def yield_for_execution(self, context: InitResourceContext) -> Iterator[WarehouseResource]:
        """For the whole run: hold the warehouse's lock, tag the run, recover dead runs.

        ``northstar run`` took the lock already (reentrant here); a run launched from the
        Dagster UI takes it now and fails at once, in one line, when another run holds it.
        """
        pinned = self.pinned()
        run, instance = context.run, context.instance
        if run is None or instance is None:
            yield pinned
            return
        from orchestration.recovery import TAG_WAREHOUSE, claim_warehouse, run_tags

        published = pinned.published_path
        with run_lock.holding(published, run.run_id):
            if TAG_WAREHOUSE not in run.tags:
                instance.add_run_tags(run.run_id, run_tags(published))
            claim_warehouse(instance, published, run.run_id, refuse_if_blocked=False)
            yield pinned

    def pinned(self) -> WarehouseResource:
        """This resource with its published file named for good (``path`` set).

        With ``path`` empty, ``published_path`` follows ``NORTHSTAR_WAREHOUSE``, which
        ``writing`` points at the run's draft for the length of a step: a step that asked for
        the published file there got the draft (a first build then windowed its data tests as a
        later one does). A run's steps get the pinned resource, so the published file, the
        drafts folder and a run's draft mean the same files before, inside and after ``writing``.
        """
        return self if self.path else WarehouseResource(path=str(self.published_path))

    def draft(self, run_id: str) -> Path:
        """The run's draft, created on first use as a copy of the published file (if any).

        Created under the warehouse's lock; every other draft of this warehouse (a failed or
        killed run's: a published draft is renamed away) is deleted then.
        """
        draft = self.run_draft(run_id)
        if draft.exists():
            return draft
        published = self.published_path
        with run_lock.holding(published, run_id):
            self._discard_other_drafts(run_id)
            draft.parent.mkdir(parents=True, exist_ok=True)
            if published.exists():
                shutil.copyfile(published, draft)
                wal = Path(f"{published}.wal")
                if wal.exists():  # never left by a publish; copied so the draft replays it
                    shutil.copyfile(wal, Path(f"{draft}.wal"))
            else:
                with connect(draft, read_only=False):  # an empty DuckDB file
                    pass
            point_symlink(self.draft_path().parent, run_id)  # relative: the folder may move
        return draft

    def _discard_other_drafts(self, run_id: str) -> None:
        """Delete this warehouse's drafts of other runs, and those of the layout before per-run
        drafts (``.drafts/<name>``, ``.drafts/<stem>.run_id``). Call with the lock held."""
        drafts, name = self.drafts_dir, self.published_path.name
        if not drafts.is_dir():
            return
        stem = self.published_path.stem
        for entry in drafts.iterdir():
            if entry.is_symlink():
                continue
            if entry.is_dir():
                ours = (entry / name).exists() or not any(entry.iterdir())
                if entry.name != run_id and _RUN_ID.match(entry.name) and ours:
                    shutil.rmtree(entry, ignore_errors=True)
            elif entry.name.startswith(name) or entry.name == f"{stem}.run_id":
                entry.unlink()

    @contextmanager
    def writing(self, run_id: str) -> Iterator[Path]:
        """Point dlt and dbt (both read ``NORTHSTAR_WAREHOUSE``) at the run's draft for a step.

        dbt gets the fixed path (its partial parse survives), this process the draft itself
        (``warehouse_path`` resolves the symlink). A full disk or a read-only folder fails the
        step at once, in one line: retrying cannot fix it.
        """
        draft = None
        previous = os.environ.get("NORTHSTAR_WAREHOUSE")
        try:
            draft = self.draft(run_id)
            os.environ["NORTHSTAR_WAREHOUSE"] = str(self.draft_path())
            yield draft
            return
        except Exception as exc:
            where = (draft or self.run_draft(run_id)).parent
            problem = storage_problem(exc, where)  # the chain: a Failure keeps dlt's error as context
            if problem is None and isinstance(exc, Failure):
                problem = problem_in_text(exc.description or "", where)
            if problem is None and disk_full(where):  # an error that hides the cause (dlt's EXDEV)
                problem = f"no space left on device: {where}"
            if problem is None:
                raise
        finally:
            if previous is None:
                os.environ.pop("NORTHSTAR_WAREHOUSE", None)
            else:
                os.environ["NORTHSTAR_WAREHOUSE"] = previous
        # raised outside the handler: no __context__ keeps the failed load's frames alive
        raise Failure(description=problem, allow_retries=False)

    @contextmanager
    def reading_draft(self, run_id: str) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the run's draft for checks (closed at once: no lock outlives a step).

        Not ``read_only``: dbt may have opened this file in this process (DuckDB refuses a
        second configuration of one file in a process). Checks only read.
        """
        with connect(self.draft(run_id), read_only=False) as con:
            yield con

    def publish(self, run_id: str) -> Path:
        """Atomically replace the published file with the audited draft; return the published path."""
        draft = self.run_draft(run_id)
        if not draft.exists():
            raise FileNotFoundError(f"run {run_id} has no draft warehouse to publish")
        _checkpoint(draft)
        with open(draft, "rb") as handle:
            os.fsync(handle.fileno())
        published = self.published_path
        published.parent.mkdir(parents=True, exist_ok=True)
        os.replace(draft, published)
        link = self.draft_path().parent
        if link.is_symlink() and os.readlink(link) == run_id:
            link.unlink()
        shutil.rmtree(draft.parent, ignore_errors=True)  # dlt's working folder of the run
        return published


def _checkpoint(path: Path) -> None:
    """Fold a leftover write-ahead log into the file, so that the renamed file is complete."""
    if not Path(f"{path}.wal").exists():
        return
    with connect(path, read_only=False) as con:
        con.execute("checkpoint")
