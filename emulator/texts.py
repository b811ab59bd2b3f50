"""Text material for the synthetic corpus: vocabularies, per-category templates, contacts and evasion tricks.

Everything here is pure data plus small composition helpers driven by a caller-supplied `random.Random`, so the
corpus stays deterministic. The labelled training file is used as seed text (mutated: contacts, brands and
amounts swapped, keywords woven in); the templates below add variety so a large corpus does not repeat itself.
Every identifier produced here is invented.
"""

from __future__ import annotations

import json
import random
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

CORPUS_TRAIN = Path(__file__).resolve().parents[1] / "data" / "corpus-train.jsonl"

# DOMAIN.md's seed keywords: the emulator must serve plenty of results for each.
SEED_KEYWORDS: tuple[str, ...] = (
    "债务优化", "征信修复", "停息挂账", "协商还款", "个性化分期", "债务重组", "债务托管", "债务协商",
    "债务置换", "债务清零", "延期还款", "减免息费", "屏蔽催收", "停催", "反催收", "代理投诉", "征信洗白",
    "逾期上岸", "负债上岸", "全额退保", "投顾退费", "网贷逾期处理", "信用卡逾期协商",
)
# Broader words people also search; searchable without weaving like the seed keywords.
GENERIC_KEYWORDS: tuple[str, ...] = ("网贷逾期", "信用卡逾期", "催收", "负债", "上岸", "征信", "逾期")
VOCABULARY: tuple[str, ...] = SEED_KEYWORDS + GENERIC_KEYWORDS

# Keywords that tend to appear together in one post (a promo rarely names a single service).
KEYWORD_FAMILIES: tuple[tuple[str, ...], ...] = (
    ("停息挂账", "个性化分期", "协商还款", "延期还款", "信用卡逾期协商", "减免息费"),
    ("债务优化", "债务重组", "债务协商", "债务托管", "债务置换", "债务清零", "负债上岸"),
    ("征信修复", "征信洗白", "逾期上岸", "网贷逾期处理"),
    ("屏蔽催收", "停催", "反催收", "代理投诉"),
    ("全额退保", "投顾退费", "代理投诉", "减免息费"),
)

LENDERS: tuple[str, ...] = (
    "美团", "借呗", "花呗", "微粒贷", "招联", "信也", "奇富", "安逸花", "分期乐", "京东金条", "度小满",
    "拍拍贷", "小赢卡贷", "平安普惠", "360借条", "众安", "宜人贷", "你我贷",
)
BANKS: tuple[str, ...] = (
    "招商银行", "浦发银行", "广发银行", "交通银行", "中信银行", "平安银行", "建设银行", "工商银行",
    "民生银行", "光大银行", "兴业银行", "华夏银行",
)
BRANDS: tuple[str, ...] = LENDERS + BANKS

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔汤"
CITIES: tuple[str, ...] = (
    "上海", "广州", "深圳", "杭州", "成都", "武汉", "长沙", "郑州", "西安", "南京", "重庆", "苏州", "合肥",
    "济南", "福州", "南宁", "昆明", "石家庄", "沈阳", "天津", "东莞", "佛山", "厦门", "宁波",
)
PROVINCES: tuple[str, ...] = (
    "广东", "浙江", "江苏", "山东", "河南", "四川", "湖北", "湖南", "福建", "上海", "北京", "河北", "安徽",
    "江西", "广西", "重庆", "陕西", "辽宁", "云南", "贵州", "山西", "黑龙江", "吉林", "天津", "海南",
)
NICK_WORDS: tuple[str, ...] = (
    "小鹿", "阿杰", "柚子", "橘子", "大壮", "小楠", "阿莫", "老马", "静姐", "小雅", "阿强", "小七", "老陆",
    "豆豆", "小满", "阿飞", "木木", "团子", "星星", "小胖", "阿珍", "老周", "安安", "可乐", "西瓜", "小北",
)
PERSONAS: tuple[str, ...] = (
    "从业15年的资深从业者", "前银行信贷经理", "债务规划师", "前催收主管", "十年法务", "资深协商顾问",
    "持证理财规划师", "前网贷风控",
)

# Ways a category is assigned to an author (share of authors). ~35 % of posts promote.
CATEGORY_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("promo_direct", 0.08), ("promo_story", 0.06), ("promo_evasive", 0.11), ("promo_recruit", 0.04),
    ("promo_course", 0.06),
    ("warning", 0.14), ("news", 0.09), ("victim", 0.13), ("unrelated", 0.09), ("official", 0.07),
    ("lawyer_edu", 0.07), ("collection", 0.06),
)
POSITIVE_CATEGORIES = frozenset(c for c, _ in CATEGORY_WEIGHTS if c.startswith("promo_"))


