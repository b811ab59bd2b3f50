"""The WBI implementation against the published worked example and encoding rules."""

from __future__ import annotations

from emulator import wbi

IMG = "7cd084941338484aae1ad9425b84077c"
SUB = "4932caff0ff746eab6f01bf08b70ac45"


def test_mixin_key_worked_example():
    assert wbi.mixin_key(IMG, SUB) == "ea1db124af3c7062474693fa704f4ff8"


def test_w_rid_worked_example():
    signed = wbi.sign({"foo": "114", "bar": "514", "zab": 1919810}, IMG, SUB, wts=1702204169)
    assert wbi.canonical_query({k: v for k, v in signed.items() if k != "w_rid"}) == (
        "bar=514&foo=114&wts=1702204169&zab=1919810"
    )
    assert signed["w_rid"] == "8f6f2b5b3d485fe1886cec6a0be8c5d4"
    assert wbi.verify(signed, wbi.mixin_key(IMG, SUB))


def test_encoding_upper_case_escapes_and_space_as_percent20():
    query = wbi.canonical_query({"foo": "one one four", "bar": "五一四", "baz": "1919810"})
    assert query == "bar=%E4%BA%94%E4%B8%80%E5%9B%9B&baz=1919810&foo=one%20one%20four"


def test_dropped_characters_do_not_change_the_signature():
    mixin = wbi.mixin_key(IMG, SUB)
    plain = wbi.w_rid({"keyword": "债务优化", "wts": "1"}, mixin)
    assert wbi.w_rid({"keyword": "债务(优化)!*'", "wts": "1"}, mixin) == plain


def test_verify_rejects_missing_or_tampered_signatures():
    mixin = wbi.mixin_key(IMG, SUB)
    signed = wbi.sign({"keyword": "停息挂账", "page": 2}, IMG, SUB, wts=1700000000)
    assert wbi.verify(signed, mixin)
    assert not wbi.verify({**signed, "page": "3"}, mixin)
    assert not wbi.verify({k: v for k, v in signed.items() if k != "w_rid"}, mixin)
    assert not wbi.verify({k: v for k, v in signed.items() if k != "wts"}, mixin)
    assert not wbi.verify(signed, wbi.mixin_key(SUB, IMG))


def test_keys_are_32_hex_and_depend_on_the_seed():
    img, sub = wbi.keys_for_seed(7)
    assert len(img) == len(sub) == 32 and int(img, 16) >= 0 and int(sub, 16) >= 0
    assert wbi.keys_for_seed(7) == (img, sub)
    assert wbi.keys_for_seed(8) != (img, sub)
