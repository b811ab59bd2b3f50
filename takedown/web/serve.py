"""Running the web app: `takedown serve`, and what the demo calls (serve + a demo login)."""

from __future__ import annotations

import secrets

from sqlalchemy import Engine

from takedown.auth import create_user, get_user, update_user
from takedown.db import session_scope, upgraded_engine
from takedown.models import Role
from takedown.settings import Settings, get_settings

DEMO_USERNAME = "demo"


def serve(database_url: str, host: str = "127.0.0.1", port: int = 8000, *, settings: Settings | None = None) -> None:
    """Migrate the database if needed and serve the review app on host:port until interrupted."""
    import uvicorn

    from takedown.web.app import create_app

    settings = (settings or get_settings()).model_copy(update={"database_url": database_url})
    engine = upgraded_engine(database_url)
    app = create_app(settings, engine)
    try:
        uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False)
    finally:
        engine.dispose()


def ensure_demo_user(engine: Engine) -> tuple[str, str]:
    """The demo's reviewer (role lead, marked is_demo) with a fresh random password: (username, password)."""
    password = secrets.token_urlsafe(9)
    with session_scope(engine) as session:
        user = get_user(session, DEMO_USERNAME)
        if user is None:
            create_user(session, DEMO_USERNAME, password, Role.LEAD, is_demo=True, actor="demo")
        else:
            update_user(session, user, by=None, role=Role.LEAD, is_active=True, password=password, is_demo=True,
                        actor="demo")
    return DEMO_USERNAME, password