def label_of(category: str) -> int:
    return 1 if category in POSITIVE_CATEGORIES else 0


# --------------------------------------------------------------------------------------------- seed text


@lru_cache(maxsize=1)
def seed_records() -> dict[str, list[dict[str, Any]]]:
    """The labelled training records grouped by category (empty if the file is missing)."""
    by_cat: dict[str, list[dict[str, Any]]] = {}
    if not CORPUS_TRAIN.exists():
        return by_cat
    with CORPUS_TRAIN.open(encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if line:
                rec = json.loads(line)
                by_cat.setdefault(rec["category"], []).append(rec)
    return by_cat


# ------------------------------------------------------------------------------------------------ contacts

_WX_STEMS = (
    "zx", "xf", "tx", "gz", "fz", "shangan", "tingxi", "zhaiwu", "youhua", "xieshang", "fenqi", "lvshi",
    "fawu", "guwen", "xyk", "wd", "huifu", "jianmian", "tuibao", "laoshi", "help", "sa",
)
CN_DIGITS = "零幺二三四五六七八九"
CN_DIGITS_FORMAL = "零壹贰叁肆伍陆柒捌玖"
CIRCLED = "⓪①②③④⑤⑥⑦⑧⑨"


def new_contacts(rng: random.Random) -> dict[str, str]:
    """One operator's contact set: a WeChat id, a phone, a QQ number and a landing URL (all invented)."""
    stem = rng.choice(_WX_STEMS)
    sep = rng.choice(("", "_", "-", ""))
    tail = str(rng.randint(1, 99999)) if rng.random() < 0.8 else rng.choice(("go", "vip", "pro", "a", "b"))
    wechat = f"{stem}{sep}{rng.choice(_WX_STEMS)}{tail}" if rng.random() < 0.5 else f"{stem}{sep}{tail}"
    phone = "1" + rng.choice("35789") + "".join(rng.choice("0123456789") for _ in range(9))
    qq = str(rng.randint(10_000_000, 3_999_999_999))
    url = f"{rng.choice(_WX_STEMS)}{rng.randint(1, 999)}.{rng.choice(('cn', 'cc', 'top', 'net'))}/{rng.choice('abcdefghjkmnpqrstuvwxyz')}{rng.randint(1, 99)}"
    return {"wechat": wechat, "phone": phone, "qq": qq, "url": url}


def contact_line(rng: random.Random, kind: str, value: str) -> str:
    """A plain call to contact, the way open promotions write it."""
    if kind == "wechat":
        return rng.choice(("微信：{v}", "加V：{v}", "vx：{v}", "咨询微信 {v}", "➕V {v}", "顾问微信：{v}", "V信：{v}")).format(v=value)
    if kind == "phone":
        spaced = f"{value[:3]} {value[3:7]} {value[7:]}"
        return rng.choice(("电话：{v}", "📞{v}", "热线 {s}", "咨询电话 {s}", "手机同微：{v}")).format(v=value, s=spaced)
    if kind == "qq":
        return rng.choice(("QQ：{v}", "咨询QQ群：{v}", "Q：{v}", "扣扣 {v}")).format(v=value)
    return rng.choice(("了解详情：{v}", "官网 {v}", "自助评估：{v}", "链接：{v}")).format(v=value)


def _digits_disguised(rng: random.Random, digits: str) -> str:
    style = rng.randrange(5)
    if style == 0:
        return "".join(CN_DIGITS[int(d)] for d in digits)
    if style == 1:
        return " ".join(CN_DIGITS_FORMAL[int(d)] for d in digits)
    if style == 2:
        return "".join(CIRCLED[int(d)] for d in digits)
    if style == 3:
        return " ".join(digits)
    # chunks with a symbol between, e.g. 139 ✘ 0427 ✘ 6618
    sep = rng.choice((" - ", " ✘ ", " ／ ", " 丨 "))
    return sep.join((digits[:3], digits[3:7], digits[7:])) if len(digits) >= 9 else sep.join(digits)


def _mixed_id(rng: random.Random, value: str) -> str:
    out = []
    for ch in value:
        if ch.isdigit() and rng.random() < 0.6:
            out.append(CN_DIGITS[int(ch)])
        else:
            out.append(ch.upper() if rng.random() < 0.2 else ch)
    return (" " if rng.random() < 0.5 else "").join(out)


def evasive_contact_line(rng: random.Random, kind: str, value: str) -> str:
    """A disguised call to contact: homophones for 微信, numerals for digits, symbols between characters."""
    if kind == "wechat":
        lead = rng.choice(("➕ 薇：", "V ❤ 信：", "威 信：", "加 ✚ 薇：", "卫星号：", "绿泡泡：", "➕🛰️：", "vx：", "🆔："))
        return lead + _mixed_id(rng, value)
    if kind == "phone":
        return rng.choice(("📞：", "☎ ", "d📞 ", "号：", "电 话：")) + _digits_disguised(rng, value)
    if kind == "qq":
        return rng.choice(("🐧 ", "扣扣：", "企 鹅 ", "Q Q：")) + _digits_disguised(rng, value)
    return "链接：" + value.replace(".", "点")


def normalise_contact(kind: str, value: str) -> dict[str, str]:
    if kind in ("phone", "qq"):
        value = re.sub(r"\D", "", value)
    elif kind == "wechat":
        value = value.lower()
    return {"type": kind, "value": value}


# ------------------------------------------------------------------------------------------------- evasion

_HOMOPHONES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("微信", ("薇信", "V信", "vx", "威信", "卫星")),
    ("催收", ("崔收", "摧收", "cs", "🅲🅲")),
    ("征信", ("征xin", "zx", "正信", "征x", "🅩🅧")),
    ("逾期", ("yq", "yu期", "逾qi", "鱼期")),
    ("信用卡", ("xyk", "信用k", "信用🃏", "xing用卡")),
    ("网贷", ("wd", "网d", "往dai", "网🅳")),
    ("停息挂账", ("婷息挂帐", "t.x.g.z", "ting息gua账", "停·息·挂·账")),
    ("协商", ("xie商", "协尚", "xs", "协🤝商")),
    ("负债", ("fz", "负zhai", "f z")),
    ("分期", ("分qi", "fq", "分🉑期")),
    ("上岸", ("上🚢", "上🏝", "上an")),
    ("借呗", ("借bei", "jb")),
    ("花呗", ("花bei", "hb")),
    ("美团", ("美tuan", "mt")),
    ("减免", ("减mian", "jian免")),
    ("债务", ("zhai务", "债🉐务")),
    ("优化", ("优hua", "you化")),
)


