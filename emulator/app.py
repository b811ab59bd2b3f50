"""The emulator as one ASGI app: each platform under a prefix standing for all of its hosts, plus /_emu."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.responses import Response

from . import bilibili, control, douyin
from .world import World


def create_app(seed: int = 7, size: int = 2000) -> FastAPI:
    # No generated docs: /docs and /openapi.json are not paths the real platforms have.
    app = FastAPI(title="takedown platform emulator", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.world = World(seed=seed, size=size)
    app.include_router(control.router)
    app.include_router(bilibili.router)
    app.include_router(douyin.router)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:  # browsers ask for it; an empty answer keeps their consoles quiet
        return Response(status_code=204)

    return app
