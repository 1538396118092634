"""Ingestion tests run the real dlt sources against a real sandbox server and a real DuckDB file."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from sandbox.client_env import source_env
from sandbox.faults import FaultPlan
from sandbox.server import start_server
from sandbox.simulation import Simulation, simulate
from sandbox.truth import Truth

#: Four months at small scale: every kind of object, quick to load.
START, AS_OF = date(2025, 1, 1), date(2025, 5, 1)
GOOGLE_CUSTOMER, META_ACCOUNT, LINKEDIN_ACCOUNT = "4815162342", "1029384756", "508123456"


@pytest.fixture(scope="session")
def ingest_sim(tmp_path_factory) -> Simulation:
    return simulate(11, START, AS_OF, "small", tmp_path_factory.mktemp("ingest_ga4"))


@pytest.fixture(scope="session")
def expected_counts(ingest_sim) -> dict:
    sim = ingest_sim
    return Truth(sim, sim.stripe_catalog.price_refs, sim.stripe_catalog.coupon_objects).expected_counts()


@pytest.fixture(scope="session")
def sandbox(ingest_sim):
    """A fault-free server over the session's world."""
    server = start_server(ingest_sim.world, port=0)
    yield server
    server.shutdown()


@pytest.fixture
def faulty_sandbox(ingest_sim, monkeypatch):
    """The same world with 5xx and 429 answers on demand. Retry-After: 0 makes dlt fall back to
    its exponential backoff after a 5xx or a 429 (1, 2, 4 s ... by default: ~19 s of sleep in
    the GA4 and Stripe fault tests), so its factor is made negligible here too."""
    monkeypatch.setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "0.01")
    server = start_server(ingest_sim.world, port=0, faults=FaultPlan(seed=3, error_rate=0.2, rate_limit_rate=0.1,
                                                                      retry_after_seconds=0))
    yield server
    server.shutdown()


@pytest.fixture
def warehouse(tmp_path, monkeypatch):
    """A fresh warehouse file, named through NORTHSTAR_WAREHOUSE like every real run."""
    path = tmp_path / "warehouse" / "northstar.duckdb"
    monkeypatch.setenv("NORTHSTAR_WAREHOUSE", str(path))
    return path


def point_sources_at(monkeypatch, server) -> None:
    """Configure every source for a sandbox server through dlt's environment variables."""
    for key, value in source_env(server.base_url, server.world.start, server.world.as_of).items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def sandbox_env(monkeypatch, sandbox, warehouse):
    point_sources_at(monkeypatch, sandbox)
    return sandbox


def query(path, sql: str, parameters: list | None = None) -> list[tuple]:
    """Read the warehouse with a short-lived connection (DuckDB: one writer per file)."""
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, parameters).fetchall()
