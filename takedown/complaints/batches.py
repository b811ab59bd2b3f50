"""Batches: complaints grouped per (channel, method), filed in bulk, paced, resumable, never twice.

Pacing is per channel and holds across runs and batches (takedown/complaints/pacing.py): each filing waits until
the channel's pace has passed since its last filing, whichever run made that one.

Filing one complaint is three steps, each its own transaction:
1. `queued → submitting`, committed BEFORE anything goes over the network (a conditional UPDATE, so two
   processes filing the same batch cannot both take a complaint);
2. the channel method sends it (e-mail, portal) — the only step that writes to a platform;
3. `submitting → submitted` with the platform's reference and `submitted_at` (domain time), and the case moves
   to filed (audited). A refusal is `failed` with its reason, and the batch goes on.

If the process dies between 1 and 3, the complaint is found in `submitting` on the next run and reconciled
before anything is sent:
- portal: the platform is asked for our client_ref (sent in the form): found → `submitted` with its reference;
  not found → sent now;
- e-mail: a mailbox cannot be asked, so the complaint becomes `unconfirmed` and is NEVER re-sent automatically
  (at most once: a complaint a platform might have received twice is what gets a filer banned for templated
  mass reporting). A person checks the sent mail and confirms it (`confirm_filing`) or re-queues it.
client_ref = "TD-<complaint id>-<attempt>" is stable for the complaint's life; the e-mail's Message-ID is
derived from it, so even a person re-sending by hand sends the same Message-ID.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlmodel import Session

from takedown import audit, clock, tracking
from takedown.complaints.channels import Catalog, default_catalog, resolve_channels
from takedown.complaints.drafting import (
    OPEN_STATES,
    DraftError,
    channel_of,
    draft_many,
    next_filings,
)
from takedown.complaints.letters import LetterError
from takedown.complaints.pacing import ChannelPacer, wall_clock
from takedown.complaints.package import build_filing
from takedown.complaints.results import FilingOutcome, PermanentFailure
from takedown.models import Batch, Case, CaseState, Complaint, ComplaintState, User
from takedown.settings import Settings, get_settings

logger = logging.getLogger(__name__)

CS = ComplaintState
BATCH = "batch.create"
QUEUE = "complaint.queue"
SUBMIT = "complaint.submit"
FAIL = "complaint.fail"
UNCONFIRMED = "complaint.unconfirmed"
RECONCILE = "complaint.reconcile"
CONFIRM = "complaint.confirm"
RESPONSE = "complaint.response"
# Cases a batch takes by default: captured and not yet filed, or waiting for a re-filing.
BATCHABLE_CASE_STATES = (CaseState.EVIDENCE_CAPTURED, CaseState.DRAFTED, CaseState.ESCALATED, CaseState.REOPENED)

SessionFactory = Callable[[], AbstractContextManager[Session]] | Engine


class BatchError(ValueError):
    pass


@dataclass(frozen=True)
class CaseFilter:
    """Which cases to batch when no ids are given."""

    states: tuple[str, ...] = tuple(s.value for s in BATCHABLE_CASE_STATES)
    channel: str | None = None
    limit: int | None = None


# --- building batches ----------------------------------------------------------------------------------


def _select_cases(session: Session, cases: Iterable[int] | CaseFilter) -> list[Case]:
    if isinstance(cases, CaseFilter):
        q = select(Case).where(Case.state.in_(cases.states)).order_by(Case.id)
        if cases.channel:
            q = q.where(Case.channel == cases.channel)
        if cases.limit:
            q = q.limit(cases.limit)
        return list(session.execute(q).scalars())
    ids = list(dict.fromkeys(cases))
    found = {c.id: c for c in session.execute(select(Case).where(Case.id.in_(ids))).scalars()} if ids else {}
    missing = [i for i in ids if i not in found]
    if missing:
        raise BatchError(f"no such case(s): {', '.join(map(str, missing))}")
    return [found[i] for i in ids]


def build_batches(session: Session, cases: Iterable[int] | CaseFilter, *, user: User | None,
                  method: str | None = None, settings: Settings | None = None,
                  errors: list[tuple[int, str]] | None = None) -> list[Batch]:
    """One new batch per (channel, method) holding the next filing of every given case, drafted where needed.
    A complaint already queued in a batch, or already sent, is left where it is. `method` overrides the
    channel's default (refused for a channel that does not support it). Problems per case go to `errors`."""
    settings = settings or get_settings()
    catalog = default_catalog()
    at = clock.now(settings)
    actor = audit.actor_name(user)
    groups: dict[tuple[str, str], list[Complaint]] = {}
    selected = _select_cases(session, cases)
    drafted = draft_many(session, [(case, channel_id, attempt) for case, (channel_id, attempt)
                                   in zip(selected, next_filings(session, selected, catalog), strict=True)],
                         actor=actor, user_id=user.id if user else None, settings=settings, catalog=catalog)
    for case, complaint in zip(selected, drafted, strict=True):
        if isinstance(complaint, (DraftError, LetterError)):
            _report(errors, case.id, str(complaint))
            continue
        if complaint.state not in (CS.DRAFT, CS.FAILED):
            continue  # queued in another batch, or gone out already
        ch = catalog[complaint.channel]
        chosen = method or ch.default_method
        if not ch.supports(chosen):
            _report(errors, case.id, f"case {case.id}: channel {ch.id!r} does not support method {chosen!r} "
                                     f"(it supports {', '.join(ch.methods)})")
            continue
        groups.setdefault((ch.id, chosen), []).append(complaint)

    batches = []
    for (channel_id, chosen), complaints in groups.items():
        batch = Batch(channel=channel_id, method=chosen, state="open", created_by_id=user.id if user else None,
                      created_at=at, total=len(complaints))
        session.add(batch)
        session.flush()
        changes = []
        for c in complaints:
            before = {"state": c.state, "batch_id": c.batch_id, "method": c.method}
            c.batch_id, c.method, c.state = batch.id, chosen, CS.QUEUED
            if before["state"] == CS.FAILED:
                c.response = ""
            session.add(c)
            changes.append((c.id, before, {"state": CS.QUEUED.value, "batch_id": batch.id, "method": chosen}))
        session.flush()
        audit.write(session, action=BATCH, entity_type="batch", user=user, at=at,
                    changes=[(batch.id, None, {"channel": channel_id, "method": chosen, "total": len(complaints),
                                               "complaints": [c.id for c in complaints]})])
        audit.write(session, action=QUEUE, entity_type="complaint", user=user, at=at, changes=changes)
        batches.append(batch)
    return batches


