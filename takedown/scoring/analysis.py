"""From a record to evidence: normalised fields, rule hits, contacts, evasion signals, and the feature vector
the scorer combines. Kept apart from `scorer.py` so the fitting code and tools can use the same evidence.

Two levels, for speed: everything that depends on one field value alone (normalisation, rule hits, contacts,
evasion, the reasons quoting it) is computed once per distinct (field, text) and cached (`SegmentFacts`,
`FactsCache`), the new values of a batch together (`prepare`: each regular expression scans them all at once);
a record is then assembled from its fields' facts (`assemble`, through their `Tally`): which contacts the
author gave, whether the post is about debt at all, and the feature vector."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from operator import itemgetter
from typing import NamedTuple

from takedown.scoring.contacts import (
    HOTLINES,
    PIECE_MARK_RE,
    FoundContact,
    Piece,
    find_pieces,
    join_pieces,
    scan_contacts,
    scan_contacts_many,
)
from takedown.scoring.fields import FIELD_LABELS, Segment
from takedown.scoring.lexicon import Lexicon
from takedown.scoring.normalise import SEGMENT_SEPARATOR, Evasion, Normalised, normalise, normalise_many
from takedown.scoring.regexopt import Batch, Scanner
from takedown.scoring.results import Reason, shared_reason
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
# (the author's reply has a colon after who wrote it: "作者回复：…"; "博主说的不全对", "up主还在吗" speak to the author)
# (after a pin or a mark: "🔝作者：…", "📌置顶 …", "【置顶】…")
_AUTHOR_COMMENT_RE = re.compile(
    r"^\s*[^\w\s]{0,3}\s*(?:置顶|(?:作者|up主|博主|楼主|主播)(?:回复|本人|置顶)?\s*[:：])")
_POINTS_TO_COMMENTS_RE = re.compile(
    r"(?:联系方式|电话|号码?|微信|v|qq|企鹅|链接|方式|老师)[^,。!?\n]{0,8}(?:在|见|放|看)[^,。!?\n]{0,4}(?:评论|置顶)"
    r"|评论区(?:置顶|第一条)|置顶评论|第一条评论|看评论"
)
# the same, rewritten for speed (regexopt): whether a text matches is whether either union does
_POINTS_SCANNER = Scanner([(_POINTS_TO_COMMENTS_RE.pattern, "")])
_POINTS_RES = [rx for rx in (_POINTS_SCANNER.fast, _POINTS_SCANNER.slow) if rx is not None]
# a contact the post warns against ("冒充我行…的微信号", "这是诈骗短信")
_WARN_RE = re.compile(
    r"冒充|冒用|假冒|诈骗|骗子|骗局|骗取|骗(?:我|了我|走)|被骗|上当|钓鱼|举报|不法分子|团伙|诱饵|报案|落网|嫌疑|涉案|"
    r"(?:请勿|不要|别|切勿|千万别)(?:添加|加|联系|点击?|回拨|转账|进|信)|避开|绕道|远离|直接挂|不会(?:让|要求)你?|"
    r"空号|打不通|已?关机|停机"
)
_CTA_RE = re.compile(r"加我|找我|联系我|私我|私信我|打给我|直接打|咨询|有需要|需要的|➕|加v|加微|加qq|打我|滴滴我|放(?:在)?(?:这|下面|评论)")
# ... unless it is reported speech: what the scammer demanded ("要求用户添加QQ", "让我加微信")
_REPORTED_CTA_RE = re.compile(r"(?:要求|让|叫|诱导|引导|骗|称|说|被)[^,，。!?;\n]{0,4}$")
# the contact is someone else's, reported by the poster ("添加对方QQ", "群里公布的电话", "有个叫 … 的"): in a post
# that warns or reports, it is the advert's, as a quoted one is
_REPORTED_RE = re.compile(r"对方|此人|这个人|该(?:账号|号|人|团伙|公司|机构|平台)|某|落地页|群里|群内|留下的|留的|留有|公布的|有个|自称|骗子的|他们|记者|"
                          r"(?:接到|收到)[^,，。!?;\n]{0,16}(?:电话|短信|私信)|"
                          # what the poster did or saw: "加了他微信", "刷到…还存了个电话", "其中一家的客服"
                          r"加了(?:他|她|对方)|(?:他|她)的(?:微信|v|qq|电话|号)|刷到|存了个?|(?:其中|那|这)一?家|"
                          r"(?:广告|视频)(?:上|里|中|下方)")
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
# the official context above which a poster's own link counts as a business line, not a private channel
LINK_CONTEXT = 0.5
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
        return contact_kind(self.found)


def contact_kind(c: FoundContact) -> str:
    if c.type == "phone":
        if c.value in HOTLINES:
            return "hotline"
        return "private" if c.value.startswith("1") and len(c.value) == 11 else "business"
    if c.type == "other":
        return "business"
    return "private"


class SegmentContact(NamedTuple):
    found: FoundContact
    warned: bool
    quote: str  # the original text of the contact and the words introducing it
    # inside quotation marks, or reported as someone else's ("对方的QQ"): a warning or a news item citing the
    # advert it is about (counted as warned against when the record warns, reports or speaks officially)
    quoted: bool


class Prepared(NamedTuple):
    """What SegmentFacts reads from a field value with regular expressions, worked out for many values at once
    by `prepare` (one scan per expression for them all) or for one by `prepare_one`."""

    norm: Normalised
    hits: list[Hit]  # the rule hits in norm.text, read as the value's field
    points: bool  # norm.text sends readers to the comments (_POINTS_TO_COMMENTS_RE)
    topic: bool  # a topic word (True when the rules have none)
    weak: frozenset[str]  # the weak topic words found
    quotes: list[tuple[int, int]]  # spans of quotations in norm.text
    contacts: tuple[list[FoundContact], list[FoundContact], bool]  # scan_contacts(norm)
    pieces: list[Piece]  # find_pieces(norm.base): parts of an id given in pieces


def prepare(fields: list[str], texts: list[str], rules: RuleSet, lexicon: Lexicon) -> list[Prepared]:
    norms = normalise_many(texts, lexicon)
    batch = Batch([n.text for n in norms])
    hits = rules.match_many(batch, fields)
    points = set().union(*(batch.having(rx) for rx in _POINTS_RES))
    if rules.topic_re is not None:
        topic: set[int] = set()
        for rx in rules.topic_res:
            topic |= batch.having(rx)
    else:
        topic = set(range(len(batch)))
    weak = batch.finditer(rules.weak_union) if rules.weak_union is not None else {}
    quotes = batch.finditer(_QUOTE_RE)
    bases = Batch([n.base for n in norms])  # (one join of the texts for the contact scans and the pieces')
    contacts = scan_contacts_many(norms, bases)
    pieces = {k: found for k in bases.having(PIECE_MARK_RE) if (found := find_pieces(bases.texts[k]))}
    none: frozenset[str] = frozenset()
    # plain tuples in Prepared's order (a NamedTuple is slower to build, and these are read by position)
    return [(n, hits[k], k in points, k in topic,  # type: ignore[misc]
             frozenset(m[2] for m in weak[k]) if k in weak else none,
             [(a, b) for a, b, _ in quotes[k]] if k in quotes else [], contacts[k], pieces.get(k, []))
            for k, n in enumerate(norms)]


def prepare_one(field: str, text: str, rules: RuleSet, lexicon: Lexicon) -> Prepared:
    norm = normalise(text, lexicon)
    ntext = norm.text
    return Prepared(
        norm, rules.match(ntext, [0], [len(ntext)], [field]) if ntext else [],
        bool(_POINTS_TO_COMMENTS_RE.search(ntext)),
        bool(rules.topic_re.search(ntext)) if rules.topic_re is not None else True,
        frozenset(rules.topic_weak_re.findall(ntext)) if rules.topic_weak_re is not None else frozenset(),
        [m.span() for m in _QUOTE_RE.finditer(ntext)],
        scan_contacts(norm) if norm.base else ([], [], False),
        find_pieces(norm.base),
    )


class SegmentFacts:
    """Everything the scorer needs from one field value (a title, a bio, one comment), computed once and
    cached by (field, text): authors' bios and hashtags repeat across their posts, and a record is then
    assembled from facts it already has. Positions are not kept; reasons quote the original text already."""

    __slots__ = (
        "field", "text", "ntext", "author_comment", "points_to_comments", "topic", "weak_words",
        "evasion_rule", "rule_best", "quotable", "quoted", "reasons", "evasion_values", "spaced_chars",
        "split_symbols", "splits", "zero_width", "fullwidth", "contacts", "bare", "qq_cue", "hit_count",
        "model_part", "norm", "negative_context", "flags", "counts", "pieces",
    )

    def __init__(self, field: str, text: str, rules: RuleSet, lexicon: Lexicon, keep_norm: bool = False,
                 pre: Prepared | None = None) -> None:
        """`pre`: `prepare_one(field, text, ...)`, when the caller has it already."""
        if pre is None:
            pre = prepare_one(field, text, rules, lexicon)
        norm, hits, points, topic, weak, quotes, (found, bare, qq_cue), pieces = pre
        ntext = norm.text
        self.field, self.text, self.ntext = field, text, ntext
        # the learned model's reading, filled in by the cache for a batch of new values at once: (dot, squared
        # norm, [(-|weight|, (field, quote), weight)] of its strongest n-grams, topic dot), unnormalised (see
        # model.py; the record divides by its norm)
        self.model_part: tuple[float, float, list[tuple[float, tuple[str, str], float]], float] | None = None
        self.norm: Normalised | None = norm if keep_norm else None
        if field == "comments":
            self.author_comment = bool(_AUTHOR_COMMENT_RE.match(text.lower()))
            others = not self.author_comment
        else:
            self.author_comment = others = False
        self.points_to_comments = points = points and field in _POINTING_FIELDS
        points_warned = points and _points_to_warn(ntext)
        if others:  # other people's comments say nothing about what the post is about
            topic, weak = False, frozenset()
        self.topic, self.weak_words = topic, weak

        self.hit_count = len(hits)
        rule_best: dict[str, tuple[float, str]] = {}
        quotable = quoted_n = 0
        reasons: list[Reason] = []
        evasion_rule = False
        if hits:
            seen: set[tuple[str, int, int]] = set()
            span = norm.span
            for h in hits:
                rule = h.rule
                category = rule.category
                if category == "evasion":
                    evasion_rule = True
                quoted = bool(quotes) and _inside(quotes, h.start, h.end)
                if category in _QUOTABLE and field != "comments":
                    quotable += 1
                    quoted_n += quoted
                f = _factor(rule.negative, others, ntext, h.start, quoted)
                if f > 0:
                    w = abs(rule.weight) * f
                    if w > rule_best.get(rule.id, (0.0, ""))[0]:
                        rule_best[rule.id] = (w, category)
                s, e = span(h.start, h.end)
                key = (rule.id, s, e)
                if key in seen:
                    continue
                seen.add(key)
                quote = text[s:e].strip()
                if quote:
                    weight = round(rule.weight * f, 3)
                    reasons.append((shared_reason if weight else Reason)(rule.id, category, field, quote, weight,
                                                                         rule.explanation))
        self.evasion_rule = evasion_rule and not others
        # rule id -> (strongest |w| x factor, category index, what it leaves of its category: 1 - min(1, w))
        self.rule_best = {rid: (w, _CAT_INDEX[cat], 1.0 - min(1.0, w)) for rid, (w, cat) in rule_best.items()}
        # the post (or its speaker) warns, reports or speaks officially
        self.negative_context = False
        for _, cat in rule_best.values():
            if cat in NEGATIVE_CATEGORIES:
                self.negative_context = True
        self.quotable, self.quoted = quotable, quoted_n

        # evasion found while normalising: counts half in other people's comments or inside quotation marks
        ev = norm.evasion
        values: list[float] = []
        if ev.variants or ev.splits:
            text_quotes = [m.span() for m in _QUOTE_RE.finditer(text)]
            for kind, strength, (s, e), detail in _span_signals(ev):
                if others:
                    strength *= 0.5
                if text_quotes and _inside(text_quotes, s, e):
                    strength *= QUOTED_FACTOR
                values.append(strength)
                quote = text[s:e].strip()
                if not quote:
                    continue
                if kind == "disguised_word":
                    explanation = f"使用谐音、拼音或符号变体“{quote}”指代“{detail}”，以规避平台审核。"
                else:
                    explanation = _EVASION_EXPLANATIONS.get(kind, "以变体写法规避平台审核。")
                reasons.append(shared_reason(f"evasion.{kind}", "evasion", field, quote, strength, explanation))
        self.reasons = _presorted(reasons) if reasons else []
        self.evasion_values = values
        self.spaced_chars, self.split_symbols = ev.spaced_chars, ev.split_symbols
        self.splits, self.zero_width, self.fullwidth = len(ev.splits), ev.zero_width, ev.fullwidth_letters

        contacts = []
        if found or bare:
            if found:
                base = norm.base
                sentence_ends = [m.start() for m in _SENTENCE_END_RE.finditer(base)]
                base_quotes = [m.span() for m in _QUOTE_RE.finditer(base)]
                for c in found:
                    s, e = norm.base_span(c.cue_start, c.end)
                    quoted = bool(base_quotes) and _inside(base_quotes, c.start, c.end)
                    warned, reported = _warned(base, c.cue_start, c.end, sentence_ends, [])
                    contacts.append(SegmentContact(c, warned, text[s:e].strip(), quoted or reported))
            self.bare = [SegmentContact(c, False, text[slice(*norm.base_span(c.start, c.end))].strip(), False)
                         for c in bare]
        else:
            self.bare = []
        self.contacts = contacts
        self.qq_cue = qq_cue
        # (piece, the original text announcing it) of an id given in pieces; other people's comments give none
        self.pieces = [(p, text[slice(*norm.base_span(p.cue_start, p.end))].strip()) for p in pieces] \
            if pieces and not others else []
        # what a record needs to look at, in one number: most field values have no evidence at all, and a
        # record then skips them with one test
        flags = (_POINTS if points else 0) | (_TOPIC if topic else 0) | (_WEAK if weak else 0)
        if points_warned:
            flags |= _POINTS_WARNED
        if self.evasion_rule:
            flags |= _EVASION_RULE
        if self.negative_context:
            flags |= _NEGATIVE
        if contacts or self.bare:
            flags |= _CONTACTS
        if self.pieces:
            flags |= _CONTACTS | _PIECES
        if qq_cue:
            flags |= _QQ_CUE
        self.flags = flags
        self.counts = bool(self.rule_best or quotable or values or ev.spaced_chars or ev.split_symbols
                           or ev.splits or ev.zero_width or ev.fullwidth_letters)


_POINTING_FIELDS = frozenset({"title", "desc", "bio"})  # the fields whose text can send readers to the comments

# SegmentFacts.flags
_POINTS, _TOPIC, _WEAK, _EVASION_RULE, _CONTACTS, _NEGATIVE, _QQ_CUE, _PIECES, _POINTS_WARNED = (
    1 << k for k in range(9))


def _points_to_warn(text: str) -> bool:
    """The sentence that sends readers to the comments warns (and invites no contact): what is there is listed
    to be avoided."""
    for m in _POINTS_TO_COMMENTS_RE.finditer(text):
        left = max(text.rfind(c, 0, m.start()) for c in "。!?;\n") + 1
        right = min((i for i in (text.find(c, m.end()) for c in "。!?;\n") if i >= 0), default=len(text))
        rest = text[left:m.start()] + " " + text[m.end():right]  # (the pointer itself reads as "放评论")
        if _WARN_RE.search(rest) and not _CTA_RE.search(rest):
            return True
    return False

_CATEGORIES = POSITIVE_CATEGORIES + NEGATIVE_CATEGORIES
_CAT_INDEX = {c: i for i, c in enumerate(_CATEGORIES)}
_EVASION = _CAT_INDEX["evasion"]


def _presorted(reasons: list[Reason]) -> list[tuple[float, tuple[str, str, str], Reason]]:
    """(sort key, identity, reason) of a field value's reasons, sorted (stably) and without repeats, as
    `dedupe_reasons` reads them: sorting each value's share beforehand leaves the record's stable sort with
    the same order, and a repeat within one value is always dropped there."""
    return first_of_each(sorted(((_reason_key(r.weight), (r.rule, r.field, r.text), r) for r in reasons),
                                key=_FIRST))


def _reason_key(weight: float) -> float:
    """Sort key of a reason: positive weights first, strongest first; then negative ones, strongest first."""
    return -weight if weight >= 0 else 10.0 + weight


def _span_signals(ev: Evasion) -> list[tuple[str, float, tuple[int, int], str]]:
    out = [("disguised_word", 0.3, (v.start, v.end), v.canonical) for v in ev.variants[:8]]
    out += [("split_word", 0.25, span, "") for span in ev.splits[:8]]
    return out


_EVASION_EXPLANATIONS = {
    "split_word": "在字与字之间插入空格、符号或表情拆分敏感词，以规避平台关键词审核。",
}


# the learned model over many new field values at once: sets each one's `model_part`
BatchHook = Callable[[list["SegmentFacts"]], None]


class FactsCache:
    """A bounded cache of `SegmentFacts` keyed by (field, raw text). New field values of a batch are analysed
    one by one and then read by the learned model together (`hook`), in one vectorised pass.

    Two generations of plain dicts rather than an ordered LRU: a hit costs one lookup, which matters when
    every record looks up seven field values. A value used in the current or the last generation is kept
    (moved to the current one); the older generation is dropped when the current one is full."""

    def __init__(self, rules: RuleSet, lexicon: Lexicon, maxsize: int = 20_000,
                 hook: BatchHook | None = None) -> None:
        self.rules, self.lexicon, self.maxsize, self.hook = rules, lexicon, maxsize, hook
        self._new: dict[tuple[str, str], SegmentFacts] = {}
        self._old: dict[tuple[str, str], SegmentFacts] = {}
        self.hits = self.misses = 0
        # Scorer.score: the Tally of the run of values an author repeats (hashtags, name, bio), by those
        # values' facts; dropped with each generation, so it holds no facts the cache let go
        self.profiles: dict[tuple[SegmentFacts, ...], Tally] = {}

    def get(self, field: str, text: str) -> SegmentFacts:
        return self.get_many([(field, text)])[0]

    def get_many(self, keys: list[tuple[str, str]]) -> list[SegmentFacts]:
        new, old = self._new, self._old
        out: list[SegmentFacts | None] = list(map(new.get, keys))  # most are there
        missing: dict[tuple[str, str], list[int]] = {}  # new field values -> where they go in `out`
        if None in out:
            for i, facts in enumerate(out):
                if facts is None:
                    key = keys[i]
                    facts = new.get(key) or old.pop(key, None)  # (moved over for an earlier place)
                    if facts is None:
                        missing.setdefault(key, []).append(i)
                    else:
                        new[key] = out[i] = facts
        self.misses += len(missing)
        self.hits += len(keys) - len(missing)
        pending = self._analyse(list(missing)) if missing else []
        for (key, places), facts in zip(missing.items(), pending, strict=True):
            new[key] = facts
            for i in places:
                out[i] = facts
        if pending and self.hook is not None:
            self.hook(pending)
            for facts in pending:
                facts.norm = None
        if len(new) >= max(1, self.maxsize // 2):
            self._old, self._new = new, {}
            self.profiles = {}
        return out  # type: ignore[return-value]

    def _analyse(self, keys: list[tuple[str, str]]) -> list[SegmentFacts]:
        """Facts of new field values: each normalised, then the rules read them all at once."""
        lexicon, rules = self.lexicon, self.rules
        texts = [text.replace(SEGMENT_SEPARATOR, " ") for _, text in keys]
        fields = [field for field, _ in keys]
        keep = self.hook is not None
        return [SegmentFacts(name, text, rules, lexicon, keep, pre)
                for name, text, pre in zip(fields, texts, prepare(fields, texts, rules, lexicon), strict=True)]

    def clear(self) -> None:
        self._new.clear()
        self._old.clear()
        self.profiles = {}

    def __len__(self) -> int:
        return len(self._new) + len(self._old)


@dataclass(slots=True)
class Analysis:
    record_id: str
    segments: list[Segment]
    facts: list[SegmentFacts]
    contacts: list[ContactInfo]
    on_topic: bool = False
    features: list[float] = field(default_factory=list)
    strengths: dict[str, float] = field(default_factory=dict)
    evasion: dict[str, float] = field(default_factory=dict)  # evasion signal kind -> strength (record level)

    @property
    def texts(self) -> list[tuple[str, str]]:
        """(field, normalised text) of every non-empty segment: what the learned model reads."""
        return [(f.field, f.ntext) for f in self.facts if f.ntext]

    def reasons(self) -> list[Reason]:
        """Every reason behind the rule score, strongest first, at most MAX_REASONS_PER_RULE per rule."""
        return rule_reasons(tally(self.facts), self.contacts)


def rule_reasons(t: Tally, contacts: list[ContactInfo]) -> list[Reason]:
    """The reasons of a record's field values (`t`, their tally) and contacts, strongest first, at most
    MAX_REASONS_PER_RULE per rule (see `Analysis.reasons`)."""
    return reasons_of(list(t.items), t.with_contacts, contacts)


def reasons_of(items: list[tuple[float, tuple[str, str, str], Reason]],
               with_contacts: list[tuple[int, SegmentFacts]], contacts: list[ContactInfo]) -> list[Reason]:
    """`rule_reasons` from a record's parts (as in Tally; `items` is extended)."""
    if contacts:
        facts = dict(with_contacts)
        for c in contacts:
            sf = facts[c.segment]
            quote = next((sc.quote for sc in sf.contacts + sf.bare if sc.found is c.found), "") or next(
                (q for p, q in sf.pieces if p.cue_start == c.found.cue_start), "")
            item = _contact_reason(c.found, c.field, c.by_author, c.warned, quote)
            if item:
                items.append(item)
    return dedupe_reasons(items)


