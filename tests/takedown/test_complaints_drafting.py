"""Complaint channels, templates and drafting: every channel's letter carries its post's facts; letters in a batch
of near-identical posts share nothing but the letterhead; drafting is idempotent; edits are audited."""

from __future__ import annotations

import itertools
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, select
from sqlmodel import Session

from takedown import audit, clock, tracking
from takedown.complaints import drafting
from takedown.complaints.channels import DEFAULT_CHANNELS_PATH, ChannelsError, default_catalog, load_channels
from takedown.complaints.drafting import DraftError, draft_all, draft_for_case, edit_draft, next_filing
from takedown.complaints.letters import LetterError, gather_facts, render_letter
from takedown.db import session_scope
from takedown.models import AuditLog, Case, CaseState, Complaint, Evidence, Post, User
from tests.takedown.complaints_seed import REASONS, PostSpec, seed_cases, settings_for, similar_posts

CHANNEL_IDS = ("douyin", "kuaishou", "bilibili", "xiaohongshu", "weibo", "weixin_channels", "12377")


def grams(text: str) -> frozenset[str]:
    """Character 3-grams as the emulator's template detector computes them."""
    norm = re.sub(r"\s+", " ", text.strip().lower())
    return frozenset(norm[i:i + 3] for i in range(len(norm) - 2))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b)


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


# --- channels.yaml ----------------------------------------------------------------------------------------


def test_every_channel_is_declared_with_methods_pace_and_citations():
    catalog = default_catalog()
    assert tuple(catalog.channels) == CHANNEL_IDS
    for ch in catalog.channels.values():
        assert ch.default_method in ch.methods
        assert ch.pace_seconds >= 30 and ch.max_per_hour
        assert ch.email_address and ch.email_verified is False  # the real addresses are unverified
        assert ch.notices and ch.attachments and ch.sla_hint
    cited = {n.id for n in catalog.channels["douyin"].notices}
    assert {"nfra_2024_05_11", "five_departments_2026_02_06", "cba_2024_identification"} <= cited
    assert catalog.for_platform("weixin").id == "weixin_channels"
    assert catalog.for_platform("unknown-platform").id == "12377"


@pytest.mark.parametrize(("old", "new", "expect"), [
    ("    default_method: portal\n    email: {address: feedback@douyin.com",
     "    default_method: fax\n    email: {address: feedback@douyin.com", "channel 'douyin': key 'default_method'"),
    ("    pace: {seconds: 30, max_per_hour: 60}\n    sla: {working_days: 3",
     "    pace: {seconds: -1, max_per_hour: 60}\n    sla: {working_days: 3", "channel 'bilibili': key 'pace.seconds'"),
    ("      notices: [nfra_2024_05_11, five_departments_2026_02_06, nifa_2024_05_10]\n      rules:\n        - {title: 《微博",
     "      notices: [nfra_2099]\n      rules:\n        - {title: 《微博", "channel 'weibo': key 'cite.notices'"),
    ("    methods: [export, portal, email]\n    default_method: export\n    email: {address: jubao@xiaohongshu.com",
     "    methods: [export, portal, email]\n    default_method: export\n    email: {address: nobody",
     "channel 'xiaohongshu': key 'email.address'"),
])
def test_a_bad_channels_file_names_the_channel_and_the_key(tmp_path: Path, old: str, new: str, expect: str):
    text = DEFAULT_CHANNELS_PATH.read_text(encoding="utf-8")
    assert old in text
    bad = tmp_path / "channels.yaml"
    bad.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ChannelsError, match=re.escape(expect)):
        load_channels(bad)


# --- letters ----------------------------------------------------------------------------------------------


