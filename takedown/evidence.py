"""The evidence store: content-addressed files under `var_dir/evidence`, their hashes, and verification.

A capture is three files — the full-page screenshot (PNG), the page's HTML, and a metadata JSON (URL, platform,
post id, capture time in UTC and Asia/Shanghai, the post as crawled, and the other two files' hashes) — each
stored under its own SHA-256 (`ab/abcdef….png`). A file is written to a temporary name and then linked into
place, which fails rather than replaces when the name exists: nothing in the store is ever overwritten. The
same bytes stored twice share one file. `verify` re-hashes every file an Evidence row names and reports each
one missing or changed.

This module is the core half (no browser): crawlers/evidence_capture.py drives Chromium and hands the bytes here.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import exists, select
from sqlmodel import Session

from takedown import audit, clock, tracking
from takedown.models import Author, Case, CaseState, Evidence, Post, ReviewState
from takedown.settings import Settings, get_settings

KINDS = ("screenshot", "html", "metadata")
_EXT = re.compile(r"^[a-z0-9]{1,8}$")
CAPTURE = "evidence.capture"
FAILURE = "evidence.failure"


class EvidenceStoreError(RuntimeError):
    """The store refused a write (e.g. a file under the content's name exists with other content)."""


def evidence_root(settings: Settings | None = None) -> Path:
    return (settings or get_settings()).var_dir / "evidence"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def store_bytes(data: bytes, ext: str, *, root: Path | None = None) -> tuple[str, str]:
    """Store `data` under its SHA-256; returns (path relative to the store root, sha256). Never overwrites:
    an existing file with the same hash is reused, one with another hash is an error."""
    ext = ext.lstrip(".").lower()
    if not _EXT.match(ext):
        raise ValueError(f"bad file extension {ext!r}")
    root = Path(root) if root is not None else evidence_root()
    digest = sha256_bytes(data)
    relative = f"{digest[:2]}/{digest}.{ext}"
    path = root / relative
    if path.exists():
        _same_or_fail(path, digest)
        return relative, digest
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=f".{ext}")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o444)  # evidence is read-only once written
        try:
            os.link(tmp, path)  # atomic, and fails instead of replacing an existing name
        except FileExistsError:
            _same_or_fail(path, digest)  # stored concurrently by someone else
        except OSError:
            # A filesystem without hard links: rename, after checking the name is still free.
            if path.exists():
                _same_or_fail(path, digest)
            else:
                os.rename(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return relative, digest


def _same_or_fail(path: Path, digest: str) -> None:
    actual = sha256_file(path)
    if actual != digest:
        raise EvidenceStoreError(
            f"{path} exists with other content (sha256 {actual}, expected {digest}); it was altered and is "
            "not overwritten — run `takedown evidence verify`")


def read_file(relative: str, *, root: Path | None = None) -> bytes:
    root = Path(root) if root is not None else evidence_root()
    return (root / relative).read_bytes()


# --- capture records -----------------------------------------------------------------------------------


def capture_metadata(session: Session, post: Post, url: str, captured_at: datetime, *,
                     screenshot_sha256: str, html_sha256: str) -> dict[str, Any]:
    author = session.get(Author, post.author_id) if post.author_id is not None else None
    return {
        "url": url,
        "platform": post.platform,
        "platform_post_id": post.platform_post_id,
        "post_id": post.id,
        "post_url": post.url,
        "captured_at_utc": clock.aware(captured_at).isoformat(),
        "captured_at_shanghai": clock.in_china(captured_at).isoformat(),
        "title": post.title,
        "text": post.text,
        "hashtags": list(post.hashtags or []),
        "published_at": clock.aware(post.published_at).isoformat() if post.published_at else None,
        "author": {
            "platform_author_id": author.platform_author_id if author else "",
            "nickname": author.nickname if author else "",
            "url": author.url if author else "",
        },
        "screenshot_sha256": screenshot_sha256,
        "html_sha256": html_sha256,
    }


def record_capture(session: Session, post: Post, url: str, screenshot: bytes, html: bytes, *,
                   captured_at: datetime | None = None, attempts: int = 1, actor: str = "evidence",
                   root: Path | None = None) -> Evidence:
    """Store one capture's files and its Evidence row; move the post's case to evidence_captured (opening the
    case first when the post is confirmed and has none)."""
    if not screenshot or not html:
        raise ValueError(f"post {post.id}: an empty screenshot or HTML is no evidence")
    captured_at = clock.resolve(captured_at)
    shot_path, shot_sha = store_bytes(screenshot, "png", root=root)
    html_path, html_sha = store_bytes(html, "html", root=root)
    meta = capture_metadata(session, post, url, captured_at, screenshot_sha256=shot_sha, html_sha256=html_sha)
    meta_bytes = json.dumps(meta, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
    meta_path, meta_sha = store_bytes(meta_bytes, "json", root=root)
    evidence = Evidence(
        post_id=post.id, url=url, status="captured", captured_at=captured_at, screenshot_sha256=shot_sha,
        html_sha256=html_sha, metadata_sha256=meta_sha, attempts=attempts,
        files=[{"kind": "screenshot", "path": shot_path, "sha256": shot_sha, "bytes": len(screenshot)},
               {"kind": "html", "path": html_path, "sha256": html_sha, "bytes": len(html)},
               {"kind": "metadata", "path": meta_path, "sha256": meta_sha, "bytes": len(meta_bytes)}],
    )
    session.add(evidence)
    session.flush()
    audit.write(session, action=CAPTURE, entity_type="evidence", actor=actor, at=captured_at,
                changes=[(evidence.id, None, {"post_id": post.id, "url": url, "screenshot_sha256": shot_sha,
                                              "html_sha256": html_sha, "metadata_sha256": meta_sha,
                                              "attempts": attempts})])
    case = tracking.case_for_post(session, post.id)
    if case is None and post.review_state == ReviewState.CONFIRMED:
        case = tracking.open_case(session, post, actor=actor, at=captured_at)
    if case is not None and tracking.can_transition(case.state, CaseState.EVIDENCE_CAPTURED):
        tracking.transition(session, case, CaseState.EVIDENCE_CAPTURED, actor=actor, at=captured_at,
                            note=f"evidence {evidence.id}")
    return evidence


def record_failure(session: Session, post: Post, url: str, error: str, *, attempts: int,
                   at: datetime | None = None, actor: str = "evidence") -> Evidence:
    """A capture that failed every attempt: recorded so it shows, the case is left as it was."""
    at = clock.resolve(at)
    evidence = Evidence(post_id=post.id, url=url, status="failed", captured_at=at, attempts=attempts,
                        error=error[:4000], files=[])
    session.add(evidence)
    session.flush()
    audit.write(session, action=FAILURE, entity_type="evidence", actor=actor, at=at,
                changes=[(evidence.id, None, {"post_id": post.id, "url": url, "attempts": attempts,
                                              "error": error[:500]})])
    return evidence


def pending_post_ids(session: Session) -> list[int]:
    """Posts whose case waits for a capture: confirmed without captured evidence, or reopened (the revived post
    needs fresh evidence)."""
    captured = exists().where(Evidence.post_id == Case.post_id, Evidence.status == "captured")
    return list(session.execute(
        select(Case.post_id).where(
            ((Case.state == CaseState.CONFIRMED) & ~captured) | (Case.state == CaseState.REOPENED))
        .order_by(Case.id)
    ).scalars())


# --- verification --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mismatch:
    evidence_id: int
    kind: str  # screenshot | html | metadata
    path: str  # relative to the store root
    expected: str
    actual: str | None  # None: the file is missing
    problem: str  # missing | changed | record

    def __str__(self) -> str:
        actual = self.actual or "(none: file missing)"
        return (f"evidence {self.evidence_id}: {self.kind} file {self.path} {self.problem}: "
                f"expected sha256 {self.expected}, actual {actual}")


def _captured(session: Session) -> Iterator[Evidence]:
    yield from session.execute(
        select(Evidence).where(Evidence.status == "captured").order_by(Evidence.id).execution_options(yield_per=500)
    ).scalars()


def verify(session: Session, *, root: Path | None = None, stats: dict[str, int] | None = None) -> list[Mismatch]:
    """Re-hash every file every captured Evidence row names; one Mismatch per file missing or changed, or whose
    recorded hash disagrees with the row's own hash column."""
    root = Path(root) if root is not None else evidence_root()
    hashes: dict[str, str | None] = {}  # files shared by several captures are hashed once
    out: list[Mismatch] = []
    rows = files = 0
    for evidence in _captured(session):
        rows += 1
        recorded = {entry.get("kind"): entry for entry in evidence.files or []}
        for kind in KINDS:
            column = getattr(evidence, f"{kind}_sha256")
            entry = recorded.get(kind)
            if entry is None:
                out.append(Mismatch(evidence.id, kind, "", column, None, "record"))
                continue
            files += 1
            relative, expected = str(entry.get("path", "")), str(entry.get("sha256", ""))
            if expected != column:
                out.append(Mismatch(evidence.id, kind, relative, column, expected, "record"))
            if relative not in hashes:
                path = root / relative
                hashes[relative] = sha256_file(path) if path.is_file() else None
            actual = hashes[relative]
            if actual is None:
                out.append(Mismatch(evidence.id, kind, relative, column, None, "missing"))
            elif actual != column:
                out.append(Mismatch(evidence.id, kind, relative, column, actual, "changed"))
    if stats is not None:
        stats.update({"evidence": rows, "files": files, "mismatches": len(out)})
    return out
