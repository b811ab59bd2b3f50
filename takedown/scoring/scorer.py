"""The scorer: rule hits, evasion signals and contacts combined into a score in [0, 1] with reasons.

The combination is a logistic function over a small feature vector (`analysis.FEATURES`); its weights are
data (`weights.json`, fitted by `python -m takedown.scoring.fit`) and nothing is trained at import.
Every reason quotes the ORIGINAL text of the field it was found in, because complaints quote the post.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from takedown.scoring.analysis import FEATURES, Analysis, analyse, evasion_signals
from takedown.scoring.errors import RecordError, WeightsError
from takedown.scoring.fields import FIELD_LABELS, read_segments
from takedown.scoring.lexicon import DEFAULT_LEXICON_PATH, Lexicon
from takedown.scoring.normalise import warm_up
from takedown.scoring.rules import DEFAULT_RULES_PATH, RuleSet

log = logging.getLogger(__name__)

DEFAULT_WEIGHTS_PATH = Path(__file__).with_name("weights.json")
MAX_REASONS_PER_RULE = 3


@dataclass(frozen=True, slots=True)
class Reason:
    rule: str
    category: str
    field: str
    text: str
    weight: float = 0.0
    explanation: str = ""


@dataclass(frozen=True, slots=True)
class Contact:
    type: str  # wechat | phone | qq | url | other
    value: str  # normalised: digits only for phone and QQ, lower-case WeChat id


@dataclass(slots=True)
class ScoreResult:
    id: str
    score: float
    reasons: list[Reason]
    contacts: list[Contact]
    model_version: str

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "score": self.score,
            "reasons": [{"rule": r.rule, "category": r.category, "field": r.field, "text": r.text}
                        for r in self.reasons],
            "contacts": [{"type": c.type, "value": c.value} for c in self.contacts],
        }


@dataclass(frozen=True, slots=True)
class Weights:
    intercept: float
    coefficients: tuple[float, ...]  # in FEATURES order

    @classmethod
    def load(cls, path: str | Path = DEFAULT_WEIGHTS_PATH) -> Weights:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise WeightsError(f"{path}: cannot read weights: {exc}") from exc
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<dict>") -> Weights:
        coef = data.get("coefficients")
        if not isinstance(coef, Mapping):
            raise WeightsError(f"{source}: 'coefficients' must map feature names to numbers")
        missing = [f for f in FEATURES if f not in coef]
        extra = [f for f in coef if f not in FEATURES]
        if missing or extra:
            raise WeightsError(f"{source}: features do not match the scorer: missing {missing}, unknown {extra}")
        try:
            return cls(float(data["intercept"]), tuple(float(coef[f]) for f in FEATURES))
        except (KeyError, TypeError, ValueError) as exc:
            raise WeightsError(f"{source}: 'intercept' and coefficients must be numbers: {exc}") from exc

    def combine(self, features: Sequence[float]) -> float:
        z = self.intercept + sum(w * x for w, x in zip(self.coefficients, features, strict=True))
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        ez = math.exp(z)
        return ez / (1.0 + ez)


class Scorer:
    """Scores records (dicts with id, platform, title, desc, hashtags, author_name, author_bio, comments).

    `version` is "rules-" + the first 12 hex digits of the SHA-256 of the rules, lexicon and weights files.
    """

    def __init__(self, rules_path: str | Path = DEFAULT_RULES_PATH,
                 lexicon_path: str | Path = DEFAULT_LEXICON_PATH,
                 weights: str | Path | Weights = DEFAULT_WEIGHTS_PATH) -> None:
        self.rules = RuleSet.load(rules_path)
        self.lexicon = Lexicon.load(lexicon_path)
        digest = hashlib.sha256()
        for path in (rules_path, lexicon_path):
            digest.update(Path(path).read_bytes())
        if isinstance(weights, Weights):
            self.weights = weights
            digest.update(repr(weights).encode())
        else:
            self.weights = Weights.load(weights)
            digest.update(Path(weights).read_bytes())
        self.version = "rules-" + digest.hexdigest()[:12]
        warm_up(self.lexicon)

    # ------------------------------------------------------------------------------------------- API
    def score(self, records: Iterable[Mapping]) -> list[ScoreResult]:
        """One result per record, in order. Never raises for a bad record: a field of the wrong type is
        logged (naming the record and the field) and left out, and the rest of the record is scored.
        Use `score_many` to get the errors instead, or `score_one` to have them raised."""
        results = []
        for record in records:
            rid, segments, problems = read_segments(record, strict=False)
            for problem in problems:
                log.warning("scoring: %s (field left out)", problem)
            results.append(self._result(self.analyse_segments(rid, segments)))
        return results

    def score_one(self, record: Mapping) -> ScoreResult:
        """Score one record; raises `RecordError` (naming the record and the field) for a wrong type."""
        rid, segments, _ = read_segments(record, strict=True)
        return self._result(self.analyse_segments(rid, segments))

    def score_many(self, records: Iterable[Mapping]) -> list[ScoreResult | RecordError]:
        """One entry per record, in order: its result, or the `RecordError` that kept it from being scored."""
        out: list[ScoreResult | RecordError] = []
        for record in records:
            try:
                out.append(self.score_one(record))
            except RecordError as exc:
                out.append(exc)
        return out

    # ----------------------------------------------------------------------------------------- tools
    def analyse(self, record: Mapping) -> Analysis:
        """The evidence behind a score (hits, contacts, evasion, feature vector); raises `RecordError`."""
        rid, segments, _ = read_segments(record, strict=True)
        return self.analyse_segments(rid, segments)

    def analyse_segments(self, rid: str, segments) -> Analysis:
        return analyse(rid, segments, self.rules, self.lexicon)

    def features(self, record: Mapping) -> dict[str, float]:
        return dict(zip(FEATURES, self.analyse(record).features, strict=True))

    # ------------------------------------------------------------------------------------- internals
    def _result(self, a: Analysis) -> ScoreResult:
        score = round(self.weights.combine(a.features), 4)
        return ScoreResult(a.record_id, score, _reasons(a), _contacts(a), self.version)


def _contacts(a: Analysis) -> list[Contact]:
    seen: dict[tuple[str, str], None] = {}
    for c in a.contacts:
        seen.setdefault((c.found.type, c.found.value), None)
    return [Contact(t, v) for t, v in seen]


_CONTACT_NAMES = {"wechat": "微信号", "qq": "QQ号", "url": "外部链接", "other": "电子邮箱"}


def _contact_reason(a: Analysis, c) -> Reason | None:
    kind = c.kind
    if kind == "hotline":
        return None
    s, e = a.norm.base_span(c.found.cue_start, c.found.end)
    text = a.original[s:e].strip()
    where = FIELD_LABELS.get(c.field, c.field)
    if c.found.type == "phone":
        name = "个人手机号码" if kind == "private" else "联系电话"
    else:
        name = _CONTACT_NAMES.get(c.found.type, "联系方式")
    if c.warned:
        return Reason("contact.quoted_in_warning", "warning", c.field, text, -0.3,
                      "内容将该联系方式作为诈骗或冒充示例予以警示。")
    if not c.by_author:
        return Reason("contact.third_party_comment", "diversion", c.field, text, 0.2,
                      f"评论区由他人留下{name}，疑似配合引流。")
    weight = 0.6 if kind == "private" else 0.35
    if c.found.obfuscated:
        return Reason(f"contact.{c.found.type}", "diversion", c.field, text, weight + 0.1,
                      f"在{where}中以中文数字、空格或符号拆写{name}，规避平台识别并引导用户私下联系。")
    return Reason(f"contact.{c.found.type}", "diversion", c.field, text, weight,
                  f"在{where}中留有{name}，引导用户脱离平台私下联系。")


_EVASION_EXPLANATIONS = {
    "split_word": "在字与字之间插入空格、符号或表情拆分敏感词，以规避平台关键词审核。",
}


def _reasons(a: Analysis) -> list[Reason]:
    reasons: list[Reason] = []
    span = a.norm.span
    original = a.original
    factors = a.hit_factors
    seen_hits: set[tuple[str, str, int, int]] = set()
    for h in a.hits:
        rule = h.rule
        s, e = span(h.start, h.end)
        key = (rule.id, h.field, s, e)
        if key in seen_hits:
            continue
        seen_hits.add(key)
        text = original[s:e].strip()
        if text:
            reasons.append(Reason(rule.id, rule.category, h.field, text,
                                  round(rule.weight * factors.get(id(h), 1.0), 3), rule.explanation))
    for c in a.contacts:
        r = _contact_reason(a, c)
        if r:
            reasons.append(r)
    for kind, strength, span, detail in evasion_signals(a):
        if span is None:
            continue
        s, e = span
        text = a.original[s:e].strip()
        seg = a.segment_at(s)
        if not text or not a.segments:
            continue
        fld = a.segments[seg].field
        if kind == "disguised_word":
            explanation = f"使用谐音、拼音或符号变体“{text}”指代“{detail}”，以规避平台审核。"
        else:
            explanation = _EVASION_EXPLANATIONS.get(kind, "以变体写法规避平台审核。")
        reasons.append(Reason(f"evasion.{kind}", "evasion", fld, text, strength, explanation))

    out: list[Reason] = []
    seen: set[tuple[str, str, str]] = set()
    per_rule: dict[str, int] = {}
    for r in sorted(reasons, key=lambda r: (r.weight < 0, -abs(r.weight))):
        key = (r.rule, r.field, r.text)
        if key in seen or per_rule.get(r.rule, 0) >= MAX_REASONS_PER_RULE:
            continue
        seen.add(key)
        per_rule[r.rule] = per_rule.get(r.rule, 0) + 1
        out.append(r)
    return out


@lru_cache(maxsize=1)
def get_scorer() -> Scorer:
    """The default scorer (shipped rules, lexicon and weights), built once per process."""
    return Scorer()