def test_every_channel_renders_a_letter_with_the_posts_facts(engine, tmp_path: Path):
    settings = settings_for(tmp_path, engine.url.render_as_string(hide_password=False))
    spec = PostSpec(platform="douyin", post_id="7301234567890123456",
                    url="https://www.douyin.com/video/7301234567890123456",
                    author_contacts=[("phone", "13800138000")], keywords=[("停息挂账", 4), ("征信修复", 9)])
    [case_id] = seed_cases(engine, settings, [spec])
    with session_scope(engine) as session:
        case = session.get(Case, case_id)
        evidence = session.execute(select(Evidence).where(Evidence.post_id == case.post_id)).scalar_one()
        for channel in CHANNEL_IDS:
            c = draft_for_case(session, case, channel=channel, settings=settings)
            body = c.body
            assert c.channel == channel and c.state == "draft" and c.client_ref == f"TD-{c.id}-1"
            assert spec.url in body and spec.post_id in body and spec.post_id in c.subject
            assert "债务规划师小王" in body and spec.author_id in body
            for reason in REASONS:
                if reason["weight"] > 0:
                    assert f"“{reason['text']}”" in body, (channel, reason["text"])
                    assert reason["explanation"] in body
                else:  # a reason that speaks for the post is never quoted against it
                    assert reason["text"] not in body and reason["explanation"] not in body
            assert "13800138000" in body and "cz573982a" in body  # contacts from the post and the author's page
            assert "停息挂账" in body and "征信修复" in body and "第4位" in body
            assert "2024年5月11日" in body and "2026年2月6日" in body  # NFRA notice, five-department notice
            for f in evidence.files:
                assert f["sha256"] in body
            assert "2026-10-20 03:30:00 UTC" in body and "北京时间2026-10-20 11:30:00" in body
            assert settings.rights_holder.company_name in body
            assert settings.rights_holder.unified_social_credit_code in body
            assert settings.rights_holder.authorisation_ref in body
            assert "授权委托书" in body and f"screenshot-{c.client_ref}.png" in body
            assert "演示用虚构" in body  # the demo rights holder says it is fictional
        national = session.execute(select(Complaint).where(Complaint.channel == "12377")).scalar_one()
        assert "违法和不良信息举报中心" in national.body and national.subject.startswith("举报")


def test_letters_of_near_identical_posts_share_only_the_letterhead(engine, tmp_path: Path):
    """30 posts with the same title, text and reasons: the letters' variable parts share no paragraph, and no two
    whole bodies come near the emulator's template threshold (3-gram Jaccard > 0.9)."""
    settings = settings_for(tmp_path, engine.url.render_as_string(hide_password=False))
    ids = seed_cases(engine, settings, similar_posts(30))
    with session_scope(engine) as session:
        catalog = default_catalog()
        bodies, variable = [], []
        for case_id in ids:
            case = session.get(Case, case_id)
            c = draft_for_case(session, case, settings=settings)
            bodies.append(c.body)
            letter = render_letter(gather_facts(session, case, channel=catalog["douyin"], attempt=1,
                                                client_ref=c.client_ref, settings=settings, catalog=catalog))
            assert letter.body == c.body  # the head/content/foot split is the stored body
            assert letter.head and letter.foot and letter.content not in (letter.head, letter.foot)
            variable.append(set(paragraphs(letter.content)))
    assert len(set(bodies)) == 30
    for i, j in itertools.combinations(range(30), 2):
        shared = variable[i] & variable[j]
        assert not shared, f"letters {i} and {j} share a paragraph: {next(iter(shared))[:80]}"
    worst = max(jaccard(grams(a), grams(b)) for a, b in itertools.combinations(bodies, 2))
    assert worst < 0.9, worst


def test_structure_follows_the_posts_own_facts(engine, tmp_path: Path):
    settings = settings_for(tmp_path, engine.url.render_as_string(hide_password=False))
    one = PostSpec(platform="bilibili", post_id="BV1xx411c7mD", url="https://www.bilibili.com/video/BV1xx411c7mD",
                   reasons=[dict(REASONS[0])], contacts=[], keywords=[], author_id="b1", nickname="理财小课堂")
    many = PostSpec(platform="bilibili", post_id="BV1yy411c7mE", url="https://www.bilibili.com/video/BV1yy411c7mE",
                    author_id="b2", nickname="上岸老张")
    ids = seed_cases(engine, settings, [one, many])
    with session_scope(engine) as session:
        a, b = (draft_for_case(session, session.get(Case, i), settings=settings).body for i in ids)
    assert "写有“停息挂账”" in a and "逐项列明" not in a and "联系方式" not in a and "搜索“" not in a
    assert "共有四处违规表述，分属三类" in b and "微信号“cz573982a”" in b and "搜索“停息挂账”" in b


