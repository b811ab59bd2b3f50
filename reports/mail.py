"""Sending report mail: SMTP (STARTTLS, SSL or plain, per settings.smtp_security) with the password from env
TAKEDOWN_SMTP_PASSWORD; with no SMTP server configured the message is written to var/outbox/ as an .eml file.

Uses the complaint mailer's endpoint choice, sender and atomic .eml writer (takedown.complaints.email)."""

from __future__ import annotations

import contextlib
import logging
import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path

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
    timeout = settings.smtp_timeout
    password = settings.smtp_password.get_secret_value()
    try:
        if endpoint.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(endpoint.host, endpoint.port, timeout=timeout,
                                                  context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(endpoint.host, endpoint.port, timeout=timeout)
            if endpoint.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
        try:
            if endpoint.username:
                smtp.login(endpoint.username, password)
            refused = smtp.send_message(message, from_addr=sender_address(settings), to_addrs=recipients)
        finally:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                smtp.quit()
    except (smtplib.SMTPException, OSError) as exc:
        text = str(exc)[:300]
        if password:
            text = text.replace(password, "***")
        raise MailError(f"cannot send the report via {endpoint.host}:{endpoint.port}: {type(exc).__name__}: "
                        f"{text}") from None
    if refused:
        raise MailError(f"the mail server refused {sorted(refused)}")
    return Delivery(sent=True, where=f"{endpoint.host}:{endpoint.port}", recipients=recipients)
