"""The scorer: rule hits, evasion signals, contacts and the learned model combined into a score in [0, 1] with
reasons.

Rules side: a logistic function over a small feature vector (`analysis.FEATURES`) whose weights are data
(`weights.json`, fitted by `python -m takedown.scoring.fit`; a model artifact carries its own refit). Model side
(model.py, trained by training.py, stored by store.py): character n-grams of the normalised text plus the same
features; the final score is the calibrated stack of both logits. `get_scorer()` uses the current model under
<settings.var_dir>/models and builds the default one from the shared corpus on first use.

Every rule reason quotes the ORIGINAL text of the field it was found in, because complaints quote the post; the
model's reasons (category "model") quote the words behind its strongest n-grams.
Speed: field values are analysed once and cached (analysis.FactsCache), the new ones of a batch together
(normalised, matched and read by the model in one pass each); the run of values an author repeats (hashtags,
name, bio) is tallied once (analysis.Tally), and a record without comments is assembled from its title, its
description and that tally in one step (`Scorer._post`). None of it changes a score, reason or contact.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter, mul
from pathlib import Path
from typing import Any

from takedown.gcpause import gc_paused
from takedown.scoring.analysis import (
    _CONTACTS,
    _WEAK,
    FEATURES,
    MAX_REASONS_PER_RULE,
    Analysis,
    ContactInfo,
    FactsCache,
    SegmentFacts,
    Tally,
    _features,
    analyse,
    dedupe_reasons,
    features_of,
    first_of_each,
    gather,
    gather_of,
    reasons_of,
    rule_reasons,
    tally,
    tally_run,
)
from takedown.scoring.errors import RecordError, WeightsError
from takedown.scoring.fields import read_keys, read_segments
from takedown.scoring.lexicon import DEFAULT_LEXICON_PATH, Lexicon
from takedown.scoring.model import FIELDS_NOT_READ, TOP_FEATURES, Artifact, ngram_logit, sigmoid
from takedown.scoring.normalise import warm_up
from takedown.scoring.results import Contact, Reason, ScoreResult, shared_reason
from takedown.scoring.rules import DEFAULT_RULES_PATH, RuleSet
from takedown.scoring.store import ModelStore

log = logging.getLogger(__name__)
_FIRST = itemgetter(0)
TOPIC_FEATURE = FEATURES.index("debt_topic")  # the feature the learned topic raises (with_topic)

DEFAULT_WEIGHTS_PATH = Path(__file__).with_name("weights.json")
BATCH = 1000  # records whose new field values the model reads in one pass
# Scores keep ten decimals: enough to tell apart the strong candidates the queue ranks (a logit of 20 is
# 0.999999998), where four decimals made most of them tie at 1.0; and few enough that the batch and the
# one-record paths, which add the same terms in a different order, give the same score.
SCORE_DECIMALS = 10
__all__ = ["MAX_REASONS_PER_RULE", "Contact", "Reason", "ScoreResult", "Scorer", "Weights", "get_scorer"]


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

    Without a model, the score is the rules' fitted combination and `version` is "rules-" + the first 12 hex
    digits of the SHA-256 of the rules, lexicon and weights files. With a model artifact (model.py), the
    score is the calibrated stack of the rules' combination (refitted with the model) and the learned model,
    the reasons include the model's strongest n-grams, and `version` is the artifact's version.
    """

    def __init__(self, rules_path: str | Path = DEFAULT_RULES_PATH,
                 lexicon_path: str | Path = DEFAULT_LEXICON_PATH,
                 weights: str | Path | Weights = DEFAULT_WEIGHTS_PATH,
                 model: Artifact | None = None) -> None:
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
        self.model = model
        hook = None
        if model is not None:
            self.weights = Weights.from_dict(model.rule_weights, source=f"model {model.version}")
            self.version = model.version
            hook = _model_hook(model)
        self.facts = FactsCache(self.rules, self.lexicon, hook=hook)
        warm_up(self.lexicon)

    @classmethod
    def default(cls, store: ModelStore | None = None) -> Scorer:
        """The shipped rules with the current (or default, built on first use) model of `store`
        (default: <settings.var_dir>/models)."""
        store = store or ModelStore.default()
        try:
            model = store.for_scoring()
        except (OSError, ValueError) as exc:  # a broken store must not stop scoring
            log.error("scoring: no learned model (%s); scoring with the rules alone", exc)
            model = None
        return cls(model=model)

    # ------------------------------------------------------------------------------------------- API
    def score(self, records: Iterable[Mapping]) -> list[ScoreResult]:
        """One result per record, in order. Never raises for a bad record: a field of the wrong type is
        logged (naming the record and the field) and left out, and the rest of the record is scored.
        Use `score_many` to get the errors instead, or `score_one` to have them raised."""
        results: list[ScoreResult] = []
        parsed: list[tuple[str, list[tuple[str, str]]]] = []
        with gc_paused():  # the caches' objects alive, each pass of the collector would cost more than a batch
            for record in records:
                keys = read_keys(record)
                if keys is None:  # not the plain shape: the careful reader says what is wrong
                    rid, segments, problems = read_segments(record, strict=False)
                    for problem in problems:
                        log.warning("scoring: %s (field left out)", problem)
                    keys = rid, [(s.field, s.text) for s in segments]
                parsed.append(keys)
            build, fast = self._build, self._post
            profiles = self.facts.profiles
            for start in range(0, len(parsed), BATCH):
                chunk = parsed[start:start + BATCH]
                # every field value new to the cache is analysed, then read by the model in one pass
                facts = self.facts.get_many([key for _, keys in chunk for key in keys])
                k = 0
                for rid, keys in chunk:
                    n = len(keys)
                    mine = facts[k:k + n]
                    k += n
                    # title, desc, [the profile: hashtags, name, bio], comments
                    end = n
                    while keys[end - 1][0] == "comments":
                        end -= 1
                    run = tuple(mine[2:end])
                    profile = profiles.get(run)
                    if profile is None:
                        profile = profiles[run] = tally_run(mine[2:end])
                    if end == n:
                        results.append(fast(rid, mine[0], mine[1], profile))
                    else:
                        t = tally([mine[0], mine[1], profile, *mine[end:]])
                        contacts, on_topic = gather(t)
                        results.append(build(rid, t, contacts, _features(t, contacts, on_topic)[1]))
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
        return analyse(rid, segments, self.rules, self.lexicon, self.facts)

    def features(self, record: Mapping) -> dict[str, float]:
        return dict(zip(FEATURES, self.analyse(record).features, strict=True))

    def logits(self, a: Analysis) -> tuple[float, float | None]:
        """(rule logit, model logit or None without a model) of an analysed record."""
        return self._logits(tally(a.facts), a.features)[:2]

    def _logits(self, t: Tally, features: list[float]) -> tuple[float, float | None, float]:
        """(rule logit, model logit or None, 1 / the record's n-gram norm)."""
        w = self.weights
        model = self.model
        if model is None:
            return w.intercept + sum(map(mul, w.coefficients, features)), None, 0.0
        ngram, inv = ngram_logit(t.parts, t.norms)
        features = with_topic(features, model.topic(t.topics, inv))
        rule_z = w.intercept + sum(map(mul, w.coefficients, features))
        return rule_z, model.intercept + ngram + sum(map(mul, model.rule_coef, features)), inv

    # ------------------------------------------------------------------------------------- internals
    def _post(self, rid: str, title: SegmentFacts, desc: SegmentFacts, profile: Tally) -> ScoreResult:
        """`_build` of a record without comments: `tally([title, desc, profile])` and what `_build` reads
        from it, worked out in place (the same operations in the same order: see Tally), because nearly every
        record takes this way."""
        flags = title.flags | desc.flags | profile.flags
        # rule strengths: the first strongest occurrence of each rule, in the order rules first occur
        if title.counts or desc.counts:
            per_rule = dict(title.rule_best)
            _merge_rules(per_rule, desc.rule_best)
            _merge_rules(per_rule, profile.per_rule)
            rules = per_rule.values()
            quotable = title.quotable + desc.quotable + profile.quotable
            quoted = title.quoted + desc.quoted + profile.quoted
            ev_values = title.evasion_values + desc.evasion_values + profile.ev_values
            c = profile.counts
            counts = [title.spaced_chars + desc.spaced_chars + c[0], title.split_symbols + desc.split_symbols + c[1],
                      title.splits + desc.splits + c[2], title.zero_width + desc.zero_width + c[3],
                      title.fullwidth + desc.fullwidth + c[4]]
        else:
            rules = profile.per_rule.values()
            quotable, quoted, ev_values, counts = profile.quotable, profile.quoted, profile.ev_values, profile.counts
        with_contacts: list[tuple[int, SegmentFacts]] = []
        if flags & _CONTACTS:
            if title.flags & _CONTACTS:
                with_contacts.append((0, title))
            if desc.flags & _CONTACTS:
                with_contacts.append((1, desc))
            with_contacts += [(2 + k, f) for k, f in profile.with_contacts]
        contacts, on_topic = gather_of(flags, with_contacts, title.weak_words | desc.weak_words | profile.weak
                                       if flags & _WEAK else frozenset())
        features = features_of(rules, quotable, quoted, ev_values, counts, contacts, on_topic)[1]

        w = self.weights
        model = self.model
        if model is not None:
            part0, part1 = title.model_part, desc.model_part
            # in the record's order, as tally() has them
            dots, norms, topics = profile.parts, profile.norms, profile.topics
            if part1 is not None:
                dots, norms, topics = [part1[0], *dots], [part1[1], *norms], [part1[3], *topics]
            if part0 is not None:
                dots, norms, topics = [part0[0], *dots], [part0[1], *norms], [part0[3], *topics]
            ngram, inv = ngram_logit(dots, norms)
            features = with_topic(features, model.topic(topics, inv))
        rule_z = w.intercept + sum(map(mul, w.coefficients, features))
        items = title.reasons + desc.reasons + profile.items
        if contacts:
            reasons = reasons_of(items, with_contacts, contacts)
        else:  # the three have different fields, and each is without repeats: no two items are the same
            reasons = dedupe_reasons(items, distinct=True)
        if model is None:
            score = sigmoid(rule_z)
        else:
            model_z = model.intercept + ngram + sum(map(mul, model.rule_coef, features))
            score = sigmoid(model.stack.logit(rule_z, model_z))
            top = profile.model_items
            if part0 is not None and part0[2] or part1 is not None and part1[2]:
                top = (part0[2] if part0 is not None else []) + (part1[2] if part1 is not None else []) + top
            if top:
                reasons += _top_model_reasons(top, inv)
        return ScoreResult(rid, round(score, SCORE_DECIMALS), reasons, _contacts(contacts), self.version)

    def _result(self, a: Analysis) -> ScoreResult:
        return self._build(a.record_id, tally(a.facts), a.contacts, a.features)

    def _build(self, rid: str, t: Tally, contacts: list[ContactInfo], features: list[float]) -> ScoreResult:
        rule_z, model_z, inv_norm = self._logits(t, features)
        reasons = rule_reasons(t, contacts)
        if model_z is None:
            score = sigmoid(rule_z)
        else:
            score = sigmoid(self.model.stack.logit(rule_z, model_z))  # type: ignore[union-attr]
            reasons += _top_model_reasons(t.model_items, inv_norm)
        return ScoreResult(rid, round(score, SCORE_DECIMALS), reasons, _contacts(contacts), self.version)


