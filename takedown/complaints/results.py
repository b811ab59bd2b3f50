"""What a filing method answers: the outcome of sending one complaint, or the failure it raises."""

from __future__ import annotations

from dataclasses import dataclass


class PermanentFailure(RuntimeError):
    """The channel certainly did not take the complaint (refused, unreachable before sending): it is `failed`
    and may be sent again in a later batch."""


@dataclass(frozen=True, slots=True)
class FilingOutcome:
    state: str  # submitted | unconfirmed
    external_ref: str = ""  # the platform's reference (portal), the Message-ID (e-mail), export:<batch>
    note: str = ""
