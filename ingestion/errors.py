"""Expected ingestion failures, reported as one line: what failed and where, never a secret."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from requests import HTTPError, Response


class SourceHTTPError(Exception):
    """An API answered with an error status that retrying will not fix (401, 403, 404, 400...)."""

    def __init__(self, source: str, status: int, url_path: str, detail: str = ""):
        self.source = source
        self.status = status
        self.url_path = url_path
        self.detail = detail
        super().__init__(f"{source}: HTTP {status} from {url_path}" + (f": {detail}" if detail else ""))


#: Statuses worth retrying: dlt's retrying session backs off and honours Retry-After.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


def error_hook(source: str, describe: Callable[[Response], str], secrets: Iterable[str]) -> Callable[..., None]:
    """A requests response hook: 429/5xx go back to dlt's retries, other errors end the run.

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
    """A 429/5xx still failing after dlt's retries ends the run as a SourceHTTPError."""
    try:
        yield
    except HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else 0
        url = exc.response.url if exc.response is not None else ""
        raise SourceHTTPError(source, status, urlsplit(url).path, "still failing after retries") from None