_MODEL_EXPLANATION_POS = "学习模型：该用语常见于审核确认的代理维权推广内容。"
_MODEL_EXPLANATION_NEG = "学习模型：该用语常见于防骗提醒、新闻或官方内容。"


def with_topic(features: list[float], topic: float | None) -> list[float]:
    """The rule features with debt_topic raised to the learned topic probability where that is higher (a new
    list: the caller's may be an Analysis's). Training reads its records the same way (training.logits)."""
    if topic is None or topic <= features[TOPIC_FEATURE]:
        return features
    features = list(features)
    features[TOPIC_FEATURE] = topic
    return features


def _merge_rules(into: dict[str, tuple[float, int, float]], later: dict[str, tuple[float, int, float]]) -> None:
    """Merge the rule strengths of later field values into `into` as Tally does one by one: a new rule goes
    at the end (in `later`'s order), a known one keeps its place and takes the later value only when it is
    stronger (dict.update, then the earlier values put back where they were not weaker)."""
    if not later:
        return
    common = into.keys() & later.keys()
    earlier = {rule: into[rule] for rule in common}
    into.update(later)
    for rule in common:
        if not later[rule][0] > earlier[rule][0]:
            into[rule] = earlier[rule]


def _top_model_reasons(items: list[tuple[float, tuple[str, str], float]], inv_norm: float) -> list[Reason]:
    """The model's strongest n-grams over the record, as reasons weighted by their contribution to the final
    logit (their unnormalised weight times 1 / the record's norm), from the record's model items
    (Tally.model_items); those that round to less than 0.05 are left out."""
    if not items:
        return []
    if len(items) > 1:
        items = sorted(items, key=_FIRST)
    out: list[Reason] = []
    seen: set[tuple[str, str]] = set()
    for _, key, u in items:
        if key in seen:
            continue
        seen.add(key)
        weight = round(u * inv_norm, 3)
        if abs(weight) < 0.05:  # the items are strongest first: the rest are weaker still
            break
        out.append(shared_reason("model.ngram", "model", key[0], key[1], weight,
                                 _MODEL_EXPLANATION_POS if weight > 0 else _MODEL_EXPLANATION_NEG))
        if len(out) == TOP_FEATURES:
            break
    return out


