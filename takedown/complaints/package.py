"""What a filing method is handed: one complaint with its letter (text and HTML), the post URL and the files to
attach (the evidence capture, plus the rights holder's documents where configured). Read from the store; no
method reads the database itself."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session

from takedown.complaints.channels import Channel
from takedown.complaints.letters import EVIDENCE_EXT, EVIDENCE_KINDS, latest_evidence, letter_html
from takedown.evidence import evidence_root, sha256_file
from takedown.models import Case, Complaint, Post
from takedown.settings import Settings


@dataclass(frozen=True, slots=True)
class Attachment:
    name: str  # the file name the platform sees, e.g. screenshot-TD-12-1.png
    path: Path  # absolute
    kind: str  # screenshot | html | metadata | document
    sha256: str  # as recorded when captured ("" for documents)
    label: str = ""

    @property
    def content_type(self) -> str:
        return mimetypes.guess_type(self.name)[0] or "application/octet-stream"


@dataclass(frozen=True, slots=True)
class Filing:
    complaint_id: int
    case_id: int
    client_ref: str
    attempt: int
    channel: Channel
    subject: str
    body: str
    html: str
    post_url: str
    platform_post_id: str
    rights_holder: str
    attachments: list[Attachment] = field(default_factory=list)

    @property
    def message_id(self) -> str:
        """The deterministic Message-ID of its e-mail: the same complaint always has the same one."""
        return f"<td-{self.client_ref}@takedown.local>"


def evidence_attachments(session: Session, post_id: int, client_ref: str, settings: Settings) -> list[Attachment]:
    evidence = latest_evidence(session, post_id)
    if evidence is None:
        return []
    root = evidence_root(settings)
    out = []
    for f in evidence.files or []:
        kind = str(f.get("kind", "file"))
        relative = str(f.get("path", ""))
        ext = EVIDENCE_EXT.get(kind) or Path(relative).suffix.lstrip(".") or "bin"
        out.append(Attachment(f"{kind}-{client_ref}.{ext}", root / relative, kind, str(f.get("sha256", "")),
                              EVIDENCE_KINDS.get(kind, "取证文件")))
    return out


def check_unaltered(attachments: list[Attachment]) -> None:
    """Evidence is sent only as captured: each file's SHA-256 must be the one recorded at capture (as the export
    checks while it packs). ValueError names the file otherwise; OSError when it is gone."""
    for a in attachments:
        if a.sha256 and (actual := sha256_file(a.path)) != a.sha256:
            raise ValueError(f"evidence file {a.path.name} has sha256 {actual}, recorded {a.sha256}: it was altered "
                             "since capture; run `takedown evidence verify` and capture the post again")


def document_attachments(channel: Channel, settings: Settings) -> list[Attachment]:
    """The rights holder's scans the channel asks for, when configured and present."""
    out = []
    for name in channel.attachments:
        configured = settings.rights_holder.documents.get(name)
        if configured and Path(configured).is_file():
            path = Path(configured)
            out.append(Attachment(f"{name}{path.suffix}", path, "document", "", name))
    return out


def build_filing(session: Session, complaint: Complaint, channel: Channel, settings: Settings) -> Filing:
    case = session.get(Case, complaint.case_id)
    post = session.get(Post, case.post_id) if case else None
    if case is None or post is None:
        raise ValueError(f"complaint {complaint.id}: its case or post is gone")
    attachments = evidence_attachments(session, post.id, complaint.client_ref, settings)
    check_unaltered(attachments)
    attachments += document_attachments(channel, settings)
    return Filing(
        complaint_id=complaint.id, case_id=case.id, client_ref=complaint.client_ref, attempt=complaint.attempt,
        channel=channel, subject=complaint.subject, body=complaint.body,
        html=letter_html(complaint.subject, complaint.body, channel=channel, client_ref=complaint.client_ref),
        post_url=post.url, platform_post_id=post.platform_post_id,
        rights_holder=settings.rights_holder.company_name, attachments=attachments,
    )
