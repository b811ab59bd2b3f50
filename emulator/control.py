"""The emulator's own control plane under /_emu: health, faults, post states, ground truth, stats, and the
complaint side: the virtual clock, the complaints desk and its parameters, portal accounts, the SMTP inbox.

Nothing here exists on the real platforms; tests and the demo use it to script the outside world.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from .clock import ClockError
from .complaints import ComplaintError
from .corpus import PLATFORMS
from .faults import FaultError
from .portal import PORTALS
from .smtp_inbox import ADDRESSES
from .world import AUTHOR_STATES, COMMENT_STATES, STATES, json_response, world_of

router = APIRouter(prefix="/_emu")


def _error(status: int, message: str) -> Response:
    return json_response({"ok": False, "error": message}, status=status)


@router.get("/health")
async def health(request: Request) -> Response:
    world = world_of(request)
    return json_response({"ok": True, "seed": world.seed, "size": world.size, "platforms": list(PLATFORMS)})


@router.get("/faults")
async def list_faults(request: Request) -> Response:
    return json_response({"faults": world_of(request).faults.list()})


@router.post("/faults")
async def add_fault(request: Request) -> Response:
    try:
        spec = await request.json()
    except ValueError:
        return _error(400, "body must be JSON")
    if not isinstance(spec, dict):
        return _error(400, "body must be a JSON object")
    try:
        fault = world_of(request).faults.add(spec)
    except FaultError as exc:
        return _error(400, str(exc))
    return json_response({"ok": True, "fault": fault.as_dict()}, status=201)


@router.delete("/faults")
async def clear_faults(request: Request) -> Response:
    return json_response({"ok": True, "cleared": world_of(request).faults.clear()})


def _index(request: Request, platform: str, post_id: str) -> tuple[int | None, Response | None]:
    if platform not in PLATFORMS:
        return None, _error(404, f"unknown platform {platform!r}")
    index = world_of(request).corpus.index_of(platform, post_id)
    if index is None:
        return None, _error(404, f"no post {post_id!r} on {platform}")
    return index, None


@router.post("/posts/{platform}/{post_id}/state")
async def set_state(request: Request, platform: str, post_id: str) -> Response:
    index, err = _index(request, platform, post_id)
    if err is not None:
        return err
    try:
        body = await request.json()
    except ValueError:
        return _error(400, "body must be JSON")
    state = body.get("state") if isinstance(body, dict) else None
    if state not in STATES:
        return _error(400, f"state must be one of {list(STATES)}")
    world_of(request).set_state(platform, index, state)
    return json_response({"ok": True, "platform": platform, "post_id": post_id, "state": state})


@router.get("/posts/{platform}/{post_id}/state")
async def get_state(request: Request, platform: str, post_id: str) -> Response:
    index, err = _index(request, platform, post_id)
    if err is not None:
        return err
    return json_response({"platform": platform, "post_id": post_id, "state": world_of(request).state_of(platform, index)})


@router.post("/posts/{platform}/{post_id}/comments")
async def set_comment_state(request: Request, platform: str, post_id: str) -> Response:
    """Close the post's comment section (the platform did) or hide it (its uploader did), or open it again."""
    index, err = _index(request, platform, post_id)
    if err is not None:
        return err
    body, err = await _json_object(request)
    if err is not None:
        return err
    state = body.get("state")
    if state not in COMMENT_STATES:
        return _error(400, f"state must be one of {list(COMMENT_STATES)}")
    world_of(request).set_comment_state(platform, index, state)
    return json_response({"ok": True, "platform": platform, "post_id": post_id, "comments": state})


@router.post("/authors/{platform}/{author_id}/state")
async def set_author_state(request: Request, platform: str, author_id: str) -> Response:
    """Ban an account (its profile answers as gone) or restore it. `author_id`: Bilibili mid, Douyin sec_uid
    or uid."""
    if platform not in PLATFORMS:
        return _error(404, f"unknown platform {platform!r}")
    world = world_of(request)
    author = world.corpus.author_index(platform, author_id)
    if author is None:
        return _error(404, f"no author {author_id!r} on {platform}")
    body, err = await _json_object(request)
    if err is not None:
        return err
    state = body.get("state")
    if state not in AUTHOR_STATES:
        return _error(400, f"state must be one of {list(AUTHOR_STATES)}")
    world.set_author_state(platform, author, state)
    return json_response({"ok": True, "platform": platform, "author_id": author_id, "state": state})


@router.get("/posts/{platform}/{post_id}")
async def post_dump(request: Request, platform: str, post_id: str) -> Response:
    """The generated post as the emulator holds it (debugging and tests)."""
    index, err = _index(request, platform, post_id)
    if err is not None:
        return err
    world = world_of(request)
    post = world.corpus.post(platform, index)
    a = post.author
    return json_response({
        "platform": platform, "post_id": post.post_id, "index": index, "state": world.state_of(platform, index),
        "title": post.title, "text": post.text, "tags": world.corpus.tags_for(post), "comments": list(post.comments),
        "comment_state": world.comment_state_of(platform, index),
        "pubdate": post.metrics.pubdate,
        "author": {"id": str(a.mid) if platform == "bilibili" else a.sec_uid, "uid": a.uid or str(a.mid),
                   "nickname": a.nickname, "bio": a.bio, "state": world.author_state_of(platform, a.index)},
        "truth": world.corpus.truth(platform, index),
    })


@router.get("/truth/{platform}/{post_id}")
async def truth(request: Request, platform: str, post_id: str) -> Response:
    index, err = _index(request, platform, post_id)
    if err is not None:
        return err
    return json_response(world_of(request).corpus.truth(platform, index))


