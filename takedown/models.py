"""The tables. Alembic migrations (takedown/migrations) are the only way they change in a database.

Conventions: times are timezone-aware UTC (`utcnow()`; SQLModel stores them as UTC on both databases); platform ids are strings; JSON columns hold lists and dicts that
are read whole. State-like columns are short strings checked by the code that writes them (no database enums:
they make migrations on PostgreSQL painful), and the allowed values live in the `*State` classes below.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

# Stable constraint and index names on every database, so later migrations can refer to them.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def _json(default: Any = dict, nullable: bool = False) -> Any:
    return Field(default_factory=default, sa_column=Column(JSON, nullable=nullable))


def _text(default: str = "") -> Any:
    return Field(default=default, sa_column=Column(Text, nullable=False))


class ReviewState(enum.StrEnum):
    NEW = "new"  # stored, below the queue threshold, never reviewed
    QUEUED = "queued"  # at or above the threshold, waiting for a reviewer
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    OFFICIAL = "official"  # posted by a protected brand's own account: never queued


class CrawlStatus(enum.StrEnum):
    RUNNING = "running"
    FINISHED = "finished"  # every keyword paged to its end or to the page limit
    STOPPED = "stopped"  # risk control, login expiry or rate limit stopped it early
    FAILED = "failed"  # the crawl itself broke


class Role(enum.StrEnum):
    REVIEWER = "reviewer"
    LEAD = "lead"
    ADMIN = "admin"


# --- configuration -------------------------------------------------------------------------------------


class Platform(SQLModel, table=True):
    """A platform the crawlers know, and whether sweeps include it."""

    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=64)
    enabled: bool = True
    mode: str = Field(default="api", max_length=16)  # api | browser


class Keyword(SQLModel, table=True):
    """A search keyword; platform "*" means every enabled platform."""

    __table_args__ = (UniqueConstraint("text", "platform"),)
    id: int | None = Field(default=None, primary_key=True)
    text: str = Field(max_length=128)
    platform: str = Field(default="*", max_length=32)
    enabled: bool = True
    source: str = Field(default="seed", max_length=16)  # seed | brand | user
    brand_id: int | None = Field(default=None, foreign_key="brand.id")
    created_at: datetime = Field(default_factory=utcnow)


class Brand(SQLModel, table=True):
    """A lender brand the team protects. Posts by its official accounts are never queued."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    aliases: list[str] = _json(list)
    # {"douyin": ["<platform author id>", ...], ...}
    official_accounts: dict[str, list[str]] = _json(dict)
    created_at: datetime = Field(default_factory=utcnow)


# --- what the crawlers find ----------------------------------------------------------------------------


class Author(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("platform", "platform_author_id"),)
    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=32)
    platform_author_id: str = Field(max_length=128)
    nickname: str = Field(default="", max_length=255)
    bio: str = _text()
    url: str = Field(default="", max_length=1024)
    extra: dict[str, Any] = _json(dict)
    risk_score: float | None = None
    official_brand_id: int | None = Field(default=None, foreign_key="brand.id")
    first_seen: datetime = Field(default_factory=utcnow)
    last_seen: datetime = Field(default_factory=utcnow)


class Post(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("platform", "platform_post_id"),
        # The review queue: state, then score descending, then id for keyset pagination.
        Index("ix_post_queue", "review_state", "score", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=32)
    platform_post_id: str = Field(max_length=128)
    url: str = Field(default="", max_length=1024)
    title: str = _text()
    text: str = _text()
    hashtags: list[str] = _json(list)
    published_at: datetime | None = None
    metrics: dict[str, int] = _json(dict)
    author_id: int | None = Field(default=None, foreign_key="author.id", index=True)
    first_seen: datetime = Field(default_factory=utcnow)
    last_seen: datetime = Field(default_factory=utcnow)
    # The platform's item as fetched; purged for rejected posts after the retention period.
    raw: dict[str, Any] | None = _json(dict, nullable=True)
    # SHA-256 of the text the scorer reads: a changed post is re-scored, an unchanged one is not.
    content_hash: str = Field(default="", max_length=64)
    score: float | None = None
    score_version: str = Field(default="", max_length=64)
    review_state: str = Field(default=ReviewState.NEW, max_length=16)
    duplicate_of_id: int | None = Field(default=None, foreign_key="post.id")
    # Top comments as the scorer reads them (the author's own or pinned ones prefixed "置顶："), fetched for
    # candidates after the search (crawlers/spiders/enrich.py); a search result never carries them, so a
    # re-crawl keeps these rather than erasing them.
    # (a column default too, so bulk Core inserts that predate the column need not name it)
    comments: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False, default=list))
    # When the author's profile and the comments were last fetched for this post (None: never).
    enriched_at: datetime | None = None


