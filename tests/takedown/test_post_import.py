"""`takedown posts import`: posts from a file stored and scored like crawled ones, once however often imported; a
bad line is reported by number and field and the rest are imported."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import Session

from takedown import post_import
from takedown.models import Author, Contact, Post, PostContact, ReviewState, Score, Sighting
from takedown.post_import import import_posts

PLATFORMS = {"bilibili", "douyin", "weixin_channels"}
PROMO = "专业办理停息挂账、征信修复，协商还款一对一指导，加薇 cz573982a，2000元包上岸"
NEUTRAL = "今天去公园散步，天气很好，拍了几张照片"


def _line(**fields) -> str:
    return json.dumps(fields, ensure_ascii=False)


GOOD = [
    _line(platform="douyin", url="https://www.douyin.com/video/7301", platform_post_id="7301", title="负债上岸",
          desc=PROMO, hashtags=["停息挂账"], comments=["怎么联系"], published_at="2026-11-01T08:00:00+08:00",
          metrics={"like": 12}, author_id="dy_1", author_name="上岸老师", author_bio="专业债务规划", note="vendor"),
    _line(platform="bilibili", url="https://www.bilibili.com/video/BV1xx#reply", title="散步", desc=NEUTRAL,
          published_at=1793462400, author_name="路人"),
]
BAD = [
    ("{not json", "json"),
    (_line(platform="tiktok", url="https://www.tiktok.com/@a/video/1"), "platform"),
    (_line(platform="douyin", url="www.douyin.com/video/1"), "url"),
    (_line(platform="douyin", url="https://www.douyin.com/video/2", hashtags="停息挂账"), "hashtags"),
    (_line(platform="douyin", url="https://www.douyin.com/video/3", metrics={"like": -1}), "metrics"),
    (_line(platform="douyin", url="https://www.douyin.com/video/4", published_at="2026-11-01 08:00"),
     "published_at"),
    (_line(platform="douyin", url="https://www.douyin.com/video/5", title=7), "title"),
    ("[1, 2]", "json"),
]


def _file(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "posts.jsonl"
    path.write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    return path


def _count(engine, model) -> int:
    with Session(engine) as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def test_good_lines_are_stored_and_scored_and_bad_ones_reported_by_line_and_field(engine, tmp_path):
    lines = [GOOD[0], *[b for b, _ in BAD], GOOD[1]]
    summary = import_posts(engine, _file(tmp_path, lines), threshold=0.5, platforms=PLATFORMS)
    assert summary.as_dict() == {"lines": 10, "imported": 2, "new": 2, "updated": 0, "scored": 2, "candidates": 1,
                                 "errors": 8}
    assert [(e["line"], e["field"]) for e in summary.errors] == [(n + 2, f) for n, (_, f) in enumerate(BAD)]
    assert "tiktok" in summary.errors[1]["error"] and "douyin" in summary.errors[1]["error"]
    with Session(engine) as s:
        promo = s.execute(select(Post).where(Post.platform_post_id == "7301")).scalar_one()
        assert promo.review_state == ReviewState.QUEUED and promo.score >= 0.5
        assert promo.published_at.replace(tzinfo=UTC) == datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
        assert (promo.hashtags, promo.comments, promo.metrics) == (["停息挂账"], ["怎么联系"], {"like": 12})
        assert promo.raw == {"source": "import", "note": "vendor"}
        author = s.get(Author, promo.author_id)
        assert (author.platform_author_id, author.nickname, author.bio) == ("dy_1", "上岸老师", "专业债务规划")
        contacts = s.execute(select(Contact.value).join(PostContact, PostContact.contact_id == Contact.id)
                             .where(PostContact.post_id == promo.id)).scalars().all()
        assert contacts == ["cz573982a"]
        walk = s.execute(select(Post).where(Post.platform == "bilibili")).scalar_one()
        assert walk.url == "https://www.bilibili.com/video/BV1xx"  # (without its #fragment)
        assert walk.platform_post_id.startswith("url-") and walk.review_state == ReviewState.NEW
        assert s.get(Author, walk.author_id).platform_author_id == "路人"
    assert _count(engine, Sighting) == 0  # an import is not a search


def test_importing_again_updates_rather_than_duplicates_and_rescores_only_changes(engine, tmp_path):
    path = _file(tmp_path, GOOD)
    import_posts(engine, path, threshold=0.5, platforms=PLATFORMS)
    again = import_posts(engine, path, threshold=0.5, platforms=PLATFORMS)
    assert again.as_dict() == {"lines": 2, "imported": 2, "new": 0, "updated": 2, "scored": 0,
                                    "candidates": 0, "errors": 0}
    changed = json.loads(GOOD[1]) | {"desc": NEUTRAL + "。想停息挂账的加V：helper_9988"}
    third = import_posts(engine, _file(tmp_path, [GOOD[0], json.dumps(changed, ensure_ascii=False)]),
                         threshold=0.5, platforms=PLATFORMS)
    assert (third.stats.new, third.stats.scored) == (0, 1)
    assert _count(engine, Post) == 2 and _count(engine, Score) == 3


def test_a_file_larger_than_a_group_is_imported_group_by_group(engine, tmp_path, monkeypatch):
    monkeypatch.setattr(post_import, "GROUP", 3)
    lines = [_line(platform="douyin", url=f"https://www.douyin.com/video/{i}", platform_post_id=str(i),
                   desc=PROMO if i % 2 else NEUTRAL, author_id=f"a{i % 4}") for i in range(11)]
    summary = import_posts(engine, _file(tmp_path, lines), threshold=0.5, platforms=PLATFORMS)
    assert (summary.stats.new, summary.stats.scored, summary.stats.candidates) == (11, 11, 5)
    assert _count(engine, Post) == 11




def test_the_command_prints_a_summary_names_the_lines_left_out_and_exits_1(engine, cli, tmp_path):
    result = cli("posts", "import", str(_file(tmp_path, [GOOD[0], BAD[2][0]])))
    assert result.exit_code == 1, result.output
    assert "line 2, field url" in result.stderr and "left out" in result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["imported"] == 1
    clean = cli("posts", "import", str(_file(tmp_path, GOOD)))
    assert clean.exit_code == 0, clean.output
    assert json.loads(clean.stdout.strip().splitlines()[-1])["new"] == 1
    assert _count(engine, Post) == 2
