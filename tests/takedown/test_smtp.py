"""Complaint filing by e-mail over a real local SMTP server with TLS and AUTH (takedown.smtp, the session code
the weekly report shares): STARTTLS with a certificate verified against smtp_ca_file, implicit TLS, and the
refusals, each of which must leave the complaints `failed` (retryable), never `submitted`."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from sqlalchemy import select

from takedown.complaints.batches import build_batches, file_batch
from takedown.db import make_engine, session_scope, upgrade
from takedown.models import Case, CaseState, Complaint
from tests.smtp_servers import Authenticator, Certificates, make_certificates, smtp_server
from tests.takedown.complaints_seed import seed_cases, settings_for, similar_posts

USER, PASSWORD = "filer", "s3cret-filing-pw"


@pytest.fixture
def engine(sqlite_url: str):
    """SQLite only: what is under test is the SMTP session, not the storage (test_complaints_filing runs both)."""
    engine = make_engine(sqlite_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def certs(tmp_path: Path) -> Certificates:
    return make_certificates(tmp_path / "tls")


def _file(engine, tmp_path: Path, port: int, n: int = 2, **smtp):
    settings = settings_for(tmp_path, engine.url.render_as_string(hide_password=False), emulator_url="",
                            smtp_host="127.0.0.1", smtp_port=port, **smtp)
    case_ids = seed_cases(engine, settings, similar_posts(n, platform="bilibili", base="https://www.bilibili.com"))
    with session_scope(engine) as session:
        [batch] = build_batches(session, case_ids, user=None, method="email", settings=settings)
        batch_id = batch.id
    return file_batch(engine, batch_id, settings=settings, pace=0), batch_id


def _complaints(engine, batch_id: int) -> list[tuple[Complaint, Case]]:
    with session_scope(engine) as session:
        rows = session.execute(select(Complaint).where(Complaint.batch_id == batch_id).order_by(Complaint.id))
        out = [(c, session.get(Case, c.case_id)) for c in rows.scalars()]
        session.expunge_all()
        return out


def _assert_failed_unfiled(engine, batch_id: int, reason: str) -> None:
    for complaint, case in _complaints(engine, batch_id):
        assert complaint.state == "failed" and reason in complaint.response, complaint.response
        assert PASSWORD not in complaint.response
        assert case.state == CaseState.DRAFTED  # nothing was filed


def test_starttls_with_a_verified_certificate_and_login(engine, certs: Certificates, tmp_path: Path):
    auth = Authenticator(USER, PASSWORD)
    with smtp_server(tls_context=certs.server_context(), require_starttls=True, authenticator=auth) as (inbox, port):
        report, batch_id = _file(engine, tmp_path, port, smtp_security="starttls",
                                 smtp_ca_file=str(certs.ca_file), smtp_username=USER, smtp_password=PASSWORD)
    assert len(report.submitted) == 2 and not report.failed
    assert len(inbox.messages) == 2
    assert all(m.starttls and m.tls_version in ("TLSv1.2", "TLSv1.3") and m.login == USER for m in inbox.messages)
    assert auth.attempts == [(USER, True)]  # one session, one login, for the whole batch
    by_id = {BytesParser(policy=policy.default).parsebytes(m.raw)["Message-ID"]: m for m in inbox.messages}
    for complaint, case in _complaints(engine, batch_id):
        assert complaint.state == "submitted" and case.state == CaseState.FILED
        received = by_id[complaint.external_ref]
        assert received.rcpt_tos == ["copyright@bilibili.com"]
        parsed = BytesParser(policy=policy.default).parsebytes(received.raw)
        assert parsed["X-Takedown-Ref"] == complaint.client_ref
        assert parsed.get_body(preferencelist=("plain",)).get_content().strip() == complaint.body.strip()


def test_implicit_tls(engine, certs: Certificates, tmp_path: Path):
    auth = Authenticator(USER, PASSWORD)
    # aiosmtpd only counts STARTTLS as TLS, so it must not demand TLS for AUTH on an implicit-TLS listener.
    with smtp_server(ssl_context=certs.server_context(), authenticator=auth, auth_require_tls=False) as (inbox, port):
        report, _ = _file(engine, tmp_path, port, n=1, smtp_security="ssl", smtp_ca_file=str(certs.ca_file),
                          smtp_username=USER, smtp_password=PASSWORD)
    assert len(report.submitted) == 1
    [received] = inbox.messages
    assert received.tls_version in ("TLSv1.2", "TLSv1.3") and not received.starttls and received.login == USER


def test_an_unverifiable_certificate_fails_the_filing(engine, certs: Certificates, tmp_path: Path):
    with smtp_server(ssl_context=certs.server_context()) as (inbox, port):
        report, batch_id = _file(engine, tmp_path, port, n=1, smtp_security="ssl")  # no smtp_ca_file
    assert not report.submitted and inbox.messages == []
    _assert_failed_unfiled(engine, batch_id, f"cannot connect to SMTP 127.0.0.1:{port}: SSLCertVerificationError")


def test_wrong_password_fails_the_complaints_naming_the_server(engine, certs: Certificates, tmp_path: Path):
    auth = Authenticator(USER, "the-real-one")
    with smtp_server(tls_context=certs.server_context(), require_starttls=True, authenticator=auth) as (inbox, port):
        report, batch_id = _file(engine, tmp_path, port, smtp_security="starttls",
                                 smtp_ca_file=str(certs.ca_file), smtp_username=USER, smtp_password=PASSWORD)
    assert not report.submitted and len(report.failed) == 2 and inbox.messages == []
    _assert_failed_unfiled(engine, batch_id, f"SMTP login to 127.0.0.1:{port} as '{USER}' refused (535")


def test_login_over_plain_text_is_refused_before_connecting(engine, tmp_path: Path):
    auth = Authenticator(USER, PASSWORD)
    with smtp_server(authenticator=auth, auth_require_tls=False) as (inbox, port):
        report, batch_id = _file(engine, tmp_path, port, n=1, smtp_security="none", smtp_username=USER,
                                 smtp_password=PASSWORD)
    assert not report.submitted and auth.attempts == [] and inbox.messages == []
    _assert_failed_unfiled(engine, batch_id, f"refusing to log in to SMTP 127.0.0.1:{port} as '{USER}' without TLS")


def test_starttls_configured_but_not_offered(engine, certs: Certificates, tmp_path: Path):
    with smtp_server() as (inbox, port):
        report, batch_id = _file(engine, tmp_path, port, n=1, smtp_security="starttls",
                                 smtp_ca_file=str(certs.ca_file))
    assert not report.submitted and inbox.messages == []
    _assert_failed_unfiled(engine, batch_id, f"SMTP 127.0.0.1:{port} does not offer STARTTLS")
