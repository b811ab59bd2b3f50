"""Filing through a platform's complaint portal with the system Chromium (Playwright): log in, fill the form,
upload the evidence, submit, read the complaint reference back. One of the three modules that write to a
platform; it also reads a filing's status back (`lookup`, `status`).

- One browser for a whole batch (`with PortalFiler(...) as portal:`), one login, reused.
- An expired session shows as the login page again (on opening the form, after submitting, or as a redirect on
  a lookup): log in once more and carry on. A submit that ended on the login page is looked up by client_ref
  before it is sent again, and so is one that ended on an error page (the portal may have filed it and lost the
  answer).
- Credentials: `settings.portal_accounts[channel]` (username) with the password from env
  TAKEDOWN_PORTAL_PASSWORD_<CHANNEL> (or the account's own password field). Against the emulator without a
  configured account, the emulator's demo account is used. Passwords are never logged.
"""

from __future__ import annotations

import json
import logging
import os
from types import TracebackType
from typing import Any
from urllib.parse import quote

from takedown.complaints.channels import Channel
from takedown.complaints.package import Filing
from takedown.complaints.results import FilingOutcome, PermanentFailure
from takedown.settings import Settings

logger = logging.getLogger(__name__)

LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
EMULATOR_ACCOUNT = ("takedown", "portal-pass")  # the emulator's demo portal account (emulator/README.md)
TIMEOUT_MS = 30_000


class PortalSetupError(RuntimeError):
    """The portal cannot be used at all (no account, no browser): nothing was sent."""


def credentials(channel: Channel, settings: Settings) -> tuple[str, str]:
    account = settings.portal_accounts.get(channel.id)
    env_password = os.environ.get(f"TAKEDOWN_PORTAL_PASSWORD_{channel.id.upper()}", "")
    if account is not None:
        password = env_password or account.password.get_secret_value()
        if not password:
            raise PortalSetupError(f"channel {channel.id!r}: portal account {account.username!r} has no password; "
                                   f"set env TAKEDOWN_PORTAL_PASSWORD_{channel.id.upper()}")
        return account.username, password
    if settings.emulator_url:
        return EMULATOR_ACCOUNT
    raise PortalSetupError(f"channel {channel.id!r}: no portal account configured; set portal_accounts."
                           f"{channel.id}.username in takedown.toml and env "
                           f"TAKEDOWN_PORTAL_PASSWORD_{channel.id.upper()}")


