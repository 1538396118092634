"""Posting an alert to a Slack-compatible incoming webhook, or logging it when none is set.

The webhook URL comes from ``NORTHSTAR_ALERT_WEBHOOK``. It is a secret (Slack's URLs embed a
token), so no log line names it: failures are reported by status code or exception class only,
and the stdlib ``urllib`` is used because, unlike ``requests``/``urllib3``, it writes no debug
log lines of its own containing the request path.

An alert must never break the run or sensor that sends it, so ``send_alert`` does not raise.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import time
import urllib.error
import urllib.request

WEBHOOK_ENV_VAR = "NORTHSTAR_ALERT_WEBHOOK"
TIMEOUT_SECONDS = 5.0
RETRY_DELAY_SECONDS = 1.0
ATTEMPTS = 2

LOGGER = logging.getLogger("northstar.alerts")


class _Retryable(Exception):
    """A delivery failure worth one more try (5xx, connection refused or reset, timeout)."""


class _Rejected(Exception):
    """A delivery failure that another try will not fix (4xx, a bad URL)."""


def send_alert(text: str, *, log: logging.Logger | None = None) -> bool:
    """Post ``{"text": text}`` to the webhook; True when it was delivered.

    With no webhook configured the alert is logged at WARNING instead, so a laptop or CI run
    still shows what would have been sent.
    """
    log = log or LOGGER
    url = os.environ.get(WEBHOOK_ENV_VAR, "").strip()
    if not url:
        log.warning("alert (no %s set): %s", WEBHOOK_ENV_VAR, text)
        return False
    if not url.startswith(("https://", "http://")):
        log.error("alert not sent: %s is not an http(s) URL: %s", WEBHOOK_ENV_VAR, text)
        return False
    problem = _deliver(url, json.dumps({"text": text}).encode())
    if problem is None:
        log.info("alert posted to the webhook: %s", text)
        return True
    log.error("alert not delivered (%s): %s", problem, text)
    return False


def _deliver(url: str, body: bytes) -> str | None:
    """None when delivered, else why not (status or exception class, never the URL)."""
    problem = ""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            _post_once(url, body)
            return None
        except _Rejected as rejected:
            return str(rejected)
        except _Retryable as retryable:
            problem = f"{retryable} after {attempt} attempt{'s' if attempt > 1 else ''}"
        if attempt < ATTEMPTS:
            time.sleep(RETRY_DELAY_SECONDS)
    return problem


def _post_once(url: str, body: bytes) -> None:
    """One POST, translating every failure into a URL-free ``_Retryable`` or ``_Rejected``.

    The original exceptions are dropped (``from None``): their messages and tracebacks can
    carry the URL.
    """
    try:
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            response.read()
    except urllib.error.HTTPError as error:
        error.close()
        kind = _Retryable if error.code >= 500 else _Rejected
        raise kind(f"HTTP {error.code}") from None
    except urllib.error.URLError as error:
        raise _Retryable(_class_names(error, error.reason)) from None
    except (OSError, http.client.HTTPException) as error:
        raise _Retryable(type(error).__name__) from None
    except Exception as error:  # noqa: BLE001 - an alert never raises (ValueError: bad URL)
        raise _Rejected(type(error).__name__) from None


def _class_names(error: BaseException, reason: object) -> str:
    """``URLError(ConnectionRefusedError)``: what went wrong, without the reason's text."""
    if isinstance(reason, BaseException):
        return f"{type(error).__name__}({type(reason).__name__})"
    return type(error).__name__