def test_drafting_is_idempotent_and_moves_the_case(engine, tmp_path: Path):
    settings = settings_for(tmp_path, engine.url.render_as_string(hide_password=False))
    ids = seed_cases(engine, settings, similar_posts(3))
    with session_scope(engine) as session:
        case = session.get(Case, ids[0])
        assert case.state == CaseState.EVIDENCE_CAPTURED
        first = draft_for_case(session, case, settings=settings)
        again = draft_for_case(session, case, settings=settings)
        assert again.id == first.id
        assert case.state == CaseState.DRAFTED and case.drafted_at is not None
        errors: list = []
        drafted = draft_all(session, [*ids, 999_999], settings=settings, errors=errors)
        assert [c.case_id for c in drafted] == ids and drafted[0].id == first.id
        assert errors == [(999_999, "case 999999: no such case")]
        count = session.execute(select(Complaint)).scalars().all()
        assert len(count) == 3
        assert [e.action for e in audit.history(session, "complaint", first.id)] == ["complaint.draft"]


def test_a_case_without_evidence_or_finished_gets_no_complaint(engine, tmp_path: Path):
    settings = settings_for(tmp_path, engine.url.render_as_string(hide_password=False))
    ids = seed_cases(engine, settings, similar_posts(2))
    with session_scope(engine) as session:
        case = session.get(Case, ids[0])
        session.execute(Evidence.__table__.delete().where(Evidence.post_id == case.post_id))
        with pytest.raises(Exception, match=f"case {case.id}: post {case.post_id} has no captured evidence"):
            draft_for_case(session, case, settings=settings)
        assert session.execute(select(Complaint)).first() is None  # nothing half-stored
        other = session.get(Case, ids[1])
        other.state = CaseState.CLOSED
        with pytest.raises(DraftError, match="finished case"):
            draft_for_case(session, other, settings=settings)


def test_edit_draft_is_audited_and_refused_once_sent(engine, tmp_path: Path):
    settings = settings_for(tmp_path, engine.url.render_as_string(hide_password=False))
    [case_id] = seed_cases(engine, settings, similar_posts(1))
    with session_scope(engine) as session:
        lead = User(username="lead1", role="lead")
        session.add(lead)
        session.flush()
        c = draft_for_case(session, session.get(Case, case_id), settings=settings)
        original = c.body
        edit_draft(session, c, original + "\n\n补充说明：该账号昨日再次发布同类内容。", user=lead)
        assert c.edited and c.body.endswith("同类内容。")
        entry = audit.history(session, "complaint", c.id)[0]
        assert entry.action == "complaint.edit" and entry.actor == "lead1" and entry.user_id == lead.id
        assert entry.before["body"] == original and entry.after["body"] == c.body
        with pytest.raises(DraftError, match="body"):
            edit_draft(session, c, "   ", user=lead)
        c.state = "submitted"
        with pytest.raises(DraftError, match="only a draft or queued"):
            edit_draft(session, c, "x", user=lead)


def test_scraped_text_cannot_break_the_letter(engine, tmp_path: Path):
    settings = settings_for(tmp_path, engine.url.render_as_string(hide_password=False))
    spec = PostSpec(platform="douyin", post_id="7309999999999999999",
                    url="https://www.douyin.com/video/7309999999999999999",
                    title="<script>alert(1)</script>\x1e\x07停息挂账", nickname="<b>坏人</b>")
    [case_id] = seed_cases(engine, settings, [spec])
    with session_scope(engine) as session:
        c = draft_for_case(session, session.get(Case, case_id), settings=settings)
        post = session.get(Post, session.get(Case, case_id).post_id)
        assert "\x1e" not in c.body and "\x07" not in c.body and "\x1e" in post.title
        from takedown.complaints.letters import letter_html

        html = letter_html(c.subject, c.body)
        assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "&lt;b&gt;坏人&lt;/b&gt;" in html


