"""Filing pace per channel, with an injected clock and sleep: the interval holds between the filings of one
batch, between two batches (two runs) on the same channel, and not across channels; the stored last filing
survives the run that made it. Filed by e-mail into the emulator's SMTP inbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from takedown.complaints.batches import build_batches, file_batch
from takedown.complaints.pacing import ChannelPacer
from takedown.db import session_scope
from tests.takedown.complaints_seed import emulator_posts, seed_cases, settings_for

pytestmark = pytest.mark.timeout(300)
T0 = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)


class FakeTime:
    """A clock that moves only when slept on (or told to), recording each sleep and each filing time."""

    def __init__(self, start: datetime):
        self.t = start
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.t += timedelta(seconds=seconds)

    def advance(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)


EMULATOR_SEED = 13  # (the emu and world fixtures: tests/takedown/conftest.py)


def _batch(engine, settings, case_ids: list[int]) -> int:
    with session_scope(engine) as session:
        [batch] = build_batches(session, case_ids, user=None, method="email", settings=settings)
        return batch.id


def test_pace_holds_within_a_batch_across_batches_and_runs_but_not_across_channels(engine, world, tmp_path: Path):
    settings = settings_for(tmp_path, engine.url.render_as_string(hide_password=False), emulator_url=world)
    cases = seed_cases(engine, settings, emulator_posts(world, "douyin", 5) + emulator_posts(world, "bilibili", 1))
    first, second, other = (_batch(engine, settings, ids) for ids in (cases[:3], cases[3:5], cases[5:]))
    fake = FakeTime(T0)

    def last_filing(channel: str) -> datetime | None:
        return ChannelPacer(lambda: session_scope(engine), channel, 10).last_filed_at()

    report = file_batch(engine, first, settings=settings, pace=10, sleep=fake.sleep, pace_clock=fake.now)
    assert len(report.submitted) == 3
    assert fake.sleeps == [10, 10], "one interval between each two filings of the batch"
    assert last_filing("douyin") == T0 + timedelta(seconds=20)

    # Another run starts 4 s after the first one's last filing: it waits the 6 s left, then the full pace.
    fake.advance(4)
    report = file_batch(engine, second, settings=settings, pace=10, sleep=fake.sleep, pace_clock=fake.now)
    assert len(report.submitted) == 2
    assert fake.sleeps == [10, 10, 6, 10]
    assert last_filing("douyin") == T0 + timedelta(seconds=40)  # filings at 0, 10, 20, 30, 40 s: never closer

    # Another channel has its own pace: Bilibili files at once.
    report = file_batch(engine, other, settings=settings, pace=10, sleep=fake.sleep, pace_clock=fake.now)
    assert len(report.submitted) == 1 and fake.sleeps == [10, 10, 6, 10]
    assert last_filing("bilibili") == T0 + timedelta(seconds=40)
    mails = httpx.get(f"{world}/_emu/mailbox/douyin", timeout=10).json()["messages"]
    assert len(mails) == 5 and all(m["copies"] == 1 for m in mails)


def test_without_a_pace_given_the_channels_own_pace_applies_from_its_last_filing(engine, world, tmp_path: Path):
    settings = settings_for(tmp_path, engine.url.render_as_string(hide_password=False), emulator_url=world)
    cases = seed_cases(engine, settings, emulator_posts(world, "douyin", 2))
    fake = FakeTime(T0)
    ChannelPacer(lambda: session_scope(engine), "douyin", 0, now=fake.now).mark()  # an earlier run, pace 0
    fake.advance(15)
    report = file_batch(engine, _batch(engine, settings, cases), settings=settings, sleep=fake.sleep,
                        pace_clock=fake.now)
    assert len(report.submitted) == 2
    # channels.yaml: douyin at most 60 an hour, so 60 s apart; the first waits what is left after 15 s.
    assert fake.sleeps == [45, 60]
