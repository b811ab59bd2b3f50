"""Drafting: one complaint per (case, channel, attempt), written from the channel's template and the post's facts.

`draft_for_case` is idempotent: the unique constraint on (case, channel, attempt) makes a second complaint for
the same filing impossible, and asking again returns the one that exists (also when another process drafted it a
moment earlier). `draft_many` is the same for many cases at once, in a few statements per chunk of cases (facts
loaded together, rows, audit entries and case moves written with executemany); `draft_for_case` is its one-case
call. A person may edit a draft before it is filed (`edit_draft`); the edit is audited with the text
before and after.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session

from takedown import audit, clock, tracking
from takedown.complaints.channels import Catalog, Channel, default_catalog
from takedown.complaints.letters import LetterError, load_facts, render_letter
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
_CHUNK = 500  # cases per chunk: ids per IN (...) and rows per executemany


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
    return next_filings(session, [case], catalog)[0]


def next_filings(session: Session, cases: Sequence[Case], catalog: Catalog | None = None) -> list[tuple[str, int]]:
    """`next_filing` of each case, in a query per chunk of cases (two for reopened ones)."""
    catalog = catalog or default_catalog()
    q = _statements()
    ids = list(dict.fromkeys(case.id for case in cases))
    pending: dict[int, tuple[str, int]] = {}
    for chunk in _chunks(ids):
        for case_id, channel, attempt in session.execute(q.open_filings, {"cases": list(chunk)}):
            pending.setdefault(case_id, (channel, attempt))  # the latest open one
    reopened = [c.id for c in cases if c.state == CaseState.REOPENED and c.id not in pending]
    made: dict[int, set[tuple[str, int]]] = {}
    for chunk in _chunks(list(dict.fromkeys(reopened))):
        for case_id, channel, attempt in session.execute(q.filings, {"cases": list(chunk)}):
            made.setdefault(case_id, set()).add((channel, attempt))
    out = []
    for case in cases:
        if case.id in pending:
            out.append(pending[case.id])
            continue
        level = case.escalation_level
        channel = tracking.NATIONAL_CHANNEL if level >= tracking.MAX_ESCALATION_LEVEL else \
            channel_of(case.channel, catalog).id
        attempt = level + 1
        if case.state == CaseState.REOPENED and (channel, attempt) in made.get(case.id, ()):
            # The post came back after its complaint was filed: a new filing, after every earlier one.
            attempt = max(a for _, a in made[case.id]) + 1
        out.append((channel, attempt))
    return out


def draft_for_case(session: Session, case: Case, *, channel: str | None = None, attempt: int = 1,
                   actor: str = "system", user_id: int | None = None, settings: Settings | None = None,
                   catalog: Catalog | None = None, now: datetime | None = None) -> Complaint:
    """The case's complaint for (channel, attempt): the existing one, or a new draft from the channel's
    template. Moves the case to drafted when the state machine allows it. Raises DraftError (or LetterError)
    when the case cannot get one (finished, no evidence, nothing to quote); nothing is stored then."""
    [result] = draft_many(session, [(case, channel, attempt)], actor=actor, user_id=user_id, settings=settings,
                          catalog=catalog, now=now)
    if isinstance(result, Exception):
        raise result
    return result


DraftRequest = tuple[Case, str | None, int]  # (case, channel or None for the case's own, attempt)


def draft_many(session: Session, requests: Sequence[DraftRequest], *, actor: str = "system",
               user_id: int | None = None, settings: Settings | None = None, catalog: Catalog | None = None,
               now: datetime | None = None) -> list[Complaint | DraftError | LetterError]:
    """`draft_for_case` for many cases, with the same outcome for each, in a few statements per chunk of cases
    rather than a dozen per case: the facts loaded together, the complaints inserted, their audit entries
    written and the cases moved with executemany. Returns, for each request in order, its complaint (existing or
    new) or the DraftError / LetterError saying why it has none; such a case has nothing stored and the others
    are drafted all the same."""
    settings = settings or get_settings()
    catalog = catalog or default_catalog()
    at = clock.resolve(now, settings)
    out: list[Complaint | DraftError | LetterError | None] = [None] * len(requests)
    # A case asked for twice goes in two rounds: the second finds the first's complaint (the same filing) or,
    # for a later attempt, cites it in its letter, as one call after the other would.
    rounds: list[list[int]] = []
    times: dict[int, int] = {}
    for i, (case, _, _) in enumerate(requests):
        n = times[case.id] = times.get(case.id, -1) + 1
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(i)
    for indices in rounds:
        for chunk in _chunks(indices):
            _draft_chunk(session, [(i, *requests[i]) for i in chunk], out, actor=actor, user_id=user_id,
                         settings=settings, catalog=catalog, at=at)
    return out  # type: ignore[return-value]  # every slot is filled


def _draft_chunk(session: Session, items: list[tuple[int, Case, str | None, int]], out: list, *, actor: str,
                 user_id: int | None, settings: Settings, catalog: Catalog, at: datetime) -> None:
    """Draft one chunk of distinct cases; fills `out` at each item's index."""
    asked = []
    for i, case, channel, attempt in items:
        ch = channel_of(channel or case.channel, catalog)
        if attempt < 1:
            out[i] = DraftError(f"case {case.id}: attempt must be >= 1, got {attempt}")
            continue
        asked.append((i, case, ch, attempt))
    # Each case's complaints: the one asked for may exist already, earlier attempts are cited in the letter.
    q = _statements()
    complaints: dict[int, list[Complaint]] = {}
    for c in session.execute(q.complaints, {"cases": [case.id for _, case, _, _ in asked]}).scalars():
        complaints.setdefault(c.case_id, []).append(c)
    new = []
    for i, case, ch, attempt in asked:
        existing = next((c for c in complaints.get(case.id, ()) if c.channel == ch.id and c.attempt == attempt),
                        None)
        if existing is not None:
            out[i] = existing
        elif case.state in _FINISHED:
            out[i] = DraftError(f"case {case.id}: is {case.state}; a finished case gets no new complaint")
        else:
            new.append((i, case, ch, attempt))
    if not new:
        return
    ready = []
    facts = load_facts(session, [(case, ch, attempt) for _, case, ch, attempt in new], complaints=complaints)
    for item, found in zip(new, facts, strict=True):
        if isinstance(found, LetterError):
            out[item[0]] = found
        else:
            ready.append((*item, found))
    if not ready:
        return

    # The row first: its id is in the client_ref the letter quotes. A filing another process drafted meanwhile
    # is left alone (ON CONFLICT DO NOTHING) and theirs is the complaint, as the unique constraint intends.
    drafts = [Complaint(case_id=case.id, channel=ch.id, method=ch.default_method, attempt=attempt,
                        state=ComplaintState.DRAFT, created_at=at) for _, case, ch, attempt, _ in ready]
    ids = {(case_id, channel, attempt): complaint_id for complaint_id, case_id, channel, attempt
           in session.execute(_insert(session.get_bind().dialect.name), [_columns(c) for c in drafts])}
    written: list[tuple[int, Case, Complaint]] = []
    try:
        for (i, case, ch, attempt, found), complaint in zip(ready, drafts, strict=True):
            complaint_id = ids.get((case.id, ch.id, attempt))
            if complaint_id is None:
                out[i] = find_complaint(session, case.id, ch.id, attempt) or DraftError(
                    f"case {case.id}: its complaint ({ch.id}, attempt {attempt}) was drafted by another transaction "
                    "this one cannot see yet; try again")
                continue
            ref = client_ref_for(complaint_id, attempt)
            try:
                letter = render_letter(found.facts(ref, settings=settings, catalog=catalog, today=at))
            except LetterError as exc:
                out[i] = exc
                continue
            complaint.id, complaint.client_ref = complaint_id, ref
            complaint.subject, complaint.body = letter.subject, letter.body
            written.append((i, case, complaint))
    except BaseException:
        _delete(session, list(ids.values()))  # nothing half-stored: no complaint row without its letter
        raise
    _delete(session, sorted(set(ids.values()) - {c.id for _, _, c in written}))
    if not written:
        return
    session.execute(q.letter, [{"b_id": c.id, "b_ref": c.client_ref, "b_subject": c.subject, "b_body": c.body}
                               for _, _, c in written])
    for i, _, complaint in written:
        make_transient_to_detached(complaint)  # the row as now stored: attached as if loaded, without a SELECT
        session.add(complaint)
        out[i] = complaint
    moving = [(case, CaseState.DRAFTED, f"complaint {c.id} ({c.channel}, attempt {c.attempt})")
              if tracking.can_transition(case.state, CaseState.DRAFTED) else None for _, case, c in written]
    moved = iter(tracking.move_cases(session, [m for m in moving if m is not None], at=at))
    # Each draft's entry, then its case's move: the order drafting case by case writes them in.
    entries: list[audit.Entry] = []
    for (_, case, c), move in zip(written, moving, strict=True):
        entries.append((DRAFT, "complaint", c.id, None, {"case_id": case.id, "channel": c.channel,
                                                         "attempt": c.attempt, "method": c.method,
                                                         "client_ref": c.client_ref}))
        if move is not None:
            entries.append((tracking.TRANSITION, "case", *next(moved)))
    audit.write_many(session, entries, user=_user(session, user_id), actor=actor, at=at)


