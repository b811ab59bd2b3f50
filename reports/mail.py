"""Sending report mail: SMTP (STARTTLS, SSL or plain, per settings.smtp_security) with the password from env
TAKEDOWN_SMTP_PASSWORD; with no SMTP server configured the message is written to var/outbox/ as an .eml file.

The session (TLS, certificate check, login) is opened by takedown.smtp, the same code complaint filing uses;
endpoint choice, sender and the atomic .eml writer come from the complaint mailer (takedown.complaints.email)."""

from __future__ import annotations

import logging
import re
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path

from takedown import smtp as smtp_session
from takedown.complaints.email import configured_endpoint, outbox_dir, sender_address, write_eml
from takedown.settings import Settings

logger = logging.getLogger(__name__)


class MailError(RuntimeError):
    pass


@dataclass
class Delivery:
    sent: bool
    where: str  # "host:port" when sent, else the .eml path
    recipients: list[str]

    @property
    def path(self) -> Path | None:
        return None if self.sent else Path(self.where)


def _safe_name(message: EmailMessage) -> str:
    stem = (message.get("X-Takedown-Report") or message.get("Message-ID") or "report").strip("<>")
    return re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-") or "report"


def send_report(message: EmailMessage, settings: Settings) -> Delivery:
    """Send to the message's To/Cc recipients, or write it to the outbox when no SMTP server is configured."""
    recipients = [addr for _, addr in getaddresses(message.get_all("To", []) + message.get_all("Cc", [])) if addr]
    # Internal reports go to the configured server only: the emulator's inboxes stand in for platforms.
    endpoint = configured_endpoint(settings)
    if endpoint is None:
        path = write_eml(message, outbox_dir(settings), _safe_name(message))
        logger.warning("report: no SMTP host configured (TAKEDOWN_SMTP_HOST): written to %s, NOT sent", path)
        return Delivery(sent=False, where=str(path), recipients=recipients)
    if not recipients:
        raise MailError("the report has no recipients (set TAKEDOWN_REPORT_RECIPIENTS)")
    try:
        smtp = smtp_session.connect(endpoint, settings)
    except smtp_session.SmtpConnectError as exc:
        # No outbox fall-back here: a configured server that cannot be used is an error someone must see.
        raise MailError(f"cannot send the report: {exc}") from None
    try:
        refused = smtp.send_message(message, from_addr=sender_address(settings), to_addrs=recipients)
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(f"cannot send the report via {endpoint.host}:{endpoint.port}: {type(exc).__name__}: "
                        f"{smtp_session.redact(str(exc), settings)}") from None
    finally:
        smtp_session.close(smtp)
    if refused:
        raise MailError(f"the mail server refused {sorted(refused)}")
    return Delivery(sent=True, where=f"{endpoint.host}:{endpoint.port}", recipients=recipients)
