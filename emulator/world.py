"""The emulator's mutable world: the corpus plus everything the control plane can change or read back.

One `World` lives on `app.state.world`; route modules reach it through the request, so two apps in one
process (tests) never share state.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .clock import Clock
from .complaints import ComplaintDesk, Mailbox, PortalAccess
from .corpus import Corpus
from .douyin_token import TokenIssuer
from .faults import FaultBook
from .wbi import keys_for_seed, mixin_key

GONE_STATES = ("deleted", "private", "under_review", "owner_only", "no_permission")
STATES = ("live",) + GONE_STATES
# A post's comment section: open, closed by the platform, or hidden by the uploader.
COMMENT_STATES = ("open", "closed", "hidden")
AUTHOR_STATES = ("live", "banned")


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
            self.rejected: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
            self.faults: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def hit(self, platform: str, endpoint: str) -> None:
        with self._lock:
            self.requests[platform][endpoint] += 1

    def reject(self, platform: str, reason: str) -> None:
        with self._lock:
            self.rejected[platform][reason] += 1

    def fault(self, platform: str, kind: str) -> None:
        with self._lock:
            self.faults[platform][kind] += 1

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            plain = lambda d: {k: dict(v) for k, v in d.items()}  # noqa: E731
            rejected = plain(self.rejected)
            return {
                "requests": plain(self.requests),
                "rejected": rejected,
                "rejected_total": {p: sum(v.values()) for p, v in rejected.items()},
                "faults": plain(self.faults),
            }


class World:
    # A signed Bilibili request whose `wts` is further than this from now is treated as unsigned.
    wts_max_age = 3600

    def __init__(self, seed: int = 7, size: int = 2000):
        self.seed = seed
        self.size = size
        self.corpus = Corpus(seed, size)
        self.faults = FaultBook()
        self.stats = Stats()
        self.tokens = TokenIssuer(seed)
        self.img_key, self.sub_key = keys_for_seed(seed)
        self.mixin_key = mixin_key(self.img_key, self.sub_key)
        self._states: dict[tuple[str, int], str] = {}
        self._comment_states: dict[tuple[str, int], str] = {}
        self._banned: set[tuple[str, int]] = set()  # (platform, author index)
        # Complaint channels: the virtual clock they run on, the desk deciding complaints, portal logins and
        # the SMTP inbox's messages. `smtp_address` is set when the SMTP server is listening.
        self.clock = Clock()
        self.complaints = ComplaintDesk(seed, self.clock, self.corpus.index_of,
                                        lambda platform, index: self.set_state(platform, index, "deleted"))
        self.portal = PortalAccess()
        self.mailbox = Mailbox()
        self.smtp_address: tuple[str, int] | None = None

    def state_of(self, platform: str, index: int) -> str:
        return self._states.get((platform, index), "live")

    def set_state(self, platform: str, index: int, state: str) -> None:
        if state == "live":
            self._states.pop((platform, index), None)
        else:
            self._states[(platform, index)] = state

    def is_live(self, platform: str, index: int) -> bool:
        return (platform, index) not in self._states

    def comment_state_of(self, platform: str, index: int) -> str:
        return self._comment_states.get((platform, index), "open")

    def set_comment_state(self, platform: str, index: int, state: str) -> None:
        if state == "open":
            self._comment_states.pop((platform, index), None)
        else:
            self._comment_states[(platform, index)] = state

    def author_state_of(self, platform: str, author: int) -> str:
        return "banned" if (platform, author) in self._banned else "live"

    def set_author_state(self, platform: str, author: int, state: str) -> None:
        if state == "banned":
            self._banned.add((platform, author))
        else:
            self._banned.discard((platform, author))

    def reset(self) -> None:
        self.faults.clear()
        self.stats.reset()
        self._states.clear()
        self._comment_states.clear()
        self._banned.clear()
        self.corpus._woven.clear()
        self.clock.reset()
        self.complaints.reset()
        self.portal.reset()
        self.mailbox.reset()


def world_of(request: Request) -> World:
    return request.app.state.world


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(body, status_code=status, headers=headers, media_type="application/json; charset=utf-8")


def truncated(resp: Response) -> Response:
    """The `malformed_json` fault: the same answer cut off mid-body, still HTTP 200."""
    body = resp.body
    cut = max(1, len(body) * 2 // 5)
    return Response(body[:cut], status_code=200, media_type="application/json; charset=utf-8")


BAD_GATEWAY = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>"
    "\r\n<hr><center>openresty</center>\r\n</body>\r\n</html>\r\n"
)
