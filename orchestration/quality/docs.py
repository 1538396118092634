"""GX's own Data Docs of the suites' results: ``<warehouse folder>/quality_docs/index.html``.

Validations share one GX context per step (:class:`QualityDocs`): the suites and each
validation result (one per chunk a table was read in) are kept in GX's stores on disk
(``quality_docs/.gx/``), and :meth:`QualityDocs.build` renders every result the stores hold as
HTML into the folder. GX's index lists what its stores hold, so the stores are files: the
steps of a run (raw suites, marts, anomalies), each a process of its own, and the runs before
it all appear in one index.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuiteValidationResult
    from great_expectations.data_context import AbstractDataContext

#: The folder of the site, next to the warehouse file it documents.
DOCS_FOLDER = "quality_docs"
_SITE = "quality_docs"
_STORES = ".gx"  # GX's stores of suites and results, inside the site's folder


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

    def record(self, suite: str, batch: str, result: ExpectationSuiteValidationResult) -> None:
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        key = ValidationResultIdentifier(ExpectationSuiteIdentifier(name=suite),
                                         RunIdentifier(run_name=self.run_name), batch)
        self.context.validation_results_store.set(key, result)

    def build(self) -> Path:
        """Render the suites and results recorded so far; return the site's index.html."""
        self.context.build_data_docs(site_names=[_SITE])
        return self.folder / "index.html"
