"""Configuration rows every installation starts with: the platforms and the seed keywords (DOMAIN.md).

Applied after every `takedown db upgrade`; idempotent, and it only ever adds (seed keywords extend, never shrink).
"""

from __future__ import annotations

from sqlalchemy import Engine, select

from takedown.db import session_scope
from takedown.models import Keyword, Platform
from takedown.settings import SEED_KEYWORDS

PLATFORMS: tuple[tuple[str, str, str, bool], ...] = (
    # code, name, fetch mode, enabled by default (only the platforms with an adapter)
    ("bilibili", "哔哩哔哩", "api", True),
    ("douyin", "抖音", "browser", True),
    ("kuaishou", "快手", "browser", False),
    ("xiaohongshu", "小红书", "browser", False),
    ("weibo", "微博", "api", False),
)


def ensure_defaults(engine: Engine) -> None:
    with session_scope(engine) as session:
        known_platforms = set(session.execute(select(Platform.code)).scalars())
        for code, name, mode, enabled in PLATFORMS:
            if code not in known_platforms:
                session.add(Platform(code=code, name=name, mode=mode, enabled=enabled))
        known_keywords = set(session.execute(select(Keyword.text).where(Keyword.platform == "*")).scalars())
        for text in SEED_KEYWORDS:
            if text not in known_keywords:
                session.add(Keyword(text=text, platform="*", source="seed"))