def disguise(rng: random.Random, text: str, strength: float = 0.7) -> str:
    """Rewrite text the way evasive posts do: homophones, pinyin, emoji between characters."""
    for word, subs in _HOMOPHONES:
        if word in text and rng.random() < strength:
            text = text.replace(word, rng.choice(subs))
    if rng.random() < 0.35:
        # Space out one short line entirely ("正 信 有 问 题 的 进").
        lines = text.split("\n")
        k = rng.randrange(len(lines))
        if len(lines[k]) <= 24:
            lines[k] = " ".join(ch for ch in lines[k] if ch != " ")
        text = "\n".join(lines)
    elif rng.random() < 0.3:
        sym = rng.choice(("💡", "·", ".", "🌸", "🔥"))
        text = re.sub(r"(个性化分期|协商还款|停息挂账)", lambda m: sym.join(m.group(1)), text)
    return text


# ---------------------------------------------------------------------------------------------- templates

def _amount(rng: random.Random) -> str:
    return f"{rng.choice((8, 12, 15, 23, 27, 31, 38, 42, 47, 56, 63, 80, 96, 120))}万"


FEE_MODELS = (
    "前期只收{fee}元材料费", "按负债金额的{pct}%收服务费", "2000元包上岸", "3210收费模式，先办事后收费",
    "维权不成功不收费", "签约后按减免金额的{pct2}%收费", "首月{fee}元，成功后再付尾款",
)
CTAS = (
    "私信我", "看主页", "评论区扣1", "主页有联系方式", "留下你的负债情况，我来帮你分析", "评论区留言“上岸”",
    "点头像进主页", "输入您的负债情况，免费出方案",
)
SLOGANS = (
    "债务清零", "全额退保", "征信洗白", "停息挂账", "债务优化", "投顾退费", "欠银行的钱可先不还",
    "退保通道已打开", "维权不成功不收费", "各大行已开通延迟还款通道", "信用卡协商分期有一个万能电话",
)

TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "promo_direct": {
        "title": (
            "{kw}｜{brand}、信用卡逾期的朋友看过来", "负债{amount}还不上？{kw}了解一下",
            "{persona}告诉你：{kw}到底怎么做", "{kw}正规流程，{n}个工作日出方案",
            "信用卡网贷逾期，可以申请{kw}", "{brand}逾期别慌，{kw}专业团队帮你谈", "负债突围，教你一招上岸",
            "想要翻身的看过来：{kw}+{kw2}", "陷入债务泥潭？主动{kw}重获生机", "{kw}成功案例：负债{amount}，分{months}期",
            "停息挂账&个性化分期，{kw}一站式办理", "<必看>{month}月{kw}通道已开通", "{bank}已开通延期还款通道，{kw}抓紧",
            "负债>{amount}的朋友，{kw}还来得及", "{kw}，{brand}、{brand2}都能谈",
        ),
        "body": (
            "我们团队专注{kw}{years}年，已帮助{n}000+负债朋友完成{kw2}。信用卡、网贷（{brand}、{brand2}等）都可以处理，{fee_model}。",
            "案例：负债{amount}，{nplat}个网贷平台+{ncards}张信用卡，经协商减免罚息和违约金后分{years2}年偿还，每月压力降到原来的三分之一。",
            "逾期被催收爆通讯录？我们可以帮你{kw}，停止催收，{kw2}，不成功不收费。",
            "{month}月新政策：{kw}通道已开通，符合条件的可以申请停息挂账、最长分60期。名额有限，先到先办。",
            "你好，朋友。如果你正在看这条视频，也许你已经很久没睡过一个好觉了。信用卡、网贷、{brand}，一个窟窿接一个窟窿。我想告诉你：债务问题是可以解决的，{kw}、{kw2}我们都做。",
            "{brand}、{bank}信用卡逾期的，可以帮你申请一次性减免结清，最高减免{pct3}%！真实案例截图私信发你。",
            "专业{kw}，{persona}一对一出方案：停息挂账、个性化分期、减免息费，{fee_model}。",
        ),
    },
    "promo_story": {
        "title": (
            "负债{amount}的我，终于上岸了", "{age}后负债{amount} 自述", "做生意失败欠了{amount}，这是我的{kw}经历",
            "从天天被催到{kw}成功，我只做对了一件事", "一个{job}的负债自述", "欠了{nplat}个网贷平台，现在每月只还{monthly}",
            "{kw}上岸记录 第{n}天", "老婆带孩子回了娘家，我用{months}个月爬了出来",
        ),
        "body": (
            "{year}年{cause}，欠了信用卡加网贷{amount}，每天催收电话打爆，{low}……后来朋友介绍了一个团队帮我谈，现在信用卡全部停息挂账分了{months}期，网贷也减免了一大半利息。兄弟们真的别硬扛，有同样困境的{cta}，我把对接老师推给你。",
            "{cause}之后，{brand}、{brand2}、信用卡全逾期了，{low}。直到刷到一位做{kw}的老师，{kw2}办下来了，现在每个月还{monthly}，一切都在变好。想知道我是怎么处理的，{cta}。",
            "{year}年{cause}，背了{amount}。那两年白天上班晚上跑外卖，还是还不上。后来找了专业的人帮着{kw}，分了{years2}年，现在能喘口气了。遇到难处的朋友可以联系我。",
        ),
    },
    "promo_evasive": {
        "title": (
            "征信有问题的进", "被催收爆了通讯录？", "征.信.花.了 房贷被拒？", "信用卡逾期 怎么办", "{brand}逾期的看过来",
            "网贷逾期不用慌", "上岸经验分享", "停息挂账 了解一下", "负债的朋友看这里", "⚠️不是广告", "🈲 别划走",
            "债务太多喘不过气？", "协商还款 了解一下", "暴力催收克星",
        ),
        "body": (
            "查询多 / 逾期 / 黑名单 / 都能优化\n{cta_ev}",
            "专业反催收，当天停催\n借呗 花呗 美团 {brand} 都能处理\n{cta_ev}",
            "信用卡 网贷 都可以 个性化分期 最长5年\n{cta_ev}",
            "负债的看过来\n信用卡 / 网贷 / 车贷 / 都可以帮你协商\n{cta_ev}",
            "还不上的先别慌\n能停息 能挂账 能减免\n{cta_ev}",
            "征信有逾期记录的可以修复\n房贷车贷被拒的速来\n{cta_ev}",
            "不方便多说，懂的都懂。{kw}的事私聊会被屏蔽\n{cta_ev}",
        ),
    },
    "promo_recruit": {
        "title": (
            "招募{kw}顾问｜底薪+提成 月入过万", "推荐一位负债客户奖励{reward}元", "{city}法务公司招聘协商专员{n}名",
            "做{kw}团队长{years}年，现在招学徒", "副业：转介绍负债客户，单单有佣金", "招代理｜{kw}项目 全国可做",
        ),
        "body": (
            "公司主营个人信用卡、网贷{kw}，因业务扩张招聘协商顾问{n}名。有电销、金融、催收经验优先，底薪+提成+季度奖。",
            "身边有欠信用卡、网贷的亲戚朋友，推荐给我们，签单奖励{reward}元/单，多推多得💰",
            "带徒弟，从获客到签单全流程教，出师后可以挂靠我们团队接单，分成五五。不收学费，但要能吃苦。",
            "{kw}、{kw2}项目招城市代理，提供话术、系统、案源，零基础可做，轻松月入3万+。",
        ),
    },
    "promo_course": {
        "title": (
            "《{kw}全攻略》视频课", "{kw}话术｜直接照念就行", "【资料】{n}家平台投诉入口+投诉信模板",
            "自己做{kw}，{n}节课教会你", "停催话术：背下这三句，催收不敢再打", "{kw}实操训练营 第{n}期招生",
        ),
        "body": (
            "共{n}节，手把手教你写申请、打电话、应对拒绝，学完能自己办也能帮亲友办。售价{price}元。",
            "把我和{n}家银行客服的通话整理成了逐字稿：什么时候说困难、什么时候提方案、被拒后怎么二次协商，全在里面📝",
            "整理了{n}家网贷平台投诉入口、客服工号、投诉关键词，附{kw}投诉信范文，打包{price}元。",
            "第一句：我在录音。第二句：……后面两句和完整版{n}句话术，在我的付费专栏，{cta}。",
        ),
    },
    "warning": {
        "title": (
            "警惕“{kw}”骗局！", "“{kw}”中介的五步套路，看完不上当", "亲身被骗｜交了{fee}“服务费”啥也没办成",
            "认准官方！这些才是正规{kw}渠道", "所谓“{kw}”，其实是这样骗你的", "被“{kw}”中介骗走身份证照片之后…",
            "刷到“{slogan}”的视频？先别急着加微信", "{kw}要收费？都是套路",
        ),
        "body": (
            "第一步：短视频发“上岸故事”，评论区扣1引流；第二步：加微信后制造焦虑；第三步：收“前期费”“材料费”；第四步：教你停止还款；第五步：谈不下来就拉黑。真正的协商，你自己打银行电话就能做，免费的。",
            "去年信用卡逾期，刷到一个说能“{kw}、分60期”的博主，加微信交了{fee}，说3个工作日出结果。一个月后直接把我拉黑😭 后来打银行电话，人家说根本没人联系过他们。",
            "他们会说“{slogan}”“{slogan2}”，然后让你交钱、交身份证、交银行卡。征信是修不了的，逾期记录只能按规定期限消除。",
            "信用卡：卡背面客服电话、银行官方App；网贷/消费贷：平台App内客服；征信异议：征信中心或放贷机构官方渠道。以上全部免费。收费的，都不是。",
            "金融监管部门多次提示：以“{kw}”为名的代理维权往往收取高额费用，还可能泄露个人信息。有困难请直接联系{brand}官方客服。",
        ),
    },
    "news": {
        "title": (
            "警方捣毁一“{kw}”团伙 涉案超{money}万元", "五部门提示：警惕“{kw}”“{kw2}”等短视频陷阱",
            "{city}通报：“{kw}”类诈骗案件增多", "金融监管总局风险提示：警惕“{kw}”宣传", "“{kw}”黑产调查：从引流到跑路",
            "{city}法院宣判一起“{kw}”诈骗案",
        ),
        "body": (
            "据通报，该团伙以“{kw}”“代理投诉”为幌子，在短视频平台大量发布引流视频，诱导负债人缴纳服务费，累计涉案金额超{money}万元，{n}名嫌疑人已被刑拘。",
            "通知指出，不法分子以“{slogan}”“{slogan2}”等话术引流，收取高额手续费，甚至诱导消费者恶意投诉、伪造材料。请消费者通过正规渠道反映诉求。",
            "通报显示，今年以来此类案件同比上升，受害人多为有逾期记录的年轻人，被骗金额从数百元到数万元不等。",
            "本期节目带你走进“{kw}”产业：从短视频引流，到社群运营，再到“代理投诉”“恶意逃废债”。受访专家指出，最终受害的往往是负债人自己。",
        ),
    },
    "official": {
        "title": (
            "{brand}官方：如何申请{kw}", "关于还款困难用户的帮扶说明", "{brand}提醒：谨防“{kw}”诈骗",
            "还款有困难？官方这样申请", "{brand}：我们不会委托第三方办理{kw}",
        ),
        "body": (
            "打开App-我的-在线客服，输入“{kw}”，根据提示提交申请。我们不会通过个人微信、QQ联系您办理。",
            "对于因失业、疾病等原因暂时还款困难的用户，我司提供延期还款、分期调整等帮扶措施，申请入口：App-我的-还款帮助。全程免费，请勿轻信第三方“{kw}”。",
            "近期有不法分子冒充{brand}工作人员，以“{kw}”“{slogan}”为由收取费用。{brand}官方从未授权任何机构代办，如遇此类情况请报警。",
        ),
    },
    "lawyer_edu": {
        "title": (
            "{kw}合法吗？律师一次讲清", "信用卡欠多少会坐牢？律师一次讲清", "找中介办{kw}有什么风险？",
            "协商还款协议怎么签才稳妥？", "网贷被起诉会不会上失信名单？", "{kw}：你能自己做的，不用花钱找人",
        ),
        "body": (
            "恶意透支构成信用卡诈骗罪有几个条件：以非法占有为目的、超过规定期限透支、经发卡行两次有效催收后超过三个月仍不归还。普通逾期≠坐牢，但也别失联。",
            "所谓“{kw}”中介，本质是代理维权，常见风险：收取高额前期费、要求你停止还款、拿走你的身份证和银行卡。协商可以自己去做，{brand}等机构都有官方渠道。",
            "一定要书面或在官方App内确认，写清楚剩余本金、期数、每期金额、是否免息、违约后果。口头答应的，最好有录音。",
            "被起诉≠失信。法院判决后你有履行期，有能力而拒不履行的，才可能被纳入失信被执行人名单。关键是积极应诉、积极沟通。",
        ),
    },
    "victim": {
        "pairs": (
            ("负债{amount}，每天都被催", "{brand}、信用卡加起来{amount}，每天几十个电话，连我妈都接到了。我不是不想还，是真的还不上，好累。"),
            ("有没有人真的{kw}成功过？", "最近首页全是{kw}、{kw2}的视频，评论区都说有用，但我总觉得不靠谱。有没有真实经历的说说？"),
            ("自己跟{bank}谈下来了{months}期", "今天打了{bank}信用卡客服，说明自己失业的情况，客服说可以申请{months}期分期，要提交证明。没找任何中介，也没花钱。"),
            ("今天跟家人坦白了欠款", "瞒了一年，网贷加信用卡一共{amount}。说完他沉默了很久，然后说“明天我们一起列个表”。嗯，一起面对。"),
            ("被催收电话打到单位了", "领导找我谈话，说再有电话打到公司就让我走人。{brand}逾期三个月，我真的不知道该怎么办。"),
            ("刷到好多{kw}的视频，到底能不能信", "每条都说“{slogan}”，评论区一堆人说已上岸。我问了银行客服，客服说不要找第三方。到底信谁？"),
            ("{brand}逾期第{n}天，记录一下", "今天还了500，剩下的下个月发工资再说。不找中介，不借新还旧，慢慢来。"),
        ),
    },
    "unrelated": {
        # Title and body must agree for off-topic posts, so these come in pairs.
        "pairs": (
            ("公司年会小品《{kw}》笑疯全场", "同事排的小品，台词全是{kw}梗，老板笑得最大声😂"),
            ("追剧：男主一句“{kw}”把我笑死", "这部剧的编剧是懂打工人的，{kw}四个字一出来弹幕全炸了。"),
            ("今日vlog｜下班去吃火锅", "今天吃了一家新开的火锅，毛肚很新鲜，人均{monthly}。"),
            ("古籍修复师的一天", "清洗、揭页、补洞、压平，一本书修复下来要几个月。"),
            ("代码重构实战：一个烂项目的重组之路", "3万行的祖传代码，模块拆分、接口重组、补单测，花了两个月。"),
            ("高中生物｜基因重组的三种类型", "自由组合、交叉互换、基因工程，这三种基因重组的区别你分得清吗？"),
            ("上市公司{kw}公告怎么看", "企业层面的{kw}是正常的资本运作，和网上说的个人“{kw}”不是一回事，本期讲讲公告里的关键数字。"),
            ("周末露营｜山里的星星", "带了帐篷和小火锅，晚上十点银河出来了，拍了一晚上。"),
            ("装修贷还是自己攒钱？算笔账", "20万装修贷，5年期，算下来利息要多付3万多。能攒就攒，不能攒就先简装。"),
        ),
    },
    "collection": {
        "title": (
            "{company}：关于律师函送达的说明", "催收员的一天｜合规作业从我做起", "诉前调解中心｜我们在做什么",
            "我们不做“{kw}”，只做合规调解", "催收公司老板说：我们也在转型",
        ),
        "body": (
            "我司受委托方授权开展逾期账款管理，部分案件会通过合作律所发送律师函。如对债务有疑问，请联系委托机构官方客服核实。",
            "早上8:30晨会，学习最新合规要求：不得在22点到8点间致电，不得联系无关第三方，全程录音。",
            "受金融机构和法院委托，对借款纠纷开展诉前调解。达成一致的可出具调解书，避免诉讼。网上所谓“{kw}”的，请谨慎。",
            "行业越来越规范，我们现在主要做诉前调解和法律文书送达，违规一次直接开除。",
        ),
    },
}

