"""Write-audit-publish of the warehouse file, as a Dagster resource.

BI tools read the *published* file (``NORTHSTAR_WAREHOUSE``). A run never writes it: the first
step of a run that writes copies the published file to a *draft* of its own
(``<folder>/.drafts/<name>.duckdb``, owned by one run id at a time), every loader and dbt write there, the blocking checks
audit the draft, and the ``published_warehouse`` asset renames the draft over the published
file in one atomic ``os.replace``. So a reader holding the published file open keeps reading the
last good warehouse (on POSIX it keeps the old inode), a reader never waits on the build's write
lock, and a failed audit leaves the published file as it was. The draft starts as a copy because
the warehouse is the source of truth for dlt's incremental state and for dbt's incremental
models: a nightly build continues from the last published one.

DuckDB allows one writing process per file, so every step that opens the draft runs in the
``warehouse`` concurrency pool (size 1, see ``dagster.yaml``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster import ConfigurableResource

from ingestion.warehouse import warehouse_path

#: The Dagster concurrency pool of every step that opens the warehouse (limit 1: one writer).
WAREHOUSE_POOL = "warehouse"
_DRAFTS = ".drafts"


class WarehouseResource(ConfigurableResource):
    """The published warehouse file and the per-run draft that a run writes and audits."""

    path: str = ""  # empty: NORTHSTAR_WAREHOUSE (default warehouse/northstar.duckdb)

    @property
    def published_path(self) -> Path:
        return Path(self.path).expanduser().resolve() if self.path else warehouse_path()

    def draft_path(self) -> Path:
        """One draft path for every run (one run at a time, see dagster.yaml): dbt's profile then
        names the same file each night, so dbt keeps its partial parse (seconds per run)."""
        return self.published_path.parent / _DRAFTS / self.published_path.name

    def _owner_file(self) -> Path:
        return self.draft_path().with_suffix(".run_id")

    def draft(self, run_id: str) -> Path:
        """The run's draft, created on first use as a copy of the published file (if any).

        The draft of an earlier run (a failed one: a published draft is renamed away) is
        replaced then: it stays for inspection until the next run starts.
        """
        draft, owner = self.draft_path(), self._owner_file()
        if draft.exists() and owner.exists() and owner.read_text() == run_id:
            return draft
        draft.parent.mkdir(parents=True, exist_ok=True)
        for stale in draft.parent.glob(f"{draft.name}*"):
            stale.unlink()
        published = self.published_path
        if published.exists():
            shutil.copyfile(published, draft)
            wal = Path(f"{published}.wal")
            if wal.exists():  # never left by a publish; copied so the draft replays it
                shutil.copyfile(wal, Path(f"{draft}.wal"))
        else:
            duckdb.connect(str(draft)).close()
        owner.write_text(run_id)
        return draft

    @contextmanager
    def writing(self, run_id: str) -> Iterator[Path]:
        """Point dlt and dbt (both read ``NORTHSTAR_WAREHOUSE``) at the run's draft for a step."""
        draft = self.draft(run_id)
        previous = os.environ.get("NORTHSTAR_WAREHOUSE")
        os.environ["NORTHSTAR_WAREHOUSE"] = str(draft)
        try:
            yield draft
        finally:
            if previous is None:
                os.environ.pop("NORTHSTAR_WAREHOUSE", None)
            else:
                os.environ["NORTHSTAR_WAREHOUSE"] = previous

    @contextmanager
    def reading_draft(self, run_id: str) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the run's draft for checks (closed at once: no lock outlives a step).

        Not ``read_only``: dbt may have opened this file in this process (DuckDB refuses a
        second configuration of one file in a process). Checks only read.
        """
        with duckdb.connect(str(self.draft(run_id))) as con:
            yield con

    def publish(self, run_id: str) -> Path:
        """Atomically replace the published file with the audited draft; return the published path."""
        draft, owner = self.draft_path(), self._owner_file()
        if not draft.exists() or not owner.exists() or owner.read_text() != run_id:
            raise FileNotFoundError(f"run {run_id} has no draft warehouse to publish")
        _checkpoint(draft)
        with open(draft, "rb") as handle:
            os.fsync(handle.fileno())
        published = self.published_path
        published.parent.mkdir(parents=True, exist_ok=True)
        os.replace(draft, published)
        owner.unlink()
        return published


def _checkpoint(path: Path) -> None:
    """Fold a leftover write-ahead log into the file, so that the renamed file is complete."""
    if not Path(f"{path}.wal").exists():
        return
    with duckdb.connect(str(path)) as con:
        con.execute("checkpoint")
