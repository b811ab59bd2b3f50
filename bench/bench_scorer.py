"""Scorer quality and speed, each against two baselines computed in the same run.

Our scorer learns from the shared corpus and our adversarial sets (data/adversarial/), and its stack is fitted
on the calibration set (data/calibration/, see takedown/scoring/training.py). Every figure is of records the
measured model was not trained on:
- the shared corpus (data/corpus-train.jsonl): 5-fold cross-validation, out-of-fold scores (the same folds for
  every method; ours trained on the other folds plus every adversarial set);
- each adversarial training set: leave-one-set-out (ours trained on the corpus and the other sets);
- the calibration set and the test sets (tests/takedown/data/: holdouts 10 and 11, written blind, and the
  off-topic test set; never trained or calibrated on): ours as shipped (the default model). A test set's honest
  figure is its first run, recorded where it is named below; once looked at, it is a guard.
Figures: PR-AUC, precision at 50 (on a set with fewer than 50 positives: precision at n = its number of
positives, named P@n), recall at precision 0.9, and contact F1 (against each record's `contacts`).
Baselines: keyword counting of the seed keywords (takedown.scoring.evaluate.keyword_scores) and a plain
character-n-gram TF-IDF + logistic regression over the raw text trained on the shared corpus (the issue's
baseline); for reference, the same TF-IDF + LR trained on the same records as ours ("tfidf_lr_same_data");
for contacts, simple regular expressions.

Speed: posts/s of the scorer (rules + model, reasons and contacts) on corpus-like records in memory
(bench_ingest's make_posts: corpus texts with unique titles, authors' bios repeating), single process, fresh
caches, target 20,000 posts/s, against the keyword-count baseline (keyword_scores) over the same records in
the same run; also the scorer on records whose field values are all cached, and against the TF-IDF + LR
baseline scoring the same records in one batch.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from bench.common import Figure
from takedown.scoring.evaluate import average_precision, keyword_scores, precision_at, recall_at_precision
from takedown.scoring.training import ADVERSARIAL_DIR, CALIBRATION_DIR
from takedown.settings import REPO_ROOT

CORPUS = REPO_ROOT / "data" / "corpus-train.jsonl"
DEV = ADVERSARIAL_DIR / "adversarial.jsonl"
HOLDOUT = ADVERSARIAL_DIR / "adversarial-holdout.jsonl"
# written by someone who saw neither the scorer nor the other sets; first scored on 2026-11-25, then looked at
# (2026-11-26): the scorer has been changed for what it showed
HOLDOUT_2 = ADVERSARIAL_DIR / "adversarial-holdout-2.jsonl"
# written blind like the second (by a helper that read DOMAIN.md and the corpus README only); first scored on
# 2026-11-26 before any change made for it, then looked at: the scorer has been changed for what it showed
HOLDOUT_3 = ADVERSARIAL_DIR / "adversarial-holdout-3.jsonl"
# written blind the same way after the scorer's changes for holdouts 2 and 3; first scored on 2026-11-26, then
# looked at: the contact extraction has been changed for what it showed
HOLDOUT_4 = ADVERSARIAL_DIR / "adversarial-holdout-4.jsonl"
# written blind the same way after all of those changes; first scored on 2026-11-26 (9c555d4), then looked at once
# the sixth existed: the scorer and the contact extraction have been changed for what it showed
HOLDOUT_5 = ADVERSARIAL_DIR / "adversarial-holdout-5.jsonl"
# written blind the same way while the changes for the fifth were made; first scored on 2026-11-26 at 7c0648e,
# after them: ours 0.958 / 1.00 / 0.929, TF-IDF + LR 0.977 / 0.98 / 0.982, contacts F1 0.865 (regex 0.322); then
# looked at once the seventh existed
HOLDOUT_6 = ADVERSARIAL_DIR / "adversarial-holdout-6.jsonl"
# written blind the same way while the changes for the sixth were made; first scored on 2026-11-26 at 618c6b1,
# after them: ours 0.976 / 1.00 / 0.929, TF-IDF + LR 0.976 / 1.00 / 1.00, contacts F1 0.934 (regex 0.411); then
# looked at once the eighth existed
HOLDOUT_7 = ADVERSARIAL_DIR / "adversarial-holdout-7.jsonl"
# written blind the same way while the changes for the sixth and seventh were made; first scored on 2026-11-26 at
# 14ce732, after them: ours 0.930 / 0.98 / 0.777, TF-IDF + LR 0.974 / 0.98 / 0.946, contacts F1 0.945 (regex 0.312);
# then looked at once the ninth existed
HOLDOUT_8 = ADVERSARIAL_DIR / "adversarial-holdout-8.jsonl"
# written blind the same way while the changes for the seventh and eighth were made; first scored on 2026-11-26 at
# 6e5c3b0, after them: ours 0.920 / 0.96 / 0.902, TF-IDF + LR 0.974 / 1.00 / 0.929, contacts F1 0.926 (regex 0.410).
# Its records were never looked at; it became the stack's calibration set (training.py): the rules were never
# tuned on it, so it weighs them honestly
HOLDOUT_9 = CALIBRATION_DIR / "adversarial-holdout-9.jsonl"
# written blind the same way while the scorer was changed to learn from the adversarial sets; first scored on
# 2026-11-26 with the model of the commit that added it: ours 0.990 / 1.00 / 0.946, TF-IDF + LR 0.980 / 1.00 /
# 0.964, keywords 0.450 / 0.50 / 0, contacts F1 0.907 (regex 0.590); the scorer before that commit (f7bfd99)
# 0.971 / 1.00 / 0.929. Then seen: 0.992 / 1.00 / 0.982 once the n-grams stopped reading hashtags (a change made
# for the demo's hard negatives, checked here too). The test set: never trained or calibrated on
HOLDOUT_10 = REPO_ROOT / "tests" / "takedown" / "data" / "adversarial-holdout-10.jsonl"
# written blind the same way (by hand, no templates) while the last changes for the tenth were made; first scored
# on 2026-11-26 at 1acc66a: ours 0.997 / 1.00 / 1.000, TF-IDF + LR 0.944 / 0.98 / 0.829, keywords 0.442 / 0.38 / 0,
# contacts F1 0.921 (regex 0.531; its writer typed hotlines "other", ours calls them phones: 0.968 with the two
# merged). The test set of the final configuration: never trained, calibrated or tuned on
HOLDOUT_11 = REPO_ROOT / "tests" / "takedown" / "data" / "adversarial-holdout-11.jsonl"
# written blind the same way (a helper that read DOMAIN.md and the corpus README only, by hand) after every change
# above; first scored on 2026-11-26 at 269d0fa (the scorer of 475a732): see the closing note of that session
HOLDOUT_12 = REPO_ROOT / "tests" / "takedown" / "data" / "adversarial-holdout-12.jsonl"
# a *typical* set like the shared corpus (the other acceptance set), written blind by another helper at the
# same time under the same rules; first scored with holdout 12
TYPICAL_1 = REPO_ROOT / "tests" / "takedown" / "data" / "typical-holdout-1.jsonl"
# written blind the same way (a helper that read DOMAIN.md and the corpus README only, by hand) after every change
# above; first scored on 2026-11-26 at a70dd32: ours 0.998 / 1.00 / 1.000, TF-IDF + LR 0.964 / 1.00 / 0.876,
# keywords 0.417 / 0.30 / 0, contacts F1 0.973 (regex 0.310). Then looked at: the contact extraction has been
# changed for what it showed (0.985)
HOLDOUT_13 = REPO_ROOT / "tests" / "takedown" / "data" / "adversarial-holdout-13.jsonl"
# a second typical set, written blind the same way; first scored on 2026-11-26 at b5794dd: ours 1.000 / 1.00 /
# 1.000, TF-IDF + LR 0.987 / 1.00 / 1.000, keywords 0.570 / 0.68 / 0, contacts F1 0.973 (regex 0.549). Then looked
# at: a single letter before an id beginning "x_" is no longer joined to it (a change made for what it showed)
TYPICAL_2 = REPO_ROOT / "tests" / "takedown" / "data" / "typical-holdout-2.jsonl"
# off-topic posts that give a contact (used goods, photography, exam tutoring…; 15% real promotions hidden in such
# topics), written by a helper from a template generator: a training set and a test set with new businesses,
# phrasings and numbers (the same generator, so the test figures flatter)
OFFTOPIC = ADVERSARIAL_DIR / "offtopic-contacts.jsonl"
OFFTOPIC_TEST = REPO_ROOT / "tests" / "takedown" / "data" / "offtopic-contacts-test.jsonl"
FOLDS = 5
# the sets the model learns from (data/adversarial/): each measured by a model trained without it
TRAINING_SETS = [("adversarial dev", DEV), ("adversarial holdout", HOLDOUT), ("adversarial holdout 2", HOLDOUT_2),
                 ("adversarial holdout 3", HOLDOUT_3), ("adversarial holdout 4", HOLDOUT_4),
                 ("adversarial holdout 5", HOLDOUT_5), ("adversarial holdout 6", HOLDOUT_6),
                 ("adversarial holdout 7", HOLDOUT_7), ("adversarial holdout 8", HOLDOUT_8),
                 ("adversarial off-topic contacts", OFFTOPIC)]
SETS = [*TRAINING_SETS, ("adversarial holdout 9 (calibration)", HOLDOUT_9),
        ("adversarial holdout 10 (test)", HOLDOUT_10), ("adversarial holdout 11 (test)", HOLDOUT_11),
        ("adversarial holdout 12 (test)", HOLDOUT_12), ("adversarial holdout 13 (test)", HOLDOUT_13),
        ("adversarial off-topic contacts (test)", OFFTOPIC_TEST),
        ("typical holdout 1 (test)", TYPICAL_1), ("typical holdout 2 (test)", TYPICAL_2)]


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def raw_text(r: Mapping) -> str:
    parts = [r.get("title"), r.get("desc"), *(r.get("hashtags") or []), r.get("author_name"),
             r.get("author_bio"), *(r.get("comments") or [])]
    return "\n".join(p for p in parts if isinstance(p, str))


# ----------------------------------------------------------------------------------------- baselines
class TfidfBaseline:
    """The floor the issue names: character n-grams of the raw text, TF-IDF, logistic regression."""

    def __init__(self) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        self.pipe = make_pipeline(
            TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=2),
            LogisticRegression(C=10.0, max_iter=5000),
        )

    def fit(self, records: Sequence[Mapping]) -> TfidfBaseline:
        self.pipe.fit([raw_text(r) for r in records], [int(r["label"]) for r in records])
        return self

    def scores(self, records: Sequence[Mapping]) -> list[float]:
        return [float(p) for p in self.pipe.predict_proba([raw_text(r) for r in records])[:, 1]]


_RX_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_RX_QQ = re.compile(r"(?:qq|QQ|扣扣)\s*[:：]?\s*(\d{5,11})")
_RX_WX = re.compile(r"(?:微信|vx|VX|v|V|wx)\s*[:：]\s*([A-Za-z][A-Za-z0-9_\-]{5,19})")
_RX_URL = re.compile(r"(?:https?://)?((?:[a-z0-9\-]+\.)+(?:com|cn|net|cc|xyz|top|vip)(?:/[\w\-./?=&]*)?)")


def regex_contacts(r: Mapping) -> set[tuple[str, str]]:
    text = raw_text(r)
    found = {("phone", m) for m in _RX_PHONE.findall(text)}
    found |= {("qq", m) for m in _RX_QQ.findall(text)}
    found |= {("wechat", m.lower()) for m in _RX_WX.findall(text)}
    found |= {("url", m.lower().rstrip("./")) for m in _RX_URL.findall(text)}
    return found


_SCHEME = re.compile(r"^https?://")


def _same_link(contacts: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Links compared without their scheme, for every method alike: the corpus labels them without it, the
    third hold-out set's writer kept it, and either way it is the same link."""
    return {(t, _SCHEME.sub("", v)) if t == "url" else (t, v) for t, v in contacts}


