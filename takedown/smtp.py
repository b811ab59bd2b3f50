"""Opening an SMTP session for every mail the product sends (complaint filing, the weekly report): TLS as
`smtp_security` says, the server certificate always verified, then the login.

- `starttls`: a server that does not offer STARTTLS is an error, never a fall-back to plain text.
- `ssl`: implicit TLS from the first byte (usually port 465).
- `none`: plain text. A login is then refused unless `smtp_allow_plain_auth` is set, since it would send the
  password in clear.
- A private CA is trusted through `smtp_ca_file`; there is deliberately no switch that turns verification off.

Every error here means nothing was sent yet, names the server, and never contains the password."""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from pathlib import Path
from typing import TYPE_CHECKING

from takedown.settings import Settings

if TYPE_CHECKING:
    from takedown.complaints.channels import SmtpEndpoint

SECURITY_MODES = ("starttls", "ssl", "none")


class SmtpConnectError(RuntimeError):
    """The session could not be opened (unreachable, TLS, login, or refused by the settings): nothing was sent."""


class SmtpLoginRefused(SmtpConnectError):
    """The server turned the credentials down."""


def redact(text: str, settings: Settings) -> str:
    """Text for an error or log line, never with the SMTP password in it (servers may echo what they got)."""
    text = text[:300]
    password = settings.smtp_password.get_secret_value()
    return text.replace(password, "***") if password else text


def tls_context(settings: Settings) -> ssl.SSLContext:
    """A verifying client context; with `smtp_ca_file` set, that CA bundle is what is trusted."""
    cafile = settings.smtp_ca_file
    if cafile and not Path(cafile).is_file():
        # Said up front: ssl's own error for this is a bare "No such file or directory".
        raise SmtpConnectError(f"smtp_ca_file {cafile} does not exist")
    return ssl.create_default_context(cafile=cafile or None)


def close(smtp: smtplib.SMTP | None) -> None:
    """End a session politely if it is still up; a dead connection is simply dropped."""
    if smtp is None:
        return
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        with contextlib.suppress(OSError):
            smtp.close()


def connect(endpoint: SmtpEndpoint, settings: Settings) -> smtplib.SMTP:
    """A session to `endpoint`, secured and logged in as configured, ready for send_message."""
    where = f"{endpoint.host}:{endpoint.port}"
    if endpoint.security not in SECURITY_MODES:
        raise SmtpConnectError(f"SMTP {where}: unknown smtp_security {endpoint.security!r} "
                               f"(one of {', '.join(SECURITY_MODES)})")
    if endpoint.username and endpoint.security == "none" and not settings.smtp_allow_plain_auth:
        # Checked before connecting: the password must not go out in clear, and there is no reason to dial first.
        raise SmtpConnectError(f"refusing to log in to SMTP {where} as {endpoint.username!r} without TLS "
                               "(smtp_security=none would send the password in clear): use starttls or ssl, or "
                               "set TAKEDOWN_SMTP_ALLOW_PLAIN_AUTH=true for a trusted local relay")
    context = tls_context(settings) if endpoint.security != "none" else None
    timeout = settings.smtp_timeout
    smtp: smtplib.SMTP | None = None
    try:
        if endpoint.security == "ssl":
            smtp = smtplib.SMTP_SSL(endpoint.host, endpoint.port, timeout=timeout, context=context)
        else:
            smtp = smtplib.SMTP(endpoint.host, endpoint.port, timeout=timeout)
            if endpoint.security == "starttls":
                smtp.ehlo()
                if not smtp.has_extn("starttls"):
                    raise SmtpConnectError(f"SMTP {where} does not offer STARTTLS although smtp_security=starttls: "
                                           "refusing to send in plain text")
                smtp.starttls(context=context)
                smtp.ehlo()  # RFC 3207: what the server offers (AUTH) is only known anew after the handshake
        if endpoint.username:
            smtp.login(endpoint.username, settings.smtp_password.get_secret_value())
    except SmtpConnectError:
        close(smtp)
        raise
    except smtplib.SMTPAuthenticationError as exc:
        close(smtp)
        answer = exc.smtp_error
        answer = answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)
        raise SmtpLoginRefused(f"SMTP login to {where} as {endpoint.username!r} refused "
                               f"({exc.smtp_code} {redact(answer, settings)})") from None
    except (smtplib.SMTPException, OSError) as exc:
        close(smtp)
        raise SmtpConnectError(f"cannot connect to SMTP {where}: {type(exc).__name__}: "
                               f"{redact(str(exc), settings)}") from None
    return smtp