MAX_REASONS_PER_RULE = 3
_FIRST = itemgetter(0)


def dedupe_reasons(items: list[tuple[float, tuple[str, str, str], Reason]], distinct: bool = False
                   ) -> list[Reason]:
    """`items` ((sort key, (rule, field, text), reason)) strongest first, without repeats, at most
    MAX_REASONS_PER_RULE a rule. `distinct`: no two items are the same (rule, field, text)."""
    if len(items) > 1:
        items.sort(key=_FIRST)
    out: list[Reason] = []
    if distinct:
        count: dict[str, int] = {}
        get = count.get
        for _, key, r in items:
            n = get(key[0], 0)
            if n < MAX_REASONS_PER_RULE:
                count[key[0]] = n + 1
                out.append(r)
        return out
    seen: set[tuple[str, str, str]] = set()
    per_rule: dict[str, int] = {}
    for _, key, r in items:
        if key in seen:
            continue
        rule = key[0]
        n = per_rule.get(rule, 0)
        if n >= MAX_REASONS_PER_RULE:
            continue
        seen.add(key)
        per_rule[rule] = n + 1
        out.append(r)
    return out


_CONTACT_NAMES = {"wechat": "微信号", "qq": "QQ号", "url": "外部链接", "other": "电子邮箱"}


