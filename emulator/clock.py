"""The emulator's virtual clock: real UTC now plus an offset that only ever grows.

Complaint channels run on it, so a test can "wait" thirty hours for a removal by moving the clock instead of
sleeping. The crawling side (WBI `wts`, Douyin cookies) keeps real time: crawlers sign with their own clock.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta, timezone

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")


class ClockError(ValueError):
    pass


def iso(ts: float | None) -> str | None:
    """Epoch seconds → ISO-8601 UTC with an explicit offset, e.g. 2026-11-25T03:04:05+00:00."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def parse_iso(text: str) -> float:
    """ISO-8601 → epoch seconds; a value without an offset is taken as UTC."""
    try:
        dt = datetime.fromisoformat(text.strip())
    except (AttributeError, ValueError) as exc:
        raise ClockError(f"not an ISO-8601 date-time: {text!r}") from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


class Clock:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0  # seconds

    def time(self) -> float:
        """Virtual now in epoch seconds."""
        return time.time() + self._offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)

    @property
    def offset_hours(self) -> float:
        return self._offset / 3600.0

    def advance(self, hours: float) -> None:
        if not isinstance(hours, int | float) or isinstance(hours, bool) or hours != hours or hours < 0:
            raise ClockError("advance_hours must be a number >= 0 (the clock never goes back)")
        with self._lock:
            self._offset += float(hours) * 3600.0

    def set(self, when: str) -> bool:
        """Move to `when` if it is later than now; returns whether the clock moved."""
        target = parse_iso(when)
        with self._lock:
            delta = target - self.time()
            if delta <= 0:
                return False
            self._offset += delta
            return True

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0

    def as_dict(self) -> dict[str, object]:
        return {"now": iso(self.time()), "offset_hours": round(self.offset_hours, 6)}
