"""Normalisation: folding, traditional characters, split words, homophones, numerals, and the map back to the
original text."""

from __future__ import annotations

import pytest

from takedown.scoring.errors import LexiconError
from takedown.scoring.lexicon import Lexicon
from takedown.scoring.normalise import SEGMENT_SEPARATOR, chinese_digits_to_ascii, normalise


def test_full_width_letters_digits_and_punctuation_fold_to_ascii_lower_case():
    n = normalise("ＸＹＺ１２３，（好）：Ａ")
    assert n.text == "xyz123,(好):a"
    assert n.evasion.fullwidth_letters == 4


def test_mathematical_and_enclosed_letters_fold():
    n = normalise("𝐕,🅧,Ⓐ,①,❶")
    assert n.text == "v,x,a,1,1"


def test_traditional_characters_become_simplified():
    n = normalise("停息掛帳 徵信修復 聯繫我們")
    assert n.text == "停息挂账征信修复联系我们"
    assert n.evasion.traditional >= 5


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("停·息·挂·账", "停息挂账"),
        ("征.信.花.了", "征信花了"),
        ("个💡性💡化💡分💡期", "个性化分期"),
        ("修👌复", "修复"),
        ("网💰d 逾期", "网贷逾期"),
    ],
)
def test_symbols_and_emoji_between_characters_are_removed_and_counted(raw, expected):
    n = normalise(raw)
    assert n.text == expected
    assert n.evasion.split_symbols >= 1
    assert n.evasion.total >= 1


def test_spaced_out_characters_are_joined_and_counted():
    n = normalise("正 信 有 问 题 的 进")
    assert n.text == "征信有问题的进"
    assert n.evasion.spaced_chars >= 4


def test_ordinary_delimiters_are_not_counted_as_evasion():
    n = normalise("招聘｜债务协商顾问 App-我的-客服")
    assert n.evasion.split_symbols == 0


def test_a_menu_path_with_arrows_is_not_evasion():
    n = normalise("打开借呗→还款→点击“还款有困难”，或 App＞我的＞客服")
    assert n.evasion.split_symbols == 0 and n.evasion.splits == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("婷息挂帐", "停息挂账"),
        ("💳🈚️力🔙？🛑息➗期", "信用卡无力还?停息分期"),
        ("加🌿信聊", "加微信聊"),
        ("崔收", "催收"),
        ("摧收", "催收"),
        ("催shou", "催收"),
        ("协尚", "协商"),
        ("协shang", "协商"),
        ("xie 商", "协商"),
        ("上🚢了", "上岸了"),
        ("上an", "上岸"),
        ("征xin", "征信"),
        ("zx花了", "征信花了"),
        ("xs还款", "协商还款"),
        ("xyk逾期", "信用卡逾期"),
        ("fcs", "反催收"),
        ("往dai", "网贷"),
        ("鱼期", "逾期"),
        ("t.x.g.z", "停息挂账"),
        ("C S 来了", "催收来了"),
        ("tíng xī guà zhàng", "停息挂账"),
        ("zhai wu you hua", "债务优化"),
        ("扣扣", "qq"),
        ("企鹅", "qq"),
        ("🐧", "qq"),
        ("招h、jian行", "招行、建行"),
    ],
)
def test_homophone_pinyin_and_abbreviation_variants_map_to_canonical_terms(raw, expected):
    n = normalise(raw)
    assert n.text == expected
    assert n.evasion.variants or n.evasion.latin_splits


@pytest.mark.parametrize("raw", ["薇：cz573982a", "V：tingxi_2024", "vx abc123", "❤ abc_123"])
def test_one_letter_wechat_aliases_map_only_before_an_id(raw):
    assert normalise(raw).text.startswith("微信")


@pytest.mark.parametrize(
    "raw",
    ["婷婷很好看", "信用卡中心", "这家鞋商", "剩余期数", "树立威信", "vip会员", "中新网报道", "薇薇安"],
)
def test_real_words_are_not_mistaken_for_variants(raw):
    n = normalise(raw)
    assert n.text == raw.lower()
    assert not n.evasion.variants


def test_ids_and_links_are_left_intact():
    n = normalise("加V：zx_huifu_77 或看 xsk.ketang.pro/15")
    assert "zx_huifu_77" in n.text
    assert "xsk.ketang.pro/15" in n.text


def test_zero_width_characters_are_removed_and_counted():
    n = normalise("征\u200b信\u200b修\u200b复")
    assert n.text == "征信修复"
    assert n.evasion.zero_width == 3


def test_positions_map_back_to_the_original_text():
    raw = "先看看：婷·息·挂·帐 真的可以，ＶＸ：ＡＢＣ１２３"
    n = normalise(raw)
    i = n.text.index("停息挂账")
    assert n.quote(i, i + 4) == "婷·息·挂·帐"
    j = n.text.index("abc123")
    assert n.quote(j, j + 6) == "ＡＢＣ１２３"
    assert any(raw[v.start:v.end] == "婷·息·挂·帐" or v.original == "婷息挂帐" for v in n.evasion.variants) or \
        any(raw[s:e] == "婷·息·挂·帐" for s, e in n.evasion.splits)


def test_base_text_keeps_ids_that_the_final_text_may_rewrite():
    n = normalise("➕V❤：zx八八六七b")
    assert "zx八八六七b" in n.base


def test_newlines_and_segment_separators_are_never_joined_across():
    n = normalise(f"停息\n挂账 a{SEGMENT_SEPARATOR}好 的")
    assert "停息\n挂账" in n.text
    assert SEGMENT_SEPARATOR in n.text


def test_chinese_numerals_read_as_digits():
    assert chinese_digits_to_ascii("幺三八零六七五四二九一") == "13806754291"
    assert chinese_digits_to_ascii("壹贰叁肆伍陆柒捌玖〇") == "1234567890"
    assert chinese_digits_to_ascii("加我") == "加我"


def test_reviewers_can_extend_the_lexicon():
    lexicon = Lexicon.from_dict({
        "homophones": {"催": ["翠"]},
        "terms": [{"canonical": "催收", "pinyin": "cui shou"}, {"canonical": "口子", "variants": ["kz"]}],
    })
    assert normalise("翠收，kz", lexicon).text == "催收,口子"


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ({"canonical": "停息", "pinyin": "ting"}, "pinyin"),
        ({"canonical": "停息", "colour": "red"}, "unknown key"),
        ({"canonical": "停息", "regex": ["(ting)xi"]}, "regex"),
        ({"canonical": "停息", "variants": ["TX"]}, "lower-case"),
        ({"pinyin": "ting xi"}, "canonical"),
    ],
)
def test_invalid_lexicon_entries_are_rejected_naming_the_entry_and_key(entry, fragment):
    with pytest.raises(LexiconError) as err:
        Lexicon.from_dict({"terms": [entry]})
    assert fragment in str(err.value)
    assert "terms[0]" in str(err.value)
