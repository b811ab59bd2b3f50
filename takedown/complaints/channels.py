"""The complaint channels of channels.yaml: loaded, validated, and pointed at the emulator when one is set.

A bad file fails at load with a message naming the channel (or notice) and the key. `resolve_channels(settings)`
is what filing uses: with `settings.emulator_url` set, every portal becomes `<emu>/portal/<name>` and every
complaint address comes from the emulator's `GET /_emu/smtp`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from takedown.settings import Settings

DEFAULT_CHANNELS_PATH = Path(__file__).with_name("channels.yaml")
METHODS = ("email", "portal", "export")
PORTAL_CATEGORIES = ("违法违规", "金融诈骗", "侵权", "其他")
DEFAULT_PACE_SECONDS = 30.0
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

_CHANNEL_KEYS = {"name", "platforms", "emulator_name", "methods", "default_method", "email", "portal", "pace",
                 "sla", "attachments", "cite"}
_NOTICE_KEYS = {"issuer", "date", "about", "points", "applies_to"}


class ChannelsError(ValueError):
    """channels.yaml is wrong; the message names the file, the channel or notice, and the key."""


@dataclass(frozen=True, slots=True)
class Notice:
    id: str
    issuer: str
    date: str  # "2024-05-11" or "2024"
    about: str
    points: str
    applies_to: tuple[str, ...]

    @property
    def date_cn(self) -> str:
        parts = self.date.split("-")
        if len(parts) == 3:
            return f"{int(parts[0])}年{int(parts[1])}月{int(parts[2])}日"
        return f"{parts[0]}年"

    @property
    def citation(self) -> str:
        return f"{self.issuer}{self.date_cn}发布的{self.about}"


@dataclass(frozen=True, slots=True)
class PlatformRule:
    title: str
    verified: bool


@dataclass(frozen=True, slots=True)
class Channel:
    id: str
    name: str
    platforms: tuple[str, ...]
    emulator_name: str
    methods: tuple[str, ...]
    default_method: str
    email_address: str
    email_verified: bool
    portal_url: str
    portal_verified: bool
    portal_category: str
    pace_seconds: float
    max_per_hour: int | None
    sla_working_days: int | None
    sla_hint: str
    attachments: tuple[str, ...]
    notices: tuple[Notice, ...]
    rules: tuple[PlatformRule, ...]

    def supports(self, method: str) -> bool:
        return method in self.methods

    @property
    def pace(self) -> float:
        """Seconds between two filings: the configured pace, slowed down to respect max_per_hour."""
        if self.max_per_hour:
            return max(self.pace_seconds, 3600.0 / self.max_per_hour)
        return self.pace_seconds


@dataclass(frozen=True, slots=True)
class Catalog:
    channels: dict[str, Channel]
    notices: dict[str, Notice]

    def __getitem__(self, channel: str) -> Channel:
        try:
            return self.channels[channel]
        except KeyError:
            raise ChannelsError(f"unknown complaint channel {channel!r}; known: {', '.join(self.channels)}") from None

    def __contains__(self, channel: object) -> bool:
        return channel in self.channels

    def for_platform(self, platform: str) -> Channel:
        """The channel that acts on a post of `platform` (the national channel when none does)."""
        for channel in self.channels.values():
            if platform in channel.platforms:
                return channel
        return self["12377"]


# --- loading ---------------------------------------------------------------------------------------------


def _need(mapping: dict[str, Any], key: str, where: str, kind: type | tuple[type, ...]) -> Any:
    if key not in mapping:
        raise ChannelsError(f"{where}: missing key {key!r}")
    value = mapping[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ChannelsError(f"{where}: key {key!r}: expected {getattr(kind, '__name__', kind)}, got {value!r}")
    return value


def _text(mapping: dict[str, Any], key: str, where: str) -> str:
    value = _need(mapping, key, where, (str, int))
    value = str(value).strip()
    if not value:
        raise ChannelsError(f"{where}: key {key!r}: must not be empty")
    return value


def _str_list(mapping: dict[str, Any], key: str, where: str, default: list | None = None) -> tuple[str, ...]:
    if key not in mapping and default is not None:
        return tuple(default)
    value = _need(mapping, key, where, list)
    if not all(isinstance(v, str | int) and str(v).strip() for v in value):
        raise ChannelsError(f"{where}: key {key!r}: every item must be a non-empty string")
    return tuple(str(v).strip() for v in value)


def _notice(notice_id: str, raw: Any, where: str) -> Notice:
    where = f"{where}: notice {notice_id!r}"
    if not isinstance(raw, dict):
        raise ChannelsError(f"{where}: must be a mapping")
    unknown = set(raw) - _NOTICE_KEYS
    if unknown:
        raise ChannelsError(f"{where}: unknown key(s) {sorted(unknown)}")
    date = _text(raw, "date", where)
    if not re.fullmatch(r"\d{4}(-\d{2}-\d{2})?", date):
        raise ChannelsError(f"{where}: key 'date': expected YYYY or YYYY-MM-DD (quoted), got {date!r}")
    return Notice(notice_id, _text(raw, "issuer", where), date, _text(raw, "about", where),
                  _text(raw, "points", where), _str_list(raw, "applies_to", where, default=[]))


def _channel(channel_id: str, raw: Any, notices: dict[str, Notice], where: str) -> Channel:
    where = f"{where}: channel {channel_id!r}"
    if not isinstance(raw, dict):
        raise ChannelsError(f"{where}: must be a mapping")
    unknown = set(raw) - _CHANNEL_KEYS
    if unknown:
        raise ChannelsError(f"{where}: unknown key(s) {sorted(unknown)}")
    methods = _str_list(raw, "methods", where)
    if not methods:
        raise ChannelsError(f"{where}: key 'methods': at least one of {', '.join(METHODS)}")
    for method in methods:
        if method not in METHODS:
            raise ChannelsError(f"{where}: key 'methods': unknown method {method!r} (known: {', '.join(METHODS)})")
    default_method = _text(raw, "default_method", where)
    if default_method not in methods:
        raise ChannelsError(f"{where}: key 'default_method': {default_method!r} is not one of its methods "
                            f"{list(methods)}")

    email, portal = raw.get("email") or {}, raw.get("portal") or {}
    if not isinstance(email, dict) or not isinstance(portal, dict):
        raise ChannelsError(f"{where}: keys 'email' and 'portal' must be mappings")
    address = str(email.get("address", "")).strip()
    if "email" in methods and not _EMAIL_RE.match(address):
        raise ChannelsError(f"{where}: key 'email.address': the channel files by e-mail but has no valid "
                            f"address ({address!r})")
    portal_url = str(portal.get("url", "")).strip()
    if "portal" in methods and not portal_url.startswith(("https://", "http://")):
        raise ChannelsError(f"{where}: key 'portal.url': the channel files through a portal but has no URL")
    category = str(portal.get("category", "违法违规"))
    if category not in PORTAL_CATEGORIES:
        raise ChannelsError(f"{where}: key 'portal.category': {category!r} is not one of {PORTAL_CATEGORIES}")

    pace = raw.get("pace") or {}
    if not isinstance(pace, dict):
        raise ChannelsError(f"{where}: key 'pace': must be a mapping {{seconds, max_per_hour}}")
    seconds = pace.get("seconds", DEFAULT_PACE_SECONDS)
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        raise ChannelsError(f"{where}: key 'pace.seconds': must be a number >= 0, got {seconds!r}")
    per_hour = pace.get("max_per_hour")
    if per_hour is not None and (isinstance(per_hour, bool) or not isinstance(per_hour, int) or per_hour < 1):
        raise ChannelsError(f"{where}: key 'pace.max_per_hour': must be a whole number >= 1, got {per_hour!r}")

    sla = raw.get("sla") or {}
    if not isinstance(sla, dict):
        raise ChannelsError(f"{where}: key 'sla': must be a mapping {{working_days, hint}}")
    days = sla.get("working_days")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int) or days < 1):
        raise ChannelsError(f"{where}: key 'sla.working_days': must be a whole number >= 1, got {days!r}")

    cite = _need(raw, "cite", where, dict)
    notice_ids = _str_list(cite, "notices", f"{where}: key 'cite'")
    if not notice_ids:
        raise ChannelsError(f"{where}: key 'cite.notices': cite at least one notice")
    for notice_id in notice_ids:
        if notice_id not in notices:
            raise ChannelsError(f"{where}: key 'cite.notices': unknown notice {notice_id!r} "
                                f"(known: {', '.join(notices)})")
    rules = []
    for i, rule in enumerate(cite.get("rules") or []):
        if not isinstance(rule, dict) or not str(rule.get("title", "")).strip():
            raise ChannelsError(f"{where}: key 'cite.rules[{i}]': expected {{title, verified}}")
        rules.append(PlatformRule(str(rule["title"]).strip(), bool(rule.get("verified", False))))

    return Channel(
        id=channel_id, name=_text(raw, "name", where),
        platforms=_str_list(raw, "platforms", where, default=[]),
        emulator_name=str(raw.get("emulator_name") or channel_id),
        methods=methods, default_method=default_method,
        email_address=address, email_verified=bool(email.get("verified", False)),
        portal_url=portal_url.rstrip("/"), portal_verified=bool(portal.get("verified", False)),
        portal_category=category, pace_seconds=float(seconds), max_per_hour=per_hour,
        sla_working_days=days, sla_hint=str(sla.get("hint", "")).strip(),
        attachments=_str_list(raw, "attachments", where, default=[]),
        notices=tuple(notices[n] for n in notice_ids), rules=tuple(rules),
    )


def load_channels(path: str | Path | None = None) -> Catalog:
    """Read and validate a channels file (default: the shipped channels.yaml)."""
    path = Path(path) if path else DEFAULT_CHANNELS_PATH
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ChannelsError(f"{path}: cannot read: {exc}") from exc
    where = str(path)
    if not isinstance(data, dict):
        raise ChannelsError(f"{where}: expected a mapping with 'notices' and 'channels'")
    unknown = set(data) - {"notices", "channels"}
    if unknown:
        raise ChannelsError(f"{where}: unknown top-level key(s) {sorted(unknown)}")
    raw_notices = _need(data, "notices", where, dict)
    notices = {str(k): _notice(str(k), v, where) for k, v in raw_notices.items()}
    raw_channels = _need(data, "channels", where, dict)
    channels = {str(k): _channel(str(k), v, notices, where) for k, v in raw_channels.items()}
    if not channels:
        raise ChannelsError(f"{where}: key 'channels': no channel defined")
    seen: dict[str, str] = {}
    for channel in channels.values():
        for platform in channel.platforms:
            if platform in seen:
                raise ChannelsError(f"{where}: channel {channel.id!r}: key 'platforms': {platform!r} already "
                                    f"belongs to channel {seen[platform]!r}")
            seen[platform] = channel.id
    return Catalog(channels, notices)


@lru_cache(maxsize=4)
def default_catalog() -> Catalog:
    return load_channels()


# --- the emulator -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SmtpEndpoint:
    host: str
    port: int
    security: str = "none"  # starttls | ssl | none
    username: str = ""


@lru_cache(maxsize=8)
def _emulator_smtp(emulator_url: str) -> tuple[str, int, tuple[tuple[str, str], ...]]:
    import httpx

    url = f"{emulator_url.rstrip('/')}/_emu/smtp"
    response = httpx.get(url, timeout=10.0)
    response.raise_for_status()
    data = response.json()
    return str(data["host"]), int(data["port"]), tuple(sorted((str(k), str(v))
                                                              for k, v in data["addresses"].items()))


def emulator_smtp(settings: Settings) -> tuple[SmtpEndpoint, dict[str, str]]:
    """The emulator's SMTP inbox and its address per channel name (from `GET <emu>/_emu/smtp`)."""
    host, port, addresses = _emulator_smtp(settings.emulator_url)
    return SmtpEndpoint(host, port), dict(addresses)


def resolve_channels(settings: Settings, catalog: Catalog | None = None) -> Catalog:
    """The channels as filing sees them: as configured, or pointed at the emulator when one is set."""
    catalog = catalog or default_catalog()
    if not settings.emulator_url:
        return catalog
    emu = settings.emulator_url.rstrip("/")
    try:
        _, addresses = emulator_smtp(settings)
    except Exception:  # noqa: BLE001 - an emulator without the SMTP inbox still has portals
        addresses = {}
    channels = {
        cid: replace(ch, portal_url=f"{emu}/portal/{ch.emulator_name}",
                     email_address=addresses.get(ch.emulator_name, ch.email_address),
                     email_verified=ch.emulator_name in addresses)
        for cid, ch in catalog.channels.items()
    }
    return Catalog(channels, catalog.notices)