@lru_cache(maxsize=20_000)
def _contact_reason(found: FoundContact, field: str, by_author: bool, warned: bool, quote: str
                    ) -> tuple[float, tuple[str, str, str], Reason] | None:
    """(sort key, identity, reason) for a contact; cached: an author's contact recurs across their posts."""
    kind = contact_kind(found)
    if kind == "hotline":
        return None
    text = quote or found.value
    where = FIELD_LABELS.get(field, field)
    if found.type == "phone":
        name = "个人手机号码" if kind == "private" else "联系电话"
    else:
        name = _CONTACT_NAMES.get(found.type, "联系方式")
    if warned:
        r = Reason("contact.quoted_in_warning", "warning", field, text, -0.3,
                   "内容将该联系方式作为诈骗或冒充示例予以警示。")
    elif not by_author:
        r = Reason("contact.third_party_comment", "diversion", field, text, 0.2,
                   f"评论区由他人留下{name}，疑似配合引流。")
    else:
        weight = 0.6 if kind == "private" else 0.35
        if found.obfuscated:
            r = Reason(f"contact.{found.type}", "diversion", field, text, weight + 0.1,
                       f"在{where}中以中文数字、空格、符号或分段拆写{name}，规避平台识别并引导用户私下联系。")
        else:
            r = Reason(f"contact.{found.type}", "diversion", field, text, weight,
                       f"在{where}中留有{name}，引导用户脱离平台私下联系。")
    return _reason_key(r.weight), (r.rule, r.field, r.text), r


