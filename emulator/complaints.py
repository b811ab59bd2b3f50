"""The complaints desk shared by every channel (web portal, bulk upload, SMTP inbox): references, matching a
complaint to a post, deterministic decisions on the virtual clock, and removal of the post when one is accepted.

A complaint is decided the moment it is received, but the filer only sees the decision as the clock passes its
times: `received` → `acknowledged` (after `ack_hours`) → `accepted` (the post is removed, after a lognormal
delay counted from receipt) or `rejected` (at acknowledgement, with a reason). Removals are applied lazily:
`apply_due()` runs before every request the emulator handles (HTTP or SMTP).
"""

from __future__ import annotations

import hashlib
import heapq
import math
import random
import re
import secrets
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .clock import CHINA, Clock, iso

# channel platform → (reference prefix, Chinese name)
CHANNELS: dict[str, tuple[str, str]] = {
    "douyin": ("DY", "抖音"),
    "kuaishou": ("KS", "快手"),
    "bilibili": ("BL", "哔哩哔哩"),
    "xiaohongshu": ("XHS", "小红书"),
    "weibo": ("WB", "微博"),
    "weixin": ("WX", "微信"),
    "12377": ("CAC", "中央网信办（国家互联网信息办公室）违法和不良信息举报中心"),
}
# Which emulated posts a channel can act on: a platform only on its own posts, 12377 (national) on all.
REACH: dict[str, tuple[str, ...]] = {p: (p,) for p in CHANNELS}
REACH["12377"] = ("bilibili", "douyin")

STATUSES = ("received", "acknowledged", "accepted", "rejected")
STATUS_TEXT = {"received": "受理中", "acknowledged": "已受理", "accepted": "已处理（内容已删除）",
               "rejected": "已驳回"}

REASON_NOT_FOUND = "未找到被投诉内容"
REASON_TEMPLATE = "疑似批量模板投诉，不予受理"
REJECT_REASONS = (
    "材料不足：未提供权利人授权委托书",
    "经核实，该内容未发现违规",
    "投诉信息不完整：缺少具体违规内容说明",
    "材料不足：未提供营业执照或权利证明",
    "经核实，被投诉内容不属于本平台管辖范围",
    "投诉人身份与权利人不一致，请补充授权材料",
    "证据不足：截图无法证明被投诉内容存在违规",
)

# Templated mass reporting: a body this similar (character-3-gram Jaccard) to at least TEMPLATE_MIN_MATCHES
# earlier bodies of the same sender on the same platform is rejected. Only the most recent TEMPLATE_WINDOW
# bodies per sender are compared (bounded cost per complaint).
TEMPLATE_SIMILARITY = 0.9
TEMPLATE_MIN_MATCHES = 5
TEMPLATE_WINDOW = 500

# Post URLs: the emulator's own (`<base>/bilibili/video/BV…`, `<base>/douyin/video|note/…`) and the real hosts.
_POST_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("bilibili", re.compile(r"(?:bilibili\.com|/bilibili)/video/(BV1[0-9A-Za-z]{9}|av\d+)", re.IGNORECASE)),
    ("douyin", re.compile(r"(?:douyin\.com|/douyin)/(?:video|note)/(\d{6,25})", re.IGNORECASE)),
    ("douyin", re.compile(r"iesdouyin\.com/share/(?:video|note)/(\d{6,25})", re.IGNORECASE)),
    ("douyin", re.compile(r"douyin\.com/\S*?[?&]modal_id=(\d{6,25})", re.IGNORECASE)),
)


class ComplaintError(ValueError):
    pass


def post_urls(text: str) -> list[tuple[str, str]]:
    """Every (platform, post id) named in `text`, in order of appearance."""
    found: list[tuple[int, str, str]] = []
    for platform, pattern in _POST_PATTERNS:
        for m in pattern.finditer(text or ""):
            post_id = m.group(1)
            if post_id[:2].lower() == "av":
                post_id = post_id[2:]
            found.append((m.start(), platform, post_id))
    found.sort()
    return [(p, i) for _, p, i in found]


