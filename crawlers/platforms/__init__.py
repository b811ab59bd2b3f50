"""One module per platform. `ADAPTERS` maps a platform name to its adapter class."""

from __future__ import annotations

from crawlers.platforms.base import PlatformAdapter
from crawlers.platforms.bilibili import BilibiliAdapter
from crawlers.platforms.douyin import DouyinAdapter

ADAPTERS: dict[str, type[PlatformAdapter]] = {
    BilibiliAdapter.name: BilibiliAdapter,
    DouyinAdapter.name: DouyinAdapter,
}


def get_adapter_class(platform: str) -> type[PlatformAdapter]:
    try:
        return ADAPTERS[platform]
    except KeyError:
        known = ", ".join(sorted(ADAPTERS))
        raise ValueError(f"unknown platform {platform!r}; known: {known}") from None