def _model_hook(model: Artifact):
    """Reads a batch of new field values with the model: each one's n-gram contribution to the model logit,
    and its strongest n-grams as reasons (weighted by their share of the final, stacked logit)."""
    ngrams = model.ngrams
    scale = model.stack.model
    # n-grams whose weight below could not round to 0.05 are left out in the batch (nearly all of them):
    # |c * scale| < 0.0494 rounds to at most 0.049
    floor = 0.049 / abs(scale) if scale else 0.0

    def hook(facts: list) -> None:
        facts = [f for f in facts if f.field not in FIELDS_NOT_READ]
        for f, (dot, norm2, top, topic) in zip(facts, ngrams.batch([f.ntext for f in facts], floor), strict=True):
            if not top:
                f.model_part = (dot, norm2, [], topic)
                continue
            norm = f.norm
            items = []
            for g, c in top:
                i = f.ntext.find(g)
                if i < 0:
                    continue
                quote = norm.quote(i, i + len(g)).strip()
                if quote:
                    u = c * scale
                    items.append((-abs(u), (f.field, quote), u))
            # sorted (stably) and without repeats beforehand: _top_model_reasons then reads them the same way
            items.sort(key=_FIRST)
            f.model_part = (dot, norm2, first_of_each(items), topic)

    return hook


def _contacts(contacts: list[ContactInfo]) -> list[Contact]:
    if not contacts:
        return []
    seen: dict[tuple[str, str], None] = {}
    for c in contacts:
        seen.setdefault((c.found.type, c.found.value), None)
    return [_contact(t, v) for t, v in seen]


@lru_cache(maxsize=20_000)
def _contact(kind: str, value: str) -> Contact:
    """Contacts are immutable: an author's recurring contact is built once."""
    return Contact(kind, value)


@lru_cache(maxsize=1)
def get_scorer() -> Scorer:
    """The default scorer, built once per process: the shipped rules and lexicon with the current learned
    model under <settings.var_dir>/models (the default model is built from the shared corpus on first use)."""
    return Scorer.default()
