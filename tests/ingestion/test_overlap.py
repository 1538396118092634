"""Extraction overlaps: sources extract at the same time, and Stripe's resources page in parallel.

Proved without a clock: the sandbox holds one request until a request it should overlap with
arrives (a meeting, not a sleep). Run one after the other, the held request would wait for a
request that can only come after it: the meeting would not happen, and the test fails after
``MEETING_TIMEOUT``. Everything still loads exactly (the reconciliations of Stripe's and GA4's
own tests run the same code).
"""

from __future__ import annotations

import threading

import pytest

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