def analyse(record_id: str, segments: list[Segment], rules: RuleSet, lexicon: Lexicon,
            cache: FactsCache | None = None) -> Analysis:
    if cache is None:
        facts = [SegmentFacts(s.field, s.text.replace(SEGMENT_SEPARATOR, " "), rules, lexicon) for s in segments]
    else:
        facts = cache.get_many([(s.field, s.text) for s in segments])
    return assemble(record_id, segments, facts)


def assemble(record_id: str, segments: list[Segment], facts: list[SegmentFacts]) -> Analysis:
    t = tally(facts)
    contacts, on_topic = gather(t)
    a = Analysis(record_id, segments, facts, contacts, on_topic)
    s, a.features, a.evasion = _features(t, contacts, on_topic)
    a.strengths = dict(zip(_CATEGORIES, s, strict=True))
    return a


class Tally:
    """What a run of a record's field values adds up to, in their order: everything the record's score,
    features and reasons need from them, so a record is a few merges rather than a pass over each of its
    values for each of those. The run of an author's profile (hashtags, name, bio) recurs across their posts
    and is tallied once (Scorer.score).

    Merging tallies in order gives the tally of the whole: flags, counts and the weak words are unions and
    sums; a rule's strength is its first strongest occurrence, kept in the order rules first occur; lists
    (evasion values, the model's n-gram contributions to be added up one by one) are joined; the reasons are
    each tally's, sorted and without repeats, which the record's stable sort and `dedupe_reasons` read as
    they would the unsorted whole (a repeat within a run is dropped in any case)."""

    __slots__ = ("size", "flags", "parts", "norms", "topics", "per_rule", "items", "model_items", "quotable", "quoted",
                 "ev_values", "counts", "weak", "with_contacts")

    size: int  # field values tallied
    flags: int
    parts: list[float]  # the model's n-gram dot product of each value that has one, in order
    norms: list[float]  # and its squared norm
    topics: list[float]  # and its topic dot product
    per_rule: dict[str, tuple[float, int, float]]  # rule id -> SegmentFacts.rule_best entry
    items: list[tuple[float, tuple[str, str, str], Reason]]  # reasons, as SegmentFacts.reasons
    model_items: list[tuple[float, tuple[str, str], float]]  # the model's n-grams, as SegmentFacts.model_part
    quotable: int
    quoted: int
    ev_values: list[float]
    counts: list[int]  # spaced characters, split symbols, splits, zero-width, full-width letters
    weak: set[str] | frozenset[str]
    with_contacts: list[tuple[int, SegmentFacts]]  # (position in the run, value) of values with contacts


