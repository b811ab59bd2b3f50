"""How things read in the UI: Chinese labels, local times, conflict messages, rule-match highlighting, filters
parsed from query strings. No HTML is built here: templates escape everything they print."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from takedown.review import ALL_STATES, ConflictInfo, Cursor, DecisionResult, QueueFilter, ReviewError

STATE_LABELS = {
    "new": "未入队",
    "queued": "待审核",
    "confirmed": "已确认违规",
    "rejected": "已驳回",
    "duplicate": "重复",
    "official": "官方账号",
    ALL_STATES: "全部",
}
DECISION_LABELS = {"confirm": "确认违规", "reject": "驳回", "duplicate": "标为重复"}
PLATFORM_LABELS = {
    "bilibili": "哔哩哔哩", "douyin": "抖音", "kuaishou": "快手", "xiaohongshu": "小红书", "weibo": "微博",
}
ROLE_LABELS = {"reviewer": "审核员", "lead": "组长", "admin": "管理员"}
CATEGORY_LABELS = {
    # The scorer's rule categories (takedown/scoring/rules.yaml) ...
    "promise": "承诺话术", "diversion": "导流私联", "fee": "收费", "false_identity": "冒充身份",
    "fake_policy": "虚假政策", "anti_collection": "反催收", "brand_target": "针对品牌", "evasion": "规避审核",
    "warning": "反诈提示", "news": "新闻报道", "official": "官方渠道",
    # ... and the reason kinds it adds besides rules.
    "contact": "导流联系方式", "model": "模型判断",
}
FIELD_LABELS = {
    "title": "标题", "desc": "正文", "text": "正文", "hashtags": "话题", "author_name": "作者昵称",
    "author_bio": "作者简介", "comments": "评论",
}
ACTION_LABELS = {
    "review.decide": "审核决定", "review.undo": "撤销", "review.action": "审核操作",
    "user.create": "创建用户", "user.update": "修改用户", "auth.login": "登录", "auth.logout": "退出",
}
CRAWL_STATUS_LABELS = {"running": "运行中", "finished": "完成", "stopped": "提前停止", "failed": "失败"}
PAGE_SIZES = (20, 50, 100, 200)


def zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return timezone(timedelta(hours=8), "CST")


def fmt_time(value: datetime | None, tz: tzinfo, seconds: bool = False) -> str:
    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def conflict_message(conflict: ConflictInfo, tz: tzinfo) -> str:
    if conflict.actual is None:
        return f"帖子 {conflict.post_id} 不存在"
    state = STATE_LABELS.get(conflict.actual, conflict.actual)
    if conflict.by:
        return f"已被 {conflict.by} 于 {fmt_time(conflict.at, tz)} 处理（当前：{state}）"
    return f"状态已变为「{state}」"


def conflict_json(conflict: ConflictInfo, tz: tzinfo) -> dict[str, Any]:
    return {
        "post_id": conflict.post_id, "expected_state": conflict.expected, "state": conflict.actual,
        "state_label": STATE_LABELS.get(conflict.actual or "", ""), "by": conflict.by,
        "at": conflict.at.isoformat() if conflict.at else None, "message": conflict_message(conflict, tz),
    }


def result_json(result: DecisionResult, tz: tzinfo, *, undo: bool = False) -> dict[str, Any]:
    if undo:
        message = f"已撤销：{len(result.restored)} 条恢复原状态"
    else:
        message = f"{STATE_LABELS.get(result.state, result.state)}：{len(result.applied)} 条"
    if result.unchanged:
        message += f"；{len(result.unchanged)} 条本来就是该状态"
    if result.conflicts:
        message += f"；{len(result.conflicts)} 条未处理（已被他人处理）"
    return {
        "action_id": result.action_id,
        "state": result.state or None,
        "state_label": STATE_LABELS.get(result.state, "") if result.state else None,
        "applied": result.applied,
        "unchanged": result.unchanged,
        "restored": [{"post_id": p, "state": s, "state_label": STATE_LABELS.get(s, s)}
                     for p, s in sorted(result.restored.items())],
        "conflicts": [conflict_json(c, tz) for c in result.conflicts],
        "message": message,
    }


def safe_link(url: str | None) -> str | None:
    """An http(s) URL that is safe in href (never javascript: or data:), else None."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else None


