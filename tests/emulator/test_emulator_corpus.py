"""The synthetic corpus: deterministic, lazily sized, realistic mix, and honest keyword search."""

from __future__ import annotations

import collections

import pytest

from emulator import texts
from emulator.corpus import Corpus
from emulator.douyin_token import ALPHABET


def _text(corpus: Corpus, platform: str, index: int, woven: str | None = None) -> str:
    post = corpus.post(platform, index)
    return "\n".join([post.title, post.text, *corpus.tags_for(post, woven)])


def test_same_seed_same_posts_different_seed_different():
    a, b, c = Corpus(7, 2000), Corpus(7, 2000), Corpus(8, 2000)
    for i in (0, 1, 17, 1999):
        pa, pb = a.post("bilibili", i), b.post("bilibili", i)
        assert (pa.post_id, pa.title, pa.text, pa.tags, pa.author.nickname) == (
            pb.post_id, pb.title, pb.text, pb.tags, pb.author.nickname)
    assert [a.post("douyin", i).post_id for i in range(20)] == [b.post("douyin", i).post_id for i in range(20)]
    assert a.search("bilibili", "债务优化").window(0, 40) == b.search("bilibili", "债务优化").window(0, 40)
    assert [a.post("bilibili", i).post_id for i in range(20)] != [c.post("bilibili", i).post_id for i in range(20)]
    assert [a.post("bilibili", i).title for i in range(50)] != [c.post("bilibili", i).title for i in range(50)]


def test_a_million_posts_build_lazily_and_serve_deep_results():
    corpus = Corpus(7, 1_000_000)
    hits = corpus.search("bilibili", "停息挂账")
    assert len(hits) == 1000
    last = hits.window(980, 1000)
    assert len(last) == 20 and all(0 <= i < 1_000_000 for i in last)
    assert any(i > 100_000 for i in hits.window(0, 1000))
    assert all("停息挂账" in _text(corpus, "bilibili", i) for i in last)
    # Ids decode back to their index without any table.
    top = corpus.post("douyin", 999_999)
    assert corpus.index_of("douyin", top.post_id) == 999_999


def test_mix_of_categories_and_positive_share():
    corpus = Corpus(7, 3000)
    cats = collections.Counter(corpus.post("bilibili", i).category for i in range(3000))
    assert set(cats) == {c for c, _ in texts.CATEGORY_WEIGHTS}
    share = sum(n for c, n in cats.items() if c.startswith("promo_")) / 3000
    assert 0.27 < share < 0.43
    post = corpus.post("bilibili", 5)
    assert post.label == (1 if post.category.startswith("promo_") else 0)


def test_every_seed_keyword_has_plenty_of_results_that_contain_it():
    corpus = Corpus(7, 2000)
    for kw in texts.SEED_KEYWORDS:
        hits = corpus.search("bilibili", kw)
        assert len(hits) >= 60, kw
        for i in hits.window(0, 40):
            assert kw in _text(corpus, "bilibili", i), (kw, i)
        dy = corpus.search("douyin", kw)
        assert len(dy) >= 60
        assert all(kw in _text(corpus, "douyin", i) for i in dy.window(0, 20))


def test_seed_keywords_reach_the_caps_when_size_allows():
    corpus = Corpus(7, 100_000)
    for kw in texts.SEED_KEYWORDS:
        assert len(corpus.search("bilibili", kw)) == 1000
        assert 150 <= len(corpus.search("douyin", kw)) <= 300


@pytest.mark.parametrize("query", ["债务优化 7", "美团 协商还款", "招联协商", "猫咪", "借呗 减免"])
def test_any_query_gets_results_carrying_it(query):
    corpus = Corpus(7, 2000)
    hits = corpus.search("bilibili", query)
    assert len(hits) >= 20 and hits.woven == query
    for i in hits.window(0, 20):
        assert query in _text(corpus, "bilibili", i, hits.woven)
    assert hits.window(0, 20) == Corpus(7, 2000).search("bilibili", query).window(0, 20)


