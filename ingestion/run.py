"""Run any subset of the dlt sources into the warehouse, one line of outcome per source.

A source whose settings are missing is skipped with a note naming the settings (dlt's own
config resolution decides). An expected failure (an API refusing the credentials, say) stops
that source only and is reported in one line with no stack trace and no secret; the other
sources still load.
"""

from __future__ import annotations

import importlib
import inspect
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import dlt
from dlt.common.configuration.exceptions import ConfigFieldMissingException
from dlt.extract.source import DltSource
from dlt.pipeline.exceptions import PipelineStepFailed

from ingestion.common.errors import RETRYABLE_STATUSES, SourceHTTPError
from ingestion.common.notes import collecting_notes
from ingestion.common.redaction import redact
from ingestion.warehouse import discard_interrupted_loads, loader_file_format, make_pipeline

#: Every source, in load order; each lives in ingestion/sources/<name>.py as ``<name>_source``.
SOURCES = ("stripe", "ga4", "google_ads", "meta_ads", "linkedin_ads", "ecb_fx")
#: Public data every build needs (FX rates), with no account to connect: always configured, and
#: not enough on its own for a build worth running.
REFERENCE_SOURCES = ("ecb_fx",)


@dataclass
class SourceResult:
    name: str
    status: str  # loaded | skipped | failed
    message: str = ""
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    #: Load packages of a killed run that were discarded (and their data read again).
    discarded: list[str] = field(default_factory=list)
    #: what the source warned about (ingestion/common/notes.py), printed indented under its line
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        if self.status == "loaded":
            total = sum(self.rows.values())
            head = f"{self.name}: loaded {total} rows into {len(self.rows)} tables in {self.seconds:.1f}s"
            if self.discarded:
                head += " (a killed run's unfinished load was discarded and its data read again)"
        else:
            head = f"{self.name}: {self.status}: {self.message}"
        return "".join([head, *(f"\n  {note}" for note in self.notes)])


def scrub(text: str) -> str:
    """Replace every configured secret value (and anything shaped like a credential) in
    ``text`` with ``***``: the same rules as the log redaction."""
    return redact(text)


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost exception dlt wrapped (extraction errors nest several levels)."""
    seen = exc
    while True:
        if isinstance(seen, SourceHTTPError):
            return seen
        nxt = seen.__cause__ or seen.__context__
        if nxt is None or nxt is seen:
            return seen
        seen = nxt


def _load_source(name: str):
    module = importlib.import_module(f"ingestion.sources.{name}")
    return getattr(module, f"{name}_source")


class SourceNotConfigured(Exception):
    """A source's settings are missing: it cannot run (the message names the settings)."""


def configured_source(name: str) -> DltSource:
    """The dlt source ``name`` built from dlt's config, or SourceNotConfigured naming what is missing."""
    try:
        return _load_source(name)()
    except ConfigFieldMissingException as exc:
        missing = ", ".join(f"SOURCES__{name.upper()}__{f.upper()}" for f in exc.fields)
        raise SourceNotConfigured(f"not configured (set {missing})") from None


def configured_sources() -> list[str]:
    """The sources whose settings are all present (dlt's config: secrets.toml, config.toml, env)."""
    configured = []
    for name in SOURCES:
        try:
            configured_source(name)
        except SourceNotConfigured:
            continue
        configured.append(name)
    return configured


def source_resources(name: str) -> DltSource:
    """The source with placeholder settings, to list its resources without config or network.

    Sources only build clients and generators when called; nothing is requested until a
    pipeline iterates them, so placeholders are safe for describing (Dagster's asset specs).
    """
    function = _load_source(name)
    required = [p for p, spec in inspect.signature(function).parameters.items()
                if spec.default in (dlt.config.value, dlt.secrets.value)]
    return function(**{p: "placeholder" for p in required})


def failure_line(name: str, exc: PipelineStepFailed) -> tuple[str, bool]:
    """(one scrubbed line naming what failed, whether retrying later could help)."""
    cause = _root_cause(exc)
    message = str(cause) if isinstance(cause, SourceHTTPError) else f"{type(cause).__name__}: {cause}"
    first_line = (message.splitlines() or [type(cause).__name__])[0].removeprefix(f"{name}: ")
    retryable = not isinstance(cause, SourceHTTPError) or cause.status in RETRYABLE_STATUSES or cause.status == 0
    return scrub(first_line), retryable


def loaded_rows(pipeline: dlt.Pipeline) -> dict[str, int]:
    """Rows normalised per table by the pipeline's last run (dlt's own tables left out)."""
    info = pipeline.last_trace.last_normalize_info if pipeline.last_trace else None
    rows = dict(info.row_counts) if info else {}
    return {table: count for table, count in rows.items() if not table.startswith("_dlt")}


def ingest_one(name: str) -> SourceResult:
    began = time.perf_counter()
    try:
        source = configured_source(name)
    except SourceNotConfigured as exc:
        return SourceResult(name, "skipped", str(exc))
    pipeline = make_pipeline(name)
    discarded: list[str] = []
    try:
        discarded = discard_interrupted_loads(pipeline)
        pipeline.run(source, loader_file_format=loader_file_format())
    except PipelineStepFailed as exc:
        line, _ = failure_line(name, exc)
        return SourceResult(name, "failed", line, seconds=time.perf_counter() - began)
    return SourceResult(name, "loaded", rows=loaded_rows(pipeline), seconds=time.perf_counter() - began,
                        discarded=discarded)


def ingest_with_notes(name: str) -> SourceResult:
    """``ingest_one``, with the warnings the source left (ingestion/common/notes.py) in ``notes``."""
    with collecting_notes(name) as notes:
        result = ingest_one(name)
    result.notes = [scrub(note) for note in notes]
    return result


def ingest(names: Iterable[str] | None = None) -> list[SourceResult]:
    """Load the named sources (all when none are named) in SOURCES order."""
    wanted = list(names) if names else list(SOURCES)
    unknown = [n for n in wanted if n not in SOURCES]
    if unknown:
        raise ValueError(f"unknown source {', '.join(unknown)}: choose from {', '.join(SOURCES)}")
    return [ingest_with_notes(name) for name in SOURCES if name in wanted]
