"""Reading the text fields of a record, with the type checks the command-line contract promises."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import repeat
from operator import itemgetter
from typing import Any, NamedTuple

from takedown.scoring.errors import RecordError

# record key -> field name used by rules and reasons, in the order the fields are scored
TEXT_KEYS = (("title", "title"), ("desc", "desc"), ("author_name", "author_name"), ("author_bio", "bio"))
LIST_KEYS = (("hashtags", "hashtags"), ("comments", "comments"))
FIELD_LABELS = {  # how a complaint names the field
    "title": "标题", "desc": "正文", "hashtags": "话题标签", "bio": "账号简介", "comments": "评论",
    "author_name": "账号昵称",
}


class Segment(NamedTuple):
    field: str  # title | desc | hashtags | bio | comments | author_name
    index: int  # position within a list field (hashtags, comments), else 0
    text: str


def record_id(record: Any) -> str:
    """The id to report for `record`, even a broken one."""
    if isinstance(record, Mapping):
        rid = record.get("id")
        if isinstance(rid, str):
            return rid
        if isinstance(rid, int) and not isinstance(rid, bool):
            return str(rid)
    return ""


def read_segments(record: Any, strict: bool = True) -> tuple[str, list[Segment], list[RecordError]]:
    """(id, text segments in scoring order, problems). Missing keys and None are empty.

    strict=True raises the first problem as `RecordError`; strict=False leaves a bad field out and returns
    the problems, so a batch can score what it can."""
    fast = _read_fast(record)
    if fast is not None:
        return fast
    problems: list[RecordError] = []
    if not isinstance(record, Mapping):
        err = RecordError("?", "record", f"expected a JSON object, got {type(record).__name__}")
        if strict:
            raise err
        return "?", [], [err]
    rid_raw = record.get("id")
    rid = record_id(record)
    if rid_raw is not None and rid == "":
        problems.append(RecordError(repr(rid_raw)[:40], "id", f"expected a string, got {type(rid_raw).__name__}"))
        if strict:
            raise problems[0]
    label = rid or "?"

    def text_of(key: str) -> str:
        value = record.get(key)
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        err = RecordError(label, key, f"expected a string, got {type(value).__name__}")
        if strict:
            raise err
        problems.append(err)
        return ""

    def list_of(key: str) -> list[str]:
        value = record.get(key)
        if value is None:
            return []
        if not isinstance(value, list | tuple):
            err = RecordError(label, key, f"expected a list of strings, got {type(value).__name__}")
            if strict:
                raise err
            problems.append(err)
            return []
        out = []
        for k, item in enumerate(value):
            if isinstance(item, str):
                out.append(item)
            elif item is not None:
                err = RecordError(label, key, f"item {k} is {type(item).__name__}, expected a string")
                if strict:
                    raise err
                problems.append(err)
        return out

    platform = record.get("platform")
    if platform is not None and not isinstance(platform, str):
        err = RecordError(label, "platform", f"expected a string, got {type(platform).__name__}")
        if strict:
            raise err
        problems.append(err)

    segments: list[Segment] = []
    title, desc = text_of("title"), text_of("desc")
    hashtags = list_of("hashtags")
    author_name, bio = text_of("author_name"), text_of("author_bio")
    comments = list_of("comments")
    segments.append(Segment("title", 0, title))
    segments.append(Segment("desc", 0, desc))
    segments.extend(Segment("hashtags", k, h) for k, h in enumerate(hashtags))
    segments.append(Segment("author_name", 0, author_name))
    segments.append(Segment("bio", 0, bio))
    segments.extend(Segment("comments", k, c) for k, c in enumerate(comments))
    return rid, segments, problems


def _read_fast(record: Any) -> tuple[str, list[Segment], list[RecordError]] | None:
    """The common case in one pass: a dict whose every field has the right type (else None: the careful
    path reports what is wrong)."""
    if type(record) is not dict:
        return None
    get = record.get
    rid, title, desc, hashtags = get("id"), get("title"), get("desc"), get("hashtags")
    name, bio, comments, platform = get("author_name"), get("author_bio"), get("comments"), get("platform")
    if not (type(rid) is str and (title is None or type(title) is str) and (desc is None or type(desc) is str)
            and (name is None or type(name) is str) and (bio is None or type(bio) is str)
            and (platform is None or type(platform) is str)):
        return None
    if hashtags is None:
        hashtags = ()
    elif type(hashtags) is not list:
        return None
    if comments is None:
        comments = ()
    elif type(comments) is not list:
        return None
    for item in hashtags:
        if type(item) is not str:
            return None
    for item in comments:
        if type(item) is not str:
            return None
    segments = [Segment("title", 0, title or ""), Segment("desc", 0, desc or "")]
    if hashtags:
        segments += [Segment("hashtags", k, h) for k, h in enumerate(hashtags)]
    segments.append(Segment("author_name", 0, name or ""))
    segments.append(Segment("bio", 0, bio or ""))
    if comments:
        segments += [Segment("comments", k, c) for k, c in enumerate(comments)]
    return rid, segments, []


_PLAIN = itemgetter("id", "title", "desc", "author_name", "author_bio", "platform", "hashtags", "comments")
_STR = {str}


def read_keys(record: Any) -> tuple[str, list[tuple[str, str]]] | None:
    """(id, [(field, text) in scoring order]) for a record `_read_fast` accepts, else None; what the batch
    scorer looks its field values up by, without building `Segment`s."""
    if type(record) is not dict:
        return None
    try:  # every key there, every text a str: the usual record, read with a few calls in C
        rid, title, desc, name, bio, platform, hashtags, comments = _PLAIN(record)
    except KeyError:
        pass
    else:
        if (type(hashtags) is list and type(comments) is list and set(map(type, hashtags)) <= _STR
                and set(map(type, comments)) <= _STR and set(map(type, (rid, title, desc, name, bio, platform))) == _STR):
            keys = [("title", title), ("desc", desc)]
            if hashtags:
                keys += zip(repeat("hashtags"), hashtags)
            keys.append(("author_name", name))
            keys.append(("bio", bio))
            if comments:
                keys += zip(repeat("comments"), comments)
            return rid, keys
    get = record.get
    rid, title, desc, hashtags = get("id"), get("title"), get("desc"), get("hashtags")
    name, bio, comments, platform = get("author_name"), get("author_bio"), get("comments"), get("platform")
    if not (type(rid) is str and (title is None or type(title) is str) and (desc is None or type(desc) is str)
            and (name is None or type(name) is str) and (bio is None or type(bio) is str)
            and (platform is None or type(platform) is str)):
        return None
    keys = [("title", title or ""), ("desc", desc or "")]
    if hashtags:
        if type(hashtags) is not list:
            return None
        for h in hashtags:
            if type(h) is not str:
                return None
            keys.append(("hashtags", h))
    elif hashtags is not None and type(hashtags) is not list:
        return None
    keys.append(("author_name", name or ""))
    keys.append(("bio", bio or ""))
    if comments:
        if type(comments) is not list:
            return None
        for c in comments:
            if type(c) is not str:
                return None
            keys.append(("comments", c))
    elif comments is not None and type(comments) is not list:
        return None
    return rid, keys