COMMENTS: dict[str, tuple[str, ...]] = {
    "positive": ("求带", "已私信", "怎么联系", "多少钱", "真的假的", "1", "老师我加你了", "留言了 求推", "能处理{brand}吗", "打了 人挺好"),
    "warning": ("转发了", "差点被骗", "收藏了", "我全中", "太可怕了", "说得对"),
    "news": ("干得漂亮", "这种早该抓了", "支持", "还有很多没抓"),
    "official": ("提交了", "客服很慢", "已申请 在审核", "延期要利息吗"),
    "lawyer_edu": ("讲得清楚", "收藏了", "那我现在怎么办", "律师好人"),
    "victim": ("抱抱", "一起加油", "我也是", "别信中介", "自己打客服试试"),
    "unrelated": ("哈哈哈", "好看", "泪目", "学到了"),
    "collection": ("你们是真的假的", "那为啥还打我同事电话", "早该这样了"),
}

TYPENAMES = {
    "promo_direct": ("财经商业", "社科·法律·心理", "日常"), "promo_story": ("日常", "职业职场", "财经商业"),
    "promo_evasive": ("日常", "综合"), "promo_recruit": ("职业职场",), "promo_course": ("财经商业", "职业职场"),
    "warning": ("社科·法律·心理", "财经商业"), "news": ("资讯", "财经商业"), "official": ("财经商业",),
    "lawyer_edu": ("社科·法律·心理",), "victim": ("日常",), "unrelated": ("日常", "美食", "知识", "搞笑"),
    "collection": ("职业职场",),
}


