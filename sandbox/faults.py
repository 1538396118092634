"""Deterministic fault injection: transient 5xx answers and 429 rate limits on demand.

Real APIs fail now and then, and ingestion code must retry. To test that without flaky
tests, every fault is a pure function of ``(seed, request key, attempt number)``: the same
client doing the same requests sees the same faults, whatever other requests interleave.
A key never fails more than ``max_consecutive`` times in a row, so a client that retries
always gets through - and then gets exactly the answer it would have had without faults.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter

from sandbox import google_ads_api, linkedin_ads_api, meta_ads_api
from sandbox.http import Request, Response

_ERROR_STATUSES = (500, 502, 503)


class FaultPlan:
    """Decides, per API request, whether to answer with an injected fault instead.

    The defaults inject nothing. ``decide`` is not thread-safe on its own: the server calls
    it under its lock.
    """

    def __init__(
        self,
        seed: int,
        error_rate: float = 0.0,
        rate_limit_rate: float = 0.0,
        retry_after_seconds: int = 1,
        max_consecutive: int = 2,
    ) -> None:
        if not (
            0.0 <= error_rate and 0.0 <= rate_limit_rate and error_rate + rate_limit_rate <= 1.0
        ):
            raise ValueError("error_rate and rate_limit_rate must be >= 0 and sum to at most 1")
        self.seed = seed
        self.error_rate = error_rate
        self.rate_limit_rate = rate_limit_rate
        self.retry_after_seconds = retry_after_seconds
        self.max_consecutive = max_consecutive
        self.injected_errors = 0
        self.injected_rate_limits = 0
        self._attempts: Counter[str] = Counter()  # requests seen per key
        self._streak: Counter[str] = Counter()  # current run of injected faults per key

    @property
    def injected(self) -> int:
        """All faults injected so far."""
        return self.injected_errors + self.injected_rate_limits

    def decide(self, request: Request) -> Response | None:
        """The fault to answer ``request`` with, or None to serve it normally."""
        if request.path.startswith("/_sandbox/"):
            return None
        key = request_key(request)
        attempt = self._attempts[key]
        self._attempts[key] += 1
        if self._streak[key] >= self.max_consecutive:
            self._streak[key] = 0
            return None
        roll = _unit_hash(self.seed, key, attempt)
        if roll < self.error_rate:
            status = _ERROR_STATUSES[int(roll / self.error_rate * len(_ERROR_STATUSES))]
            self.injected_errors += 1
            response = fault_response(request.path, status)
        elif roll < self.error_rate + self.rate_limit_rate:
            self.injected_rate_limits += 1
            response = fault_response(request.path, 429)
            response.headers["Retry-After"] = str(self.retry_after_seconds)
        else:
            self._streak[key] = 0
            return None
        self._streak[key] += 1
        return response


def request_key(request: Request) -> str:
    """What identifies "the same request" across retries: method, path, query and body."""
    query = "&".join(f"{k}={v}" for k in sorted(request.query) for v in request.query[k])
    return f"{request.method} {request.path}?{query}\n{request.body.decode(errors='replace')}"


def _unit_hash(seed: int, key: str, attempt: int) -> float:
    """A uniform number in [0, 1) fixed by its inputs (not by Python's salted ``hash``)."""
    digest = hashlib.sha256(f"{seed}\0{key}\0{attempt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


_GOOGLE = re.compile(r"^/v\d+/customers/")
_META = re.compile(r"^/v\d+\.\d+/")


def fault_response(path: str, status: int) -> Response:
    """A 5xx or 429 answer in the error shape of the API that ``path`` belongs to."""
    if _GOOGLE.search(path):
        if status == 429:
            return google_ads_api.error_response(
                429,
                "Resource has been exhausted (e.g. check quota).",
                "RESOURCE_EXHAUSTED",
                {"quotaError": "RESOURCE_EXHAUSTED"},
            )
        google_status = {500: "INTERNAL", 502: "UNAVAILABLE", 503: "UNAVAILABLE"}[status]
        return google_ads_api.error_response(
            status,
            "Internal error encountered.",
            google_status,
            {"internalError": "TRANSIENT_ERROR"},
        )
    if _META.search(path):
        if status == 429:
            return meta_ads_api.error_response(
                429, "(#17) User request limit reached", "OAuthException", 17
            )
        return meta_ads_api.error_response(
            status,
            "An unexpected error has occurred. Please retry your request later.",
            "OAuthException",
            2,
            is_transient=True,
        )
    if path.startswith("/rest/"):
        if status == 429:
            return linkedin_ads_api.error_response(
                429, "TOO_MANY_REQUESTS", "Resource level throttle limit reached"
            )
        return linkedin_ads_api.error_response(
            status, "INTERNAL_SERVER_ERROR", "Internal Server Error"
        )
    if path.startswith("/v1/"):  # Stripe
        if status == 429:
            error = {
                "type": "invalid_request_error",
                "code": "rate_limit",
                "message": "Request rate limit exceeded. Retry after a short wait.",
            }
        else:
            error = {"type": "api_error", "message": "An unknown error occurred. Please retry."}
        return Response.json({"error": error}, status)
    return Response.json(
        {"error": {"code": status, "message": "Transient error, please retry."}}, status
    )
