"""Fixtures for the emulator tests (helpers live in emu_helpers.py)."""

from __future__ import annotations

import pytest

from tests.emulator.emu_helpers import Bili, Douyin, make_client


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client():
    async with make_client() as c:
        yield c


@pytest.fixture
async def bili(client):
    return await Bili(client).warm()


@pytest.fixture
async def douyin(client):
    return await Douyin(client).open()