def test_escalation_and_revival_draft_the_next_filing(engine, tmp_path: Path):
    from takedown import tracking
    from takedown.complaints.batches import build_batches
    from takedown.complaints.drafting import next_filing

    settings = settings_for(tmp_path, engine.url.render_as_string(hide_password=False))
    [case_id] = seed_cases(engine, settings, similar_posts(1))
    with session_scope(engine) as session:
        case = session.get(Case, case_id)
        first = draft_for_case(session, case, settings=settings)
        tracking.transition(session, case, CaseState.FILED, actor="test")
        first.state, first.external_ref = "submitted", "DY-1"
        refile = tracking.escalate(session, case, actor="test")  # tracking drafts through draft_for_case
        second = session.get(Complaint, refile.complaint_id)
        assert (second.channel, second.attempt, case.state) == ("douyin", 2, CaseState.DRAFTED)
        assert "此前已就作品" in second.body and "DY-1" in second.body
        tracking.transition(session, case, CaseState.FILED, actor="test")
        second.state = "submitted"
        national = session.get(Complaint, tracking.escalate(session, case, actor="test").complaint_id)
        assert (national.channel, national.attempt) == ("12377", 3)
        assert "违法和不良信息举报中心" in national.body and "提交两次投诉" in national.body
        tracking.transition(session, case, CaseState.FILED, actor="test")
        national.state = "submitted"
        tracking.transition(session, case, CaseState.REMOVED, actor="test")
        tracking.transition(session, case, CaseState.REOPENED, actor="test")
        assert next_filing(session, case) == ("12377", 4)
        [batch] = build_batches(session, [case_id], user=None, method="export", settings=settings)
        again = session.execute(select(Complaint).where(Complaint.batch_id == batch.id)).scalar_one()
        assert again.attempt == 4 and again.state == "queued" and case.state == CaseState.DRAFTED


# --- many cases at once -------------------------------------------------------------------------------------

FIXED_NOW = datetime(2026, 11, 3, 4, 5, 6, tzinfo=UTC)


def _outcome(session, complaints_before: int, audit_before: int, errors) -> str:
    """What a drafting run left in the session (complaints, cases, audit entries per record, errors) as text, with
    each complaint id replaced by its (case, channel, attempt): ids from a sequence differ between runs."""
    rows = session.execute(select(Complaint).where(Complaint.id > complaints_before)).scalars().all()
    key = {c.id: f"{c.case_id}/{c.channel}/{c.attempt}" for c in rows}
    complaints = sorted((key[c.id], c.method, c.state, c.subject, c.body, c.client_ref, c.batch_id) for c in rows)
    cases = {c.id: tracking.snapshot(c) for c in session.execute(select(Case)).scalars()}
    entries = [(e.entity_type, key.get(int(e.entity_id), e.entity_id) if e.entity_type == "complaint" else e.entity_id,
                e.action, e.actor, e.user_id, e.at, e.before, e.after)
               for e in session.execute(select(AuditLog).where(AuditLog.id > audit_before).order_by(AuditLog.id))
               .scalars()]
    text = json.dumps([complaints, cases, entries, errors], ensure_ascii=False, sort_keys=True, default=str)
    text = re.sub(r"TD-(\d+)-", lambda m: f"TD-{key.get(int(m.group(1)), m.group(1))}-", text)
    return re.sub(r"complaint (\d+) ", lambda m: f"complaint {key.get(int(m.group(1)), m.group(1))} ", text)


def _marks(session) -> tuple[int, int]:
    return (session.execute(select(func.max(Complaint.id))).scalar() or 0,
            session.execute(select(func.max(AuditLog.id))).scalar() or 0)


