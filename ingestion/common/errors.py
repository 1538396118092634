"""Expected ingestion failures, reported as one line: what failed and where, never a secret."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from requests import HTTPError, Response, Timeout
from requests.exceptions import ConnectionError as ConnectionFailed
from requests.exceptions import ConnectTimeout


class SourceHTTPError(Exception):
    """An API answered with an error status that retrying will not fix (401, 403, 404, 400...)."""

    def __init__(self, source: str, status: int, url_path: str, detail: str = ""):
        self.source = source
        self.status = status
        self.url_path = url_path
        self.detail = detail
        super().__init__(f"{source}: HTTP {status} from {url_path}" + (f": {detail}" if detail else ""))


class SourceTimeout(SourceHTTPError):
    """A request got no answer in time, even after retrying (``status`` 0: no HTTP answer).

    A subclass of SourceHTTPError so that every caller reporting one reports the other.
    """

    def __init__(
        self, source: str, url_path: str, seconds: float | None, connecting: bool = False
    ):
        waited = f"after {seconds:g}s " if seconds is not None else ""
        doing = "connecting for" if connecting else "reading"
        Exception.__init__(self, f"{source}: timed out {waited}{doing} {url_path}")
        self.source, self.status, self.url_path, self.seconds = source, 0, url_path, seconds
        self.detail = "timed out"


class SourceUnreachable(SourceHTTPError):
    """The server could not be reached at all (refused, unknown host, connection dropped)."""

    def __init__(self, source: str, host: str, url_path: str, reason: str):
        message = f"{source}: could not connect to {host} for {url_path}: {reason}"
        Exception.__init__(self, message)
        self.source, self.status, self.url_path, self.detail = source, 0, url_path, reason


class SourceBadAnswer(SourceHTTPError):
    """A successful status whose body is not what the endpoint sends: not JSON, or JSON
    without the envelope the rows live in (``status`` is the 2xx that came with it).

    Why this is an error and not an empty page: dlt's ``data_selector`` reads a missing key as
    no rows, so a proxy's page or a changed API would load nothing and report success.
    """

    def __init__(
        self, source: str, status: int, url_path: str, problem: str, invalid_json: bool = False
    ):
        what = "invalid JSON" if invalid_json else "unexpected answer"
        Exception.__init__(self, f"{source}: {what} from {url_path}: {problem}")
        self.source, self.status, self.url_path, self.detail = source, status, url_path, problem


#: Says what is wrong with a parsed answer, or None when it has its envelope.
Envelope = Callable[[Any], "str | None"]


def list_under(key: str) -> Envelope:
    """An object whose ``key`` holds the page's rows, as a list (empty is a fine answer)."""

    def check(body: Any) -> str | None:
        if not isinstance(body, dict):
            return f'not a JSON object with a "{key}" list'
        if key not in body:
            return f'no "{key}" key'
        if not isinstance(body[key], list):
            return f'"{key}" is not a list'
        return None

    return check


def object_with(key: str) -> Envelope:
    """A single object, recognised by a field it always has (``id``, ``currency``...)."""

    def check(body: Any) -> str | None:
        return None if isinstance(body, dict) and key in body else f'no "{key}" key'

    return check


def envelope_hook(source: str, envelope: Envelope) -> Callable[..., None]:
    """A requests response hook: a 2xx answer must be JSON and have ``envelope``'s shape.

    Runs after ``error_hook`` (error statuses never get here) and before dlt reads the page,
    so the source fails in one line naming the endpoint instead of loading nothing.
    """

    def hook(response: Response, *args: Any, **kwargs: Any) -> None:
        if not 200 <= response.status_code < 300:
            return
        path = urlsplit(response.url).path
        try:
            body = response.json()
        except ValueError as exc:  # requests' JSONDecodeError: position only, never the body
            reason = (str(exc).splitlines() or ["not JSON"])[0][:200]
            raise SourceBadAnswer(
                source, response.status_code, path, reason, invalid_json=True
            ) from None
        problem = envelope(body)
        if problem:
            raise SourceBadAnswer(source, response.status_code, path, problem)

    return hook


#: Statuses worth another try (the server is busy, timed out or not ready yet), for every
#: source: dlt's retrying session (``http_client``) and ``retries.Retries`` (GA4's files) retry
#: these, backing off and honouring Retry-After; any other error status fails at once.
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


def error_hook(source: str, describe: Callable[[Response], str], secrets: Iterable[str]) -> Callable[..., None]:
    """A requests response hook: RETRYABLE_STATUSES go back to dlt's retries, other errors end
    the run.

    ``describe`` turns the platform's error body into a short text; every secret in it is
    replaced by ``***`` before it can reach a message.
    """
    hidden = tuple(s for s in secrets if s)

    def hook(response: Response, *args: Any, **kwargs: Any) -> None:
        if response.status_code < 400:
            return
        if response.status_code in RETRYABLE_STATUSES:
            response.raise_for_status()  # retried with backoff, honouring Retry-After
        try:
            detail = describe(response)
        except (ValueError, KeyError, TypeError, IndexError, AttributeError):
            detail = response.reason or ""
        for secret in hidden:
            detail = detail.replace(secret, "***")
        raise SourceHTTPError(source, response.status_code, urlsplit(response.url).path, detail[:300])

    return hook


@contextmanager
def retries_exhausted(source: str) -> Iterator[None]:
    """What still fails after dlt's retries ends the run in one line naming the endpoint.

    A 429/5xx becomes a SourceHTTPError; a timeout a SourceTimeout with the seconds waited
    (noted by ``ingestion.common.http_client``); a connection that could not be made at all a
    SourceUnreachable. URLs are reduced to host and path: no query string reaches a message.
    """
    try:
        yield
    except HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else 0
        url = exc.response.url if exc.response is not None else ""
        raise SourceHTTPError(source, status, urlsplit(url).path, "still failing after retries") from None
    except Timeout as exc:
        url = urlsplit(_request_url(exc))
        seconds = getattr(exc, "timeout_seconds", None)
        connecting = isinstance(exc, ConnectTimeout)
        raise SourceTimeout(source, url.path, seconds, connecting) from None
    except ConnectionFailed as exc:
        url = urlsplit(_request_url(exc))
        raise SourceUnreachable(source, url.netloc, url.path, _connection_reason(exc)) from None


def _request_url(exc: Exception) -> str:
    request = getattr(exc, "request", None)
    return str(getattr(request, "url", "") or "")


def _connection_reason(exc: Exception) -> str:
    """The OS's words for a failed connection (``Connection refused``), not urllib3's essay."""
    found = re.search(r"\[Errno -?\d+\] ([^'\")]+)", str(exc))
    if found:
        return found[1].strip()
    return "the connection was refused or dropped"