def author_name(rng: random.Random, category: str, brand: str) -> str:
    s, nick, city = rng.choice(SURNAMES), rng.choice(NICK_WORDS), rng.choice(CITIES)
    options = {
        "promo_direct": (f"{s}老师债务规划", f"{city}{rng.choice(('臻和', '金源', '睿衡', '安信', '恒达'))}法务", f"债务优化{s}顾问", f"上岸指导{nick}", f"{city}协商中心"),
        "promo_story": (f"{nick}上岸记", f"上岸的{nick}", f"负债逆袭{nick}", f"前{rng.choice(('火锅店', '工厂', '物流'))}老板老{s}"),
        "promo_evasive": (f"{nick}说事", f"小{s}的账号", f"{nick}信用咨询", f"{nick}不说废话", f"{s}姐聊生活"),
        "promo_recruit": (f"{city}法务招聘", f"团队长{s}哥", f"{nick}分销招募官"),
        "promo_course": (f"话术整理员{nick}", f"{s}老师课堂", "资料库小站", f"攻略课堂{nick}"),
        "warning": (f"{nick}防骗指南", f"金融小课堂{s}老师", f"踩坑日记{nick}", "理财不踩坑"),
        "news": (f"{city}晚报", f"{city}新闻", "财经纵横视频", f"金融观察员{nick}"),
        "official": (f"{brand}服务号", f"{brand}官方", f"{brand}客服中心"),
        "lawyer_edu": (f"{s}律师讲法", f"{s}律师普法", f"{city}{s}律师"),
        "victim": (f"{nick}和{rng.choice(NICK_WORDS)}", f"自救的{nick}", f"{nick}呀", f"戒糖的小{s}"),
        "unrelated": (f"{nick}的日常", f"{city}吃货{nick}", f"{nick}vlog", f"生物老师小{s}"),
        "collection": (f"{rng.choice(('德正', '正源', '明和', '诚达'))}资产管理", f"{city}诉前调解中心"),
    }
    return rng.choice(options[category])


