"""Extraction overlaps: sources extract at the same time, and Stripe's resources page in parallel.

Proved without a clock: the sandbox holds one request until a request it should overlap with
arrives (a meeting, not a sleep). Run one after the other, the held request would wait for a
request that can only come after it: the meeting would not happen, and the test fails after
``MEETING_TIMEOUT``. Everything still loads exactly (the reconciliations of Stripe's and GA4's
own tests run the same code).
"""

from __future__ import annotations

import subprocess
import sys
import threading

import dlt
import duckdb
import pytest

from ingestion.overlap import writers_turn
from ingestion.run import ingest
from sandbox.http import Request, Response
from sandbox.server import SandboxServer
from tests.ingestion.conftest import point_sources_at, query

#: Longest a held request waits for its meeting (a loaded 2-core machine is slow, not stuck).
MEETING_TIMEOUT = 120


class MeetingServer(SandboxServer):
    """A sandbox that holds the first request under ``hold`` until one under ``meet`` arrives."""

    def __init__(self, address: tuple[str, int], world, hold: str, meet: str) -> None:
        super().__init__(address, world)
        self.hold, self.meet = hold, meet
        self.arrived = threading.Event()
        self.met_while_held: bool | None = None

    def dispatch(self, request: Request) -> Response:
        if request.path.startswith(self.meet):
            self.arrived.set()
        elif request.path.startswith(self.hold):
            with self.lock:
                first = self.met_while_held is None
                if first:
                    self.met_while_held = False
            if first:
                self.met_while_held = self.arrived.wait(MEETING_TIMEOUT)
        return super().dispatch(request)


@pytest.fixture
def meeting(ingest_sim, request):
    hold, meet = request.param
    server = MeetingServer(("127.0.0.1", 0), ingest_sim.world, hold, meet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.arrived.set()
    server.shutdown()


@pytest.mark.parametrize("meeting", [("/v1/", "/ga4/")], indirect=True)
def test_sources_extract_at_the_same_time(monkeypatch, meeting, warehouse, expected_counts):
    """Stripe's first request is answered only once GA4 has asked for its files."""
    point_sources_at(monkeypatch, meeting)
    stripe, ga4 = ingest(["stripe", "ga4"])
    assert meeting.met_while_held is True
    assert (stripe.status, ga4.status) == ("loaded", "loaded")
    assert query(warehouse, "select count(*) from raw_stripe.customers")[0][0] == \
        expected_counts["stripe"]["customers"]
    assert query(warehouse, "select count(*) from raw_ga4.events")[0][0] == expected_counts["ga4"]["events"]


class BothWaysServer(SandboxServer):
    """Holds the first request under each of two prefixes until one under the other arrives:
    both meetings happen only when the two are in flight at once, whichever comes first."""

    def __init__(self, address: tuple[str, int], world, prefixes: tuple[str, str]) -> None:
        super().__init__(address, world)
        self.prefixes = prefixes
        self.arrived = {prefix: threading.Event() for prefix in prefixes}
        self.met: dict[str, bool] = {}

    def dispatch(self, request: Request) -> Response:
        for prefix, other in (self.prefixes, self.prefixes[::-1]):
            if request.path.startswith(prefix):
                self.arrived[prefix].set()
                with self.lock:
                    first = prefix not in self.met
                    if first:
                        self.met[prefix] = False
                if first:
                    self.met[prefix] = self.arrived[other].wait(MEETING_TIMEOUT)
        return super().dispatch(request)


def test_a_dagster_run_extracts_its_sources_together(monkeypatch, ingest_sim, warehouse, expected_counts):
    """The steps of a job run one at a time, yet Stripe's and GA4's extracts are in flight at
    once: the run's first ingestion step started both (orchestration/assets/extraction.py)."""
    from dagster import DagsterInstance, Definitions, define_asset_job, in_process_executor

    from orchestration.assets.ingestion import INGESTION_ASSETS
    from orchestration.resources import WarehouseResource

    server = BothWaysServer(("127.0.0.1", 0), ingest_sim.world, ("/v1/", "/ga4/"))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        point_sources_at(monkeypatch, server)
        assets = [a for a in INGESTION_ASSETS if a.node_def.name in ("ingest_stripe", "ingest_ga4")]
        job = define_asset_job("ingest", executor_def=in_process_executor)
        defs = Definitions(assets=assets, jobs=[job], resources={"warehouse": WarehouseResource()})
        result = defs.resolve_job_def("ingest").execute_in_process(instance=DagsterInstance.ephemeral(),
                                                                   raise_on_error=False)
    finally:
        for event in server.arrived.values():
            event.set()
        server.shutdown()
    assert result.success
    assert server.met == {"/v1/": True, "/ga4/": True}
    draft = WarehouseResource().run_draft(result.run_id)  # nothing publishes it in this job
    assert query(draft, "select count(*) from raw_stripe.customers")[0][0] == expected_counts["stripe"]["customers"]
    assert query(draft, "select count(*) from raw_ga4.events")[0][0] == expected_counts["ga4"]["events"]


@pytest.mark.parametrize("meeting", [("/v1/customers", "/v1/invoices")], indirect=True)
def test_stripe_resources_page_in_parallel(monkeypatch, meeting, warehouse, expected_counts):
    """The first customers page is answered only once invoices are being listed too."""
    point_sources_at(monkeypatch, meeting)
    [stripe] = ingest(["stripe"])
    assert meeting.met_while_held is True
    assert stripe.status == "loaded"
    for table in ("customers", "invoices", "subscriptions", "charges"):
        assert query(warehouse, f"select count(*) from raw_stripe.{table}")[0][0] == \
            expected_counts["stripe"][table], table


OPENS_FILE = "import duckdb, sys; duckdb.connect(sys.argv[1]).close()"


def _another_process_opens(path) -> bool:
    """Whether a second process can open ``path`` (DuckDB locks a file its writer holds)."""
    return subprocess.run([sys.executable, "-c", OPENS_FILE, str(path)], capture_output=True,
                          check=False, timeout=120).returncode == 0


def test_a_writers_turn_holds_the_file_across_dlt_and_lets_it_go(tmp_path):
    """dlt closes its connection after each piece of a load; within the writer's turn the file
    stays open (one open, one checkpoint), and after the turn nothing of this process holds it."""
    path = tmp_path / "northstar.duckdb"
    pipeline = dlt.pipeline("turn", destination=dlt.destinations.duckdb(credentials=str(path)),
                            dataset_name="raw_turn", pipelines_dir=str(tmp_path / "pipelines"))
    with writers_turn(pipeline):
        pipeline.run([{"id": 1}, {"id": 2}], table_name="rows")
        assert not _another_process_opens(path)  # dlt has closed its connections: the turn holds it
    assert _another_process_opens(path)
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("select id from raw_turn.rows order by id").fetchall() == [(1,), (2,)]
