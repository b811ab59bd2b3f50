"""The learned model: built on first use in the configured var dir and reused, versioned by data and code,
retrained from reviewer decisions, calibrated, explained in the reasons; `takedown train` and
`takedown eval --cv`; quality floors of the learned scorer (cross-validated on the corpus, leave-one-set-out on
our adversarial sets, and as shipped on the calibration and test sets)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session

from takedown.db import make_engine, upgrade
from takedown.ingest import Ingestor
from takedown.models import Post, Review, ReviewState, User
from takedown.records import AuthorRecord, PostRecord
from takedown.scoring import Scorer
from takedown.scoring.analysis import FEATURES
from takedown.scoring.evaluate import average_precision, precision_at, recall_at_precision
from takedown.scoring.model import Artifact
from takedown.scoring.scorer import Weights
from takedown.scoring.store import ModelStore
from takedown.scoring.training import (
    ADVERSARIAL_DIR,
    CALIBRATION_DIR,
    DEFAULT_CONFIG,
    cross_validate,
    cv_scores,
    load_labelled,
    out_of_fold,
    prepare,
    review_records,
    topic_label,
    train,
    training_set,
)

CORPUS = Path(__file__).resolve().parents[2] / "data" / "corpus-train.jsonl"
DEV = ADVERSARIAL_DIR / "adversarial.jsonl"
TESTS_DATA = Path(__file__).resolve().parent / "data"  # test sets: never trained, calibrated or tuned on
_REAL_DEFAULT = ModelStore.__dict__["default"]  # taken before the fixture below replaces it



@pytest.fixture(scope="module")
def corpus() -> list[dict]:
    if not CORPUS.exists():
        pytest.skip(f"{CORPUS} not present")
    return load_labelled(CORPUS)


@pytest.fixture(scope="module")
def default_model(tmp_path_factory) -> Artifact:
    return ModelStore(tmp_path_factory.getbasetemp() / "models").for_scoring()


# ------------------------------------------------------------------------------------------ the store
def test_the_default_model_is_built_on_first_use_and_then_reused(tmp_path):
    store = ModelStore(tmp_path / "models")
    assert store.versions() == [] and store.current_version() is None
    first = Scorer.default(store)
    assert first.model is not None and first.version.startswith("model-")
    assert store.versions() == [first.version] and store.current_version() == first.version
    written = store.path(first.version).stat().st_mtime_ns
    again = Scorer.default(store)
    assert again.version == first.version
    assert store.versions() == [first.version] and store.path(first.version).stat().st_mtime_ns == written
    assert (tmp_path / "models" / first.version / "metrics.json").exists()
    assert first.score_one(PROMO).score == again.score_one(PROMO).score


def test_the_store_follows_the_var_dir_setting(tmp_path, monkeypatch):
    from takedown.settings import get_settings

    monkeypatch.setenv("TAKEDOWN_VAR_DIR", str(tmp_path / "elsewhere"))
    get_settings.cache_clear()
    try:
        store = _REAL_DEFAULT.__get__(None, ModelStore)()
    finally:
        get_settings.cache_clear()
    assert store.root == tmp_path / "elsewhere" / "models"


def test_two_processes_starting_at_once_build_the_default_model_once(tmp_path):
    store = ModelStore(tmp_path / "models")
    versions: list[str] = []
    threads = [threading.Thread(target=lambda: versions.append(ModelStore(store.root).for_scoring().version))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(versions)) == 1 and store.versions() == versions[:1]
    assert not [p for p in store.root.iterdir() if p.name.startswith(".tmp-")]


def test_a_current_model_from_other_code_is_not_used(tmp_path, default_model):
    store = ModelStore(tmp_path / "models")
    stale = Artifact.from_dict({**default_model.to_dict(), "version": "model-000000000000", "code_hash": "old"})
    store.save(stale)
    assert store.current_version() == "model-000000000000"
    assert Scorer.default(store).version == default_model.version
    assert store.current_version() == default_model.version  # and the pointer no longer names the stale one


# ------------------------------------------------------------------------------- scores and reasons
PROMO = {
    "id": "p1", "platform": "douyin", "title": "信用卡逾期了别慌，可以申请婷·息·挂·帐",
    "desc": "专业团队一对一和银行谈，不成功不收费，私信或加V：TingXi_2024 咨询",
    "hashtags": ["停息挂账", "信用卡逾期"], "author_name": "债务规划老周", "author_bio": "专注个人债务规划8年",
    "comments": ["作者回复：可以的 已私你", "加了"],
}
FIELD_KEYS = {"title": "title", "desc": "desc", "author_name": "author_name", "bio": "author_bio"}


def test_scores_carry_the_model_version_and_model_features_quoting_the_post(default_model):
    scorer = Scorer(model=default_model)
    result = scorer.score_one(PROMO)
    assert result.model_version == default_model.version == scorer.version
    model_reasons = [r for r in result.reasons if r.category == "model"]
    assert model_reasons and all(r.rule == "model.ngram" for r in model_reasons)
    for r in model_reasons:
        where = PROMO[r.field] if r.field in ("hashtags", "comments") else [PROMO[FIELD_KEYS[r.field]]]
        assert any(r.text in item for item in where), r  # the post's own words, not the normalised ones
        assert r.weight != 0 and r.explanation
    # a rule reason still comes first: it is the quotable evidence
    assert result.reasons[0].category != "model"


def test_batch_and_single_scoring_agree(default_model):
    records = load_labelled(DEV)[:20]
    batch = Scorer(model=default_model).score(records)
    single = [Scorer(model=default_model).score_one(r) for r in records]
    assert [r.score for r in batch] == pytest.approx([r.score for r in single], abs=1e-4)
    assert [r.reasons for r in batch] == [r.reasons for r in single]


def test_calibrated_scores_lie_in_0_1_and_match_the_positive_rate(corpus):
    prep = prepare(corpus)
    oof = out_of_fold(prep, DEFAULT_CONFIG)
    scores = cv_scores(prep, oof, DEFAULT_CONFIG)["stack"]
    assert all(0.0 <= s <= 1.0 for s in scores)
    labels = prep.labels
    # calibration: the mean out-of-fold probability is close to the share of positives, and confident scores
    # are right about as often as they claim
    assert abs(sum(scores) / len(scores) - sum(labels) / len(labels)) < 0.05
    high = [y for s, y in zip(scores, labels, strict=True) if s >= 0.9]
    low = [y for s, y in zip(scores, labels, strict=True) if s <= 0.1]
    assert sum(high) / len(high) >= 0.9 and sum(low) / len(low) <= 0.1
    brier = sum((s - y) ** 2 for s, y in zip(scores, labels, strict=True)) / len(labels)
    assert brier < 0.05


# ------------------------------------------------------------------------------------ reviewer decisions
def _record(pid: str, title: str, text: str, author: str = "a1", bio: str = "") -> PostRecord:
    return PostRecord(platform="douyin", platform_post_id=pid, url=f"https://www.douyin.com/video/{pid}",
                      title=title, text=text, hashtags=[], published_at=datetime(2026, 11, 1, tzinfo=UTC),
                      author=AuthorRecord("douyin", author, nickname=f"作者{author}", bio=bio))


def _decide(engine, decisions: dict[str, str]) -> None:
    with Session(engine) as s:
        user = User(username="reviewer1", role="reviewer")
        s.add(user)
        s.flush()
        for post in s.execute(select(Post)).scalars().all():
            decision = decisions.get(post.platform_post_id)
            if decision:
                s.add(Review(post_id=post.id, user_id=user.id, decision=decision))
                post.review_state = decision
        s.commit()


# reviewers know better than the scorer: a lender's own hardship page that reads like an advert (rejected), and
# a calm "life update" that is a funnel (confirmed)
LOOKS_BAD = ("官方停息挂账、协商还款通道", "逾期用户可在APP里申请停息挂账和个性化分期，专人一对一协商，当天出方案。")
LOOKS_FINE = ("我的小日子", "周末在家做饭，生活慢慢变好了，有同样经历的朋友可以找我聊聊天。")


def test_retraining_with_reviewer_decisions_changes_the_version_and_moves_reviewed_posts(tmp_path, corpus,
                                                                                         default_model):
    engine = make_engine(f"sqlite:///{tmp_path / 'reviews.db'}")
    upgrade(engine)
    before = Scorer(model=default_model)
    posts = [_record(f"bad{i}", LOOKS_BAD[0], LOOKS_BAD[1] + "！" * i, author=f"b{i}") for i in range(3)]
    posts += [_record(f"fine{i}", LOOKS_FINE[0], LOOKS_FINE[1] + "。" * i, author=f"f{i}") for i in range(3)]
    posts.append(_record("dup", LOOKS_BAD[0], LOOKS_BAD[1] + "？", author="d"))
    Ingestor(engine, before, threshold=0.5).ingest(posts, keyword="停息挂账")
    _decide(engine, {**{f"bad{i}": ReviewState.REJECTED for i in range(3)},
                     **{f"fine{i}": ReviewState.CONFIRMED for i in range(3)}, "dup": ReviewState.DUPLICATE})
    reviews = review_records(engine)
    assert sorted(r["label"] for r in reviews) == [0, 0, 0, 1, 1, 1]  # the duplicate is left out
    records, weights, sources = training_set(CORPUS, engine)
    own = sum(len(load_labelled(p)) for p in ADVERSARIAL_DIR.glob("*.jsonl"))
    assert sources["reviews"]["records"] == 6 and len(records) == len(corpus) + own + 6
    assert weights[-6:] == [DEFAULT_CONFIG.review_weight] * 6
    after = Scorer(model=train(records, weights, sources=sources,
                               calibration=load_labelled(CALIBRATION_DIR / "adversarial-holdout-9.jsonl")))
    assert after.version != before.version
    bad = [p.scoring_input() for p in posts[:3]]
    fine = [p.scoring_input() for p in posts[3:6]]
    for old, new in zip(before.score(bad), after.score(bad), strict=True):
        assert new.score < old.score
    for old, new in zip(before.score(fine), after.score(fine), strict=True):
        assert new.score > old.score
    engine.dispose()


def test_the_version_is_a_function_of_data_and_code(corpus):
    a = train(corpus[:200])
    b = train(corpus[:200])
    c = train(corpus[:199])
    assert a.version == b.version != c.version


# ---------------------------------------------------------------------------------------------- quality
def _ranking(labels: list[int], scores: list[float]) -> tuple[float, float, float]:
    k = min(50, sum(labels))
    return (average_precision(labels, scores), precision_at(labels, scores, k),
            recall_at_precision(labels, scores, 0.9))


def test_quality_floor_of_the_learned_scorer_cross_validated_on_the_corpus(corpus):
    m = cross_validate(corpus, k=5)
    assert m["pr_auc"] >= 0.98
    assert m["precision_at_50"] >= 0.98
    assert m["recall_at_precision_0.9"] >= 0.95
    for category, entry in m["categories"].items():
        if entry["label"]:
            assert entry["recall"] >= 0.85, category
        else:
            assert entry["false_positive_rate"] <= 0.1, category


def test_the_default_model_learns_from_the_corpus_and_our_adversarial_sets_and_is_calibrated_apart(default_model):
    src = default_model.meta["sources"]
    assert src["corpus"]["records"] >= 400
    assert sorted(src["adversarial"]["files"]) == sorted(p.name for p in ADVERSARIAL_DIR.glob("*.jsonl"))
    assert src["calibration"]["files"] == ["adversarial-holdout-9.jsonl"]
    assert default_model.meta["stack_fitted_on"] == "calibration set"
    calibration = {r["id"] for r in load_labelled(CALIBRATION_DIR / "adversarial-holdout-9.jsonl")}
    training = {r["id"] for r in training_set()[0]}
    assert calibration and not calibration & training  # the calibration set is never trained on


def test_the_stack_is_fitted_on_the_calibration_set_when_given(corpus):
    calibration = load_labelled(CALIBRATION_DIR / "adversarial-holdout-9.jsonl")
    on_folds = train(corpus, config=replace(DEFAULT_CONFIG, folds=3))
    on_calibration = train(corpus, config=replace(DEFAULT_CONFIG, folds=3), calibration=calibration)
    assert on_folds.meta["stack_fitted_on"] == "out-of-fold logits"
    assert on_calibration.meta["calibration"]["records"] == len(calibration)
    assert on_calibration.stack != on_folds.stack
    assert on_calibration.ngrams.table == on_folds.ngrams.table  # the same model, only the stack differs
    assert on_calibration.version != on_folds.version


def test_the_ngram_logit_normalises_over_the_whole_record(default_model):
    """Reference computation by hand from the artifact's table: sublinear tf x idf of each field's n-grams
    (lengths 1-3), the record's vector the sum of its fields' (hashtags left out), one l2 norm for the
    record; the learned topic over the same vector raises debt_topic, for the rules' logit and the model's."""
    scorer = Scorer(model=default_model)
    record = {"id": "n1", "title": "停息挂账找我们", "desc": "专业协商还款，加微信 abc12345 咨询",
              "hashtags": ["停息挂账"], "author_name": "法务小王", "author_bio": "十年经验", "comments": []}
    _assert_logits_by_hand(scorer, default_model, record)


def test_the_learned_topic_raises_debt_topic_where_the_rules_topic_words_miss(default_model):
    """A warning about fake customer service names no debt word the rules' topic list knows: the rules call it
    off-topic, the learned topic (confident, over topic_min) calls it on-topic, and the features say so."""
    scorer = Scorer(model=default_model)
    record = {"id": "t1", "title": "接到自称客服的电话要当心",
              "desc": "真正的客服会准确说出你的借款信息，但不会让你转账到个人账户，也不会让你加个人微信。",
              "hashtags": [], "author_name": "", "author_bio": "", "comments": []}
    assert scorer.analyse(record).features[FEATURES.index("debt_topic")] == 0.0
    assert _assert_logits_by_hand(scorer, default_model, record) >= default_model.topic_min > 0.5


def test_an_unsure_topic_reading_raises_nothing(default_model):
    """Below topic_min the learned topic counts as none: a short sale with a WeChat id (whose contact words
    promotions share) stays off-topic and out of the queue."""
    scorer = Scorer(model=default_model)
    record = {"id": "t2", "title": "", "desc": "九成新，加微信 cam_2024 详聊", "hashtags": [], "author_name": "",
              "author_bio": "", "comments": []}
    assert _assert_logits_by_hand(scorer, default_model, record) == 0.0
    assert scorer.score_one(record).score < 0.5


def test_the_topic_model_learns_from_the_categories_it_can_be_sure_of():
    assert topic_label("unrelated", 0) == 0 and topic_label("offtopic_contact", 0) == 0
    assert topic_label("warning", 0) == 1 and topic_label("official", 0) == 1 and topic_label("victim", 0) == 1
    assert topic_label("promo_evasive", 1) == 1 and topic_label("review_confirmed", 1) == 1
    # a rejected post, or a negative nobody categorised, may be a warning or a cooking video
    assert topic_label("review_rejected", 0) is None and topic_label("", 0) is None


def test_without_off_topic_examples_there_is_no_topic_model_and_the_rules_topic_stands(corpus):
    on_topic = [r for r in corpus if topic_label(r["category"], r["label"]) == 1]
    model = train(on_topic, config=replace(DEFAULT_CONFIG, folds=2))
    assert model.topic_intercept is None
    assert {t for _, _, t in model.ngrams.table.values()} == {0.0}
    assert Artifact.from_dict(json.loads(json.dumps(model.to_dict()))).topic_intercept is None
    scorer = Scorer(model=model)
    record = {"id": "t3", "title": "接到自称客服的电话要当心", "desc": "真正的客服不会让你加个人微信。"}
    analysis = scorer.analyse(record)
    weights = Weights.from_dict(model.rule_weights)
    assert scorer.logits(analysis)[0] == pytest.approx(weights.intercept + sum(
        c * f for c, f in zip(weights.coefficients, analysis.features, strict=True)), rel=1e-9)


def _assert_logits_by_hand(scorer: Scorer, model: Artifact, record: dict) -> float:
    """Checks both logits and the score of `record` against a computation by hand; returns the topic."""
    analysis = scorer.analyse(record)
    table = model.ngrams.table
    dot = norm2 = topic_dot = 0.0
    for field, text in analysis.texts:
        if field == "hashtags":
            continue
        counts: dict[str, int] = {}
        for n in (1, 2, 3):
            for i in range(len(text) - n + 1):
                counts[text[i:i + n]] = counts.get(text[i:i + n], 0) + 1
        for gram, count in counts.items():
            if gram in table:
                idf, coef, topic_coef = table[gram]
                v = (1.0 + math.log(count)) * idf
                dot += v * coef
                topic_dot += v * topic_coef
                norm2 += v * v
    topic = 1 / (1 + math.exp(-(model.topic_intercept + topic_dot / math.sqrt(norm2))))
    topic = topic if topic >= model.topic_min else 0.0
    features = list(analysis.features)
    at = FEATURES.index("debt_topic")
    features[at] = max(features[at], topic)
    rule_z, model_z = scorer.logits(analysis)
    weights = Weights.from_dict(model.rule_weights)
    assert rule_z == pytest.approx(weights.intercept + sum(
        c * f for c, f in zip(weights.coefficients, features, strict=True)), rel=1e-9)
    assert model_z == pytest.approx(model.intercept + dot / math.sqrt(norm2) + sum(
        c * f for c, f in zip(model.rule_coef, features, strict=True)), rel=1e-9)
    assert scorer.score_one(record).score == pytest.approx(
        1 / (1 + math.exp(-model.stack.logit(rule_z, model_z))), abs=1e-9)
    return topic


@pytest.mark.parametrize("name", sorted(p.stem for p in ADVERSARIAL_DIR.glob("adversarial*.jsonl")))
def test_quality_floor_on_each_adversarial_set_with_a_model_trained_without_it(corpus, name):
    """Leave one set out: the model learns from the corpus and the other adversarial sets, its stack from the
    calibration set. A regression guard below what bench_scorer measured (PR-AUC 0.987-1.0, P@50 0.97-1.0,
    recall at precision 0.9 0.947-1.0)."""
    rest = [r for p in ADVERSARIAL_DIR.glob("*.jsonl") if p.stem != name for r in load_labelled(p)]
    model = train(corpus + rest, config=replace(DEFAULT_CONFIG, folds=2),
                  calibration=load_labelled(CALIBRATION_DIR / "adversarial-holdout-9.jsonl"))
    records = load_labelled(ADVERSARIAL_DIR / f"{name}.jsonl")
    labels = [r["label"] for r in records]
    pr_auc, p_at, r_at = _ranking(labels, [r.score for r in Scorer(model=model).score(records)])
    assert pr_auc >= 0.96 and p_at >= 0.94 and r_at >= 0.9


@pytest.mark.parametrize(("path", "floors"), [
    # the calibration set fits the stack's three weights only (measured 0.995 / 1.00 / 0.991)
    (CALIBRATION_DIR / "adversarial-holdout-9.jsonl", (0.97, 0.96, 0.9)),
    # the test set, first scored blind at 0.990 / 1.00 / 0.946 (0.992 / 1.00 / 0.982 once hashtags were left out)
    (TESTS_DATA / "adversarial-holdout-10.jsonl", (0.96, 0.96, 0.85)),
    # the test set of the final configuration, first scored blind at 0.997 / 1.00 / 1.000
    (TESTS_DATA / "adversarial-holdout-11.jsonl", (0.97, 0.96, 0.9)),
    # written blind after all of that, first scored at 0.986 / 1.00 / 0.946; 0.992 / 1.00 / 0.991 with the
    # learned topic (a change made for what the sets left out of training showed, not for this one)
    (TESTS_DATA / "adversarial-holdout-12.jsonl", (0.97, 0.96, 0.9)),
    # written blind after all of that, first scored at 0.998 / 1.00 / 1.000
    (TESTS_DATA / "adversarial-holdout-13.jsonl", (0.97, 0.96, 0.9)),
    # a typical set (the floor there: PR-AUC 0.99, P@50 1.0), first scored blind at 1.000 / 1.00 / 1.000
    (TESTS_DATA / "typical-holdout-1.jsonl", (0.99, 1.0, 0.95)),
    # a second typical set, first scored blind at 1.000 / 1.00 / 1.000
    (TESTS_DATA / "typical-holdout-2.jsonl", (0.99, 1.0, 0.95)),
], ids=["calibration", "test-10", "test-11", "test-12", "test-13", "typical-1", "typical-2"])
def test_quality_floor_of_the_shipped_model_on_the_sets_it_never_learned_from(default_model, path, floors):
    records = load_labelled(path)
    assert len(records) >= 200
    labels = [r["label"] for r in records]
    pr_auc, p_at, r_at = _ranking(labels, [r.score for r in Scorer(model=default_model).score(records)])
    assert pr_auc >= floors[0] and p_at >= floors[1] and r_at >= floors[2]


def test_off_topic_posts_that_give_a_contact_rank_below_promotions(default_model):
    """The off-topic test set (used goods, photography, tutoring … with a WeChat id or phone; 15% real
    promotions hidden in such topics): a regression guard below what bench_scorer measured (PR-AUC 0.797,
    recall at precision 0.9 0.565, 23 of 127 off-topic posts at 0.5 or more) and above what the n-grams did
    without the debt-topic feature (PR-AUC 0.71-0.735)."""
    records = load_labelled(TESTS_DATA / "offtopic-contacts-test.jsonl")
    labels = [r["label"] for r in records]
    scores = [r.score for r in Scorer(model=default_model).score(records)]
    pr_auc, _, r_at = _ranking(labels, scores)
    false_positives = sum(1 for y, s in zip(labels, scores, strict=True) if y == 0 and s >= 0.5)
    assert pr_auc >= 0.75 and r_at >= 0.4
    assert false_positives <= 26


# -------------------------------------------------------------------------------------------------- CLI
def takedown(*args: str, env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "takedown", *args], capture_output=True, text=True,
                          env=os.environ | env, timeout=timeout)


def test_takedown_train_prints_cross_validated_metrics_and_makes_the_model_current(tmp_path):
    env = {"TAKEDOWN_VAR_DIR": str(tmp_path / "var"), "TAKEDOWN_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    done = takedown("train", "--cv", "3", env=env)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "3-fold cross-validation" in out and "PR-AUC" in out and "recall at precision 0.9" in out
    version = out.split()[1]
    assert version.startswith("model-")
    assert (tmp_path / "var" / "models" / "current").read_text().strip() == version
    assert (tmp_path / "var" / "models" / version / "model.json").exists()


def test_takedown_eval_cv_cross_validates_the_learned_scorer(tmp_path):
    env = {"TAKEDOWN_VAR_DIR": str(tmp_path / "var")}
    done = takedown("eval", "--cv", "3", str(DEV), env=env)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "3-fold cross-validation of the learned scorer" in out
    assert "fold PR-AUC" in out and "rules alone" in out and "model alone" in out
    assert "false-positive rate" in out and "recall" in out and "promo_direct" in out
    as_json = takedown("eval", "--cv", "3", "--json", str(DEV), env=env)
    data = json.loads(as_json.stdout)
    assert len(data["cross_validation"]["cross_validation"]["fold_pr_auc"]) == 3
    assert data["model_version"].startswith("model-")
