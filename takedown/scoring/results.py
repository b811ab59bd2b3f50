"""What the scorer returns: a score, the reasons a complaint can quote, and the contacts found."""

from __future__ import annotations

from dataclasses import dataclass


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
