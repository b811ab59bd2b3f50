"""The emulated platforms' content: a deterministic, lazily generated corpus of posts and authors.

Sizing without memory: nothing is generated up front. A post is a pure function of (seed, platform, index),
built on first use and kept in a bounded LRU cache, so startup is constant time and a search page costs
O(page size) whatever `size` is (100 ... 1,000,000 posts per platform).

How keyword search stays cheap and honest (every result really contains the keyword):
- A fixed table of M residue classes assigns each class 1-4 vocabulary keywords (seed keywords tend to come
  in families, the way promotions list several services). Post i carries the keywords of class i % M, woven
  into its title, text or tags. The posts matching keyword K are therefore {r + M*q : r in classes(K)}, which
  can be enumerated by position j in O(1) without scanning the corpus.
- A query outside the vocabulary (e.g. "债务优化 7", "美团 协商还款") draws a deterministic stream of posts
  (from the pool of the longest vocabulary word it contains, else from the whole corpus) and weaves the query
  into each result's tags. The weave is remembered per process so that a post's own page and detail API show
  the same tag once a search has returned it.
"""

from __future__ import annotations

import math
import random
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from . import texts
from .ids import Ids, h64

PLATFORMS = ("bilibili", "douyin")
RESIDUES = 1000
# Posts are dated before this fixed instant (2026-11-01 00:00 +08:00) so pages are reproducible.
ANCHOR_TS = 1793462400
BILIBILI_MAX_RESULTS = 1000
MAX_WOVEN_POSTS = 100_000


@dataclass(frozen=True, slots=True)
class Author:
    platform: str
    index: int
    category: str
    brand: str
    nickname: str
    bio: str
    contacts: dict[str, str]
    bio_contacts: tuple[dict[str, str], ...]
    ip_label: str
    face: str
    # bilibili
    mid: int = 0
    # douyin
    uid: str = ""
    sec_uid: str = ""
    unique_id: str = ""


@dataclass(frozen=True, slots=True)
class Metrics:
    """Numbers cheap enough to compute for 1,000 posts when a search is sorted by one of them."""

    pubdate: int
    play: int
    like: int
    reply: int
    favorite: int
    coin: int
    share: int
    danmaku: int
    duration: int  # seconds


@dataclass(frozen=True, slots=True)
class Post:
    platform: str
    index: int
    post_id: str  # bvid or aweme_id
    author: Author
    category: str
    label: int
    keywords: tuple[str, ...]
    title: str
    text: str
    tags: tuple[str, ...]
    comments: tuple[str, ...]
    contacts: tuple[dict[str, str], ...]
    metrics: Metrics
    typename: str
    cover_hash: str
    images: int = 0  # douyin image posts: number of images (0 = video)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def aid(self) -> int:
        return int(self.extra.get("aid", 0))


# How a comment string of the corpus says who wrote it: the post's author pinned it ("置顶：…"), or the author
# replied ("作者回复：…"); anything else is by a viewer. The API answers carry this as structure (Bilibili's
# top_replies and reply mid, Douyin's stick_position and label_text), never as text.
_PINNED_PREFIX = re.compile(r"^\s*置顶\s*[：:]\s*")
_AUTHOR_PREFIX = re.compile(r"^\s*(?:作者|up主|UP主|博主)(?:回复)?\s*[：:]\s*")


@dataclass(frozen=True, slots=True)
class Comment:
    """One comment of a post as the platforms' comment APIs serve it."""

    key: int  # position in the post's comment list: ids and commenters derive from it
    text: str
    by_author: bool
    pinned: bool
    reply_to: int | None = None  # key of the comment this one answers (the author's replies nest under it)


def comment_thread(post: Post) -> list[Comment]:
    """The post's comments with who wrote them: pinned and author comments recognised by their prefix (the
    corpus keeps them as text the way a person reads the page), the author's replies nested under the viewer
    comment before them."""
    out: list[Comment] = []
    last_viewer: int | None = None
    for key, raw in enumerate(post.comments):
        pinned = _PINNED_PREFIX.match(raw)
        author = None if pinned else _AUTHOR_PREFIX.match(raw)
        if pinned:
            out.append(Comment(key, raw[pinned.end():].strip(), by_author=True, pinned=True))
        elif author:
            out.append(Comment(key, raw[author.end():].strip(), by_author=True, pinned=False, reply_to=last_viewer))
        else:
            out.append(Comment(key, raw.strip(), by_author=False, pinned=False))
            last_viewer = key
    return [c for c in out if c.text]