def _report(errors: list[tuple[int, str]] | None, case_id: int, message: str) -> None:
    logger.info("complaints: %s", message)
    if errors is not None:
        errors.append((case_id, message))


# --- filing -----------------------------------------------------------------------------------------------


@dataclass
class FilingReport:
    batch_id: int
    channel: str
    method: str
    submitted: list[int] = field(default_factory=list)  # complaint ids sent in this run
    reconciled: list[int] = field(default_factory=list)  # found already filed at the platform
    unconfirmed: list[int] = field(default_factory=list)  # a person must check
    failed: list[tuple[int, str]] = field(default_factory=list)
    unresolved: list[tuple[int, str]] = field(default_factory=list)  # left in submitting: could not ask
    notes: dict[int, str] = field(default_factory=dict)  # why each unconfirmed one needs a person
    export_path: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"batch": self.batch_id, "channel": self.channel, "method": self.method,
                "submitted": self.submitted, "reconciled": self.reconciled, "unconfirmed": self.unconfirmed,
                "failed": [{"complaint": i, "reason": r} for i, r in self.failed],
                "unresolved": [{"complaint": i, "reason": r} for i, r in self.unresolved],
                **({"export_path": self.export_path} if self.export_path else {})}


def _factory(session_factory: SessionFactory) -> Callable[[], AbstractContextManager[Session]]:
    if isinstance(session_factory, Engine):
        from takedown.db import session_scope

        engine = session_factory
        return lambda: session_scope(engine)
    return session_factory


def _now(now: datetime | Callable[[], datetime] | None, settings: Settings) -> datetime:
    if callable(now):
        return clock.aware(now())
    return clock.resolve(now, settings)


