"""The review queue in a real browser (the system Chromium) against `takedown serve` on a free port: log in, work
the queue by keyboard, bulk-confirm 100 posts, undo, see the audit entries, conflicts between two reviewers, and
a script in a title that stays text."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select
from sqlmodel import Session

from takedown.db import make_engine, upgrade
from takedown.models import Post
from tests.conftest import CHROMIUM, REPO, needs_chromium
from tests.takedown.review_seed import PASSWORD, XSS_TITLE, make_user, seed_posts

pytestmark = [needs_chromium, pytest.mark.browser]

LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@dataclass
class Site:
    url: str
    database_url: str
    keyboard_ids: list[int]
    bulk_ids: list[int]
    filter_ids: list[int]
    conflict_ids: list[int]
    xss_id: int

    def count(self, ids: list[int], state: str) -> int:
        engine = make_engine(self.database_url)
        try:
            with Session(engine) as session:
                return session.execute(select(func.count()).select_from(Post).where(
                    Post.id.in_(ids), Post.review_state == state)).scalar_one()
        finally:
            engine.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("e2e_review")
    database_url = f"sqlite:///{tmp / 'review.db'}"
    engine = make_engine(database_url)
    upgrade(engine)
    keyboard = seed_posts(engine, 6, platform="kuaishou", keyword="债务优化", start_index=0)
    bulk = seed_posts(engine, 130, platform="douyin", keyword="停息挂账", start_index=100, step=0.0005)
    by_filter = seed_posts(engine, 7, platform="xiaohongshu", keyword="征信修复", start_index=300)
    conflict = seed_posts(engine, 2, platform="weibo", keyword="屏蔽催收", start_index=400)
    xss = seed_posts(engine, 1, platform="bilibili", keyword="协商还款", start_index=500, titles=[XSS_TITLE])
    make_user(engine, "lena", "lead")
    make_user(engine, "bob", "reviewer")
    engine.dispose()
    port = _free_port()
    env = {**os.environ, "TAKEDOWN_DATABASE_URL": database_url, "TAKEDOWN_VAR_DIR": str(tmp / "var"),
           "TAKEDOWN_WEB_SESSION_SECRET": "e2e-secret-" + "z" * 40}
    log = (tmp / "server.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "takedown", "serve", "--port", str(port)], cwd=REPO, env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"takedown serve did not start: {(tmp / 'server.log').read_text()}")
            time.sleep(0.2)
        yield Site(url, database_url, keyboard.post_ids, bulk.post_ids, by_filter.post_ids, conflict.post_ids,
                   xss.post_ids[0])
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
                                      args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def dialogs() -> list[str]:
    return []


def _page(browser, dialogs: list[str]):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    return page


def _login(page, site: Site, username: str, next_path: str) -> None:
    page.goto(site.url + next_path)
    assert "/login" in page.url
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{next_path.split('?')[0]}**")
    page.wait_for_selector("tr.qrow.current")


def _current_id(page) -> int:
    return int(page.locator("tr.qrow.current").get_attribute("data-id"))


def _badge(page, post_id: int):
    return page.locator(f'tr.qrow[data-id="{post_id}"] .badge')


def test_log_in_and_work_the_queue_by_keyboard(browser, site, dialogs):
    page = _page(browser, dialogs)
    _login(page, site, "lena", "/queue?platform=kuaishou")
    ids = site.keyboard_ids
    assert [int(i) for i in page.locator("tr.qrow").evaluate_all("rows => rows.map(r => r.dataset.id)")] == ids
    assert _current_id(page) == ids[0]
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert _current_id(page) == ids[1]
    page.keyboard.press("y")  # confirm: the row says so and the cursor moves on
    expect(_badge(page, ids[1])).to_have_text("已确认违规")
    assert _current_id(page) == ids[2]
    page.keyboard.press("n")
    expect(_badge(page, ids[2])).to_have_text("已驳回")
    page.keyboard.press("d")
    expect(_badge(page, ids[3])).to_have_text("重复")
    assert site.count([ids[1]], "confirmed") == 1 and site.count([ids[2]], "rejected") == 1
    assert site.count([ids[3]], "duplicate") == 1
    # u undoes the last action only.
    page.keyboard.press("u")
    expect(_badge(page, ids[3])).to_have_text("待审核")
    assert "已撤销" in page.locator("#status").text_content()
    assert site.count([ids[3]], "queued") == 1 and site.count([ids[2]], "rejected") == 1
    # x selects, shift+x selects a range.
    assert _current_id(page) == ids[4]
    for _ in range(4):
        page.keyboard.press("k")
    assert _current_id(page) == ids[0]
    page.keyboard.press("x")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("Shift+X")
    assert page.locator("#sel-count").text_content() == "3"
    assert page.locator("tr.qrow.selected").count() == 3
    page.keyboard.press("Escape")
    assert page.locator("#sel-count").text_content() == "0"
    # ? shows the keys.
    assert page.locator("#help").is_hidden()
    page.keyboard.press("?")
    assert page.locator("#help").is_visible() and "撤销自己的上一次操作" in page.locator("#help").text_content()
    page.keyboard.press("?")
    assert page.locator("#help").is_hidden()
    # o opens the post page, where y/n/d work too.
    page.keyboard.press("o")
    page.wait_for_url(f"**/posts/{ids[2]}")
    assert "停息挂账" in page.locator(".post-main").text_content()
    page.keyboard.press("y")
    page.wait_for_selector("#decision-panel .ok-message")
    assert site.count([ids[2]], "confirmed") == 1
    assert dialogs == []


def test_bulk_confirm_100_posts_then_undo_and_see_the_audit_entries(browser, site, dialogs):
    page = _page(browser, dialogs)
    _login(page, site, "lena", "/queue?platform=douyin&limit=200")
    assert page.locator("tr.qrow").count() == 130
    page.keyboard.press("x")
    for _ in range(99):
        page.keyboard.press("j")
    page.keyboard.press("Shift+X")
    assert page.locator("#sel-count").text_content() == "100"
    page.keyboard.press("y")
    panel = page.locator("#confirm-panel")
    assert panel.is_visible() and "100" in panel.text_content()
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_have_text(re.compile("^已确认违规：100 条"))
    assert page.locator("tr.qrow .badge", has_text="已确认违规").count() == 100
    assert site.count(site.bulk_ids, "confirmed") == 100
    page.keyboard.press("u")
    expect(page.locator("#status")).to_have_text(re.compile("^已撤销：100 条"))
    assert page.locator("tr.qrow .badge", has_text="已确认违规").count() == 0
    assert site.count(site.bulk_ids, "queued") == 130
    # The audit log has both, per post, with who and before/after.
    page.goto(site.url + f"/audit?entity_type=post&entity_id={site.bulk_ids[0]}")
    rows = page.locator("table.audit tbody tr")
    assert rows.count() == 2
    assert "撤销" in rows.nth(0).text_content() and "审核决定" in rows.nth(1).text_content()
    assert "lena" in rows.nth(1).text_content() and '"review_state": "confirmed"' in rows.nth(1).text_content()
    page.goto(site.url + f"/posts/{site.bulk_ids[0]}")
    history = page.locator("#history").text_content()
    assert "审核决定" in history and "撤销" in history
    assert dialogs == []


def test_bulk_on_a_whole_filter_result_shows_the_count_first(browser, site, dialogs):
    page = _page(browser, dialogs)
    _login(page, site, "lena", "/queue?platform=xiaohongshu")
    page.click('button[data-filter-decision="reject"]')
    panel = page.locator("#confirm-panel")
    panel.wait_for(state="visible")
    assert "共 7 条" in panel.text_content()
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_have_text(re.compile("^已驳回：7 条"))
    page.wait_for_selector("td.empty")  # the list reloads: nothing left in this filter
    assert site.count(site.filter_ids, "rejected") == 7
    assert dialogs == []


def test_the_second_reviewer_sees_that_the_post_was_decided(browser, site, dialogs):
    lena = _page(browser, dialogs)
    bob = _page(browser, dialogs)
    _login(lena, site, "lena", "/queue?platform=weibo")
    _login(bob, site, "bob", "/queue?platform=weibo")
    first = site.conflict_ids[0]
    assert _current_id(lena) == first and _current_id(bob) == first
    lena.keyboard.press("y")
    expect(_badge(lena, first)).to_have_text("已确认违规")
    bob.keyboard.press("n")
    note = bob.locator(f'tr.qrow[data-id="{first}"] .note')
    note.wait_for(state="visible")
    assert note.text_content().startswith("已被 lena 于 ") and "处理" in note.text_content()
    assert _badge(bob, first).text_content() == "已确认违规"
    assert site.count([first], "confirmed") == 1
    assert dialogs == []


def test_a_script_in_a_title_renders_as_text_and_runs_nowhere(browser, site, dialogs):
    page = _page(browser, dialogs)
    _login(page, site, "lena", "/queue?platform=bilibili")
    row = page.locator(f'tr.qrow[data-id="{site.xss_id}"] .title a')
    assert row.text_content() == XSS_TITLE
    page.goto(site.url + f"/posts/{site.xss_id}")
    assert page.locator("h1.post-title").text_content().startswith(XSS_TITLE)
    for path in (f"/api/posts/{site.xss_id}", "/api/queue?platform=bilibili", "/docs", "/audit"):
        page.goto(site.url + path)
    page.goto(site.url + f"/api/posts/{site.xss_id}")
    assert "<script>alert(1)</script>" in page.locator("body").text_content()  # JSON, shown as text
    page.wait_for_timeout(300)
    assert dialogs == []
