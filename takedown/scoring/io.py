"""JSON Lines in and out for `takedown score` and `takedown eval`.

A malformed line never stops a run: it becomes a `RecordError` naming its line, the output keeps one line per
input line (`{"id": ..., "score": null, "error": ...}` for a bad one), and the errors are reported back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from takedown.scoring.errors import RecordError
from takedown.scoring.fields import record_id
from takedown.scoring.scorer import Scorer, get_scorer


def read_records(path: str | Path) -> Iterator[tuple[int, dict | RecordError]]:
    """(line number, record or RecordError) for each non-blank line of a JSONL file, 1-based.

    A line that is not JSON, or not a JSON object, yields a RecordError whose record id is "line N"."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                yield n, RecordError(f"line {n}", "json", f"not valid JSON: {exc.msg} at column {exc.colno}")
                continue
            if not isinstance(value, dict):
                yield n, RecordError(f"line {n}", "json", f"expected a JSON object, got {type(value).__name__}")
                continue
            yield n, value


def run_score(in_path: str | Path, out_path: str | Path, scorer: Scorer | None = None) -> dict[str, Any]:
    """Score a JSONL file into another: one output line per non-blank input line, same order.

    Returns {"records", "scored", "errors": [{"line", "id", "field", "error"}], "model_version"}."""
    scorer = scorer or get_scorer()
    errors: list[dict[str, Any]] = []
    records = scored = 0
    with open(out_path, "w", encoding="utf-8") as out:
        for n, item in read_records(in_path):
            records += 1
            if isinstance(item, dict):
                try:
                    result = scorer.score_one(item)
                except RecordError as exc:
                    item = exc
                else:
                    scored += 1
                    out.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
                    continue
            rid = item.record_id if item.record_id not in ("", "?") else f"line {n}"
            errors.append({"line": n, "id": rid, "field": item.field, "error": str(item)})
            out.write(json.dumps({"id": rid, "score": None, "error": str(item)}, ensure_ascii=False) + "\n")
    return {"records": records, "scored": scored, "errors": errors, "model_version": scorer.version}


def run_eval(path: str | Path, cv: int | None = None, scorer: Scorer | None = None) -> dict[str, Any]:
    """Evaluate the scorer on a labelled JSONL file (`label` 0/1, optional `category`).

    Returns {"metrics", "keyword_baseline" (the same metrics for plain seed-keyword counting),
    "cross_validation" (when cv is given: k-fold out-of-fold metrics of the whole learned scorer, retrained on
    each fold), "cross_validation_rules" (the same for the rules' combination alone), "skipped": [{"line",
    "id", "error"}] (lines without a usable label or record), "model_version"}."""
    from takedown.scoring.evaluate import cross_validate, evaluate, keyword_baseline

    scorer = scorer or get_scorer()
    records: list[dict] = []
    skipped: list[dict[str, Any]] = []
    for n, item in read_records(path):
        if isinstance(item, RecordError):
            skipped.append({"line": n, "id": item.record_id, "error": str(item)})
            continue
        label = item.get("label")
        if isinstance(label, bool) or label not in (0, 1):
            skipped.append({"line": n, "id": record_id(item) or f"line {n}",
                            "error": f"label must be 0 or 1, got {label!r}"})
            continue
        try:
            scorer.score_one(item)
        except RecordError as exc:
            skipped.append({"line": n, "id": exc.record_id, "error": str(exc)})
            continue
        records.append(item)
    out: dict[str, Any] = {"metrics": evaluate(records, scorer), "keyword_baseline": keyword_baseline(records),
                           "skipped": skipped, "model_version": scorer.version}
    if cv:
        from takedown.scoring.training import cross_validate as cross_validate_model

        # the whole learned scorer, refitted on each fold: rule weights, n-gram model and stack
        out["cross_validation"] = cross_validate_model(records, k=cv)
        # and the rules alone, with only their combination weights refitted
        out["cross_validation_rules"] = cross_validate(records, k=cv)
    return out