def contact_prf(records: Sequence[Mapping], predicted: Sequence[set[tuple[str, str]]]) -> tuple[float, float, float]:
    tp = fp = fn = 0
    for r, found in zip(records, predicted, strict=True):
        expected = _same_link({(c["type"], c["value"]) for c in r.get("contacts") or []})
        got = _same_link(found)
        tp += len(got & expected)
        fp += len(got - expected)
        fn += len(expected - got)
    p = tp / (tp + fp) if tp + fp else 1.0
    rec = tp / (tp + fn) if tp + fn else 1.0
    return p, rec, (2 * p * rec / (p + rec) if p + rec else 0.0)


# -------------------------------------------------------------------------------------------- figures
def ranking(labels: Sequence[int], scores: Sequence[float]) -> dict[str, float]:
    positives = sum(labels)
    k = 50 if positives >= 50 else positives
    return {"pr_auc": average_precision(labels, scores), "p_at": precision_at(labels, scores, k), "k": k,
            "r_at_p90": recall_at_precision(labels, scores, 0.9)}


def quality(quick: bool = False) -> dict[str, dict[str, dict[str, float]]]:
    """{set: {method: figures}} for every set and method (see the module docstring)."""
    from takedown.scoring.model import sigmoid
    from takedown.scoring.scorer import Scorer
    from takedown.scoring.training import DEFAULT_CONFIG, calibration_set, folds_of, prepare, train

    corpus = load(CORPUS)
    adversarial = {name: load(path) for name, path in TRAINING_SETS}
    calibration = calibration_set()[0]
    everything = [r for recs in adversarial.values() for r in recs]
    out: dict[str, dict[str, dict[str, float]]] = {}

    def ours_trained_on(records: list[dict]) -> Scorer:
        return Scorer(model=train(records, calibration=calibration))

    # corpus: out-of-fold, the same folds for every method
    prep = prepare(corpus)
    fold = folds_of(prep, FOLDS, DEFAULT_CONFIG.seed)
    n = len(prep.records)
    ours, rules_only, tfidf, tfidf_same = [0.0] * n, [0.0] * n, [0.0] * n, [0.0] * n
    for f in range(FOLDS):
        train_part = [prep.records[i] for i in range(n) if fold[i] != f]
        test_idx = [i for i in range(n) if fold[i] == f]
        test = [prep.records[i] for i in test_idx]
        scorer = ours_trained_on(train_part + everything)
        for i, r in zip(test_idx, test, strict=True):
            ours[i] = scorer.score_one(r).score
            rules_only[i] = sigmoid(scorer.logits(scorer.analyse(r))[0])
        for target, fitted_on in ((tfidf, train_part), (tfidf_same, train_part + everything)):
            for i, s in zip(test_idx, TfidfBaseline().fit(fitted_on).scores(test), strict=True):
                target[i] = s
    labels = prep.labels
    out["corpus (5-fold CV)"] = {
        "ours": ranking(labels, ours), "tfidf_lr": ranking(labels, tfidf),
        "tfidf_lr_same_data": ranking(labels, tfidf_same), "keywords": ranking(labels, keyword_scores(corpus)),
        "ours_rules_alone": ranking(labels, rules_only),
    }

    baseline = TfidfBaseline().fit(corpus)

    def measure(name: str, records: list[dict], scorer: Scorer, training: list[dict]) -> None:
        labels = [int(r["label"]) for r in records]
        out[name] = {
            "ours": ranking(labels, [r.score for r in scorer.score(records)]),
            "tfidf_lr": ranking(labels, baseline.scores(records)),
            "tfidf_lr_same_data": ranking(labels, TfidfBaseline().fit(training).scores(records)),
            "keywords": ranking(labels, keyword_scores(records)),
        }

    for name, records in adversarial.items():  # leave one set out
        rest = corpus + [r for other, recs in adversarial.items() if other != name for r in recs]
        measure(name, records, ours_trained_on(rest), rest)
    artifact = train(corpus + everything, calibration=calibration)
    shipped = Scorer(model=artifact)
    for name, path in SETS[len(TRAINING_SETS):]:
        if path.exists():
            measure(name, load(path), shipped, corpus + everything)
    # contacts
    for name, path in (("corpus", CORPUS), *SETS):
        if not path.exists():
            continue
        records = load(path)
        ours_c = [{(c.type, c.value) for c in res.contacts} for res in shipped.score(records)]
        out.setdefault("contacts " + name, {})
        out["contacts " + name]["ours"] = dict(zip(("precision", "recall", "f1"), contact_prf(records, ours_c),
                                                   strict=True))
        out["contacts " + name]["regex"] = dict(zip(("precision", "recall", "f1"),
                                                    contact_prf(records, [regex_contacts(r) for r in records]),
                                                    strict=True))
    out["model"] = {"version": {"value": artifact.version}}  # type: ignore[dict-item]
    return out