def _filer(method: str, channel, settings: Settings):
    if method == "email":
        from takedown.complaints.email import EmailFiler

        return EmailFiler(settings)
    if method == "portal":
        from takedown.complaints.portal import PortalFiler

        return PortalFiler(channel, settings)
    raise BatchError(f"method {method!r} cannot be sent (export batches are written, see export_batch)")


def _claim(session: Session, complaint_id: int) -> bool:
    """queued → submitting, only if still queued (at most one process takes it)."""
    result = session.execute(
        update(Complaint).where(Complaint.id == complaint_id, Complaint.state == CS.QUEUED)
        .values(state=CS.SUBMITTING).execution_options(synchronize_session=False))
    return result.rowcount == 1


def _mark_submitted(session: Session, complaint: Complaint, outcome: FilingOutcome, at: datetime, *,
                    actor: str, action: str = SUBMIT) -> None:
    before = {"state": complaint.state}
    complaint.state = CS.SUBMITTED
    complaint.external_ref = outcome.external_ref[:128]
    complaint.submitted_at = at
    session.add(complaint)
    session.flush()
    audit.write(session, action=action, entity_type="complaint", actor=actor, at=at,
                changes=[(complaint.id, before, {"state": CS.SUBMITTED.value, "external_ref": complaint.external_ref,
                                                 "method": complaint.method, "note": outcome.note})])
    case = session.get(Case, complaint.case_id)
    if case is not None and tracking.can_transition(case.state, CaseState.FILED):
        tracking.transition(session, case, CaseState.FILED, actor=actor, at=at,
                            note=f"complaint {complaint.id} {complaint.client_ref} via {complaint.channel}/"
                                 f"{complaint.method}: {complaint.external_ref}")


def _mark(session: Session, complaint: Complaint, state: str, note: str, at: datetime, *, actor: str,
          action: str, external_ref: str = "") -> None:
    before = {"state": complaint.state}
    complaint.state = state
    complaint.response = note
    if external_ref:
        complaint.external_ref = external_ref[:128]
    session.add(complaint)
    session.flush()
    audit.write(session, action=action, entity_type="complaint", actor=actor, at=at,
                changes=[(complaint.id, before, {"state": state, "note": note[:500]})])


