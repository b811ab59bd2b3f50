"""Scoring rules (`rules.yaml`): loading, validation, and matching over a record's normalised fields.

All patterns are compiled once at load. For speed, the patterns of the rules of one category are joined
into one scanner (see regexopt), so a record costs one scan per category rather than one per pattern, and
`match_many` scans many texts in one pass per category (regexopt's joined scans: the same hits). Rules
are tried broadest field set first; when a match falls in a field its rule does not cover, the text it
spans is scanned again with only the rules that cover that field, so the discarded match hides nothing.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from takedown.scoring.errors import RulesError
from takedown.scoring.regexopt import Batch, Scanner
from takedown.scoring.yamlfile import read_yaml

DEFAULT_RULES_PATH = Path(__file__).with_name("rules.yaml")

FIELDS = ("title", "desc", "hashtags", "bio", "comments", "author_name")
POSITIVE_CATEGORIES = (
    "promise", "diversion", "fee", "false_identity", "fake_policy", "anti_collection", "brand_target", "evasion",
)
NEGATIVE_CATEGORIES = ("warning", "news", "official")
CATEGORIES = POSITIVE_CATEGORIES + NEGATIVE_CATEGORIES

_RULE_KEYS = {"id", "category", "patterns", "fields", "weight", "explanation"}
_ID_RE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z0-9_]+$")
_GLOBAL_FLAGS_RE = re.compile(r"^\(\?[aiLmsux]+\)")
_CJK_RE = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    category: str
    patterns: tuple[str, ...]
    fields: frozenset[str]
    weight: float
    explanation: str

    @property
    def negative(self) -> bool:
        return self.category in NEGATIVE_CATEGORIES


class Hit(NamedTuple):
    """One match of a rule: [start, end) in the normalised text, in the segment `segment` of field `field`."""

    rule: Rule
    field: str
    segment: int
    start: int
    end: int


class RuleSet:
    """The compiled rules. `RuleSet.load(path)` validates the file and raises `RulesError` naming the rule
    and the key that is wrong."""

    def __init__(self, rules: Sequence[Rule], source: str = "<dict>", topic_words: Sequence[str] = (),
                 topic_weak_words: Sequence[str] = ()) -> None:
        self.rules = tuple(rules)
        self.source = source
        self.topic_re = re.compile("|".join(f"(?:{p})" for p in topic_words)) if topic_words else None
        self.topic_weak_re = (
            re.compile("|".join(f"(?:{p})" for p in topic_weak_words)) if topic_weak_words else None
        )
        # the same expressions rewritten for speed (regexopt): whether a text has a topic word is whether
        # either union of the scanner matches; the weak words found are the fast union's matches when every
        # pattern could be rewritten (then it matches what topic_weak_re matches), else topic_weak_re's
        topic_scan = Scanner([(p, "") for p in topic_words]) if topic_words else None
        self.topic_res = [rx for rx in (topic_scan.fast, topic_scan.slow) if rx is not None] if topic_scan else []
        weak_scan = Scanner([(p, "") for p in topic_weak_words]) if topic_weak_words else None
        self.weak_union = weak_scan.fast if weak_scan is not None and weak_scan.slow is None else self.topic_weak_re
        self.by_id = {r.id: r for r in self.rules}
        by_category: dict[str, list[Rule]] = {}
        for rule in self.rules:
            by_category.setdefault(rule.category, []).append(rule)
        self._groups: list[tuple[str, Scanner[Rule], frozenset[str]]] = []
        self._field_scanners: dict[tuple[str, str], Scanner[Rule] | None] = {}
        for category, members in by_category.items():
            members = sorted(members, key=lambda r: -len(r.fields))  # stable: file order within a size
            fields = frozenset().union(*(r.fields for r in members))
            try:
                scanner = Scanner([(p, rule) for rule in members for p in rule.patterns], re.MULTILINE)
                for f in fields:
                    covering = [(p, r) for r in members if f in r.fields for p in r.patterns]
                    self._field_scanners[(category, f)] = Scanner(covering, re.MULTILINE) if covering else None
            except re.error as exc:  # pragma: no cover - each pattern compiled alone already
                raise RulesError(f"{source}: rules {[r.id for r in members]} cannot be combined: {exc}") from exc
            self._groups.append((category, scanner, fields))

    @classmethod
    def load(cls, path: str | Path = DEFAULT_RULES_PATH) -> RuleSet:
        return cls.from_dict(read_yaml(path, RulesError), source=str(path))

    @classmethod
    def from_dict(cls, data: Any, source: str = "<dict>") -> RuleSet:
        if not isinstance(data, Mapping) or not isinstance(data.get("rules"), list):
            raise RulesError(f"{source}: top level must be a mapping with a list under 'rules'")
        unknown = set(data) - {"version", "fields", "rules", "topic"}
        if unknown:
            raise RulesError(f"{source}: unknown top-level key(s) {sorted(unknown)}")
        rules: list[Rule] = []
        seen: set[str] = set()
        for i, item in enumerate(data["rules"]):
            rule = _parse_rule(source, i, item)
            if rule.id in seen:
                raise RulesError(f"{source}: rule {rule.id!r}: key 'id': duplicate id")
            seen.add(rule.id)
            rules.append(rule)
        if not rules:
            raise RulesError(f"{source}: 'rules' is empty")
        topic = data.get("topic") or {}
        if not isinstance(topic, Mapping) or set(topic) - {"words", "weak_words"}:
            raise RulesError(f"{source}: 'topic' must be a mapping with keys words, weak_words")
        lists = {}
        for key in ("words", "weak_words"):
            patterns = topic.get(key) or []
            if not isinstance(patterns, list) or not all(isinstance(p, str) and p for p in patterns):
                raise RulesError(f"{source}: topic: key {key!r} must be a list of regular expressions")
            for k, pattern in enumerate(patterns):
                try:
                    compiled = re.compile(pattern)
                except re.error as exc:
                    raise RulesError(f"{source}: topic: {key}[{k}] {pattern!r}: does not compile: {exc}") from exc
                if compiled.groups or compiled.fullmatch(""):
                    raise RulesError(f"{source}: topic: {key}[{k}] {pattern!r}: no capturing groups, "
                                     "must not match the empty string")
            lists[key] = patterns
        return cls(rules, source, lists["words"], lists["weak_words"])

    def match(self, text: str, segment_starts: Sequence[int], segment_ends: Sequence[int],
              segment_fields: Sequence[str]) -> list[Hit]:
        """All rule hits in `text`, a record's normalised fields joined; segment i is
        text[segment_starts[i]:segment_ends[i]] and belongs to field segment_fields[i]."""
        present = set(segment_fields)
        hits: list[Hit] = []
        for category, scanner, fields in self._groups:
            if fields.isdisjoint(present):
                continue
            self._keep(category, scanner.findall(text), text, segment_starts, segment_ends, segment_fields, hits)
        return hits

    def match_many(self, texts: Sequence[str] | Batch, fields: Sequence[str]) -> list[list[Hit]]:
        """`match_text(texts[i], fields[i])` for every i, each category scanning all the texts at once."""
        batch = texts if isinstance(texts, Batch) else Batch(texts)
        out: list[list[Hit]] = [[] for _ in range(len(batch))]
        for category, scanner, covered in self._groups:
            for i, found in scanner.findall_batch(batch).items():
                if found and fields[i] in covered:
                    text = batch.texts[i]
                    self._keep(category, found, text, [0], [len(text)], [fields[i]], out[i])
        return out  # each text's hits category by category, as `match` gives them

    def _keep(self, category: str, found: list[tuple[int, int, Rule]], text: str, segment_starts: Sequence[int],
              segment_ends: Sequence[int], segment_fields: Sequence[str], hits: list[Hit]) -> None:
        """Add to `hits` the matches of one category's scanner that count where they are."""
        k = 0
        while k < len(found):
            start, end, rule = found[k]
            k += 1
            seg = bisect_right(segment_starts, start) - 1
            if seg < 0 or end == start:
                continue
            field = segment_fields[seg]
            if field not in rule.fields:
                retry = self._field_scanners.get((category, field))
                if retry is not None:
                    found[k:k] = [x for x in retry.findall_starting(text, start, end) if x[2] is not rule]
                continue
            if end > segment_ends[seg]:
                continue
            hits.append(Hit(rule, field, seg, start, end))

    def on_topic(self, text: str) -> bool:
        """Whether `text` (normalised) is about personal debt at all (see `topic` in rules.yaml): one of
        the topic words, or two different weak topic words."""
        if self.topic_re is None and self.topic_weak_re is None:
            return True
        if self.topic_re is not None and self.topic_re.search(text):
            return True
        if self.topic_weak_re is not None:
            return len(set(self.topic_weak_re.findall(text))) >= 2
        return False

    def match_text(self, text: str, field: str = "desc") -> list[Hit]:
        """Hits in one already-normalised text treated as `field` (for tests and tools)."""
        return self.match(text, [0], [len(text)], [field])


