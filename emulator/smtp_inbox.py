"""The platforms' complaint mailboxes: a plain SMTP server on loopback (aiosmtpd) that files every accepted
message as a complaint with the platform it was addressed to.

Recipients other than the addresses below are refused with 550. AUTH PLAIN/LOGIN is offered without TLS and
any credentials pass. A message's Message-ID is its client_ref: the same Message-ID sent again to the same
platform is not filed twice (the mailbox counts it as another copy).
"""

from __future__ import annotations

import asyncio
import hashlib
import html as html_lib
import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult

from .clock import iso
from .complaints import post_urls

ADDRESSES: dict[str, str] = {
    "douyin": "jubao@douyin.emu",
    "kuaishou": "ipr@kuaishou.emu",
    "bilibili": "copyright@bilibili.emu",
    "xiaohongshu": "jubao@xiaohongshu.emu",
    "weibo": "jubao@weibo.emu",
    "weixin": "tousu@weixin.emu",
    "12377": "jubao@12377.emu",
}
PLATFORM_OF = {address: platform for platform, address in ADDRESSES.items()}
DATA_SIZE_LIMIT = 64 * 1024 * 1024
_URL = re.compile(r"https?://[^\s<>\"'，。；、）)]+")


def _part_text(part: EmailMessage) -> str:
    try:
        return str(part.get_content())
    except (LookupError, UnicodeError, KeyError):
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", "replace")


def _strip_html(text: str) -> str:
    text = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", text)
    text = re.sub(r"(?s)<[^>]+>", " ", text)
    return re.sub(r"[ \t]+", " ", html_lib.unescape(text)).strip()


def parse_message(raw: bytes) -> dict[str, Any]:
    """Subject, addresses, first text/plain and text/html parts, attachments (name, type, size, SHA-256)."""
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    text: str | None = None
    html: str | None = None
    attachments: list[dict[str, Any]] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        filename = part.get_filename()
        disposition = part.get_content_disposition()
        ctype = part.get_content_type()
        if filename or disposition == "attachment":
            data = part.get_payload(decode=True) or b""
            attachments.append({"filename": filename or "", "content_type": ctype, "size": len(data),
                                "sha256": hashlib.sha256(data).hexdigest()})
        elif ctype == "text/plain" and text is None:
            text = _part_text(part)
        elif ctype == "text/html" and html is None:
            html = _part_text(part)
    return {
        "from": parseaddr(str(msg.get("from", "")))[1],
        "to": [addr for _, addr in getaddresses([str(v) for v in msg.get_all("to", [])]) if addr],
        "subject": str(msg.get("subject", "") or ""),
        "message_id": str(msg.get("message-id", "") or "").strip() or None,
        "date": str(msg.get("date", "") or "") or None,
        "text": text or "",
        "html": html or "",
        "attachments": attachments,
    }


def receive(world, mail_from: str, rcpt_tos: list[str], raw: bytes) -> list[str]:
    """File one delivered message with each platform it was addressed to; returns the references."""
    parsed = parse_message(raw)
    sender = (parsed["from"] or mail_from or "").lower()
    body = parsed["text"] or _strip_html(parsed["html"])
    haystack = "\n".join((parsed["subject"], parsed["text"], parsed["html"]))
    urls = [u for u in _URL.findall(haystack) if post_urls(u)]
    refs: list[str] = []
    platforms = list(dict.fromkeys(PLATFORM_OF[r.lower()] for r in rcpt_tos if r.lower() in PLATFORM_OF))
    for platform in platforms:
        # The complaint names the first post URL this platform can act on (else the first post-like URL).
        post_url = next((u for u in urls if world.complaints.match(platform, u)[0] is not None),
                        urls[0] if urls else "")
        complaint, _ = world.complaints.register(
            platform=platform, channel="smtp", sender=sender, post_url=post_url, match_text=post_url, body=body,
            client_ref=parsed["message_id"], subject=parsed["subject"], evidence=parsed["attachments"],
            extra={"mail_from": mail_from, "rcpt_to": list(rcpt_tos)},
        )
        world.mailbox.add(platform, {**parsed, "mail_from": mail_from, "rcpt_to": list(rcpt_tos),
                                     "received_at": iso(world.clock.time()), "ref": complaint.ref})
        refs.append(complaint.ref)
    return refs


class InboxHandler:
    def __init__(self, world):
        self.world = world

    async def handle_RCPT(self, server, session, envelope, address: str, rcpt_options) -> str:
        if address.lower() not in PLATFORM_OF:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in local recipient table"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        try:
            refs = receive(self.world, envelope.mail_from or "", list(envelope.rcpt_tos), raw)
        except Exception as exc:  # a message we cannot read is the sender's problem, not a crash
            return f"554 5.6.0 Message could not be parsed: {type(exc).__name__}"
        return f"250 2.0.0 Ok: queued as {' '.join(refs)}"


def _accept_any(server, session, envelope, mechanism, auth_data) -> AuthResult:
    return AuthResult(success=True)


async def start(world, host: str = "127.0.0.1", port: int = 0) -> asyncio.AbstractServer:
    """Listen on (host, port) in the running event loop (port 0: a free one); sets `world.smtp_address`."""
    loop = asyncio.get_running_loop()
    handler = InboxHandler(world)

    def factory() -> SMTP:
        return SMTP(handler, hostname="mx.emu", ident="emulator ESMTP", data_size_limit=DATA_SIZE_LIMIT,
                    enable_SMTPUTF8=True, auth_require_tls=False, authenticator=_accept_any, loop=loop)

    server = await loop.create_server(factory, host=host, port=port)
    world.smtp_address = (host, server.sockets[0].getsockname()[1])
    return server