def throughput(n: int) -> dict[str, float]:
    """Posts/s on n corpus-like records: "ours" with fresh caches, "warm" ours on records whose field values
    are all cached, "keywords" the keyword-count baseline, "tfidf" the TF-IDF + LR baseline in one batch."""
    from bench.bench_ingest import make_posts
    from takedown.scoring.scorer import Scorer
    from takedown.scoring.training import calibration_set, train

    records = [p.scoring_input() for p in make_posts(n, seed=3)]
    corpus = load(CORPUS)
    scorer = Scorer(model=train(corpus + [r for _, path in TRAINING_SETS for r in load(path)],
                                calibration=calibration_set()[0]))
    scorer.score(records[:1])
    rates: dict[str, float] = {}
    started = time.perf_counter()
    keyword_scores(records)
    rates["keywords"] = n / (time.perf_counter() - started)
    scorer.facts.clear()
    started = time.perf_counter()
    scorer.score(records)
    rates["ours"] = n / (time.perf_counter() - started)
    again = records[: min(n, 5000)]  # well within the cache: every field value is known
    scorer.score(again)
    started = time.perf_counter()
    scorer.score(again)
    rates["warm"] = len(again) / (time.perf_counter() - started)
    baseline = TfidfBaseline().fit(corpus)
    started = time.perf_counter()
    baseline.scores(records)
    rates["tfidf"] = n / (time.perf_counter() - started)
    return rates


