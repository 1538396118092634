"""GX's own Data Docs of the suites' results: ``<warehouse folder>/quality_docs/index.html``.

Validations share one GX context per step (:class:`QualityDocs`): the suites and each
validation result (one per chunk a table was read in) are kept in GX's stores on disk
(``quality_docs/.gx/``). GX's index lists what its stores hold, so the stores are files: the
steps of a run (raw suites, marts, anomalies), each a process of its own, and the runs before
it all appear in one index.

:meth:`QualityDocs.build` renders the pages of the results and suites its step recorded, then
the index; the pages of earlier steps and runs are on disk already. Rendering every stored
result again in every step (GX's default) cost more with each run, and so did keeping them all:
a 15-minute job adds a run's results 96 times a day. So each suite keeps the results of its
last ``KEEP_RUNS_PER_SUITE`` runs (``NORTHSTAR_QUALITY_DOCS_RUNS``), pages and all.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuiteValidationResult
    from great_expectations.data_context import AbstractDataContext

#: The folder of the site, next to the warehouse file it documents.
DOCS_FOLDER = "quality_docs"
_SITE = "quality_docs"
_STORES = ".gx"  # GX's stores of suites and results, inside the site's folder
#: Runs of each suite whose results the site keeps (the newest; older ones are deleted).
KEEP_RUNS_PER_SUITE = 30


def kept_runs_per_suite() -> int:
    """``NORTHSTAR_QUALITY_DOCS_RUNS``, else ``KEEP_RUNS_PER_SUITE``; a whole number, 1 or more."""
    setting = os.environ.get("NORTHSTAR_QUALITY_DOCS_RUNS") or str(KEEP_RUNS_PER_SUITE)
    if not setting.strip().isdigit() or int(setting) < 1:
        raise ValueError(f"NORTHSTAR_QUALITY_DOCS_RUNS is {setting!r}: expected the number of runs "
                         "whose results each suite keeps in the Data Docs, 1 or more")
    return int(setting)


def docs_folder(warehouse: Path) -> Path:
    """Where the Data Docs of ``warehouse``'s checks go: the folder next to it (never the
    draft's: a run's draft folder is deleted when it is published)."""
    return warehouse.parent / DOCS_FOLDER


def gx_context(site: Path | None = None) -> AbstractDataContext:
    """An in-memory GX context; with ``site``, one whose stores and Data Docs are in that folder.

    Analytics and progress bars off: a check run must not phone home nor fill logs with bars.
    """
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        FilesystemStoreBackendDefaults,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    sites = {} if site is None else {_SITE: {
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(site)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }}
    stores = (InMemoryStoreBackendDefaults() if site is None
              else FilesystemStoreBackendDefaults(root_directory=str(site / _STORES)))
    config = DataContextConfig(store_backend_defaults=stores, analytics_enabled=False,
                               progress_bars=ProgressBarsConfig(globally=False), data_docs_sites=sites)
    return gx.get_context(mode="ephemeral", project_config=config)


class QualityDocs:
    """Collects validation results in one GX context and renders them as Data Docs."""

    def __init__(self, folder: Path, run_name: str) -> None:
        self.folder = folder
        self.run_name = run_name  # the Dagster run id: pages of one run sit together
        folder.mkdir(parents=True, exist_ok=True)
        self.context = gx_context(folder)
        self._recorded: list = []  # the keys of this step's results, the pages build() renders

    def record(self, suite: str, batch: str, result: ExpectationSuiteValidationResult) -> None:
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        key = ValidationResultIdentifier(ExpectationSuiteIdentifier(name=suite),
                                         RunIdentifier(run_name=self.run_name), batch)
        self.context.validation_results_store.set(key, result)
        self._recorded.append(key)

    def build(self) -> Path:
        """Drop each recorded suite's results beyond its last runs, render the pages of this
        step's results and suites, then the index of all; return the site's index.html."""
        if not self._recorded:  # GX reads no identifiers as "render everything": nothing new to show
            return self.folder / "index.html"
        suites = {key.expectation_suite_identifier.name: key.expectation_suite_identifier for key in self._recorded}
        for suite in suites:
            self._prune(suite)
        self.context.build_data_docs(site_names=[_SITE],
                                     resource_identifiers=[*self._recorded, *suites.values()])
        return self.folder / "index.html"

    def _prune(self, suite: str) -> None:
        """Delete ``suite``'s results, and their pages, of all but its newest runs."""
        keep = kept_runs_per_suite()
        stored = self.folder / _STORES / "uncommitted" / "validations" / suite
        if not stored.is_dir():
            return
        runs = sorted((run for run in stored.iterdir() if run.is_dir()), key=lambda run: run.stat().st_mtime,
                      reverse=True)
        for run in runs[keep:]:
            if run.name == self.run_name:
                continue
            shutil.rmtree(run, ignore_errors=True)
            shutil.rmtree(self.folder / "validations" / suite / run.name, ignore_errors=True)
