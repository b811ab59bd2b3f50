"""What the scorer returns: a score, the reasons a complaint can quote, and the contacts found."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True, slots=True)
class Reason:
    rule: str
    category: str
    field: str
    text: str
    weight: float = 0.0
    explanation: str = ""

    def __reduce__(self) -> tuple:
        # (pickled as a constructor call: a slots dataclass's default pickling costs several times more, and
        # results cross processes in batches: Ingestor.ingest_stream)
        return Reason, (self.rule, self.category, self.field, self.text, self.weight, self.explanation)


@lru_cache(maxsize=65_536)
def shared_reason(rule: str, category: str, field: str, text: str, weight: float, explanation: str) -> Reason:
    """An equal Reason built before, or a new one: reasons are immutable, the same words recur across posts,
    and building a frozen dataclass costs more than finding it. Not for a weight of zero: 0.0 and -0.0 are
    equal keys but print differently."""
    return Reason(rule, category, field, text, weight, explanation)


@dataclass(frozen=True, slots=True)
class Contact:
    type: str  # wechat | phone | qq | url | other
    value: str  # normalised: digits only for phone and QQ, lower-case WeChat id

    def __reduce__(self) -> tuple:
        return Contact, (self.type, self.value)


@dataclass(slots=True)
class ScoreResult:
    id: str
    score: float
    reasons: list[Reason]
    contacts: list[Contact]
    model_version: str

    def __reduce__(self) -> tuple:
        return ScoreResult, (self.id, self.score, self.reasons, self.contacts, self.model_version)

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "score": self.score,
            "reasons": [{"rule": r.rule, "category": r.category, "field": r.field, "text": r.text}
                        for r in self.reasons],
            "contacts": [{"type": c.type, "value": c.value} for c in self.contacts],
        }
