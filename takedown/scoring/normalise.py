"""Text normalisation that undoes the promoters' disguises and records that they were used.

`normalise(text)` returns a `Normalised`: the canonical text the rules read, the text before lexicon terms
were mapped (`base`, which contact extraction reads: ids must not be rewritten), the evasion signals found on
the way, and a map from every normalised position back to the original text, so a reason can quote what the
post actually says.

Steps, in order (each keeps the position map):
1. fold: NFKC (full-width -> half-width, ① -> 1, 𝐕 -> v), lower-case latin, tone marks stripped, 🅧 -> x;
2. invisible characters dropped (zero-width space/joiner, soft hyphen, variation selectors);
3. traditional -> simplified (opencc t2s);
4. lexicon symbols (🚢 -> 岸, 🐧 -> qq);
5. separators between characters dropped: spaces/symbols/emoji between two CJK characters (正 信, 停·息),
   emoji between word characters (网💰d), spaces between single latin letters (t.x.g.z, C S);
   --> `base`
6. lexicon terms mapped to canonical words (婷息挂帐 -> 停息挂账, zx -> 征信, 上an -> 上岸).
   --> `text`
Newlines and the segment separator (U+001F, used to join a record's fields) are never removed.

`normalise_many(texts)` gives the same for many texts, faster: each step first finds the texts it has work in
with one scan of them all (regexopt.Batch), and folding one character for one translates those together.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

from takedown.scoring.lexicon import CHINESE_DIGITS, Lexicon
from takedown.scoring.regexopt import Batch, non_overlapping

SEGMENT_SEPARATOR = "\x1f"

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef"
_EMOJI = (
    "\u2190-\u21ff\u2300-\u23ff\u2500-\u25ff\u2600-\u27bf\u2900-\u297f\u2b00-\u2bff\u3030\u303d"
    "\U0001f000-\U0001faff"
)
# Symbols that split a word when put between two CJK characters (clause punctuation such as ，。、：！ is not).
_SPLIT_SYMBOLS = r".·•・*_~|/\\\-+=×✘✗✕^`'" + _EMOJI
_HSPACE = " \t\u00a0\u3000"
_DELIMITERS = "|/\\-+~=×→⇒➡➔>"  # (arrows: a menu path, "借呗→还款→点击")

# Invisible characters: those a promoter inserts to break a keyword (counted), and those emoji carry anyway.
_ZERO_WIDTH = "\u200b\u200c\u200e\u200f\u2060-\u2064\ufeff\u00ad\u180e"
_SILENT = "\u200d\ufe00-\ufe0f\u20dd-\u20e4\u0300-\u036f\U000e0020-\U000e007f\U000e0100-\U000e01ef"
_INVISIBLE_RE = re.compile(f"[{_ZERO_WIDTH}{_SILENT}]+")


def _members(spec: str) -> list[str]:
    """The characters of a character-class body written as characters and a-b ranges (no escapes)."""
    out: list[str] = []
    k = 0
    while k < len(spec):
        if k + 2 < len(spec) and spec[k + 1] == "-":
            out.extend(map(chr, range(ord(spec[k]), ord(spec[k + 2]) + 1)))
            k += 3
        else:
            out.append(spec[k])
            k += 1
    return out

_ZERO_WIDTH_RE = re.compile(f"[{_ZERO_WIDTH}]")



def _is_cjk(c: str) -> bool:
    return ("\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf" or "\uf900" <= c <= "\ufaff"
            or "\U00020000" <= c <= "\U0002ebef")


# the runs of spaces and symbols that split a word: a whole run between two CJK characters (正 信, 停·息),
# or a run of emoji only between two word characters (CJK, a-z, 0-9: 网💰d, v❤信). A match starts at the
# first character of a run (the look-behind, after it, checks the one before), so the engine skips to
# separators; `+`/`*` then take the run as far as it goes, and the look-ahead wants a word character after it.
_JOINED_RUN_RE = re.compile(
    f"[{_HSPACE}{_SPLIT_SYMBOLS}](?:(?<=[{_CJK}][{_HSPACE}{_SPLIT_SYMBOLS}])[{_HSPACE}{_SPLIT_SYMBOLS}]*(?=[{_CJK}])"
    f"|(?<=[{_CJK}a-z0-9][{_EMOJI}])[{_EMOJI}]*(?=[{_CJK}a-z0-9]))"
)

# single latin letters with separators: t.x.g.z, C S, f z
# (a letter followed by _ or - begins an id: "加V x_s_8k2m9" is the cue V and the id x_s_8k2m9, not "vx_s…")
_LATIN_SPLIT_RE = re.compile(r"[a-z](?<![a-z0-9_\-.@/][a-z])(?:[ .·・*][a-z](?![a-z0-9_\-]))+")
_LATIN_SEP_RE = re.compile(r"[ .·・*]")


class Variant(NamedTuple):
    """One disguised spelling that was mapped: `original` as the post wrote it, `canonical` as rules read it."""

    original: str
    canonical: str
    start: int  # span in the original text
    end: int


@dataclass(slots=True)
class Evasion:
    """What normalisation had to undo. Every count is a signal: ordinary posts need almost none of it."""

    split_symbols: int = 0  # symbols/emoji glued between two characters of a word (停·息, 修👌复)
    spaced_chars: int = 0  # CJK characters standing alone between spaces (正 信 有 问 题)
    latin_splits: int = 0  # runs of single latin letters joined (t.x.g.z, C S)
    zero_width: int = 0  # zero-width characters removed
    fullwidth_letters: int = 0  # non-ASCII look-alike letters folded (Ｖ, 𝐕, 🅧)
    traditional: int = 0  # characters converted traditional -> simplified
    variants: list[Variant] = field(default_factory=list)  # homophone / pinyin / symbol spellings mapped
    splits: list[tuple[int, int]] = field(default_factory=list)  # original spans of split-up words

    @property
    def total(self) -> int:
        return (self.split_symbols + self.spaced_chars + self.latin_splits + self.zero_width
                + self.fullwidth_letters + len(self.variants))

    def as_dict(self) -> dict:
        return {
            "split_symbols": self.split_symbols,
            "spaced_chars": self.spaced_chars,
            "latin_splits": self.latin_splits,
            "zero_width": self.zero_width,
            "fullwidth_letters": self.fullwidth_letters,
            "traditional": self.traditional,
            "variants": [(v.original, v.canonical) for v in self.variants],
        }


class _Tracked:
    """A text and, for each of its characters, the span of the original text it came from."""

    __slots__ = ("text", "starts", "ends")

    def __init__(self, text: str, starts: list[int] | None = None, ends: list[int] | None = None) -> None:
        self.text = text
        self.starts = starts  # None: identity (nothing changed length yet)
        self.ends = ends

    def span(self, i: int, j: int) -> tuple[int, int]:
        if self.starts is None or self.ends is None:
            return i, j
        if j <= i:
            pos = self.starts[i] if i < len(self.starts) else (self.ends[-1] if self.ends else 0)
            return pos, pos
        return self.starts[i], self.ends[j - 1]

    def edit(self, edits: list[tuple[int, int, str]]) -> _Tracked:
        """Apply non-overlapping (start, end, replacement) edits in order; replaced characters map to the
        whole original span they replace."""
        if not edits:
            return self
        text = self.text
        if self.starts is None or self.ends is None:
            starts: list[int] = list(range(len(text)))
            ends: list[int] = list(range(1, len(text) + 1))
        else:
            starts, ends = self.starts, self.ends
        out_text: list[str] = []
        out_starts: list[int] = []
        out_ends: list[int] = []
        pos = 0
        for a, b, repl in edits:
            out_text.append(text[pos:a])
            out_starts.extend(starts[pos:a])
            out_ends.extend(ends[pos:a])
            if repl:
                if b > a:
                    s, e = starts[a], ends[b - 1]
                else:  # pure insertion: anchor on the previous character
                    s = e = ends[a - 1] if a else 0
                out_text.append(repl)
                out_starts.extend([s] * len(repl))
                out_ends.extend([e] * len(repl))
            pos = b
        out_text.append(text[pos:])
        out_starts.extend(starts[pos:])
        out_ends.extend(ends[pos:])
        return _Tracked("".join(out_text), out_starts, out_ends)


@dataclass(slots=True)
class Normalised:
    """The result of `normalise`. Positions in `text` and `base` map back with `span`/`base_span`."""

    original: str
    text: str
    base: str
    evasion: Evasion
    _final: _Tracked
    _base: _Tracked

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original span of `text[start:end]`."""
        return self._final.span(start, end)

    def base_span(self, start: int, end: int) -> tuple[int, int]:
        """Original span of `base[start:end]`."""
        return self._base.span(start, end)

    def quote(self, start: int, end: int) -> str:
        """The original text behind `text[start:end]`."""
        s, e = self.span(start, end)
        return self.original[s:e]

    def base_quote(self, start: int, end: int) -> str:
        s, e = self.base_span(start, end)
        return self.original[s:e]


