"""The `takedown` command as a user runs it: every command documented, score/eval on files, the demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import needs_chromium

COMMANDS = ["db", "crawl", "enrich", "score", "eval", "emulator", "demo", "user", "serve", "posts"]


def takedown(*args: str, env: dict | None = None, input: str | None = None, timeout: float = 120):
    return subprocess.run([sys.executable, "-m", "takedown", *args], capture_output=True, text=True,
                          env=os.environ | (env or {}), input=input, timeout=timeout)


def test_help_lists_every_command_and_each_has_help():
    listing = takedown("--help")
    assert listing.returncode == 0
    for command in COMMANDS:
        assert command in listing.stdout
        assert takedown(command, "--help").returncode == 0, command


def _records(tmp_path: Path) -> Path:
    path = tmp_path / "in.jsonl"
    lines = [
        {"id": "promo", "platform": "douyin", "title": "停息挂账 征信修复", "desc": "专业协商还款，加薇：zhaiwu_8899",
         "hashtags": ["债务优化"], "author_name": "上岸老师", "author_bio": "", "comments": [], "label": 1},
        {"id": "warning", "platform": "bilibili", "title": "警惕！“停息挂账”都是骗局",
         "desc": "所谓代理维权、征信修复都是诈骗，请通过官方渠道协商，切勿添加陌生人微信。",
         "hashtags": ["反诈"], "author_name": "某市公安反诈中心", "label": 0},
        {"id": "bare", "label": 0},  # every other key missing: treated as empty
    ]
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n{not json\n"
                    + json.dumps({"id": "bad-type", "hashtags": "不是列表", "label": 1}, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    return path


def test_score_writes_one_line_per_input_in_order(tmp_path):
    out = tmp_path / "out.jsonl"
    done = takedown("score", str(_records(tmp_path)), "-o", str(out))
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["promo", "warning", "bare", "line 4", "bad-type"]
    promo, warning, bare = rows[:3]
    assert set(promo) == {"id", "score", "reasons", "contacts"}
    assert promo["score"] > 0.5 > warning["score"] and 0 <= bare["score"] < 0.5
    assert {"type": "wechat", "value": "zhaiwu_8899"} in promo["contacts"]
    assert all(set(r) == {"rule", "category", "field", "text"} for r in promo["reasons"])
    assert rows[3]["score"] is None and "JSON" in rows[3]["error"]
    assert rows[4]["score"] is None and "hashtags" in rows[4]["error"]
    assert "line 4" in done.stderr and "hashtags" in done.stderr


def test_eval_prints_the_ranking_metrics(tmp_path):
    corpus = Path(__file__).resolve().parents[2] / "data" / "corpus-train.jsonl"
    done = takedown("eval", str(corpus))
    assert done.returncode == 0, done.stderr
    for metric in ("precision@10", "PR-AUC", "ROC-AUC", "recall at precision 0.9"):
        assert metric in done.stdout
    assert "warning" in done.stdout and "promo_evasive" in done.stdout, "per-category figures"
    small = takedown("eval", str(_records(tmp_path)), "--json")
    as_json = json.loads(small.stdout)
    assert as_json["metrics"]["records"] == 3 and as_json["metrics"]["pr_auc"] == 1.0
    assert "line 4" in small.stderr and "bad-type" in small.stderr, "bad lines are reported, not fatal"


def test_crawl_refuses_an_unknown_platform_clearly():
    done = takedown("crawl", "--platform", "myspace", "--keyword", "债务优化")
    assert done.returncode == 2 and "unknown platform 'myspace'" in done.stderr


def test_enrich_refuses_an_unknown_platform_clearly():
    done = takedown("enrich", "--platform", "myspace")
    assert done.returncode == 2 and "unknown platform 'myspace'" in done.stderr


def test_enrich_with_nothing_to_fetch_prints_an_idle_line_per_enabled_platform(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    assert takedown("db", "upgrade", env={"TAKEDOWN_DATABASE_URL": url}).returncode == 0
    done = takedown("enrich", env={"TAKEDOWN_DATABASE_URL": url})
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert {line["platform"] for line in lines} == {"bilibili", "douyin"}  # the enabled ones with an adapter
    assert all(line["status"] == "idle" and line["targets"] == 0 and line["run"] is None for line in lines)


def test_db_upgrade_creates_the_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    done = takedown("db", "upgrade", env={"TAKEDOWN_DATABASE_URL": url})
    assert done.returncode == 0 and "revision" in done.stderr and (tmp_path / "new.db").exists()


@pytest.mark.slow
@needs_chromium
def test_demo_no_serve_json_summarises_both_platforms(tmp_path):
    done = takedown("demo", "--no-serve", "--json", "--pages", "1", "--size", "1000",
                    "--database", f"sqlite:///{tmp_path / 'demo.db'}", timeout=600,
                    env={"TAKEDOWN_VAR_DIR": str(tmp_path / "var")})
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    assert set(summary["platforms"]) == {"bilibili", "douyin"}
    for platform, row in summary["platforms"].items():
        assert row["pages"] > 0 and row["posts"] > 0 and row["candidates"] > 0, platform
        assert row["status"] == "finished" and row["errors"] == 0, row
        assert 0 < len(row["top"]) <= 10
        scores = [c["score"] for c in row["top"]]
        assert scores == sorted(scores, reverse=True) and all(c["reasons"] for c in row["top"])
        enriched = row["enriched"]  # the top candidates' comments and author profiles, fetched after the crawl
        assert enriched["status"] == "finished" and enriched["posts"] > 0 and enriched["errors"] == 0, enriched
    truth = summary["ground_truth"]
    assert truth["precision"] >= 0.8 and truth["recall"] >= 0.8, truth
    # The takedown loop: confirm -> evidence -> file by every method -> decisions -> re-checks.
    assert summary["confirmed"] > 0 and summary["filed"] == summary["confirmed"]
    assert summary["filing_methods"] == ["email", "export", "portal"]
    assert summary["removed"] > 0 and summary["removed"] + summary["rejected"] <= summary["confirmed"]
    assert summary["median_hours_to_removal"] > 0
    email = Path(summary["weekly_email"])
    assert email.suffix == ".eml" and email.exists() and b"Content-Type: multipart" in email.read_bytes()
