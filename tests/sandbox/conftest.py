"""Shared sandbox worlds: simulated once per test session (simulation takes seconds)."""

from __future__ import annotations

from datetime import date

import pytest

from sandbox.simulation import Simulation, simulate
from sandbox.truth import write_truth

#: A year at small scale: enough customers for every movement type, fast to build.
START, AS_OF = date(2025, 1, 1), date(2026, 1, 1)


@pytest.fixture(scope="session")
def small_sim(tmp_path_factory) -> Simulation:
    return simulate(7, START, AS_OF, "small", tmp_path_factory.mktemp("ga4"))


@pytest.fixture(scope="session")
def small_truth(small_sim, tmp_path_factory):
    out = tmp_path_factory.mktemp("truth")
    write_truth(small_sim, out)
    return out