# ---------------------------------------------------------------------------------------------- folding
@lru_cache(maxsize=1)
def _fold_tables() -> tuple[dict[str, str], re.Pattern[str], frozenset[str]]:
    """(character -> folded form, regex of every character that folds, the look-alike letters).
    Built once from unicodedata (about 0.2 s)."""
    table: dict[int, str] = {}
    multi: list[str] = []
    lookalike: list[str] = []
    ranges = [(0x80, 0xD800), (0xE000, 0x10000), (0x1D400, 0x1D800), (0x1F100, 0x1F300)]
    for lo, hi in ranges:
        for cp in range(lo, hi):
            ch = chr(cp)
            n = unicodedata.normalize("NFKC", ch)
            digit = unicodedata.digit(ch, None)
            if digit is not None and not (len(n) == 1 and n.isascii()):
                n = str(digit)  # ❶ ➊ ⓵ and other digits NFKC leaves alone
            if len(n) == 1:
                base = "".join(c for c in unicodedata.normalize("NFD", n) if not unicodedata.combining(c))
                if len(base) == 1 and base.isascii() and base.isalpha():
                    n = base
                n = n.lower() if n.isascii() else n
                if n != ch:
                    table[cp] = n
                    if n.isascii() and n.isalpha():
                        lookalike.append(ch)
            elif n != ch and ch not in "…‥":
                n = n.lower() if n.isascii() else n
                table[cp] = n
                multi.append(ch)
    # enclosed letters NFKC leaves alone: 🅐-🅩 (negative circled), 🅰-🆉 (negative squared), 🇦-🇿
    for lo in (0x1F150, 0x1F170, 0x1F1E6):
        for k in range(26):
            table[lo + k] = chr(ord("a") + k)
            lookalike.append(chr(lo + k))
    for k in range(26):
        table[ord("A") + k] = chr(ord("a") + k)
    table.pop(ord(SEGMENT_SEPARATOR), None)
    folds = {chr(cp): v for cp, v in table.items()}
    # the class holds only BMP characters: a class with astral ranges is tested range by range for every
    # character; astral characters (emoji, 𝐕, 🅧) are found with one range and looked up instead
    return folds, char_class(c for c in folds if ord(c) < 0x10000), frozenset(lookalike)