class Hits:
    """The ordered result list of one (platform, query): a lazy sequence of corpus indices."""

    def __init__(self, count: int, at, terms: tuple[str, ...], woven: str | None):
        self.count = count
        self._at = at
        self.terms = terms
        self.woven = woven

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, j: int) -> int:
        if not 0 <= j < self.count:
            raise IndexError(j)
        return self._at(j)

    def window(self, start: int, stop: int) -> list[int]:
        return [self._at(j) for j in range(max(0, start), min(stop, self.count))]


def normalise_query(query: str) -> str:
    return " ".join(query.split())


class Corpus:
    def __init__(self, seed: int = 7, size: int = 2000):
        if size < 1:
            raise ValueError("size must be >= 1")
        self.seed = seed
        self.size = size
        self.ids = Ids(seed)
        # Operators post many times: about six posts per author.
        self.n_authors = max(2, size // 6)
        self._classes: dict[str, list[tuple[str, ...]]] = {}
        self._members: dict[str, dict[str, list[int]]] = {}
        for p in PLATFORMS:
            self._build_classes(p)
        self._woven: OrderedDict[tuple[str, int], list[str]] = OrderedDict()
        # Bounded caches: memory stays flat however many posts a benchmark walks through.
        self.post = lru_cache(maxsize=16_000)(self._make_post)
        self.author = lru_cache(maxsize=10_000)(self._make_author)
        self.metrics = lru_cache(maxsize=60_000)(self._make_metrics)
        self._sorted = lru_cache(maxsize=256)(self._sorted_indices)
        self._hits = lru_cache(maxsize=4096)(self._make_hits)

    # ------------------------------------------------------------------------------- keyword classes

    def _build_classes(self, platform: str) -> None:
        classes: list[tuple[str, ...]] = []
        for r in range(RESIDUES):
            rng = random.Random(h64(self.seed, platform, "class", r))
            fam = rng.choice(texts.KEYWORD_FAMILIES)
            kws = rng.sample(fam, k=min(len(fam), rng.choice((1, 2, 2, 3))))
            if rng.random() < 0.2:
                kws.append(rng.choice(texts.SEED_KEYWORDS))
            if rng.random() < 0.35:
                kws.append(rng.choice(texts.GENERIC_KEYWORDS))
            classes.append(tuple(dict.fromkeys(kws)))
        members: dict[str, list[int]] = {kw: [] for kw in texts.VOCABULARY}
        for r, kws in enumerate(classes):
            for kw in kws:
                members[kw].append(r)
        # Every vocabulary word gets a fair share of classes, so each seed keyword has plenty of results.
        fill_rng = random.Random(h64(self.seed, platform, "fill"))
        for kw, rs in members.items():
            while len(rs) < 60:
                r = fill_rng.randrange(RESIDUES)
                if kw not in classes[r]:
                    classes[r] = classes[r] + (kw,)
                    rs.append(r)
        for kw, rs in members.items():
            # Result order differs per keyword (a relevance order stand-in), fixed by the seed.
            random.Random(h64(self.seed, platform, "order", kw)).shuffle(rs)
        self._classes[platform] = classes
        self._members[platform] = members

    def keywords_of(self, platform: str, index: int) -> tuple[str, ...]:
        return self._classes[platform][index % RESIDUES]

    # ----------------------------------------------------------------------------------------- search

    def search(self, platform: str, query: str, order: str = "", since: int = 0) -> Hits:
        """Results of `query`, optionally re-sorted (order) and limited to posts published at or after `since`."""
        query = normalise_query(query)
        hits = self._hits(platform, query)
        if order in ("", "totalrank", "0"):
            order = ""
        if (not order and not since) or hits.count == 0:
            return hits
        ordered = self._sorted(platform, query, order, since)
        return Hits(len(ordered), ordered.__getitem__, hits.terms, hits.woven)

    def _cap(self, platform: str, query: str) -> int:
        if platform == "douyin":
            # Douyin stops after a few hundred results per keyword.
            return 150 + h64(self.seed, "dycap", query) % 151
        return BILIBILI_MAX_RESULTS

    def _vocab_hits(self, platform: str, kw: str) -> tuple[int, Any]:
        rs = self._members[platform][kw]
        full_rows, rem = divmod(self.size, RESIDUES)
        tail = [r for r in rs if r < rem]
        n_full = full_rows * len(rs)
        count = n_full + len(tail)
        # Rows (blocks of M posts) are visited in a keyword-specific affine order, so the first 1,000 results
        # of a big corpus come from all over it rather than from its first few thousand posts.
        key = h64(self.seed, platform, "rows", kw)
        row_add = key % max(1, full_rows)
        row_mul = (key >> 24) % max(1, full_rows) or 1
        while full_rows and math.gcd(row_mul, full_rows) != 1:
            row_mul += 1

        def at(j: int) -> int:
            if j < n_full:
                q, k = divmod(j, len(rs))
                return rs[k] + RESIDUES * ((row_add + q * row_mul) % full_rows)
            return tail[j - n_full] + RESIDUES * full_rows

        return count, at

    def _make_hits(self, platform: str, query: str) -> Hits:
        terms = tuple(query.split())
        if not terms:
            return Hits(0, lambda j: 0, terms, None)
        compact = "".join(terms)
        cap = self._cap(platform, query)
        if compact in self._members[platform]:
            count, at = self._vocab_hits(platform, compact)
            return Hits(min(cap, count), at, terms, None)
        # Outside the vocabulary: weave the query into a deterministic stream of posts.
        key = h64(self.seed, platform, "query", query)
        base = max((kw for kw in texts.VOCABULARY if kw in compact), key=len, default=None)
        if base is not None:
            pool_count, pool_at = self._vocab_hits(platform, base)
            count = max(1, int(pool_count * (0.5 + (key % 400) / 1000)))
            off = key % max(1, pool_count)

            def stream(j: int) -> int:
                return pool_at((j + off) % pool_count)

            brands = [b for b in texts.BRANDS if b in compact]
            if brands:
                # "<brand> 协商还款": rank the posts that name the brand first, as a relevance engine would.
                # Bounded scan (a few thousand posts, once per query thanks to the hits cache).
                head = [stream(j) for j in range(min(count, 2500))]
                named = [any(b in self._plain(platform, i) for b in brands) for i in head]
                ranked = [i for i, n in zip(head, named, strict=True) if n] + [
                    i for i, n in zip(head, named, strict=True) if not n]

                def at(j: int) -> int:
                    return ranked[j] if j < len(ranked) else stream(j)
            else:
                at = stream
        else:
            count = min(self.size, max(20, self.size // 8))
            start = key % self.size
            stride = (key >> 20) % self.size or 1
            while math.gcd(stride, self.size) != 1:
                stride += 1

            def at(j: int) -> int:
                return (start + j * stride) % self.size

        return Hits(min(cap, count), at, terms, query)

    def _plain(self, platform: str, index: int) -> str:
        post = self.post(platform, index)
        return f"{post.title}\n{post.text}\n{' '.join(post.tags)}"

    def _sorted_indices(self, platform: str, query: str, order: str, since: int) -> tuple[int, ...]:
        hits = self._hits(platform, query)
        idx = hits.window(0, hits.count)
        if since:
            idx = [i for i in idx if self.metrics(platform, i).pubdate >= since]
        keys = {
            "pubdate": lambda i: self.metrics(platform, i).pubdate,
            "click": lambda i: self.metrics(platform, i).play,
            "stow": lambda i: self.metrics(platform, i).favorite,
            "dm": lambda i: self.metrics(platform, i).danmaku,
            "scores": lambda i: self.metrics(platform, i).reply,
            "like": lambda i: self.metrics(platform, i).like,
        }
        fn = keys.get(order)
        if fn is None:
            return tuple(idx)
        return tuple(sorted(idx, key=lambda i: (-fn(i), i)))

    # ----------------------------------------------------------------------------------- weave memory

    def remember_weave(self, platform: str, index: int, query: str) -> None:
        key = (platform, index)
        woven = self._woven.get(key)
        if woven is None:
            if len(self._woven) >= MAX_WOVEN_POSTS:
                self._woven.popitem(last=False)
            self._woven[key] = [query]
        elif query not in woven and len(woven) < 8:
            woven.append(query)

    def tags_for(self, post: Post, woven: str | None = None) -> list[str]:
        """The post's tags as a search for `woven` shows them, or (woven=None) as its own page shows them."""
        tags = list(post.tags)
        extra = [woven] if woven else self._woven.get((post.platform, post.index), [])
        for q in extra:
            if q not in tags:
                tags.append(q)
        return tags

    # ------------------------------------------------------------------------------------------- lookups

    def index_of(self, platform: str, post_id: str) -> int | None:
        if platform == "bilibili":
            i = self.ids.index_from_bvid(post_id) if not post_id.isdigit() else self.ids.index_from_aid(int(post_id))
        else:
            i = self.ids.index_from_aweme_id(post_id)
        return i if i is not None and 0 <= i < self.size else None

    def author_index(self, platform: str, author_id: str) -> int | None:
        if platform == "bilibili":
            a = self.ids.author_from_mid(int(author_id)) if author_id.isdigit() else None
        elif author_id.startswith(Ids.SEC_PREFIX):
            a = self.ids.author_from_sec_uid(author_id)
        else:
            a = self.ids.author_from_uid(author_id)
        return a if a is not None and 0 <= a < self.n_authors else None

    def posts_of_author(self, platform: str, author: int, limit: int = 30) -> list[int]:
        return list(range(author, self.size, self.n_authors))[:limit]

    def truth(self, platform: str, index: int) -> dict[str, Any]:
        post = self.post(platform, index)
        return {
            "label": post.label,
            "category": post.category,
            "keyword": post.keywords[0],
            "keywords": list(post.keywords),
            "contacts": [dict(c) for c in post.contacts],
            "author_category": post.author.category,
        }

    # --------------------------------------------------------------------------------------- generation

    def _make_author(self, platform: str, a: int) -> Author:
        rng = random.Random(h64(self.seed, platform, "author", a))
        x, category = rng.random(), texts.CATEGORY_WEIGHTS[-1][0]
        for cat, w in texts.CATEGORY_WEIGHTS:
            if x < w:
                category = cat
                break
            x -= w
        brand = rng.choice(texts.BRANDS)
        contacts = texts.new_contacts(rng)
        nickname = texts.author_name(rng, category, brand)
        bio, bio_contacts = texts.author_bio(rng, category, brand, contacts)
        face = f"{h64(self.seed, 'face', platform, a):016x}{h64(a, 'face'):016x}{h64(a, 'f2') >> 32:08x}"
        common = dict(platform=platform, index=a, category=category, brand=brand, nickname=nickname, bio=bio,
                      contacts=contacts, bio_contacts=tuple(bio_contacts), ip_label=rng.choice(texts.PROVINCES),
                      face=face)
        if platform == "bilibili":
            return Author(**common, mid=self.ids.mid(a))
        handle = f"{rng.choice(('dy', 'fz', 'sa', 'zx', 'xs', 'lz'))}{h64(self.seed, 'uniq', a) % 10**8:08d}"
        return Author(**common, uid=self.ids.uid(a), sec_uid=self.ids.sec_uid(a), unique_id=handle)

    def _make_metrics(self, platform: str, i: int) -> Metrics:
        rng = random.Random(h64(self.seed, platform, "metrics", i))
        promo = texts.label_of(self.author(platform, i % self.n_authors).category) == 1
        play = int(math.exp(rng.gauss(7.2 if promo else 8.3, 1.4))) + rng.randint(10, 200)
        like = int(play * rng.uniform(0.01, 0.09))
        age_days = 600 * rng.random() ** 1.6  # skewed to recent months
        return Metrics(
            pubdate=ANCHOR_TS - int(age_days * 86400) - rng.randint(0, 86399),
            play=play, like=like, reply=int(play * rng.uniform(0.001, 0.02)),
            favorite=int(like * rng.uniform(0.1, 0.6)), coin=int(like * rng.uniform(0.02, 0.3)),
            share=int(like * rng.uniform(0.01, 0.2)), danmaku=int(play * rng.uniform(0.0005, 0.01)),
            duration=rng.randint(12, 180) if platform == "douyin" else rng.randint(25, 900),
        )

    def _make_post(self, platform: str, i: int) -> Post:
        if not 0 <= i < self.size:
            raise IndexError(i)
        author = self.author(platform, i % self.n_authors)
        cat = author.category
        rng = random.Random(h64(self.seed, platform, "post", i))
        kws = self.keywords_of(platform, i)
        brand = author.brand if cat == "official" else rng.choice(texts.BRANDS)
        seeds = texts.seed_records().get(cat)
        if seeds and rng.random() < 0.35:
            title, body, tags, comments, contacts = _from_seed(rng, rng.choice(seeds), kws, brand, author)
        else:
            title, body, tags, comments, contacts = _from_templates(rng, cat, kws, brand, author)
        contacts = _dedupe_contacts(list(contacts) + list(author.bio_contacts))
        for kw in kws:  # every class keyword is findable: tags carry the ones the text lacks
            if kw not in tags:
                tags.append(kw)
        metrics = self.metrics(platform, i)
        post_id = self.ids.bvid(i) if platform == "bilibili" else self.ids.aweme_id(i)
        extra: dict[str, Any] = {"aid": self.ids.aid(i)} if platform == "bilibili" else {}
        images = rng.randint(2, 6) if platform == "douyin" and rng.random() < 0.06 else 0
        return Post(
            platform=platform, index=i, post_id=post_id, author=author, category=cat, label=texts.label_of(cat),
            keywords=kws, title=title, text=body, tags=tuple(tags[:12]), comments=tuple(comments),
            contacts=tuple(contacts), metrics=metrics, typename=rng.choice(texts.TYPENAMES[cat]),
            cover_hash=f"{h64(self.seed, platform, 'cover', i):016x}{h64(i, 'cover'):016x}{h64(i, 'c2') >> 32:08x}",
            images=images, extra=extra,
        )


# ------------------------------------------------------------------------------------ text composition


def _dedupe_contacts(contacts: list[dict[str, str]]) -> list[dict[str, str]]:
    seen, out = set(), []
    for c in contacts:
        key = (c["type"], c["value"])
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


def _pick_contact_kind(rng: random.Random) -> str:
    x = rng.random()
    return "wechat" if x < 0.5 else "phone" if x < 0.75 else "qq" if x < 0.92 else "url"


def _comments(rng: random.Random, cat: str, brand: str) -> list[str]:
    pool = texts.COMMENTS["positive" if cat.startswith("promo_") else cat]
    return [c.format(brand=brand) for c in rng.sample(pool, k=min(len(pool), rng.randint(0, 4)))]


def _from_templates(rng: random.Random, cat: str, kws: tuple[str, ...], brand: str, author: Author):
    kw = kws[0]
    kw2 = kws[1] if len(kws) > 1 else rng.choice(texts.SEED_KEYWORDS)
    slots = texts.slots(rng, {"kw": kw, "kw2": kw2, "brand": brand})  # shared by title and body
    tpl = texts.TEMPLATES[cat]
    contacts: list[dict[str, str]] = []
    comments = _comments(rng, cat, brand)
    if cat == "promo_evasive":
        if rng.random() < 0.7:
            kind = _pick_contact_kind(rng)
            value = author.contacts[kind]
            slots["cta_ev"] = texts.evasive_contact_line(rng, kind, value)
            contacts.append(texts.normalise_contact(kind, value))
        else:
            slots["cta_ev"] = rng.choice(("📮 看 主 页", "v信号在我头像里", "联系方式在评论区第一条", "看头像👀", "主页☎"))
        title = texts.disguise(rng, texts.fill(rng, rng.choice(tpl["title"]), slots))
        body = texts.disguise(rng, texts.fill(rng, rng.choice(tpl["body"]), slots), strength=0.8)
    else:
        if "pairs" in tpl:
            t, b = rng.choice(tpl["pairs"])
        else:
            t, b = rng.choice(tpl["title"]), rng.choice(tpl["body"])
        title, body = texts.fill(rng, t, slots), texts.fill(rng, b, slots)
        if cat.startswith("promo_"):
            r = rng.random()
            kind = _pick_contact_kind(rng)
            value = author.contacts[kind]
            if r < 0.6:
                body += "\n" + texts.contact_line(rng, kind, value)
                contacts.append(texts.normalise_contact(kind, value))
            elif r < 0.75 and cat == "promo_story":
                # "电话我放评论区了": the contact sits in the poster's own comment.
                # Pinned by the poster, as the comment APIs show it (comment_thread reads the prefix).
                shown = value if kind != "phone" else f"{value[:3]} {value[3:7]} {value[7:]}"
                comments.insert(0, f"置顶：{shown}")
                contacts.append(texts.normalise_contact(kind, value))
            else:
                body += "\n" + rng.choice(texts.CTAS)
    tags = _tags(rng, cat, kws, brand)
    return title, body, tags, comments, contacts


def _tags(rng: random.Random, cat: str, kws: tuple[str, ...], brand: str) -> list[str]:
    extra = {
        "promo_direct": ("负债", "网贷", "信用卡", "上岸"), "promo_story": ("负债逆袭", "上岸", "真实经历"),
        "promo_evasive": ("信用", "生活", "分享"), "promo_recruit": ("招聘", "副业", "高薪"),
        "promo_course": ("干货", "教程", "话术"), "warning": ("防骗", "避坑", "金融知识"),
        "news": ("新闻", "打击犯罪", "通报"), "official": ("官方", "客服"), "lawyer_edu": ("法律科普", "律师"),
        "victim": ("负债", "情绪", "记录"), "unrelated": ("日常", "vlog", "搞笑"), "collection": ("合规", "调解"),
    }[cat]
    tags = list(kws[: rng.randint(1, len(kws))])
    tags += rng.sample(extra, k=min(len(extra), rng.randint(1, 2)))
    if cat in ("official", "victim") or rng.random() < 0.3:
        tags.append(brand)
    return list(dict.fromkeys(tags))


_AMOUNT_RE = re.compile(r"\d+(?=万)")


def _from_seed(rng: random.Random, rec: dict[str, Any], kws: tuple[str, ...], brand: str, author: Author):
    """A labelled training record, mutated so repeats differ: contacts, brand, amounts; keywords woven in."""
    title, body = rec["title"], rec["desc"]
    comments = list(rec.get("comments") or [])
    for b in texts.BRANDS:
        if b in title or b in body:
            # Swap like for like: a bank stays a bank ("xx银行信用卡客服"), a lender stays a lender.
            same_kind = texts.BANKS if b in texts.BANKS else texts.LENDERS
            new = brand if brand in same_kind else rng.choice(same_kind)
            title, body = title.replace(b, new), body.replace(b, new)
            break
    title = _AMOUNT_RE.sub(lambda m: str(rng.randint(5, 99)), title)
    body = _AMOUNT_RE.sub(lambda m: str(rng.randint(5, 99)), body)
    contacts: list[dict[str, str]] = []
    for c in rec.get("contacts") or []:
        kind, value = c["type"], c["value"]
        new = author.contacts.get(kind)
        pattern = re.compile(re.escape(value), re.IGNORECASE)
        if new and value and (pattern.search(title) or pattern.search(body) or any(pattern.search(x) for x in comments)):
            repl = new if kind != "wechat" or not value.isupper() else new.upper()
            title, body = pattern.sub(repl, title), pattern.sub(repl, body)
            comments = [pattern.sub(repl, x) for x in comments]
            contacts.append(texts.normalise_contact(kind, new))
        elif value.lower() not in (rec.get("author_bio") or "").lower():
            contacts.append({"type": kind, "value": value})
    tags = list(rec.get("hashtags") or [])
    if kws[0] not in title and rec["category"] != "promo_evasive" and rng.random() < 0.25:
        title = f"【{kws[0]}】{title}"
    return title, body, tags, comments, contacts