def author_bio(rng: random.Random, category: str, brand: str, contacts: dict[str, str]) -> tuple[str, list[dict[str, str]]]:
    """A bio and the contacts it carries; operators often park the contact in the bio."""
    found: list[dict[str, str]] = []
    if category in POSITIVE_CATEGORIES:
        base = rng.choice(("帮助上万负债者重新开始", "债务规划｜协商还款", "负债上岸经验分享", "专业团队 正规流程", "只做实事", ""))
        r = rng.random()
        if r < 0.45:
            kind = rng.choice(("wechat", "phone", "qq"))
            line = evasive_contact_line(rng, kind, contacts[kind]) if category == "promo_evasive" else contact_line(rng, kind, contacts[kind])
            found.append(normalise_contact(kind, contacts[kind]))
            return (f"{base} {line}".strip(), found)
        if r < 0.65:
            return (f"{base}｜合作看简介".strip("｜"), found)
        return (base, found)
    bios = {
        "warning": ("分享踩过的坑", "金融科普｜不接广告", "防骗知识普及"),
        "news": ("城市新闻 第一时间", "财经深度报道", "本地新闻"),
        "official": (f"{brand}官方账号 谨防假冒", "认证官方账号", f"{brand}官方客服"),
        "lawyer_edu": ("执业律师｜普法", "执业律师｜消费者权益", "合同纠纷律师"),
        "victim": ("", "慢慢来", "失业中 慢慢来", "记录生活"),
        "unrelated": ("", "记录生活", "每周更新", "吃货一枚"),
        "collection": ("受托资产管理机构", "受托机构｜合规经营", "受托调解机构"),
    }
    return (rng.choice(bios.get(category, ("",))), found)