def _parse_rule(source: str, i: int, item: Any) -> Rule:
    if not isinstance(item, Mapping):
        raise RulesError(f"{source}: rules[{i}]: must be a mapping with keys {sorted(_RULE_KEYS)}")
    rule_id = item.get("id")
    if not isinstance(rule_id, str) or not _ID_RE.match(rule_id):
        raise RulesError(f"{source}: rules[{i}]: key 'id': must look like 'category.name', got {rule_id!r}")
    where = f"{source}: rule {rule_id!r}"
    unknown = set(item) - _RULE_KEYS
    if unknown:
        raise RulesError(f"{where}: unknown key(s) {sorted(unknown)}")
    missing = _RULE_KEYS - set(item)
    if missing:
        raise RulesError(f"{where}: missing key(s) {sorted(missing)}")

    category = item["category"]
    if category not in CATEGORIES:
        raise RulesError(f"{where}: key 'category': {category!r} is not one of {', '.join(CATEGORIES)}")
    if rule_id.split(".", 1)[0] != category:
        raise RulesError(f"{where}: key 'id': must start with its category '{category}.'")

    patterns = item["patterns"]
    if not isinstance(patterns, list) or not patterns or not all(isinstance(p, str) and p for p in patterns):
        raise RulesError(f"{where}: key 'patterns': must be a non-empty list of non-empty strings")
    for k, pattern in enumerate(patterns):
        label = f"{where}: key 'patterns'[{k}] {pattern!r}"
        if _GLOBAL_FLAGS_RE.match(pattern):
            raise RulesError(f"{label}: inline global flags are not allowed (text is already lower-case)")
        try:
            compiled = re.compile(pattern, re.MULTILINE)
        except re.error as exc:
            raise RulesError(f"{label}: does not compile: {exc}") from exc
        if compiled.groups:
            raise RulesError(f"{label}: capturing groups are not allowed; use (?:...)")
        if compiled.fullmatch(""):
            raise RulesError(f"{label}: matches the empty string")

    fields = item["fields"]
    if (not isinstance(fields, list) or not fields or not all(isinstance(f, str) for f in fields)
            or not set(fields) <= set(FIELDS)):
        raise RulesError(f"{where}: key 'fields': must be a non-empty list drawn from {', '.join(FIELDS)}")

    weight = item["weight"]
    if isinstance(weight, bool) or not isinstance(weight, int | float):
        raise RulesError(f"{where}: key 'weight': must be a number")
    weight = float(weight)
    if category in NEGATIVE_CATEGORIES and not -1.0 <= weight < 0.0:
        raise RulesError(f"{where}: key 'weight': a {category} rule needs -1 <= weight < 0, got {weight}")
    if category in POSITIVE_CATEGORIES and not 0.0 < weight <= 1.0:
        raise RulesError(f"{where}: key 'weight': a {category} rule needs 0 < weight <= 1, got {weight}")

    explanation = item["explanation"]
    if not isinstance(explanation, str) or not _CJK_RE.search(explanation):
        raise RulesError(f"{where}: key 'explanation': must be a Chinese sentence")
    explanation = explanation.strip()
    if not explanation.endswith("。") or explanation.count("。") != 1:
        raise RulesError(f"{where}: key 'explanation': must be one sentence ending with 。")

    return Rule(rule_id, category, tuple(patterns), frozenset(fields), weight, explanation)