@lru_cache(maxsize=1)
def _fold_fast() -> tuple[dict[int, str], re.Pattern[str], re.Pattern[str]]:
    """(str.translate table of every fold, regex of the folds that change length, regex of look-alike
    letters): folding one-to-one with `translate` runs in C, without a Python call per folded character."""
    folds, _, lookalike = _fold_tables()
    table = {ord(c): v for c, v in folds.items()}
    multi = char_class(c for c, v in folds.items() if len(v) != 1)
    return table, multi, char_class(lookalike)


def char_class(chars) -> re.Pattern[str]:
    """A compiled character class of `chars`, written as ranges: the regex engine tests a class with
    thousands of separate astral characters one by one, but ranges quickly."""
    points = sorted({ord(c) for c in chars})
    if not points:
        return re.compile(r"(?!)")
    parts = []
    lo = prev = points[0]
    for p in points[1:] + [-1]:
        if p == prev + 1:
            prev = p
            continue
        parts.append(re.escape(chr(lo)) if lo == prev else f"{re.escape(chr(lo))}-{re.escape(chr(prev))}")
        lo = prev = p
    return re.compile("[" + "".join(parts) + "]")


_ASTRAL_RE = re.compile("[\U00010000-\U0010ffff]")


def _fold_now(t: _Tracked, ev: Evasion) -> _Tracked:
    """Step 1 for a text that has a character that folds or an astral character (`_fold_check`)."""
    folds, bmp_re, lookalike = _fold_tables()
    text = t.text
    table, multi_re, lookalike_re = _fold_fast()
    # the classes hold astral characters, which the engine tests range by range: their BMP parts first,
    # and the astral ones only for a text that has astral characters
    multi_bmp, lookalike_bmp = _fold_bmp()
    astral = max(text) > "\uffff"
    if multi_bmp.search(text) is None and not (astral and multi_re.search(text)):
        # one-to-one (the usual case): positions do not move
        ev.fullwidth_letters += len((lookalike_re if astral else lookalike_bmp).findall(text))
        return _Tracked(text.translate(table), t.starts, t.ends)
    state = [0, False]  # look-alike letters folded, a fold changed the length

    def repl(m: re.Match[str]) -> str:
        c = m.group()
        r = folds.get(c, c)
        if c in lookalike:
            state[0] += 1
        if len(r) != 1:
            state[1] = True
        return r

    folded = bmp_re.sub(repl, text)
    if _ASTRAL_RE.search(folded):
        folded = _ASTRAL_RE.sub(repl, folded)
    ev.fullwidth_letters += state[0]
    if not state[1]:  # one-to-one (the usual case): positions do not move
        return _Tracked(folded, t.starts, t.ends)
    hits = [m for m in bmp_re.finditer(text)] + [m for m in _ASTRAL_RE.finditer(text) if m.group() in folds]
    hits.sort(key=lambda m: m.start())
    return t.edit([(m.start(), m.end(), folds[m.group()]) for m in hits])


