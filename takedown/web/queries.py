"""Read models for the pages and the API: a post with everything about it, authors by risk, the dashboard,
the audit log. Plain dicts (the same data feeds templates and JSON)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import case, func, select
from sqlmodel import Session

from takedown.audit import history
from takedown.models import (
    AuditLog,
    Author,
    AuthorContact,
    Brand,
    Contact,
    CrawlRun,
    Keyword,
    Platform,
    Post,
    PostContact,
    Review,
    Score,
    Sighting,
    User,
)

post_t = Post.__table__
author_t = Author.__table__


def _row(obj: Any, *fields: str) -> dict[str, Any]:
    return {f: getattr(obj, f) for f in fields}


POST_FIELDS = ("id", "platform", "platform_post_id", "url", "title", "text", "hashtags", "published_at",
               "metrics", "author_id", "first_seen", "last_seen", "score", "score_version", "review_state",
               "duplicate_of_id")
AUTHOR_FIELDS = ("id", "platform", "platform_author_id", "nickname", "bio", "url", "risk_score",
                 "official_brand_id", "first_seen", "last_seen")


def usernames(session: Session, ids: set[int | None]) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.username).where(User.id.in_(ids))).all())


def contacts_of(session: Session, *, post_id: int | None = None, author_id: int | None = None) -> list[dict]:
    if post_id is not None:
        link, key = PostContact, PostContact.post_id == post_id
        stmt = select(Contact).join(link, link.contact_id == Contact.id).where(key)
    else:
        stmt = select(Contact).join(AuthorContact, AuthorContact.contact_id == Contact.id).where(
            AuthorContact.author_id == author_id)
    return [_row(c, "id", "type", "value", "first_seen") for c in session.execute(stmt.order_by(Contact.id)).scalars()]


def screenshot_path(var_dir: Path, post_id: int) -> Path | None:
    """The evidence screenshot of a post when the evidence store has one: var/evidence/<post id>/screenshot.png."""
    path = Path(var_dir) / "evidence" / str(int(post_id)) / "screenshot.png"
    return path if path.is_file() else None


def post_detail(session: Session, post_id: int) -> dict[str, Any] | None:
    post = session.get(Post, post_id)
    if post is None:
        return None
    detail: dict[str, Any] = {"post": _row(post, *POST_FIELDS)}
    author = session.get(Author, post.author_id) if post.author_id else None
    detail["author"] = _row(author, *AUTHOR_FIELDS) if author else None
    detail["author_contacts"] = contacts_of(session, author_id=author.id) if author else []
    detail["author_posts"] = [dict(r) for r in session.execute(
        select(post_t.c.id, post_t.c.title, post_t.c.score, post_t.c.review_state, post_t.c.first_seen)
        .where(post_t.c.author_id == post.author_id, post_t.c.id != post.id)
        .order_by(post_t.c.score.desc().nulls_last(), post_t.c.id.desc()).limit(20)
    ).mappings()] if author else []
    if author:
        detail["author_post_count"] = session.execute(
            select(func.count()).select_from(post_t).where(post_t.c.author_id == author.id)).scalar_one()
    scores = list(session.execute(select(Score).where(Score.post_id == post.id).order_by(Score.id.desc())).scalars())
    detail["scores"] = [_row(s, "id", "model_version", "score", "created_at") for s in scores]
    detail["reasons"] = list(scores[0].reasons or []) if scores else []
    detail["contacts"] = contacts_of(session, post_id=post.id)
    sightings = session.execute(
        select(Sighting, CrawlRun.platform, CrawlRun.started_at)
        .outerjoin(CrawlRun, CrawlRun.id == Sighting.crawl_run_id)
        .where(Sighting.post_id == post.id).order_by(Sighting.seen_at.desc(), Sighting.id.desc()).limit(200)
    ).all()
    detail["sightings"] = [
        {**_row(s, "id", "keyword", "crawl_run_id", "page", "rank", "seen_at"), "run_started_at": started}
        for s, _platform, started in sightings
    ]
    reviews = list(session.execute(select(Review).where(Review.post_id == post.id).order_by(Review.id.desc())).scalars())
    entries = history(session, "post", post.id)
    names = usernames(session, {r.user_id for r in reviews} | {e.user_id for e in entries})
    detail["reviews"] = [{**_row(r, "id", "decision", "note", "at", "user_id"), "username": names.get(r.user_id, "")}
                         for r in reviews]
    detail["history"] = [audit_row(e, names) for e in entries]
    return detail


def audit_row(entry: AuditLog, names: dict[int, str]) -> dict[str, Any]:
    return {
        **_row(entry, "id", "at", "user_id", "actor", "action", "entity_type", "entity_id", "before", "after"),
        "username": names.get(entry.user_id, "") if entry.user_id else "",
    }


def _risk():
    return func.coalesce(author_t.c.risk_score, func.max(post_t.c.score))


def authors_by_risk(session: Session, *, offset: int = 0, limit: int = 50, platform: str = "") -> list[dict]:
    """Authors, riskiest first: their own risk score, else their highest post score."""
    confirmed = func.sum(case((post_t.c.review_state == "confirmed", 1), else_=0))
    queued = func.sum(case((post_t.c.review_state == "queued", 1), else_=0))
    stmt = (
        select(author_t.c.id, author_t.c.platform, author_t.c.platform_author_id, author_t.c.nickname,
               author_t.c.bio, author_t.c.risk_score, author_t.c.official_brand_id,
               func.count(post_t.c.id).label("posts"), func.max(post_t.c.score).label("max_score"),
               confirmed.label("confirmed"), queued.label("queued"), _risk().label("risk"))
        .select_from(author_t.outerjoin(post_t, post_t.c.author_id == author_t.c.id))
        .group_by(author_t.c.id)
        .order_by(_risk().desc().nulls_last(), author_t.c.id)
        .offset(offset).limit(limit)
    )
    if platform:
        stmt = stmt.where(author_t.c.platform == platform)
    rows = [dict(r) for r in session.execute(stmt).mappings()]
    top = top_posts(session, [r["id"] for r in rows])
    for row in rows:
        row["top_posts"] = top.get(row["id"], [])
    return rows


def top_posts(session: Session, author_ids: list[int], per_author: int = 3) -> dict[int, list[dict]]:
    """Each author's highest-scoring posts (one query, a window function on both databases)."""
    if not author_ids:
        return {}
    rank = func.row_number().over(partition_by=post_t.c.author_id,
                                  order_by=(post_t.c.score.desc().nulls_last(), post_t.c.id.desc())).label("rank")
    ranked = (select(post_t.c.author_id, post_t.c.id, post_t.c.title, post_t.c.score, post_t.c.review_state, rank)
              .where(post_t.c.author_id.in_(author_ids)).subquery())
    found: dict[int, list[dict]] = {}
    for row in session.execute(select(ranked).where(ranked.c.rank <= per_author)
                               .order_by(ranked.c.author_id, ranked.c.rank)).mappings():
        found.setdefault(row["author_id"], []).append(
            {"id": row["id"], "title": row["title"], "score": row["score"], "review_state": row["review_state"]})
    return found