def fill(rng: random.Random, template: str, slots: dict[str, str]) -> str:
    """str.format with lazily drawn extra slots, so templates may use any of them.

    Pass the same `slots(...)` object for a title and its body so both agree (same bank, same amount).
    """
    return template.format_map(slots if isinstance(slots, _Slots) else _Slots(rng, slots))


def slots(rng: random.Random, base: dict[str, str]) -> dict[str, str]:
    return _Slots(rng, base)


class _Slots(dict):
    def __init__(self, rng: random.Random, base: dict[str, str]):
        super().__init__(base)
        self.rng = rng

    def __missing__(self, key: str) -> str:
        rng = self.rng
        gen = {
            "amount": lambda: _amount(rng),
            "n": lambda: str(rng.randint(3, 48)),
            "nplat": lambda: str(rng.randint(4, 21)),
            "ncards": lambda: str(rng.randint(2, 9)),
            "months": lambda: str(rng.choice((12, 24, 36, 48, 60))),
            "years": lambda: str(rng.randint(3, 15)),
            "years2": lambda: str(rng.randint(3, 5)),
            "month": lambda: str(rng.randint(1, 12)),
            "year": lambda: str(rng.randint(2019, 2025)),
            "age": lambda: rng.choice(("00", "90", "95", "85")),
            "fee": lambda: str(rng.choice((680, 980, 1980, 2000, 3800, 6800))),
            "pct": lambda: str(rng.choice((2, 3, 5, 8))),
            "pct2": lambda: str(rng.choice((20, 30, 50))),
            "pct3": lambda: str(rng.choice((40, 50, 60, 70))),
            "price": lambda: str(rng.choice((49, 99, 199, 299, 699))),
            "reward": lambda: str(rng.choice((300, 500, 800, 1000))),
            "money": lambda: str(rng.choice((300, 800, 2000, 5000, 12000))),
            "monthly": lambda: f"{rng.randint(8, 45)}00",
            "city": lambda: rng.choice(CITIES),
            "bank": lambda: rng.choice(BANKS),
            "brand2": lambda: rng.choice(LENDERS),
            "persona": lambda: rng.choice(PERSONAS),
            "company": lambda: rng.choice(("德正资产管理", "正源资产", "明和调解中心", "诚达资产")),
            "slogan": lambda: rng.choice(SLOGANS),
            "slogan2": lambda: rng.choice(SLOGANS),
            "cause": lambda: rng.choice(("做生意失败", "开饭店赔了钱", "疫情失业", "给家里治病", "炒股亏了", "帮朋友担保")),
            "low": lambda: rng.choice(("老婆带孩子回了娘家", "不敢接任何电话", "整夜整夜睡不着", "差点想不开")),
            "job": lambda: rng.choice(("退伍军人", "外卖小哥", "宝妈", "货车司机", "程序员")),
            "cta": lambda: rng.choice(CTAS),
            "fee_model": lambda: fill(rng, rng.choice(FEE_MODELS), {}),
        }
        fn = gen.get(key)
        if fn is None:
            return "{" + key + "}"
        value = fn()
        self[key] = value
        return value