# --- rule-match highlighting ---------------------------------------------------------------------------


@dataclass
class Segment:
    text: str
    reason: int | None = None  # 1-based number of the reason it matches, None for plain text
    explanation: str = ""


def highlight(text: str, reasons: list[tuple[int, dict[str, Any]]]) -> tuple[list[Segment], set[int]]:
    """Split text into plain and matched segments for (number, reason) pairs; also which numbers were found.

    Every occurrence of each reason's matched text is marked; where matches overlap the longer one wins.
    """
    spans: list[tuple[int, int, int, str]] = []
    lowered = text.lower()
    for number, reason in reasons:
        needle = str(reason.get("text") or "").strip().lower()
        if not needle:
            continue
        start = lowered.find(needle)
        while start != -1:
            spans.append((start, start + len(needle), number, str(reason.get("explanation") or "")))
            start = lowered.find(needle, start + len(needle))
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    segments: list[Segment] = []
    found: set[int] = set()
    pos = 0
    for start, end, number, explanation in spans:
        if start < pos:
            continue
        if start > pos:
            segments.append(Segment(text[pos:start]))
        segments.append(Segment(text[start:end], number, explanation))
        found.add(number)
        pos = end
    if pos < len(text):
        segments.append(Segment(text[pos:]))
    return segments, found


# --- filters from query strings ------------------------------------------------------------------------


def _float(value: str | None, label: str) -> float | None:
    if value is None or value.strip() == "":
        return None
    try:
        return float(value)
    except ValueError:
        raise ReviewError(f"{label}不是数字：{value}") from None


def _date(value: str | None, label: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ReviewError(f"{label}不是日期（YYYY-MM-DD）：{value}") from None


def parse_filter(params: dict[str, str], tz: tzinfo) -> QueueFilter:
    """A QueueFilter from query parameters; ReviewError with a Chinese message for bad input."""
    brand = params.get("brand") or ""
    if brand and not brand.isdigit():
        raise ReviewError(f"品牌参数无效：{brand}")
    day_from = _date(params.get("found_from"), "发现日期（起）")
    day_to = _date(params.get("found_to"), "发现日期（止）")
    return QueueFilter(
        state=params.get("state") or "queued",
        platform=(params.get("platform") or "").strip(),
        keyword=params.get("keyword") or "",
        min_score=_float(params.get("min_score"), "最低分"),
        max_score=_float(params.get("max_score"), "最高分"),
        brand_id=int(brand) if brand else None,
        found_from=datetime.combine(day_from, time(), tz) if day_from else None,
        found_to=datetime.combine(day_to + timedelta(days=1), time(), tz) if day_to else None,
        q=params.get("q") or "",
    )


FILTER_KEYS = ("state", "platform", "keyword", "min_score", "max_score", "brand", "found_from", "found_to", "q")


def filter_params(params: dict[str, str]) -> dict[str, str]:
    """The filter part of a query string, without empty values (for links that keep the filter)."""
    return {k: params[k] for k in FILTER_KEYS if params.get(k)}


def page_url(params: dict[str, str], cursor: Cursor | None, limit: int) -> str:
    query = filter_params(params)
    if limit:
        query["limit"] = str(limit)
    if cursor is not None:
        query["after"] = cursor.encode()
    return "/queue?" + urlencode(query)


def page_size(value: str | None, default: int) -> int:
    try:
        size = int(value) if value else default
    except ValueError:
        size = default
    return max(1, min(size, max(PAGE_SIZES)))