def grams(text: str) -> frozenset[str]:
    norm = re.sub(r"\s+", " ", (text or "").strip().lower())
    if len(norm) < 3:
        return frozenset([norm])
    return frozenset(norm[i:i + 3] for i in range(len(norm) - 2))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    union = len(a | b)
    return len(a & b) / union if union else 0.0


@dataclass
class Params:
    accept_rate: float = 0.8
    median_hours: float = 30.0
    sigma: float = 0.8
    ack_hours: float = 2.0

    def update(self, spec: dict[str, Any]) -> None:
        unknown = set(spec) - {"accept_rate", "median_hours", "sigma", "ack_hours"}
        if unknown:
            raise ComplaintError(f"unknown parameter(s): {sorted(unknown)}")
        values = {}
        for key, value in spec.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ComplaintError(f"{key} must be a number")
            values[key] = float(value)
        if not 0.0 <= values.get("accept_rate", self.accept_rate) <= 1.0:
            raise ComplaintError("accept_rate must be within 0..1")
        if values.get("median_hours", self.median_hours) <= 0:
            raise ComplaintError("median_hours must be > 0")
        if values.get("sigma", self.sigma) < 0:
            raise ComplaintError("sigma must be >= 0")
        if values.get("ack_hours", self.ack_hours) < 0:
            raise ComplaintError("ack_hours must be >= 0")
        for key, value in values.items():
            setattr(self, key, value)

    def as_dict(self) -> dict[str, float]:
        return {"accept_rate": self.accept_rate, "median_hours": self.median_hours, "sigma": self.sigma,
                "ack_hours": self.ack_hours}


@dataclass
class Complaint:
    ref: str
    platform: str  # the channel's platform (who received it)
    channel: str  # portal | bulk | smtp
    client_ref: str | None
    sender: str
    post_url: str
    post: tuple[str, str] | None  # (platform, post id) when matched
    post_index: int | None
    category: str
    rights_holder: str
    body: str
    subject: str
    evidence: list[dict[str, Any]]
    received_at: float
    acknowledged_at: float
    decision: str  # accepted | rejected, fixed at receipt
    decided_at: float  # when the filer sees the decision (removal time when accepted)
    removal_at: float | None
    reason: str | None
    params: dict[str, float]
    template_matches: int = 0
    removed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def status(self, now: float) -> str:
        if now < self.acknowledged_at:
            return "received"
        if now < self.decided_at:
            return "acknowledged"
        return self.decision

    def public(self, now: float) -> dict[str, Any]:
        """What the filer sees on the platform (portal status page, lookups)."""
        status = self.status(now)
        decided = status in ("accepted", "rejected")
        return {
            "ref": self.ref, "client_ref": self.client_ref, "status": status, "status_text": STATUS_TEXT[status],
            "reason": self.reason if status == "rejected" else None, "post_url": self.post_url,
            "category": self.category, "received_at": iso(self.received_at),
            "acknowledged_at": iso(self.acknowledged_at) if status != "received" else None,
            "decided_at": iso(self.decided_at) if decided else None,
        }

    def full(self, now: float) -> dict[str, Any]:
        """Everything, including the decision before the filer can see it (control plane)."""
        post = None
        if self.post is not None:
            post = {"platform": self.post[0], "post_id": self.post[1]}
        return {
            "ref": self.ref, "platform": self.platform, "channel": self.channel, "client_ref": self.client_ref,
            "sender": self.sender, "post": post, "post_url": self.post_url, "category": self.category,
            "rights_holder": self.rights_holder, "subject": self.subject, "body": self.body,
            "evidence": self.evidence, "received_at": iso(self.received_at),
            "acknowledged_at": iso(self.acknowledged_at), "status": self.status(now), "decision": self.decision,
            "decided_at": iso(self.decided_at), "removal_at": iso(self.removal_at), "removed": self.removed,
            "reason": self.reason, "template_matches": self.template_matches, "params": self.params,
            **self.extra,
        }