# ------------------------------------------------------------------------------------ traditional chars
@lru_cache(maxsize=1)
def _t2s() -> tuple[object, re.Pattern[str], dict[int, str]]:
    import opencc  # C++-backed; imported lazily so importing the package stays cheap

    converter = opencc.OpenCC("t2s")
    chars = [chr(cp) for lo, hi in ((0x3400, 0x4DC0), (0x4E00, 0xA000), (0xF900, 0xFB00)) for cp in range(lo, hi)]
    converted = converter.convert("\n".join(chars)).split("\n")
    mapping = {}
    if len(converted) == len(chars):
        mapping = {ord(a): b for a, b in zip(chars, converted, strict=True) if a != b and len(b) == 1}
    trad_re = char_class(chr(c) for c in mapping)
    return converter, trad_re, mapping


def _simplify(t: _Tracked, ev: Evasion) -> _Tracked:
    converter, trad_re, mapping = _t2s()
    if not trad_re.search(t.text):
        return t
    converted = converter.convert(t.text)  # type: ignore[attr-defined]
    if len(converted) != len(t.text):  # a phrase conversion changed length: fall back to characters
        converted = t.text.translate(mapping)
    ev.traditional += sum(1 for a, b in zip(t.text, converted, strict=True) if a != b)
    return _Tracked(converted, t.starts, t.ends)


# ------------------------------------------------------------------------------------------------ steps
def _drop_invisible(t: _Tracked, ev: Evasion) -> _Tracked:
    if not _INVISIBLE_RE.search(t.text):
        return t
    edits = []
    for m in _INVISIBLE_RE.finditer(t.text):
        hidden = len(_ZERO_WIDTH_RE.findall(m.group()))
        if hidden:
            ev.zero_width += hidden
            s, _ = t.span(max(0, m.start() - 1), m.start())
            _, e = t.span(m.end(), min(len(t.text), m.end() + 1))
            ev.splits.append((s, e))  # the word the invisible characters were hidden in
        edits.append((m.start(), m.end(), ""))
    return t.edit(edits)


def _map_symbols(t: _Tracked, ev: Evasion, original: str, lexicon: Lexicon) -> _Tracked:
    if lexicon.symbol_re is None or not lexicon.symbol_re.search(t.text):
        return t
    edits = []
    for m in lexicon.symbol_re.finditer(t.text):
        sym = lexicon.symbols[m.group()]
        edits.append((m.start(), m.end(), sym.means))
        if sym.evasion:
            s, e = t.span(m.start(), m.end())
            ev.variants.append(Variant(original[s:e], sym.means, s, e))
    return t.edit(edits)


