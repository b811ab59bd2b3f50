"""Drafting: one complaint per (case, channel, attempt), written from the channel's template and the post's facts.

`draft_for_case` is idempotent: the unique constraint on (case, channel, attempt) makes a second complaint for
the same filing impossible, and asking again returns the one that exists (also when another process drafted it a
moment earlier). A person may edit a draft before it is filed (`edit_draft`); the edit is audited with the text
before and after.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from takedown import audit, clock, tracking
from takedown.complaints.channels import Catalog, Channel, default_catalog
from takedown.complaints.letters import LetterError, gather_facts, render_letter
from takedown.models import Case, CaseState, Complaint, ComplaintState, User
from takedown.settings import Settings, get_settings

logger = logging.getLogger(__name__)

DRAFT = "complaint.draft"
EDIT = "complaint.edit"
# A case in these states has nothing left to complain about.
_FINISHED = (CaseState.REMOVED, CaseState.CLOSED)
# Complaints that have not gone out: a new batch may take them.
OPEN_STATES = (ComplaintState.DRAFT, ComplaintState.QUEUED, ComplaintState.FAILED)
EDITABLE_STATES = (ComplaintState.DRAFT, ComplaintState.QUEUED)


class DraftError(ValueError):
    """This case cannot get a complaint now (the message names the case and why)."""


def client_ref_for(complaint_id: int, attempt: int) -> str:
    """Our idempotency key, sent with every filing: stable for the complaint's whole life."""
    return f"TD-{complaint_id}-{attempt}"


def channel_of(case_channel: str, catalog: Catalog) -> Channel:
    """A case's channel (cases store the post's platform; weixin posts go to the weixin_channels channel)."""
    if case_channel in catalog:
        return catalog[case_channel]
    return catalog.for_platform(case_channel)


def find_complaint(session: Session, case_id: int, channel: str, attempt: int) -> Complaint | None:
    return session.execute(
        select(Complaint).where(Complaint.case_id == case_id, Complaint.channel == channel,
                                Complaint.attempt == attempt)
    ).scalars().first()


def next_filing(session: Session, case: Case, catalog: Catalog | None = None) -> tuple[str, int]:
    """(channel, attempt) of the case's next filing: an open complaint's, else from its escalation level
    (0: first filing on its channel, 1: re-filing there, 2: the national 12377 channel); a reopened case whose
    filing at that level was already made gets the next attempt number."""
    catalog = catalog or default_catalog()
    pending = session.execute(
        select(Complaint).where(Complaint.case_id == case.id, Complaint.state.in_(OPEN_STATES))
        .order_by(Complaint.attempt.desc(), Complaint.id.desc()).limit(1)
    ).scalars().first()
    if pending is not None:
        return pending.channel, pending.attempt
    level = case.escalation_level
    channel = tracking.NATIONAL_CHANNEL if level >= tracking.MAX_ESCALATION_LEVEL else channel_of(case.channel,
                                                                                                    catalog).id
    attempt = level + 1
    if case.state == CaseState.REOPENED and find_complaint(session, case.id, channel, attempt) is not None:
        # The post came back after its complaint was filed: a new filing, after every earlier one.
        latest = session.execute(select(func.max(Complaint.attempt)).where(Complaint.case_id == case.id)).scalar()
        attempt = int(latest or 0) + 1
    return channel, attempt


