"""No empty success: an answer without its envelope, or not JSON at all, fails its source.

A real sandbox server serves the session's world, except that one endpoint answers 200 with a
body that is not what the API sends there (``{}``, or text that is not JSON). dlt's
``data_selector`` reads a missing key as an empty page, so without a check the source would
report "loaded 0 rows" and exit 0. Each source must instead fail in one line naming the
endpoint, with no traceback through the CLI, and the other source of the run must still load.
An empty list in the envelope (``"data": []``) is an honest empty answer and still loads.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import duckdb
import pytest

from ingestion.run import ingest
from ingestion.sources.google_ads import DEFAULT_API_VERSION as GOOGLE_VERSION
from ingestion.sources.meta_ads import DEFAULT_API_VERSION as META_VERSION
from orchestration.cli import main
from sandbox.http import Request, Response
from sandbox.server import SandboxServer
from tests.ingestion.conftest import GOOGLE_CUSTOMER, META_ACCOUNT, point_sources_at

NOT_JSON = b"not json"
JSON_ERROR = "Expecting value: line 1 column 1 (char 0)"
ECB_PATH = "/service/data/EXR/D..EUR.SP00.A"

#: source -> (the endpoint answering badly, what its envelope lacks in ``{}``, a source that
#: still loads beside it)
ENDPOINTS = {
    "stripe": ("/v1/customers", 'no "data" key', "ecb_fx"),
    "google_ads": (
        f"/{GOOGLE_VERSION}/customers/{GOOGLE_CUSTOMER}/googleAds:searchStream",
        "not a list of result batches",
        "ecb_fx",
    ),
    "meta_ads": (f"/{META_VERSION}/act_{META_ACCOUNT}/insights", 'no "data" key', "ecb_fx"),
    "linkedin_ads": ("/rest/adAnalytics", 'no "elements" key', "ecb_fx"),
}


class BadAnswerServer(SandboxServer):
    """The sandbox, except that ``path`` answers 200 with ``body`` whatever was asked."""

    def __init__(self, world, path: str, body: bytes, content_type: str = "application/json"):
        super().__init__(("127.0.0.1", 0), world)
        self.bad_path, self.bad_body, self.content_type = path, body, content_type

    def dispatch(self, request: Request) -> Response:
        if request.path == self.bad_path:
            return Response(200, self.bad_body, {"Content-Type": self.content_type})
        return super().dispatch(request)


@pytest.fixture
def serve_bad(ingest_sim, monkeypatch, warehouse) -> Iterator:
    servers: list[SandboxServer] = []

    def start(path: str, body: bytes, content_type: str = "application/json") -> SandboxServer:
        server = BadAnswerServer(ingest_sim.world, path, body, content_type)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        point_sources_at(monkeypatch, server)
        return server

    yield start
    for server in servers:
        server.shutdown()


def _cli(capfd, *sources: str) -> tuple[int, list[str], str]:
    code = main(["ingest", *sources])
    out, err = capfd.readouterr()
    return code, err.splitlines(), out + err


def _assert_fails_in_one_line(capfd, name: str, other: str, expected: str) -> None:
    code, err_lines, everything = _cli(capfd, name, other)
    assert code == 1
    assert f"{name}: failed: {expected}" in err_lines, everything
    assert "Traceback" not in everything
    assert f"{other}: loaded " in everything


@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_an_answer_without_its_envelope_fails_the_source_naming_the_endpoint(
    name, serve_bad, capfd
):
    path, lacks, other = ENDPOINTS[name]
    serve_bad(path, b"{}")
    _assert_fails_in_one_line(capfd, name, other, f"unexpected answer from {path}: {lacks}")


@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_invalid_json_fails_the_source_naming_the_endpoint(name, serve_bad, capfd):
    path, _, other = ENDPOINTS[name]
    serve_bad(path, NOT_JSON)
    _assert_fails_in_one_line(capfd, name, other, f"invalid JSON from {path}: {JSON_ERROR}")


def test_an_ecb_answer_that_is_not_its_csv_fails_naming_the_endpoint(serve_bad, capfd):
    """The ECB answers CSV: a 200 without its columns (an HTML page, say) is not 0 rates."""
    serve_bad(ECB_PATH, b"<html><body>Service maintenance</body></html>\n", "text/html")
    _assert_fails_in_one_line(
        capfd, "ecb_fx", "meta_ads",
        f"unexpected answer from {ECB_PATH}: no CURRENCY, OBS_VALUE, TIME_PERIOD columns",
    )


#: source -> an honest empty answer of its stats endpoint (Google's empty stream is one batch
#: without ``results``: proto3 JSON leaves an empty list out)
EMPTY_STATS = {
    "meta_ads": (f"/{META_VERSION}/act_{META_ACCOUNT}/insights", b'{"data":[],"paging":{}}'),
    "linkedin_ads": (
        "/rest/adAnalytics", b'{"elements":[],"paging":{"start":0,"count":100,"total":0}}'
    ),
    "google_ads": (ENDPOINTS["google_ads"][0], b'[{"fieldMask":"segments.date","requestId":"r1"}]'),
}


@pytest.mark.parametrize("name", list(EMPTY_STATS))
def test_an_empty_list_is_an_empty_answer_not_a_failure(name, serve_bad, warehouse):
    serve_bad(*EMPTY_STATS[name])
    [result] = ingest([name])
    assert result.status == "loaded", result.line()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = {t for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = ?",
            [f"raw_{name}"]).fetchall()}
        counts = {t: con.execute(f"select count(*) from raw_{name}.{t}").fetchone()[0]
                  for t in ("campaigns", "campaign_stats_daily") if t in tables}
    assert counts.get("campaign_stats_daily", 0) == 0
    if name == "google_ads":  # one stream serves both resources: both are empty there
        assert counts.get("campaigns", 0) == 0
    else:
        assert counts["campaigns"] > 0


def test_stripe_without_refunds_loads_an_empty_refunds_table(serve_bad, warehouse):
    serve_bad("/v1/refunds", b'{"object":"list","data":[],"has_more":false,"url":"/v1/refunds"}')
    [result] = ingest(["stripe"])
    assert result.status == "loaded", result.line()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from raw_stripe.refunds").fetchone() == (0,)
        assert con.execute("select count(*) from raw_stripe.customers").fetchone()[0] > 0
