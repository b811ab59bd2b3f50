"""The learned model at scoring time: character n-grams of the normalised text plus the rule features, and the
calibrated stack that combines it with the rule score. The artifact is JSON (`training.py` fits it and writes
it); the n-grams of a batch of texts are counted and weighted with numpy (ngrams.py), and looked up in the
vocabulary through a hash table (`CodeTable`).

The n-gram part is one TF-IDF vector per record (sublinear tf, l2-normalised over the whole record), built
from its fields' vectors so that each field value is read once and cached: a field value contributes its
unnormalised dot product with the coefficients and its squared norm, and the record's n-gram logit is
sum(dots) / sqrt(sum(squared norms)). (A vector per field, each normalised on its own, gave a short field
such as an author's name as much weight as the whole description, and ranked worse on every adversarial set.)

    topic        = sigmoid(topic intercept + topic coef . tfidf(record))
    rule features: debt_topic raised to at least `topic`
    model logit  = intercept + coef . tfidf(record) + rule_coef . rule features
    rule logit   = the rules' fitted combination (see scorer.Weights)
    score        = sigmoid(a * rule logit + b * model logit + c)     (a, b, c: see training.py)

The topic is a second logistic regression over the same n-grams: is the post about personal debt at all
(promotions, warnings, news, lenders' notices, debtors' stories) or not (a used-camera sale, a cooking video
that shares a word). The rules' own topic test (words from their topic list) misses promotions that name no
debt word the rules know, and the feature then pulled them down with the off-topic sales; the learned topic
reads the words around them too. It can only raise the rules' answer, never lower it, and only when it is
confident (topic_min: see training.TrainConfig).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from takedown.scoring.errors import ConfigError
from takedown.scoring.ngrams import code_of, doc_codes, sublinear_tf

ARTIFACT_FORMAT = 2  # 2: the n-grams carry topic coefficients, and the artifact a topic intercept
MODEL_FILE = "model.json"
TOP_FEATURES = 3  # model features listed among a score's reasons
# Fields the n-grams do not read (the rules still do). Hashtags say what a post is about, not whether it sells:
# debtors venting and warnings tag #停息挂账 to be found as promotions do, but in the labelled sets mostly the
# promotions carried them, and the n-grams learned them as a promotion's mark (on the emulator's corpus, 89 of
# 1,100 hard negatives went over 0.5 with them, 16 without; the adversarial sets ranked as well or better).
FIELDS_NOT_READ = frozenset({"hashtags"})


class ModelError(ConfigError):
    """A model artifact that cannot be read or does not fit this scorer."""


class NgramModel:
    """n-gram -> (idf, coefficient, topic coefficient) over char n-grams of lengths ngram_range (at most 3).
    `batch` reads many texts at once with numpy (see ngrams.py): sublinear tf x idf over the vocabulary, dot the
    coefficients, dot the topic coefficients, and the squared norm, all before normalising (the record's fields
    are normalised together: `ngram_logit`); n-grams outside the vocabulary count for nothing (as in
    TfidfVectorizer)."""

    __slots__ = ("ngram_range", "table", "_keys", "_idf", "_coef", "_topic", "_grams", "_multi", "_lookup")

    def __init__(self, ngram_range: tuple[int, int], table: dict[str, tuple[float, float, float]]) -> None:
        self.ngram_range = (int(ngram_range[0]), int(ngram_range[1]))
        self.table = table
        self._keys: np.ndarray | None = None

    def _build(self) -> None:
        items = sorted((code_of(g), g, idf, coef, topic) for g, (idf, coef, topic) in self.table.items())
        self._keys = np.array([c for c, _, _, _, _ in items], dtype=np.uint64)
        self._grams = [g for _, g, _, _, _ in items]
        self._idf = np.array([i for _, _, i, _, _ in items], dtype=np.float64)
        self._coef = np.array([c for _, _, _, c, _ in items], dtype=np.float64)
        self._topic = np.array([t for _, _, _, _, t in items], dtype=np.float64)
        self._multi = np.array([len(g) > 1 for g in self._grams], dtype=bool)
        self._lookup = CodeTable.build(self._keys)

    def batch(self, texts: Sequence[str], floor: float = 0.0
              ) -> list[tuple[float, float, list[tuple[str, float]], float]]:
        """For each text: (coef . tf-idf, |tf-idf|^2, [(n-gram, contribution) of its strongest n-grams of two or
        more characters, strongest first], topic coef . tf-idf), all unnormalised, leaving out of the n-grams those whose
        contribution to the text's own normalised vector is weaker than `floor`: in a record, whose norm is at
        least the text's, they are weaker still."""
        n = len(texts)
        if not n:
            return []
        if self._keys is None:
            self._build()
        keys = self._keys
        tops: list[list[tuple[str, float]]] = [[] for _ in range(n)]
        codes, docs = doc_codes(texts, self.ngram_range)
        if not len(keys) or not len(codes):
            return [(0.0, 0.0, t, 0.0) for t in tops]
        if self._lookup is not None:
            pos = self._lookup.find(codes)
            hit = pos >= 0
        else:
            pos = np.searchsorted(keys, codes)
            np.minimum(pos, len(keys) - 1, out=pos)
            hit = keys[pos] == codes
        # count each (text, vocabulary entry) once: one integer key, one sort
        pair = np.unique(docs[hit] * len(keys) + pos[hit], return_counts=True)
        docs, pos = np.divmod(pair[0], len(keys))
        v = sublinear_tf(pair[1]) * self._idf[pos]
        norm2 = np.bincount(docs, weights=v * v, minlength=n)
        p = v * self._coef[pos]
        totals = np.bincount(docs, weights=p, minlength=n).tolist()
        topics = np.bincount(docs, weights=v * self._topic[pos], minlength=n).tolist()
        keep = np.flatnonzero((p != 0) & self._multi[pos])
        if len(keep):
            d, pp = docs[keep], p[keep]
            a = np.abs(pp)
            scale = a.max() * 1.01
            if floor:
                # only texts with an n-gram as strong as `floor` can keep one: rank just those (the same keys,
                # in the same order, so the same ranks)
                a_floor = floor * np.sqrt(norm2[d])
                strong = np.zeros(n, dtype=bool)
                strong[d[a >= a_floor]] = True
                subset = np.flatnonzero(strong[d])
                d, pp, a, kept_pos = d[subset], pp[subset], a[subset], pos[keep][subset]
                a_floor = a_floor[subset]
            else:
                kept_pos = pos[keep]
            order = np.argsort(d * 4.0 - a / scale, kind="stable")  # by text, strongest first
            d_sorted = d[order]
            rank = np.arange(len(order)) - np.searchsorted(d_sorted, d_sorted, side="left")
            grams = self._grams
            sel = order[rank < TOP_FEATURES]
            if floor:  # after ranking, so what ranks first is the same
                sel = sel[a[sel] >= a_floor[sel]]
            for di, k, c in zip(d[sel].tolist(), kept_pos[sel].tolist(), pp[sel].tolist(), strict=True):
                tops[di].append((grams[k], c))
        return list(zip(totals, norm2.tolist(), tops, topics, strict=True))


