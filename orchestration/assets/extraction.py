"""The extracts of a run's sources, started together by its first ingestion step.

The jobs run in one process, one step at a time (orchestration/jobs.py says why), and every
``ingest_<source>`` step writes the draft, in the ``warehouse`` pool. Run one after another,
each source would wait for the previous one's API. So the first ingestion step of a run starts
the extract + normalize of every source the run loads, each in a thread of its own and outside
the pool (they write only their pipeline's folder: ingestion/overlap.py), and each step then
waits for its own source's extract and loads it, in the pool. The steps, their retries and their
failures stay one per source: a source that fails fails its own step alone, and a retry of a
step extracts again in the step itself. great_expectations' import starts then too, for the
quality steps later in the run (orchestration/quality/warmup.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from concurrent.futures import Future, wait

from dagster import AssetExecutionContext, AssetKey, AssetsDefinition

from ingestion.overlap import Prepared, import_shared_modules
from orchestration.quality.warmup import import_in_background

#: source name -> (its asset keys to load, the call that extracts and normalizes them)
Extracts = dict[str, tuple[frozenset[AssetKey], Callable[[], Prepared]]]


def run_sources(context: AssetExecutionContext, assets: Collection[AssetsDefinition]) -> dict[str, frozenset[AssetKey]]:
    """Each ingestion step this run will execute -> the asset keys it will materialize."""
    run = context.run
    nodes = context.job_def.graph.node_dict
    steps = run.step_keys_to_execute  # None: every step of the job
    selected = run.asset_selection or None  # None (or empty, as a job's own run has it): every asset of the job
    wanted = {}
    for assets_def in assets:
        step = assets_def.node_def.name
        if step not in nodes or (steps is not None and step not in steps):
            continue
        keys = frozenset(assets_def.keys if selected is None else assets_def.keys & selected)
        if keys:
            wanted[step.removeprefix("ingest_")] = keys
    return wanted


class RunExtracts:
    """The extracts started for each run (by run id), taken by the steps that load them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started: dict[str, dict[str, tuple[frozenset[AssetKey], Future[Prepared]]]] = {}

    def start(self, run_id: str, extracts: Callable[[], Extracts]) -> None:
        """Start the run's ``extracts()`` (called here, in the step's thread), once per run."""
        with self._lock:
            if run_id in self._started:
                return
            import_shared_modules()
            self._started[run_id] = {name: (keys, _in_daemon_thread(call, f"extract-{name}"))
                                     for name, (keys, call) in extracts().items()}
        import_in_background()

    def take(self, run_id: str, name: str, keys: Collection[AssetKey]) -> Future[Prepared] | None:
        """The extract of ``name`` started for this run with exactly ``keys``, once; else None
        (a retry, or a step subset otherwise: the step extracts for itself)."""
        with self._lock:
            entry = self._started.get(run_id, {}).pop(name, None)
        if entry is None:
            return None
        if entry[0] != frozenset(keys):
            wait([entry[1]])  # it writes the pipeline's folder: let it end before the step's own
            return None
        return entry[1]


def _in_daemon_thread(call: Callable[[], Prepared], name: str) -> Future[Prepared]:
    """``call()`` in a daemon thread: a run stopped by a signal exits at once, as it did when
    extracts ran in its steps, instead of waiting for them (their half-written folders are a
    killed run's, discarded by the next run: ingestion.warehouse.discard_interrupted_loads)."""
    future: Future[Prepared] = Future()
    future.set_running_or_notify_cancel()

    def run() -> None:
        try:
            future.set_result(call())
        except BaseException as exc:  # noqa: BLE001 - handed to the step that loads it
            future.set_exception(exc)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future


RUN_EXTRACTS = RunExtracts()
