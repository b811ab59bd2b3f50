"""`takedown posts add`: a WeChat Channels link found by hand becomes a scored, queued post (once, however often
it is added), a bad link or platform is refused naming the field, and the post goes the whole way to a filed
complaint through the weixin_channels channel's template."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from takedown.complaints.batches import build_batches, file_batch
from takedown.db import session_scope
from takedown.evidence import evidence_root, record_capture
from takedown.models import AuditLog, Case, CaseState, Complaint, Post, ReviewState, Score, User
from takedown.review import decide
from tests.takedown.complaints_seed import settings_for, tiny_png

LINK = "https://channels.weixin.qq.com/web/pages/feed?eid=export%2FUzFfAgtgekIEAQAAAAAA#comments"
TITLE = "负债上岸，教你一招停息挂账"
DESC = "专业办理停息挂账、征信修复，协商还款一对一指导，加薇 cz573982a，2000元包上岸"




def test_a_hand_added_link_is_stored_scored_queued_once(engine, cli):
    added = cli("posts", "add", LINK, "--platform", "weixin_channels", "--title", TITLE, "--desc", DESC,
                "--author", "债务规划师小王")
    assert added.exit_code == 0, added.output
    row = json.loads(added.stdout.strip().splitlines()[-1])
    assert row["platform"] == "weixin_channels" and row["new"] is True and row["review_state"] == "queued"
    assert row["url"] == LINK.split("#")[0], "stored without its fragment"
    assert row["score"] > 0.5, "the text is a textbook promotion"
    with Session(engine) as session:
        post = session.get(Post, row["post"])
        assert (post.title, post.text, post.platform_post_id) == (TITLE, DESC, row["platform_post_id"])
        score = session.execute(select(Score).where(Score.post_id == post.id)).scalars().first()
        assert score is not None and score.reasons, "scored with reasons, like a crawled post"
        [entry] = session.execute(select(AuditLog).where(AuditLog.action == "post.add_by_hand")).scalars().all()
        assert entry.entity_id == str(post.id) and entry.after["url"] == post.url

    other = "https://channels.weixin.qq.com/web/pages/feed?eid=export%2FOTHER"
    again = cli("posts", "add", other, "--title", TITLE, "--desc", DESC + "，私信了解", "--author", "上岸老师")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout.strip().splitlines()[-1])["new"] is True, "another link: another post"
    same = cli("posts", "add", LINK.split("#")[0], "--title", TITLE, "--desc", DESC, "--author", "债务规划师小王")
    assert same.exit_code == 0, same.output
    same_row = json.loads(same.stdout.strip().splitlines()[-1])
    assert same_row["post"] == row["post"] and same_row["new"] is False
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(Post)).scalar_one() == 2


@pytest.mark.parametrize(("args", "message"), [
    (["not a link"], "field url"),
    (["ftp://channels.weixin.qq.com/x"], "not an http(s) link"),
    (["https:///feed"], "no host name"),
    (["", "--title", "x"], "field url: empty"),
    (["https://channels.weixin.qq.com/x", "--platform", "wechat"], "unknown platform 'wechat'"),
])
def test_a_bad_link_or_platform_is_refused_clearly_and_nothing_is_stored(engine, cli, args, message):
    refused = cli("posts", "add", *args)
    assert refused.exit_code == 2 and message in refused.output, refused.output
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(Post)).scalar_one() == 0


def test_a_lead_confirms_and_files_it_through_the_weixin_channels_channel(engine, cli, tmp_path: Path):
    added = cli("posts", "add", LINK, "--title", TITLE, "--desc", DESC, "--author", "债务规划师小王")
    post_id = json.loads(added.stdout.strip().splitlines()[-1])["post"]
    settings = settings_for(tmp_path, engine.url.render_as_string(hide_password=False))
    with session_scope(engine) as session:
        lead = User(username="lead", password_hash="x", role="lead")
        session.add(lead)
        session.flush()
        assert decide(session, lead, [(post_id, ReviewState.QUEUED)], "confirm").applied
        post = session.get(Post, post_id)
        # Evidence as a person saved it (no crawler can open the link): the store hashes it like a capture.
        record_capture(session, post, post.url, tiny_png(post.url), f"<html><p>{DESC}</p></html>".encode(),
                       root=evidence_root(settings))
        case = session.execute(select(Case).where(Case.post_id == post_id)).scalar_one()
        assert (case.channel, case.state) == ("weixin_channels", CaseState.EVIDENCE_CAPTURED)
        [batch] = build_batches(session, [case.id], user=lead, settings=settings)
        assert (batch.channel, batch.method) == ("weixin_channels", "export")
        batch_id, case_id = batch.id, case.id
    report = file_batch(engine, batch_id, settings=settings, export_pdf=False)
    assert len(report.submitted) == 1
    with Session(engine) as session:
        complaint = session.execute(select(Complaint).where(Complaint.case_id == case_id)).scalar_one()
        assert complaint.channel == "weixin_channels" and complaint.state == "submitted"
        assert "微信视频号" in complaint.body and LINK.split("#")[0] in complaint.body
        assert "停息挂账" in complaint.body
        assert session.get(Case, case_id).state == CaseState.FILED
    assert (Path(report.export_path) / "letters").is_dir()
