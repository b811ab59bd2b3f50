"""The weekly summary e-mail: plain text + HTML (Jinja2, autoescaped, CSS inlined as style attributes) with the
charts as related PNG parts referenced by Content-ID, and the week's cases as a CSV attachment.

Structure: multipart/mixed [ multipart/alternative [ text/plain, multipart/related [ text/html, image/png... ] ],
text/csv ].
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import or_, select
from sqlmodel import Session

from reports.charts import weekly_charts
from reports.metrics import CHINA, _between, _bound, weekly_metrics
from takedown import clock
from takedown.complaints.email import sender_address
from takedown.complaints.export import inert
from takedown.models import Author, Case, Post
from takedown.settings import Settings

TEMPLATES = Path(__file__).resolve().parent / "templates"
CSV_COLUMNS = ("case_id", "platform", "channel", "state", "post_url", "title", "account", "nickname",
               "opened_at", "filed_at", "removed_at", "sla_due_at", "hours_to_removal", "escalation_level")

_html_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
_text_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=False, keep_trailing_newline=True,
                        trim_blocks=True, lstrip_blocks=True)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def oneline(value: object) -> str:
    """Scraped text on one line: a nickname holding a line break must not forge a line (a figure) of the
    plain-text part."""
    return _CONTROL.sub(" ", str(value))


_text_env.filters["oneline"] = oneline


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def headline_figures(m: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(Chinese label, metric key, shown value) for the summary table; the text part prints `key: value`."""
    return [
        ("新增候选", "new_candidates", str(m["new_candidates"])),
        ("确认违规", "confirmed", str(m["confirmed"])),
        ("排除", "rejected", str(m["rejected"])),
        ("已投诉", "filed", str(m["filed"])),
        ("已下架", "removed", str(m["removed"])),
        ("下架率（本周投诉）", "removal_rate", _pct(m["removal_rate"])),
        ("超期未处理", "overdue", str(m["overdue"])),
        ("新开案件", "opened", str(m["opened"])),
        ("复发率", "revival_rate", _pct(m["revival_rate"])),
    ]


def _period(m: dict[str, Any]) -> str:
    start = m["start"].astimezone(CHINA)
    last = (m["end"] - timedelta(seconds=1)).astimezone(CHINA)
    return f"{start:%Y-%m-%d} — {last:%Y-%m-%d}（北京时间）"


def week_cases_csv(session: Session, week_start: Any, week_end: Any) -> bytes:
    """Cases opened, filed or removed in the week, one row each; every text cell is inert in spreadsheets."""
    s, e = _bound(session, week_start), _bound(session, week_end)
    rows = session.execute(
        select(Case, Post, Author).join(Post, Post.id == Case.post_id).outerjoin(Author, Author.id == Post.author_id)
        .where(or_(_between(Case.opened_at, s, e), _between(Case.filed_at, s, e), _between(Case.removed_at, s, e)))
        .order_by(Case.id)).all()
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)

    def when(value: Any) -> str:
        return clock.in_china(value).isoformat(timespec="seconds") if value is not None else ""

    for case, post, author in rows:
        writer.writerow([inert(v) for v in (
            case.id, post.platform, case.channel, case.state, post.url, post.title,
            author.platform_author_id if author else "", author.nickname if author else "",
            when(case.opened_at), when(case.filed_at), when(case.removed_at), when(case.sla_due_at),
            "" if case.hours_to_removal is None else f"{case.hours_to_removal:.2f}", case.escalation_level)])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM: Excel opens UTF-8 Chinese correctly


def render(metrics: dict[str, Any], *, cids: dict[str, str] | None = None, csv_name: str = "cases.csv"
           ) -> tuple[str, str, str]:
    """(subject, text, html) of the summary for already computed metrics."""
    subject = f"内容下架周报 {metrics['week']} · Weekly takedown summary"
    cids = cids or {}
    context = {"m": metrics, "subject": subject, "period": _period(metrics), "figures": headline_figures(metrics),
               "charts": list(cids), "cids": cids, "csv_name": csv_name}
    text = _text_env.get_template("weekly.txt.j2").render(**context)
    html = _html_env.get_template("weekly.html.j2").render(**context)
    return subject, text, html


def build_weekly_message(session: Session, week: str, settings: Settings, *,
                         metrics: dict[str, Any] | None = None) -> EmailMessage:
    """The whole weekly e-mail for `week` (e.g. '2026-W47'), addressed to settings.report_recipients."""
    m = metrics if metrics is not None else weekly_metrics(session, week, trailing=settings.report_trailing_weeks)
    charts = weekly_charts(m)
    cid_headers = {name: f"<{name}.{uuid.uuid4().hex[:16]}@takedown.local>" for name in charts}
    cids = {name: value.strip("<>") for name, value in cid_headers.items()}
    csv_name = f"cases-{week}.csv"
    subject, text, html = render(m, cids=cids, csv_name=csv_name)

    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = formataddr(("Takedown 周报", sender_address(settings)))
    msg["To"] = ", ".join(settings.report_recipients)
    msg["Date"] = format_datetime(clock.now(settings))
    msg["Message-ID"] = make_msgid(idstring=f"weekly-{week}", domain="takedown.local")
    msg["X-Takedown-Report"] = f"weekly {week}"
    msg.set_content(text, subtype="plain", charset="utf-8", cte="base64")
    msg.add_alternative(html, subtype="html", charset="utf-8", cte="base64")
    html_part = msg.get_payload()[1]
    for name, png in charts.items():
        html_part.add_related(png, maintype="image", subtype="png", cid=cid_headers[name],
                              filename=f"{name}.png", disposition="inline")
    msg.add_attachment(week_cases_csv(session, m["start"], m["end"]), maintype="text", subtype="csv",
                       filename=csv_name)
    return msg


def preview_html(message: EmailMessage) -> str:
    """The HTML part with every cid: image inlined as a data: URI, for viewing in a browser."""
    import base64

    html_part = message.get_body(preferencelist=("html",))
    assert html_part is not None
    html = html_part.get_content()
    for part in message.walk():
        cid = part.get("Content-ID")
        if cid and part.get_content_maintype() == "image":
            data = base64.b64encode(part.get_payload(decode=True)).decode("ascii")
            html = html.replace(f"cid:{cid.strip().strip('<>')}", f"data:{part.get_content_type()};base64,{data}")
    return html