def ngram_logit(dots: Sequence[float], norms: Sequence[float]) -> tuple[float, float]:
    """(the n-gram part of a record's model logit, 1 / the record's norm) from its fields' `NgramModel.batch`
    dots and squared norms, added up one by one in order (so a record scored alone and in a batch get the
    same float)."""
    dot = norm2 = 0.0
    for x in dots:
        dot += x
    for x in norms:
        norm2 += x
    if norm2 <= 0:
        return 0.0, 0.0
    inv = 1.0 / math.sqrt(norm2)
    return dot * inv, inv


class CodeTable:
    """Where each of many n-gram codes is in a sorted vocabulary (its index, or -1), by hashing: a binary
    search (np.searchsorted) reads a dozen scattered entries per code, this two.

    Cuckoo hashing: every key sits in one of two tables, at the slot one of two multiplicative hashes gives
    it; a code is found by looking at both slots."""

    __slots__ = ("bits", "mult", "keys", "index")

    def __init__(self, bits: int, mult: tuple[int, int], keys: tuple[np.ndarray, np.ndarray],
                 index: tuple[np.ndarray, np.ndarray]) -> None:
        self.bits, self.mult, self.keys, self.index = bits, mult, keys, index

    @classmethod
    def build(cls, vocabulary: np.ndarray) -> CodeTable | None:
        """The table of a sorted vocabulary of distinct codes, or None when none could be built (the caller
        then searches)."""
        n = len(vocabulary)
        if n == 0:
            return None
        bits = max(4, int(n).bit_length() + 1)  # each table at least twice the vocabulary
        codes = [int(c) for c in vocabulary.tolist()]
        rng = random.Random(n)  # the same table for the same vocabulary
        for _attempt in range(8):
            mult = (rng.getrandbits(64) | 1, rng.getrandbits(64) | 1)
            slots: list[list[int]] = [[-1] * (1 << bits), [-1] * (1 << bits)]
            if all(cls._insert(slots, mult, bits, codes, i) for i in range(n)):
                # an empty slot holds a key no code can be (codes have at most 63 bits)
                keys = tuple(np.array([codes[i] if i >= 0 else _MASK64 for i in t], dtype=np.uint64) for t in slots)
                index = tuple(np.array(t, dtype=np.int64) for t in slots)
                return cls(bits, mult, keys, index)  # type: ignore[arg-type]
        return None

    @staticmethod
    def _insert(slots: list[list[int]], mult: tuple[int, int], bits: int, codes: list[int], i: int) -> bool:
        side = 0
        for _ in range(64):
            h = ((codes[i] * mult[side]) & _MASK64) >> (64 - bits)
            i, slots[side][h] = slots[side][h], i
            if i < 0:
                return True
            side = 1 - side
        return False

    def find(self, codes: np.ndarray) -> np.ndarray:
        """The vocabulary index of each code, -1 where it is not in the vocabulary."""
        shift = np.uint64(64 - self.bits)
        found = []
        for side in (0, 1):
            h = codes * np.uint64(self.mult[side])
            h >>= shift
            h = h.astype(np.intp)
            found.append((np.take(self.keys[side], h) == codes, np.take(self.index[side], h)))
        (first, at_first), (second, at_second) = found
        return np.where(first, at_first, np.where(second, at_second, -1))


