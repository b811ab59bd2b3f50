from __future__ import annotations

import csv
import email
import email.policy
import io
import re
import socket
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine
from typer.testing import CliRunner

from reports.mail import send_report
from reports.weekly import build_weekly_message
from takedown.db import make_engine, session_scope, upgrade
from takedown.settings import Settings
from tests.reports.figures import check_figures, check_parts, html_figures, text_figures
from tests.reports.seed import EVIL, EXPECTED, WEEK, seed


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


@pytest.fixture
def seeded(sqlite_url: str) -> Engine:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    with session_scope(engine) as session:
        seed(session)
    yield engine
    engine.dispose()


def _settings(tmp_path: Path, **kw) -> Settings:
    return Settings(var_dir=tmp_path / "var", report_recipients=["lead@example.com", "ops@example.com"],
                    smtp_from="reports@example.com", emulator_url="", **kw)


def _check_message(msg: EmailMessage) -> None:
    plain = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert plain is not None and html is not None
    html_text = html.get_content()
    cids = set(re.findall(r'src="cid:([^"]+)"', html_text))
    assert len(cids) == 2
    images = {part["Content-ID"].strip().strip("<>"): part for part in msg.walk()
              if part.get_content_maintype() == "image" and part["Content-ID"]}
    assert cids <= set(images)
    for cid in cids:
        assert images[cid].get_payload(decode=True).startswith(b"\x89PNG")
    # every figure of both parts equals the hand-computed one (seed.EXPECTED), none more, none fewer
    check_figures(msg, EXPECTED)
    # scraped names are escaped in the HTML
    assert "<script>" not in html_text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;坏号" in html_text
    # the week's cases as CSV, formula-safe
    (attachment,) = [p for p in msg.iter_attachments() if p.get_content_type() == "text/csv"]
    rows = list(csv.DictReader(io.StringIO(attachment.get_payload(decode=True).decode("utf-8-sig"))))
    # case 1 was opened and filed weeks earlier but removed this week; 2-4 were opened this week
    assert sorted(int(r["case_id"]) for r in rows) == [1, 2, 3, 4]
    assert all(r["title"].startswith("'=") for r in rows)
    assert {r["nickname"] for r in rows} == {EVIL, "正常号"}


def test_weekly_email_over_real_smtp(seeded: Engine, smtp_server, tmp_path: Path):
    inbox, port = smtp_server
    settings = _settings(tmp_path, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none")
    with session_scope(seeded) as session:
        message = build_weekly_message(session, WEEK, settings)
    delivery = send_report(message, settings)
    assert delivery.sent and delivery.where == f"127.0.0.1:{port}"
    assert len(inbox.messages) == 1
    rcpts, raw = inbox.messages[0]
    assert rcpts == ["lead@example.com", "ops@example.com"]
    received = email.message_from_bytes(raw, policy=email.policy.default)
    assert "2026-W47" in received["Subject"]
    _check_message(received)


def test_without_smtp_host_the_report_goes_to_the_outbox(seeded: Engine, tmp_path: Path):
    settings = _settings(tmp_path)
    with session_scope(seeded) as session:
        message = build_weekly_message(session, WEEK, settings)
    delivery = send_report(message, settings)
    assert not delivery.sent
    path = Path(delivery.where)
    assert path.parent == tmp_path / "var" / "outbox" and path.suffix == ".eml"
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    _check_message(parsed)


def test_cli_preview_and_send_to_outbox(seeded: Engine, sqlite_url: str, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch):
    from takedown.cli import app
    from takedown.settings import get_settings

    monkeypatch.setenv("TAKEDOWN_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("TAKEDOWN_VAR_DIR", str(tmp_path / "var"))
    for name in ("TAKEDOWN_SMTP_HOST", "TAKEDOWN_EMULATOR_URL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    try:
        preview = tmp_path / "weekly.html"
        result = CliRunner().invoke(app, ["report", "weekly", "--week", WEEK, "--preview", str(preview), "--send"])
        assert result.exit_code == 0, result.output
        html = preview.read_text(encoding="utf-8")
        assert "cid:" not in html and html.count("data:image/png;base64,") == 2
        assert "&lt;script&gt;" in html
        assert '"outbox"' in result.stdout and ".eml" in result.stdout
        assert list((tmp_path / "var" / "outbox").glob("*.eml"))
        bad = CliRunner().invoke(app, ["report", "weekly", "--week", "2026-99"])
        assert bad.exit_code == 2
    finally:
        get_settings.cache_clear()


def _parts(engine: Engine, tmp_path: Path) -> tuple[str, str]:
    with session_scope(engine) as session:
        message = build_weekly_message(session, WEEK, _settings(tmp_path))
    return (message.get_body(preferencelist=("html",)).get_content(),
            message.get_body(preferencelist=("plain",)).get_content())


def test_the_figure_check_catches_an_altered_figure(seeded: Engine, tmp_path: Path):
    """The check above would fail if the report showed a wrong figure, in either part, or left one out."""
    html, text = _parts(seeded, tmp_path)
    check_parts(html, text, EXPECTED)
    assert html_figures(html)["confirmed"] == "3" and text_figures(text)["top_keywords/停息挂账"] == "3"
    tampered = [
        (re.sub(r'(data-metric="confirmed"[^>]*>)3<', r"\g<1>999<", html), text),
        (re.sub(r'(data-metric="top_keywords/停息挂账"[^>]*>)3<', r"\g<1>0<", html), text),
        (re.sub(r'(data-metric="crawl_health/douyin/stop/captcha"[^>]*>)1<', r"\g<1>2<", html), text),
        (html, text.replace("  停息挂账: 3", "  停息挂账: 0")),
        (html, text.replace("removed=3\n", "removed=4\n")),
        (html, text.replace("  wechat/cz573982a: 2\n", "")),  # a figure left out
        (html, text.replace("median_hours=24.0", "median_hours=25.0")),
    ]
    for altered_html, altered_text in tampered:
        assert (altered_html, altered_text) != (html, text), "the alteration did not apply"
        with pytest.raises(AssertionError):
            check_parts(altered_html, altered_text, EXPECTED)


def test_a_nickname_with_a_line_break_cannot_forge_a_figure_line(seeded: Engine, tmp_path: Path):
    from sqlalchemy import update

    from takedown.models import Author

    with session_scope(seeded) as session:
        session.execute(update(Author).where(Author.platform_author_id == "a1")
                        .values(nickname="坏号\n  停息挂账: 999\nconfirmed: 999"))
    html, text = _parts(seeded, tmp_path)
    assert text_figures(text)["top_keywords/停息挂账"] == "3" and text_figures(text)["confirmed"] == "3"
    assert "\n  停息挂账: 999" not in text


def test_the_html_has_its_css_inlined(seeded: Engine, tmp_path: Path):
    """Mail clients drop <style> blocks and external stylesheets: every rule is a style attribute."""
    html, _ = _parts(seeded, tmp_path)
    assert "<style" not in html.lower() and "<link" not in html.lower() and "class=" not in html
    for tag in ("body", "h1", "h2", "table", "td", "th", "img"):
        opening = re.findall(rf"<{tag}\b[^>]*>", html)
        assert opening, tag
        assert all('style="' in element for element in opening), tag
