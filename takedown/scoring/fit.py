"""Fitting the combination weights (`weights.json`) by logistic regression on labelled records.

Only the handful of combination weights is learned; rules, lexicon and contact extraction are hand-written.
Run after changing rules or features, and commit the resulting weights.json with them:

    python -m takedown.scoring.fit data/corpus-train.jsonl [-o takedown/scoring/weights.json] [--c 1.0]

scikit-learn is imported here only, never by the scorer at run time.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from takedown.scoring.analysis import FEATURES
from takedown.scoring.scorer import DEFAULT_WEIGHTS_PATH, Scorer, Weights

DEFAULT_C = 1.0


def feature_matrix(records: Iterable[Mapping], scorer: Scorer) -> tuple[list[list[float]], list[int]]:
    """Feature vectors and 0/1 labels of labelled records (records without a 0/1 label are skipped)."""
    xs, ys = [], []
    for record in records:
        label = record.get("label")
        if label not in (0, 1) or isinstance(label, bool):
            continue
        xs.append(scorer.analyse(record).features)
        ys.append(int(label))
    return xs, ys


def fit_weights(xs: Sequence[Sequence[float]], ys: Sequence[int], c: float = DEFAULT_C) -> Weights:
    """L2-regularised logistic regression over the feature vectors."""
    if len(set(ys)) < 2:
        raise ValueError("fitting needs both positive and negative examples")
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=5000)
    model.fit(xs, ys)
    return Weights(float(model.intercept_[0]), tuple(float(w) for w in model.coef_[0]))


def weights_document(weights: Weights, source: str, n: int, positives: int, c: float) -> dict:
    return {
        "intercept": round(weights.intercept, 6),
        "coefficients": {f: round(w, 6) for f, w in zip(FEATURES, weights.coefficients, strict=True)},
        "fitted": {
            "on": source,
            "records": n,
            "positives": positives,
            "regularisation_C": c,
            "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "by": "python -m takedown.scoring.fit",
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", help="labelled JSONL (label 0/1)")
    parser.add_argument("-o", "--output", default=str(DEFAULT_WEIGHTS_PATH))
    parser.add_argument("--c", type=float, default=DEFAULT_C, help="inverse L2 strength (default 1.0)")
    args = parser.parse_args(argv)

    from takedown.scoring.io import read_records

    records = [r for _, r in read_records(args.corpus) if isinstance(r, dict)]
    scorer = Scorer()
    xs, ys = feature_matrix(records, scorer)
    weights = fit_weights(xs, ys, args.c)
    doc = weights_document(weights, Path(args.corpus).name, len(ys), sum(ys), args.c)
    Path(args.output).write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    for name, w in doc["coefficients"].items():
        print(f"{name:22s} {w:+.3f}")
    print(f"{'intercept':22s} {doc['intercept']:+.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