def test_drafting_many_at_once_is_drafting_each_in_turn(engine, tmp_path: Path, monkeypatch):
    """draft_all (facts loaded together, rows and audit entries written in bulk) leaves exactly what drafting the
    cases one by one leaves: the same letters, states, audit entries (in the same order) and refusals."""
    monkeypatch.setattr(clock, "now", lambda settings=None: FIXED_NOW)
    settings = settings_for(tmp_path, engine.url.render_as_string(hide_password=False))
    specs = [*similar_posts(5), PostSpec(platform="bilibili", post_id="BV1", url="https://www.bilibili.com/video/BV1",
                                         reasons=[dict(REASONS[0])], contacts=[], keywords=[], author_id="b1"),
             PostSpec(platform="somewhere", post_id="sw-1", url="https://somewhere.example/sw-1",
                      author_contacts=[("qq", "12345678")])]
    ids = seed_cases(engine, settings, specs)
    with session_scope(engine) as session:
        session.execute(Evidence.__table__.delete().where(Evidence.post_id == session.get(Case, ids[2]).post_id))
        session.get(Case, ids[3]).state = CaseState.CLOSED
        # Case 4: filed, escalated, its re-filing not drafted yet (its letter cites the first filing).
        first = draft_for_case(session, session.get(Case, ids[4]), settings=settings)
        tracking.transition(session, session.get(Case, ids[4]), CaseState.FILED, actor="test")
        first.state, first.external_ref = "submitted", "DY-1"
        refile = tracking.escalate(session, session.get(Case, ids[4]), actor="test")
        session.execute(Complaint.__table__.delete().where(Complaint.id == refile.complaint_id))
        session.get(Case, ids[4]).state = CaseState.ESCALATED
    asked = [*ids, ids[0], 999_999]

    outcomes = []
    for bulk in (False, True):
        with Session(engine) as session:
            before = _marks(session)
            errors: list = []
            if bulk:
                drafted = draft_all(session, asked, settings=settings, errors=errors)
            else:
                drafted = []
                for case_id in dict.fromkeys(asked):
                    case = session.get(Case, case_id)
                    if case is None:
                        errors.append((case_id, f"case {case_id}: no such case"))
                        continue
                    channel, attempt = next_filing(session, case)
                    try:
                        drafted.append(draft_for_case(session, case, channel=channel, attempt=attempt,
                                                      settings=settings))
                    except (DraftError, LetterError) as exc:
                        errors.append((case_id, str(exc)))
            outcomes.append((_outcome(session, *before, errors), [(c.case_id, c.attempt) for c in drafted]))
            session.rollback()
    assert outcomes[0] == outcomes[1]
    assert [e[0] for e in json.loads(outcomes[0][0])[3]] == [ids[2], ids[3], 999_999]


def _count_statements(engine):
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    return seen, lambda: event.remove(engine, "before_cursor_execute", count)


def test_drafting_many_runs_the_same_statements_for_3_cases_or_12(engine, tmp_path: Path):
    settings = settings_for(tmp_path, engine.url.render_as_string(hide_password=False))
    ids = seed_cases(engine, settings, similar_posts(15))
    counts = []
    for chunk in (ids[:3], ids[3:]):
        with session_scope(engine) as session:
            seen, stop = _count_statements(engine)
            try:
                assert len(draft_all(session, chunk, settings=settings)) == len(chunk)
            finally:
                stop()
            counts.append(len(seen))
    assert counts[0] == counts[1], counts


def test_a_filing_drafted_meanwhile_by_another_process_is_theirs(engine, tmp_path: Path, monkeypatch):
    """The unique constraint decides a race: a complaint another process inserted between our check and our
    insert is the case's complaint; ours is not stored, not audited, and the others are drafted."""
    settings = settings_for(tmp_path, engine.url.render_as_string(hide_password=False))
    ids = seed_cases(engine, settings, similar_posts(3))
    real = drafting.load_facts

    def racing(session, items, **kwargs):
        found = real(session, items, **kwargs)
        session.execute(Complaint.__table__.insert().values(
            case_id=ids[1], channel="douyin", method="portal", attempt=1, state="draft", subject="theirs",
            body="theirs", edited=False, client_ref="TD-theirs", created_at=FIXED_NOW, external_ref="",
            response=""))
        return found

    monkeypatch.setattr(drafting, "load_facts", racing)
    with session_scope(engine) as session:
        drafted = draft_all(session, ids, settings=settings)
        assert [c.case_id for c in drafted] == ids and drafted[1].subject == "theirs"
        assert session.get(Case, ids[1]).state == CaseState.EVIDENCE_CAPTURED
        assert [e.action for e in audit.history(session, "complaint", drafted[1].id)] == []
        assert session.get(Case, ids[0]).state == session.get(Case, ids[2]).state == CaseState.DRAFTED
        assert len(session.execute(select(Complaint)).scalars().all()) == 3


