"""The small sandbox world the engine comparisons load, once per engine, by the real sources.

Four months of the small scale: every metric mart has rows (MRR movements, cohorts, attribution,
funnel) while a load and a build stay short. The sandbox is deterministic, so two loads of one
(seed, dates, scale) serve the same rows to each engine.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from sandbox.simulation import Simulation, simulate
from tests.dbt_helpers import failures, run_dbt
from tests.world_loads import serve_and_load

START, AS_OF = date(2025, 1, 1), date(2025, 5, 1)


def small_world(root: Path) -> Simulation:
    return simulate(7, START, AS_OF, "small", root / "ga4")


def load(sim: Simulation, env: dict[str, str]) -> None:
    """Serve ``sim`` and load it by every real source into the engine ``env`` names."""
    serve_and_load(sim, env)


def build(env: dict[str, str], target_path: Path, args: tuple[str, ...] = ()) -> None:
    """One ``dbt build`` of the whole project on the engine ``env`` names (NORTHSTAR_TARGET)."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        result = run_dbt(["build", *args], target_path=target_path)
    assert result.success, failures(result)
