"""Contact extraction: WeChat ids, phone numbers, QQ numbers, links and e-mail addresses.

Runs over `Normalised.base` (folded, simplified, separators between characters dropped, lexicon terms NOT yet
mapped, so ids stay intact). Values are normalised as the corpus labels them: digits only for phone and QQ,
lower-case WeChat ids, links without scheme, e-mail addresses as type "other".

Phone numbers: mainland mobiles (1[3-9] + 9 digits), landlines with area code (0xx…), 400/800 numbers, and the
regulators' and police hotlines (12378, 96110 …: the corpus labels a mentioned hotline as a phone). Digits
may be written with spaces, dashes, dots, slashes, ✘, circled digits, Chinese numerals (一二三, 壹贰叁, 幺) or
the letter o for zero. Numbers that are prices, amounts, years, dates, percentages or durations are skipped.

`scan_contacts_many` reads many texts at once: the expressions a scan starts with each run over them all
(regexopt.Batch), and only the texts they find something in are read further.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from operator import itemgetter
from typing import NamedTuple

from takedown.scoring.lexicon import CHINESE_DIGIT_CLASS, CHINESE_DIGITS
from takedown.scoring.normalise import SEGMENT_SEPARATOR, Normalised, normalise
from takedown.scoring.regexopt import Batch

HOTLINES = frozenset({
    "12378",  # NFRA banking and insurance consumer complaints
    "12377",  # CAC illegal and harmful information reports
    "12321",  # spam and harassment reports
    "12315",  # market regulation complaints
    "12345",  # government service hotline
    "12363",  # PBoC financial consumer rights
    "12386",  # CSRC investor hotline
    "12348",  # legal aid
    "96110",  # police anti-fraud warning line
})

CN = CHINESE_DIGIT_CLASS
# a circle for a zero ("1⃣5⃣⭕️ 2⃣8⃣6⃣3⃣ ⭕️7⃣4⃣9⃣"): a digit inside a digit run, never the first of one (a bullet)
ZEROS = "⭕○◯"
_DIGIT_TABLE = {ord(k): v for k, v in CHINESE_DIGITS.items()} | {ord("o"): "0", ord("l"): "1"} | {
    ord(c): "0" for c in ZEROS}
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"

# Every pattern below starts with a literal or a character class (look-behinds come after the first
# character): the regex engine can then skip to candidate positions instead of trying each one.
_EMAIL_RE = re.compile(r"[a-z0-9](?<![a-z0-9._%+\-][a-z0-9])[a-z0-9._%+\-]*@[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.[a-z]{2,}")
_TLDS = (
    "com|cn|net|org|vip|pro|pub|cc|top|xyz|info|io|me|co|club|site|online|shop|ltd|link|app|tv|fun|icu|wang|ink|"
    "live|store|tech|biz|work|life|love|asia|mobi|cloud|group|law|press|ren|xin|red|gov|edu|hk|tw"
)
# a link is found from its top-level domain, then extended to the left and right
_TLD_RE = re.compile(rf"(?:\.|点)(?:{_TLDS})(?![a-z0-9\-])")
_URL_LEFT_RE = re.compile(r"(?:https?://)?(?:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.|点))*[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?$")
_URL_PATH_RE = re.compile(r"/[a-z0-9_\-./?=&%#~+]*")
# a second-level domain's own top level: ".com.cn", ".gov.cn", ".org.hk"
_TLD_TAIL_RE = re.compile(rf"(?:(?:\.|点)(?:{_TLDS})(?![a-z0-9\-]))+")

# WeChat: a cue, then (after an optional colon, quote or heart) an id. Strong cues name WeChat; weak cues
# (加, ➕, 联系, 号) only count when the id looks like an account (has a digit, _ or -) or a colon follows.
_WX_GAP = "[\\s❤💚💗♥💙🖤:=号信是为搜我如同名“\"'「『\\[\\]【】(➡→👉\\-]*"
# ("微信号是 …", "vx ➡ …", "[卫星] …", "vx搜 …", "V-…", "v我 …", "微信（如“…”）", "微信号为 …", "vx同名 …")
_WX_CUE_RE = re.compile(
    rf"(?:微信号?|微讯|威信|薇信|薇芯|徽信|薇锌|薇心|卫星号?|v/x|w/x|绿泡泡|绿色泡泡|绿色💬|绿色(?:软件|app|应用)搜?|小绿书号?|小绿(?:号)?|wechat|weixin|wei ?xin"
    rf"|v(?<![a-z0-9_\-.@/]v)(?:x|信)?|w(?<![a-z0-9_\-.@/]w)x|i(?<![a-z0-9_\-.@/]i)d|微|薇|威|徽"
    # "加HR：hr_01", "添加助理：qy_fw2": whom to add, a colon, then the id (before 加 alone, which would stop at "hr")
    rf"|(?:添)?加[^,。!?;\n:\s]{{1,6}}:|联系[^,。!?;\n:\s]{{1,6}}:"  # ("联系我们的顾问：xinan_01")
    rf"|投递简历:|简历(?:投递|发送?)(?:至|到)?:"  # a job ad's contact ("投递简历：hr_fawu_zp")
    rf"|加(?:助理|助教|客服|顾问|小助理|老师|hr)"  # "加顾问 anyu_01" (before 加 alone)
    rf"|添加|加|➕|✚|\+|联系|找我|私聊|号|💚|❤|🌿|📮|对接(?:老师|人)?|预约|jia ?wo|发你了?|搜"
    rf"|找(?:助教|助理|老师|客服|顾问|班主任|小助理)"
    # "加我了解：fx_01", "加我工作微信处理：ay_01": an invitation, a few words, a colon, then the id
    rf"|加(?:我|她|他们|他|老师)(?:[^,。!?;\n:]{{0,8}}:)?"
    # "加微信发照片给我看看：xiufu_01", "老师的v我放这里：lu_01": the channel, a few words, a colon, then the id
    rf"|微信[^,。!?;\n:]{{1,10}}:|v(?<![a-z0-9_\-.@/]v)[^,。!?;\n:a-z0-9]{{1,8}}:){_WX_GAP}(?=[a-z{CN}0-9])"
)
_WX_WEAK_CUES = frozenset({"添加", "加", "➕", "✚", "+", "联系", "找我", "私聊", "号", "💚", "❤", "加我", "加她", "加他",
                            "加老师", "对接", "对接老师", "对接人", "预约", "jia wo", "jiawo", "发你", "发你了",
                            "找助教", "找助理", "找老师", "找客服", "找顾问", "找班主任", "找小助理", "搜", "🌿", "📮",
                            "加助理", "加助教", "加客服", "加顾问", "加小助理", "加hr", "加他们"})
# after ➕ an id needs no digit or colon ("想要方法的➕ anandiary"): the sign is only ever put before a contact
_PLUS_CUES = frozenset({"➕", "✚"})
_CHANNEL_WORDS = frozenset({"wechat", "weixin"})
_WX_CUE_WORD_RE = re.compile(rf"^(.*?){_WX_GAP}$", re.S)
_WX_SUFFIX_RE = re.compile(r"\((?:v|vx|wx|微信)\)")
_WX_BEFORE_SUFFIX_RE = re.compile(r"(?<![a-z0-9_\-])([a-z][a-z0-9_\-]{5,19})\s*$")
_ID_PIECE_RE = re.compile(rf"([ \t·•/]?)([a-z0-9_\-]+|[{CN}]+|下划线|中划线|横杠)")  # (not across a line break: "yh_01\nB家")
_SPELLED_MARKS = {"下划线": "_", "中划线": "-", "横杠": "-"}  # "chen 下划线 xieshang 下划线 66"
_CHANNEL_WORD_RE = re.compile(r"(?:vx|wx|v)\s+(?=[a-z0-9])")
_WX_ID_RE = re.compile(r"[a-z][a-z0-9_\-]{5,19}")
# what promoters give as a WeChat id after a strong cue even when it starts with a digit ("薇❤：99wan88"); a run of
# digits alone is a number (found below)
_WX_DIGIT_ID_RE = re.compile(r"(?=[a-z0-9]{6,20}$)[0-9]+[a-z][a-z0-9]*")
_CHANNEL_PREFIX_RE = re.compile(r"(?:qq|q|tel|vx|wx|v|id)[0-9]+")  # "加QQ 3190427765" is a QQ number

# digit runs: digits (any script) with short separator runs between them
_SEP = r"[ \-.·/|丨✘×~—–_ˉ¯*空]"  # (空: "幺伍捌 空 叁叁零柒", the space spelled out)
_RUN_RE = re.compile(
    # (a letter l only inside a run, or first when a digit follows: "l39-O562-7l84", "65O2l8473")
    rf"[0-9{CN}l](?<![a-z0-9{CN}][0-9{CN}l])(?:(?<=l)(?=[0-9o])|(?<!l))(?:{_SEP}{{0,3}}[0-9ol{CN}{ZEROS}])*"
)
_UNIT_AFTER_RE = re.compile(
    r"\s?(?:元|块|万|千|百|亿|w(?![a-z])|k(?![a-z])|%|％|期|天|个|岁|年|月|日|号(?!码)|次|人(?!事)|单|条|家|分|秒|倍|折|"
    r"小时|周|笔|张|位|名|页|集|节|讲|句|套|份|本|克|斤|米|楼|层|届|级|平|度|部|台|辆|篇|首|遍)"
)
_QQ_CUE_BEFORE_RE = re.compile(
    r"(?:qq|扣扣|企鹅|球球|(?<![a-z0-9])q)(?:群号?|号码?)?(?:联系|咨询|号是|是|\s?我)?[\s:=“\"]*$"  # ("q我": qq me)
    r"|(?<![a-z0-9])扣\s*[:=]?\s*$|群号(?:码|是)?[^,。!?;\n0-9]{0,8}?[\s:=“\"]*$"  # "扣：70916234", "群号公开：815226034"
    r"|群是[\s:“\"]*$|(?:进|加)群[\s:=“\"]*$"  # (QQ groups have numbers; WeChat groups have QR codes)
)
_QQ_CUE_ANY_RE = re.compile(r"qq|扣扣|企鹅|q(?<![a-z0-9]q)号")  # every branch starts with a literal: see regexopt
_MONEY_BEFORE_RE = re.compile(r"(?:[¥$￥]|第|价|售价|原价|现价|rmb)\s*$")
_MONEY_ENDINGS = ("¥", "$", "￥", "第", "价", "rmb")  # what _MONEY_BEFORE_RE finds before the white space

# every contact has a latin letter (ids, links, e-mail, "qq"), an @, or a run of at least five digits (commas
# between them too: see _join_grouped_mobiles)
# (one class first, so the engine skips ahead to candidates: [a-z@] or a run of five digits)
_MAYBE_CONTACT_RE = re.compile(
    rf"[a-z@0-9{CN}](?:(?<=[a-z@])|(?<=[0-9{CN}])(?:(?:{_SEP}|,){{0,3}}[0-9{CN}{ZEROS}]){{4}})")
# the scans scan_contacts reads a text with: (name, expression)
_SCANS = (("tld", _TLD_RE), ("wx_suffix", _WX_SUFFIX_RE), ("wx_cue", _WX_CUE_RE), ("run", _RUN_RE),
          ("qq", _QQ_CUE_ANY_RE))


_MOBILE_RE = re.compile(r"(?:86)?(1[3-9]\d{9})")
_SAME_WECHAT_RE = re.compile(r"\s?[(\[【]?(?:同微信|微信同号|同微|同v|v同号|同vx|vx同号|微信同步|同号微信|同号)")
# "薇信同号：壹叁捌…": said before the number
_SAME_WECHAT_BEFORE_RE = re.compile(r"(?:微信|薇信|威信|薇|v|vx|wx)同(?:号|手机|电话)[\s:]*$")
_RUN_TAIL = "ol -.·/|丨✘×~—–_*"
_DIGIT_GROUP_RE = re.compile(rf"[0-9ol{CN}{ZEROS}]+")
_LIST_SEP_RE = re.compile(r"\s*[、,/]\s*")
_QQ_NUMBER_AFTER_RE = re.compile(rf"[\s:=“\"号码群]*[0-9{CN}]")
_WORDY_RE = re.compile(rf"[a-z{_CJK}0-9]")
_SCHEME_RE = re.compile(r"^https?://", re.I)
_ID_MARK_RE = re.compile(r"[0-9_\-]")
_CJK_CHAR_RE = re.compile(f"[{_CJK}]")
_START = itemgetter(2)  # FoundContact.start, Piece.start
_SERVICE_RE = re.compile(r"[48]00\d{7}|95\d{3}|95\d{6}|1010\d{4}")  # 400/800, 95xxx and 1010xxxx lines
_LANDLINE_RE = re.compile(r"0[1-9]\d{8,10}")
_PHONE_RE = re.compile("|".join((_MOBILE_RE.pattern, _SERVICE_RE.pattern, _LANDLINE_RE.pattern)))


class FoundContact(NamedTuple):
    """A contact found in `Normalised.base`: [start, end) is the value, [cue_start, end) the value with the
    words that introduce it ("V：", "📞"), both in base positions. `obfuscated`: written to dodge filters
    (Chinese numerals, circled digits, spaced-out characters)."""

    type: str
    value: str
    start: int
    end: int
    cue_start: int
    obfuscated: bool


def extract(text: str) -> list[tuple[str, str]]:
    """Contacts in one text, as (type, value) pairs in order of appearance, without duplicates."""
    seen: dict[tuple[str, str], None] = {}
    for c in find_contacts(normalise(text)):
        seen.setdefault((c.type, c.value), None)
    return list(seen)


def find_contacts(norm: Normalised) -> list[FoundContact]:
    """Every contact in `norm.base` (duplicates included, one per occurrence), in order of position."""
    found, bare, unattached_qq_cue = scan_contacts(norm)
    if bare and unattached_qq_cue:
        found = sorted(found + bare, key=lambda c: c.start)
    return found


def scan_contacts(norm: Normalised, scans: dict[str, list[tuple[int, int, str]]] | None = None
                  ) -> tuple[list[FoundContact], list[FoundContact], bool]:
    """(contacts, bare numbers, QQ cue without a number) in `norm.base`. A bare number (a comment that is just
    digits) is a QQ number only when the record also names QQ without giving one ("企鹅号在评论区"); the
    caller decides that over the whole record, since the cue and the number are often in different fields.

    `scans`: the matches (start, end, text) of the expressions in _SCANS in `norm.base`, when the caller has
    them (`scan_contacts_many`)."""
    text = norm.base
    if scans is None:
        if _MAYBE_CONTACT_RE.search(text) is None and _HOMOPHONE_PHONE_RE.search(text) is None:
            # no latin letter, no @, no run of five digits, no number in homophones: nothing
            return [], [], _has_unattached_qq_cue(text)
        scans = {name: [(m.start(), m.end(), m.group()) for m in rx.finditer(text)] for name, rx in _SCANS}
    homophones = _homophone_phones(norm) if "电话" in text or "号码" in text or "手机" in text else []
    colon_ids = "_" in text and ":" in text
    runs = _join_grouped_mobiles(text, scans["run"])
    if not (scans["tld"] or scans["wx_suffix"] or scans["wx_cue"] or "@" in text or colon_ids
            or any(len(run) >= 5 for _, _, run in runs)):  # nothing below would find anything
        return homophones, [], _unattached_qq_cue(text, scans["qq"])
    segments = _segment_bounds(text)
    taken = bytearray(len(text) + 1)  # 1 where a contact (or its cue) was already found
    found: list[FoundContact] = []

    def free(a: int, b: int) -> bool:
        return taken.find(1, a, max(a + 1, b)) < 0

    def add(kind: str, value: str, a: int, b: int, cue: int) -> None:
        taken[cue:b] = b"\x01" * (b - cue)
        found.append(FoundContact(kind, value, a, b, cue, _obfuscated(norm, kind, a, b)))

    if "@" in text:
        for m in _EMAIL_RE.finditer(text):
            add("other", m.group(), m.start(), m.end(), m.start())
    for m_start, m_end, _ in scans["tld"]:
        left = _URL_LEFT_RE.search(text, max(0, m_start - 80), m_start)
        if left is None or text[left.start() - 1:left.start()] in ("@", "_", "-") and left.start() > 0:
            continue
        start = left.start()
        tail = _TLD_TAIL_RE.match(text, m_end)
        if tail:
            m_end = tail.end()
        path = _URL_PATH_RE.match(text, m_end)
        end = path.end() if path else m_end
        if free(start, end):
            add("url", _link_value(norm, start, end), start, end, start)
    _find_wechat(text, segments, free, add, scans["wx_suffix"], scans["wx_cue"])
    if colon_ids:
        _find_colon_ids(text, free, add)
    bare = _find_numbers(text, segments, free, add, runs)
    if "同" in text:  # "138 0214 6679（同微信）": the number is also the WeChat id
        found += [c._replace(type="wechat") for c in found
                  if c.type == "phone" and c.value[0] == "1" and (
                      _SAME_WECHAT_RE.match(text, c.end)
                      or _SAME_WECHAT_BEFORE_RE.search(text, max(0, c.start - 12), c.start))]
    found += [c for c in homophones if free(c.start, c.end)]
    found.sort(key=_START)
    bare_found = [FoundContact("qq", digits, a, b, a, _obfuscated(norm, "qq", a, b)) for digits, a, b in bare]
    return found, bare_found, _unattached_qq_cue(text, scans["qq"])


def scan_contacts_many(norms: list[Normalised], bases: Batch | None = None
                       ) -> list[tuple[list[FoundContact], list[FoundContact], bool]]:
    """`scan_contacts` of each, the expressions it starts with each scanning all the texts at once
    (regexopt's joined scans: the same matches as text by text). `bases`: the Batch of the norms' `base` texts,
    when the caller has it."""
    if bases is None:
        bases = Batch([n.base for n in norms])
    maybe = sorted(bases.having(_MAYBE_CONTACT_RE) | bases.having(_HOMOPHONE_PHONE_RE))
    qq = bases.finditer(_QQ_CUE_ANY_RE)
    out = [([], [], bool(k in qq and _unattached_qq_cue(bases.texts[k], qq[k])))
           for k in range(len(norms))]  # type: list[tuple[list[FoundContact], list[FoundContact], bool]]
    if maybe:
        some = Batch([bases.texts[k] for k in maybe])
        tld, suffix, cue, run = (some.finditer(rx) for _, rx in _SCANS[:4])
        no: list[tuple[int, int, str]] = []
        for i, k in enumerate(maybe):
            out[k] = scan_contacts(norms[k], {"tld": tld.get(i, no), "wx_suffix": suffix.get(i, no),
                                              "wx_cue": cue.get(i, no), "run": run.get(i, no), "qq": qq.get(k, no)})
    return out


def _link_value(norm: Normalised, start: int, end: int) -> str:
    """A link as written, without its scheme: the host in lower case, the path in its own case, since short links
    ("t.cn/R2kXa9p") are case-sensitive and a complaint must cite the one that works. Read from the original
    text when it is the same link there (after NFKC); otherwise from the folded text."""
    folded = norm.base[start:end]
    s, e = norm.base_span(start, end)
    written = unicodedata.normalize("NFKC", norm.original[s:e])
    link = written if written.lower() == folded else folded
    link = _SCHEME_RE.sub("", link).replace("点", ".").rstrip("./")
    host, slash, path = link.partition("/")
    return host.lower() + slash + path


# ---------------------------------------------------------------------------------------------- WeChat
def _find_wechat(text: str, segments: list[tuple[int, int]], free, add, suffixes: list[tuple[int, int, str]],
                 cues: list[tuple[int, int, str]]) -> None:
    for m_start, _, _ in suffixes:
        before = _WX_BEFORE_SUFFIX_RE.search(text, max(0, m_start - 24), m_start)
        if before and free(before.start(1), before.end(1)):
            add("wechat", before.group(1), before.start(1), before.end(1), before.start(1))
    seg_starts = None
    for m_start, start, cue_text in cues:
        if not free(m_start, start + 1):
            continue
        if seg_starts is None:
            seg_starts = [s for s, _ in segments]
        seg_end = segments[bisect_right(seg_starts, start) - 1][1]
        channel = _CHANNEL_WORD_RE.match(text, start, seg_end)  # "号：vx dz-fw2025": the id comes after "vx"
        if channel:
            start = channel.end()
        ident, end = _read_id(text, start, seg_end)
        if not ident or _CHANNEL_PREFIX_RE.fullmatch(ident):
            continue
        cue = _WX_CUE_WORD_RE.match(cue_text)
        cue_word = cue.group(1) if cue else cue_text
        kind = "wechat"
        if cue_text[0] == "号":  # (a bare 号 reads as gap, not as the cue word: _WX_GAP holds it)
            if _numbers_a_thing(text, m_start):  # "型号：rx100m7", "订单号：…"
                continue
            if _HANDLE_BEFORE_RE.search(text, max(0, m_start - 4), m_start):  # "快手号：ks_fancui88"
                kind = "other"  # an account on another platform
        weak = cue_word in _WX_WEAK_CUES
        if not (_WX_ID_RE.fullmatch(ident) or not weak and _WX_DIGIT_ID_RE.fullmatch(ident)):
            continue
        if weak and not (":" in cue_text or _ID_MARK_RE.search(ident)
                         or cue_word in _PLUS_CUES and ident not in _CHANNEL_WORDS):
            continue
        if free(start, end):
            add(kind, ident, start, end, m_start)
            if not weak:  # a list after a named channel: "微信号：zwgh_168、tingcui-vip、Anhe_YouHua"
                _more_wechat_ids(text, end, seg_end, free, add)


# Other platforms, whose accounts the corpus labels "other"
_PLATFORMS = "抖音|快手|小红书|红书|dy|ks|微博|b站"
# before a bare 号 cue: the number of a thing, not an account; or an account on another platform
_NOT_AN_ACCOUNT_BEFORE_RE = re.compile(r"(?:型|编|订单|单|批|序列|货|车牌|房|学|工|证件|身份证|账|卡)$")
_HANDLE_BEFORE_RE = re.compile(rf"(?:{_PLATFORMS})$")


def _numbers_a_thing(text: str, hao: int) -> bool:
    """Whether the 号 at `hao` numbers a thing (型号, 订单号, 学号 …) rather than naming an account."""
    return _NOT_AN_ACCOUNT_BEFORE_RE.search(text, max(0, hao - 4), hao) is not None


# An account-shaped id with an underscore right after a colon, whatever introduces it ("模板购买：lulu_moban",
# "拉你进群：qun_tingcui2025", "🌿泡泡：yu_qi_zhushou"): in these posts such a thing is a WeChat id, unless the
# words before the colon name another channel (a Douyin or Xiaohongshu handle, a mailbox, a Telegram name).
_COLON_ID_RE = re.compile(r":\s*([a-z][a-z0-9\-]*_[a-z0-9_\-]*[a-z0-9])(?![a-z0-9_\-@.])")
_OTHER_CHANNEL_BEFORE_RE = re.compile(
    rf"(?:{_PLATFORMS}|抖|tg|telegram|飞机|纸飞机|邮箱|email|mail|qq|企鹅|推特|twitter|ins|用户名|账户|密码)"
    r"[^,。!?;\n:]{0,4}$")


def _find_colon_ids(text: str, free, add) -> None:
    for m in _COLON_ID_RE.finditer(text):
        ident, start, end = m.group(1), m.start(1), m.end(1)
        colon = m.start()
        if not 6 <= len(ident) <= 20 or not free(colon, end):
            continue
        if _OTHER_CHANNEL_BEFORE_RE.search(text, max(0, colon - 10), colon) or (
                text[colon - 1:colon] == "号" and _numbers_a_thing(text, colon - 1)):
            continue
        add("wechat", ident, start, end, colon)


# _LIST_SEP_RE (QQ numbers) without the comma: after a WeChat id a comma starts a new clause more often than
# another id
_WX_LIST_SEP_RE = re.compile(r"\s*[、/]\s*")


def _more_wechat_ids(text: str, end: int, seg_end: int, free, add) -> None:
    while True:
        sep = _WX_LIST_SEP_RE.match(text, end, seg_end)
        if not sep:
            return
        ident, nxt = _read_id(text, sep.end(), seg_end)
        if (not ident or not _WX_ID_RE.fullmatch(ident) or _CHANNEL_PREFIX_RE.fullmatch(ident)
                or _CHANNEL_WORD_RE.match(text, sep.end(), seg_end) or not free(sep.end(), nxt)):
            return  # ("微信 tingxi_01、QQ 2673018845": the list goes on with another channel)
        add("wechat", ident, sep.end(), nxt, sep.end())
        end = nxt


def _read_id(text: str, pos: int, limit: int) -> tuple[str, int]:
    """Read an id written in pieces ("s_a_ 1 3 9 9", "zx 零幺九九 by") from `pos`; return (id, end)."""
    pieces: list[str] = []
    end = pos
    while end < limit:
        m = _ID_PIECE_RE.match(text, end)
        if not m or m.end() > limit:
            break
        space, piece = m.group(1), m.group(2)
        if not pieces and space:
            break
        piece = _SPELLED_MARKS.get(piece, piece)
        numeral = piece[0] in CHINESE_DIGITS
        # a Chinese numeral run glued to other CJK text is a word (一对一, 三个月), not part of the id
        if numeral and m.end() < limit and _CJK_CHAR_RE.match(text[m.end()]) and text[m.end()] not in CHINESE_DIGITS:
            break
        if pieces and space:
            prev = pieces[-1]
            short = len(piece) <= 2 or len(prev) <= 2 or prev.isdigit() and len(piece) <= 3  # "四二九八 yun"
            if not (short or numeral or piece.isdigit()):
                break
        pieces.append(piece.translate(_DIGIT_TABLE) if numeral else piece)
        end = m.end()
        if sum(map(len, pieces)) > 20:
            return "", end
    return "".join(pieces), end


# A mobile number spelled in characters that sound like its digits ("号码：幺舞酒 扒伞溜思 灵尔妻依"): read only right
# after a phone cue, and only as a whole valid mobile number, since each of these characters is also a word.
_HOMOPHONE_DIGITS = {
    "1": "一幺壹衣医依伊", "2": "二两贰儿尔耳而", "3": "三叁山伞散仨", "4": "四肆死思寺似丝撕",
    "5": "五伍舞午无吾武捂", "6": "六陆溜留流刘柳", "7": "七柒妻期气齐漆栖", "8": "八捌扒巴爸吧把拔疤",
    "9": "九玖酒久就旧韭", "0": "零〇灵铃玲领令",
}
_HOMOPHONE_TABLE = {ord(c): d for d, chars in _HOMOPHONE_DIGITS.items() for c in chars}
_HOMOPHONE_CLASS = "".join(c for chars in _HOMOPHONE_DIGITS.values() for c in chars)
_HOMOPHONE_PHONE_RE = re.compile(
    rf"(?:电话|号码|手机)[^\n{_HOMOPHONE_CLASS}]{{0,3}}?[\s:]*((?:[{_HOMOPHONE_CLASS}][\s\-]?){{10}}[{_HOMOPHONE_CLASS}])"
    rf"(?![{_HOMOPHONE_CLASS}])"
)


def _homophone_phones(norm: Normalised) -> list[FoundContact]:
    out = []
    for m in _HOMOPHONE_PHONE_RE.finditer(norm.base):
        digits = "".join(m.group(1).split()).replace("-", "").translate(_HOMOPHONE_TABLE)
        if _MOBILE_RE.fullmatch(digits):  # (eleven digits: never with a leading 86)
            out.append(FoundContact("phone", digits, m.start(1), m.end(1), m.start(), True))
    return out


# ------------------------------------------------------------------------------------------ ids in pieces
# An id given in pieces so that no one field or sentence holds it: "前半段 zy" … "后半段是 fw0909",
# "v前面是tang" / "后面接xie2026" (two replies), "联系电话：一三七，中间是…二零一五，最后是五四三二". Each field value
# yields its pieces (`find_pieces`); the record joins a first piece with the middle and last ones that follow
# it (`join_pieces`), and keeps the result only when it is a whole contact.
_FIRST_MARK = r"前半(?:段|部分|截)?|前面是|先写|先是|开头是|前[三四五六七八3-8]位(?:数字?)?(?:是|就是)?"
_MIDDLE_MARK = r"中间(?:[三四五六七八3-8]位)?(?:数字?)?(?:是|就是)?"
_LAST_MARK = (r"后半(?:段|部分|截)?|后面(?:是|接|跟|加上?)|再(?:跟|接|加上?)|最后(?:[三四五六七八3-8]位)?(?:是|就是|跟|接|加)|"
              r"结尾是|后[三四五六七八3-8]位(?:数字?)?(?:是|就是)?")
PIECE_MARK_RE = re.compile(f"(?P<first>{_FIRST_MARK})|(?P<middle>{_MIDDLE_MARK})|(?P<last>{_LAST_MARK})"
                           # the mark after its piece: "hy 在前，0918 在后"
                           "|(?P<first_after>在前)|(?P<last_after>在后)")
_PIECE_BEFORE_RE = re.compile(r"([a-z0-9_\-]+)\s*$")
# a channel named with a piece too short to be the id on its own ("我的v是kai", "联系电话：一三七"): a first piece
# when the same text goes on with more
_CUE_PIECE_RE = re.compile(r"(?:微信号?|vx|wx|v(?<![a-z0-9_\-.@/]v)|薇|❤|💚|小绿|电话|手机|号码|热线)(?:号)?(?:是|就是)?[\s:]*")
# the last piece announced right after it: "v：laosan 后面加 幺幺零" (laosan would pass for an id on its own)
_LAST_NEXT_RE = re.compile(rf"\s*(?:{_LAST_MARK})")
_PIECE_GAP_RE = re.compile(r"[\s:是“\"'「(]*")
_PIECE_SKIP = 12  # words a middle or last piece may come after ("中间是我们公司成立的年份二零一五")
_REPEAT_RE = re.compile(r"([2-9二两三四五六七八九])个([0-9a-z])(?![0-9a-z])")
_COUNT_TABLE = _DIGIT_TABLE | {ord("两"): "2"}  # (两 counts, though it is never a digit of an id)
_CLAUSE_END = frozenset(",。!?;\n" + SEGMENT_SEPARATOR)
FIRST, MIDDLE, LAST = 0, 1, 2


class Piece(NamedTuple):
    """Part of an id: its role (FIRST, MIDDLE, LAST), its characters (numerals read as digits), and where it
    is in `Normalised.base` ([cue_start, end) with the words that announce it)."""

    role: int
    text: str
    start: int
    end: int
    cue_start: int


def find_pieces(text: str) -> list[Piece]:
    """The pieces of ids announced in `text` (a field value's `Normalised.base`), in order; none unless the text
    says that a piece follows or precedes (PIECE_MARK_RE)."""
    marks = []
    pieces = []
    for m in PIECE_MARK_RE.finditer(text):
        kind = m.lastgroup
        if kind in ("first_after", "last_after"):
            before = _PIECE_BEFORE_RE.search(text, max(0, m.start() - 24), m.start())
            if before:
                pieces.append(Piece(FIRST if kind == "first_after" else LAST, before.group(1), before.start(1),
                                    before.end(1), before.start(1)))
            continue
        marks.append((m.start(), m.end(), FIRST if kind == "first" else MIDDLE if kind == "middle" else LAST))
    if not marks and not pieces:
        return []
    for m in _CUE_PIECE_RE.finditer(text):
        ident, end = _read_id(text, m.end(), len(text))
        # (a whole id is found as a contact, unless the text goes on with its last piece)
        if ident and (len(ident) < 11 and not _WX_ID_RE.fullmatch(ident) or _LAST_NEXT_RE.match(text, end)):
            pieces.append(Piece(FIRST, ident.lower(), m.end(), end, m.start()))
    for a, b, role in marks:
        pos = _PIECE_GAP_RE.match(text, b).end()
        for skip in range(_PIECE_SKIP + 1 if role != FIRST else 1):
            if pos + skip >= len(text) or text[pos + skip] in _CLAUSE_END:
                break
            repeat = _REPEAT_RE.match(text, pos + skip)  # "后面跟三个6": 666
            if repeat:
                ident, end = repeat.group(2) * int(repeat.group(1).translate(_COUNT_TABLE)), repeat.end()
            else:
                ident, end = _read_id(text, pos + skip, len(text))
            if ident:
                pieces.append(Piece(role, ident.lower(), pos + skip, end, a))
                break
    pieces.sort(key=_START)
    return pieces


def join_pieces(pieces: list[tuple[int, Piece]], qq_cue: bool) -> list[tuple[str, str, int, Piece]]:
    """(type, value, where the first piece is, the first piece) of each id joined from a record's pieces
    ((position of the field value in the record, piece), in the record's order): a first piece, then the
    middle and the last ones after it up to the next first piece, when they make a valid WeChat id, phone
    number or (where the record names QQ) QQ number."""
    out = []
    firsts = [piece for _, piece in pieces if piece.role == FIRST]
    for k, (where, first) in enumerate(pieces):
        if first.role != FIRST:
            continue
        if len(firsts) == 1:  # one id in pieces: the others wherever they are ("后半：0302" before "前半 mqfw")
            rest = [piece for _, piece in pieces if piece.role != FIRST]
        else:
            rest = []
            for _, piece in pieces[k + 1:]:
                if piece.role == FIRST:
                    break
                rest.append(piece)
        if not rest:
            continue
        # middles before lasts, whatever order they are told in ("前面是zhang，后面是0315，中间加个下划线")
        value = first.text + "".join(p.text for p in rest if p.role == MIDDLE) + "".join(
            p.text for p in rest if p.role == LAST)
        if value.isdigit():
            found = _classify(value, False) or (("qq", value) if qq_cue and _classify(value, True) else None)
            if found:
                out.append((found[0], found[1], where, first))
        elif _WX_ID_RE.fullmatch(value) and not _CHANNEL_PREFIX_RE.fullmatch(value):
            out.append(("wechat", value, where, first))
    return out


# ---------------------------------------------------------------------------------------------- numbers
_COMMA_GAP_RE = re.compile(r" ?, ?")
_LISTED_BEFORE_RE = re.compile(rf"[0-9{CN}] ?, ?$")  # a fourth group: a list, not a number
_LISTED_AFTER_RE = re.compile(rf" ?, ?[0-9{CN}]")


def _join_grouped_mobiles(text: str, runs: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """A mobile written as three groups of 3, 4 and 4 digits with commas between ("一五零，八八三二，七一零六"),
    the way Chinese mobiles are grouped, as one run. Elsewhere a comma ends a run: it separates listed numbers
    and amounts."""
    if len(runs) < 3 or "," not in text:
        return runs
    out: list[tuple[int, int, str]] = []
    i = 0
    while i < len(runs):
        trio = runs[i:i + 3]
        if len(trio) == 3 and all(_COMMA_GAP_RE.fullmatch(text, trio[k][1], trio[k + 1][0]) for k in (0, 1)) and not (
                _LISTED_BEFORE_RE.search(text, max(0, trio[0][0] - 4), trio[0][0])  # (at most 4 characters)
                or _LISTED_AFTER_RE.match(text, trio[2][1])):
            groups = [raw.translate(_DIGIT_TABLE) for _, _, raw in trio]
            if [len(g) for g in groups] == [3, 4, 4] and _MOBILE_RE.fullmatch("".join(groups)):
                out.append((trio[0][0], trio[2][1], text[trio[0][0]:trio[2][1]]))
                i += 3
                continue
        out.append(runs[i])
        i += 1
    return out


def _find_numbers(text: str, segments: list[tuple[int, int]], free, add, runs: list[tuple[int, int, str]]
                  ) -> list[tuple[str, int, int]]:
    seg_starts = [s for s, _ in segments]
    bare: list[tuple[str, int, int]] = []
    qq_end = -9  # where the last QQ number ended: "群号：683915274、772049163" lists more after it
    for a, _, raw in runs:
        if len(raw) < 5:  # no phone or QQ number has fewer than five digits
            continue
        raw = raw.rstrip(_RUN_TAIL)  # trailing letter o or separator is not a digit
        b = a + len(raw)
        if not free(a, b):
            continue
        seg = bisect_right(seg_starts, a) - 1
        seg_start, seg_end = segments[seg]
        before = text[max(seg_start, a - 12):a]
        # (_MONEY_BEFORE_RE.search(before), read off the end: \s and str.isspace are the same characters)
        if before.rstrip().endswith(_MONEY_ENDINGS):
            continue
        if _UNIT_AFTER_RE.match(text, b, seg_end):
            # "176 8830 2451 24小时在线": the unit counts the last group only; the rest may still be a number
            cut = raw.rfind(" ")
            raw = raw[:cut].rstrip(_RUN_TAIL) if cut > 0 else ""
            if len(raw) < 5:
                continue
            b = a + len(raw)
        qq_cue = bool(_QQ_CUE_BEFORE_RE.search(before)) or (
            a - qq_end <= 3 and _LIST_SEP_RE.fullmatch(text, qq_end, a) is not None)
        if raw.isascii() and raw.isdigit():  # one group of plain digits (the usual case)
            digits = raw
            whole = _classify(digits, qq_cue)
            if whole:  # (one group otherwise has no other partition: see _classify_run)
                add(whole[0], whole[1], a, b, _cue_start(text, seg_start, a))
                if whole[0] == "qq":
                    qq_end = b
        else:
            groups = [(g.group().translate(_DIGIT_TABLE), a + g.start(), a + g.end())
                      for g in _DIGIT_GROUP_RE.finditer(raw)]
            if not groups:
                continue
            digits = "".join(g[0] for g in groups)
            whole = _classify(digits, qq_cue)
            for kind, value, s, e in _classify_run(groups, qq_cue, whole):
                add(kind, value, s, e, _cue_start(text, seg_start, s))
                if kind == "qq":
                    qq_end = e
        # (without a cue, `whole` is the run read as a number on its own)
        if not qq_cue and 5 <= len(digits) <= 11 and not whole and _is_bare(text, seg_start, seg_end, a, b):
            bare.append((digits, a, b))
    return [(digits, a, b) for digits, a, b in bare if digits[0] != "0" and free(a, b)]


def _has_unattached_qq_cue(text: str) -> bool:
    """A QQ cue without a number after it ("企鹅号在评论区"): a bare number elsewhere is then the QQ."""
    return _unattached_qq_cue(text, [(m.start(), m.end(), "") for m in _QQ_CUE_ANY_RE.finditer(text)])


def _unattached_qq_cue(text: str, cues: list[tuple[int, int, str]]) -> bool:
    """`_has_unattached_qq_cue`, given the matches of _QQ_CUE_ANY_RE in `text`."""
    return bool(cues) and any(not _QQ_NUMBER_AFTER_RE.match(text[end:end + 6]) for _, end, _ in cues)


def _classify(digits: str, qq_cue: bool) -> tuple[str, str] | None:
    if qq_cue:
        return ("qq", digits) if 5 <= len(digits) <= 11 and digits[0] != "0" else None
    m = _PHONE_RE.fullmatch(digits)  # a mobile first (its value without 86), then the other lines
    if m:
        return "phone", m.group(1) or digits
    if digits in HOTLINES:
        return "phone", digits
    return None


def _classify_run(groups: list[tuple[str, int, int]], qq_cue: bool, whole: tuple[str, str] | None
                  ) -> list[tuple[str, str, int, int]]:
    """Split a run of digit groups into numbers: the whole run if it is one (`whole`: `_classify` of all its
    digits), else the partition that covers the most digits with valid numbers ("021-6438 2719 /
    13764829103" is two phones)."""
    if whole:
        return [(whole[0], whole[1], groups[0][1], groups[-1][2])]
    n = len(groups)
    if n == 1 or n > 40:  # one group: its only partition is the whole run
        return []
    best: list[tuple[int, list]] = [(0, [])] + [(-1, [])] * n
    for j in range(1, n + 1):
        best[j] = best[j - 1]
        for i in range(j):
            digits = "".join(g[0] for g in groups[i:j])
            if len(digits) > 13:
                continue
            found = _classify(digits, qq_cue and i == 0)
            if found and best[i][0] + len(digits) > best[j][0]:
                best[j] = (best[i][0] + len(digits), best[i][1] + [(found[0], found[1], groups[i][1], groups[j - 1][2])])
    return best[n][1]


def _is_bare(text: str, seg_start: int, seg_end: int, a: int, b: int) -> bool:
    """The digit run is all there is on its line (a comment that is just a number)."""
    line_start = max(seg_start, text.rfind("\n", seg_start, a) + 1)
    nl = text.find("\n", b, seg_end)
    line_end = seg_end if nl < 0 else nl
    rest = text[line_start:a] + text[b:line_end]
    return not _WORDY_RE.search(rest.replace("置顶", "").replace("qq", ""))


_CUE_WORDS_RE = re.compile(
    r"(?:电话|热线|手机|号码|联系|咨询|拨打|致电|qq|扣扣|企鹅|tel|q)[^\n\x1f]{0,3}$"
)


def _cue_start(text: str, seg_start: int, start: int) -> int:
    window_start = max(seg_start, start - 8)
    m = _CUE_WORDS_RE.search(text, window_start, start)
    return m.start() if m and m.end() == start else start


def _segment_bounds(text: str) -> list[tuple[int, int]]:
    bounds = []
    pos = 0
    while True:
        i = text.find(SEGMENT_SEPARATOR, pos)
        if i < 0:
            bounds.append((pos, len(text)))
            return bounds
        bounds.append((pos, i))
        pos = i + 1


_ODD_DIGITS_RE = re.compile(rf"[{CN}{ZEROS}①-⑳⓪-⓿❶-➓⓵-⓾０-９ｏＯ✘×丨]")
_SPACED_OUT_RE = re.compile(r"(?:^|[ ./·\-])[0-9a-z](?:[ ./·\-]+[0-9a-z](?![0-9a-z])){2,}")


def _obfuscated(norm: Normalised, kind: str, a: int, b: int) -> bool:
    """Written to dodge filters: Chinese or circled numerals, look-alike letters, characters spaced out."""
    s, e = norm.base_span(a, b)
    original = norm.original[s:e]
    if _ODD_DIGITS_RE.search(original) or _SPACED_OUT_RE.search(original.lower()):
        return True
    if kind in ("phone", "qq") and ("o" in original or "O" in original):
        return True
    return not original.isascii()
