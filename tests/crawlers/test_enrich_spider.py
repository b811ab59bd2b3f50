"""The enrichment spider's bookkeeping, without a network: one profile request per author and run, what each
answer turns into, and what is handed over when the run stops."""

from __future__ import annotations

import scrapy

from crawlers.platforms.base import Blocked, CommentsResult, Gone, PlatformError, ProfileResult
from crawlers.spiders.enrich import EnrichedPost, EnrichFailure, EnrichSpider, EnrichTarget, PostGone
from takedown.settings import Settings

EMULATOR = "http://127.0.0.1:9"
SEC_UID = "MS4wLjABAAAAk3x9Qp2mZr7LwN5vT8yB1cD4eF6gH0iJ2kL3mN4oP5q"


def spider(platform: str, targets: list[EnrichTarget]) -> EnrichSpider:
    return EnrichSpider(platform, targets, Settings(emulator_url=EMULATOR).platform_base_urls(platform))


def douyin_target(post_id: int, author: str = "58271649302", sec_uid: str = SEC_UID) -> EnrichTarget:
    return EnrichTarget(post_id, f"74550123456789012{post_id:02d}", {}, author, {"sec_uid": sec_uid} if sec_uid else {})


COMMENTS = CommentsResult(["置顶：加V：shangan_8899", "求带"])


def test_one_profile_request_per_author_answers_every_waiting_post():
    a, b = douyin_target(1), douyin_target(2)
    s = spider("douyin", [a, b])
    [request] = s._profile_step(a, COMMENTS)
    assert isinstance(request, scrapy.Request) and request.url == f"{EMULATOR}/douyin/user/{SEC_UID}"
    assert request.meta["step"] == "profile" and request.priority == 1
    assert s._profile_step(b, CommentsResult(["1"])) == []  # waits for the same answer
    profile = ProfileResult("58271649302", "上岸老师", "合作➕V：shangan_8899")
    items, stop = s._follow(a, "profile", profile)
    assert stop == "" and [(i.target.post_id, i.profile, i.complete) for i in items] == [
        (1, profile, True), (2, profile, True)]
    [again] = s._profile_step(douyin_target(3), COMMENTS)  # known now: no request
    assert isinstance(again, EnrichedPost) and again.profile is profile


def test_a_gone_post_and_a_gone_account():
    target = douyin_target(1)
    s = spider("douyin", [target])
    [gone] = s._follow(target, "comments", Gone("douyin", "the post page shows it is gone", code="gone_page"))[0]
    assert isinstance(gone, PostGone) and gone.error["code"] == "gone_page"
    s._profile_step(target, COMMENTS)
    [item], stop = s._follow(target, "profile", Gone("douyin", "banned", code=2053))
    assert item.author_gone and item.complete and item.profile is None and stop == ""
    [cached] = s._profile_step(douyin_target(2), COMMENTS)
    assert cached.author_gone


def test_a_failed_profile_keeps_the_comments_but_asks_again_next_run():
    target = douyin_target(1)
    s = spider("douyin", [target])
    s._profile_step(target, COMMENTS)
    (failure, item), stop = s._follow(target, "profile", PlatformError("douyin", "系统繁忙", code=2483))
    assert isinstance(failure, EnrichFailure) and failure.step == "profile" and failure.error["code"] == "2483"
    assert item.comments is COMMENTS and not item.complete and stop == ""


def test_risk_control_gives_the_stop_reason():
    target = douyin_target(1)
    s = spider("douyin", [target])
    (failure,), stop = s._follow(target, "comments", Blocked("douyin", "comments needs verification",
                                                             code="verify_check"))
    assert failure.error["kind"] == "blocked" and stop == "blocked: comments needs verification (code verify_check)"


def test_posts_still_waiting_for_a_profile_are_handed_over_unfinished():
    a, b = douyin_target(1), douyin_target(2)
    s = spider("douyin", [a, b])
    s._profile_step(a, COMMENTS)
    s._profile_step(b, COMMENTS)
    items = s.unfinished()
    assert [(i.target.post_id, i.complete) for i in items] == [(1, False), (2, False)]
    assert s.unfinished() == []


def test_what_the_store_lacks_is_a_failure_not_a_crash():
    no_sec_uid = douyin_target(1, sec_uid="")
    s = spider("douyin", [no_sec_uid])
    failure, item = s._profile_step(no_sec_uid, COMMENTS)
    assert failure.error["kind"] == "missing_reference" and "sec_uid" in failure.error["message"]
    assert item.complete, "no later run could fetch that profile either"
    no_aid = EnrichTarget(2, "BV1Px4y1T7Qa", {"bvid": "BV1Px4y1T7Qa"}, "488712306")
    bili = spider("bilibili", [no_aid])
    bili.adapter.img_key, bili.adapter.sub_key = "7cd084941338484aae1ad9425b84077c", "4932caff0ff746eab6f01bf08b70ac45"
    [failure] = bili._step(no_aid, "comments")
    assert isinstance(failure, EnrichFailure) and failure.error["kind"] == "missing_reference"


def test_a_post_without_author_needs_no_profile():
    target = EnrichTarget(1, "BV1Px4y1T7Qa", {"aid": 1})
    [item] = spider("bilibili", [target])._profile_step(target, COMMENTS)
    assert item.complete and item.profile is None
