"""No secret in any log line, at any log level: credentials are redacted as records are made.

At ``RUNTIME__LOG_LEVEL=DEBUG`` dlt's RESTClient logs every request with its headers
(``developer-token``), urllib3 logs request lines with their query strings (``access_token=``),
and an OAuth token request carries ``client_secret`` and ``refresh_token`` in its body. Under
``northstar run`` all of that is also captured into Dagster's compute logs.

A filter on a logger only sees the records logged to that very logger (not those propagated
from its children, like ``urllib3.connectionpool``), and a filter on a handler misses handlers
made later (dlt makes its own when a pipeline starts, Dagster its own per step). So
``install()`` wraps the log record factory: every record, from any logger, is redacted once
when it is made, before any handler or formatter sees it. ``ingestion/__init__.py`` calls it,
so importing anything of the ingestion package (as the CLI and the Dagster code location do
before any request) is enough. ``RedactingFilter`` does the same for a handler of one's own.

What is redacted (the value only, so a log line still says which header or parameter it was):
- values of credential headers and fields, as ``name: value``, ``'name': 'value'``,
  ``"name": "value"``, ``name=value`` or ``('name', 'value')`` (``Authorization``, ``developer-token``,
  ``access_token``, ``refresh_token``, ``client_secret``, ``api_key``, ...), and ``key=`` in a
  query string;
- ``Bearer``/``Basic`` credentials, Stripe keys (``sk_live_...``, ``rk_test_...``,
  ``whsec_...``) and Google OAuth tokens (``ya29....``, ``1//...``) wherever they appear;
- every configured secret value: the environment's ``SOURCES__*`` settings whose names say
  KEY, TOKEN, SECRET or PASSWORD (an OAuth client id is an identifier, not a credential),
  and the values under such names in ``.dlt/secrets.toml``.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

MASK = "***"
#: Setting names whose values are secrets (as ``ingestion.run.scrub`` always treated them).
SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD")


def is_secret_setting(name: str) -> bool:
    """A setting whose value is a credential: its name says KEY, TOKEN, SECRET, ... and it is not
    an address (``TOKEN_URL`` names where tokens come from, not a token)."""
    upper = name.upper()
    return any(word in upper for word in SECRET_WORDS) and not upper.endswith(("_URL", "URL"))
#: Values shorter than this are not replaced verbatim (they would mangle ordinary text).
_MIN_SECRET_LENGTH = 4

#: Header and field names whose values are credentials (any case, ``-`` or ``_``).
_CREDENTIAL_NAMES = (
    r"(?:proxy[-_])?authorization", r"developer[-_]token", r"x[-_]api[-_]key", r"api[-_]?key",
    r"x[-_]goog[-_]api[-_]key", r"access[-_]token", r"refresh[-_]token", r"id[-_]token",
    r"client[-_]secret", r"client[-_]id", r"password", r"secret", r"cookie", r"set[-_]cookie",
)
_NAMED_VALUE = re.compile(
    r"(?P<name>(?<![\w-])[\"']?(?:" + "|".join(_CREDENTIAL_NAMES) + r")[\"']?)"
    r"(?P<sep>\s*[:=]\s*[\"']?)"
    r"(?P<scheme>(?:Bearer|Basic|Token|OAuth)\s+)?"
    r"(?P<value>[^\s\"',&;}\]]+)",
    re.IGNORECASE,
)
#: ``('client_secret', 'value')``: form data given as pairs.
_NAMED_PAIR = re.compile(
    r"(?P<name>\(\s*(?P<q>[\"'])(?:" + "|".join(_CREDENTIAL_NAMES) + r")(?P=q)\s*,\s*[\"'])"
    r"(?P<value>[^\"']+)",
    re.IGNORECASE,
)
#: ``key=`` only as a query parameter: the word alone is too common in log text.
_QUERY_KEY = re.compile(r"(?P<name>[?&](?:key|token|code|sig|signature))=(?P<value>[^&\s\"']+)",
                        re.IGNORECASE)
_ANYWHERE = (
    # a credential has a digit or a symbol in it; "Basic authentication" is left alone
    re.compile(r"\b(?P<name>Bearer|Basic)\s+(?P<value>(?=[A-Za-z]*[0-9._~+/=-])[A-Za-z0-9._~+/=-]{6,})"),
    re.compile(r"\b(?:sk|rk)_(?:live|test)_\w+|\bwhsec_\w+"),
    re.compile(r"\bya29\.[A-Za-z0-9._-]+|(?<![\w/])1//[A-Za-z0-9_-]{10,}"),
)


def _secret_values() -> list[str]:
    """The configured secret values, longest first (so a secret containing another goes whole).

    Read again for every text: settings change (tests, Dagster resources set the environment).
    """
    values = {
        value for key, value in os.environ.items()
        if key.startswith("SOURCES__") and is_secret_setting(key)
    }
    values.update(_toml_strings(_secrets_toml()))
    return sorted((v for v in values if len(v) >= _MIN_SECRET_LENGTH), key=len, reverse=True)


def _secrets_toml() -> Path:
    """dlt's secrets file: ``.dlt/secrets.toml`` of the project folder (DLT_PROJECT_DIR or cwd)."""
    return Path(os.environ.get("DLT_PROJECT_DIR") or ".") / ".dlt" / "secrets.toml"