@router.get("/search/{platform}")
async def search_ids(request: Request, platform: str) -> Response:
    """Post ids a keyword search returns, in order, without signatures (for tests and the demo)."""
    if platform not in PLATFORMS:
        return _error(404, f"unknown platform {platform!r}")
    world = world_of(request)
    keyword = request.query_params.get("keyword", "")
    limit = min(1000, max(1, int(request.query_params.get("limit", "20") or 20)))
    hits = world.corpus.search(platform, keyword)
    ids = [world.corpus.post(platform, i).post_id for i in hits.window(0, limit)]
    return json_response({"platform": platform, "keyword": keyword, "total": len(hits), "ids": ids})


@router.get("/stats")
async def stats(request: Request) -> Response:
    return json_response(world_of(request).stats.as_dict())


@router.post("/reset")
async def reset(request: Request) -> Response:
    """Clear faults, post states, stats, remembered keyword weaves, complaints, mailboxes, portal accounts and
    sessions, complaint parameters, and set the virtual clock back to real time."""
    world_of(request).reset()
    return json_response({"ok": True})


async def _json_object(request: Request) -> tuple[dict | None, Response | None]:
    try:
        body = await request.json()
    except ValueError:
        return None, _error(400, "body must be JSON")
    if not isinstance(body, dict):
        return None, _error(400, "body must be a JSON object")
    return body, None


# ------------------------------------------------------------------------------------------- clock


@router.get("/clock")
async def get_clock(request: Request) -> Response:
    return json_response(world_of(request).clock.as_dict())


@router.post("/clock")
async def move_clock(request: Request) -> Response:
    """`{"advance_hours": h}` (h >= 0) or `{"set": ISO}` (only if later than now; otherwise unchanged)."""
    body, err = await _json_object(request)
    if err is not None:
        return err
    world = world_of(request)
    try:
        if "advance_hours" in body:
            world.clock.advance(body["advance_hours"])
        elif "set" in body:
            world.clock.set(body["set"])
        else:
            return _error(400, 'give "advance_hours" or "set"')
    except ClockError as exc:
        return _error(400, str(exc))
    world.complaints.apply_due()
    return json_response(world.clock.as_dict())


# ------------------------------------------------------------------------------------------- complaints


@router.get("/complaints")
async def list_complaints(request: Request) -> Response:
    """Every complaint, oldest first; optional filters `platform`, `channel`, `status`, `client_ref`."""
    world = world_of(request)
    now = world.clock.time()
    q = request.query_params
    rows = [c.full(now) for c in world.complaints.all()]
    for key in ("platform", "channel", "status", "client_ref"):
        if q.get(key):
            rows = [r for r in rows if r[key] == q[key]]
    return json_response({"now": world.clock.as_dict()["now"], "params": world.complaints.params.as_dict(),
                          "complaints": rows})


@router.get("/complaints/config")
async def get_complaint_config(request: Request) -> Response:
    return json_response(world_of(request).complaints.params.as_dict())


@router.post("/complaints/config")
async def set_complaint_config(request: Request) -> Response:
    body, err = await _json_object(request)
    if err is not None:
        return err
    desk = world_of(request).complaints
    try:
        desk.params.update(body)
    except ComplaintError as exc:
        return _error(400, str(exc))
    return json_response({"ok": True, **desk.params.as_dict()})


@router.get("/complaints/{ref}")
async def get_complaint(request: Request, ref: str) -> Response:
    world = world_of(request)
    complaint = world.complaints.get(ref)
    if complaint is None:
        return _error(404, f"no complaint {ref!r}")
    return json_response(complaint.full(world.clock.time()))


# ------------------------------------------------------------------------------------------- portal, SMTP


@router.post("/portal/accounts")
async def set_portal_account(request: Request) -> Response:
    """`{"platform", "username", "password"}`: add the account or change its password."""
    body, err = await _json_object(request)
    if err is not None:
        return err
    platform, username, password = body.get("platform"), body.get("username"), body.get("password")
    if platform not in PORTALS:
        return _error(400, f"platform must be one of {list(PORTALS)}")
    if not isinstance(username, str) or not username.strip() or not isinstance(password, str) or not password:
        return _error(400, "username and password must be non-empty strings")
    world_of(request).portal.set_account(platform, username.strip(), password)
    return json_response({"ok": True, "platform": platform, "username": username.strip()})


@router.post("/portal/expire-sessions")
async def expire_portal_sessions(request: Request) -> Response:
    """End every portal login session (or only one platform's, with `{"platform": ...}`)."""
    platform = None
    if await request.body():
        body, err = await _json_object(request)
        if err is not None:
            return err
        platform = body.get("platform")
    return json_response({"ok": True, "expired": world_of(request).portal.expire(platform)})


@router.get("/smtp")
async def smtp_info(request: Request) -> Response:
    address = world_of(request).smtp_address
    return json_response({"host": address[0] if address else None, "port": address[1] if address else None,
                          "addresses": dict(ADDRESSES)})


@router.get("/mailbox/{platform}")
async def mailbox(request: Request, platform: str) -> Response:
    if platform not in ADDRESSES:
        return _error(404, f"unknown platform {platform!r}")
    world = world_of(request)
    now = world.clock.time()
    messages = []
    for message in world.mailbox.list(platform):
        complaint = world.complaints.get(message["ref"])
        info = complaint.full(now) if complaint else {}
        messages.append({**message, "status": info.get("status"), "decision": info.get("decision"),
                         "reason": info.get("reason"), "decided_at": info.get("decided_at"),
                         "removal_at": info.get("removal_at")})
    return json_response({"platform": platform, "address": ADDRESSES[platform], "messages": messages})
