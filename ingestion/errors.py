"""Expected ingestion failures, reported as one line: what failed and where, never a secret."""

from __future__ import annotations


class SourceHTTPError(Exception):
    """An API answered with an error status that retrying will not fix (401, 403, 404, 400...)."""

    def __init__(self, source: str, status: int, url_path: str, detail: str = ""):
        self.source = source
        self.status = status
        self.url_path = url_path
        self.detail = detail
        super().__init__(f"{source}: HTTP {status} from {url_path}" + (f": {detail}" if detail else ""))