def run(quick: bool = False) -> list[Figure]:
    q = quality(quick)
    figures: list[Figure] = []
    for set_name, methods in q.items():
        if set_name == "model":
            continue
        if set_name.startswith("contacts"):
            ours, base = methods["ours"], methods["regex"]
            figures.append(Figure(f"scorer {set_name} F1", ours["f1"], "", base["f1"], "regex contacts",
                                  target="value >= 0.95", met=ours["f1"] >= 0.95))
            continue
        ours = methods["ours"]
        adversarial = set_name.startswith("adversarial")
        for key, label, target in (("pr_auc", "PR-AUC", 0.99 if not adversarial else 0.90),
                                   ("p_at", f"P@{ours['k']}", 1.0 if not adversarial else 0.90),
                                   ("r_at_p90", "recall at precision 0.9", None if not adversarial else 0.70)):
            for base_name in ("tfidf_lr", "keywords"):
                base = methods[base_name][key]
                goal = f"value >= {target}" if target is not None else ""
                goal += (" and > baseline" if adversarial else " and >= baseline")
                beats = ours[key] > base if adversarial else ours[key] >= base
                met = beats and (target is None or ours[key] >= target)
                figures.append(Figure(f"scorer {set_name} {label} vs {base_name}", ours[key], "", base,
                                      base_name, target=goal, met=met))
            figures.append(Figure(f"scorer {set_name} {label} vs tfidf_lr_same_data (reference)", ours[key], "",
                                  methods["tfidf_lr_same_data"][key], "TF-IDF + LR on our training data"))
    n = 2_000 if quick else 20_000
    rates = throughput(n)
    ours = rates["ours"]
    figures.append(Figure(f"scorer throughput ({n} corpus-like records)", ours, "posts/s", rates["keywords"],
                          "keyword counting", target="value >= 20000 posts/s", met=ours >= 20000))
    figures.append(Figure(f"scorer throughput vs TF-IDF + LR ({n} corpus-like records)", ours, "posts/s",
                          rates["tfidf"], "TF-IDF + LR batch"))
    figures.append(Figure("scorer throughput, every field value cached (5000 records again)", rates["warm"],
                          "posts/s", rates["keywords"], "keyword counting"))
    return figures


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(quality(), ensure_ascii=False, indent=1))
