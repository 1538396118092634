"""Run any subset of the dlt sources into the warehouse, one line of outcome per source.

A source whose settings are missing is skipped with a note naming the settings (dlt's own
config resolution decides). An expected failure (an API refusing the credentials, say) stops
that source only and is reported in one line with no stack trace and no secret; the other
sources still load. Several sources extract at the same time, each in a thread of its own; only
their loads take turns at the warehouse (ingestion/overlap.py).
"""

from __future__ import annotations

import importlib
import inspect
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import dlt
from dlt.common.configuration.exceptions import ConfigFieldMissingException
from dlt.extract.source import DltSource
from dlt.pipeline.exceptions import PipelineStepFailed

from ingestion.common.errors import RETRYABLE_STATUSES, SourceHTTPError
from ingestion.common.notes import collecting_notes
from ingestion.common.redaction import redact
from ingestion.overlap import extract, import_shared_modules, load, restore
from ingestion.warehouse import make_pipeline

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


#: a source's pipeline restored from the warehouse, and the killed run's packages it discarded
Restored = tuple[dlt.Pipeline, list[str]]


def ingest_one(name: str, restored: Restored | None = None) -> SourceResult:
    """Load source ``name``; ``restored``: its pipeline already restored (``ingest`` restores
    every source's before any loads, so none waits behind another's load to start)."""
    began = time.perf_counter()
    try:
        source = configured_source(name)
    except SourceNotConfigured as exc:
        return SourceResult(name, "skipped", str(exc))
    try:
        if restored is None:
            pipeline = make_pipeline(name)
            restored = (pipeline, restore(pipeline))
        pipeline, discarded = restored
        prepared = extract(name, pipeline, source, discarded)
        load(prepared)
    except PipelineStepFailed as exc:
        line, _ = failure_line(name, exc)
        return SourceResult(name, "failed", line, seconds=time.perf_counter() - began)
    return SourceResult(name, "loaded", rows=prepared.rows, seconds=time.perf_counter() - began,
                        discarded=prepared.discarded)


def ingest_with_notes(name: str, restored: Restored | None = None) -> SourceResult:
    """``ingest_one``, with the warnings the source left (ingestion/common/notes.py) in ``notes``."""
    with collecting_notes(name) as notes:
        result = ingest_one(name, restored)
    result.notes = [scrub(note) for note in notes]
    return result


def ingest(names: Iterable[str] | None = None) -> list[SourceResult]:
    """Load the named sources (all when none are named); results in SOURCES order.

    The sources run at the same time, each in a thread (their extracts overlap, their loads
    take turns: ingestion/overlap.py), once each one's pipeline is restored from the warehouse.
    """
    wanted = list(names) if names else list(SOURCES)
    unknown = [n for n in wanted if n not in SOURCES]
    if unknown:
        raise ValueError(f"unknown source {', '.join(unknown)}: choose from {', '.join(SOURCES)}")
    ordered = [name for name in SOURCES if name in wanted]
    if len(ordered) == 1:
        return [ingest_with_notes(ordered[0])]
    import_shared_modules()
    restored = {}
    for name in ordered:
        pipeline = make_pipeline(name)
        restored[name] = (pipeline, restore(pipeline))
    with ThreadPoolExecutor(max_workers=len(ordered), thread_name_prefix="ingest") as pool:
        return list(pool.map(ingest_with_notes, ordered, [restored[name] for name in ordered]))