class CrawlRun(SQLModel, table=True):
    __tablename__ = "crawl_run"
    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=32, index=True)
    keywords: list[str] = _json(list)
    mode: str = Field(default="api", max_length=16)
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    status: str = Field(default=CrawlStatus.RUNNING, max_length=16)
    pages: int = 0
    posts_seen: int = 0
    posts_new: int = 0
    posts_updated: int = 0
    candidates: int = 0
    errors: int = 0
    # [{"at", "keyword", "page", "kind", "code", "http_status", "message"}, ...]
    error_log: list[dict[str, Any]] = _json(list)
    stop_reason: str = Field(default="", max_length=255)


class Sighting(SQLModel, table=True):
    """Which keyword, at which rank of which page of which run, found a post."""

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", index=True)
    crawl_run_id: int | None = Field(default=None, foreign_key="crawl_run.id", index=True)
    keyword: str = Field(max_length=128, index=True)
    page: int = 1
    rank: int = 0  # 1-based position in the keyword's whole result list
    seen_at: datetime = Field(default_factory=utcnow)


class Score(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", index=True)
    model_version: str = Field(max_length=64)
    score: float
    # [{"rule", "category", "field", "text", "weight", "explanation"}, ...]
    reasons: list[dict[str, Any]] = _json(list)
    created_at: datetime = Field(default_factory=utcnow)


class Contact(SQLModel, table=True):
    """A contact identifier (WeChat id, phone, QQ, link) normalised, shared by every post that shows it."""

    __table_args__ = (UniqueConstraint("type", "value"),)
    id: int | None = Field(default=None, primary_key=True)
    type: str = Field(max_length=16)
    value: str = Field(max_length=255)
    first_seen: datetime = Field(default_factory=utcnow)


class PostContact(SQLModel, table=True):
    __tablename__ = "post_contact"
    post_id: int = Field(foreign_key="post.id", primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", primary_key=True, index=True)


class AuthorContact(SQLModel, table=True):
    __tablename__ = "author_contact"
    author_id: int = Field(foreign_key="author.id", primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", primary_key=True, index=True)


# --- people and what they did --------------------------------------------------------------------------


class User(SQLModel, table=True):
    __tablename__ = "app_user"  # "user" is reserved in PostgreSQL
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    password_hash: str = Field(default="", max_length=255)
    role: str = Field(default=Role.REVIEWER, max_length=16)
    is_active: bool = True
    is_demo: bool = False  # the demo's scripted reviewer, marked so in the audit log
    created_at: datetime = Field(default_factory=utcnow)


class Review(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", index=True)
    user_id: int | None = Field(default=None, foreign_key="app_user.id")
    decision: str = Field(max_length=16)  # confirmed | rejected | duplicate
    note: str = _text()
    at: datetime = Field(default_factory=utcnow)


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_entity", "entity_type", "entity_id"),)
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    user_id: int | None = Field(default=None, foreign_key="app_user.id")
    actor: str = Field(default="system", max_length=64)  # username, "system", "crawler", "demo"
    action: str = Field(max_length=64)
    entity_type: str = Field(max_length=32)
    entity_id: str = Field(max_length=64)
    before: dict[str, Any] | None = _json(dict, nullable=True)
    after: dict[str, Any] | None = _json(dict, nullable=True)


# --- removing what was confirmed (evidence, cases, complaints, re-checks) ------------------------------


class CaseState(enum.StrEnum):
    CONFIRMED = "confirmed"  # a reviewer confirmed the post; nothing captured yet
    EVIDENCE_CAPTURED = "evidence_captured"
    DRAFTED = "drafted"  # a complaint is drafted for the case's channel
    FILED = "filed"
    ACKNOWLEDGED = "acknowledged"  # the platform confirmed receipt
    REMOVED = "removed"  # a re-check proved the post gone
    REJECTED = "rejected"  # the platform refused the complaint
    ESCALATED = "escalated"  # overdue or rejected: re-filed, then the 12377 channel
    CLOSED = "closed"
    REOPENED = "reopened"  # the removed post, its account or its contact came back


class ComplaintState(enum.StrEnum):
    DRAFT = "draft"
    QUEUED = "queued"  # in a batch, not yet sent
    SUBMITTING = "submitting"  # sending began; if the process died here, reconcile before sending again
    SUBMITTED = "submitted"
    UNCONFIRMED = "unconfirmed"  # died mid-send on a channel that cannot be asked: a person must check
    FAILED = "failed"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Evidence(SQLModel, table=True):
    """One capture of a post's page. Files live content-addressed under var/evidence/ and are never rewritten;
    the hashes here are what `takedown evidence verify` checks them against."""

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", index=True)
    url: str = Field(max_length=1024)
    status: str = Field(default="captured", max_length=16)  # captured | failed
    captured_at: datetime = Field(default_factory=utcnow)
    screenshot_sha256: str = Field(default="", max_length=64)
    html_sha256: str = Field(default="", max_length=64)
    metadata_sha256: str = Field(default="", max_length=64)
    # [{"kind": "screenshot"|"html"|"metadata", "path": relative to the evidence root, "sha256", "bytes"}]
    files: list[dict[str, Any]] = _json(list)
    attempts: int = 1
    error: str = _text()


class Batch(SQLModel, table=True):
    """Complaints filed together through one channel and method, paced."""

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=32)  # douyin | kuaishou | bilibili | xiaohongshu | weibo | weixin_channels | 12377
    method: str = Field(max_length=16)  # email | portal | export
    state: str = Field(default="open", max_length=16)  # open | filing | done | partial
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    total: int = 0
    filed: int = 0
    failed: int = 0
    export_path: str = Field(default="", max_length=1024)


class ChannelPace(SQLModel, table=True):
    """When a complaint channel last received a filing from us: the pace between two filings holds across runs
    and batches, not only within one (takedown/complaints/pacing.py)."""

    __tablename__ = "channel_pace"
    channel: str = Field(primary_key=True, max_length=32)
    last_filed_at: datetime  # real UTC (not domain time): the platform sees the real interval


class Case(SQLModel, table=True):
    """One confirmed post on its way to removal."""

    __tablename__ = "takedown_case"  # "case" is reserved in SQL
    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", unique=True)
    state: str = Field(default=CaseState.CONFIRMED, max_length=24, index=True)
    channel: str = Field(max_length=32)
    opened_at: datetime = Field(default_factory=utcnow)
    evidence_at: datetime | None = None
    drafted_at: datetime | None = None
    filed_at: datetime | None = None
    acknowledged_at: datetime | None = None
    removed_at: datetime | None = None
    rejected_at: datetime | None = None
    escalated_at: datetime | None = None
    closed_at: datetime | None = None
    sla_due_at: datetime | None = Field(default=None, index=True)
    escalation_level: int = 0  # 0 first filing, 1 re-filed, 2 national 12377 channel
    hours_to_removal: float | None = None  # from first filing to the re-check that proved it gone
    last_checked_at: datetime | None = None
    reopened_count: int = 0
    # A case opened for a revival (same account or contact posting again) points at the case it revives.
    linked_case_id: int | None = Field(default=None, foreign_key="takedown_case.id")
    updated_at: datetime = Field(default_factory=utcnow)


class Complaint(SQLModel, table=True):
    # Filing twice for the same case on the same channel and escalation step is impossible by constraint.
    __table_args__ = (UniqueConstraint("case_id", "channel", "attempt"),)
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="takedown_case.id", index=True)
    channel: str = Field(max_length=32)
    method: str = Field(max_length=16)
    attempt: int = 1  # 1 first filing, 2 re-filing, 3 the 12377 escalation
    batch_id: int | None = Field(default=None, foreign_key="batch.id", index=True)
    state: str = Field(default=ComplaintState.DRAFT, max_length=16, index=True)
    subject: str = Field(default="", max_length=255)
    body: str = _text()
    edited: bool = False
    client_ref: str = Field(default="", max_length=64, index=True)  # our idempotency key, sent with the filing
    created_at: datetime = Field(default_factory=utcnow)
    submitted_at: datetime | None = None
    external_ref: str = Field(default="", max_length=128)  # the platform's reference number
    response: str = _text()  # the platform's answer, e.g. a rejection reason
    responded_at: datetime | None = None


class StatusCheck(SQLModel, table=True):
    """One re-check of whether a post is still up."""

    __tablename__ = "status_check"
    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", index=True)
    case_id: int | None = Field(default=None, foreign_key="takedown_case.id", index=True)
    checked_at: datetime = Field(default_factory=utcnow)
    observed: str = Field(max_length=16)  # live | gone | unknown
    code: str = Field(default="", max_length=64)  # the platform's own code or reason
    http_status: int | None = None
    detail: str = _text()