_toml_cache: dict[tuple[str, int], tuple[str, ...]] = {}


def _toml_strings(path: Path) -> Iterable[str]:
    """Every string in a TOML file (cached while the file is unchanged)."""
    try:
        key = (str(path.resolve()), path.stat().st_mtime_ns)
    except OSError:
        return ()
    if key not in _toml_cache:
        try:
            _toml_cache[key] = tuple(_strings(tomllib.loads(path.read_text())))
        except (OSError, ValueError):
            _toml_cache[key] = ()
    return _toml_cache[key]


def _strings(document: Any) -> list[str]:
    """The string values under secret-sounding keys (``api_key``, ``refresh_token``, ...)."""
    found: list[str] = []

    def walk(node: Any, secret: bool) -> None:
        if isinstance(node, dict):
            for name, child in node.items():
                walk(child, secret or is_secret_setting(str(name)))
        elif isinstance(node, list):
            for child in node:
                walk(child, secret)
        elif isinstance(node, str) and secret:
            found.append(node)

    walk(document, False)
    return found


def redact(text: str) -> str:
    """``text`` with every credential it shows replaced by ``***``."""
    if not text:
        return text
    for value in _secret_values():
        text = text.replace(value, MASK)
    text = _NAMED_VALUE.sub(
        lambda m: m["name"] + m["sep"] + (m["scheme"] or "") + MASK if m["value"] != MASK else m[0],
        text)
    text = _NAMED_PAIR.sub(lambda m: m["name"] + MASK, text)
    text = _QUERY_KEY.sub(lambda m: f"{m['name']}={MASK}", text)
    for pattern in _ANYWHERE:
        text = pattern.sub(lambda m: f"{m['name']} {MASK}" if "name" in m.re.groupindex else MASK,
                           text)
    return text


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Replace the record's message (and traceback text) by their redacted form, once."""
    if getattr(record, "_northstar_redacted", False):
        return record
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a malformed record is logging's to report, not ours
        return record
    record.msg, record.args = redact(message), ()
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    record._northstar_redacted = True
    return record


class RedactingFilter(logging.Filter):
    """A filter that redacts each record it sees (it never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def install() -> None:
    """Redact every log record as it is made (idempotent)."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "_northstar_redacting", False):
        return

    def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(factory(*args, **kwargs))

    redacting: Callable[..., logging.LogRecord] = redacting_factory
    redacting._northstar_redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(redacting)