def _join_splits(t: _Tracked, ev: Evasion, runs: Iterable[tuple[int, int, str]] | None = None,
                 latin: Iterable[tuple[int, int, str]] | None = None) -> _Tracked:
    """`runs` and `latin`: (start, end, text) of the matches of _JOINED_RUN_RE and _LATIN_SPLIT_RE in
    `t.text`, when the caller has them."""
    text = t.text
    if runs is None:
        runs = [(m.start(), m.end(), m.group()) for m in _JOINED_RUN_RE.finditer(text)]
    if latin is None:
        latin = [(m.start(), m.end(), m.group()) for m in _LATIN_SPLIT_RE.finditer(text)]
    edits: list[tuple[int, int, str]] = []
    symbol_gaps: list[tuple[int, int]] = []  # (start, end) of separator runs in `text`
    space_gaps: list[tuple[int, int]] = []
    for start, end, run in runs:
        edits.append((start, end, ""))
        if any(c in _HSPACE for c in run):
            space_gaps.append((start, end))
        elif not all(c in _DELIMITERS for c in run):  # 招聘|顾问, App-我的 are ordinary delimiters
            symbol_gaps.append((start, end))
    for start, end, letters in latin:
        edits.append((start, end, _LATIN_SEP_RE.sub("", letters)))
        ev.latin_splits += 1
        ev.splits.append(t.span(start, end))
    if not edits:
        return t
    edits.sort()
    ev.split_symbols += len(symbol_gaps)
    # a CJK character with spaced gaps on both sides stands alone: 正 信 有 问 题
    gap_after = {a for a, _ in space_gaps}  # character at index a-1 is followed by a gap
    gap_before = {b for _, b in space_gaps}  # character at index b is preceded by a gap
    ev.spaced_chars += sum(1 for b in gap_before if (b + 1) in gap_after)
    # original spans of split-up words: chains of gaps one character apart
    for gaps, min_gaps in ((symbol_gaps, 1), (space_gaps, 3)):
        chain: list[tuple[int, int]] = []
        for gap in gaps + [(-10, -10)]:
            if chain and gap[0] == chain[-1][1] + 1:
                chain.append(gap)
                continue
            if len(chain) >= min_gaps:
                s, _ = t.span(chain[0][0] - 1, chain[0][0])
                _, e = t.span(chain[-1][1], chain[-1][1] + 1)
                ev.splits.append((s, e))
            chain = [gap]
    return t.edit(edits)


def _map_terms(t: _Tracked, ev: Evasion, original: str, lexicon: Lexicon,
               found: list[tuple[int, int, object]] | None = None) -> _Tracked:
    """`found`: the lexicon scanner's `findall` of `t.text`, when the caller has it already."""
    if lexicon.scanner is None:
        return t
    text = t.text
    edits = []
    if found is None:
        found = lexicon.scanner.findall(text)
    if not found:
        return t
    for start, end, tag in non_overlapping(found):
        matched = text[start:end]
        if tag == "spelling":
            found = lexicon.spellings.get(matched.replace(" ", ""))
            if found is None:
                continue
            canonical, evasive = found
        else:
            _rx, canonical, evasive = lexicon.regex_variants[tag[1]]  # type: ignore[index]
        if matched == canonical:
            continue
        edits.append((start, end, canonical))
        if evasive:
            s, e = t.span(start, end)
            ev.variants.append(Variant(original[s:e], canonical, s, e))
    if not edits:
        return t
    t = t.edit(edits)
    # pinyin written word by word ("zhai wu you hua") leaves spaces between the words it became
    gaps = [m.span() for m in _SPACE_RUN_RE.finditer(t.text)
            if m.start() and m.end() < len(t.text) and _is_cjk(t.text[m.start() - 1]) and _is_cjk(t.text[m.end()])]
    return t.edit([(a, b, "") for a, b in gaps])


_SPACE_RUN_RE = re.compile(f"[{_HSPACE}]+")


# ------------------------------------------------------------------------------------------------- API
@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    return Lexicon.load()


def normalise(text: str, lexicon: Lexicon | None = None) -> Normalised:
    """Normalise `text` (see the module docstring). Never raises on odd input; `text` must be a str."""
    return normalise_many([text], lexicon)[0]


def normalise_many(texts: list[str], lexicon: Lexicon | None = None) -> list[Normalised]:
    """`normalise` of each text. Each step looks for what it has to do in all the texts at once (regexopt's
    joined scans, which find what a scan of each text finds) and then works on the texts that need it."""
    lexicon = lexicon or default_lexicon()
    evs = [Evasion() for _ in texts]
    ts = [_Tracked(text) for text in texts]
    need = Batch(texts).having(_fold_check())
    if need:
        _fold_many(ts, evs, sorted(need))
    rest_bmp, rest = _middle_check(tuple(lexicon.symbols))
    batch = Batch([t.text for t in ts])
    middle = batch.having(rest_bmp)  # a text with astral characters is searched for those too
    middle |= {k for k in batch.having(_ASTRAL_RE) if rest.search(batch.texts[k]) is not None}
    for k in middle:
        t, ev = ts[k], evs[k]
        t = _drop_invisible(t, ev)
        t = _simplify(t, ev)
        ts[k] = _map_symbols(t, ev, texts[k], lexicon)
    batch = Batch([t.text for t in ts]) if middle else batch
    runs, latin = batch.finditer(_JOINED_RUN_RE), batch.finditer(_LATIN_SPLIT_RE)
    for k in runs.keys() | latin.keys():
        ts[k] = _join_splits(ts[k], evs[k], runs.get(k, ()), latin.get(k, ()))
    scanner = lexicon.scanner
    found = scanner.findall_batch(Batch([t.text for t in ts])) if scanner is not None else {}
    out = []
    for k, (text, ev, base) in enumerate(zip(texts, evs, ts, strict=True)):
        t = _map_terms(base, ev, text, lexicon, found.get(k, [])) if k in found else base
        if len(ev.variants) > 1:
            ev.variants.sort(key=_variant_start)
        out.append(Normalised(text, t.text, base.text, ev, t, base))
    return out