def tally(parts: list) -> Tally:
    """The tally of `parts`, each a SegmentFacts or the Tally of a run of them, in the record's order."""
    flags = 0
    ngram: list[float] = []
    norms: list[float] = []
    topics: list[float] = []
    per_rule: dict[str, tuple[float, int, float]] = {}
    get = per_rule.get
    items: list[tuple[float, tuple[str, str, str], Reason]] = []
    model_items: list[tuple[float, tuple[str, str], float]] = []
    quotable = quoted = 0
    ev_values: list[float] = []
    spaced = symbols = splits = zero_width = fullwidth = 0
    weak: set[str] | frozenset[str] = frozenset()
    with_contacts: list[tuple[int, SegmentFacts]] = []
    i = 0
    for p in parts:
        if type(p) is Tally:
            flags |= p.flags
            ngram += p.parts
            norms += p.norms
            topics += p.topics
            for rid, best in p.per_rule.items():
                old = get(rid)
                if old is None or best[0] > old[0]:
                    per_rule[rid] = best
            items += p.items
            model_items += p.model_items
            quotable += p.quotable
            quoted += p.quoted
            ev_values += p.ev_values
            c = p.counts
            spaced += c[0]
            symbols += c[1]
            splits += c[2]
            zero_width += c[3]
            fullwidth += c[4]
            if p.weak:
                weak = weak | p.weak
            if p.with_contacts:
                with_contacts += [(i + k, f) for k, f in p.with_contacts]
            i += p.size
            continue
        fl = p.flags
        flags |= fl
        part = p.model_part
        if part is not None:
            ngram.append(part[0])
            norms.append(part[1])
            topics.append(part[3])
            if part[2]:
                model_items += part[2]
        if p.reasons:
            items += p.reasons
        if p.counts:
            for rid, best in p.rule_best.items():
                old = get(rid)
                if old is None or best[0] > old[0]:
                    per_rule[rid] = best
            if p.quotable:
                quotable += p.quotable
                quoted += p.quoted
            if p.evasion_values:
                ev_values += p.evasion_values
            spaced += p.spaced_chars
            symbols += p.split_symbols
            splits += p.splits
            zero_width += p.zero_width
            fullwidth += p.fullwidth
        if fl & _WEAK:
            weak = weak | p.weak_words
        if fl & _CONTACTS:
            with_contacts.append((i, p))
        i += 1
    t = Tally()
    t.size, t.flags, t.parts, t.norms, t.topics, t.per_rule = i, flags, ngram, norms, topics, per_rule
    t.items, t.model_items = items, model_items
    t.quotable, t.quoted, t.ev_values = quotable, quoted, ev_values
    t.counts = [spaced, symbols, splits, zero_width, fullwidth]
    t.weak, t.with_contacts = weak, with_contacts
    return t