def _columns(complaint: Complaint) -> dict:
    """A new complaint's column values, the model's defaults included (no id: the database assigns it)."""
    return {c.name: getattr(complaint, c.name) for c in Complaint.__table__.columns if c.name != "id"}


def _delete(session: Session, complaint_ids: list[int]) -> None:
    if complaint_ids:
        session.execute(_statements().delete, {"ids": complaint_ids})


class _Statements(NamedTuple):
    open_filings: Any
    filings: Any
    complaints: Any
    letter: Any
    delete: Any


@lru_cache(maxsize=1)
def _statements() -> _Statements:
    """Built once: building a statement costs more than running it for one case (`draft_for_case` runs them
    per case), and an expanding IN keeps one cached compilation whatever the number of ids."""
    table = Complaint.__table__
    cases = bindparam("cases", expanding=True)
    return _Statements(
        open_filings=select(Complaint.case_id, Complaint.channel, Complaint.attempt)
        .where(Complaint.case_id.in_(cases), Complaint.state.in_([s.value for s in OPEN_STATES]))
        .order_by(Complaint.case_id, Complaint.attempt.desc(), Complaint.id.desc()),
        filings=select(Complaint.case_id, Complaint.channel, Complaint.attempt).where(Complaint.case_id.in_(cases)),
        complaints=select(Complaint).where(Complaint.case_id.in_(cases))
        .order_by(Complaint.case_id, Complaint.attempt, Complaint.id),
        letter=update(table).where(table.c.id == bindparam("b_id"))
        .values(client_ref=bindparam("b_ref"), subject=bindparam("b_subject"), body=bindparam("b_body")),
        delete=delete(table).where(table.c.id.in_(bindparam("ids", expanding=True))),
    )


