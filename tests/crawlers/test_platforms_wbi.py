"""WBI signing against the worked example of the published algorithm (PLATFORMS.md, Bilibili)."""

from __future__ import annotations

import hashlib

import pytest

from crawlers.platforms.wbi import MIXIN_KEY_ENC_TAB, encode_query, mixin_key, sign_params

IMG_KEY = "7cd084941338484aae1ad9425b84077c"
SUB_KEY = "4932caff0ff746eab6f01bf08b70ac45"
MIXIN = "ea1db124af3c7062474693fa704f4ff8"


def test_table_is_a_permutation_of_64_positions():
    assert sorted(MIXIN_KEY_ENC_TAB) == list(range(64))


def test_mixin_key_worked_example():
    assert mixin_key(IMG_KEY, SUB_KEY) == MIXIN


def test_mixin_key_rejects_short_keys():
    with pytest.raises(ValueError, match="too short"):
        mixin_key("abc", "def")


def test_sign_params_worked_example():
    signed = sign_params({"foo": "114", "bar": "514", "zab": 1919810}, IMG_KEY, SUB_KEY, wts=1702204169)
    assert signed == {
        "bar": "514",
        "foo": "114",
        "wts": "1702204169",
        "zab": "1919810",
        "w_rid": "8f6f2b5b3d485fe1886cec6a0be8c5d4",
    }
    assert (
        encode_query(signed)
        == "bar=514&foo=114&wts=1702204169&zab=1919810&w_rid=8f6f2b5b3d485fe1886cec6a0be8c5d4"
    )


def test_sign_params_does_not_mutate_input():
    params = {"foo": "114"}
    sign_params(params, IMG_KEY, SUB_KEY, wts=1)
    assert params == {"foo": "114"}


def test_sign_params_uses_current_time_when_wts_absent():
    signed = sign_params({"a": "1"}, IMG_KEY, SUB_KEY)
    assert signed["wts"].isdigit() and int(signed["wts"]) > 1_700_000_000


def test_encoding_rules_non_ascii_space_and_dropped_characters():
    signed = sign_params(
        {"keyword": "停息挂账 协商", "foo": "one one four", "bar": "五一四", "odd": "a!b'c(d)e*f~g-h_i.j/k"},
        IMG_KEY,
        SUB_KEY,
        wts=1702204169,
    )
    # !'()* are dropped from values before signing; the query carries the cleaned values.
    assert signed["odd"] == "abcdef~g-h_i.j/k"
    expected_query = (
        "bar=%E4%BA%94%E4%B8%80%E5%9B%9B"
        "&foo=one%20one%20four"
        "&keyword=%E5%81%9C%E6%81%AF%E6%8C%82%E8%B4%A6%20%E5%8D%8F%E5%95%86"
        "&odd=abcdef~g-h_i.j%2Fk"
        "&wts=1702204169"
    )
    assert signed["w_rid"] == hashlib.md5((expected_query + MIXIN).encode()).hexdigest()
    assert encode_query(signed) == f"{expected_query}&w_rid={signed['w_rid']}"
    assert "+" not in encode_query(signed)


def test_documented_encoding_example():
    assert (
        encode_query(dict(sorted({"foo": "one one four", "bar": "五一四", "baz": 1919810}.items())))
        == "bar=%E4%BA%94%E4%B8%80%E5%9B%9B&baz=1919810&foo=one%20one%20four"
    )


def test_caller_supplied_wts_and_w_rid_are_replaced():
    signed = sign_params({"foo": "114", "wts": "5", "w_rid": "stale"}, IMG_KEY, SUB_KEY, wts=1702204169)
    assert signed["wts"] == "1702204169"
    assert signed["w_rid"] != "stale"
