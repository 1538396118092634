"""Every dbt model and seed as a Dagster asset; every dbt test (source tests too) as an asset check.

The nightly job runs ONE ``dbt build`` for whatever models the run selected (every dbt
invocation costs seconds of start-up and parsing), writing the run's draft warehouse in the
``warehouse`` pool. dagster-dbt needs the project's manifest at definition time:
``prepare_manifest()`` runs ``dbt parse`` when the manifest is missing or older than the project.

A dbt build that failed on a model error (a lock, a crash, a full disk) is retried once by
Dagster's RetryPolicy, and the retry runs ``dbt retry``: only the failed and skipped nodes run
again, from the first attempt's ``run_results.json``. Failed error-severity tests are data
problems a retry cannot fix: the step fails at once, naming them.
"""

# no `from __future__ import annotations`: Dagster reads the context annotation at definition time

import io
import logging
import os
import shutil
import sys
import time
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, redirect_stdout
from functools import cached_property
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetCheckResult,
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    Failure,
    MaterializeResult,
    Output,
    RetryPolicy,
)
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliInvocation,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)
from dagster_dbt.asset_utils import DAGSTER_DBT_UNIQUE_ID_METADATA_KEY, get_manifest_and_translator_from_dbt_assets
from dagster_dbt.dbt_project import DagsterDbtProjectPreparer
from packaging.version import Version

from ingestion.file_lock import waiting_for
from ingestion.warehouse import connect
from orchestration import build_inputs
from orchestration.dbt_project import PROJECT_DIR, failed_nodes, keep_partial_parse, kept_parse, reuse_partial_parse
from orchestration.jobs import INCREMENTAL, JOB_TAG
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource
from orchestration.storage_errors import problem_in_text
from orchestration.test_window import TEST_WINDOW_DAYS, TEST_WINDOW_ENV, data_test_window_days

#: dbt beside the running Python (the project's venv), whatever the PATH holds: a nightly
#: started as ``.venv/bin/northstar run`` has no ``.venv/bin`` on its PATH.
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))
#: The manifest Dagster reads, apart from target/ (an engineer's own dbt runs use the dev target).
DAGSTER_TARGET = Path("target") / "dagster"


class VenvDbtCliResource(DbtCliResource):
    """dagster-dbt's resource, knowing the version of this venv's dbt without asking it, and
    without a dbt adapter of its own.

    Before each invocation dagster-dbt runs ``dbt --version`` (Python's start-up and dbt's
    imports: 3-4 s here) to tell dbt Core from the Fusion engine; it caches the answer on the
    resource, which Dagster builds anew for every run, so every run's dbt step paid it once
    more. The executable is this venv's (``DBT_EXECUTABLE``), so its version is the installed
    dbt-core's; another executable is still asked."""

    @cached_property
    def _cli_version(self) -> Version:
        if Path(self.dbt_executable) == Path(DBT_EXECUTABLE):
            return Version(installed_version("dbt-core"))
        return super()._cli_version

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        """No dbt adapter in Dagster's process. dagster-dbt sets one up before every invocation
        (it loads the profile, the project and the adapter's macros: 1-3 s of the step, before
        dbt starts) for the event stream's metadata helpers alone (``fetch_row_counts``,
        ``fetch_column_metadata``), which these assets do not call; without an adapter the
        stream is dagster-dbt's plain one."""
        return None


class VenvDbtPreparer(DagsterDbtProjectPreparer):
    """dagster-dbt's preparer (``dbt parse``), run with the dbt of this venv, not PATH's."""

    def _prepare_manifest(self, project: DbtProject) -> None:
        resource = VenvDbtCliResource(project_dir=project, dbt_executable=DBT_EXECUTABLE)
        resource.cli(["parse", "--quiet"], target_path=project.target_path).wait()


DBT_PROJECT = DbtProject(project_dir=PROJECT_DIR, target_path=DAGSTER_TARGET, profiles_dir=PROJECT_DIR,
                         target="prod")
DBT_RETRY = RetryPolicy(max_retries=1, delay=10)
#: How DuckDB and PostgreSQL word a row that breaks a contract's constraint (lower case)
CONSTRAINT_VIOLATIONS = ("constraint error:", "violates not-null constraint", "violates check constraint")
#: Unit tests check SQL logic, not data: they run in development and CI (``make test``), not in
#: every nightly build (dbt's own advice), where they cost ~8 s of fixtures for nothing new.
NIGHTLY_BUILD_FLAGS = ("--exclude-resource-type", "unit_test")
RUN_TARGETS = PROJECT_DIR / DAGSTER_TARGET / "runs"
_KEEP_RUN_TARGETS = 5
_RUN_TARGET_MIN_AGE_S = 3600
#: The nightly's dbt parses, kept per warehouse (orchestration/dbt_project.py ``kept_parse``).
#: dagster-dbt copies ``partial_parse.msgpack`` only from the default ``target/``, which holds an
#: engineer's dev-target parse.
KEPT_PARSES = PROJECT_DIR / DAGSTER_TARGET / "partial_parses"
_PROJECT_INPUTS = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "tests/sql")


