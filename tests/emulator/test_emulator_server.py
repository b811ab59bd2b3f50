"""The emulator as a subprocess: `running()` starts it, reports failures clearly, and stops it."""

from __future__ import annotations

import httpx
import pytest

from emulator.server import EmulatorStartError, running


def test_running_serves_and_stops():
    with running(seed=3, size=500) as base:
        assert base.startswith("http://127.0.0.1:")
        assert httpx.get(f"{base}/_emu/health").json() == {"ok": True, "seed": 3, "size": 500,
                                                           "platforms": ["bilibili", "douyin"]}
        home = httpx.get(f"{base}/bilibili/")
        assert home.status_code == 200 and "buvid3" in home.cookies
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{base}/_emu/health", timeout=1)


def test_running_reports_a_child_that_cannot_start():
    with pytest.raises(EmulatorStartError, match="size must be >= 1"), running(size=0):
        pass
