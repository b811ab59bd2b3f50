"""The emulator as one ASGI app: each platform under a prefix standing for all of its hosts, the complaint
portals under /portal, plus /_emu. With `smtp_port` set, the app's lifespan also runs the SMTP inbox."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from . import bilibili, control, douyin, portal, smtp_inbox
from .world import World


class ApplyDueDecisions:
    """Before every HTTP request, carry out the complaint decisions whose time has come on the virtual clock."""

    def __init__(self, app: ASGIApp, world: World):
        self.app = app
        self.world = world

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.world.complaints.apply_due()
        await self.app(scope, receive, send)


def create_app(seed: int = 7, size: int = 2000, smtp_port: int | None = None,
               smtp_host: str = "127.0.0.1") -> FastAPI:
    """`smtp_port`: None runs no SMTP server, 0 picks a free port (see GET /_emu/smtp)."""
    world = World(seed=seed, size=size)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        server = await smtp_inbox.start(world, smtp_host, smtp_port) if smtp_port is not None else None
        try:
            yield
        finally:
            if server is not None:
                server.close()
                world.smtp_address = None

    # No generated docs: /docs and /openapi.json are not paths the real platforms have.
    app = FastAPI(title="takedown platform emulator", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)
    app.state.world = world
    app.add_middleware(ApplyDueDecisions, world=world)
    app.include_router(control.router)
    app.include_router(bilibili.router)
    app.include_router(douyin.router)
    app.include_router(portal.router)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:  # browsers ask for it; an empty answer keeps their consoles quiet
        return Response(status_code=204)

    return app
