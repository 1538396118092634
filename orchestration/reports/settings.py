"""The reports' settings, all from the environment (the alerts' webhook setting included).

One place so the README's table and the code name the same variables. The SMTP password is a
secret: it is read here, handed to ``smtplib`` and never formatted into a message or a log.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ingestion.warehouse import warehouse_path

MAX_AGE_SETTING = "NORTHSTAR_DIGEST_MAX_AGE_HOURS"
DEFAULT_MAX_AGE_HOURS = 26.0  # a day plus slack for a slow night, like NORTHSTAR_FRESHNESS_HOURS
DASHBOARD_SETTING = "NORTHSTAR_DASHBOARD_URL"
REPORTS_DIR_SETTING = "NORTHSTAR_REPORTS_DIR"
SMTP_PREFIX = "NORTHSTAR_SMTP_"
DEFAULT_SMTP_PORT = 587


class SettingError(ValueError):
    """A report setting that cannot be used; the message names the setting, never a secret."""


def max_age_hours() -> float:
    """How old the last publish may be before the digest says so instead of giving numbers."""
    text = os.environ.get(MAX_AGE_SETTING, "").strip()
    if not text:
        return DEFAULT_MAX_AGE_HOURS
    try:
        hours = float(text)
    except ValueError:
        raise SettingError(f"{MAX_AGE_SETTING} must be a number of hours, got {text!r}") from None
    if hours <= 0:
        raise SettingError(f"{MAX_AGE_SETTING} must be positive, got {text!r}")
    return hours


def dashboard_url() -> str | None:
    """The dashboards' address for the digest's link; None when not set (no link is shown)."""
    return os.environ.get(DASHBOARD_SETTING, "").strip() or None


def reports_dir(published: Path | None = None) -> Path:
    """``NORTHSTAR_REPORTS_DIR``, else ``reports/`` beside the published warehouse."""
    text = os.environ.get(REPORTS_DIR_SETTING, "").strip()
    if text:
        return Path(text).expanduser().resolve()
    return (published or warehouse_path()).parent / "reports"


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    recipients: list[str]
    user: str | None = None
    password: str | None = field(default=None, repr=False)  # a secret: never in a repr or log

    @property
    def implicit_tls(self) -> bool:
        """Port 465 speaks TLS from the first byte (SMTPS); any other port may STARTTLS."""
        return self.port == 465


def smtp_settings() -> SmtpSettings | None:
    """The SMTP settings, or None when ``NORTHSTAR_SMTP_HOST`` is unset (the report is only
    written). A host without a sender or recipients is a one-line error naming what is missing."""
    env = {name: os.environ.get(SMTP_PREFIX + name, "").strip()
           for name in ("HOST", "PORT", "USER", "PASSWORD", "FROM", "TO")}
    if not env["HOST"]:
        return None
    missing = [SMTP_PREFIX + name for name in ("FROM", "TO") if not env[name]]
    if missing:
        raise SettingError(f"{SMTP_PREFIX}HOST is set but {' and '.join(missing)} "
                           f"{'is' if len(missing) == 1 else 'are'} not")
    try:
        port = int(env["PORT"] or DEFAULT_SMTP_PORT)
    except ValueError:
        raise SettingError(f"{SMTP_PREFIX}PORT must be a port number, got {env['PORT']!r}") from None
    if env["PASSWORD"] and not env["USER"]:
        raise SettingError(f"{SMTP_PREFIX}PASSWORD is set but {SMTP_PREFIX}USER is not")
    recipients = [address.strip() for address in env["TO"].split(",") if address.strip()]
    return SmtpSettings(env["HOST"], port, env["FROM"], recipients, env["USER"] or None,
                        env["PASSWORD"] or None)