def test_a_letter_that_fails_stores_nothing_for_its_case_only(engine, tmp_path: Path, monkeypatch):
    settings = settings_for(tmp_path, engine.url.render_as_string(hide_password=False))
    *ids, more_a, more_b = seed_cases(engine, settings, [*similar_posts(3),
                                                          *similar_posts(2, platform="kuaishou",
                                                                         base="https://www.kuaishou.com")])
    more = [more_a, more_b]
    real = drafting.render_letter

    def failing(facts, error=LetterError):
        if facts["case_id"] == ids[1]:
            raise error(f"case {ids[1]}: cannot render")
        return real(facts)

    monkeypatch.setattr(drafting, "render_letter", failing)
    with session_scope(engine) as session:
        errors: list = []
        drafted = draft_all(session, ids, settings=settings, errors=errors)
        assert [c.case_id for c in drafted] == [ids[0], ids[2]] and errors == [(ids[1], f"case {ids[1]}: cannot render")]
        assert session.execute(select(Complaint.case_id).order_by(Complaint.id)).scalars().all() == [ids[0], ids[2]]
        assert session.get(Case, ids[1]).state == CaseState.EVIDENCE_CAPTURED
    # Anything else is a bug: it propagates, and the rows of the cases drafted with it are not left behind.
    monkeypatch.setattr(drafting, "render_letter", lambda facts: failing(facts, RuntimeError))
    with session_scope(engine) as session:
        with pytest.raises(RuntimeError):
            draft_all(session, [*more, ids[1]], settings=settings)
        assert session.execute(select(Complaint.case_id)).scalars().all() == [ids[0], ids[2]]


def test_moving_many_cases_at_once_is_moving_each(engine):
    """tracking.transition_many (used for drafting in bulk) changes, stamps and audits each case exactly as
    tracking.transition does, for every move the state machine allows; one refused move moves none."""
    from tests.takedown.case_helpers import T0, author, post

    with session_scope(engine) as session:
        by = author(session)
        pairs = [(s, t) for s, targets in tracking.TRANSITIONS.items() for t in sorted(targets)]
        for n, (state, target) in enumerate(pairs):
            one, many = (tracking.open_case(session, post(session, f"p{n}-{k}", by=by), actor="test", at=T0)
                         for k in "ab")
            for case in (one, many):
                case.state, case.filed_at, case.removed_at = state, T0, T0 + timedelta(hours=5)
                case.escalation_level = n % 3
            at = T0 + timedelta(days=1)
            tracking.transition(session, one, target, actor="test", at=at, note="why")
            tracking.transition_many(session, [(many, target, "why")], actor="test", at=at)
            assert tracking.snapshot(one) == tracking.snapshot(many), (state, target)
            a, b = (audit.history(session, "case", c.id)[0] for c in (one, many))
            assert (a.action, a.before, a.after) == (b.action, b.before, b.after)
        left = tracking.open_case(session, post(session, "left", by=by), actor="test", at=T0)
        right = tracking.open_case(session, post(session, "right", by=by), actor="test", at=T0)
        with pytest.raises(tracking.IllegalTransition, match=f"case {right.id}"):
            tracking.transition_many(session, [(left, CaseState.EVIDENCE_CAPTURED, ""),
                                               (right, CaseState.FILED, "")], actor="test")
        assert left.state == right.state == CaseState.CONFIRMED
