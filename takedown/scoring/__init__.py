"""Scoring: normalisation, contact extraction, rules, and the scorer that combines them.

The one entry point the rest of the product uses is `get_scorer().score(records)`.
"""

from takedown.scoring.scorer import Contact, Reason, Scorer, ScoreResult, get_scorer

__all__ = ["Contact", "Reason", "ScoreResult", "Scorer", "get_scorer"]