def tally_run(facts: list[SegmentFacts]) -> Tally:
    """The tally of a run of field values to merge into records: its reasons sorted and without repeats
    (see Tally)."""
    t = tally(facts)
    if len(t.items) > 1:
        t.items = first_of_each(sorted(t.items, key=_FIRST))
    if len(t.model_items) > 1:
        t.model_items = first_of_each(sorted(t.model_items, key=_FIRST))
    return t


def first_of_each(items: list) -> list:
    """`items` ((sort key, identity, ...)) without the later ones of the same identity."""
    seen: set = set()
    out = []
    for item in items:
        if item[1] not in seen:
            seen.add(item[1])
            out.append(item)
    return out


def gather(t: Tally) -> tuple[list[ContactInfo], bool]:
    """(the contacts of a record, whose they are, whether it is about personal debt at all) from its
    tally."""
    return gather_of(t.flags, t.with_contacts, t.weak)


def gather_of(flags: int, with_contacts: list[tuple[int, SegmentFacts]], weak: set[str] | frozenset[str]
              ) -> tuple[list[ContactInfo], bool]:
    """`gather` from a record's parts (as in Tally)."""
    contacts: list[ContactInfo] = []
    if flags & _CONTACTS:
        body_points = bool(flags & _POINTS)
        # a contact quoted in a post that warns or reports is the advert's, not the poster's
        negative = bool(flags & _NEGATIVE)
        qq_fallback = bool(flags & _QQ_CUE)
        for i, f in with_contacts:
            # comments the post points to are the author's: its contacts, or, when it points there to warn
            # ("我把大家报的号码整理一下放评论，别再有人上当了"), the ones it lists to warn against
            pointed = flags & _POINTS_WARNED and f.field == "comments" and not f.author_comment
            by_author = f.field != "comments" or f.author_comment or body_points
            for sc in f.contacts:
                contacts.append(ContactInfo(sc.found, i, f.field, by_author,
                                            sc.warned or (sc.quoted or pointed) and negative))
            if qq_fallback:
                for sc in f.bare:
                    contacts.append(ContactInfo(sc.found, i, f.field, by_author, False))
        if flags & _PIECES:
            joined = _joined(with_contacts, contacts, qq_fallback)
            if joined:
                # a first piece long enough to pass for an id on its own ("v前半：qingshan") is only its half
                halves = {(c.segment, c.found.start) for c in joined}
                contacts = [c for c in contacts if (c.segment, c.found.start) not in halves] + joined
    # the post and what its author pinned or replied (other people's comments carry no topic words or
    # evasion rule: SegmentFacts leaves them out)
    if flags & (_TOPIC | _EVASION_RULE):
        return contacts, True
    if len(weak) >= 2:
        return contacts, True
    return contacts, any(c.found.obfuscated and c.by_author for c in contacts)


