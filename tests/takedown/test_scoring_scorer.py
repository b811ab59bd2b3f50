"""The scorer's public interface and behaviour: JSON shape, reasons quoting the original text, bad records,
and how evidence and negative contexts combine."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import shutil

import pytest

from takedown.scoring import Contact, Reason, Scorer, ScoreResult, get_scorer
from takedown.scoring.errors import RecordError
from takedown.scoring.rules import DEFAULT_RULES_PATH

PROMO = {
    "id": "p1",
    "platform": "douyin",
    "title": "信用卡逾期了别慌，可以申请婷·息·挂·帐",
    "desc": "专业团队一对一和银行谈，不成功不收费，私信或加V：TingXi_2024 咨询",
    "hashtags": ["停息挂账", "信用卡逾期"],
    "author_name": "债务规划老周",
    "author_bio": "专注个人债务规划8年",
    "comments": ["作者回复：可以的 已私你", "加了"],
}

FIELD_KEYS = {"title": "title", "desc": "desc", "author_name": "author_name", "bio": "author_bio"}


def record(**fields) -> dict:
    base = {"id": "r", "platform": "douyin", "title": "", "desc": "", "hashtags": [], "author_name": "",
            "author_bio": "", "comments": []}
    base.update(fields)
    return base


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return get_scorer()


def test_to_json_has_exactly_the_contract_keys(scorer):
    out = scorer.score_one(PROMO).to_json()
    assert set(out) == {"id", "score", "reasons", "contacts"}
    assert out["id"] == "p1"
    assert 0.0 <= out["score"] <= 1.0
    assert out["reasons"] and all(set(r) == {"rule", "category", "field", "text"} for r in out["reasons"])
    assert out["contacts"] == [{"type": "wechat", "value": "tingxi_2024"}]
    json.dumps(out, ensure_ascii=False)


def test_result_types_and_version(scorer):
    result = scorer.score_one(PROMO)
    assert isinstance(result, ScoreResult)
    assert all(isinstance(r, Reason) for r in result.reasons)
    assert all(isinstance(c, Contact) for c in result.contacts)
    assert re.fullmatch(r"model-[0-9a-f]{12}", scorer.version)  # the default scorer carries the learned model
    assert re.fullmatch(r"rules-[0-9a-f]{12}", Scorer().version)  # the rules alone
    assert result.model_version == scorer.version
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.reasons[0].text = "x"  # type: ignore[misc]
    assert Reason("r", "c", "f", "t") == Reason("r", "c", "f", "t", 0.0, "")


def test_get_scorer_is_cached():
    assert get_scorer() is get_scorer()


def test_version_changes_with_the_rules(tmp_path):
    rules = tmp_path / "rules.yaml"
    shutil.copy(DEFAULT_RULES_PATH, rules)
    rules.write_text(rules.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert Scorer(rules_path=rules).version != get_scorer().version


def test_reasons_quote_the_original_text_of_the_field_they_name(scorer):
    result = scorer.score_one(PROMO)
    for reason in result.reasons:
        assert reason.text
        if reason.field in ("hashtags", "comments"):
            assert any(reason.text in item for item in PROMO[reason.field])
        else:
            assert reason.text in PROMO[FIELD_KEYS[reason.field]], reason
        assert reason.explanation
    by_rule = {(r.rule, r.field): r.text for r in result.reasons}
    assert by_rule[("promise.stop_interest", "title")] == "婷·息·挂·帐"  # as written, not normalised
    assert ("promise.stop_interest", "hashtags") in by_rule
    assert any(r.rule == "contact.wechat" and "TingXi_2024" in r.text for r in result.reasons)
    assert any(r.category == "evasion" and r.field == "title" for r in result.reasons)
    assert any(r.rule == "diversion.readers_responding" and r.field == "comments" for r in result.reasons)


def test_positive_reasons_carry_a_complaint_sentence(scorer):
    for reason in scorer.score_one(PROMO).reasons:
        if reason.weight > 0:
            assert reason.explanation.endswith("。") and re.search(r"[\u4e00-\u9fff]", reason.explanation)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"hashtags": "停息挂账"}, "hashtags"),
        ({"comments": 5}, "comments"),
        ({"comments": ["ok", 3]}, "comments"),
        ({"title": 123}, "title"),
        ({"author_bio": ["a"]}, "author_bio"),
        ({"platform": 1}, "platform"),
    ],
)
def test_a_field_of_the_wrong_type_raises_record_error_naming_record_and_field(scorer, fields, field):
    with pytest.raises(RecordError) as err:
        scorer.score_one(record(id="bad-1", **fields))
    assert err.value.record_id == "bad-1"
    assert err.value.field == field
    assert "bad-1" in str(err.value) and field in str(err.value)
    assert isinstance(err.value, ValueError)


def test_a_record_that_is_not_an_object_or_has_a_bad_id_raises(scorer):
    with pytest.raises(RecordError):
        scorer.score_one(["not", "a", "record"])  # type: ignore[arg-type]
    with pytest.raises(RecordError) as err:
        scorer.score_one(record(id={"x": 1}))
    assert err.value.field == "id"


def test_score_many_keeps_going_and_returns_the_error_in_place(scorer):
    out = scorer.score_many([PROMO, record(id="bad", hashtags="x"), record(id="ok", title="今天天气不错")])
    assert [type(x) for x in out] == [ScoreResult, RecordError, ScoreResult]
    assert out[1].record_id == "bad"
    assert out[2].id == "ok"


def test_score_never_aborts_a_batch(scorer, caplog):
    bad = dict(PROMO, id="bad", hashtags="停息挂账", comments=7)
    with caplog.at_level(logging.WARNING):
        out = scorer.score([record(id="a", title="今天天气不错"), bad, PROMO])
    assert [r.id for r in out] == ["a", "bad", "p1"]
    assert out[1].score > 0.5  # scored from the fields that are usable
    assert "bad" in caplog.text and "hashtags" in caplog.text


def test_missing_keys_are_empty_and_unknown_keys_ignored(scorer):
    out = scorer.score_one({"id": "m", "desc": "今天天气不错", "likes": 3, "label": 1, "hashtags": None})
    assert out.id == "m" and out.score < 0.3
    assert scorer.score_one({}).id == ""


def test_a_batch_whose_only_new_field_values_are_empty_is_scored():
    scorer = Scorer(model=get_scorer().model)  # (fresh caches: the second batch brings only an empty comment)
    first = scorer.score([record(id="a", title="协商还款找我们", desc="停息挂账")])[0]
    again = scorer.score([record(id="b", title="协商还款找我们", desc="停息挂账", comments=[""])])[0]
    assert again.score == first.score
    assert scorer.score([record(id="c")])[0].score < 0.5


def test_strong_candidates_keep_their_order_instead_of_tying_at_one(scorer):
    strong = scorer.score_one(PROMO).score
    other = scorer.score_one(PROMO | {"author_bio": "专注停息挂账、征信修复、反催收8年，不成功不收费，V：TingXi_2024",
                                      "hashtags": ["停息挂账", "征信修复", "反催收", "债务优化"]}).score
    assert 0.9999 < strong <= 1.0 and 0.9999 < other <= 1.0
    assert strong != other  # rounded to four decimals, both were 1.0 and the queue could not order them


def test_scoring_is_deterministic(scorer):
    assert scorer.score_one(PROMO) == scorer.score_one(PROMO)


def test_a_promotion_scores_high_and_its_warning_counterpart_low(scorer):
    promo = scorer.score_one(PROMO).score
    warning = scorer.score_one(record(
        title="【反诈】“停息挂账 不成功不收费”都是骗局",
        desc="所谓“专业团队一对一和银行谈、不成功不收费”，收了钱就失联。协商是免费的，直接拨打卡背面电话。",
        author_name="城东派出所", author_bio="平安城东 反诈宣传",
    )).score
    assert promo > 0.9
    assert warning < 0.2


def test_an_official_channel_using_the_same_words_scores_low(scorer):
    official = scorer.score_one(record(
        title="个性化分期、延期还款官方申请入口",
        desc="如遇还款困难，可在App-我的-在线客服申请延期还款或个性化分期，全程免费，本行从未委托任何第三方代办。",
        author_name="某银行信用卡中心官方", author_bio="官方认证账号",
    ))
    assert official.score < 0.3


def test_an_official_post_citing_its_own_help_centre_link_is_not_a_private_contact(scorer):
    desc = ("安和金融消保部提醒：协商还款只有三个官方渠道——App在线客服、官网帮助中心 help.anhe-jr.com、"
            "客服热线 400-690-7713。凡是要您加私人微信、先交费的，都不是我们！")
    official = record(title="协商还款请认准官方渠道", desc=desc, author_name="安和金融消保")
    features = scorer.features(official)
    assert features["private_contact"] == 0 and features["business_line"] > 0
    assert features["official"] > 0
    assert Contact("url", "help.anhe-jr.com") in scorer.score_one(official).contacts
    # the same link in a post that does not speak officially is the poster's own channel
    promo = record(title="协商还款找我们", desc="网贷信用卡逾期协商，停息挂账，详情看 help.anhe-jr.com")
    assert scorer.features(promo)["private_contact"] > 0


def test_a_warning_that_also_gives_a_private_contact_is_still_suspicious(scorer):
    out = scorer.score_one(record(
        title="别再被“停息挂账”中介骗了！",
        desc="很多中介收钱就跑。真正能帮你跟银行谈下来的，不成功不收费，需要的加我微信 zhenggui_lvshi 免费评估。",
    ))
    assert out.score > 0.6
    assert Contact("wechat", "zhenggui_lvshi") in out.contacts


def test_a_scam_contact_quoted_in_a_warning_is_reported_but_not_held_against_it(scorer):
    out = scorer.score_one(record(
        title="银行提醒：冒充“协商专员”的微信号",
        desc="近期有不法分子使用微信号 xieshang_zhuanyuan 冒充我行协商专员，以办理停息挂账为名骗取费用，请勿添加。",
        author_name="某银行信用卡中心", author_bio="官方认证账号",
    ))
    assert out.score < 0.3
    assert Contact("wechat", "xieshang_zhuanyuan") in out.contacts
    assert any(r.rule == "contact.quoted_in_warning" for r in out.reasons)


def test_what_the_scammer_demanded_is_reported_speech_not_an_invitation(scorer):
    # "要求用户添加QQ": the warning reports the scammer's words; its own sentence does not invite contact
    out = scorer.score_one(record(
        title="警惕假冒客服",
        desc="近期有不法分子冒充我司协商专员，以“内部减免通道”为由，要求用户添加QQ 2718394065办理停息，并收取手续费。"
             "我司从未委托任何第三方办理减免。",
        author_name="某分期官方账号",
    ))
    assert out.score < 0.3
    assert Contact("qq", "2718394065") in out.contacts


def test_a_contact_from_a_call_the_poster_reports_is_not_the_posters(scorer):
    out = scorer.score_one(record(
        title="这种电话千万别信",
        desc="最近不少人接到“信用卡协商中心”的电话，说能帮你减免利息，让你加一个微信 xyk_center88 办理。"
             "提醒：银行的协商只走官方客服热线，不会让你加私人微信，接到直接挂。",
        author_name="社区反诈宣传",
    ))
    assert Contact("wechat", "xyk_center88") in out.contacts
    assert out.score < 0.5
    assert any(r.rule == "contact.quoted_in_warning" for r in out.reasons)


@pytest.mark.parametrize("desc", [
    "去年有个叫“安心债务”的号说能停息分期，我加了他微信 ax_jinrong66 签了合同，先交了5800服务费。两个月什么都没办。",
    "老爸手机上刷到“信用卡逾期可全免”，还存了个电话：一三九 零八一二 四四七六，打过去要先交保证金，被骗了。",
    "我假装负债咨询了8家，6家要先付费。其中一家的客服 QQ 3 2 6 4 5 8 1 9 0 直接说“交2980包你分60期”。",
], ids=["added-his", "saw-and-saved", "one-of-them"])
def test_a_scammers_contact_in_a_victims_story_is_not_the_posters(scorer, desc):
    story = record(title="被骗经历，大家避雷", desc=desc)
    out = scorer.score_one(story)
    assert out.contacts
    assert any(r.rule == "contact.quoted_in_warning" for r in out.reasons)
    assert scorer.features(story)["private_contact"] == 0


@pytest.mark.parametrize("desc", [
    "加了他微信签了合同，转了6800。再打 136 5129 8804 已经是空号。我已经报警了。",
    "该公司在社交平台宣传“征信修复 7天出结果”，报名链接为 zxxf-kuai.com/apply。经查系虚假异议。",
    "本期逐帧拆解一条广告，落地页地址 h5.jieya-jisuan.com/Lead?ch=dy07，填了假信息十分钟后就接到电话。",
], ids=["dead-number", "that-company", "landing-page"])
def test_a_contact_the_poster_exposes_is_not_the_posters(scorer, desc):
    story = record(title="这些都是骗局，大家避雷", desc=desc)
    assert scorer.score_one(story).contacts
    assert scorer.features(story)["private_contact"] == 0


def test_numbers_listed_in_the_comments_to_warn_against_are_not_the_posters(scorer):
    warning = dict(title="被骗的老铁把号码报出来，大家避开",
                   desc="前几天被“债务协商”骗了3600。我把大家报的号码整理一下放评论，别再有人上当了。")
    comments = ["我这个是微信 ZXyouhua_66，收了2800", "同一伙人，话术一模一样"]
    features = scorer.features(record(**warning, comments=comments))
    assert features["private_contact"] == 0 and features["third_party_contact"] == 0
    # the same pointer with an invitation is the poster's own contact
    promo = dict(title="感谢王律师！", desc="比那些骗子公司靠谱多了。王律师电话我放评论区了，有需要的自己去打。")
    assert scorer.features(record(**promo, comments=["王律师电话：153 8820 6437"]))["private_contact"] > 0


def test_an_invitation_keeps_the_contact_the_posters_even_beside_a_warning_word(scorer):
    promo = record(title="别再被那些代理维权骗了！",
                   desc="我们公司实体办公，先协商后收费。被骗过的朋友更要找对人，私信我或者直接打 187 2365 0941。")
    assert scorer.features(promo)["private_contact"] > 0


def test_a_promoter_who_hands_over_the_link_is_not_reporting_it(scorer):
    story = record(
        title="花了2000块找人上岸，结果……",
        desc="一开始我也怕被骗，网上说这种都是骗子。但他们先干活后收钱，两周就谈下来了。"
             "不是所有人都是骗子，找对人很重要。我把他们的链接放这：sourl.cn/Ab3dE9",
    )
    out = scorer.score_one(story)
    assert Contact("url", "sourl.cn/Ab3dE9") in out.contacts
    assert not any(r.rule == "contact.quoted_in_warning" for r in out.reasons)
    assert scorer.features(story)["private_contact"] > 0


def test_a_contact_reported_as_someone_elses_in_a_news_report_is_not_held_against_it(scorer):
    out = scorer.score_one(record(
        title="记者暗访“债务优化”公司：交2%服务费，承诺“包上岸”",
        desc="记者以负债者身份，添加了某短视频账号留下的微信 youhua_8899。对方自称“债务规划师”，称只需支付负债总额2%的"
             "服务费，就能让银行“停息挂账、分60期”。律师表示，这种行为可能涉嫌诈骗。",
    ))
    assert out.score < 0.3
    assert Contact("wechat", "youhua_8899") in out.contacts
    # the same words as the poster's own invitation are an advert
    ad = scorer.score_one(record(
        title="负债的看过来，交2%服务费包上岸",
        desc="专业债务规划师，只需支付负债总额2%的服务费，就能让银行停息挂账、分60期。加我微信 youhua_8899。",
    ))
    assert ad.score > 0.9


def test_a_comment_addressed_to_the_author_is_not_the_authors(scorer):
    warning = dict(title="在信用卡中心上班5年，说点大实话",
                   desc="那些说“我们有内部渠道，可以帮你停息挂账”的，都是假的。符合条件的，你本人打客服说清楚情况就能申请。",
                   author_bio="前信用卡中心员工")
    # "博主说的…": a commenter (an agent touting) talks to the author; the author's own pinned comment is hers
    other = scorer.score_one(record(**warning, comments=["博主说的不全对，我们团队真的能办 v：xs8899k"]))
    pinned = scorer.score_one(record(**warning, comments=["作者置顶：真要办的找我们团队，v：xs8899k"]))
    alone = scorer.score_one(record(**warning))
    assert alone.score < other.score < pinned.score
    assert any(r.rule == "contact.third_party_comment" for r in other.reasons)
    assert not any(r.rule == "contact.third_party_comment" for r in pinned.reasons)
    assert Contact("wechat", "xs8899k") in other.contacts and Contact("wechat", "xs8899k") in pinned.contacts


@pytest.mark.parametrize("pinned", ["🔝作者：需要处理信用卡网贷逾期的兄弟，v：xs8899k",
                                    "📌置顶 需要处理信用卡网贷逾期的兄弟，v：xs8899k",
                                    "【置顶】需要处理信用卡网贷逾期的兄弟，v：xs8899k"])
def test_a_pinned_author_comment_behind_a_mark_is_the_authors(scorer, pinned):
    diary = dict(title="下班路上", desc="今天路好堵，记录一下", comments=[pinned, "路好堵", "哥你干啥的"])
    assert scorer.features(record(**diary))["private_contact"] > 0
    assert scorer.score_one(record(**diary)).score > 0.5


def test_a_contact_in_an_unrelated_post_is_not_enough(scorer):
    out = scorer.score_one(record(title="手机屏幕修复 当天取", desc="外屏碎了修复只要80，电话：158 6623 1190"))
    assert out.score < 0.5
    assert out.contacts == [Contact("phone", "15866231190")]


def test_signals_only_in_the_bio_are_found(scorer):
    out = scorer.score_one(record(title="今天的晚霞好美", desc="下班路上拍的。",
                                  author_bio="专业停息挂账｜网贷协商 v：linxi_xieshang"))
    assert out.score > 0.6
    assert {r.field for r in out.reasons if r.weight > 0} == {"bio"}


def test_evasion_is_seen_through_and_itself_a_signal(scorer):
    plain = scorer.score_one(record(desc="信用卡逾期可以停息挂账，联系我"))
    evasive = scorer.score_one(record(desc="xyk yq 可以 婷 息 挂 帐，联 系 我"))
    assert evasive.score >= plain.score > 0.9  # read as the plain words
    # the evasion is remembered: a reason to quote, a feature, and a higher rule logit (weighed by the stack)
    assert any(r.category == "evasion" for r in evasive.reasons)
    assert not any(r.category == "evasion" for r in plain.reasons)
    assert scorer.features(record(desc="xyk yq 可以 婷 息 挂 帐，联 系 我"))["evasion"] > 0
    rule_plain = scorer.logits(scorer.analyse(record(desc="信用卡逾期可以停息挂账，联系我")))[0]
    rule_evasive = scorer.logits(scorer.analyse(record(desc="xyk yq 可以 婷 息 挂 帐，联 系 我")))[0]
    assert rule_evasive > rule_plain
