"""Rules: every category fires on a sample, field restrictions hold, the YAML is validated with errors that
name the rule and the key, and the speed-up rewriting of patterns does not change what they match."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
import yaml

from takedown.scoring.errors import RulesError
from takedown.scoring.normalise import normalise
from takedown.scoring.regexopt import expand, split_alternatives
from takedown.scoring.rules import CATEGORIES, DEFAULT_RULES_PATH, NEGATIVE_CATEGORIES, RuleSet

CORPUS = Path(__file__).resolve().parents[2] / "data" / "corpus-train.jsonl"


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return RuleSet.load()


@pytest.fixture(scope="module")
def raw_rules() -> dict:
    return yaml.safe_load(DEFAULT_RULES_PATH.read_text(encoding="utf-8"))


SAMPLES = {
    "promise": ("desc", "信用卡逾期别慌，专业团队帮你协商停息挂账，不成功不收费"),
    "diversion": ("desc", "有需要的私信我，或者加微信咨询"),
    "fee": ("desc", "服务费按减免金额的15%收取"),
    "false_identity": ("desc", "我们是专业法务团队，有银行内部渠道"),
    "fake_policy": ("title", "最新政策来了：退费通道已开通"),
    "anti_collection": ("desc", "专业反催收，当天停催，代理投诉"),
    "brand_target": ("title", "借呗、花呗逾期都能谈"),
    "evasion": ("desc", "私聊会被屏蔽，不方便公开说"),
    "warning": ("title", "骗局揭秘：所谓“停息挂账”都是骗子"),
    "news": ("desc", "警方通报：该团伙已落网，涉案金额2000万"),
    "official": ("desc", "请通过官方App内在线客服申请，全程免费，本行从未委托第三方"),
}


@pytest.mark.parametrize("category", sorted(SAMPLES))
def test_each_category_fires_on_a_sample(rules, category):
    field, text = SAMPLES[category]
    hits = rules.match_text(normalise(text).text, field)
    assert category in {h.rule.category for h in hits}


def test_evasive_spelling_still_fires_the_rule_for_the_canonical_word(rules):
    hits = rules.match_text(normalise("婷·息·挂·帐 真的可以办").text, "desc")
    assert "promise.stop_interest" in {h.rule.id for h in hits}


@pytest.mark.parametrize(("text", "rule"), [
    ("2026年各大银行开通了减免通道，逾期一年以上的都能申请", "fake_policy.new_policy"),
    ("多家平台已经开放了协商通道", "fake_policy.new_policy"),
    ("本金可以减免最高50%", "promise.fee_reduction"),
    ("减免高达60%", "promise.fee_reduction"),
])
def test_fake_policy_and_reduction_claims_in_other_word_orders(rules, text, rule):
    assert rule in {h.rule.id for h in rules.match_text(normalise(text).text, "desc")}


@pytest.mark.parametrize(("name", "official"), [
    ("华岳银行", True), ("星汇消费金融", True), ("乐享分期客服小乐", True), ("乐享分期官方客服账号", True),
    ("曾在华岳银行工作八年", False), ("前银行员工老李", False),
])
def test_an_account_named_as_a_lender_speaks_officially(rules, name, official):
    hits = {h.rule.id for h in rules.match_text(normalise(name).text, "author_name")}
    assert ("official.speaker" in hits) is official


def test_speaker_rules_only_look_at_the_author(rules):
    text = normalise("反诈宣传").text
    assert "warning.speaker" in {h.rule.id for h in rules.match_text(text, "bio")}
    assert "warning.speaker" not in {h.rule.id for h in rules.match_text(text, "title")}
    assert "warning.fraud_language" in {h.rule.id for h in rules.match_text(text, "title")}


def test_comment_rules_only_look_at_comments(rules):
    assert "diversion.readers_responding" in {h.rule.id for h in rules.match_text("加了", "comments")}
    assert "diversion.readers_responding" not in {h.rule.id for h in rules.match_text("加了", "desc")}


def test_shipped_rules_are_well_formed(rules):
    assert len(rules.rules) >= 30
    for rule in rules.rules:
        assert rule.category in CATEGORIES
        assert (rule.weight < 0) == (rule.category in NEGATIVE_CATEGORIES)
        assert rule.explanation.endswith("。")
    assert {r.category for r in rules.rules} == set(CATEGORIES)


def _one_rule(raw_rules: dict, index: int = 0) -> dict:
    data = copy.deepcopy(raw_rules)
    data["rules"] = [data["rules"][index]]
    return data


@pytest.mark.parametrize(
    ("mutate", "key"),
    [
        (lambda r: r.pop("weight"), "weight"),
        (lambda r: r.update(category="spam"), "category"),
        (lambda r: r.update(weight=-0.5), "weight"),
        (lambda r: r.update(weight="high"), "weight"),
        (lambda r: r.update(patterns=["停息(挂账"]), "patterns"),
        (lambda r: r.update(patterns=["(停息)挂账"]), "patterns"),
        (lambda r: r.update(patterns=["(?i)停息"]), "patterns"),
        (lambda r: r.update(patterns=["a*"]), "patterns"),
        (lambda r: r.update(patterns=[]), "patterns"),
        (lambda r: r.update(fields=["title", "body"]), "fields"),
        (lambda r: r.update(explanation="no Chinese"), "explanation"),
        (lambda r: r.update(explanation="第一句。第二句。"), "explanation"),
        (lambda r: r.update(colour="red"), "unknown key"),
        (lambda r: r.update(id="diversion.stop_interest"), "id"),
    ],
)
def test_invalid_rules_are_rejected_naming_the_rule_and_key(raw_rules, mutate, key):
    data = _one_rule(raw_rules)
    mutate(data["rules"][0])
    with pytest.raises(RulesError) as err:
        RuleSet.from_dict(data)
    message = str(err.value)
    assert key in message
    assert "promise.stop_interest" in message or "diversion.stop_interest" in message


def test_a_negative_context_rule_needs_a_negative_weight(raw_rules):
    index = next(i for i, r in enumerate(raw_rules["rules"]) if r["category"] == "news")
    data = _one_rule(raw_rules, index)
    data["rules"][0]["weight"] = 0.5
    with pytest.raises(RulesError, match="weight"):
        RuleSet.from_dict(data)


def test_duplicate_ids_are_rejected(raw_rules):
    data = copy.deepcopy(raw_rules)
    data["rules"].append(copy.deepcopy(data["rules"][0]))
    with pytest.raises(RulesError, match="duplicate"):
        RuleSet.from_dict(data)


def test_a_file_that_is_not_yaml_is_rejected_naming_the_file(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text("rules: [\n  - id: x", encoding="utf-8")
    with pytest.raises(RulesError, match="rules.yaml"):
        RuleSet.load(path)


def _corpus_texts(limit: int = 150) -> list[str]:
    if not CORPUS.exists():
        pytest.skip(f"{CORPUS} not present")
    records = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()[:limit]]
    return [normalise("\n".join([r["title"], r["desc"], *r["hashtags"], r["author_bio"], *r["comments"]])).text
            for r in records]


def test_rewriting_patterns_for_speed_does_not_change_their_matches(raw_rules):
    texts = _corpus_texts()
    for rule in raw_rules["rules"]:
        for pattern in rule["patterns"]:
            original = re.compile(pattern, re.MULTILINE)
            rewritten = re.compile(
                "|".join(f"(?:{b})" for alt in split_alternatives(pattern) for b in expand(alt)), re.MULTILINE
            )
            for text in texts:
                assert [m.span() for m in original.finditer(text)] == [m.span() for m in rewritten.finditer(text)], (
                    rule["id"], pattern, text[:80])


def test_rule_matching_loses_no_rule_except_to_an_overlapping_hit_of_its_own_category(rules):
    """Rules of one category are scanned together: a rule may only be hidden by another rule of the same
    category matching over the same text (the category, and the quoted text, are then still reported)."""
    for text in _corpus_texts(100):
        hits = rules.match_text(text, "desc")
        for rule in rules.rules:
            if "desc" not in rule.fields:
                continue
            for pattern in rule.patterns:
                for m in re.finditer(pattern, text, re.MULTILINE):
                    if m.end() == m.start():
                        continue
                    assert any(
                        h.rule.category == rule.category and h.start < m.end() and m.start() < h.end for h in hits
                    ), (rule.id, m.group(), text[:60])