def draft_for_case(session: Session, case: Case, *, channel: str | None = None, attempt: int = 1,
                   actor: str = "system", user_id: int | None = None, settings: Settings | None = None,
                   catalog: Catalog | None = None, now: datetime | None = None) -> Complaint:
    """The case's complaint for (channel, attempt): the existing one, or a new draft from the channel's
    template. Moves the case to drafted when the state machine allows it. Raises DraftError (or LetterError)
    when the case cannot get one (finished, no evidence, nothing to quote); nothing is stored then."""
    settings = settings or get_settings()
    catalog = catalog or default_catalog()
    ch = channel_of(channel or case.channel, catalog)
    if attempt < 1:
        raise DraftError(f"case {case.id}: attempt must be >= 1, got {attempt}")
    existing = find_complaint(session, case.id, ch.id, attempt)
    if existing is not None:
        return existing
    if case.state in _FINISHED:
        raise DraftError(f"case {case.id}: is {case.state}; a finished case gets no new complaint")
    at = clock.resolve(now, settings)
    complaint = Complaint(case_id=case.id, channel=ch.id, method=ch.default_method, attempt=attempt,
                          state=ComplaintState.DRAFT, created_at=at)
    try:
        with session.begin_nested():
            session.add(complaint)
            session.flush()
            complaint.client_ref = client_ref_for(complaint.id, attempt)
            facts = gather_facts(session, case, channel=ch, attempt=attempt, client_ref=complaint.client_ref,
                                 settings=settings, catalog=catalog, today=at)
            letter = render_letter(facts)
            complaint.subject, complaint.body = letter.subject, letter.body
            session.add(complaint)
            session.flush()
    except IntegrityError:
        # Drafted concurrently by someone else: theirs is the complaint.
        existing = find_complaint(session, case.id, ch.id, attempt)
        if existing is None:
            raise
        return existing
    audit.write(session, action=DRAFT, entity_type="complaint", actor=actor,
                user=_user(session, user_id), at=at,
                changes=[(complaint.id, None, {"case_id": case.id, "channel": ch.id, "attempt": attempt,
                                               "method": complaint.method, "client_ref": complaint.client_ref})])
    if tracking.can_transition(case.state, CaseState.DRAFTED):
        tracking.transition(session, case, CaseState.DRAFTED, actor=actor, user_id=user_id, at=at,
                            note=f"complaint {complaint.id} ({ch.id}, attempt {attempt})")
    return complaint


def _user(session: Session, user_id: int | None) -> User | None:
    return session.get(User, user_id) if user_id is not None else None


def draft_all(session: Session, case_ids: Iterable[int], *, actor: str = "system", user_id: int | None = None,
              settings: Settings | None = None, errors: list[tuple[int, str]] | None = None) -> list[Complaint]:
    """Draft the next filing of every case (see `next_filing`). A case that cannot be drafted is reported in
    `errors` as (case id, message) and the rest go on."""
    settings = settings or get_settings()
    catalog = default_catalog()
    out: list[Complaint] = []
    ids = list(dict.fromkeys(case_ids))
    cases = {c.id: c for c in session.execute(select(Case).where(Case.id.in_(ids))).scalars()} if ids else {}
    for case_id in ids:
        case = cases.get(case_id)
        if case is None:
            _report(errors, case_id, f"case {case_id}: no such case")
            continue
        channel, attempt = next_filing(session, case, catalog)
        try:
            out.append(draft_for_case(session, case, channel=channel, attempt=attempt, actor=actor,
                                      user_id=user_id, settings=settings, catalog=catalog))
        except (DraftError, LetterError) as exc:
            _report(errors, case_id, str(exc))
    return out


def _report(errors: list[tuple[int, str]] | None, case_id: int, message: str) -> None:
    logger.info("complaints: %s", message)
    if errors is not None:
        errors.append((case_id, message))


def edit_draft(session: Session, complaint: Complaint, body: str, *, user: User | None,
               subject: str | None = None) -> Complaint:
    """A person's edit of a complaint not yet sent (draft or queued); audited with the text before and after."""
    if complaint.state not in EDITABLE_STATES:
        raise DraftError(f"complaint {complaint.id}: is {complaint.state}; only a draft or queued complaint can "
                         "be edited")
    body = body.replace("\r\n", "\n").strip()
    if not body:
        raise DraftError(f"complaint {complaint.id}: field body: must not be empty")
    before = {"body": complaint.body, "subject": complaint.subject, "edited": complaint.edited}
    complaint.body = body
    if subject is not None and subject.strip():
        complaint.subject = " ".join(subject.split())[:255]
    complaint.edited = True
    session.add(complaint)
    session.flush()
    audit.write(session, action=EDIT, entity_type="complaint", user=user, at=clock.now(),
                changes=[(complaint.id, before, {"body": complaint.body, "subject": complaint.subject,
                                                 "edited": True})])
    return complaint
