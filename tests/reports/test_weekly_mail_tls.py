"""The weekly report over a real local SMTP server with TLS and AUTH: STARTTLS with a certificate the client
verifies against smtp_ca_file, implicit TLS, a login from the environment, and the refusals (wrong password,
a password over plain text, STARTTLS configured but not offered). The server records, per message, whether it
arrived over TLS and who had logged in, so "it was sent securely" is checked on the receiving side."""

from __future__ import annotations

import email
import email.policy
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from reports.mail import MailError, send_report
from reports.weekly import build_weekly_message
from takedown.db import make_engine, session_scope, upgrade
from takedown.settings import Settings, get_settings
from tests.reports.seed import WEEK, seed
from tests.reports.test_weekly_mail import _check_message
from tests.smtp_servers import Authenticator, Certificates, make_certificates, smtp_server

USER, PASSWORD = "reports", "c0rrect-h0rse-pw"
RECIPIENTS = ["lead@example.com", "ops@example.com"]


@pytest.fixture
def seeded(sqlite_url: str) -> Engine:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    with session_scope(engine) as session:
        seed(session)
    yield engine
    engine.dispose()


@pytest.fixture
def certs(tmp_path: Path) -> Certificates:
    return make_certificates(tmp_path / "tls")


def _settings(tmp_path: Path, port: int, **kw) -> Settings:
    return Settings(var_dir=tmp_path / "var", report_recipients=RECIPIENTS, smtp_from="reports@example.com",
                    emulator_url="", smtp_host="127.0.0.1", smtp_port=port, **kw)


def _message(engine: Engine, settings: Settings):
    with session_scope(engine) as session:
        return build_weekly_message(session, WEEK, settings)


def _run_cli(monkeypatch: pytest.MonkeyPatch, sqlite_url: str, tmp_path: Path, **env: str):
    """`takedown report weekly --send` with settings from the environment only, as the scheduler runs it."""
    from takedown.cli import app

    monkeypatch.setenv("TAKEDOWN_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("TAKEDOWN_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("TAKEDOWN_EMULATOR_URL", "")
    monkeypatch.setenv("TAKEDOWN_SMTP_FROM", "reports@example.com")
    monkeypatch.setenv("TAKEDOWN_REPORT_RECIPIENTS", json.dumps(RECIPIENTS))
    for name, value in env.items():
        monkeypatch.setenv(f"TAKEDOWN_{name.upper()}", value)
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, ["report", "weekly", "--week", WEEK, "--send"])
    finally:
        get_settings.cache_clear()


