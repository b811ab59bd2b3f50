"""Metrics for `takedown eval`: ranking quality, threshold behaviour, and recall/false-positive rate per
category; plus k-fold cross-validation of the fitted combination weights.

Metrics are computed here in plain Python (the scorer does not need scikit-learn at run time); they follow
scikit-learn's definitions (average precision as the step-wise PR-AUC, ROC-AUC with ties counted half).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from takedown.scoring.scorer import Scorer, get_scorer

QUEUE_THRESHOLD = 0.5
PRECISION_AT = (10, 50, 100)


def average_precision(labels: Sequence[int], scores: Sequence[float]) -> float:
    """Area under the precision-recall curve as a step function (scikit-learn's average_precision_score)."""
    positives = sum(labels)
    if positives == 0:
        return float("nan")
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    ap = 0.0
    tp = fp = 0
    prev_recall = 0.0
    i = 0
    while i < len(order):
        j = i
        while j < len(order) and scores[order[j]] == scores[order[i]]:  # tied scores form one threshold
            if labels[order[j]]:
                tp += 1
            else:
                fp += 1
            j += 1
        recall = tp / positives
        ap += (recall - prev_recall) * (tp / (tp + fp))
        prev_recall = recall
        i = j
    return ap


def roc_auc(labels: Sequence[int], scores: Sequence[float]) -> float:
    """Probability that a random positive outscores a random negative (ties count half)."""
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    if not pos or not neg:
        return float("nan")
    ranked = sorted((s, i) for i, s in enumerate(scores))
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        avg = (i + j + 1) / 2  # 1-based average rank of the tie group
        for k in range(i, j):
            ranks[ranked[k][1]] = avg
        i = j
    rank_sum = sum(r for r, y in zip(ranks, labels, strict=True) if y)
    return (rank_sum - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def precision_at(labels: Sequence[int], scores: Sequence[float], k: int) -> float:
    order = sorted(range(len(scores)), key=lambda i: -scores[i])[:k]
    return sum(labels[i] for i in order) / len(order) if order else float("nan")


def recall_at_precision(labels: Sequence[int], scores: Sequence[float], target: float = 0.9) -> float:
    """Highest recall over thresholds whose precision is at least `target`."""
    positives = sum(labels)
    if positives == 0:
        return float("nan")
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    best = 0.0
    tp = fp = 0
    i = 0
    while i < len(order):
        j = i
        while j < len(order) and scores[order[j]] == scores[order[i]]:
            tp += labels[order[j]]
            fp += 1 - labels[order[j]]
            j += 1
        if tp / (tp + fp) >= target:
            best = max(best, tp / positives)
        i = j
    return best


def metrics(labels: Sequence[int], scores: Sequence[float], categories: Sequence[str | None] | None = None,
            threshold: float = QUEUE_THRESHOLD) -> dict[str, Any]:
    """All the metrics of `takedown eval` for scores against 0/1 labels (and optional categories)."""
    n = len(labels)
    predicted = [s >= threshold for s in scores]
    tp = sum(1 for p, y in zip(predicted, labels, strict=True) if p and y)
    fp = sum(1 for p, y in zip(predicted, labels, strict=True) if p and not y)
    positives = sum(labels)
    out: dict[str, Any] = {
        "records": n,
        "positives": positives,
        "threshold": threshold,
        **{f"precision_at_{k}": precision_at(labels, scores, k) for k in PRECISION_AT if k <= n},
        "pr_auc": average_precision(labels, scores),
        "roc_auc": roc_auc(labels, scores),
        "recall_at_precision_0.9": recall_at_precision(labels, scores, 0.9),
        "precision": tp / (tp + fp) if tp + fp else float("nan"),
        "recall": tp / positives if positives else float("nan"),
    }
    p, r = out["precision"], out["recall"]
    out["f1"] = 2 * p * r / (p + r) if tp else 0.0
    if categories is not None and any(c for c in categories):
        per: dict[str, dict[str, Any]] = {}
        for cat, y, pred in zip(categories, labels, predicted, strict=True):
            if not cat:
                continue
            entry = per.setdefault(cat, {"label": y, "records": 0, "flagged": 0})
            entry["records"] += 1
            entry["flagged"] += int(pred)
        for entry in per.values():
            rate = entry["flagged"] / entry["records"]
            entry["recall" if entry["label"] else "false_positive_rate"] = rate
        out["categories"] = dict(sorted(per.items(), key=lambda kv: (-kv[1]["label"], kv[0])))
    return out


def evaluate(records: Iterable[Mapping], scorer: Scorer | None = None,
             threshold: float = QUEUE_THRESHOLD) -> dict[str, Any]:
    """Score labelled records (label 0/1, optional category) and compute `metrics`."""
    scorer = scorer or get_scorer()
    labelled = [r for r in records if r.get("label") in (0, 1) and not isinstance(r.get("label"), bool)]
    results = scorer.score(labelled)
    return metrics([int(r["label"]) for r in labelled], [res.score for res in results],
                   [r.get("category") for r in labelled], threshold)


def keyword_scores(records: Iterable[Mapping], keywords: Sequence[str] | None = None) -> list[float]:
    """The baseline the scorer must beat: plain counting of the seed keywords (settings.SEED_KEYWORDS) in a
    record's text, as a keyword search would. Score n/(n+1) for n distinct keywords found, so one keyword
    reaches the queue threshold 0.5."""
    if keywords is None:
        from takedown.settings import SEED_KEYWORDS

        keywords = SEED_KEYWORDS
    scores = []
    for r in records:
        parts = [r.get(k) for k in ("title", "desc", "author_name", "author_bio")]
        parts += list(r.get("hashtags") or []) + list(r.get("comments") or [])
        text = "\n".join(p for p in parts if isinstance(p, str))
        n = sum(1 for k in keywords if k in text)
        scores.append(n / (n + 1))
    return scores


def keyword_baseline(records: Iterable[Mapping], threshold: float = QUEUE_THRESHOLD) -> dict[str, Any]:
    """`metrics` of the keyword-counting baseline on labelled records."""
    labelled = [r for r in records if r.get("label") in (0, 1) and not isinstance(r.get("label"), bool)]
    return metrics([int(r["label"]) for r in labelled], keyword_scores(labelled),
                   [r.get("category") for r in labelled], threshold)


def cross_validate(records: Sequence[Mapping], k: int = 5, seed: int = 0, c: float | None = None,
                   scorer: Scorer | None = None, threshold: float = QUEUE_THRESHOLD) -> dict[str, Any]:
    """k-fold cross-validation of the fitted part of the scorer (the combination weights).

    The rules, lexicon and contact extraction are hand-written and shared by every fold; for each fold the
    combination weights are refitted on the other folds and the held-out records scored with them. Folds are
    stratified by category (or label). Returns `metrics` over the pooled out-of-fold scores plus per-fold
    PR-AUC."""
    from takedown.scoring.fit import DEFAULT_C, fit_weights

    scorer = scorer or get_scorer()
    labelled = [r for r in records if r.get("label") in (0, 1) and not isinstance(r.get("label"), bool)]
    if k < 2 or len(labelled) < k:
        raise ValueError(f"cross-validation needs k >= 2 and at least k labelled records (k={k})")
    features = [scorer.analyse(r).features for r in labelled]
    labels = [int(r["label"]) for r in labelled]
    strata: dict[Any, list[int]] = {}
    for i, r in enumerate(labelled):
        strata.setdefault((r.get("category") or "", labels[i]), []).append(i)
    rng = random.Random(seed)
    fold_of = [0] * len(labelled)
    offset = 0
    for key in sorted(strata, key=str):
        members = strata[key]
        rng.shuffle(members)
        for j, i in enumerate(members):
            fold_of[i] = (offset + j) % k
        offset += len(members)
    scores = [0.0] * len(labelled)
    fold_pr_auc = []
    for fold in range(k):
        train = [i for i in range(len(labelled)) if fold_of[i] != fold]
        test = [i for i in range(len(labelled)) if fold_of[i] == fold]
        weights = fit_weights([features[i] for i in train], [labels[i] for i in train],
                              DEFAULT_C if c is None else c)
        for i in test:
            scores[i] = weights.combine(features[i])
        fold_pr_auc.append(average_precision([labels[i] for i in test], [scores[i] for i in test]))
    out = metrics(labels, scores, [r.get("category") for r in labelled], threshold)
    out["cross_validation"] = {"folds": k, "seed": seed, "fold_pr_auc": fold_pr_auc}
    return out


def format_report(m: Mapping[str, Any], title: str = "") -> str:
    """A plain-text report of `metrics` / `evaluate` / `cross_validate` output for the command line."""

    def pct(v: Any) -> str:
        return "   n/a" if v is None or v != v else f"{v:6.3f}"

    lines = []
    if title:
        lines += [title, "=" * len(title)]
    lines.append(f"records {m['records']}  positives {m['positives']}  queue threshold {m['threshold']}")
    if "cross_validation" in m:
        cv = m["cross_validation"]
        folds = " ".join(f"{v:.3f}" for v in cv["fold_pr_auc"])
        lines.append(f"{cv['folds']}-fold cross-validation (seed {cv['seed']}), out-of-fold scores; fold PR-AUC: {folds}")
    lines.append("")
    rows = [(f"precision@{k}", m.get(f"precision_at_{k}")) for k in PRECISION_AT if f"precision_at_{k}" in m]
    rows += [
        ("PR-AUC (average precision)", m["pr_auc"]),
        ("ROC-AUC", m["roc_auc"]),
        ("recall at precision 0.9", m["recall_at_precision_0.9"]),
        (f"precision at {m['threshold']}", m["precision"]),
        (f"recall at {m['threshold']}", m["recall"]),
        (f"F1 at {m['threshold']}", m["f1"]),
    ]
    width = max(len(name) for name, _ in rows)
    lines += [f"  {name:<{width}}  {pct(value)}" for name, value in rows]
    cats = m.get("categories")
    if cats:
        lines += ["", f"  per category (at threshold {m['threshold']}):"]
        cw = max(len(c) for c in cats)
        for cat, e in cats.items():
            if e["label"]:
                lines.append(f"    {cat:<{cw}}  recall               {pct(e['recall'])}  ({e['flagged']}/{e['records']})")
            else:
                lines.append(f"    {cat:<{cw}}  false-positive rate  {pct(e['false_positive_rate'])}  ({e['flagged']}/{e['records']})")
    return "\n".join(lines)
