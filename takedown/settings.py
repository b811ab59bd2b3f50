"""The one settings object: environment variables prefixed TAKEDOWN_, then an optional takedown.toml."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr
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


class RightsHolder(BaseModel):
    """Who complains: the protected lender and the agent filing for it (every letter names them).

    The defaults are a FICTIONAL demo company; set the real ones in takedown.toml ([rights_holder]) or
    TAKEDOWN_RIGHTS_HOLDER='{"company_name": ...}' before filing anything with a real platform."""

    company_name: str = "示例消费金融有限公司（演示用虚构主体）"
    unified_social_credit_code: str = "91000000DEMO00000X"  # not a real code: 18 characters, marked DEMO
    authorised_agent: str = "张示例（演示用虚构代理人）"
    agent_title: str = "品牌保护专员"
    contact_email: str = "brand-protection@example.com"
    contact_phone: str = "010-00000000"
    address: str = "示例市示例区示例路1号（虚构地址）"
    authorisation_ref: str = "DEMO-授权-2026-001"  # the number of the signed 授权委托书
    authorisation_valid_until: str = "2027-12-31"
    # Scans to attach where a channel asks for them, e.g. {"营业执照": "/secure/licence.pdf"}; missing ones are
    # listed in the letter as to be supplied.
    documents: dict[str, str] = Field(default_factory=dict)
    demo: bool = True  # the letters say so while the fictional defaults are in use


class PortalAccount(BaseModel):
    """A complaint-portal login. The password is better given by env TAKEDOWN_PORTAL_PASSWORD_<CHANNEL>."""

    username: str
    password: SecretStr = SecretStr("")


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
    # Enrichment (`takedown enrich`): candidates scoring at least this get their top comments and their author's
    # profile fetched, at most `enrich_limit` per platform and run, highest score first, and again after
    # `enrich_refresh_days`.
    enrich_threshold: float = 0.5
    enrich_refresh_days: float = 14.0
    enrich_limit: int = 200

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

    # --- evidence, cases, re-checks ---
    # Domain time = real UTC + this many hours (takedown.clock). The demo sets it to follow the emulator's
    # fast-forwarded clock, so SLAs and removals can be "waited" for without sleeping. Never negative in practice.
    clock_offset_hours: float = 0.0
    # Hours a platform has to act on a complaint before the case is overdue and escalates (DOMAIN.md).
    # Merged over the defaults in takedown.tracking.DEFAULT_SLA_HOURS, so setting one channel keeps the others.
    case_sla_hours: dict[str, float] = Field(default_factory=lambda: {
        "douyin": 120, "kuaishou": 120, "bilibili": 72, "xiaohongshu": 120, "weibo": 120,
        "weixin_channels": 168, "12377": 240,
    })
    # A removed case is closed by the first re-check at least this many hours after the removal that still finds
    # the post gone (a post that comes straight back is caught before the case is put away; a closed case still
    # reopens if it ever does).
    case_close_after_hours: float = 72.0
    # Evidence capture: tries per post before a failure is recorded, and pages captured at once.
    evidence_capture_attempts: int = 2
    evidence_capture_concurrency: int = 2
    evidence_capture_timeout_seconds: float = 30.0

    # --- complaints ---
    rights_holder: RightsHolder = Field(default_factory=RightsHolder)
    # Outgoing mail for the e-mail channels. No host (and no emulator): letters are written to var/outbox/ as
    # .eml files and NOT sent. The password comes from env TAKEDOWN_SMTP_PASSWORD and is never logged.
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"  # starttls | ssl | none
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_from: str = ""  # empty: rights_holder.contact_email
    smtp_timeout: float = 30.0
    # A CA bundle (PEM) to trust for the SMTP server's certificate, e.g. a company CA; empty: the system's CAs.
    # The certificate is always verified (takedown/smtp.py): there is no setting to turn that off.
    smtp_ca_file: str = ""
    # Log in over smtp_security=none anyway (the password goes in clear): only for a trusted local relay.
    smtp_allow_plain_auth: bool = False
    # Complaint-portal logins per channel, e.g. {"douyin": {"username": "..."}}; passwords from env
    # TAKEDOWN_PORTAL_PASSWORD_<CHANNEL> (e.g. TAKEDOWN_PORTAL_PASSWORD_DOUYIN).
    portal_accounts: dict[str, PortalAccount] = Field(default_factory=dict)
    # Seconds between two filings on one channel; None: the channel's own pace from channels.yaml.
    complaint_pace: float | None = None

    # --- weekly report and the scheduler ---
    # Who gets the weekly summary e-mail (sent with the smtp_* settings above; no host: written to var/outbox/).
    report_recipients: list[str] = Field(default_factory=lambda: ["brand-protection@example.com"])
    report_trailing_weeks: int = 4
    # The scheduler's clock (scheduler.py). Intervals in minutes; cron fields in schedule_timezone.
    schedule_timezone: str = "Asia/Shanghai"
    schedule_sweep_minutes: int = 360  # keyword sweeps, one job per enabled platform
    schedule_sweep_pages: int = 3
    schedule_enrich_minutes: int = 60  # profile/comment fetches for new candidates (`takedown enrich`)
    schedule_recheck_minutes: int = 240  # case re-checks
    schedule_evidence_minutes: int = 30  # evidence back-fill
    schedule_train_cron: str = "0 3 * * sun"  # scorer retraining (crontab: minute hour day month weekday)
    schedule_weekly_cron: str = "0 9 * * mon"  # the weekly summary e-mail: Monday 09:00
    schedule_misfire_grace_seconds: int = 900
    schedule_job_timeout_seconds: float = 3600.0

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
