"""Domain time: real UTC plus `settings.clock_offset_hours`.

Every time a case, an evidence record or a re-check stores comes from here (not `models.utcnow`), so the demo
can follow the emulator's fast-forwarded clock and an SLA of five days can pass in a minute. Functions that
need "now" take it as an optional argument, so tests pass fixed times instead of patching this module.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from takedown.settings import Settings, get_settings

CHINA = ZoneInfo("Asia/Shanghai")


def now(settings: Settings | None = None) -> datetime:
    """Aware UTC: real now plus the configured offset."""
    offset = (settings or get_settings()).clock_offset_hours
    return datetime.now(UTC) + timedelta(hours=offset)


def resolve(at: datetime | None, settings: Settings | None = None) -> datetime:
    """`at` as aware UTC (a naive value is taken as UTC), or domain now when None."""
    if at is None:
        return now(settings)
    return aware(at)


def aware(value: datetime) -> datetime:
    """A stored time as aware UTC: SQLite hands naive values back, PostgreSQL aware ones."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def in_china(value: datetime) -> datetime:
    """The same instant in Asia/Shanghai (what the team and the platforms' pages show)."""
    return aware(value).astimezone(CHINA)


def hours_between(start: datetime, end: datetime) -> float:
    return (aware(end) - aware(start)).total_seconds() / 3600.0


def follow_offset(hours: float) -> None:
    """Set this process's clock offset (e.g. to the emulator's virtual clock); it never moves back."""
    settings = get_settings()
    settings.clock_offset_hours = max(settings.clock_offset_hours, float(hours))
