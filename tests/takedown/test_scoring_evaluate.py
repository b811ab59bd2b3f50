"""Evaluation metrics, cross-validation, the report, and quality floors on the shared corpus and the
adversarial set (floors set well below the measured figures, high enough to fail if the scorer broke)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from takedown.scoring import get_scorer
from takedown.scoring.evaluate import (
    average_precision,
    cross_validate,
    evaluate,
    format_report,
    keyword_baseline,
    metrics,
    precision_at,
    recall_at_precision,
    roc_auc,
)
from takedown.scoring.fit import feature_matrix, fit_weights, weights_document
from takedown.scoring.scorer import Weights

CORPUS = Path(__file__).resolve().parents[2] / "data" / "corpus-train.jsonl"
ADVERSARIAL = Path(__file__).resolve().parents[2] / "data" / "adversarial" / "adversarial.jsonl"


def load(path: Path) -> list[dict]:
    if not path.exists():
        pytest.skip(f"{path} not present")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def corpus() -> list[dict]:
    return load(CORPUS)


def test_ranking_metrics_agree_with_scikit_learn():
    from sklearn.metrics import average_precision_score, roc_auc_score

    rng = random.Random(7)
    for _ in range(20):
        n = rng.randrange(5, 60)
        labels = [rng.randrange(2) for _ in range(n)]
        if len(set(labels)) < 2:
            continue
        scores = [round(rng.random(), 1) for _ in range(n)]  # rounded: plenty of ties
        assert average_precision(labels, scores) == pytest.approx(average_precision_score(labels, scores))
        assert roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores))


def test_threshold_metrics_on_a_small_example():
    labels = [1, 1, 0, 1, 0, 0]
    scores = [0.9, 0.8, 0.7, 0.6, 0.2, 0.1]
    assert precision_at(labels, scores, 2) == 1.0
    assert precision_at(labels, scores, 4) == 0.75
    assert recall_at_precision(labels, scores, 0.9) == pytest.approx(2 / 3)
    m = metrics(labels, scores, ["promo", "promo", "warning", "promo", "news", "news"], threshold=0.5)
    assert m["precision"] == 0.75 and m["recall"] == 1.0
    assert m["categories"]["promo"]["recall"] == 1.0
    assert m["categories"]["warning"]["false_positive_rate"] == 1.0
    assert m["categories"]["news"]["false_positive_rate"] == 0.0


def test_report_lists_every_metric_and_category(corpus):
    text = format_report(evaluate(corpus[:80]), "corpus")
    for needle in ("precision@10", "precision@50", "PR-AUC", "ROC-AUC", "recall at precision 0.9",
                   "false-positive rate", "recall"):
        assert needle in text
    assert "promo_direct" in text and "warning" in text


def test_quality_floor_on_the_shared_corpus(corpus):
    m = evaluate(corpus)
    assert m["pr_auc"] >= 0.95
    assert m["roc_auc"] >= 0.95
    assert m["precision_at_50"] >= 0.95
    assert m["recall_at_precision_0.9"] >= 0.85
    for category, entry in m["categories"].items():
        if entry["label"]:
            assert entry["recall"] >= 0.8, category
        else:
            assert entry["false_positive_rate"] <= 0.15, category


def test_the_scorer_beats_plain_keyword_counting(corpus):
    ours, baseline = evaluate(corpus), keyword_baseline(corpus)
    assert ours["pr_auc"] - baseline["pr_auc"] >= 0.3
    assert ours["categories"]["warning"]["false_positive_rate"] < baseline["categories"]["warning"]["false_positive_rate"]


def test_quality_floor_on_the_adversarial_set():
    m = evaluate(load(ADVERSARIAL))
    assert m["records"] >= 40
    assert m["pr_auc"] >= 0.9
    assert m["precision"] >= 0.85
    assert m["recall"] >= 0.85


def test_cross_validation_of_the_fitted_weights(corpus):
    m = cross_validate(corpus, k=5)
    assert len(m["cross_validation"]["fold_pr_auc"]) == 5
    assert m["pr_auc"] >= 0.95
    assert "cross-validation" in format_report(m)


def test_cross_validation_needs_enough_records():
    with pytest.raises(ValueError):
        cross_validate([{"label": 1, "title": "x"}], k=5)


def test_fitted_weights_round_trip_through_the_weights_file_format(corpus):
    xs, ys = feature_matrix(corpus[:200], get_scorer())
    weights = fit_weights(xs, ys)
    doc = weights_document(weights, "test", len(ys), sum(ys), 1.0)
    again = Weights.from_dict(json.loads(json.dumps(doc)))
    assert again.intercept == pytest.approx(weights.intercept, abs=1e-5)
    assert 0.0 <= again.combine(xs[0]) <= 1.0