def file_batch(session_factory: SessionFactory, batch_id: int, *, settings: Settings | None = None,
               now: datetime | Callable[[], datetime] | None = None, pace: float | None = None,
               actor: str = "system", sleep: Callable[[float], None] = time.sleep,
               pace_clock: Callable[[], datetime] = wall_clock, export_pdf: bool = True) -> FilingReport:
    """File every queued complaint of the batch through its channel method (see the module docstring).
    `pace`: seconds between two filings on the channel, counted from its last filing by any run or batch
    (default: settings.complaint_pace, else the channel's pace); `sleep` and `pace_clock` (real UTC) are what
    pacing waits with. `now`: the domain time stamped on filings."""
    settings = settings or get_settings()
    scope = _factory(session_factory)
    catalog = resolve_channels(settings)
    with scope() as session:
        batch = session.get(Batch, batch_id)
        if batch is None:
            raise BatchError(f"batch {batch_id}: no such batch")
        channel = catalog[batch.channel]
        report = FilingReport(batch_id, batch.channel, batch.method)
        if batch.method == "export":
            return _file_export(session, batch, settings, catalog, report, _now(now, settings), actor,
                                pdf=export_pdf)
        stuck = list(session.execute(select(Complaint.id).where(
            Complaint.batch_id == batch_id, Complaint.state == CS.SUBMITTING).order_by(Complaint.id)).scalars())
        queued = list(session.execute(select(Complaint.id).where(
            Complaint.batch_id == batch_id, Complaint.state == CS.QUEUED).order_by(Complaint.id)).scalars())
    if pace is None:
        pace = settings.complaint_pace if settings.complaint_pace is not None else channel.pace

    if stuck or queued:
        filer = _filer(batch.method, channel, settings)  # refuses here (no account, no host) before any change
        with scope() as session:
            session.execute(update(Batch).where(Batch.id == batch_id).values(state="filing"))
        pacer = ChannelPacer(scope, batch.channel, pace, sleep=sleep, now=pace_clock)
        with filer:
            queued = _reconcile(scope, filer, stuck, queued, settings, now, actor, report)
            for complaint_id in queued:
                pacer.wait()  # before the claim: a run killed while waiting leaves the complaint queued
                with scope() as session:
                    if not _claim(session, complaint_id):
                        continue  # taken by another run meanwhile
                    complaint = session.get(Complaint, complaint_id)
                    session.refresh(complaint)
                    try:
                        filing = build_filing(session, complaint, channel, settings)
                    except (OSError, ValueError) as exc:
                        _mark(session, complaint, CS.FAILED, f"cannot build the filing: {exc}",
                              _now(now, settings), actor=actor, action=FAIL)
                        report.failed.append((complaint_id, str(exc)))
                        continue
                # committed: the complaint is `submitting` before anything leaves this process
                pacer.mark()
                try:
                    outcome = filer.send(filing)
                except PermanentFailure as exc:
                    outcome = exc
                except Exception as exc:  # noqa: BLE001 - recorded on the complaint; the batch goes on
                    outcome = exc
                with scope() as session:
                    complaint = session.get(Complaint, complaint_id)
                    at = _now(now, settings)
                    if isinstance(outcome, FilingOutcome) and outcome.state == CS.SUBMITTED:
                        _mark_submitted(session, complaint, outcome, at, actor=actor)
                        report.submitted.append(complaint_id)
                    elif isinstance(outcome, FilingOutcome):
                        _mark(session, complaint, CS.UNCONFIRMED, outcome.note, at, actor=actor, action=UNCONFIRMED,
                              external_ref=outcome.external_ref)
                        report.unconfirmed.append(complaint_id)
                        report.notes[complaint_id] = outcome.note
                    else:
                        reason = str(outcome) if isinstance(outcome, PermanentFailure) else \
                            f"{type(outcome).__name__}: {outcome}"
                        _mark(session, complaint, CS.FAILED, reason[:2000], at, actor=actor, action=FAIL)
                        report.failed.append((complaint_id, reason))
                        logger.warning("complaints: batch %s complaint %s failed: %s", batch_id, complaint_id,
                                       reason)
    with scope() as session:
        _finish(session, batch_id, _now(now, settings))
    return report


def _reconcile(scope, filer, stuck: list[int], queued: list[int], settings: Settings, now, actor: str,
               report: FilingReport) -> list[int]:
    """Settle the complaints a dead run left in `submitting`; returns the queue to send (portal: those the
    platform has no record of go first, back through `queued`)."""
    resend: list[int] = []
    for complaint_id in stuck:
        with scope() as session:
            complaint = session.get(Complaint, complaint_id)
            at = _now(now, settings)
            if not getattr(filer, "can_lookup", False):
                _mark(session, complaint, CS.UNCONFIRMED,
                      "the filing process stopped while sending this e-mail; a mailbox cannot be asked whether it "
                      "arrived, so it is not re-sent automatically: check the sent mail, then confirm it or "
                      "re-queue it", at, actor=actor, action=UNCONFIRMED)
                report.unconfirmed.append(complaint_id)
                report.notes[complaint_id] = "the filing process stopped while sending this e-mail: check the sent mail"
                continue
            try:
                found = filer.lookup(complaint.client_ref)
            except Exception as exc:  # noqa: BLE001 - cannot ask now: leave it, never send blind
                report.unresolved.append((complaint_id, f"{type(exc).__name__}: {exc}"))
                continue
            if found is not None:
                _mark_submitted(session, complaint, FilingOutcome(CS.SUBMITTED, str(found.get("ref", "")),
                                                                  "found at the platform by client_ref"),
                                at, actor=actor, action=RECONCILE)
                report.reconciled.append(complaint_id)
            else:
                _mark(session, complaint, CS.QUEUED, "not found at the platform after an interrupted run: "
                      "sending again", at, actor=actor, action=RECONCILE)
                resend.append(complaint_id)
    return resend + [i for i in queued if i not in resend]