def prepare_manifest(project: DbtProject = DBT_PROJECT) -> Path:
    """``dbt parse`` when the manifest is missing or older than any project file (pitfall: the
    manifest exists only after a parse, and ``dagster dev`` is not the only way in).

    Every process that imports the code location calls this: under a lock beside the manifest,
    so that one parses while the others wait and then read the finished file, never a half
    written one or a second parse into the same folder."""
    manifest = project.manifest_path
    with waiting_for(manifest.with_name(".manifest.lock")):
        if not manifest.exists() or manifest.stat().st_mtime < _newest_project_file():
            VenvDbtPreparer().prepare(project)
    return manifest


def project_files() -> list[Path]:
    """The files a parse reads (``_PROJECT_INPUTS``), in a stable order: the manifest is parsed
    again when one is newer, and a build's record fingerprints their bytes (build_inputs)."""
    files: list[Path] = []
    for name in _PROJECT_INPUTS:
        root = PROJECT_DIR / name
        if root.is_file():
            files.append(root)
        elif root.exists():
            files += sorted(p for p in root.rglob("*") if p.is_file())
    return files


def _newest_project_file() -> float:
    return max((path.stat().st_mtime for path in project_files()), default=0.0)


class NorthstarDbtTranslator(DagsterDbtTranslator):
    """dagster-dbt's keys (sources ``[source, table]``, models ``[model]``), grouped by layer."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        """A model's key is its name alone. dagster-dbt would prefix the layer's schema
        (``metrics/mrr_summary``); the layer is the asset's group already, and the checks, the
        GX suites and the alerts name models as dbt does. Seeds keep ``seeds/<seed>``."""
        if dbt_resource_props.get("resource_type") == "model":
            return AssetKey(dbt_resource_props["name"])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props.get("resource_type") == "seed":
            return "seeds"
        layers = fqn[1:-1]
        if layers[:1] == ["marts"] and len(layers) > 1:
            return f"marts_{layers[1]}"
        return layers[0] if layers else "dbt"


TRANSLATOR = NorthstarDbtTranslator(settings=DagsterDbtTranslatorSettings(
    enable_asset_checks=True, enable_source_tests_as_checks=True,
    enable_duplicate_source_asset_keys=True,  # child tables share their parent resource's asset
))


@contextmanager
def _data_test_window(days: int | None) -> Iterator[None]:
    """Hand dbt the window through TEST_WINDOW_ENV for the invocation; without a window the
    variable is removed, so a value left in the environment cannot narrow a full-tests run."""
    previous = os.environ.pop(TEST_WINDOW_ENV, None)
    if days is not None:
        os.environ[TEST_WINDOW_ENV] = str(days)
    try:
        yield
    finally:
        os.environ.pop(TEST_WINDOW_ENV, None)
        if previous is not None:
            os.environ[TEST_WINDOW_ENV] = previous


def log_file_flags() -> tuple[str, ...]:
    """dbt's log file (dbt.log in the run's target folder) at info, not dbt's default debug, unless
    DBT_LOG_LEVEL_FILE says otherwise: at debug dbt formats and writes every statement it sends
    (10 MB a nightly), about 1 s of a 15 s build. Errors, warnings and each node's result stay in
    it, and the SQL each node ran stays in the folder's compiled/ and run/."""
    return () if os.environ.get("DBT_LOG_LEVEL_FILE") else ("--log-level-file", "info")


def run_target_path(run_id: str) -> Path:
    """dbt's target folder for one run: the retry reads the first attempt's run_results.json."""
    return RUN_TARGETS / run_id


def _prune_run_targets(keep: Path) -> None:
    """Keep the last runs' dbt folders (a retry reads its first attempt's); drop older ones, but
    never one touched in the last hour: another process's run may be using it."""
    if not RUN_TARGETS.exists():
        return
    recent = time.time() - _RUN_TARGET_MIN_AGE_S
    others = sorted((p for p in RUN_TARGETS.iterdir() if p != keep), key=lambda p: p.stat().st_mtime)
    for old in others[: max(0, len(others) - _KEEP_RUN_TARGETS + 1)]:
        if old.stat().st_mtime < recent:
            shutil.rmtree(old, ignore_errors=True)


@contextmanager
def _dbt_log_echo() -> Iterator[None]:
    """dagster-dbt echoes every dbt log line to stdout: the UI keeps it in the step's logs, a
    terminal run (``northstar run``, NORTHSTAR_QUIET_DBT=1) drops it for its own summary."""
    if os.environ.get("NORTHSTAR_QUIET_DBT"):
        with redirect_stdout(io.StringIO()):
            yield
    else:
        yield