@lru_cache(maxsize=4)
def _insert(dialect: str):
    table = Complaint.__table__
    insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}[dialect]
    return (insert(table).on_conflict_do_nothing(index_elements=["case_id", "channel", "attempt"])
            .returning(table.c.id, table.c.case_id, table.c.channel, table.c.attempt))


def _chunks(items: Sequence, size: int = _CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _user(session: Session, user_id: int | None) -> User | None:
    return session.get(User, user_id) if user_id is not None else None


def draft_all(session: Session, case_ids: Iterable[int], *, actor: str = "system", user_id: int | None = None,
              settings: Settings | None = None, errors: list[tuple[int, str]] | None = None) -> list[Complaint]:
    """Draft the next filing of every case (see `next_filing`). A case that cannot be drafted is reported in
    `errors` as (case id, message) and the rest go on."""
    settings = settings or get_settings()
    catalog = default_catalog()
    ids = list(dict.fromkeys(case_ids))
    cases: dict[int, Case] = {}
    for chunk in _chunks(ids):
        cases.update((c.id, c) for c in session.execute(select(Case).where(Case.id.in_(chunk))).scalars())
    found = [cases[i] for i in ids if i in cases]
    filings = next_filings(session, found, catalog)
    results = iter(draft_many(session, [(case, channel, attempt) for case, (channel, attempt)
                                        in zip(found, filings, strict=True)],
                              actor=actor, user_id=user_id, settings=settings, catalog=catalog))
    out: list[Complaint] = []
    for case_id in ids:
        if case_id not in cases:
            _report(errors, case_id, f"case {case_id}: no such case")
            continue
        result = next(results)
        if isinstance(result, Exception):
            _report(errors, case_id, str(result))
        else:
            out.append(result)
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
