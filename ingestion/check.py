"""``northstar check``: can each configured source be reached with its settings, right now?

Each source gets one cheap authenticated request through its own code path (the same client,
auth, token refresh and API-version headers a nightly uses): the first page of one small
resource, extracted by a throwaway dlt pipeline into a temporary folder. Nothing is written to
the warehouse and no cursor moves. GA4's export files are listed rather than read.

Every message is scrubbed of secrets (``ingestion.run.scrub``) before it is shown.
"""

from __future__ import annotations

import inspect
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta

import dlt
import fsspec
from dlt.pipeline.exceptions import PipelineStepFailed

from ingestion.run import (
    SOURCES,
    SourceNotConfigured,
    _load_source,
    configured_source,
    failure_line,
    scrub,
)

#: The resource whose first page answers "reachable?" cheaply, per source.
PROBE_RESOURCE = {
    "stripe": "products",
    "google_ads": "campaigns",
    "meta_ads": "campaigns",
    "linkedin_ads": "campaigns",
    "ecb_fx": "daily_rates",
}
#: The ECB answers a first load with every rate since 1999: the check asks for the last weeks.
ECB_PROBE_DAYS = 14


@dataclass
class CheckResult:
    source: str
    settings: str  # "set ..." or "missing ..." (setting names, never values)
    reachable: str  # yes | no | - (not tried)
    api_version: str
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.reachable == "yes"


def required_settings(name: str) -> list[str]:
    """The environment form of every setting the source cannot run without."""
    parameters = inspect.signature(_load_source(name)).parameters.items()
    return [f"SOURCES__{name.upper()}__{p.upper()}" for p, spec in parameters
            if spec.default in (dlt.config.value, dlt.secrets.value)]


def api_version(name: str) -> str:
    """The API version the source will use: its setting, else the source's default."""
    parameter = inspect.signature(_load_source(name)).parameters.get("api_version")
    if parameter is None:
        return "-"
    configured = dlt.config.get(f"sources.{name}.api_version", str)
    return str(configured or parameter.default)


def check_source(name: str) -> CheckResult:
    version = api_version(name)
    try:
        source = configured_source(name)
    except SourceNotConfigured as exc:
        prefix = f"SOURCES__{name.upper()}__"
        missing = str(exc).removeprefix("not configured (set ").rstrip(")").replace(prefix, "").lower()
        return CheckResult(name, f"missing {missing}", "-", version, "not configured")
    if name == "ecb_fx":
        source = _load_source(name)(start_date=(date.today() - timedelta(days=ECB_PROBE_DAYS)).isoformat())
    try:
        detail = _probe(name, source)
    except PipelineStepFailed as exc:
        line, _ = failure_line(name, exc)
        return CheckResult(name, _present(name), "no", version, line)
    except Exception as exc:  # noqa: BLE001 - any failure to reach a source is this row's answer
        first = (str(exc).splitlines() or [""])[0]
        reason = scrub(f"{type(exc).__name__}: {first}")[:200]
        return CheckResult(name, _present(name), "no", version, reason)
    return CheckResult(name, _present(name), "yes", version, detail)


def _present(name: str) -> str:
    prefix = f"SOURCES__{name.upper()}__"
    required = [s.removeprefix(prefix).lower() for s in required_settings(name)]
    return "set " + ", ".join(required) if required else "none required"


def _probe(name: str, source: dlt.sources.DltSource) -> str:
    if name == "ga4":
        return _probe_ga4()
    resource = PROBE_RESOURCE[name]
    with tempfile.TemporaryDirectory(prefix="northstar_check_") as folder:
        pipeline = dlt.pipeline(pipeline_name=f"northstar_check_{name}", pipelines_dir=folder)
        info = pipeline.extract(source.with_resources(resource).add_limit(1))
        count = sum(m["items_count"] for m in info.asdict()["job_metrics"] if m["table_name"] == resource)
    return f"read {count} {resource} from the first page"


def _probe_ga4() -> str:
    from ingestion.sources.ga4 import list_day_files

    bucket_url = dlt.config["sources.ga4.bucket_url"]
    if bucket_url.startswith("bigquery://"):
        from ingestion.sources.ga4_bigquery import probe

        return probe(bucket_url)
    fs, root = fsspec.core.url_to_fs(bucket_url)
    files = list_day_files(fs, root)
    if not files:
        raise FileNotFoundError(f"no events_YYYYMMDD files under {bucket_url}")
    return f"{len(files)} daily export files, {files[0][0]} .. {files[-1][0]}"


def check_all() -> list[CheckResult]:
    return [check_source(name) for name in SOURCES]


def table(results: list[CheckResult]) -> str:
    """The results as an aligned plain-text table."""
    header = ("source", "settings (SOURCES__<SOURCE>__<NAME>)", "reachable", "api version", "detail")
    rows = [header, *((r.source, r.settings, r.reachable, r.api_version, r.reason) for r in results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
        for row in rows
    )
