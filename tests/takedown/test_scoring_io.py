"""JSONL in and out: bad lines never stop a run and the output stays aligned with the input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from takedown.scoring import get_scorer
from takedown.scoring.errors import RecordError
from takedown.scoring.io import read_records, run_eval, run_score

ADVERSARIAL = Path(__file__).resolve().parents[2] / "data" / "adversarial" / "adversarial.jsonl"

GOOD = {"id": "g1", "title": "信用卡逾期可以停息挂账", "desc": "加V：tingxi_2024", "hashtags": [], "comments": []}


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_read_records_reports_malformed_lines_and_goes_on(tmp_path):
    path = write_lines(tmp_path / "in.jsonl", [json.dumps(GOOD), "{not json", "", "[1, 2]", json.dumps(GOOD)])
    items = list(read_records(path))
    assert [n for n, _ in items] == [1, 2, 4, 5]
    assert isinstance(items[1][1], RecordError) and items[1][1].record_id == "line 2"
    assert isinstance(items[2][1], RecordError) and "object" in str(items[2][1])
    assert items[3][1] == GOOD


def test_run_score_writes_one_aligned_line_per_input_line(tmp_path):
    bad_type = dict(GOOD, id="b1", hashtags="停息挂账")
    src = write_lines(tmp_path / "in.jsonl",
                      [json.dumps(GOOD), "{oops", json.dumps(bad_type), "", json.dumps(dict(GOOD, id="g2"))])
    out = tmp_path / "out.jsonl"
    summary = run_score(src, out)
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [line["id"] for line in lines] == ["g1", "line 2", "b1", "g2"]
    assert set(lines[0]) == {"id", "score", "reasons", "contacts"}
    assert lines[1]["score"] is None and "JSON" in lines[1]["error"]
    assert lines[2]["score"] is None and "hashtags" in lines[2]["error"]
    assert lines[3]["contacts"] == [{"type": "wechat", "value": "tingxi_2024"}]
    assert summary["records"] == 4 and summary["scored"] == 2
    assert [(e["line"], e["field"]) for e in summary["errors"]] == [(2, "json"), (3, "hashtags")]
    assert summary["model_version"] == get_scorer().version
    assert summary["model_version"].startswith("model-")  # the learned model, built on first use


def test_run_eval_reports_metrics_baseline_cross_validation_and_skipped_lines(tmp_path):
    path = tmp_path / "labelled.jsonl"
    shutil.copy(ADVERSARIAL, path)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(dict(GOOD, id="nolabel")) + "\n")
        fh.write("{broken\n")
    n = sum(1 for line in ADVERSARIAL.read_text(encoding="utf-8").splitlines() if line.strip())
    out = run_eval(path, cv=3)
    assert out["metrics"]["records"] == n
    assert out["keyword_baseline"]["records"] == n
    assert len(out["cross_validation"]["cross_validation"]["fold_pr_auc"]) == 3
    assert len(out["cross_validation_rules"]["cross_validation"]["fold_pr_auc"]) == 3
    assert {s["id"] for s in out["skipped"]} == {"nolabel", f"line {n + 2}"}
