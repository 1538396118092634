"""The embedded sandbox a build runs on (``northstar run --sandbox``, what ``make run`` does).

Simulate the business and write its truth, serve it on a free local port, and point every
source at it and ``NORTHSTAR_SANDBOX_TRUTH`` at the truth. The Dagster ``nightly`` job then
runs as in production (ingestion, one ``dbt build``, the quality suites, the KPI checks), plus
the reconciliations with the truth that the setting turns on (orchestration/plugins.py), and
publishes when every blocking check passed.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from orchestration.plugins import TRUTH_SETTING
from sandbox.client_env import source_env
from sandbox.server import start_server
from sandbox.simulation import Simulation, simulate
from sandbox.truth import write_truth


def serve_sandbox(seed: int, start: date, as_of: date, scale: str, sandbox_dir: Path,
                  currencies: tuple[str, ...] | None = None):
    """Simulate, write the truth, start the server and point the sources and checks at it.

    Returns the running server (``shutdown()`` it).
    """
    sim = simulate(seed, start, as_of, scale, sandbox_dir / "ga4", currencies=currencies)
    return serve_simulation(sim, sandbox_dir)


def serve_simulation(sim: Simulation, sandbox_dir: Path):
    """Write ``sim``'s truth, serve its world on a free port, and point sources and checks at it."""
    write_truth(sim, sandbox_dir / "truth")
    server = start_server(sim.world, port=0)
    os.environ.update(source_env(server.base_url, sim.world.start, sim.world.as_of))
    os.environ[TRUTH_SETTING] = str((sandbox_dir / "truth").resolve())
    return server
