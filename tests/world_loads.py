"""Serve a simulated world and load it by every real source: what the dbt, engine and GA4-path
tests share before each builds its own way."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest

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
