"""The case state machine on SQLite and PostgreSQL: legal and illegal transitions with their audit entries and
times, SLAs, overdue cases and escalation levels, re-check observations applied to cases, revivals, and the
review hook that opens and closes cases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from takedown import review, tracking
from takedown.clock import aware
from takedown.models import AuditLog, Case, CaseState, Complaint, Post, ReviewState, StatusCheck, User
from takedown.settings import Settings
from takedown.status_checks import Observation, record_checks, targets
from takedown.tracking import IllegalTransition
from tests.takedown.case_helpers import T0, author, case_in, post

S = CaseState
H = timedelta(hours=1)


def _entries(session: Session, case_id: int, action: str = tracking.TRANSITION) -> list[AuditLog]:
    return list(session.execute(select(AuditLog).where(
        AuditLog.entity_type == "case", AuditLog.entity_id == str(case_id), AuditLog.action == action)
        .order_by(AuditLog.id)).scalars())


# --- the state machine ---------------------------------------------------------------------------------


def test_open_case_is_idempotent_audited_and_on_the_posts_platform(engine):
    with Session(engine) as session:
        p = post(session, "p1", platform="bilibili")
        case = tracking.open_case(session, p, actor="alice", at=T0)
        again = tracking.open_case(session, p, actor="alice", at=T0 + H)
        assert again.id == case.id
        assert (case.state, case.channel, aware(case.opened_at)) == (S.CONFIRMED, "bilibili", T0)
        [entry] = _entries(session, case.id, tracking.OPEN)
        assert entry.actor == "alice" and entry.before is None and entry.after["state"] == "confirmed"
        assert session.execute(select(func.count()).select_from(Case)).scalar_one() == 1


def test_the_whole_legal_path_stamps_each_time_sets_the_sla_and_hours_to_removal(engine):
    with Session(engine) as session:
        p = post(session, "p1", platform="bilibili")
        case = tracking.open_case(session, p, actor="system", at=T0)
        steps = [(S.EVIDENCE_CAPTURED, "evidence_at"), (S.DRAFTED, "drafted_at"), (S.FILED, "filed_at"),
                 (S.ACKNOWLEDGED, "acknowledged_at"), (S.REMOVED, "removed_at"), (S.CLOSED, "closed_at")]
        times = {}
        for i, (state, column) in enumerate(steps, start=1):
            at = T0 + i * 10 * H
            tracking.transition(session, case, state, actor="bob", at=at, note=f"step {i}")
            times[column] = at
            assert aware(getattr(case, column)) == at and case.state == state
        filed = times["filed_at"]
        assert aware(case.sla_due_at) == filed + timedelta(hours=72), "bilibili: within 3 working days"
        assert case.hours_to_removal == pytest.approx((times["removed_at"] - filed).total_seconds() / 3600)
        entries = _entries(session, case.id)
        assert [(e.before["state"], e.after["state"]) for e in entries] == [
            ("confirmed", "evidence_captured"), ("evidence_captured", "drafted"), ("drafted", "filed"),
            ("filed", "acknowledged"), ("acknowledged", "removed"), ("removed", "closed")]
        assert all(e.actor == "bob" for e in entries)
        assert entries[2].after["sla_due_at"] and entries[4].after["hours_to_removal"] == pytest.approx(20.0)
        assert entries[0].after["note"] == "step 1" and aware(entries[0].at) == T0 + 10 * H


@pytest.mark.parametrize(("path", "illegal"), [
    ([], S.FILED),  # confirmed → filed skips evidence and drafting
    ([], S.REMOVED),
    ([S.EVIDENCE_CAPTURED], S.FILED),
    ([S.EVIDENCE_CAPTURED, S.DRAFTED, S.FILED, S.REMOVED, S.CLOSED], S.REMOVED),
    ([S.EVIDENCE_CAPTURED, S.DRAFTED, S.FILED, S.REJECTED], S.REMOVED),
    ([S.EVIDENCE_CAPTURED, S.DRAFTED, S.FILED, S.REMOVED, S.REOPENED], S.REMOVED),
])
def test_illegal_transitions_are_refused_naming_both_states_and_change_nothing(engine, path, illegal):
    with Session(engine) as session:
        case = tracking.open_case(session, post(session, "p1"), actor="system", at=T0)
        for i, state in enumerate(path, start=1):
            tracking.transition(session, case, state, actor="system", at=T0 + i * H)
        before_state, before_entries = case.state, len(_entries(session, case.id))
        with pytest.raises(IllegalTransition) as info:
            tracking.transition(session, case, illegal, actor="system", at=T0 + 99 * H)
        assert before_state in str(info.value) and illegal in str(info.value)
        assert (info.value.from_state, info.value.to_state) == (before_state, illegal)
        assert case.state == before_state and len(_entries(session, case.id)) == before_entries
        with pytest.raises(IllegalTransition, match="unknown state"):
            tracking.transition(session, case, "vanished", actor="system")


def test_every_allowed_transition_is_accepted():
    for source, targets_ in tracking.TRANSITIONS.items():
        for target in S:
            assert tracking.can_transition(source, target) == (target in targets_)
    assert tracking.TRANSITIONS[S.FILED] == {S.ACKNOWLEDGED, S.REMOVED, S.REJECTED, S.ESCALATED}
    assert tracking.TRANSITIONS[S.REOPENED] == {S.EVIDENCE_CAPTURED, S.DRAFTED, S.FILED}


# --- SLA and escalation --------------------------------------------------------------------------------


def test_sla_per_channel_defaults_and_overrides():
    assert tracking.sla_for("bilibili") == timedelta(hours=72)
    assert tracking.sla_for("douyin") == timedelta(hours=120)
    assert tracking.sla_for("weixin_channels") == timedelta(hours=168)
    assert tracking.sla_for("12377") == timedelta(hours=240)
    assert tracking.sla_for("somewhere_new") == timedelta(hours=tracking.FALLBACK_SLA_HOURS)
    custom = Settings(case_sla_hours={"douyin": 48})
    assert tracking.sla_for("douyin", custom) == timedelta(hours=48)
    assert tracking.sla_for("bilibili", custom) == timedelta(hours=72), "one override keeps the other channels"


def test_overdue_cases_escalate_to_a_refiling_then_to_12377_then_no_further(engine):
    with Session(engine) as session:
        case = case_in(session, post(session, "p1"), S.FILED)  # douyin, filed at T0+3h
        filed = T0 + 3 * H
        assert aware(case.sla_due_at) == filed + timedelta(hours=120)
        assert tracking.overdue(session, filed + timedelta(hours=119)) == []
        late = filed + timedelta(hours=121)
        assert [c.id for c in tracking.overdue(session, late)] == [case.id]

        first = tracking.escalate(session, case, now=late, actor="recheck")
        assert (first.level, first.channel, first.attempt) == (1, "douyin", 2)
        assert case.escalation_level == 1 and aware(case.escalated_at) == late
        assert case.state in (S.ESCALATED, S.DRAFTED)  # drafted when the complaints package wrote the letter
        assert tracking.overdue(session, late + timedelta(days=30)) == [], "no SLA runs until it is re-filed"
        [entry] = _entries(session, case.id, tracking.ESCALATE)
        assert entry.before == {"escalation_level": 0}
        assert entry.after["escalation_level"] == 1 and entry.after["channel"] == "douyin"
        assert entry.after["attempt"] == 2 and "overdue by 1.0 h" in entry.after["reason"]

        refiled = late + 2 * H
        tracking.transition(session, case, S.FILED, actor="system", at=refiled)
        assert aware(case.filed_at) == filed, "filed_at keeps the first filing"
        assert aware(case.sla_due_at) == refiled + timedelta(hours=120)

        later = refiled + timedelta(hours=121)
        second = tracking.escalate(session, case, now=later)
        assert (second.level, second.channel, second.attempt) == (2, "12377", 3)
        tracking.transition(session, case, S.FILED, actor="system", at=later + H)
        assert aware(case.sla_due_at) == later + H + timedelta(hours=240), "the national channel's SLA"
        with pytest.raises(IllegalTransition, match="12377"):
            tracking.escalate(session, case, now=later + timedelta(days=30))
        # Overdue still lists it (reports show it), the batch escalation leaves it alone.
        assert [c.id for c in tracking.overdue(session, later + timedelta(days=30))] == [case.id]
        done, failed = tracking.escalate_overdue(session, later + timedelta(days=30))
        assert done == [] and failed == []


def test_escalation_drafts_the_new_complaint(engine, tmp_path):
    pytest.importorskip("takedown.complaints.drafting")
    from takedown import evidence

    with Session(engine) as session:
        p = post(session, "p1")
        case = tracking.open_case(session, p, actor="system", at=T0)
        evidence.record_capture(session, p, p.url, b"\x89PNG fake", b"<html>p1</html>", captured_at=T0 + H,
                                root=tmp_path)
        tracking.transition(session, case, S.DRAFTED, actor="system", at=T0 + 2 * H)
        tracking.transition(session, case, S.FILED, actor="system", at=T0 + 3 * H)
        late = T0 + timedelta(days=10)
        first = tracking.escalate(session, case, now=late)
        complaint = session.get(Complaint, first.complaint_id)
        assert (complaint.case_id, complaint.channel, complaint.attempt) == (case.id, "douyin", 2)
        assert case.state == S.DRAFTED
        tracking.transition(session, case, S.FILED, actor="system", at=late + H)
        second = tracking.escalate(session, case, now=late + timedelta(days=11))
        complaint = session.get(Complaint, second.complaint_id)
        assert (complaint.channel, complaint.attempt) == ("12377", 3)


def test_escalate_overdue_only_touches_the_cases_named(engine):
    with Session(engine) as session:
        a = case_in(session, post(session, "p1"), S.FILED)
        b = case_in(session, post(session, "p2"), S.ACKNOWLEDGED)
        c = case_in(session, post(session, "p3"), S.DRAFTED)  # not filed: no SLA runs
        late = T0 + timedelta(days=30)
        assert {x.id for x in tracking.overdue(session, late)} == {a.id, b.id}
        done, failed = tracking.escalate_overdue(session, late, case_ids=[b.id, c.id])
        assert [e.case_id for e in done] == [b.id] and failed == []
        assert (a.escalation_level, b.escalation_level, c.escalation_level) == (0, 1, 0)


# --- re-check observations ---------------------------------------------------------------------------


def _obs(p: Post, case: Case | None, state: str, at, code: str = "") -> Observation:
    return Observation(post_id=p.id, case_id=case.id if case else None, platform=p.platform,
                       platform_post_id=p.platform_post_id, state=state, code=code, http_status=200,
                       checked_at=at)


def test_observations_are_stored_and_prove_removals_and_revivals(engine):
    with Session(engine) as session:
        filed = case_in(session, p1 := post(session, "p1"), S.FILED)
        escalated = case_in(session, p2 := post(session, "p2"), S.FILED)
        tracking.transition(session, escalated, S.ESCALATED, actor="system", at=T0 + 5 * H)
        drafted = case_in(session, p3 := post(session, "p3"), S.DRAFTED)
        removed = case_in(session, p4 := post(session, "p4"), S.REMOVED)
        live = case_in(session, p5 := post(session, "p5"), S.FILED)
        at = T0 + 30 * H
        outcome = record_checks(session, [
            _obs(p1, filed, "gone", at, "status_deleted"), _obs(p2, escalated, "gone", at, "-404"),
            _obs(p3, drafted, "gone", at, "-404"), _obs(p4, removed, "live", at, "0"),
            _obs(p5, live, "unknown", at, "http_429")])
        assert outcome.counts() == {"checked": 5, "live": 1, "gone": 3, "unknown": 1, "removed": 2,
                                    "reopened": 1, "closed": 0, "gone_before_filing": 1}
        assert (filed.state, escalated.state, drafted.state, removed.state, live.state) == (
            S.REMOVED, S.REMOVED, S.DRAFTED, S.REOPENED, S.FILED)
        assert filed.hours_to_removal == pytest.approx(27.0)  # filed at T0+3h, gone at T0+30h
        assert removed.reopened_count == 1
        assert aware(session.get(Case, live.id).last_checked_at) == at
        checks = session.execute(select(StatusCheck.post_id, StatusCheck.observed, StatusCheck.code)
                                 .order_by(StatusCheck.id)).all()
        assert checks == [(p1.id, "gone", "status_deleted"), (p2.id, "gone", "-404"), (p3.id, "gone", "-404"),
                          (p4.id, "live", "0"), (p5.id, "unknown", "http_429")]
        [entry] = [e for e in _entries(session, filed.id) if e.after["state"] == "removed"]
        assert entry.actor == "recheck" and "status_deleted" in entry.after["note"]


def test_observations_known_only_by_platform_id_find_their_post_and_case(engine):
    with Session(engine) as session:
        case = case_in(session, p := post(session, "p1", platform="bilibili"), S.FILED)
        at = T0 + 10 * H
        outcome = record_checks(session, [
            Observation(post_id=0, case_id=None, platform="bilibili", platform_post_id="p1", state="gone",
                        code="-404", checked_at=at),
            Observation(post_id=0, case_id=None, platform="bilibili", platform_post_id="nowhere", state="gone",
                        checked_at=at)])
        assert outcome.checked == 1 and outcome.removed == [case.id]
        assert session.execute(select(StatusCheck.post_id, StatusCheck.case_id)).all() == [(p.id, case.id)]


def test_targets_are_every_case_of_interest_or_the_named_ones(engine):
    with Session(engine) as session:
        a = case_in(session, post(session, "p1"), S.FILED)
        b = case_in(session, post(session, "p2", platform="bilibili"), S.REMOVED)
        c = tracking.open_case(session, post(session, "p3"), actor="t", at=T0)
        d = case_in(session, post(session, "p4"), S.FILED)
        tracking.transition(session, d, S.REJECTED, actor="t", at=T0 + 9 * H)
        tracking.transition(session, d, S.CLOSED, actor="t", at=T0 + 10 * H)  # given up, never removed
        assert [t.case_id for t in targets(session)] == [a.id, b.id, c.id]
        assert [(t.platform, t.platform_post_id) for t in targets(session, [b.id, d.id])] == [
            ("bilibili", "p2"), ("douyin", "p4")]


def test_a_removed_case_closes_at_the_first_gone_check_after_the_grace_period_and_can_still_reopen(engine):
    grace = timedelta(hours=72)
    with Session(engine) as session:
        case = case_in(session, p := post(session, "p1"), S.REMOVED)  # filed T0+3h, removed T0+4h
        removed_at = aware(case.removed_at)
        early = record_checks(session, [_obs(p, case, "gone", removed_at + grace - H, "-404")], close_after=grace)
        assert case.state == S.REMOVED and early.closed == [], "still inside the grace period"
        unknown = record_checks(session, [_obs(p, case, "unknown", removed_at + grace + H)], close_after=grace)
        assert case.state == S.REMOVED and unknown.closed == [], "an unknown answer proves nothing"
        late = removed_at + grace + 2 * H
        outcome = record_checks(session, [_obs(p, case, "gone", late, "-404")], close_after=grace)
        assert outcome.closed == [case.id] and outcome.counts()["closed"] == 1
        assert case.state == S.CLOSED and aware(case.closed_at) == late
        assert case.hours_to_removal == pytest.approx(1.0), "closing keeps the time to removal"
        last = _entries(session, case.id)[-1]
        assert (last.before["state"], last.after["state"], last.actor) == ("removed", "closed", "recheck")
        assert "still gone 74.0 h after the removal" in last.after["note"]
        assert [t.case_id for t in targets(session)] == [case.id], "a closed removal is still watched"
        # The post comes back: the closed case reopens.
        back = record_checks(session, [_obs(p, case, "live", late + 24 * H, "0")], close_after=grace)
        assert back.reopened == [case.id] and case.state == S.REOPENED and case.reopened_count == 1


def test_the_grace_period_comes_from_the_settings(engine, monkeypatch):
    from takedown.settings import get_settings

    monkeypatch.setattr(get_settings(), "case_close_after_hours", 5.0)
    assert tracking.close_after() == timedelta(hours=5)
    assert Settings().case_close_after_hours == 72.0, "the default: three days"
    with Session(engine) as session:
        case = case_in(session, p := post(session, "p1"), S.REMOVED)
        at = aware(case.removed_at) + 6 * H
        assert record_checks(session, [_obs(p, case, "gone", at)]).closed == [case.id]


def test_rejected_cases_escalate_to_a_refiling_then_12377_then_close(engine):
    with Session(engine) as session:
        case = case_in(session, post(session, "p1"), S.FILED)
        other = case_in(session, post(session, "p2"), S.FILED)  # filed, within its SLA: left alone
        at = T0 + 10 * H
        tracking.transition(session, case, S.REJECTED, actor="portal", at=at)
        assert [c.id for c in tracking.rejected_below_top(session)] == [case.id]
        done, failed = tracking.escalate_overdue(session, at + H, actor="recheck")
        assert [(e.case_id, e.level, e.channel, e.attempt) for e in done] == [(case.id, 1, "douyin", 2)]
        assert failed == [] and other.escalation_level == 0
        [entry] = _entries(session, case.id, tracking.ESCALATE)
        assert entry.after["reason"] == "rejected" and entry.actor == "recheck"
        assert tracking.close_exhausted(session, at + H) == [], "a rejection below the top level escalates"

        # Re-filed, rejected again: the national channel.
        tracking.transition(session, case, S.FILED, actor="system", at=at + 2 * H)
        tracking.transition(session, case, S.REJECTED, actor="portal", at=at + 3 * H)
        done, _ = tracking.escalate_overdue(session, at + 4 * H)
        assert [(e.level, e.channel, e.attempt) for e in done] == [(2, "12377", 3)]

        # 12377 refuses too: nothing left to escalate to, so the case closes.
        tracking.transition(session, case, S.FILED, actor="system", at=at + 5 * H)
        tracking.transition(session, case, S.REJECTED, actor="portal", at=at + 6 * H)
        assert tracking.rejected_below_top(session) == []
        assert tracking.escalate_overdue(session, at + 7 * H) == ([], [])
        assert tracking.close_exhausted(session, at + 7 * H, case_ids=[other.id]) == [], "only the cases named"
        assert [c.id for c in tracking.close_exhausted(session, at + 7 * H, actor="recheck")] == [case.id]
        assert case.state == S.CLOSED and aware(case.closed_at) == at + 7 * H
        last = _entries(session, case.id)[-1]
        assert (last.before["state"], last.after["state"]) == ("rejected", "closed") and "12377" in last.after["note"]
        assert case.id not in [t.case_id for t in targets(session)], "closed without a removal: nothing to watch"


def test_withdrawing_a_confirmation_goes_through_the_state_machine():
    assert tracking.can_transition(S.CONFIRMED, S.CLOSED)
    assert tracking.TRANSITIONS[S.CONFIRMED] == {S.EVIDENCE_CAPTURED, S.CLOSED}
    for later in (S.EVIDENCE_CAPTURED, S.DRAFTED, S.FILED, S.ACKNOWLEDGED):
        assert not tracking.can_transition(later, S.CLOSED), later


# --- revival ---------------------------------------------------------------------------------------------


def test_a_removed_post_seen_live_again_reopens_its_case(engine):
    with Session(engine) as session:
        p = post(session, "p1")
        case = case_in(session, p, S.REMOVED)
        removed_at = aware(case.removed_at)
        session.add(StatusCheck(post_id=p.id, case_id=case.id, checked_at=removed_at - H, observed="live"))
        session.flush()
        assert tracking.detect_revivals(session, removed_at + H) == [], "a live check before the removal"
        session.add(StatusCheck(post_id=p.id, case_id=case.id, checked_at=removed_at + 2 * H, observed="live"))
        session.flush()
        assert [c.id for c in tracking.detect_revivals(session, removed_at + 3 * H)] == [case.id]
        assert case.state == S.REOPENED and case.reopened_count == 1
        assert tracking.detect_revivals(session, removed_at + 4 * H) == []


def test_a_new_post_by_the_same_account_is_queued_with_a_link_to_the_old_case(engine):
    with Session(engine) as session:
        operator = author(session, key="op1")
        old = post(session, "old", by=operator)
        case = case_in(session, old, S.REMOVED)  # removed at T0+4h
        before = post(session, "before", by=operator, first_seen=T0 + 2 * H, state=ReviewState.NEW, score=0.2)
        new = post(session, "new", by=operator, first_seen=T0 + 10 * H, state=ReviewState.NEW, score=0.2)
        rejected = post(session, "rej", by=operator, first_seen=T0 + 10 * H, state=ReviewState.REJECTED)
        other = post(session, "other", by=author(session, key="op2"), first_seen=T0 + 10 * H,
                     state=ReviewState.NEW)
        report = tracking.revivals(session, T0 + 11 * H)
        assert report.suspects == {new.id: case.id} and report.cases == []
        session.refresh(new)
        assert new.review_state == ReviewState.QUEUED and new.score == 0.2, "queued, score kept"
        for p, state in ((before, ReviewState.NEW), (rejected, ReviewState.REJECTED), (other, ReviewState.NEW)):
            session.refresh(p)
            assert p.review_state == state
        [entry] = session.execute(select(AuditLog).where(
            AuditLog.action == tracking.REVIVAL_SUSPECT, AuditLog.entity_type == "post")).scalars().all()
        assert entry.entity_id == str(new.id)
        assert entry.after["case_id"] == case.id and entry.after["reasons"] == ["same_author"]
        assert entry.after["old_post_id"] == old.id
        assert _entries(session, case.id, tracking.REVIVAL_SUSPECT)[0].after["new_post_id"] == new.id
        # Once flagged, a later run does not flag it again.
        assert tracking.revivals(session, T0 + 12 * H).suspects == {}


def test_a_confirmed_new_post_sharing_a_contact_gets_a_case_linked_to_the_old_one(engine):
    with Session(engine) as session:
        old = post(session, "old", by=author(session, key="op1"), contacts=("cz573982a",))
        case = case_in(session, old, S.REMOVED)
        # Another account, the same WeChat id in its profile: a new case, linked.
        fresh = post(session, "fresh", by=author(session, key="op2", contacts=("cz573982a",)),
                     first_seen=T0 + 10 * H)
        # Confirmed and already with its own case (opened on confirmation): linked, not duplicated.
        own = post(session, "own", contacts=("cz573982a",), first_seen=T0 + 10 * H)
        own_case = tracking.open_case(session, own, actor="alice", at=T0 + 10 * H)
        linked = tracking.detect_revivals(session, T0 + 11 * H)
        fresh_case = tracking.case_for_post(session, fresh.id)
        assert {c.id for c in linked} == {fresh_case.id, own_case.id}
        assert fresh_case.linked_case_id == case.id and own_case.linked_case_id == case.id
        assert fresh_case.state == S.CONFIRMED
        revival = _entries(session, fresh_case.id, tracking.REVIVAL)[0].after
        assert revival["reasons"] == ["shared_contact"] and revival["case_id"] == case.id
        assert tracking.detect_revivals(session, T0 + 12 * H) == []


# --- the review hook -------------------------------------------------------------------------------------


def _reviewer(session: Session, name: str = "alice") -> User:
    user = User(username=name, password_hash="x", role="reviewer")
    session.add(user)
    session.flush()
    return user


def test_confirming_opens_cases_in_the_same_transaction_and_undo_closes_them(engine):
    with Session(engine) as session:
        alice = _reviewer(session)
        posts = [post(session, f"p{i}", state=ReviewState.QUEUED, platform="bilibili" if i % 2 else "douyin")
                 for i in range(4)]
        result = review.decide(session, alice, [(p.id, "queued") for p in posts[:3]], "confirm")
        assert len(result.applied) == 3
        cases = {c.post_id: c for c in session.execute(select(Case)).scalars()}
        assert set(cases) == {p.id for p in posts[:3]}
        assert {(c.state, c.channel) for c in cases.values()} == {("confirmed", "douyin"), ("confirmed", "bilibili")}
        entry = _entries(session, cases[posts[0].id].id, tracking.OPEN)[0]
        assert entry.actor == "alice" and entry.user_id == alice.id and entry.after["post_id"] == posts[0].id

        # A case that moved on is left alone by the undo; the others are closed with the note "undone".
        tracking.transition(session, cases[posts[2].id], S.EVIDENCE_CAPTURED, actor="evidence")
        review.undo_last(session, alice)
        for c in cases.values():
            session.refresh(c)
        assert [cases[p.id].state for p in posts[:3]] == ["closed", "closed", "evidence_captured"]
        last = _entries(session, cases[posts[0].id].id)[-1]
        assert (last.before["state"], last.after["state"], last.after["note"]) == ("confirmed", "closed", "undone")
        assert last.actor == "alice"

        # Confirmed again: the closed case is reopened (not a revival: reopened_count stays 0), no duplicate.
        review.decide(session, alice, [(posts[0].id, "queued")], "confirm")
        session.refresh(cases[posts[0].id])
        assert cases[posts[0].id].state == S.REOPENED and cases[posts[0].id].reopened_count == 0
        assert session.execute(select(func.count()).select_from(Case)).scalar_one() == 3


def test_changing_a_confirmation_to_a_rejection_closes_the_untouched_case(engine):
    with Session(engine) as session:
        alice = _reviewer(session)
        p = post(session, "p1", state=ReviewState.QUEUED)
        review.decide(session, alice, [(p.id, "queued")], "confirm")
        review.decide(session, alice, [(p.id, "confirmed")], "reject")
        case = tracking.case_for_post(session, p.id)
        session.refresh(case)
        assert case.state == S.CLOSED
        assert _entries(session, case.id)[-1].after["note"] == "review decision changed to rejected"
        review.undo_last(session, alice)  # back to confirmed: the case comes back
        session.refresh(case)
        assert case.state == S.REOPENED
