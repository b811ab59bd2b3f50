"""The emulator's own control plane under /_emu: health, faults, post states, ground truth, stats.

Nothing here exists on the real platforms; tests and the demo use it to script the outside world.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from .corpus import PLATFORMS
from .faults import FaultError
from .world import STATES, json_response, world_of

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
        "pubdate": post.metrics.pubdate,
        "author": {"id": str(a.mid) if platform == "bilibili" else a.sec_uid, "uid": a.uid or str(a.mid),
                   "nickname": a.nickname, "bio": a.bio},
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
    """Clear faults, post states, stats and remembered keyword weaves."""
    world_of(request).reset()
    return json_response({"ok": True})