def _raise_for_failures(target_path: Path, succeeded: bool, error: str) -> None:
    models, tests = failed_nodes(target_path)
    problem = problem_in_text(" ".join([error, *models]))
    if problem and (models or not succeeded):  # a full disk: a retry cannot fix it
        raise Failure(description=f"dbt build: {problem}", allow_retries=False)
    if not succeeded and not models and not tests:  # dbt stopped before any node (a lock, a bad profile)
        raise Failure(description=f"dbt build failed before running any node: {error}", allow_retries=True)
    if models:
        # rows breaking a contract's constraint (a mart's not_null or check) are bad data, as a
        # failed test is: a retry would build the same rows again
        bad_data = all(any(marker in line.lower() for marker in CONSTRAINT_VIOLATIONS) for line in models)
        raise Failure(description=f"dbt build: {len(models)} failed: " + "; ".join(models[:5]),
                      allow_retries=not bad_data)
    if tests:
        raise Failure(description=f"dbt build: {len(tests)} error-severity tests failed: " + "; ".join(tests[:5]),
                      allow_retries=False)


def _first_error(invocation: DbtCliInvocation) -> str:
    """The first error line dbt logged (e.g. DuckDB's lock error), for a one-line failure."""
    for message in invocation._error_messages:  # dagster-dbt keeps dbt's error events here
        lines = [line.strip() for line in str(message).splitlines() if line.strip()]
        if lines:
            return " ".join(lines)[:300]
    return "see the step's dbt logs"


def _as_results(events: Iterable[Any]) -> Iterator[Any]:
    """Events of an invocation without context (``dbt retry``) as results of this multi-asset."""
    for event in events:
        if isinstance(event, AssetMaterialization):
            yield MaterializeResult(asset_key=event.asset_key, metadata=event.metadata)
        elif isinstance(event, AssetCheckEvaluation):
            yield AssetCheckResult(asset_key=event.asset_key, check_name=event.check_name, passed=event.passed,
                                   severity=event.severity, metadata=event.metadata, description=event.description)
        elif isinstance(event, Output | AssetCheckResult | MaterializeResult):
            yield event


@dbt_assets(manifest=prepare_manifest(), project=DBT_PROJECT, dagster_dbt_translator=TRANSLATOR,
            name="dbt_build", pool=WAREHOUSE_POOL, retry_policy=DBT_RETRY)
def dbt_models(context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource) -> Iterator:
    target_path = run_target_path(context.run.run_id)
    _prune_run_targets(keep=target_path)
    # before `writing`: it points NORTHSTAR_WAREHOUSE, which the resource reads when no path is
    # set, at the run's draft, which always exists (a first build would window its tests)
    has_published = warehouse.published_path.exists()
    window = data_test_window_days(context.run.tags, has_published)
    kept = kept_parse(KEPT_PARSES, warehouse.draft_path(), [])
    # else the prepared manifest's parse (made with the published path: dbt may discard it)
    reuse_partial_parse(target_path, kept, fallback=DBT_PROJECT.manifest_path.with_name("partial_parse.msgpack"))
    log_flags = log_file_flags()
    manifest = get_manifest_and_translator_from_dbt_assets([context.assets_def])[0]  # parsed once, at load
    with warehouse.writing(context.run.run_id) as draft, _data_test_window(window), _dbt_log_echo():
        with connect(draft, read_only=False) as con:
            inputs = build_inputs.fingerprints(con, manifest, build_inputs.project_fingerprint(PROJECT_DIR,
                                                                                               project_files()))
            before = build_inputs.recorded(con)
        changed = build_inputs.changed_inputs(inputs, before)
        to_build = None  # the nightly: the whole selection
        _UNRUN_CHECKS.keys = frozenset()
        if context.run.tags.get(JOB_TAG) == INCREMENTAL:
            to_build = yield from _report_unchanged(context, manifest, changed, before)
        invocation = None
        retry = context.retry_number > 0 and (target_path / "run_results.json").exists()
        if not retry and to_build != {}:
            scope = f"the last {TEST_WINDOW_DAYS} days" if window else "every row"
            context.log.info(f"data tests on the incremental models read {scope}")
        if retry:
            context.log.info("resuming the failed dbt build with `dbt retry`")
            invocation = dbt.cli(["retry", *log_flags], manifest=DBT_PROJECT.manifest_path,
                                 dagster_dbt_translator=TRANSLATOR, target_path=target_path, raise_on_error=False)
            yield from _as_results(invocation.stream())
        elif to_build is None or to_build.keys() == set(context.selected_asset_keys):
            invocation = dbt.cli(["build", *NIGHTLY_BUILD_FLAGS, *log_flags], context=context,
                                 target_path=target_path, raise_on_error=False)
            yield from invocation.stream()
        elif to_build:
            invocation = yield from _build_changed(context, dbt, manifest, changed, to_build,
                                                   [*NIGHTLY_BUILD_FLAGS, *log_flags], target_path)
        built = invocation.is_successful() if invocation is not None else changed
        if built:  # a run that built nothing and read nothing new keeps the record of the last build
            with connect(draft, read_only=False) as con:
                build_inputs.record(con, inputs, context.run.run_id)
    if invocation is not None:
        keep_partial_parse(target_path, kept)
        _raise_for_failures(target_path, invocation.is_successful(), _first_error(invocation))