_MASK64 = (1 << 64) - 1


@dataclass(slots=True)
class Stack:
    """The calibrated combination of the rule logit and the model logit."""

    rule: float
    model: float
    intercept: float

    def logit(self, rule_z: float, model_z: float) -> float:
        return self.rule * rule_z + self.model * model_z + self.intercept


@dataclass(slots=True)
class Artifact:
    """A trained model as stored under var/models/<version>/model.json."""

    version: str
    code_hash: str
    data_hash: str
    rule_weights: dict[str, Any]  # the rules' combination, refitted on the same data (scorer.Weights format)
    ngrams: NgramModel
    rule_coef: tuple[float, ...]  # model coefficients of the rule features (already multiplied by the scale)
    intercept: float
    stack: Stack
    # the topic model's intercept (its coefficients are the n-grams' third value); None: no topic model (its
    # training data had no off-topic examples), the rules' topic test stands alone
    topic_intercept: float | None
    topic_min: float  # a topic probability below this counts as none (see training.TrainConfig)
    meta: dict[str, Any] = field(default_factory=dict)  # training set, cross-validated metrics, time

    def topic(self, topic_dots: Sequence[float], inv_norm: float) -> float | None:
        """The probability that a record is about personal debt at all, from its fields' `NgramModel.batch`
        topic dots (added up one by one in order, as `ngram_logit` does) and 1 / its norm; None without a
        topic model."""
        if self.topic_intercept is None:
            return None
        return topic_probability(self.topic_intercept, sum(topic_dots) * inv_norm, self.topic_min)

    # ------------------------------------------------------------------------------------------- JSON
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": ARTIFACT_FORMAT,
            "version": self.version,
            "code_hash": self.code_hash,
            "data_hash": self.data_hash,
            "rule_weights": self.rule_weights,
            "model": {
                "ngram_range": list(self.ngrams.ngram_range),
                "intercept": self.intercept,
                "rule_coef": list(self.rule_coef),
                "ngrams": {g: [round(idf, 6), round(c, 6), round(t, 6)]
                           for g, (idf, c, t) in self.ngrams.table.items()},
                "topic_intercept": self.topic_intercept,
                "topic_min": self.topic_min,
            },
            "stack": {"rule": self.stack.rule, "model": self.stack.model, "intercept": self.stack.intercept},
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<dict>") -> Artifact:
        try:
            if data.get("format") != ARTIFACT_FORMAT:
                raise ModelError(f"{source}: unknown artifact format {data.get('format')!r}")
            m = data["model"]
            lo, hi = m["ngram_range"]
            table = {g: (float(v[0]), float(v[1]), float(v[2])) for g, v in m["ngrams"].items()}
            topic = m["topic_intercept"]
            st = data["stack"]
            return cls(
                version=str(data["version"]), code_hash=str(data["code_hash"]), data_hash=str(data["data_hash"]),
                rule_weights=dict(data["rule_weights"]), ngrams=NgramModel((int(lo), int(hi)), table),
                rule_coef=tuple(float(x) for x in m["rule_coef"]), intercept=float(m["intercept"]),
                stack=Stack(float(st["rule"]), float(st["model"]), float(st["intercept"])),
                topic_intercept=None if topic is None else float(topic), topic_min=float(m["topic_min"]),
                meta=dict(data.get("meta") or {}),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{source}: not a model artifact: {exc!r}") from exc

    @classmethod
    def load(cls, path: str | Path) -> Artifact:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelError(f"{path}: cannot read the model: {exc}") from exc
        return cls.from_dict(data, str(path))


def topic_probability(intercept: float, dot: float, minimum: float) -> float:
    """The topic model's probability, 0 below `minimum`: only a confident reading raises debt_topic."""
    p = sigmoid(intercept + dot)
    return p if p >= minimum else 0.0


def sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    ez = math.exp(z)
    return ez / (1.0 + ez)


def logit(p: float, eps: float = 1e-6) -> float:
    p = min(1.0 - eps, max(eps, p))
    return math.log(p / (1.0 - p))
