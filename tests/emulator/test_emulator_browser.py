"""The Douyin search page in a real Chromium: its JS signs requests, renders cards and pages on scroll."""

from __future__ import annotations

import os
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from emulator.server import running

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed"),
]


def test_search_page_fetches_renders_and_pages_on_scroll():
    from playwright.sync_api import sync_playwright

    with running(seed=7, size=2000) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            answers: list[tuple[dict, dict]] = []

            def on_response(resp):
                if "/aweme/v1/web/general/search/single/" in resp.url:
                    query = {k: v[0] for k, v in parse_qs(urlparse(resp.url).query, keep_blank_values=True).items()}
                    answers.append((query, resp.json()))

            page.on("response", on_response)
            page.goto(f"{base}/douyin/search/债务优化?type=video")
            page.wait_for_function("document.body.getAttribute('data-pages-loaded') === '1'", timeout=15_000)
            first_cards = page.locator("[data-e2e=search-result-card]").count()
            assert first_cards >= 10
            assert page.evaluate("localStorage.getItem('xmst')") and page.evaluate(
                "/^\\d{19}$/.test(localStorage.getItem('webid'))")

            for _ in range(3):  # scroll like a person until the next page has arrived
                page.mouse.wheel(0, 6000)
                page.wait_for_timeout(300)
            page.wait_for_function("Number(document.body.getAttribute('data-pages-loaded')) >= 2", timeout=15_000)
            assert page.locator("[data-e2e=search-result-card]").count() > first_cards

            (q1, a1), (q2, a2) = answers[0], answers[1]
            assert q1["offset"] == "0" and q1["search_id"] == "" and q1["keyword"] == "债务优化"
            for key in ("device_platform", "aid", "channel", "search_channel", "search_source", "webid", "msToken",
                        "a_bogus"):
                assert q1[key], key
            assert a1["status_code"] == 0 and a1["has_more"] == 1 and a1["data"]
            assert q2["offset"] == str(a1["cursor"]) and q2["search_id"] == a1["extra"]["logid"]
            assert a2["data"] and a2["cursor"] == a1["cursor"] + 10

            first_id = (a1["data"][0].get("aweme_info") or a1["data"][0]["aweme_mix_info"]["mix_items"][0])["aweme_id"]
            assert page.locator(f"[data-aweme-id='{first_id}']").count() >= 1
        finally:
            browser.close()
        stats = httpx.get(f"{base}/_emu/stats").json()
        assert stats["requests"]["douyin"]["search"] >= 2 and not stats["rejected"].get("douyin")
