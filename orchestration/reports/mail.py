"""E-mailing a report over SMTP: the HTML as the body, the PDF attached.

The stdlib's ``smtplib`` and ``email``. STARTTLS is used whenever the server offers it (port 465
speaks TLS from the start); credentials are never sent in clear text to anything but this
machine. Failures come back as one line naming the SMTP step and code, never the password nor
the server's full answer (which may echo what it was sent).
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from orchestration.reports.settings import SmtpSettings

TIMEOUT_SECONDS = 30
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def message(smtp: SmtpSettings, subject: str, text: str, html: Path, pdf: Path) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = subject
    mail["From"] = smtp.sender
    mail["To"] = ", ".join(smtp.recipients)
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain="northstar.local")
    mail.set_content(text)
    mail.add_alternative(html.read_text(), subtype="html")
    mail.add_attachment(pdf.read_bytes(), maintype="application", subtype="pdf", filename=pdf.name)
    return mail


def send_report(smtp: SmtpSettings, subject: str, text: str, html: Path, pdf: Path) -> str | None:
    """Send the report; None when the server accepted it, else why not (one line)."""
    mail = message(smtp, subject, text, html, pdf)
    step = "connect"
    try:
        client_class = smtplib.SMTP_SSL if smtp.implicit_tls else smtplib.SMTP
        kwargs = {"context": ssl.create_default_context()} if smtp.implicit_tls else {}
        with client_class(smtp.host, smtp.port, timeout=TIMEOUT_SECONDS, **kwargs) as client:
            step = "EHLO"
            client.ehlo()
            encrypted = smtp.implicit_tls
            if not encrypted and client.has_extn("starttls"):
                step = "STARTTLS"
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
                encrypted = True
            if smtp.user:
                if not encrypted and smtp.host not in _LOOPBACK:
                    return (f"{smtp.host}:{smtp.port} offers no STARTTLS: credentials are not sent "
                            "in clear text (use port 465 or a server with STARTTLS)")
                step = "AUTH"
                client.login(smtp.user, smtp.password or "")
            step = "MAIL"
            refused = client.send_message(mail)
    except smtplib.SMTPResponseException as error:
        return f"SMTP {step} refused by {smtp.host}:{smtp.port} with code {error.smtp_code}"
    except smtplib.SMTPRecipientsRefused as error:
        return f"SMTP {step}: {smtp.host}:{smtp.port} refused every recipient ({len(error.recipients)})"
    except (OSError, smtplib.SMTPException) as error:
        return f"SMTP {step} to {smtp.host}:{smtp.port} failed: {type(error).__name__}"
    if refused:
        return f"{smtp.host}:{smtp.port} refused {len(refused)} of {len(smtp.recipients)} recipients"
    return None
