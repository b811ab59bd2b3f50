"""Run a whole crawl the way a user does — `takedown crawl` in a subprocess (the Twisted reactor cannot restart
in the test process) — and read back what it stored."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlmodel import Session

from takedown.db import make_engine
from takedown.models import CrawlRun


def crawl(database_url: str, emulator_url: str, platform: str, keywords: list[str], pages: int = 1,
          timeout: float = 300) -> dict[str, Any]:
    args = [sys.executable, "-m", "takedown", "crawl", "--platform", platform, "--pages", str(pages),
            "--emulator", emulator_url]
    for keyword in keywords:
        args += ["--keyword", keyword]
    env = os.environ | {"TAKEDOWN_DATABASE_URL": database_url, "TAKEDOWN_CONCURRENCY_PER_PLATFORM": "3"}
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)
    assert proc.returncode == 0, f"crawl failed ({proc.returncode}):\n{proc.stderr[-4000:]}"
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    summary["log"] = proc.stderr
    return summary


def run_record(database_url: str, run_id: int) -> CrawlRun:
    engine = make_engine(database_url)
    with Session(engine) as session:
        run = session.get(CrawlRun, run_id)
    engine.dispose()
    return run


def count(database_url: str, model, *where) -> int:
    engine = make_engine(database_url)
    with Session(engine) as session:
        n = session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()
    engine.dispose()
    return n


def set_fault(emulator_url: str, **fault: Any) -> None:
    httpx.post(f"{emulator_url}/_emu/faults", json=fault, timeout=10).raise_for_status()


def clear_faults(emulator_url: str) -> None:
    httpx.delete(f"{emulator_url}/_emu/faults", timeout=10).raise_for_status()


def emulator_stats(emulator_url: str) -> dict[str, Any]:
    return httpx.get(f"{emulator_url}/_emu/stats", timeout=10).json()


def errors_of(run: CrawlRun) -> list[tuple[int, str, str | None]]:
    return [(e["page"], e["kind"], e.get("code")) for e in run.error_log]


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, default=str)
