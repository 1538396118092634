"""The one way every source builds its HTTP session: dlt's retrying session, with a connect
and a read timeout from the source's settings.

Settings (dlt resolves them like any source argument):

- ``SOURCES__<SOURCE>__CONNECT_TIMEOUT`` seconds to open a connection (default 10);
- ``SOURCES__<SOURCE>__READ_TIMEOUT`` seconds to wait for any byte of an answer (default 60);
- ``SOURCES__CONNECT_TIMEOUT`` / ``SOURCES__READ_TIMEOUT`` set both for every source at once
  (dlt looks a source's key up in ``sources.<name>`` first, then in ``sources``);
- retries are dlt's own: ``RUNTIME__REQUEST_MAX_ATTEMPTS`` (default 5, timeouts included) and
  ``RUNTIME__REQUEST_BACKOFF_FACTOR``, on ``errors.RETRYABLE_STATUSES`` (the rule every source
  shares, ``ingestion.common.retries``); a 429's ``Retry-After`` is honoured.

Why a read timeout and not a total one: a large answer that keeps arriving is fine, a server
that stops sending is not. When the retries run out, ``ingestion.common.errors.retries_exhausted``
turns the timeout into one line naming the source, the endpoint and the seconds waited.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from dlt.sources.helpers.requests.retry import Client
from requests import PreparedRequest, Session
from requests.exceptions import ConnectTimeout, Timeout

from ingestion.common.errors import RETRYABLE_STATUSES
from ingestion.common.retries import Retries

DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 60.0


@dataclass(frozen=True)
class Timeouts:
    """Seconds to connect and to wait for the next bytes of an answer."""

    connect: float = DEFAULT_CONNECT_TIMEOUT
    read: float = DEFAULT_READ_TIMEOUT

    def __post_init__(self) -> None:
        if not (self.connect > 0 and self.read > 0):
            raise ValueError(
                f"timeouts must be positive seconds, got connect={self.connect} read={self.read}"
            )


def http_session(timeouts: Timeouts) -> Session:
    """A ``requests`` session with dlt's retries (``RUNTIME__REQUEST_*``) and ``timeouts``.

    It does not raise on error statuses: each source's response hook decides (see
    ``ingestion.common.errors.error_hook``), which is what dlt's RESTClient expects of a session.
    A timeout that survives the retries carries the seconds it waited (``timeout_seconds``),
    so the one-line failure can name them.
    """
    retries = Retries.from_runtime()
    client = Client(
        request_timeout=(timeouts.connect, timeouts.read),
        raise_for_status=False,
        status_codes=tuple(sorted(RETRYABLE_STATUSES)),
        request_max_attempts=retries.attempts,
        request_backoff_factor=retries.backoff_factor,
        request_max_retry_delay=retries.max_delay,
    )
    session = client.session
    session.send = _noting_timeouts(session.send, timeouts)  # type: ignore[method-assign]
    return session


def _noting_timeouts(send: Any, timeouts: Timeouts) -> Any:
    @functools.wraps(send)
    def wrapper(request: PreparedRequest, **kwargs: Any) -> Any:
        try:
            return send(request, **kwargs)
        except Timeout as exc:
            exc.timeout_seconds = (
                timeouts.connect if isinstance(exc, ConnectTimeout) else timeouts.read
            )  # type: ignore[attr-defined]
            raise

    return wrapper
