"""Injected failures: what the real platforms do to a crawler on a bad day, switchable from the control plane.

A fault pre-empts an endpoint's normal processing (it stands for the platform's gateway or back end), except
`slow`, which only delays a normal answer. Each platform route asks `FaultBook.take(...)` once per request and
renders whatever fault it gets in that platform's own shape (see bilibili.py / douyin.py).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import threading
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .world import World

KINDS = frozenset({
    "rate_limit", "server_error", "slow", "captcha", "malformed_json", "schema_change", "error_code",
    "login_expired", "blocked",
})
ENDPOINTS = {
    "bilibili": frozenset({"search", "view", "nav", "comments", "profile"}),
    "douyin": frozenset({"search", "detail", "comments", "profile"}),
    # every complaint portal under /portal (submit = the complaint form's POST, lookup = by client_ref)
    "portal": frozenset({"login", "submit", "bulk", "lookup", "status"}),
}
# The portals' faults; `lost_response` files the complaint and then answers 502 (the filer cannot tell).
PORTAL_KINDS = frozenset({"rate_limit", "server_error", "slow", "login_expired", "lost_response"})


class FaultError(ValueError):
    pass


@dataclass
class Fault:
    id: int
    platform: str
    endpoint: str
    kind: str
    pages: list[int] | None = None  # only these result pages (None: every request)
    times: int | None = None  # remaining uses (None: unlimited)
    retry_after: float = 5.0
    delay: float = 2.0
    after: int = 0  # matching requests to let through untouched before the fault starts
    hits: int = field(default=0)

    def as_dict(self) -> dict:
        return asdict(self)


class FaultBook:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, spec: dict) -> Fault:
        platform, endpoint, kind = spec.get("platform"), spec.get("endpoint"), spec.get("kind")
        if platform not in ENDPOINTS:
            raise FaultError(f"platform must be one of {sorted(ENDPOINTS)}")
        if endpoint not in ENDPOINTS[platform]:
            raise FaultError(f"endpoint for {platform} must be one of {sorted(ENDPOINTS[platform])}")
        kinds = PORTAL_KINDS if platform == "portal" else KINDS
        if kind not in kinds:
            raise FaultError(f"kind for {platform} must be one of {sorted(kinds)}")
        pages = spec.get("pages")
        if pages is not None and (not isinstance(pages, list) or not all(isinstance(p, int) for p in pages)):
            raise FaultError("pages must be a list of integers")
        times = spec.get("times")
        if times is not None and (not isinstance(times, int) or times < 1):
            raise FaultError("times must be a positive integer")
        after = spec.get("after", 0)
        if not isinstance(after, int) or isinstance(after, bool) or after < 0:
            raise FaultError("after must be a non-negative integer")
        fault = Fault(
            id=next(self._ids), platform=platform, endpoint=endpoint, kind=kind, pages=pages, times=times,
            retry_after=float(spec.get("retry_after", 5) or 0), delay=float(spec.get("delay", 2) or 0),
            after=after,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> int:
        with self._lock:
            n = len(self._faults)
            self._faults.clear()
        return n

    def list(self) -> list[dict]:
        with self._lock:
            return [f.as_dict() for f in self._faults]

    def take(self, platform: str, endpoint: str, page: int | None = None) -> Fault | None:
        """The first fault matching this request, spending one of its `times`."""
        with self._lock:
            for f in self._faults:
                if f.platform != platform or f.endpoint != endpoint:
                    continue
                if f.pages is not None and (page is None or page not in f.pages):
                    continue
                if f.after > 0:  # e.g. risk control that starts halfway through a run
                    f.after -= 1
                    continue
                f.hits += 1
                if f.times is not None:
                    f.times -= 1
                    if f.times <= 0:
                        self._faults.remove(f)
                return f
        return None


async def replaces_answer(world: World, platform: str, fault: Fault | None) -> bool:
    """What every platform's fault gate does first: count the fault and wait out `slow`. True when the fault
    replaces the answer (the platform then renders it in its own shape), False when the request goes on: no
    fault, `slow`, or a fault that distorts the normal answer afterwards (malformed_json, schema_change)."""
    if fault is None:
        return False
    world.stats.fault(platform, fault.kind)
    if fault.kind == "slow":
        await asyncio.sleep(fault.delay)
        return False
    return fault.kind not in ("malformed_json", "schema_change")


def retry_after(fault: Fault) -> dict[str, str]:
    """The Retry-After header of a rate_limit fault, in whole seconds as the platforms send it."""
    return {"Retry-After": str(int(math.ceil(fault.retry_after)))}