def _finish(session: Session, batch_id: int, at: datetime) -> Batch:
    batch = session.get(Batch, batch_id)
    counts = dict(session.execute(
        select(Complaint.state, func.count()).where(Complaint.batch_id == batch_id).group_by(Complaint.state)
    ).all())
    filed = sum(counts.get(s, 0) for s in (CS.SUBMITTED, CS.ACCEPTED, CS.REJECTED))
    batch.total = sum(counts.values())
    batch.filed = filed
    batch.failed = counts.get(CS.FAILED, 0)
    pending = sum(counts.get(s, 0) for s in (CS.QUEUED, CS.SUBMITTING, CS.UNCONFIRMED, CS.FAILED))
    batch.state = "done" if pending == 0 else "partial"
    batch.finished_at = at
    session.add(batch)
    return batch


def _file_export(session: Session, batch: Batch, settings: Settings, catalog: Catalog, report: FilingReport,
                 at: datetime, actor: str, *, pdf: bool = True) -> FilingReport:
    """An export batch is filed by writing its package: its queued complaints become submitted."""
    from takedown.complaints.export import export_batch

    result = export_batch(session, batch.id, settings=settings, catalog=catalog, pdf=pdf)
    batch.export_path = str(result.path)
    ref = f"export:{batch.id}"
    for complaint in session.execute(select(Complaint).where(
            Complaint.batch_id == batch.id, Complaint.state.in_((CS.QUEUED, CS.SUBMITTING))
    ).order_by(Complaint.id)).scalars():
        _mark_submitted(session, complaint, FilingOutcome(CS.SUBMITTED, ref, f"package {result.path}"), at,
                        actor=actor)
        report.submitted.append(complaint.id)
    _finish(session, batch.id, at)
    report.export_path = str(result.path)
    return report


# --- a person's word ----------------------------------------------------------------------------------------


def confirm_filing(session: Session, complaint: Complaint, *, user: User | None, sent: bool = True,
                   external_ref: str = "", note: str = "") -> Complaint:
    """A person settles a complaint: `sent` (it went out: submitted, the case filed) or not (back to queued, to
    go with its batch's next run). Allowed for unconfirmed complaints, and for submitted ones to record the
    platform's own reference (e.g. an export uploaded by hand)."""
    at = clock.now()
    actor = audit.actor_name(user)
    if complaint.state == CS.UNCONFIRMED:
        if sent:
            ref = external_ref or complaint.external_ref or "confirmed by hand"
            _mark_submitted(session, complaint, FilingOutcome(CS.SUBMITTED, ref, note or "confirmed by a person"),
                            at, actor=actor, action=CONFIRM)
        else:
            _mark(session, complaint, CS.QUEUED, note or "not sent, re-queued by a person", at, actor=actor,
                  action=CONFIRM)
        return complaint
    if complaint.state == CS.SUBMITTED and external_ref:
        before = {"external_ref": complaint.external_ref}
        complaint.external_ref = external_ref[:128]
        session.add(complaint)
        session.flush()
        audit.write(session, action=CONFIRM, entity_type="complaint", user=user, at=at,
                    changes=[(complaint.id, before, {"external_ref": complaint.external_ref})])
        return complaint
    raise BatchError(f"complaint {complaint.id}: is {complaint.state}; only an unconfirmed complaint can be "
                     "confirmed (or a submitted one given its platform reference)")


# --- reading the platforms' answers ---------------------------------------------------------------------


@dataclass
class PollReport:
    batch_id: int
    checked: int = 0
    accepted: list[int] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)
    acknowledged: list[int] = field(default_factory=list)
    unknown: list[tuple[int, str]] = field(default_factory=list)