class PortalFiler:
    can_lookup = True

    def __init__(self, channel: Channel, settings: Settings):
        if not channel.portal_url:
            raise PortalSetupError(f"channel {channel.id!r}: no portal URL")
        self.channel = channel
        self.settings = settings
        self.base = channel.portal_url.rstrip("/")
        self.username, self._password = credentials(channel, settings)
        self.logins = 0
        self._pw = self._browser = self._context = self._page = None

    # --- browser ------------------------------------------------------------------------------------------

    def __enter__(self) -> PortalFiler:
        from playwright.sync_api import sync_playwright

        from takedown.browser import ensure_chromium

        executable = ensure_chromium(self.settings.chromium_path, install=False)
        self._pw = sync_playwright().start()
        try:
            self._browser = self._pw.chromium.launch(executable_path=executable, args=LAUNCH_ARGS, headless=True)
            self._context = self._browser.new_context(locale="zh-CN")
            self._context.set_default_timeout(TIMEOUT_MS)
            self._page = self._context.new_page()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        for thing in (self._context, self._browser):
            try:
                if thing is not None:
                    thing.close()
            except Exception:  # noqa: BLE001 - closing a dead browser must not hide the real error
                pass
        if self._pw is not None:
            self._pw.stop()
        self._pw = self._browser = self._context = self._page = None

    # --- login --------------------------------------------------------------------------------------------

    def _on_login_page(self) -> bool:
        page = self._page
        return page.url.split("?", 1)[0].rstrip("/").endswith("/login") or \
            page.locator("input[name=password]").count() > 0

    def login(self) -> None:
        page = self._page
        page.goto(f"{self.base}/login")
        page.fill("input[name=username]", self.username)
        page.fill("input[name=password]", self._password)
        with page.expect_navigation():
            page.locator("form button[type=submit], form input[type=submit]").first.click()
        if self._on_login_page():
            error = page.locator("#login-error")
            said = error.inner_text() if error.count() else page.title()
            raise PermanentFailure(f"{self.channel.id} portal refused the login of {self.username!r}: {said}")
        self.logins += 1
        logger.info("complaints: logged in to the %s portal as %s", self.channel.id, self.username)

    def _open_form(self) -> None:
        page = self._page
        page.goto(f"{self.base}/complaints/new")
        if self._on_login_page():
            self.login()
            page.goto(f"{self.base}/complaints/new")
        if self._on_login_page():
            raise PermanentFailure(f"{self.channel.id} portal: still on the login page after logging in")
        if page.locator("#submit").count() == 0:
            raise PermanentFailure(f"{self.channel.id} portal: no complaint form at {page.url} ({page.title()})")

    # --- filing -------------------------------------------------------------------------------------------

    def send(self, filing: Filing) -> FilingOutcome:
        page = self._page
        for round_ in (1, 2):
            self._open_form()
            page.fill("[name=post_url]", filing.post_url)
            page.select_option("[name=category]", self.channel.portal_category)
            if page.locator("[name=rights_holder]").count():
                page.fill("[name=rights_holder]", filing.rights_holder)
            page.fill("[name=description]", filing.body)
            if page.locator("[name=client_ref]").count():
                page.fill("[name=client_ref]", filing.client_ref)
            if filing.attachments:
                page.set_input_files("input[name=evidence]", [
                    {"name": a.name, "mimeType": a.content_type, "buffer": a.path.read_bytes()}
                    for a in filing.attachments])
            try:
                with page.expect_navigation():
                    page.click("#submit")
            except Exception as exc:  # noqa: BLE001 - timeout or a dropped connection: ask the portal below
                logger.warning("complaints: %s submit of %s did not complete: %s", self.channel.id,
                               filing.client_ref, exc)
            ref = page.locator("#complaint-ref")
            if ref.count():
                return FilingOutcome("submitted", ref.first.inner_text().strip(), f"portal {self.channel.id}")
            # Not the result page: the portal may still have filed it. Ask before sending again.
            expired = self._on_login_page()
            found = self.lookup(filing.client_ref)
            if found is not None:
                return FilingOutcome("submitted", str(found["ref"]),
                                     f"portal {self.channel.id} (reference found by client_ref)")
            if not expired or round_ == 2:
                raise PermanentFailure(f"{self.channel.id} portal did not file {filing.client_ref}: "
                                       f"{_page_problem(page)}")
            logger.info("complaints: %s session expired while filing %s; filing again", self.channel.id,
                        filing.client_ref)
        raise PermanentFailure(f"{self.channel.id} portal did not file {filing.client_ref}")  # pragma: no cover

    # --- reading back -------------------------------------------------------------------------------------

    def _get_json(self, url: str) -> tuple[int, Any]:
        for _ in (1, 2):
            response = self._context.request.get(url, max_redirects=0, timeout=TIMEOUT_MS)
            if response.status in (301, 302, 303, 307, 308) or response.status == 401:
                self.login()
                continue
            try:
                return response.status, response.json()
            except (ValueError, json.JSONDecodeError):
                if "password" in response.text():
                    self.login()
                    continue
                raise RuntimeError(f"{self.channel.id} portal: {url} answered HTTP {response.status}, "
                                   "not JSON") from None
        raise RuntimeError(f"{self.channel.id} portal: {url} keeps asking to log in")

    def lookup(self, client_ref: str) -> dict[str, Any] | None:
        """The platform's record of our complaint `client_ref`, or None when it has none."""
        status, data = self._get_json(f"{self.base}/complaints?client_ref={quote(client_ref, safe='')}")
        if status != 200:
            raise RuntimeError(f"{self.channel.id} portal: lookup of {client_ref} answered HTTP {status}")
        items = data.get("complaints") or [] if isinstance(data, dict) else []
        return items[0] if items else None

    def status(self, ref: str) -> dict[str, Any] | None:
        """The platform's current answer on complaint `ref` (None: the portal does not know it)."""
        status, data = self._get_json(f"{self.base}/complaints/{quote(ref, safe='')}?format=json")
        if status == 404:
            return None
        if status != 200:
            raise RuntimeError(f"{self.channel.id} portal: status of {ref} answered HTTP {status}")
        return data


def _page_problem(page) -> str:
    for selector in ("#form-error", "#login-error", "h1"):
        loc = page.locator(selector)
        if loc.count():
            return f"{loc.first.inner_text().strip()[:200]} ({page.url})"
    return page.url