class _UnrunChecks(logging.Filter):
    """Drops Dagster's warning, one per check and downstream step, that a blocking check of the
    dbt step "emitted no result" when the check belongs to a model the incremental job left
    unchanged (its tests did not run: its data is the audited build's). The step says it once."""

    keys: frozenset[str] = frozenset()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "emitted no result in step 'dbt_build'" not in message:
            return True
        return message.split("'")[1] not in self.keys


_UNRUN_CHECKS = _UnrunChecks()
logging.getLogger("dagster._core.execution.plan.active").addFilter(_UNRUN_CHECKS)


def _report_unchanged(context: AssetExecutionContext, manifest: Mapping[str, Any], changed: set[str],
                      before: build_inputs.Recorded | None) -> Generator[MaterializeResult, None, dict[AssetKey, str]]:
    """The incremental job's selected models and seeds that no changed raw table reaches
    (orchestration/build_inputs.py), reported as they are: unchanged since the run that built
    them. Returns the keys to build with their dbt unique ids (every one without a record, or
    after a project change)."""
    stale = build_inputs.stale_nodes(manifest, changed)
    specs = context.assets_def.specs_by_key
    selected = {key: specs[key].metadata[DAGSTER_DBT_UNIQUE_ID_METADATA_KEY] for key in context.selected_asset_keys}
    to_build = {key: uid for key, uid in selected.items() if uid in stale}
    # Dagster takes a multi-asset's results upstream first; nothing unchanged is downstream of
    # a model to build (what reads a changed table is stale too), so the unchanged go first
    depth = build_inputs.depths(manifest)
    unchanged = sorted(selected.keys() - to_build.keys(), key=lambda key: (depth.get(selected[key], 0), selected[key]))
    since = before.run_id if before else "?"
    sources = manifest["sources"]
    read = to_build.keys() | {TRANSLATOR.get_asset_key(sources[uid]) for uid in stale if uid in sources}
    unrun = {key for key in context.selected_asset_check_keys if key.asset_key not in read}
    _UNRUN_CHECKS.keys = frozenset(key.to_user_string() for key in unrun)
    if unchanged:
        context.log.info(f"{len(to_build)} of {len(selected)} dbt models and seeds to build: the others read no "
                         f"raw table that changed since run {since}'s build, and their {len(unrun)} tests "
                         "do not run")
    for key in unchanged:
        yield MaterializeResult(asset_key=key, metadata={"rebuilt": False, "unchanged_since_run": since})
    return to_build


def _build_changed(context: AssetExecutionContext, dbt: DbtCliResource, manifest: Mapping[str, Any],
                   changed: set[str], to_build: Mapping[AssetKey, str], flags: Sequence[str],
                   target_path: Path) -> Generator[Any, None, DbtCliInvocation]:
    """``dbt build`` of the models in ``to_build``, their tests and the changed raw tables' source
    tests; only the results of this step's selected assets and checks are passed on."""
    models = sorted(manifest["nodes"][uid]["name"] for uid in to_build.values())
    sources = manifest["sources"]
    changed_sources = sorted(f"source:{sources[uid]['source_name']}.{sources[uid]['name']}"
                             for uid in changed if uid in sources)
    invocation = dbt.cli(["build", *flags, "--select", " ".join([*models, *changed_sources])],
                         manifest=DBT_PROJECT.manifest_path, dagster_dbt_translator=TRANSLATOR,
                         target_path=target_path, raise_on_error=False)
    checks = set(context.selected_asset_check_keys)
    for result in _as_results(invocation.stream()):
        if isinstance(result, AssetCheckResult):
            if result.asset_key is not None and AssetCheckKey(result.asset_key, result.check_name) in checks:
                yield result
        elif isinstance(result, MaterializeResult):
            if result.asset_key in to_build:
                yield result
        else:
            yield result
    return invocation


def dbt_resource() -> DbtCliResource:
    return VenvDbtCliResource(project_dir=DBT_PROJECT, target="prod", dbt_executable=DBT_EXECUTABLE)
