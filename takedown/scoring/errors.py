"""Errors of the scoring package. Each names what is wrong and where, so a batch can report and go on."""

from __future__ import annotations


class RecordError(ValueError):
    """A record that cannot be scored: a field has the wrong type, or the line is not a JSON object.

    `record_id` is the record's id when it has one, otherwise a placeholder such as "line 7".
    """

    def __init__(self, record_id: str, field: str, message: str) -> None:
        super().__init__(record_id, field, message)
        self.record_id = record_id
        self.field = field
        self.message = message

    def __str__(self) -> str:
        return f"record {self.record_id!r}, field {self.field!r}: {self.message}"


class ConfigError(ValueError):
    """A data file of the scorer (rules, lexicon, weights) is invalid; the message names the file and entry."""


class RulesError(ConfigError):
    """`rules.yaml` is invalid; the message names the rule and the key."""


class LexiconError(ConfigError):
    """`lexicon.yaml` is invalid; the message names the entry and the key."""


class WeightsError(ConfigError):
    """The combination weights file does not match the scorer's features."""
