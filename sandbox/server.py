"""HTTP front of the sandbox: one port serving every API, routed by path.

Paths mirror the real APIs so that a client only swaps its base URL:
- Stripe           ``/v1/...``                                   (api.stripe.com)
- Google Ads       ``/vNN/customers/{id}/googleAds:searchStream`` (googleads.googleapis.com)
- Meta Marketing   ``/vNN.0/act_{id}/...``                        (graph.facebook.com)
- LinkedIn         ``/rest/...``                                 (api.linkedin.com)
- GA4 export       ``/ga4/`` (index) and ``/ga4/events_YYYYMMDD.json.gz`` (or the day's shards,
                   ``events_YYYYMMDD-000000000000.json.gz`` / ``.parquet``: ``sandbox.ga4_export``)
- BigQuery (GA4's export dataset) ``/bigquery/v2/projects/...``  (bigquery.googleapis.com)
- ECB reference rates ``/service/data/EXR/{key}?format=csvdata``     (data-api.ecb.europa.eu)
- OAuth tokens     ``/token`` (oauth2.googleapis.com), ``/oauth/v2/accessToken`` (www.linkedin.com)
- Sandbox admin    ``/_sandbox/health``, ``/_sandbox/requests`` (request counts per route),
                   ``POST /_sandbox/expire_tokens`` (every issued access token expires now)
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from sandbox import (
    bigquery_api,
    ecb_api,
    ga4_export,
    google_ads_api,
    linkedin_ads_api,
    meta_ads_api,
    stripe_api,
)
from sandbox.faults import FaultPlan
from sandbox.http import Request, Response
from sandbox.oauth import TokenAuthority
from sandbox.world import World

Handler = Callable[[World, Request], Response]

ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    ("google_ads", re.compile(r"^/v\d+/customers/[^/]+/googleAds:search(Stream)?$"), google_ads_api.handle),
    ("stripe", re.compile(r"^/v1/"), stripe_api.handle),
    ("meta_ads", re.compile(r"^/v\d+\.\d+/"), meta_ads_api.handle),
    ("linkedin_ads", re.compile(r"^/rest/"), linkedin_ads_api.handle),
    ("ga4", re.compile(r"^/ga4(/|$)"), ga4_export.handle),
    ("bigquery", re.compile(r"^/bigquery/v2/"), bigquery_api.handle),
    ("ecb_fx", re.compile(r"^/service/data/"), ecb_api.handle),
]


#: API routes whose bearer tokens the OAuth endpoints issue.
_OAUTH_ROUTES = ("google_ads", "linkedin_ads", "bigquery")
#: Whose tokens a route accepts when it is not its own name (Google's one token endpoint).
_TOKEN_PLATFORM = {"bigquery": "google_ads"}


def route(path: str) -> tuple[str, Handler] | None:
    for name, pattern, handler in ROUTES:
        if pattern.search(path):
            return name, handler
    return None


class SandboxServer(ThreadingHTTPServer):
    """A threading HTTP server holding one ``World``, its fault plan and request counts."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], world: World, faults: FaultPlan | None = None,
                 tokens: TokenAuthority | None = None):
        super().__init__(address, _RequestHandler)
        self.world = world
        self.faults = faults or FaultPlan(seed=world.seed)
        self.tokens = tokens or TokenAuthority()
        self.request_counts: Counter[str] = Counter()
        self.lock = threading.Lock()

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def dispatch(self, request: Request) -> Response:
        if request.path == "/_sandbox/health":
            return Response.json({"status": "ok", "as_of": self.world.as_of.isoformat()})
        if request.path == "/_sandbox/requests":
            with self.lock:
                return Response.json(dict(self.request_counts))
        if request.path == "/_sandbox/expire_tokens" and request.method == "POST":
            with self.lock:
                return Response.json({"expired": self.tokens.expire_all()})
        if TokenAuthority.serves(request.path):
            with self.lock:
                self.request_counts["oauth"] += 1
                return self.faults.decide(request) or self.tokens.token_endpoint(request)
        found = route(request.path)
        if found is None:
            message = f"Unrecognized request URL ({request.method}: {request.path})."
            return Response.json({"error": {"message": message}}, 404)
        name, handler = found
        with self.lock:
            self.request_counts[name] += 1
            fault = self.faults.decide(request)
            if fault is None and name in _OAUTH_ROUTES:
                bearer = request.headers.get("authorization", "")
                request.token_state = self.tokens.use(_TOKEN_PLATFORM.get(name, name), bearer)
        if fault is not None:
            return fault
        return handler(self.world, request)


class _RequestHandler(BaseHTTPRequestHandler):
    server: SandboxServer
    protocol_version = "HTTP/1.1"
    #: headers and body go out in separate writes: without this, Nagle adds ~40 ms a request
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:
        """Silence per-request logging: the counts are at /_sandbox/requests."""

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header says the simulated now (the world's as-of), as a real API's
        says its clock: a client dating what it read by the server's time gets the world's
        time on any day the tests run."""
        return super().date_time_string(self.server.world.as_of_ts if timestamp is None else timestamp)

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        request = Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            base_url=f"http://{host}",
        )
        try:
            response = self.server.dispatch(request)
        except Exception as exc:  # noqa: BLE001 - a sandbox bug must answer like an API error, not hang the client
            response = Response.json({"error": {"message": f"sandbox error: {type(exc).__name__}: {exc}"}}, 500)
        self.send_response(response.status)
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_HEAD = do_DELETE = _serve


def start_server(
    world: World,
    port: int = 0,
    host: str = "127.0.0.1",
    faults: FaultPlan | None = None,
    tokens: TokenAuthority | None = None,
) -> SandboxServer:
    """Start serving ``world`` in a background thread; ``port=0`` picks a free port.

    ``tokens`` decides how long issued OAuth access tokens live (default: until
    ``/_sandbox/expire_tokens``).
    """
    server = SandboxServer((host, port), world, faults, tokens)
    threading.Thread(target=server.serve_forever, name="sandbox-http", daemon=True).start()
    return server
