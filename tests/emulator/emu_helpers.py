"""Helpers for the emulator tests: the ASGI app in-process via httpx, and well-behaved platform clients.

The clients do what a correct crawler does (visit the home page for cookies, sign WBI, load Douyin's search
page for its nonce and secret), so tests can tell "the emulator rejects bad requests" from "our request was bad".
"""

from __future__ import annotations

import json
import re
import time
from urllib.parse import quote, urlencode

import httpx

from emulator import wbi
from emulator.app import create_app
from emulator.douyin_token import a_bogus


def make_client(seed: int = 7, size: int = 2000) -> httpx.AsyncClient:
    app = create_app(seed=seed, size=size)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://emu.test")


class Bili:
    """A correct Bilibili client: buvid3 from the home page, WBI keys from nav, signed searches."""

    SEARCH = "/bilibili/x/web-interface/wbi/search/type"

    def __init__(self, client: httpx.AsyncClient):
        self.client = client
        self.img_key = self.sub_key = ""

    async def warm(self) -> Bili:
        await self.client.get("/bilibili/")
        nav = (await self.client.get("/bilibili/x/web-interface/nav")).json()
        self.img_key = nav["data"]["wbi_img"]["img_url"].rsplit("/", 1)[1].split(".")[0]
        self.sub_key = nav["data"]["wbi_img"]["sub_url"].rsplit("/", 1)[1].split(".")[0]
        return self

    def signed(self, keyword: str, page: int = 1, wts: int | None = None, **extra) -> dict[str, str]:
        params = {"search_type": "video", "keyword": keyword, "page": page, "page_size": 20, "order": "", **extra}
        return wbi.sign(params, self.img_key, self.sub_key, int(time.time()) if wts is None else wts)

    async def search_raw(self, keyword: str, page: int = 1, **extra) -> httpx.Response:
        return await self.client.get(self.SEARCH, params=self.signed(keyword, page, **extra))

    async def search(self, keyword: str, page: int = 1, **extra) -> dict:
        resp = await self.search_raw(keyword, page, **extra)
        assert resp.status_code == 200, resp.text
        return resp.json()


class Douyin:
    """Does in Python what the search page's JavaScript does (tests only; crawlers must run the page)."""

    SEARCH = "/douyin/aweme/v1/web/general/search/single/"

    def __init__(self, client: httpx.AsyncClient):
        self.client = client
        self.secret = self.fp = ""
        self.ua = "Mozilla/5.0 (X11; Linux x86_64) emulator-tests"

    async def open(self, keyword: str = "债务优化") -> Douyin:
        page = await self.client.get(f"/douyin/search/{quote(keyword)}?type=video", headers={"User-Agent": self.ua})
        assert page.status_code == 200
        codes = json.loads(re.search(r"window\.__ac_k=(\[[^\]]*\])", page.text).group(1))
        self.secret = "".join(chr(c ^ 90) for c in codes)
        self.fp = json.loads(re.search(r"window\.SSR_SEARCH=(\{.*?\});", page.text).group(1))["fp"]
        return self

    def query(self, keyword: str, offset: int = 0, count: int = 10, search_id: str = "", **extra) -> str:
        pairs = [("device_platform", "webapp"), ("aid", "6383"), ("channel", "channel_pc_web"),
                 ("search_channel", "aweme_general"), ("keyword", keyword), ("search_source", "tab_search"),
                 ("query_correct_type", "1"), ("is_filter_search", "0"), ("offset", str(offset)),
                 ("count", str(count)), ("need_filter_settings", "1"), ("list_type", "multi"),
                 ("search_id", search_id), *extra.items(), ("verifyFp", self.fp), ("webid", "7" + "3" * 18),
                 ("msToken", "m" * 107)]
        return urlencode(pairs)

    async def search_raw(self, keyword: str, offset: int = 0, sign: bool = True, ua: str | None = None,
                         **kw) -> httpx.Response:
        qs = self.query(keyword, offset, **kw)
        if sign:
            qs += "&a_bogus=" + quote(a_bogus(self.secret, qs, self.ua), safe="")
        return await self.client.get(f"{self.SEARCH}?{qs}", headers={"User-Agent": ua or self.ua})

    async def search(self, keyword: str, offset: int = 0, **kw) -> dict:
        resp = await self.search_raw(keyword, offset, **kw)
        assert resp.status_code == 200 and resp.content, (resp.status_code, resp.text[:200])
        return resp.json()


def strip_em(title: str) -> str:
    return re.sub(r"</?em[^>]*>", "", title)


# ------------------------------------------------------------------------------------------- complaint channels

PORTAL_USER, PORTAL_PASS = "takedown", "portal-pass"
REF_PATTERN = r"^(DY|KS|BL|XHS|WB|WX|CAC)-\d{8}-\d{6}$"
_CJK = "".join(chr(c) for c in range(0x4E00, 0x4E00 + 3000))


def varied_text(i: int, length: int = 60) -> str:
    """A body unlike any other `i`'s (so the template detector stays out of the way)."""
    import random

    rng = random.Random(f"varied-{i}")
    return "".join(rng.choice(_CJK) for _ in range(length))


async def portal_login(client: httpx.AsyncClient, platform: str = "douyin", username: str = PORTAL_USER,
                       password: str = PORTAL_PASS) -> httpx.Response:
    resp = await client.post(f"/portal/{platform}/login", data={"username": username, "password": password})
    assert resp.status_code == 303, resp.text
    return resp


async def file_complaint(client: httpx.AsyncClient, platform: str, post_url: str, description: str,
                         client_ref: str = "", category: str = "金融诈骗",
                         files: list[tuple[str, bytes]] | None = None) -> str:
    """Submit the portal form (already logged in); returns the reference the result page shows."""
    data = {"post_url": post_url, "category": category, "rights_holder": "某某金融科技有限公司",
            "description": description, "client_ref": client_ref}
    upload = [("evidence", (name, content, "application/octet-stream")) for name, content in files or []]
    resp = await client.post(f"/portal/{platform}/complaints/new", data=data, files=upload or None)
    assert resp.status_code == 200, resp.text
    m = re.search(r'<span id="complaint-ref">([^<]+)</span>', resp.text)
    assert m, resp.text
    return m.group(1)


async def emu_complaint(client: httpx.AsyncClient, ref: str) -> dict:
    resp = await client.get(f"/_emu/complaints/{ref}")
    assert resp.status_code == 200, resp.text
    return resp.json()


async def advance(client: httpx.AsyncClient, hours: float) -> dict:
    resp = await client.post("/_emu/clock", json={"advance_hours": hours})
    assert resp.status_code == 200, resp.text
    return resp.json()
