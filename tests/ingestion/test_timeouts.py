"""A server that accepts and never answers fails its source in one line; the others still load.

The hanging server is a real TCP listener that accepts every connection and never writes a
byte. Timeouts and retries come from the settings users set (``SOURCES__<NAME>__READ_TIMEOUT``,
``RUNTIME__REQUEST_MAX_ATTEMPTS``); the assertions are on outcomes, never on elapsed time.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from ingestion.run import ingest
from ingestion.sources.google_ads import DEFAULT_API_VERSION as GOOGLE_VERSION
from ingestion.sources.meta_ads import DEFAULT_API_VERSION as META_VERSION
from ingestion.sources.stripe import ENDPOINTS
from tests.ingestion.conftest import GOOGLE_CUSTOMER, LINKEDIN_ACCOUNT, META_ACCOUNT

READ_TIMEOUT = "0.5"


class HangingServer:
    """Accepts connections on 127.0.0.1 and holds them open, silent, until closed."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, name="hanging-server", daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:  # closed
                return
            self.accepted.append(conn)

    def close(self) -> None:
        # shutdown wakes the thread blocked in accept(); close alone does not on Linux, and the
        # join then waited its whole timeout after every test that connected (10 s each)
        self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self._thread.join(timeout=10)
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def hanging() -> Iterator[HangingServer]:
    server = HangingServer()
    yield server
    server.close()


@pytest.fixture
def one_retry(monkeypatch):
    """At most one retry of a timed-out request, with a negligible backoff."""
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "0.01")


#: source -> (the setting pointing it at the hanging server, the path its first request reads,
#: a source that still loads beside it)
HANGS = {
    "stripe": ("SOURCES__STRIPE__API_BASE", "", "/v1/", "meta_ads"),
    "ga4": ("SOURCES__GA4__BUCKET_URL", "/ga4/", "/ga4/", "meta_ads"),
    "google_ads": (
        "SOURCES__GOOGLE_ADS__API_BASE",
        "",
        f"/{GOOGLE_VERSION}/customers/{GOOGLE_CUSTOMER}/googleAds:searchStream",
        "meta_ads",
    ),
    "meta_ads": (
        "SOURCES__META_ADS__API_BASE",
        "",
        f"/{META_VERSION}/act_{META_ACCOUNT}",
        "linkedin_ads",
    ),
    "linkedin_ads": (
        "SOURCES__LINKEDIN_ADS__API_BASE",
        "",
        f"/rest/adAccounts/{LINKEDIN_ACCOUNT}",
        "meta_ads",
    ),
}


@pytest.mark.parametrize("name", list(HANGS))
def test_a_hanging_server_fails_only_its_source_in_one_line(
    name, hanging, one_retry, sandbox_env, warehouse, monkeypatch
):
    setting, suffix, path, other = HANGS[name]
    monkeypatch.setenv(setting, hanging.base_url + suffix)
    monkeypatch.setenv(f"SOURCES__{name.upper()}__READ_TIMEOUT", READ_TIMEOUT)

    results = {r.name: r for r in ingest([name, other])}

    failed = results[name]
    assert failed.status == "failed"
    prefix = f"{name}: failed: timed out after {READ_TIMEOUT}s reading {path}"
    assert failed.line().startswith(prefix), failed.line()
    if name != "stripe":  # Stripe's first request depends on dlt's resource order
        assert failed.line() == prefix
    assert "\n" not in failed.line()
    if name == "stripe":  # its list resources page in parallel: several hang at once, each retried once
        assert 2 <= len(hanging.accepted) <= 2 * len(ENDPOINTS)
    else:
        assert len(hanging.accepted) == 2  # the first attempt and one retry, then it gave up
    assert results[other].status == "loaded" and sum(results[other].rows.values()) > 0


def test_a_shared_timeout_setting_applies_to_every_source(
    hanging, one_retry, sandbox_env, warehouse, monkeypatch
):
    """``SOURCES__READ_TIMEOUT`` is every source's default (dlt looks a key up in ``sources``)."""
    monkeypatch.setenv("SOURCES__READ_TIMEOUT", READ_TIMEOUT)
    monkeypatch.setenv("SOURCES__META_ADS__API_BASE", hanging.base_url)
    [result] = ingest(["meta_ads"])
    assert result.line() == (
        f"meta_ads: failed: timed out after {READ_TIMEOUT}s reading "
        f"/{META_VERSION}/act_{META_ACCOUNT}"
    )


def test_a_refused_connection_fails_in_one_line(one_retry, sandbox_env, warehouse, monkeypatch):
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    monkeypatch.setenv("SOURCES__LINKEDIN_ADS__API_BASE", f"http://127.0.0.1:{port}")
    [result] = ingest(["linkedin_ads"])
    assert result.line() == (
        f"linkedin_ads: failed: could not connect to 127.0.0.1:{port} for "
        f"/rest/adAccounts/{LINKEDIN_ACCOUNT}: Connection refused"
    )