def _fold_many(ts: list[_Tracked], evs: list[Evasion], need: list[int]) -> None:
    """`_fold_now` of ts[k] for each k in `need` (texts not changed yet). Texts whose every fold is one
    character for one (the usual case) are translated together, and their look-alike letters counted in one
    scan."""
    table, multi_re, lookalike_re = _fold_fast()
    multi_bmp, lookalike_bmp = _fold_bmp()
    sub = Batch([ts[k].text for k in need])
    astral = sub.having(_ASTRAL_RE)
    multi = sub.having(multi_bmp) | {i for i in astral if multi_re.search(sub.texts[i]) is not None}
    simple = [i for i in range(len(need)) if i not in multi]
    if simple:
        looks = sub.finditer(lookalike_bmp)
        folded = "\n".join(sub.texts[i] for i in simple).translate(table)  # one for one: same offsets
        pos = 0
        for i in simple:
            text = sub.texts[i]
            k = need[i]
            evs[k].fullwidth_letters += len(lookalike_re.findall(text) if i in astral else looks.get(i, ()))
            ts[k] = _Tracked(folded[pos:pos + len(text)], ts[k].starts, ts[k].ends)
            pos += len(text) + 1
    for i in multi:
        ts[need[i]] = _fold_now(ts[need[i]], evs[need[i]])


def _variant_start(v: Variant) -> int:
    return v.start


@lru_cache(maxsize=1)
def _fold_bmp() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The BMP characters of `_fold_fast`'s two classes (folds that change length, look-alike letters)."""
    folds, _, lookalike = _fold_tables()
    return (char_class(c for c, v in folds.items() if len(v) != 1 and ord(c) < 0x10000),
            char_class(c for c in lookalike if ord(c) < 0x10000))


@lru_cache(maxsize=1)
def _fold_check() -> re.Pattern[str]:
    """Matches where `_fold` has work: a character that folds, or any astral character."""
    _, bmp_re, _ = _fold_tables()
    return re.compile(bmp_re.pattern + "|" + _ASTRAL_RE.pattern)


@lru_cache(maxsize=8)
def _middle_check(lexicon_symbols: tuple[str, ...]) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(for a text of BMP characters only, for any text): patterns that match where dropping invisible
    characters, traditional -> simplified or the lexicon's symbols (`lexicon_symbols`) have work. One class
    of BMP characters is one test per character; astral characters go to the second pattern."""
    _, trad_re, mapping = _t2s()
    invisible = _members(_ZERO_WIDTH + _SILENT)
    single = [c for c in lexicon_symbols if len(c) == 1]
    longer = [re.escape(c) for c in lexicon_symbols if len(c) > 1]
    chars = set(invisible) | {chr(c) for c in mapping} | set(single)
    bmp = char_class(c for c in chars if ord(c) < 0x10000)
    parts = [bmp.pattern, _ASTRAL_RE.pattern] + longer
    bmp_only = re.compile("|".join([bmp.pattern] + longer)) if longer else bmp
    return bmp_only, re.compile("|".join(parts))


def chinese_digits_to_ascii(text: str) -> str:
    """Read Chinese numerals (一二三…, 壹贰叁…, 幺, 零/〇) as ASCII digits; other characters unchanged."""
    return text.translate(_DIGIT_TABLE)


_DIGIT_TABLE = {ord(k): v for k, v in CHINESE_DIGITS.items()}


def warm_up(lexicon: Lexicon | None = None) -> None:
    """Build the lazily built tables now (the first `normalise` call otherwise pays for it)."""
    _fold_tables()
    _fold_fast()
    _t2s()
    normalise("預熱 warm-up", lexicon)