class ComplaintDesk:
    """All complaints of one emulator world. Thread-safe (the SMTP server may run on another thread)."""

    def __init__(self, seed: int, clock: Clock, index_of: Callable[[str, str], int | None],
                 remove: Callable[[str, int], None]):
        self.seed = seed
        self.clock = clock
        self._index_of = index_of
        self._remove = remove
        self._lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.params = Params()
            self._by_ref: dict[str, Complaint] = {}
            self._order: list[Complaint] = []
            self._by_client_ref: dict[tuple[str, str], str] = {}
            self._serials: dict[str, int] = defaultdict(int)
            self._bodies: dict[tuple[str, str], deque[frozenset[str]]] = defaultdict(
                lambda: deque(maxlen=TEMPLATE_WINDOW))
            self._due: list[tuple[float, int, str]] = []  # (removal_at, serial, ref)
            self._seq = 0

    # ------------------------------------------------------------------------------------------ reading

    def get(self, ref: str) -> Complaint | None:
        return self._by_ref.get(ref)

    def find(self, platform: str, client_ref: str | None = None) -> list[Complaint]:
        with self._lock:
            if client_ref is not None:
                ref = self._by_client_ref.get((platform, client_ref))
                return [self._by_ref[ref]] if ref else []
            return [c for c in self._order if c.platform == platform]

    def all(self) -> list[Complaint]:
        with self._lock:
            return list(self._order)

    # ------------------------------------------------------------------------------------------ matching

    def match(self, platform: str, text: str) -> tuple[tuple[str, str] | None, int | None]:
        """The first post named in `text` that this channel can act on and the emulator knows."""
        for post_platform, post_id in post_urls(text):
            if post_platform not in REACH.get(platform, ()):
                continue
            index = self._index_of(post_platform, post_id)
            if index is not None:
                return (post_platform, post_id), index
        return None, None

    # ------------------------------------------------------------------------------------------ filing

    def register(self, *, platform: str, channel: str, sender: str, post_url: str, body: str,
                 client_ref: str | None = None, match_text: str | None = None, category: str = "",
                 rights_holder: str = "", subject: str = "", evidence: list[dict[str, Any]] | None = None,
                 extra: dict[str, Any] | None = None) -> tuple[Complaint, bool]:
        """File one complaint; returns (complaint, created). A known `client_ref` returns the earlier one."""
        if platform not in CHANNELS:
            raise ComplaintError(f"unknown platform {platform!r}")
        client_ref = (client_ref or "").strip() or None
        with self._lock:
            self.apply_due()
            if client_ref is not None and (platform, client_ref) in self._by_client_ref:
                return self._by_ref[self._by_client_ref[(platform, client_ref)]], False
            now = self.clock.time()
            self._serials[platform] += 1
            serial = self._serials[platform]
            prefix = CHANNELS[platform][0]
            day = datetime.fromtimestamp(now, CHINA).strftime("%Y%m%d")
            ref = f"{prefix}-{day}-{serial:06d}"
            params = self.params.as_dict()
            post, index = self.match(platform, match_text if match_text is not None else post_url)

            # Template check against this sender's earlier bodies on this platform (all of them count).
            body_grams = grams(body)
            earlier = self._bodies[(platform, sender)]
            similar = sum(1 for g in earlier if jaccard(body_grams, g) > TEMPLATE_SIMILARITY)
            earlier.append(body_grams)

            rng = random.Random(int.from_bytes(
                hashlib.sha256(f"{self.seed}|complaint|{prefix}|{serial}".encode()).digest()[:8], "big"))
            u_accept = rng.random()
            delay_hours = rng.lognormvariate(math.log(params["median_hours"]), params["sigma"])
            random_reason = rng.choice(REJECT_REASONS)

            ack_at = now + params["ack_hours"] * 3600.0
            removal_at = None
            if post is None:
                decision, reason, ack_at, decided_at = "rejected", REASON_NOT_FOUND, now, now
            elif similar >= TEMPLATE_MIN_MATCHES:
                decision, reason, decided_at = "rejected", REASON_TEMPLATE, ack_at
            elif u_accept < params["accept_rate"]:
                decision, reason = "accepted", None
                removal_at = max(ack_at, now + delay_hours * 3600.0)
                decided_at = removal_at
            else:
                decision, reason, decided_at = "rejected", random_reason, ack_at

            complaint = Complaint(
                ref=ref, platform=platform, channel=channel, client_ref=client_ref, sender=sender,
                post_url=post_url, post=post, post_index=index, category=category, rights_holder=rights_holder,
                body=body, subject=subject, evidence=list(evidence or []), received_at=now, acknowledged_at=ack_at,
                decision=decision, decided_at=decided_at, removal_at=removal_at, reason=reason, params=params,
                template_matches=similar, extra=dict(extra or {}),
            )
            self._by_ref[ref] = complaint
            self._order.append(complaint)
            if client_ref is not None:
                self._by_client_ref[(platform, client_ref)] = ref
            if removal_at is not None:
                self._seq += 1
                heapq.heappush(self._due, (removal_at, self._seq, ref))
            self.apply_due()
            return complaint, True

    # ------------------------------------------------------------------------------------------ time

    def apply_due(self) -> int:
        """Remove the posts of every accepted complaint whose removal time has come; returns how many."""
        if not self._due or self._due[0][0] > self.clock.time():
            return 0  # the common case, without the lock
        applied = 0
        with self._lock:
            now = self.clock.time()
            while self._due and self._due[0][0] <= now:
                _, _, ref = heapq.heappop(self._due)
                complaint = self._by_ref.get(ref)
                if complaint is None or complaint.removed or complaint.post is None:
                    continue
                self._remove(complaint.post[0], complaint.post_index)
                complaint.removed = True
                applied += 1
        return applied


