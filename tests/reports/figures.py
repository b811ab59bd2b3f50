"""Every figure of the weekly summary, read back out of the rendered HTML (data-metric="key" elements) and the
plain-text part (headline "label key: value" lines; "  item: value" / "  item: name=value ..." lines under
"Title [section]:" headers), and the figures seed.EXPECTED (computed by hand) says they must be.

Keys: headline metric names (confirmed, removal_rate, ...), time_to_removal/PLATFORM/CHANNEL/count|median_hours|
p90_hours, top_keywords/KEYWORD, top_accounts/PLATFORM/ACCOUNT, top_contacts/TYPE/VALUE, reviewers/NAME,
crawl_health/PLATFORM/runs|errors, crawl_health/PLATFORM/stop/REASON, trailing/WEEK/METRIC."""

from __future__ import annotations

import html as htmllib
import re
from email.message import EmailMessage
from typing import Any

HEADLINE = ("new_candidates", "confirmed", "rejected", "filed", "removed", "removal_rate", "overdue", "opened",
            "revival_rate")
TREND = ("new_candidates", "confirmed", "rejected", "filed", "removed")


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def expected_figures(expected: dict[str, Any]) -> dict[str, str]:
    """The figures as shown, from hand-computed values (seed.EXPECTED), not from reports.metrics."""
    out = {key: _pct(expected[key]) if key.endswith("_rate") else str(expected[key]) for key in HEADLINE}
    for r in expected["time_to_removal"]:
        for name in ("count", "median_hours", "p90_hours"):
            out[f"time_to_removal/{r['platform']}/{r['channel']}/{name}"] = str(r[name])
    out |= {f"top_keywords/{r['keyword']}": str(r["confirmed"]) for r in expected["top_keywords"]}
    out |= {f"top_accounts/{r['platform']}/{r['account']}": str(r["confirmed"]) for r in expected["top_accounts"]}
    out |= {f"top_contacts/{r['type']}/{r['value']}": str(r["confirmed"]) for r in expected["top_contacts"]}
    out |= {f"reviewers/{r['reviewer']}": str(r["reviews"]) for r in expected["reviewers"]}
    for r in expected["crawl_health"]:
        out[f"crawl_health/{r['platform']}/runs"] = str(r["runs"])
        out[f"crawl_health/{r['platform']}/errors"] = str(r["errors"])
        out |= {f"crawl_health/{r['platform']}/stop/{k}": str(v) for k, v in r["stop_reasons"].items()}
    for r in expected["trailing"]:
        out |= {f"trailing/{r['week']}/{key}": str(r[key]) for key in TREND}
    return out


def html_figures(html: str) -> dict[str, str]:
    """key → shown value of every data-metric element; a key shown twice is an error."""
    out: dict[str, str] = {}
    for key, value in re.findall(r'data-metric="([^"]*)"[^>]*>([^<]*)<', html):
        key = htmllib.unescape(key)
        assert key not in out, f"figure {key!r} shown twice"
        out[key] = htmllib.unescape(value).strip()
    return out


_SECTION = re.compile(r"^\S.* \[([a-z_]+)\]:$")
_HEADLINE = re.compile(r"^\S.* ([a-z_]+): (\S+)$")
_NOTE = re.compile(r" «.*»$")


def text_figures(text: str) -> dict[str, str]:
    """key → value of every figure line of the plain-text part; a key shown twice is an error."""
    out: dict[str, str] = {}

    def put(key: str, value: str) -> None:
        assert key not in out, f"figure {key!r} shown twice"
        out[key] = value

    section = None
    for line in text.splitlines():
        if m := _SECTION.match(line):
            section = m.group(1)
        elif section is None:
            if m := _HEADLINE.match(line):
                put(m.group(1), m.group(2))
        elif line.startswith("  ") and ": " in line:
            item, _, rest = line[2:].rpartition(": ")
            item = _NOTE.sub("", item)
            if "=" in rest:
                for pair in rest.split():
                    name, _, value = pair.partition("=")
                    put(f"{section}/{item}/{name}", value)
            else:
                put(f"{section}/{item}", rest)
    return out


def _diff(shown: dict[str, str], expected: dict[str, str]) -> str:
    keys = sorted(set(shown) | set(expected))
    return "; ".join(f"{k}: shown {shown.get(k)!r}, expected {expected.get(k)!r}" for k in keys
                     if shown.get(k) != expected.get(k))


def check_parts(html: str, text: str, expected: dict[str, Any]) -> None:
    """Every figure of both parts equals the expected one, and no part shows a figure more or fewer."""
    want = expected_figures(expected)
    shown_html = html_figures(html)
    assert shown_html == want, f"HTML part: {_diff(shown_html, want)}"
    shown_text = text_figures(text)
    assert shown_text == want, f"text part: {_diff(shown_text, want)}"


def check_figures(message: EmailMessage, expected: dict[str, Any]) -> None:
    html = message.get_body(preferencelist=("html",))
    plain = message.get_body(preferencelist=("plain",))
    assert html is not None and plain is not None, "the message lacks an HTML or a plain-text part"
    check_parts(html.get_content(), plain.get_content(), expected)