def author_detail(session: Session, author_id: int) -> dict[str, Any] | None:
    author = session.get(Author, author_id)
    if author is None:
        return None
    posts = [dict(r) for r in session.execute(
        select(post_t.c.id, post_t.c.platform, post_t.c.title, post_t.c.score, post_t.c.review_state,
               post_t.c.first_seen, post_t.c.url)
        .where(post_t.c.author_id == author.id)
        .order_by(post_t.c.score.desc().nulls_last(), post_t.c.id.desc()).limit(500)
    ).mappings()]
    counts = dict(session.execute(
        select(post_t.c.review_state, func.count()).where(post_t.c.author_id == author.id)
        .group_by(post_t.c.review_state)).all())
    scores = [p["score"] for p in posts if p["score"] is not None]
    brand = session.get(Brand, author.official_brand_id) if author.official_brand_id else None
    return {
        "author": _row(author, *AUTHOR_FIELDS),
        "contacts": contacts_of(session, author_id=author.id),
        "posts": posts,
        "state_counts": counts,
        "risk": author.risk_score if author.risk_score is not None else (max(scores) if scores else None),
        "official_brand": brand.name if brand else None,
    }


def dashboard(session: Session, *, runs: int = 10) -> dict[str, Any]:
    by_state_platform = session.execute(
        select(post_t.c.platform, post_t.c.review_state, func.count())
        .group_by(post_t.c.platform, post_t.c.review_state)
    ).all()
    platforms = sorted({p for p, _, _ in by_state_platform})
    states = sorted({s for _, s, _ in by_state_platform})
    table = {(p, s): n for p, s, n in by_state_platform}
    crawl_runs = [
        _row(r, "id", "platform", "keywords", "mode", "started_at", "finished_at", "status", "pages",
             "posts_seen", "posts_new", "posts_updated", "candidates", "errors", "error_log", "stop_reason")
        for r in session.execute(select(CrawlRun).order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc()).limit(runs)
                                 ).scalars()
    ]
    return {
        "platforms": platforms,
        "states": states,
        "counts": [{"platform": p, "state": s, "count": n} for p, s, n in by_state_platform],
        "table": table,
        "by_state": {s: sum(n for (_, st), n in table.items() if st == s) for s in states},
        "by_platform": {p: sum(n for (pl, _), n in table.items() if pl == p) for p in platforms},
        "total": sum(table.values()),
        "crawl_runs": crawl_runs,
    }


def audit_entries(session: Session, *, entity_type: str = "", entity_id: str = "", actor: str = "",
                  before_id: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
    stmt = select(AuditLog)
    if entity_type:
        stmt = stmt.where(AuditLog.entity_type == entity_type)
    if entity_id:
        stmt = stmt.where(AuditLog.entity_id == entity_id)
    if actor:
        stmt = stmt.where(AuditLog.actor == actor)
    if before_id:
        stmt = stmt.where(AuditLog.id < before_id)
    entries = list(session.execute(stmt.order_by(AuditLog.id.desc()).limit(limit)).scalars())
    names = usernames(session, {e.user_id for e in entries})
    return [audit_row(e, names) for e in entries]


def users(session: Session) -> list[dict[str, Any]]:
    return [_row(u, "id", "username", "role", "is_active", "is_demo", "created_at")
            for u in session.execute(select(User).order_by(User.id)).scalars()]


def filter_options(session: Session) -> dict[str, Any]:
    """What the queue's filter menus offer: platforms, brands, and the keywords that found posts."""
    from takedown.web.present import PLATFORM_LABELS

    names = dict(PLATFORM_LABELS)
    names.update(dict(session.execute(select(Platform.code, Platform.name)).all()))
    platforms = sorted(names.items())
    brands = list(session.execute(select(Brand.id, Brand.name).order_by(Brand.name)))
    keywords = list(session.execute(select(Keyword.text).where(Keyword.enabled.is_(True))
                                    .order_by(Keyword.id)).scalars())
    return {"platforms": platforms, "brands": brands, "keywords": list(dict.fromkeys(keywords))}
