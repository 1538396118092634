"""Serve a simulated world and load it by every real source: what the dbt, engine and GA4-path
tests share before each builds its own way; and ``once_per_run``, for a world that several test
files read alike."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from ingestion.file_lock import waiting_for
from ingestion.run import ingest
from sandbox.client_env import source_env
from sandbox.server import start_server
from sandbox.simulation import Simulation


def serve_and_load(sim: Simulation, env: Mapping[str, str],
                   server_env: Callable[[str], Mapping[str, str]] | None = None) -> None:
    """Serve ``sim`` on a free port and run ``ingest()`` with ``env`` (the warehouse or engine)
    plus the sources pointed at the server (and ``server_env(base_url)``, e.g. BigQuery's
    endpoint); every source must load."""
    server = start_server(sim.world, port=0)
    with pytest.MonkeyPatch.context() as patch:
        settings = {**env, **source_env(server.base_url, sim.world.start, sim.world.as_of)}
        settings.update(server_env(server.base_url) if server_env else {})
        for key, value in settings.items():
            patch.setenv(key, value)
        try:
            results = ingest()
        finally:
            server.shutdown()
    assert all(r.status == "loaded" for r in results), [r.line() for r in results]


def once_per_run(tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], None]) -> Path:
    """The folder ``name`` that every xdist worker of this run shares (the parent of each
    worker's base temporary folder; without xdist, the run's own), made by ``make(folder)`` the
    first time a test needs it: under a lock, so a worker that needs it meanwhile waits and then
    reads the finished folder. A worker that failed half-way leaves no ``.done``, and the next
    one starts again. Whoever writes a DuckDB file there must leave it checkpointed, and the
    readers copy it: DuckDB lets one process at a time write a file.
    """
    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / name
    with waiting_for(root.with_name(f"{name}.lock")):
        if not (root / ".done").exists():
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir(parents=True)
            make(root)
            (root / ".done").touch()
    return root