def apply_response(session: Session, complaint: Complaint, info: dict[str, Any], *, actor: str = "system",
                   at: datetime | None = None) -> str:
    """Record a platform's answer (`status` received | acknowledged | accepted | rejected, `reason`) on the
    complaint and move its case: acknowledged when the platform took it in, rejected when it refused.
    An accepted complaint leaves the case acknowledged: only a re-check proves the post gone."""
    at = clock.resolve(at)
    status = str(info.get("status") or "")
    reason = str(info.get("reason") or "")
    case = session.get(Case, complaint.case_id)

    def case_to(state: CaseState, note: str) -> None:
        if case is not None and tracking.can_transition(case.state, state):
            tracking.transition(session, case, state, actor=actor, at=at, note=note)

    if status in ("acknowledged", "accepted", "rejected"):
        case_to(CaseState.ACKNOWLEDGED, f"complaint {complaint.id} {complaint.external_ref}: {status}")
    if status in ("accepted", "rejected") and complaint.state == CS.SUBMITTED:
        before = {"state": complaint.state, "response": complaint.response}
        complaint.state = CS.ACCEPTED if status == "accepted" else CS.REJECTED
        complaint.response = reason or str(info.get("status_text") or status)
        complaint.responded_at = at
        session.add(complaint)
        session.flush()
        audit.write(session, action=RESPONSE, entity_type="complaint", actor=actor, at=at,
                    changes=[(complaint.id, before, {"state": complaint.state, "response": complaint.response})])
        if status == "rejected":
            case_to(CaseState.REJECTED, f"complaint {complaint.id} rejected: {reason}")
    return status


def poll_portal_statuses(session: Session, batch_id: int, *, settings: Settings | None = None,
                         actor: str = "system") -> PollReport:
    """Ask the channel's portal for the state of every filed complaint of the batch still waiting for an answer
    (portal filings by their reference, e-mail filings by their Message-ID as the portal knows it), and record
    the answers (`apply_response`)."""
    settings = settings or get_settings()
    catalog = resolve_channels(settings)
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise BatchError(f"batch {batch_id}: no such batch")
    report = PollReport(batch_id)
    waiting = list(session.execute(select(Complaint).where(
        Complaint.batch_id == batch_id, Complaint.state == CS.SUBMITTED,
        Complaint.method.in_(("portal", "email"))).order_by(Complaint.id)).scalars())
    if not waiting:
        return report
    channel = catalog[batch.channel]
    if not channel.supports("portal") and not settings.emulator_url:
        raise BatchError(f"batch {batch_id}: channel {channel.id!r} has no portal to ask")
    from takedown.complaints.portal import PortalFiler

    with PortalFiler(channel, settings) as portal:
        for complaint in waiting:
            report.checked += 1
            try:
                if complaint.method == "portal" and complaint.external_ref:
                    info = portal.status(complaint.external_ref)
                else:
                    info = portal.lookup(complaint.external_ref or complaint.client_ref)
            except Exception as exc:  # noqa: BLE001 - one unanswered status does not stop the others
                report.unknown.append((complaint.id, f"{type(exc).__name__}: {exc}"))
                continue
            if info is None:
                report.unknown.append((complaint.id, "the portal does not know this complaint"))
                continue
            status = apply_response(session, complaint, info, actor=actor, at=clock.now(settings))
            if status == "accepted":
                report.accepted.append(complaint.id)
            elif status == "rejected":
                report.rejected.append((complaint.id, str(info.get("reason") or "")))
            elif status == "acknowledged":
                report.acknowledged.append(complaint.id)
    return report


def batch_summary(session: Session, batch_id: int) -> dict[str, Any]:
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise BatchError(f"batch {batch_id}: no such batch")
    rows = session.execute(select(Complaint.id, Complaint.case_id, Complaint.state, Complaint.client_ref,
                                  Complaint.external_ref, Complaint.response)
                           .where(Complaint.batch_id == batch_id).order_by(Complaint.id)).all()
    return {"batch": batch.id, "channel": batch.channel, "method": batch.method, "state": batch.state,
            "total": batch.total, "filed": batch.filed, "failed": batch.failed, "export_path": batch.export_path,
            "complaints": [{"id": r[0], "case": r[1], "state": r[2], "client_ref": r[3], "external_ref": r[4],
                            "response": r[5]} for r in rows]}


__all__ = ["OPEN_STATES", "BatchError", "CaseFilter", "FilingReport", "PollReport", "apply_response",
           "batch_summary", "build_batches", "channel_of", "confirm_filing", "file_batch", "poll_portal_statuses"]