def test_starttls_with_a_verified_certificate_and_login_from_the_environment(
        seeded: Engine, sqlite_url: str, certs: Certificates, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    auth = Authenticator(USER, PASSWORD)
    # require_starttls: the server answers nothing but EHLO/STARTTLS/QUIT in clear; AUTH only after TLS.
    with smtp_server(tls_context=certs.server_context(), require_starttls=True, authenticator=auth) as (inbox, port):
        result = _run_cli(monkeypatch, sqlite_url, tmp_path, smtp_host="127.0.0.1", smtp_port=str(port),
                          smtp_security="starttls", smtp_ca_file=str(certs.ca_file), smtp_username=USER,
                          smtp_password=PASSWORD)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["sent"] is True and out["via"] == f"127.0.0.1:{port}" and out["recipients"] == RECIPIENTS
    assert PASSWORD not in result.output
    [received] = inbox.messages
    assert received.starttls and received.tls_version in ("TLSv1.2", "TLSv1.3")
    assert received.login == USER and auth.attempts == [(USER, True)]  # logged in once, inside TLS
    assert received.mail_from == "reports@example.com" and received.rcpt_tos == RECIPIENTS
    parsed = email.message_from_bytes(received.raw, policy=email.policy.default)
    assert "2026-W47" in parsed["Subject"]
    _check_message(parsed)
    assert not (tmp_path / "var" / "outbox").exists()  # sent, not parked


def test_starttls_without_the_ca_file_fails_verification(seeded: Engine, certs: Certificates, tmp_path: Path):
    """The test CA is not in the system store: without smtp_ca_file the certificate must not be accepted."""
    with smtp_server(tls_context=certs.server_context(), require_starttls=True) as (inbox, port):
        settings = _settings(tmp_path, port, smtp_security="starttls")
        with pytest.raises(MailError, match=rf"127\.0\.0\.1:{port}.*CERTIFICATE_VERIFY_FAILED"):
            send_report(_message(seeded, settings), settings)
    assert inbox.messages == []


def test_a_missing_ca_file_is_named(seeded: Engine, tmp_path: Path):
    settings = _settings(tmp_path, 25, smtp_security="starttls", smtp_ca_file=str(tmp_path / "nope.pem"))
    with pytest.raises(MailError, match="smtp_ca_file .*nope.pem does not exist"):
        send_report(_message(seeded, settings), settings)


def test_implicit_tls(seeded: Engine, certs: Certificates, tmp_path: Path):
    auth = Authenticator(USER, PASSWORD)
    # aiosmtpd cannot tell that a listener's socket is TLS (only STARTTLS counts for it), so the server is told
    # not to demand TLS for AUTH; the recorded transport below shows the login did happen inside TLS.
    with smtp_server(ssl_context=certs.server_context(), authenticator=auth, auth_require_tls=False) as (inbox, port):
        settings = _settings(tmp_path, port, smtp_security="ssl", smtp_ca_file=str(certs.ca_file),
                             smtp_username=USER, smtp_password=PASSWORD)
        delivery = send_report(_message(seeded, settings), settings)
    assert delivery.sent and delivery.where == f"127.0.0.1:{port}"
    [received] = inbox.messages
    assert received.tls_version in ("TLSv1.2", "TLSv1.3") and not received.starttls
    assert received.login == USER and auth.attempts == [(USER, True)]
    _check_message(email.message_from_bytes(received.raw, policy=email.policy.default))


def test_wrong_password_is_a_clear_error_and_nothing_is_sent(
        seeded: Engine, sqlite_url: str, certs: Certificates, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    auth = Authenticator(USER, PASSWORD)
    with smtp_server(tls_context=certs.server_context(), require_starttls=True, authenticator=auth) as (inbox, port):
        result = _run_cli(monkeypatch, sqlite_url, tmp_path, smtp_host="127.0.0.1", smtp_port=str(port),
                          smtp_security="starttls", smtp_ca_file=str(certs.ca_file), smtp_username=USER,
                          smtp_password="wrong-pw-123")
    assert result.exit_code == 1
    said = " ".join(result.output.split())  # the console wraps long error lines
    assert f"cannot send the report: SMTP login to 127.0.0.1:{port} as '{USER}' refused (535" in said
    assert '"sent"' not in result.stdout and "wrong-pw-123" not in result.output
    # smtplib tries each mechanism the server offers (PLAIN, then LOGIN): every try was inside TLS
    assert auth.attempts and set(auth.attempts) == {(USER, True)} and inbox.messages == []
    assert not (tmp_path / "var" / "outbox").exists()  # no silent fall-back to the outbox either


def test_login_over_plain_text_is_refused_unless_allowed(seeded: Engine, tmp_path: Path):
    auth = Authenticator(USER, PASSWORD)
    # This server would take a password in clear: refusing it is the client's job.
    with smtp_server(authenticator=auth, auth_require_tls=False) as (inbox, port):
        settings = _settings(tmp_path, port, smtp_security="none", smtp_username=USER, smtp_password=PASSWORD)
        with pytest.raises(MailError, match=rf"refusing to log in to SMTP 127\.0\.0\.1:{port} .*without TLS"):
            send_report(_message(seeded, settings), settings)
        assert auth.attempts == [] and inbox.messages == []

        allowed = _settings(tmp_path, port, smtp_security="none", smtp_username=USER, smtp_password=PASSWORD,
                            smtp_allow_plain_auth=True)
        assert send_report(_message(seeded, allowed), allowed).sent
    [received] = inbox.messages
    assert received.login == USER and received.tls_version is None and auth.attempts == [(USER, False)]


def test_starttls_configured_but_not_offered_is_an_error_not_a_plain_send(seeded: Engine, certs: Certificates,
                                                                           tmp_path: Path):
    with smtp_server() as (inbox, port):  # no tls_context: EHLO does not offer STARTTLS
        settings = _settings(tmp_path, port, smtp_security="starttls", smtp_ca_file=str(certs.ca_file))
        with pytest.raises(MailError, match=rf"SMTP 127\.0\.0\.1:{port} does not offer STARTTLS"):
            send_report(_message(seeded, settings), settings)
    assert inbox.messages == []


def test_an_unknown_security_mode_is_refused_not_read_as_plain(seeded: Engine, tmp_path: Path):
    """Before takedown.smtp any value but starttls/ssl (say "tls") fell through to a plain-text session."""
    with smtp_server() as (inbox, port):
        settings = _settings(tmp_path, port, smtp_security="tls")
        with pytest.raises(MailError, match=rf"SMTP 127\.0\.0\.1:{port}: unknown smtp_security 'tls'"):
            send_report(_message(seeded, settings), settings)
    assert inbox.messages == []
