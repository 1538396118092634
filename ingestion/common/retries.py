"""When a failed request is tried again, and how often: one rule for every source.

The REST sources get it through dlt's retrying session (``http_client.http_session``). GA4's
export files are read through fsspec (aiohttp, not requests), so ``Retries.call`` applies the
same rule to any call: the same transient statuses (``errors.RETRYABLE_STATUSES``), dlt's
``RUNTIME__REQUEST_MAX_ATTEMPTS``, ``RUNTIME__REQUEST_BACKOFF_FACTOR`` and
``RUNTIME__REQUEST_MAX_RETRY_DELAY`` (exponential backoff, as dlt's session), and the server's
``Retry-After`` when it sends one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

from dlt.common.configuration import resolve_configuration
from dlt.common.configuration.specs import RuntimeConfiguration

from ingestion.common.errors import RETRYABLE_STATUSES, SourceTimeout

if TYPE_CHECKING:
    from ingestion.common.http_client import Timeouts

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Retries:
    """How many attempts, and the exponential backoff between them (seconds)."""

    attempts: int = 5
    backoff_factor: float = 1.0
    max_delay: float = 300.0

    @classmethod
    def from_runtime(cls) -> Retries:
        """dlt's ``RUNTIME__REQUEST_*`` settings, as its retrying session reads them."""
        runtime = resolve_configuration(RuntimeConfiguration())
        delay = runtime.request_max_retry_delay
        return cls(
            attempts=runtime.request_max_attempts,
            backoff_factor=runtime.request_backoff_factor,
            max_delay=delay.total_seconds() if isinstance(delay, timedelta) else float(delay),
        )

    def call(self, fn: Callable[[], T], what: str, source: str,
             timeouts: Timeouts | None = None) -> T:
        """``fn()``, tried again on transient errors (``Retry-After``, else exponential).

        A timeout still failing after the last attempt becomes a one-line ``SourceTimeout``
        (``what`` is "reading <url>" or "listing <url>") when ``timeouts`` says how long it
        waited.
        """
        for attempt in range(1, self.attempts + 1):
            try:
                return fn()
            except Exception as exc:  # classified just below
                retry, retry_after = transient(exc)
                if attempt == self.attempts and timeouts is not None and isinstance(exc, TimeoutError):
                    raise _timed_out(exc, what, source, timeouts) from None
                if not retry or attempt == self.attempts:
                    raise
                backoff = self.backoff_factor * 2 ** (attempt - 1)
                wait = min(retry_after if retry_after is not None else backoff, self.max_delay)
                logger.warning("%s: %s failed (%s), retry %d in %.1fs", source, what, exc,
                               attempt, wait)
                time.sleep(wait)
        raise AssertionError("unreachable")


def transient(exc: BaseException) -> tuple[bool, float | None]:
    """Whether ``exc`` is worth a retry, and the server's ``Retry-After`` seconds if it said."""
    if isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError):
        return False, None
    status = getattr(exc, "status", None) or getattr(exc, "code", None)
    headers = getattr(exc, "headers", None)
    response = getattr(exc, "response", None)  # requests.HTTPError
    if response is not None and status is None:
        status, headers = getattr(response, "status_code", None), getattr(response, "headers", None)
    if isinstance(status, int):
        retry_after = None
        if status in RETRYABLE_STATUSES and headers is not None:
            try:
                retry_after = float(headers.get("Retry-After"))
            except (TypeError, ValueError):
                retry_after = None
        return status in RETRYABLE_STATUSES, retry_after
    return isinstance(exc, ConnectionError | TimeoutError) or _is_aiohttp_transient(exc), None


def _is_aiohttp_transient(exc: BaseException) -> bool:
    try:
        import aiohttp
    except ImportError:  # pragma: no cover - fsspec's http needs it, other protocols do not
        return False
    return isinstance(exc, aiohttp.ClientConnectionError | aiohttp.ClientPayloadError)


def _timed_out(exc: BaseException, what: str, source: str, timeouts: Timeouts) -> SourceTimeout:
    """aiohttp says whether connecting or reading timed out; the message gives the URL path."""
    import aiohttp

    connecting = isinstance(exc, getattr(aiohttp, "ConnectionTimeoutError", ()))
    path = urlsplit(what.split(" ", 1)[-1]).path
    return SourceTimeout(source, path, timeouts.connect if connecting else timeouts.read, connecting)
