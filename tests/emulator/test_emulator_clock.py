"""The virtual clock under /_emu/clock: real UTC now plus an offset that only grows; reset sets it back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

pytestmark = pytest.mark.anyio


def _at(payload: dict) -> datetime:
    return datetime.fromisoformat(payload["now"])


async def test_clock_starts_at_real_time(client):
    clock = (await client.get("/_emu/clock")).json()
    assert clock["offset_hours"] == 0
    assert abs((_at(clock) - datetime.now(UTC)).total_seconds()) < 5
    assert _at(clock).utcoffset() == timedelta(0)


async def test_advance_moves_forward_only(client):
    moved = (await client.post("/_emu/clock", json={"advance_hours": 5})).json()
    assert moved["offset_hours"] == pytest.approx(5)
    assert abs((_at(moved) - datetime.now(UTC) - timedelta(hours=5)).total_seconds()) < 5
    moved = (await client.post("/_emu/clock", json={"advance_hours": 0.5})).json()
    assert moved["offset_hours"] == pytest.approx(5.5)
    for bad in ({"advance_hours": -1}, {"advance_hours": "3"}, {}, {"set": "not a date"}):
        assert (await client.post("/_emu/clock", json=bad)).status_code == 400, bad
    assert (await client.get("/_emu/clock")).json()["offset_hours"] == pytest.approx(5.5)


async def test_set_only_when_later(client):
    earlier = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    assert (await client.post("/_emu/clock", json={"set": earlier})).json()["offset_hours"] == 0
    target = datetime.now(UTC) + timedelta(days=3)
    moved = (await client.post("/_emu/clock", json={"set": target.isoformat()})).json()
    assert moved["offset_hours"] == pytest.approx(72, abs=0.01)
    assert abs((_at(moved) - target).total_seconds()) < 2
    naive = (target + timedelta(hours=1)).replace(tzinfo=None).isoformat()  # no offset: read as UTC
    assert (await client.post("/_emu/clock", json={"set": naive})).json()["offset_hours"] == pytest.approx(73, abs=0.01)


async def test_reset_sets_the_clock_back(client):
    await client.post("/_emu/clock", json={"advance_hours": 48})
    assert (await client.post("/_emu/reset")).status_code == 200
    assert (await client.get("/_emu/clock")).json()["offset_hours"] == 0
