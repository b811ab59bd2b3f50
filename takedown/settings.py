"""The one settings object: environment variables prefixed TAKEDOWN_, then an optional takedown.toml."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

REPO_ROOT = Path(__file__).resolve().parents[1]

# Seed keywords from DOMAIN.md: extend, never shrink.
SEED_KEYWORDS: tuple[str, ...] = (
    "债务优化", "征信修复", "停息挂账", "协商还款", "个性化分期", "债务重组", "债务托管", "债务协商",
    "债务置换", "债务清零", "延期还款", "减免息费", "屏蔽催收", "停催", "反催收", "代理投诉", "征信洗白",
    "逾期上岸", "负债上岸", "全额退保", "投顾退费", "网贷逾期处理", "信用卡逾期协商",
)

# The real platforms' hosts. Pointing the crawlers at the emulator replaces every one of them with
# "<emulator>/<platform>" (see Settings.platform_base_urls).
REAL_BASE_URLS: dict[str, dict[str, str]] = {
    "bilibili": {
        "api": "https://api.bilibili.com",
        "www": "https://www.bilibili.com",
        "space": "https://space.bilibili.com",
    },
    "douyin": {"www": "https://www.douyin.com"},
    "kuaishou": {"www": "https://www.kuaishou.com"},
    "xiaohongshu": {"api": "https://edith.xiaohongshu.com", "www": "https://www.xiaohongshu.com"},
    "weibo": {"api": "https://m.weibo.cn", "www": "https://m.weibo.cn"},
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TAKEDOWN_", toml_file="takedown.toml", extra="ignore"
    )

    var_dir: Path = REPO_ROOT / "var"
    database_url: str = ""  # empty: SQLite file var/takedown.db
    # Posts at or above this score enter the review queue.
    queue_threshold: float = 0.5
    # When set, every platform's hosts are replaced by this emulator's URL.
    emulator_url: str = ""
    # Per-platform host overrides, e.g. {"bilibili": {"api": "https://..."}}.
    base_urls: dict[str, dict[str, str]] = Field(default_factory=dict)
    chromium_path: str = "/usr/bin/chromium"
    # Browser login state (cookies + localStorage) per platform account; mode 0600, never logged.
    storage_state_dir: Path | None = None
    # Politeness: one request at a time per platform with a jittered pause (seconds).
    download_delay: float = 2.0
    concurrency_per_platform: int = 1
    keywords: list[str] = Field(default_factory=lambda: list(SEED_KEYWORDS))

    # --- review web app ---
    # Signs the session cookie. Empty: a random secret is created once in var_dir/web_secret (mode 0600).
    web_session_secret: str = ""
    # A session ends after this many minutes without a request, and in any case this many hours after login.
    web_session_idle_minutes: int = 120
    web_session_max_hours: int = 12
    # Send the session cookie over HTTPS only (set it when the app is served behind TLS).
    web_cookie_secure: bool = False
    # Failed logins allowed per username and client address within the window, then 429 until it passes.
    web_login_max_failures: int = 5
    web_login_window_seconds: int = 300
    # Rows per queue page, and the most a bulk decision on a whole filter result may change at once.
    web_page_size: int = 50
    web_bulk_filter_max: int = 5000
    # Times are shown in this zone (the team works in China).
    web_timezone: str = "Asia/Shanghai"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.var_dir / 'takedown.db'}"

    def platform_base_urls(self, platform: str) -> dict[str, str]:
        """The hosts one platform adapter talks to: real, emulated, or overridden per host."""
        urls = dict(REAL_BASE_URLS.get(platform, {}))
        if self.emulator_url:
            emulated = f"{self.emulator_url.rstrip('/')}/{platform}"
            urls = {name: emulated for name in urls}
        urls.update(self.base_urls.get(platform, {}))
        return urls

    def storage_state_path(self, platform: str) -> Path:
        base = self.storage_state_dir or (self.var_dir / "login")
        return base / f"{platform}.json"


@lru_cache
def get_settings() -> Settings:
    return Settings()
