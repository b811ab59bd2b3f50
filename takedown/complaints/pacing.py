"""Pacing: at most one filing every `pace` seconds on a channel, across runs and batches, not only within one.

Bulk filing too fast is what gets a filer banned for report abuse, and a platform counts every complaint from us,
whichever batch or process sent it. So the time of each channel's last filing is stored (table channel_pace): a
second batch on the same channel, started a moment after the first ended or by another run, waits for what is
left of the interval before its first filing.

Times are real UTC, not domain time: the demo fast-forwards domain time, while a platform sees real intervals.
Waiting holds no lock: two processes filing on one channel at the very same moment could both go; batches of one
channel are filed by one process at a time (the scheduler and the web app each run a batch to its end).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from takedown import clock
from takedown.models import ChannelPace

pace_t = ChannelPace.__table__


def wall_clock() -> datetime:
    return datetime.now(UTC)


class ChannelPacer:
    """`wait()` before each filing on the channel, `mark()` as it goes out."""

    def __init__(self, scope: Callable[[], AbstractContextManager[Session]], channel: str, pace: float, *,
                 sleep: Callable[[float], None] = time.sleep, now: Callable[[], datetime] = wall_clock):
        self.scope = scope
        self.channel = channel
        self.pace = max(0.0, float(pace))
        self.sleep = sleep
        self.now = now
        self.waited: list[float] = []  # seconds slept before each filing that had to wait

    def last_filed_at(self) -> datetime | None:
        with self.scope() as session:
            row = session.get(ChannelPace, self.channel)
            return clock.aware(row.last_filed_at) if row is not None else None

    def wait(self) -> float:
        """Sleep until `pace` seconds have passed since the channel's last filing (by any run); returns the
        seconds slept."""
        if self.pace <= 0:
            return 0.0
        last = self.last_filed_at()
        if last is None:
            return 0.0
        delay = self.pace - (clock.aware(self.now()) - last).total_seconds()
        if delay <= 0:
            return 0.0
        self.sleep(delay)
        self.waited.append(delay)
        return delay

    def mark(self) -> datetime:
        """Record that a filing goes out on the channel now (also with no pace: a later paced run counts it)."""
        at = clock.aware(self.now())
        with self.scope() as session:
            insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}[session.get_bind().dialect.name]
            session.execute(insert(pace_t).values(channel=self.channel, last_filed_at=at).on_conflict_do_update(
                index_elements=["channel"], set_={"last_filed_at": at}))
        return at