def test_brand_queries_rank_posts_naming_the_brand_first():
    corpus = Corpus(7, 5000)
    hits = corpus.search("bilibili", "美团 协商还款")
    posts = [corpus.post("bilibili", i) for i in hits.window(0, len(hits))]
    named = ["美团" in p.title + p.text + "".join(p.tags) for p in posts]
    assert sum(named) >= 3 and named == sorted(named, reverse=True)
    assert all("协商还款" in _text(corpus, "bilibili", p.index, hits.woven) for p in posts[:20])


def test_woven_query_is_remembered_for_the_post_page():
    corpus = Corpus(7, 2000)
    i = corpus.search("douyin", "美团 协商还款")[0]
    post = corpus.post("douyin", i)
    assert "美团 协商还款" not in corpus.tags_for(post)
    corpus.remember_weave("douyin", i, "美团 协商还款")
    assert "美团 协商还款" in corpus.tags_for(post)


def test_ids_have_platform_shapes_and_round_trip():
    corpus = Corpus(11, 5000)
    for i in (0, 1, 4999):
        b, d = corpus.post("bilibili", i), corpus.post("douyin", i)
        assert b.post_id.startswith("BV1") and len(b.post_id) == 12
        assert all(c in "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz" for c in b.post_id[3:])
        assert corpus.index_of("bilibili", b.post_id) == i
        assert corpus.index_of("bilibili", str(b.aid)) == i
        assert len(d.post_id) == 19 and d.post_id.isdigit() and corpus.index_of("douyin", d.post_id) == i
        assert d.author.sec_uid.startswith("MS4wLjABAAAA") and d.author.uid.isdigit()
        assert corpus.author_index("douyin", d.author.sec_uid) == d.author.index
        assert corpus.author_index("bilibili", str(b.author.mid)) == b.author.index
    assert corpus.index_of("bilibili", "BV1OOOOOOOOO") is None  # "O" is not base58
    assert corpus.index_of("douyin", "7000000000000000000") is None
    assert len(ALPHABET) == 64 == len(set(ALPHABET))


def test_authors_post_several_times_and_operators_reuse_contacts():
    corpus = Corpus(7, 2000)
    author = corpus.post("bilibili", 3).author
    mine = corpus.posts_of_author("bilibili", author.index)
    assert len(mine) >= 5
    assert {corpus.post("bilibili", i).author.mid for i in mine} == {author.mid}
    # An operator's posts carry the operator's own contact ids.
    promo = next(corpus.post("bilibili", i) for i in range(2000)
                 if corpus.post("bilibili", i).category == "promo_direct" and corpus.post("bilibili", i).contacts)
    own = {texts.normalise_contact(k, v)["value"] for k, v in promo.author.contacts.items()}
    assert any(c["value"] in own for c in promo.contacts)


def test_evasive_posts_disguise_their_words():
    corpus = Corpus(7, 3000)
    evasive = [corpus.post("douyin", i) for i in range(3000) if corpus.post("douyin", i).category == "promo_evasive"]
    assert len(evasive) > 100
    markers = ("薇", "V", "vx", "❤", "🐧", "崔", "摧", "zx", "征x", "幺", "壹", "①", "yq", "xyk", "wd", " ")
    disguised = sum(any(m in p.title + p.text for m in markers) for p in evasive)
    assert disguised / len(evasive) > 0.8


def test_sorted_orders():
    corpus = Corpus(7, 5000)
    hits = corpus.search("bilibili", "反催收", "pubdate")
    dates = [corpus.metrics("bilibili", i).pubdate for i in hits.window(0, len(hits))]
    assert dates == sorted(dates, reverse=True)
    assert sorted(hits.window(0, len(hits))) == sorted(corpus.search("bilibili", "反催收").window(0, len(hits)))
