"""A cloud store refusing the GA4 source's credentials, told in one line.

s3fs and gcsfs raise their clients' own errors (botocore's ``ClientError`` with an error code,
google-auth's ``RefreshError``, gcsfs's ``HttpError``, or a bare ``PermissionError``), with a
stack of frames and a message that says nothing of which bucket was asked. ``refused`` turns any
of them into a ``SourceHTTPError`` naming the bucket URL and the store's error code, never its
message (some echo part of a request or a key), so the run prints
``ga4: failed: HTTP 403 from s3://bucket/export/: the store refused the credentials
(InvalidAccessKeyId) ...``. The class names are matched, not imported: both clients are
optional.
"""

from __future__ import annotations

from ingestion.common.errors import SourceHTTPError

SOURCE = "ga4"
#: S3's (and S3-compatible stores') answers to a key it does not accept.
_S3_REFUSALS = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "ExpiredToken", "InvalidToken",
                "InvalidClientTokenId", "AllAccessDisabled", "AccountProblem"}
#: Errors raised before any request: no usable credential was found or refreshed.
_NO_CREDENTIAL = {"NoCredentialsError", "PartialCredentialsError", "DefaultCredentialsError", "RefreshError"}
_HINT = "check the key in the environment (AWS_*, GOOGLE_APPLICATION_CREDENTIALS) or in storage_options"


def _chain(exc: BaseException):
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def refused(exc: BaseException, url: str) -> SourceHTTPError | None:
    """``exc`` as a one-line refusal of the credentials by the store at ``url``; None when it
    is something else."""
    for cause in _chain(exc):
        response = getattr(cause, "response", None)
        if isinstance(response, dict) and isinstance(response.get("Error"), dict):  # botocore
            code = str(response["Error"].get("Code") or "")
            status = int((response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 403)
            if code in _S3_REFUSALS or status in (401, 403):
                return SourceHTTPError(SOURCE, status, url, f"the store refused the credentials ({code}); {_HINT}")
        name = type(cause).__name__
        if name in _NO_CREDENTIAL:
            return SourceHTTPError(SOURCE, 401, url, f"no usable credentials for the store ({name}); {_HINT}")
        if name == "HttpError" and getattr(cause, "code", None) in (401, 403):  # gcsfs
            return SourceHTTPError(SOURCE, cause.code, url, f"the store refused the credentials; {_HINT}")
        if isinstance(cause, PermissionError):  # s3fs's translation of AccessDenied
            return SourceHTTPError(SOURCE, 403, url, f"the store refused the credentials (access denied); {_HINT}")
    return None