def _joined(with_contacts: list[tuple[int, SegmentFacts]], contacts: list[ContactInfo], qq_cue: bool
            ) -> list[ContactInfo]:
    """The ids a record gives in pieces across its fields or sentences (contacts.join_pieces) that it does not
    also give whole, as the author's: other people's comments give no pieces."""
    pieces = [(i, p) for i, f in with_contacts for p, _ in f.pieces]
    known = {(c.found.type, c.found.value) for c in contacts}
    facts = dict(with_contacts)
    out = []
    for kind, value, i, first in join_pieces(pieces, qq_cue):
        if (kind, value) not in known:
            known.add((kind, value))
            found = FoundContact(kind, value, first.start, first.end, first.cue_start, True)
            out.append(ContactInfo(found, i, facts[i].field, True, False))
    return out


def _warned(text: str, start: int, end: int, sentence_ends: list[int], separators: list[int]) -> tuple[bool, bool]:
    """(warned, reported): the contact is quoted as something to avoid (a warning word in its sentence or close
    around it), or reported as someone else's (see _REPORTED_RE), and either way its own sentence does not
    invite contact. Positions of sentence ends and segment separators are given sorted, so a long post costs no
    more per contact than a short one."""
    k = bisect_right(separators, start)
    seg_start = separators[k - 1] + 1 if k else 0
    seg_end = separators[k] if k < len(separators) else len(text)
    i = bisect_right(sentence_ends, start - 1)
    left = max(seg_start, sentence_ends[i - 1] + 1 if i else 0, start - 80)
    j = bisect_right(sentence_ends, end - 1)
    right = min(seg_end, sentence_ends[j] if j < len(sentence_ends) else len(text), end + 80)
    own = text[left:right]
    if any(not _REPORTED_CTA_RE.search(own, 0, m.start()) for m in _CTA_RE.finditer(own)):
        return False, False
    around = text[max(seg_start, left - 30):min(seg_end, right + 40)]
    return bool(_WARN_RE.search(around)), bool(_REPORTED_RE.search(own))


