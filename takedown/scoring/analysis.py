"""From a record to evidence: normalised fields, rule hits, contacts, evasion signals, and the feature vector
the scorer combines. Kept apart from `scorer.py` so the fitting code and tools can use the same evidence."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import NamedTuple

from takedown.scoring.contacts import HOTLINES, FoundContact, find_contacts
from takedown.scoring.fields import Segment
from takedown.scoring.lexicon import Lexicon
from takedown.scoring.normalise import SEGMENT_SEPARATOR, Evasion, Normalised, normalise
from takedown.scoring.rules import NEGATIVE_CATEGORIES, POSITIVE_CATEGORIES, Hit, RuleSet

JOINER = "\n" + SEGMENT_SEPARATOR + "\n"

FEATURES = (
    "promise", "diversion", "fee", "false_identity", "fake_policy", "anti_collection", "brand_target",
    "evasion",
    "private_contact",  # the poster gives a WeChat id, QQ, mobile number or link (not one it warns against)
    "business_line",  # the poster gives a landline, a 400/95xxx number or an e-mail address
    "third_party_contact",  # a private contact only in other people's comments
    "solicitation",  # (diversion or contact) x (promise, fee, anti-collection, identity, policy)
    "quoted_claims",  # share of the service claims written in quotation marks ("所谓“停息挂账”")
    "debt_topic",  # the post (not its comments) is about personal debt at all
    "warning", "news", "official",  # negative contexts, counted only when no private contact is given
)

# comments the author wrote or pinned, and post text that sends readers to the comments
_AUTHOR_COMMENT_RE = re.compile(r"^\s*(?:置顶|作者|up主|博主|楼主|主播)")
_POINTS_TO_COMMENTS_RE = re.compile(
    r"(?:联系方式|电话|号码?|微信|v|qq|企鹅|链接|方式|老师)[^,。!?\n]{0,8}(?:在|见|放|看)[^,。!?\n]{0,4}(?:评论|置顶)"
    r"|评论区(?:置顶|第一条)|置顶评论|第一条评论|看评论"
)
# a contact the post warns against ("冒充我行…的微信号", "这是诈骗短信")
_WARN_RE = re.compile(
    r"冒充|冒用|假冒|诈骗|骗子|骗局|骗取|钓鱼|举报|不法分子|团伙|诱饵|报案|落网|嫌疑|涉案|"
    r"(?:请勿|不要|别|切勿|千万别)(?:添加|加|联系|点击?|回拨|转账)"
)
_CTA_RE = re.compile(r"加我|找我|联系我|私我|咨询|有需要|需要的|➕|加v|加微|加qq|打我|滴滴我")
_SENTENCE_END_RE = re.compile(r"[。!?;\n]")
# quotation: a warning or a news item quotes the advert it is about; book titles 《》 are not quotes
_QUOTE_RE = re.compile(r"“[^”\n]{1,200}”|「[^」\n]{1,200}」|『[^』\n]{1,200}』|\"[^\"\n]{1,200}\"|‘[^’\n]{1,200}’")
# a negation shortly before a claim in the same clause ("从未委托任何第三方代办", "没有人能保证成功")
_NEGATION_RE = re.compile(
    r"从未|从不|不会|不要|不需要|无需|不用|没有|没人|并非|不是|不存在|别信|勿信|不可能|拒绝|禁止|严禁|切勿|请勿|不能|不可|谨防|警惕"
)
_CLAUSE_BREAK = ",，。!?;；、:\n“”「」"
# a negation word, then the rest of its clause up to the claim (searched in the 10 characters before it)
_NEGATED_BEFORE_RE = re.compile(
    "(?:" + _NEGATION_RE.pattern + ")[^" + re.escape(_CLAUSE_BREAK) + "]*$"
)
_SEPARATOR_RE = re.compile(re.escape(SEGMENT_SEPARATOR))
_QUOTABLE = frozenset({"promise", "anti_collection", "fake_policy", "diversion", "fee"})
# evidence in a post that is not about personal debt counts this much (a phone-repair shop's number)
OFF_TOPIC_FACTOR = 0.3
# claims made in a warning, news or official context (and no private contact given) count this much less
# at full strength of that context: "不成功不收费" quoted by the police is not an offer
CONTEXT_DAMPING = 0.6
_CLAIM_CATEGORIES = ("promise", "fee", "false_identity", "fake_policy", "anti_collection", "brand_target")
NEGATED_FACTOR = 0.3
QUOTED_FACTOR = 0.5


class ContactInfo(NamedTuple):
    found: FoundContact
    segment: int
    field: str
    by_author: bool
    warned: bool

    @property
    def kind(self) -> str:
        """private (WeChat, QQ, mobile, link) | business (landline, 400/95xxx line, e-mail) | hotline"""
        c = self.found
        if c.type == "phone":
            if c.value in HOTLINES:
                return "hotline"
            return "private" if c.value.startswith("1") and len(c.value) == 11 else "business"
        if c.type == "other":
            return "business"
        return "private"


@dataclass(slots=True)
class Analysis:
    record_id: str
    segments: list[Segment]
    original: str  # the joined original fields
    original_starts: list[int]  # where each segment starts in `original`
    norm: Normalised
    hits: list[Hit]
    contacts: list[ContactInfo]
    features: list[float] = field(default_factory=list)
    strengths: dict[str, float] = field(default_factory=dict)
    hit_factors: dict[int, float] = field(default_factory=dict)  # id(hit) -> how much it counts
    quoted_hits: set[int] = field(default_factory=set)  # id(hit) of hits inside quotation marks
    original_quotes: list[tuple[int, int]] = field(default_factory=list)  # quotation spans in `original`
    on_topic: bool = False

    @property
    def evasion(self) -> Evasion:
        return self.norm.evasion

    def segment_at(self, original_pos: int) -> int:
        return max(0, bisect_right(self.original_starts, original_pos) - 1)


def analyse(record_id: str, segments: list[Segment], rules: RuleSet, lexicon: Lexicon) -> Analysis:
    texts = [s.text.replace(SEGMENT_SEPARATOR, " ") for s in segments]
    original = JOINER.join(texts)
    original_starts = []
    pos = 0
    for t in texts:
        original_starts.append(pos)
        pos += len(t) + len(JOINER)
    norm = normalise(original, lexicon)
    fields = [s.field for s in segments]

    starts, ends = _bounds(norm.text, len(segments))
    hits = rules.match(norm.text, starts, ends, fields)

    base_starts, _ = _bounds(norm.base, len(segments))
    author_comments = {
        i for i, s in enumerate(segments) if s.field == "comments" and _AUTHOR_COMMENT_RE.match(s.text.lower())
    }
    body_points_to_comments = any(
        _POINTS_TO_COMMENTS_RE.search(norm.text[starts[i]:ends[i]])
        for i, s in enumerate(segments) if s.field in ("title", "desc", "bio")
    )
    contacts = []
    found = find_contacts(norm)
    if found:
        sentence_ends = [m.start() for m in _SENTENCE_END_RE.finditer(norm.base)]
        separators = [m.start() for m in _SEPARATOR_RE.finditer(norm.base)]
    for c in found:
        seg = max(0, bisect_right(base_starts, c.start) - 1)
        fld = fields[seg] if fields else "desc"
        by_author = fld != "comments" or seg in author_comments or body_points_to_comments
        warned = _warned(norm.base, c.cue_start, c.end, sentence_ends, separators)
        contacts.append(ContactInfo(c, seg, fld, by_author, warned))

    analysis = Analysis(record_id, segments, original, original_starts, norm, hits, contacts)
    # on topic: the post's own text is about debt, or it hides its contact details or dodges moderation
    # (people do that for a reason; the words such posts avoid are the topic words)
    post_text = "\n".join(norm.text[starts[i]:ends[i]] for i, s in enumerate(segments) if s.field != "comments")
    analysis.on_topic = (
        rules.on_topic(post_text)
        or any(c.found.obfuscated and c.by_author for c in contacts)
        or any(h.rule.category == "evasion" and h.field != "comments" for h in hits)
    )
    quotes = [m.span() for m in _QUOTE_RE.finditer(norm.text)]
    analysis.original_quotes = [m.span() for m in _QUOTE_RE.finditer(original)]
    for h in hits:
        quoted = _inside(quotes, h.start, h.end)
        if quoted:
            analysis.quoted_hits.add(id(h))
        analysis.hit_factors[id(h)] = _factor(h, author_comments, norm.text, quoted)
    analysis.strengths, analysis.features = _features(analysis)
    return analysis


def _bounds(text: str, n: int) -> tuple[list[int], list[int]]:
    """Start and end of each of the n segments joined by JOINER in `text` (normalisation keeps JOINER)."""
    seps = [m.start() for m in _SEPARATOR_RE.finditer(text)]
    starts = [0] + [k + 2 for k in seps]
    ends = [k - 1 for k in seps] + [len(text)]
    while len(starts) < n:  # defensive: keep the lists aligned
        starts.append(len(text))
        ends.append(len(text))
    return starts[:n], ends[:n]


def _warned(text: str, start: int, end: int, sentence_ends: list[int], separators: list[int]) -> bool:
    """The contact is quoted as something to avoid (a warning word in its sentence or close around it),
    and its own sentence does not invite contact. Positions of sentence ends and segment separators are
    given sorted, so a long post costs no more per contact than a short one."""
    k = bisect_right(separators, start)
    seg_start = separators[k - 1] + 1 if k else 0
    seg_end = separators[k] if k < len(separators) else len(text)
    i = bisect_right(sentence_ends, start - 1)
    left = max(seg_start, sentence_ends[i - 1] + 1 if i else 0, start - 80)
    j = bisect_right(sentence_ends, end - 1)
    right = min(seg_end, sentence_ends[j] if j < len(sentence_ends) else len(text), end + 80)
    own = text[left:right]
    around = text[max(seg_start, left - 30):min(seg_end, right + 40)]
    return bool(_WARN_RE.search(around)) and not _CTA_RE.search(own)


def _inside(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    """Whether [start, end) lies strictly inside one of the sorted, non-overlapping `spans`."""
    k = bisect_right(spans, (start, -1)) - 1
    return k >= 0 and spans[k][0] < start and end <= spans[k][1]


def _negated(text: str, start: int) -> bool:
    return _NEGATED_BEFORE_RE.search(text, max(0, start - 10), start) is not None


def _factor(hit: Hit, author_comments: set[int], text: str, quoted: bool) -> float:
    """How much a hit counts given where and how it is said: other people's comments count half for
    evidence and not at all for negative context (a commenter calling a promotion a scam does not make it a
    warning); a negated claim ("从未委托第三方代办") counts 0.3, a quoted one ("所谓“停息挂账”") half."""
    if hit.field == "comments" and hit.segment not in author_comments:
        return 0.0 if hit.rule.negative else 0.5
    if hit.rule.negative:
        return 1.0
    factor = 1.0
    if _negated(text, hit.start):
        factor *= NEGATED_FACTOR
    if quoted:
        factor *= QUOTED_FACTOR
    return factor


def _noisy_or(values: list[float]) -> float:
    p = 1.0
    for v in values:
        p *= 1.0 - min(1.0, max(0.0, v))
    return 1.0 - p


def evasion_signals(analysis: Analysis) -> list[tuple[str, float, tuple[int, int] | None, str]]:
    """(kind, strength, original span, detail) for each evasion found by normalisation and contact reading."""
    ev = analysis.norm.evasion
    out: list[tuple[str, float, tuple[int, int] | None, str]] = []
    for v in ev.variants[:8]:
        out.append(("disguised_word", 0.3, (v.start, v.end), v.canonical))
    symbol_budget = ev.split_symbols
    for s, e in ev.splits[:8]:
        out.append(("split_word", 0.25, (s, e), ""))
    if ev.spaced_chars >= 3:
        out.append(("spaced_characters", min(0.6, 0.08 * ev.spaced_chars), None, ""))
    if symbol_budget > len(ev.splits):
        out.append(("split_symbols", min(0.5, 0.1 * (symbol_budget - len(ev.splits))), None, ""))
    if ev.zero_width:
        out.append(("invisible_characters", 0.5, None, ""))
    if ev.fullwidth_letters:
        out.append(("lookalike_letters", 0.2, None, ""))
    for c in analysis.contacts:
        if c.found.obfuscated and c.by_author and not c.warned:
            out.append(("obfuscated_contact", 0.6, None, c.found.value))
    return out


def _features(a: Analysis) -> tuple[dict[str, float], list[float]]:
    per_rule: dict[str, tuple[float, str]] = {}  # rule id -> (strongest |w| x factor, category)
    quotable = quoted = 0
    for h in a.hits:
        if h.rule.category in _QUOTABLE and h.field != "comments":
            quotable += 1
            quoted += id(h) in a.quoted_hits
        f = a.hit_factors[id(h)]
        if f <= 0:
            continue
        w = abs(h.rule.weight) * f
        if w > per_rule.get(h.rule.id, (0.0, ""))[0]:
            per_rule[h.rule.id] = (w, h.rule.category)
    by_cat: dict[str, list[float]] = {c: [] for c in POSITIVE_CATEGORIES + NEGATIVE_CATEGORIES}
    for w, cat in per_rule.values():
        by_cat[cat].append(w)

    # evasion found while normalising counts half in other people's comments or inside quotation marks
    ev_values = []
    for _kind, strength, span, _detail in evasion_signals(a):
        if span is not None:
            seg = a.segment_at(span[0])
            if a.segments and a.segments[seg].field == "comments" and not _AUTHOR_COMMENT_RE.match(
                    a.segments[seg].text.lower()):
                strength *= 0.5
            if _inside(a.original_quotes, span[0], span[1]):
                strength *= QUOTED_FACTOR
        ev_values.append(strength)
    by_cat["evasion"].extend(ev_values)

    s = {c: _noisy_or(v) for c, v in by_cat.items()}
    private = any(c.by_author and not c.warned and c.kind == "private" for c in a.contacts)
    business = any(c.by_author and not c.warned and c.kind == "business" for c in a.contacts)
    third_party = (not private) and any(not c.by_author and c.kind == "private" for c in a.contacts)
    strengths = dict(s)
    gate = 1.0 if a.on_topic else OFF_TOPIC_FACTOR
    for c in POSITIVE_CATEGORIES:
        s[c] *= gate
    context = max(s["warning"], s["news"], s["official"])
    damp = 1.0 - CONTEXT_DAMPING * context * (0.0 if private else 1.0)
    for c in _CLAIM_CATEGORIES:
        s[c] *= damp
    reach = max(s["diversion"], gate if private else 0.0, 0.7 * gate if business else 0.0)
    offer = max(s["promise"], s["fee"], s["anti_collection"], s["false_identity"], s["fake_policy"],
                0.5 * s["brand_target"])
    no_contact = 0.0 if private else 1.0
    values = {
        **{c: s[c] for c in POSITIVE_CATEGORIES},
        "private_contact": gate if private else 0.0,
        "business_line": gate if business else 0.0,
        "third_party_contact": gate if third_party else 0.0,
        "solicitation": reach * offer,
        "quoted_claims": quoted / (quotable + 1),
        "debt_topic": 1.0 if a.on_topic else 0.0,
        "warning": s["warning"] * no_contact,
        "news": s["news"] * no_contact,
        "official": s["official"] * no_contact,
    }
    return strengths, [values[f] for f in FEATURES]
