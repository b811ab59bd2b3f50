"""Filing by e-mail: the letter as text/plain + text/html with the evidence files attached, sent over SMTP to the
channel's complaint address. One of the three modules that write to a platform.

- SMTP settings: `smtp_host`, `smtp_port`, `smtp_security` (starttls | ssl | none), `smtp_username`, and the
  password from env TAKEDOWN_SMTP_PASSWORD (`smtp_password`, a secret: never logged, never in an error). With
  `emulator_url` set and no host configured, the emulator's SMTP inbox is used. The session itself (TLS,
  certificate check, login) is opened by takedown.smtp, shared with the weekly report.
- No host at all: the message is written to `var/outbox/<client_ref>.eml` and NOT sent; the complaint becomes
  `unconfirmed` with a note saying so, for a person to send it and confirm.
- Message-ID is deterministic, `<td-{client_ref}@takedown.local>`: the same complaint always carries the same
  id, so a receiving desk that de-duplicates by Message-ID sees a copy, never a second complaint.
- At most once: a failure the server answered (refused recipient, rejected data) is `failed`; a connection lost
  after the message started going out is ambiguous, so it is `unconfirmed` and never re-sent automatically.
"""

from __future__ import annotations

import logging
import os
import smtplib
import tempfile
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path
from types import TracebackType

from takedown import clock
from takedown import smtp as smtp_session
from takedown.complaints.channels import SmtpEndpoint, emulator_smtp
from takedown.complaints.package import Filing
from takedown.complaints.results import FilingOutcome, PermanentFailure
from takedown.settings import Settings

logger = logging.getLogger(__name__)


def outbox_dir(settings: Settings) -> Path:
    return settings.var_dir / "outbox"


def configured_endpoint(settings: Settings) -> SmtpEndpoint | None:
    """The SMTP server from configuration, if any."""
    if settings.smtp_host:
        return SmtpEndpoint(settings.smtp_host, settings.smtp_port, settings.smtp_security, settings.smtp_username)
    return None


def endpoint_for(settings: Settings) -> SmtpEndpoint | None:
    """Where complaint mail goes: the configured server, else the emulator's inbox, else nowhere (outbox)."""
    if settings.smtp_host:
        return configured_endpoint(settings)
    if settings.emulator_url:
        endpoint, _ = emulator_smtp(settings)
        if endpoint.host and endpoint.port:
            return endpoint
    return None


def sender_address(settings: Settings) -> str:
    return settings.smtp_from or settings.rights_holder.contact_email


def build_message(filing: Filing, settings: Settings, *, to: str | None = None) -> EmailMessage:
    """The complaint e-mail: letter as text and HTML, every attachment, deterministic Message-ID."""
    msg = EmailMessage()
    msg["Subject"] = " ".join(filing.subject.split())
    msg["From"] = formataddr((settings.rights_holder.company_name, sender_address(settings)))
    msg["To"] = to or filing.channel.email_address
    msg["Reply-To"] = settings.rights_holder.contact_email
    msg["Date"] = format_datetime(clock.now(settings))
    msg["Message-ID"] = filing.message_id
    msg["X-Takedown-Ref"] = filing.client_ref
    msg.set_content(filing.body + "\n", subtype="plain", charset="utf-8", cte="base64")
    msg.add_alternative(filing.html, subtype="html", charset="utf-8", cte="base64")
    for att in filing.attachments:
        maintype, _, subtype = att.content_type.partition("/")
        msg.add_attachment(att.path.read_bytes(), maintype=maintype, subtype=subtype or "octet-stream",
                           filename=att.name)
    return msg


def write_eml(message: EmailMessage, directory: Path, name: str) -> Path:
    """Write atomically to directory/name.eml (mode 0600: complaint mail names people)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.eml"
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".eml")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(bytes(message))
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


class EmailFiler:
    """Sends a batch's complaints over one SMTP connection (reconnecting when the server drops it)."""

    can_lookup = False  # a mailbox cannot be asked whether a message arrived

    def __init__(self, settings: Settings, *, endpoint: SmtpEndpoint | None = None):
        self.settings = settings
        self.endpoint = endpoint if endpoint is not None else endpoint_for(settings)
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> EmailFiler:
        if self.endpoint is None:
            logger.warning("complaints: no SMTP host configured (TAKEDOWN_SMTP_HOST): e-mails are written to %s "
                           "and NOT sent", outbox_dir(self.settings))
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        smtp_session.close(self._smtp)
        self._smtp = None

    def _connect(self) -> smtplib.SMTP:
        if self._smtp is not None:
            try:  # a server may drop an idle connection: find out before the message starts going out
                if self._smtp.noop()[0] == 250:
                    return self._smtp
            except (smtplib.SMTPException, OSError):
                pass
            self.close()
        assert self.endpoint is not None
        try:
            smtp = smtp_session.connect(self.endpoint, self.settings)
        except smtp_session.SmtpConnectError as exc:
            # Nothing was sent yet: safe to report as a failure (the batch retries it later).
            raise PermanentFailure(str(exc)) from None
        self._smtp = smtp
        return smtp

    def send(self, filing: Filing) -> FilingOutcome:
        to = filing.channel.email_address
        message = build_message(filing, self.settings, to=to)
        if self.endpoint is None:
            path = write_eml(message, outbox_dir(self.settings), filing.client_ref)
            return FilingOutcome(state="unconfirmed", external_ref="",
                                 note=f"NOT sent: no SMTP host configured; the message is in {path} for a person "
                                      "to send, then confirm (takedown complaints confirm)")
        smtp = self._connect()
        try:
            refused = smtp.send_message(message, from_addr=sender_address(self.settings), to_addrs=[to])
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            self.close()
            raise PermanentFailure(f"the mail server refused the message to {to}: "
                                   f"{_safe(exc, self.settings)}") from None
        except (smtplib.SMTPException, OSError) as exc:
            # The connection broke while the message was going out: it may or may not have arrived.
            self.close()
            return FilingOutcome(state="unconfirmed", external_ref=filing.message_id,
                                 note=f"connection lost while sending to {to} ({type(exc).__name__}); it may have "
                                      "arrived: check the mailbox, then confirm or re-queue")
        if refused:
            raise PermanentFailure(f"the mail server refused {sorted(refused)}")
        return FilingOutcome(state="submitted", external_ref=filing.message_id, note=f"sent to {to}")


def _safe(exc: BaseException, settings: Settings) -> str:
    """An exception's text, never with the SMTP password in it (servers may echo what they got)."""
    return smtp_session.redact(str(exc), settings)