def _inside(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    """Whether [start, end) lies strictly inside one of the sorted, non-overlapping `spans`."""
    k = bisect_right(spans, (start, -1)) - 1
    return k >= 0 and spans[k][0] < start and end <= spans[k][1]


def _negated(text: str, start: int) -> bool:
    return _NEGATED_BEFORE_RE.search(text, max(0, start - 10), start) is not None


def _factor(negative: bool, others_comment: bool, text: str, start: int, quoted: bool) -> float:
    """How much a hit counts given where and how it is said: other people's comments count half for
    evidence and not at all for negative context (a commenter calling a promotion a scam does not make it a
    warning); a negated claim ("从未委托第三方代办") counts 0.3, a quoted one ("所谓“停息挂账”") half."""
    if others_comment:
        return 0.0 if negative else 0.5
    if negative:
        return 1.0
    factor = 1.0
    if _negated(text, start):
        factor *= NEGATED_FACTOR
    if quoted:
        factor *= QUOTED_FACTOR
    return factor


def _noisy_or(values) -> float:
    p = 1.0
    for v in values:
        p *= 1.0 - min(1.0, max(0.0, v))
    return 1.0 - p


def _features(t: Tally, contacts: list[ContactInfo], on_topic: bool
              ) -> tuple[list[float], list[float], dict[str, float]]:
    """(strength of each category in _CATEGORIES order, the feature vector in FEATURES order, evasion signal
    kind -> strength)."""
    return features_of(t.per_rule.values(), t.quotable, t.quoted, t.ev_values, t.counts, contacts, on_topic)


def features_of(rules, quotable: int, quoted: int, ev_values: list[float], counts: list[int],
                contacts: list[ContactInfo], on_topic: bool) -> tuple[list[float], list[float], dict[str, float]]:
    """`_features` from a record's parts: `rules` the rule_best entries (in Tally.per_rule order), then as
    in Tally."""
    survive = [1.0] * len(_CATEGORIES)  # noisy-OR within a category: 1 - prod(1 - w)
    for _, cat, left in rules:
        survive[cat] *= left
    spaced, symbols, splits, zero_width, fullwidth = counts

    evasion: dict[str, float] = {}
    if ev_values or spaced >= 3 or symbols > splits or zero_width or fullwidth:
        if ev_values:
            evasion["words"] = _noisy_or(ev_values[:16])
        if spaced >= 3:
            evasion["spaced_characters"] = min(0.6, 0.08 * spaced)
        if symbols > splits:
            evasion["split_symbols"] = min(0.5, 0.1 * (symbols - splits))
        if zero_width:
            evasion["invisible_characters"] = 0.5
        if fullwidth:
            evasion["lookalike_letters"] = 0.2
    private = business = third_any = link = False
    if contacts:
        obfuscated = 0
        for c in contacts:
            kind = c.kind
            if c.by_author and not c.warned:
                if kind == "private":
                    if c.found.type == "url":
                        link = True
                    else:
                        private = True
                elif kind == "business":
                    business = True
                if c.found.obfuscated:
                    obfuscated += 1
            elif not c.by_author and not c.warned and kind == "private":  # (a commenter naming who cheated them
                third_any = True                                          # is not touting)
        if obfuscated:
            evasion["obfuscated_contact"] = 1.0 - 0.4 ** obfuscated
    if evasion:
        left = survive[_EVASION]
        for v in evasion.values():
            left *= 1.0 - min(1.0, max(0.0, v))
        survive[_EVASION] = left

    s = [1.0 - x for x in survive]
    (promise, diversion, fee, identity, policy, anti, brand, evasive, warning, news, official) = s
    if link and not private:
        # a link is the poster's own channel like a WeChat id, except where the post speaks officially: there
        # it is the lender's own help centre, a business line (a warning or a news item may be a disguise)
        if official >= LINK_CONTEXT:
            business = True
        else:
            private = True
    if on_topic:
        gate = 1.0
    else:
        gate = OFF_TOPIC_FACTOR
        promise, diversion, fee, identity = promise * gate, diversion * gate, fee * gate, identity * gate
        policy, anti, brand, evasive = policy * gate, anti * gate, brand * gate, evasive * gate
    if private:
        reach = max(diversion, gate)
        no_contact = 0.0
    else:
        damp = 1.0 - CONTEXT_DAMPING * max(warning, news, official)
        promise, fee, identity, policy, anti, brand = (
            promise * damp, fee * damp, identity * damp, policy * damp, anti * damp, brand * damp)
        reach = max(diversion, 0.7 * gate) if business else diversion
        no_contact = 1.0
    offer = max(promise, fee, anti, identity, policy, 0.5 * brand)
    features = [  # in FEATURES order
        promise, diversion, fee, identity, policy, anti, brand, evasive,
        gate if private else 0.0,
        gate if business else 0.0,
        gate if third_any and not private else 0.0,
        reach * offer,
        quoted / (quotable + 1),
        1.0 if on_topic else 0.0,
        warning * no_contact, news * no_contact, official * no_contact,
    ]
    return s, features, evasion
