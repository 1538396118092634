"""Request and response types shared by the sandbox's API layers.

Each API layer is a plain function ``handle(world, request) -> Response`` so it can be tested
without sockets; ``server.py`` adapts them to ``http.server``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import parse_qs


@dataclass
class Request:
    method: str
    path: str  # without the query string
    query: dict[str, list[str]] = field(default_factory=dict)  # parse_qs(keep_blank_values=True)
    headers: dict[str, str] = field(default_factory=dict)  # keys lower-cased
    body: bytes = b""
    base_url: str = ""  # e.g. "http://127.0.0.1:8123", for absolute "next" links
    #: The server's verdict on a bearer token its OAuth endpoints issued: "valid", "expired",
    #: or None when they did not issue it (the API layer then checks its fixed token).
    token_state: str | None = None

    def arg(self, name: str, default: str | None = None) -> str | None:
        """First value of a query (or form-encoded body) parameter."""
        values = self.query.get(name) or self.form().get(name)
        return values[0] if values else default

    def form(self) -> dict[str, list[str]]:
        if self.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return parse_qs(self.body.decode(), keep_blank_values=True)
        return {}

    def json(self) -> object:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, payload: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return cls(
            status,
            json.dumps(payload, separators=(",", ":")).encode(),
            {"Content-Type": "application/json", **(headers or {})},
        )