class PortalAccess:
    """Accounts and login sessions of the web portals."""

    DEFAULT_USER = ("takedown", "portal-pass")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.accounts: dict[str, dict[str, str]] = defaultdict(lambda: dict([self.DEFAULT_USER]))
            self.sessions: dict[str, tuple[str, str]] = {}  # token → (platform, username)

    def set_account(self, platform: str, username: str, password: str) -> None:
        with self._lock:
            self.accounts[platform][username] = password

    def login(self, platform: str, username: str, password: str) -> str | None:
        with self._lock:
            known = self.accounts[platform].get(username)
            if known is None or not secrets.compare_digest(known.encode(), password.encode()):
                return None
            token = secrets.token_urlsafe(24)
            self.sessions[token] = (platform, username)
            return token

    def user(self, platform: str, token: str | None) -> str | None:
        entry = self.sessions.get(token or "")
        return entry[1] if entry is not None and entry[0] == platform else None

    def logout(self, token: str | None) -> None:
        with self._lock:
            self.sessions.pop(token or "", None)

    def expire(self, platform: str | None = None) -> int:
        with self._lock:
            doomed = [t for t, (p, _) in self.sessions.items() if platform in (None, p)]
            for t in doomed:
                del self.sessions[t]
            return len(doomed)


class Mailbox:
    """Messages the SMTP inbox accepted, per platform; one entry per distinct Message-ID."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.messages: dict[str, list[dict[str, Any]]] = defaultdict(list)
            self._by_id: dict[tuple[str, str], dict[str, Any]] = {}

    def add(self, platform: str, message: dict[str, Any]) -> dict[str, Any]:
        """Store `message` unless its Message-ID is already there (then count a copy); returns the entry."""
        with self._lock:
            key = message.get("message_id")
            if key and (platform, key) in self._by_id:
                entry = self._by_id[(platform, key)]
                entry["copies"] += 1
                return entry
            entry = {**message, "copies": 1}
            self.messages[platform].append(entry)
            if key:
                self._by_id[(platform, key)] = entry
            return entry

    def list(self, platform: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.messages.get(platform, []))
