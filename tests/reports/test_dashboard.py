"""The dashboard shows the weekly report's figures and charts, live from the database."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import Engine

from takedown.db import make_engine, session_scope, upgrade
from tests.reports.figures import expected_figures, html_figures
from tests.reports.seed import EXPECTED, WEEK, seed
from tests.takedown.web.conftest import TestClient, login_as, web_settings


def _client(tmp_path: Path, sqlite_url: str) -> tuple[TestClient, Engine]:
    from takedown.web.app import create_app

    engine = make_engine(sqlite_url)
    upgrade(engine)
    with session_scope(engine) as session:
        seed(session)
    return TestClient(create_app(web_settings(tmp_path), engine), follow_redirects=False), engine


def test_dashboard_shows_the_weekly_figures_and_charts(tmp_path: Path, sqlite_url: str):
    client, engine = _client(tmp_path, sqlite_url)
    try:
        login_as(client, engine, "lena", "lead")
        page = client.get(f"/dashboard?week={WEEK}")
        assert page.status_code == 200
        html = page.text
        # every figure (headline, time to removal, top keywords, accounts, contacts, reviewers, crawl health,
        # trend) equals the hand-computed one, the same keys as the e-mail's
        assert html_figures(html) == expected_figures(EXPECTED)
        health = html[html.index('id="weekly-crawl-health"'):]
        health = health[:health.index("</table>")]
        assert "captcha ×" in health and health.count("<tr>") == 3  # header + bilibili + douyin
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
        charts = re.findall(r'src="(/dashboard/charts/[a-z_]+\.png\?week=[^"]+)"', html)
        assert len(charts) == 2
        for src in charts:
            png = client.get(src.replace("&amp;", "&"))
            assert png.status_code == 200 and png.headers["content-type"] == "image/png"
            assert png.content.startswith(b"\x89PNG")
        assert client.get("/dashboard/charts/nope.png").status_code == 404
        assert client.get("/dashboard?week=2026-99").status_code == 400
        assert client.get("/dashboard").status_code == 200  # the current week by default
    finally:
        engine.dispose()


def test_dashboard_charts_need_login(tmp_path: Path, sqlite_url: str):
    client, engine = _client(tmp_path, sqlite_url)
    try:
        response = client.get("/dashboard/charts/trend.png")
        assert response.status_code in (303, 401)
    finally:
        engine.dispose()
