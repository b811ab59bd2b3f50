"""The SMTP complaint inbox: a real smtplib client delivers to the platforms' addresses; messages are parsed,
filed as complaints (client_ref = Message-ID, never twice), decided, and unknown recipients get 550."""

from __future__ import annotations

import hashlib
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

import anyio
import httpx
import pytest

from emulator.app import create_app
from emulator.server import running, smtp_address
from emulator.smtp_inbox import ADDRESSES, parse_message, start
from tests.emulator.emu_helpers import varied_text

EVIDENCE = b"%PDF-1.4 authorisation letter " + bytes(range(256))


def _message(to: str, body: str, message_id: str | None = None, html: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "法务部 <legal@lender.example>"
    msg["To"] = to
    msg["Subject"] = "关于违规内容的投诉"
    msg["Message-ID"] = message_id or make_msgid(domain="lender.example")
    msg.set_content(body)
    if html:
        msg.add_alternative(html, subtype="html")
    msg.add_attachment(EVIDENCE, maintype="application", subtype="pdf", filename="授权委托书.pdf")
    return msg


def test_mail_is_filed_decided_and_not_filed_twice():
    with running(seed=7, size=2000) as base:
        info = httpx.get(f"{base}/_emu/smtp").json()
        assert info["host"] == "127.0.0.1" and info["port"] > 0 and info["addresses"] == ADDRESSES
        host, port = smtp_address(base)
        httpx.post(f"{base}/_emu/complaints/config", json={"accept_rate": 1.0})
        post_id = httpx.get(f"{base}/_emu/search/douyin", params={"keyword": "停息挂账"}).json()["ids"][0]
        msg = _message("jubao@douyin.emu", f"被投诉链接：https://www.douyin.com/video/{post_id}\n{varied_text(1)}")

        with smtplib.SMTP(host, port, timeout=10) as smtp:
            smtp.login("takedown", "any-password")  # AUTH without TLS, any credentials
            assert smtp.send_message(msg) == {}
            assert smtp.send_message(msg) == {}  # a retry with the same Message-ID
            with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
                smtp.sendmail("legal@lender.example", ["abuse@douyin.emu"], msg.as_bytes())
            assert refused.value.recipients["abuse@douyin.emu"][0] == 550

        box = httpx.get(f"{base}/_emu/mailbox/douyin").json()["messages"]
        assert len(box) == 1
        mail = box[0]
        assert mail["from"] == "legal@lender.example" and mail["subject"] == "关于违规内容的投诉"
        assert mail["message_id"] == msg["Message-ID"] and mail["copies"] == 2 and post_id in mail["text"]
        assert mail["attachments"] == [{"filename": "授权委托书.pdf", "content_type": "application/pdf",
                                        "size": len(EVIDENCE), "sha256": hashlib.sha256(EVIDENCE).hexdigest()}]
        assert mail["ref"].startswith("DY-") and mail["decision"] == "accepted" and mail["status"] == "received"

        complaints = httpx.get(f"{base}/_emu/complaints").json()["complaints"]
        assert len(complaints) == 1
        c = complaints[0]
        assert c["channel"] == "smtp" and c["client_ref"] == msg["Message-ID"] and c["ref"] == mail["ref"]
        assert c["post"] == {"platform": "douyin", "post_id": post_id}

        httpx.post(f"{base}/_emu/clock", json={"advance_hours": 1000})
        assert httpx.get(f"{base}/_emu/mailbox/douyin").json()["messages"][0]["status"] == "accepted"
        detail = httpx.get(f"{base}/douyin/aweme/v1/web/aweme/detail/", params={"aweme_id": post_id}).json()
        assert detail["aweme_detail"] is None


@pytest.mark.anyio
async def test_inbox_in_process_multiple_recipients_html_and_unknown_posts():
    app = create_app(seed=7, size=2000)
    world = app.state.world
    server = await start(world, "127.0.0.1", 0)
    try:
        host, port = world.smtp_address
        bvid = world.corpus.post("bilibili", 5).post_id
        html_only = f'<p>请删除 <a href="https://www.bilibili.com/video/{bvid}">该视频</a></p>'
        both = _message("copyright@bilibili.emu, jubao@12377.emu", varied_text(2), html=html_only)
        nothing = _message("ipr@kuaishou.emu", "没有任何链接的投诉")

        def send() -> None:
            with smtplib.SMTP(host, port, timeout=10) as smtp:
                smtp.send_message(both)
                smtp.send_message(nothing)

        await anyio.to_thread.run_sync(send)
        complaints = {c.platform: c for c in world.complaints.all()}
        assert set(complaints) == {"bilibili", "12377", "kuaishou"}
        assert complaints["bilibili"].post == ("bilibili", bvid) and complaints["12377"].post == ("bilibili", bvid)
        assert complaints["12377"].ref.startswith("CAC-") and complaints["bilibili"].ref.startswith("BL-")
        assert complaints["kuaishou"].reason == "未找到被投诉内容" and complaints["kuaishou"].decision == "rejected"
        assert [m["ref"] for m in world.mailbox.list("12377")] == [complaints["12377"].ref]
    finally:
        server.close()


def test_parse_message_reads_parts_and_attachments():
    msg = _message("jubao@weibo.emu", "纯文本正文", html="<b>HTML 正文</b>")
    parsed = parse_message(msg.as_bytes())
    assert parsed["text"].strip() == "纯文本正文" and "HTML 正文" in parsed["html"]
    assert parsed["to"] == ["jubao@weibo.emu"] and parsed["attachments"][0]["filename"] == "授权委托书.pdf"
