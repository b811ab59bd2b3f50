"""The evasion lexicon (`lexicon.yaml`): loading, validation, and the compiled matchers the normaliser uses.

A term's spellings are generated from its characters, their homophones and their pinyin, and compiled into
one trie-shaped regular expression, so a lexicon of a few thousand spellings still costs one scan per text.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from takedown.scoring.errors import LexiconError
from takedown.scoring.regexopt import Scanner
from takedown.scoring.yamlfile import read_yaml

DEFAULT_LEXICON_PATH = Path(__file__).with_name("lexicon.yaml")

# Characters that, next to a latin part of a spelling, mean "this is part of a longer latin word or an id":
# zx must not match inside zx_huifu_77, xs not inside xsk.ketang.pro.
LATIN_WORD = r"a-z0-9_\-.@/"
LATIN_AFTER = rf"(?![{LATIN_WORD}])"

# Digits as promoters write them inside contact details (幺 is 1 on the phone; 两 is not used in ids).
CHINESE_DIGITS = {
    "零": "0", "〇": "0", "一": "1", "幺": "1", "二": "2", "三": "3", "四": "4", "五": "5", "六": "6",
    "七": "7", "八": "8", "九": "9", "壹": "1", "贰": "2", "叁": "3", "肆": "4", "伍": "5", "陆": "6",
    "柒": "7", "捌": "8", "玖": "9",
}
CHINESE_DIGIT_CLASS = "".join(CHINESE_DIGITS)
# What may follow a one-letter or one-character alias of 微信 for it to count: an id (or a digit run).
_ID_AHEAD_LATIN = rf"(?=(?:[\s:=号信❤💚💗♥💙🖤])+[a-z0-9_{CHINESE_DIGIT_CLASS}]|[{CHINESE_DIGIT_CLASS}])"
_ID_AHEAD_CJK = rf"(?=[\s:=号信❤💚💗♥💙🖤]*[a-z0-9_{CHINESE_DIGIT_CLASS}])"

_LATIN_RE = re.compile(r"[a-z0-9]")
_SYLLABLE_RE = re.compile(r"^[a-z]+$")


def _latin_guard(part: str) -> str:
    """`part` escaped, matching only where no latin word character precedes it. The look-behind comes
    after the first character so that the pattern still starts with a literal (see regexopt)."""
    first = re.escape(part[0])
    return first + f"(?<![{LATIN_WORD}]{first})" + re.escape(part[1:])


def _is_latin(part: str) -> bool:
    return bool(_LATIN_RE.fullmatch(part[0])) if part else False


def _ends_latin(part: str) -> bool:
    return bool(_LATIN_RE.fullmatch(part[-1])) if part else False


@dataclass(frozen=True, slots=True)
class Term:
    canonical: str
    pinyin: tuple[str, ...]
    initials: bool
    variants: tuple[str, ...]
    regex: tuple[str, ...]
    before_id: bool
    homophones: bool
    evasion: bool


@dataclass(frozen=True, slots=True)
class Symbol:
    symbol: str
    means: str
    evasion: bool


class Lexicon:
    """Compiled lexicon. Build with `Lexicon.load(path)` or `Lexicon.from_dict(data)`."""

    def __init__(self, symbols: list[Symbol], homophones: dict[str, tuple[str, ...]], terms: list[Term],
                 source: str = "<dict>") -> None:
        self.source = source
        self.symbols = {s.symbol: s for s in symbols}
        self.homophones = homophones
        self.terms = terms
        if not self.symbols:
            self.symbol_re = None
        elif all(len(s) == 1 for s in self.symbols) and all(ord(s) < 0x10000 for s in self.symbols):
            self.symbol_re = re.compile("[" + "".join(re.escape(s) for s in self.symbols) + "]")
        else:
            self.symbol_re = re.compile("|".join(re.escape(s) for s in sorted(self.symbols, key=len, reverse=True)))
        self._compile_terms()

    # ----------------------------------------------------------------------------------------- loading
    @classmethod
    def load(cls, path: str | Path = DEFAULT_LEXICON_PATH) -> Lexicon:
        return cls.from_dict(read_yaml(path, LexiconError), source=str(path))

    @classmethod
    def from_dict(cls, data: Any, source: str = "<dict>") -> Lexicon:
        if not isinstance(data, Mapping):
            raise LexiconError(f"{source}: top level must be a mapping with symbols, homophones, terms")
        unknown = set(data) - {"symbols", "homophones", "terms"}
        if unknown:
            raise LexiconError(f"{source}: unknown top-level key(s) {sorted(unknown)}")
        symbols = [_parse_symbol(source, i, item) for i, item in enumerate(data.get("symbols") or [])]
        homophones = _parse_homophones(source, data.get("homophones") or {})
        terms = [_parse_term(source, i, item) for i, item in enumerate(data.get("terms") or [])]
        return cls(symbols, homophones, terms, source)

    # --------------------------------------------------------------------------------------- compiling
    def _compile_terms(self) -> None:
        spellings: dict[str, tuple[str, bool]] = {}  # squashed spelling -> (canonical, evasion)
        paths: list[tuple[str, ...]] = []
        context_alts: list[str] = []
        regex_alts: list[tuple[str, str, bool]] = []
        for term in self.terms:
            if term.before_id:
                for v in term.variants:
                    ahead = _ID_AHEAD_LATIN if _ends_latin(v) else _ID_AHEAD_CJK
                    body = _latin_guard(v) if _is_latin(v) else re.escape(v)
                    context_alts.append(body + ahead)
                    spellings.setdefault(_squash(v), (term.canonical, term.evasion))
            else:
                for parts in self._spellings(term):
                    squashed = _squash("".join(parts))
                    if squashed == term.canonical:
                        continue  # already canonical: nothing to map, no need to find it
                    paths.append(parts)
                    spellings.setdefault(squashed, (term.canonical, term.evasion))
            for rx in term.regex:
                regex_alts.append((rx, term.canonical, term.evasion))
        self.spellings = spellings
        self.regex_variants = regex_alts
        items: list[tuple[str, object]] = [(rx, ("regex", i)) for i, (rx, _c, _e) in enumerate(regex_alts)]
        items += [(alt, "spelling") for alt in context_alts]
        items += [(alt, "spelling") for alt in _trie_alternatives(paths)]
        self.scanner: Scanner | None = Scanner(items) if items else None

    def _spellings(self, term: Term) -> Iterable[tuple[str, ...]]:
        """Every generated spelling of `term` as a tuple of parts (one per character), plus its variants."""
        chars = list(term.canonical)
        seen: set[tuple[str, ...]] = set()
        out: list[tuple[str, ...]] = []

        def add(parts: tuple[str, ...]) -> None:
            if parts not in seen:
                seen.add(parts)
                out.append(parts)

        add(tuple(chars))
        if term.pinyin and len(term.pinyin) == len(chars):
            # option kinds: c = the character, h = a homophone, p = full pinyin, i = pinyin initial
            options = []
            for ch, py in zip(chars, term.pinyin, strict=True):
                opts = [(ch, "c")]
                if term.homophones:
                    opts += [(h, "h") for h in self.homophones.get(ch, ())]
                opts.append((py, "p"))
                if len(py) > 1:
                    opts.append((py[0], "i"))
                options.append(opts)
            n = len(chars)
            for combo in itertools.product(*options):
                kinds = [k for _, k in combo]
                c, h, p, i = (kinds.count(x) for x in "chpi")
                allowed = (
                    (c >= 1 and c < n)                     # 婷息挂帐, 征x, xing用卡, 个x化分q
                    or (n >= 2 and p == n)                 # tingxi, ting xi gua zhang
                    or (term.initials and i == n)          # zx, xyk, fcs
                    or (n >= 2 and c == 0 and h >= 1 and p + i >= 1)  # 婷xi
                )
                if allowed:
                    add(tuple(part for part, _ in combo))
        elif term.homophones:
            options = [[ch, *self.homophones.get(ch, ())] for ch in chars]
            for combo in itertools.product(*options):
                if any(a == b for a, b in zip(combo, chars, strict=True)):
                    add(tuple(combo))
        for v in term.variants:
            add(tuple(_split_variant(v)))
        return out


def _squash(s: str) -> str:
    return s.replace(" ", "")


def _split_variant(v: str) -> list[str]:
    """A literal variant as parts: runs of latin letters/digits, single other characters."""
    return re.findall(r"[a-z0-9]+|\s+|.", v)


def _trie_alternatives(paths: list[tuple[str, ...]]) -> list[str]:
    """Regular expressions (one per first part) that together match any of `paths`, longest first, latin
    parts only as whole words. Adjacent parts may be separated by one space when either is latin
    ("ting xi", "花 bei")."""
    root: dict = {}
    end = object()
    for parts in paths:
        node = root
        for part in parts:
            if part.isspace():
                continue
            node = node.setdefault(part, {})
        node[end] = True

    def render(node: dict, prev: str | None) -> str:
        alts = []
        for part in sorted((k for k in node if k is not end), key=lambda k: (-len(k), k)):
            piece = re.escape(part)
            if prev is None:
                if _is_latin(part):
                    piece = _latin_guard(part)
            elif _ends_latin(prev) or _is_latin(part):
                piece = " ?" + piece
            alts.append(piece + render(node[part], part))
        if node.get(end):
            alts.append(LATIN_AFTER if prev is not None and _ends_latin(prev) else "")
        if prev is None:
            return alts  # type: ignore[return-value]
        if len(alts) == 1:
            return alts[0]
        return "(?:" + "|".join(alts) + ")"

    return render(root, None) if root else []  # type: ignore[return-value]


# ------------------------------------------------------------------------------------------ validation
def _parse_symbol(source: str, i: int, item: Any) -> Symbol:
    where = f"{source}: symbols[{i}]"
    if not isinstance(item, Mapping):
        raise LexiconError(f"{where}: must be a mapping with keys symbol, means")
    unknown = set(item) - {"symbol", "means", "evasion"}
    if unknown:
        raise LexiconError(f"{where}: unknown key(s) {sorted(unknown)}")
    symbol, means = item.get("symbol"), item.get("means")
    if not isinstance(symbol, str) or not symbol:
        raise LexiconError(f"{where}: key 'symbol' must be a non-empty string")
    if not isinstance(means, str) or not means:
        raise LexiconError(f"{where} ({symbol!r}): key 'means' must be a non-empty string")
    evasion = item.get("evasion", True)
    if not isinstance(evasion, bool):
        raise LexiconError(f"{where} ({symbol!r}): key 'evasion' must be true or false")
    return Symbol(symbol, means, evasion)


def _parse_homophones(source: str, data: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(data, Mapping):
        raise LexiconError(f"{source}: homophones must be a mapping of character -> list of characters")
    out: dict[str, tuple[str, ...]] = {}
    for ch, alts in data.items():
        if not isinstance(ch, str) or len(ch) != 1:
            raise LexiconError(f"{source}: homophones: key {ch!r} must be one character")
        if not isinstance(alts, list) or not all(isinstance(a, str) and len(a) == 1 for a in alts):
            raise LexiconError(f"{source}: homophones[{ch}]: must be a list of single characters")
        out[ch] = tuple(alts)
    return out


_TERM_KEYS = {"canonical", "pinyin", "initials", "variants", "regex", "before_id", "homophones", "evasion"}


def _parse_term(source: str, i: int, item: Any) -> Term:
    where = f"{source}: terms[{i}]"
    if not isinstance(item, Mapping):
        raise LexiconError(f"{where}: must be a mapping with at least the key 'canonical'")
    canonical = item.get("canonical")
    if not isinstance(canonical, str) or not canonical:
        raise LexiconError(f"{where}: key 'canonical' must be a non-empty string")
    where = f"{where} ({canonical})"
    unknown = set(item) - _TERM_KEYS
    if unknown:
        raise LexiconError(f"{where}: unknown key(s) {sorted(unknown)}")
    pinyin_raw = item.get("pinyin")
    pinyin: tuple[str, ...] = ()
    if pinyin_raw is not None:
        if not isinstance(pinyin_raw, str):
            raise LexiconError(f"{where}: key 'pinyin' must be a string of space-separated syllables")
        pinyin = tuple(pinyin_raw.split())
        if len(pinyin) != len(canonical) or not all(_SYLLABLE_RE.match(p) for p in pinyin):
            raise LexiconError(
                f"{where}: key 'pinyin' must give one lower-case syllable per character "
                f"({len(canonical)} expected, got {pinyin_raw!r})"
            )
    flags = {}
    for key, default in (("initials", False), ("before_id", False), ("homophones", True), ("evasion", True)):
        value = item.get(key, default)
        if not isinstance(value, bool):
            raise LexiconError(f"{where}: key {key!r} must be true or false")
        flags[key] = value
    variants = _str_list(where, item, "variants")
    for v in variants:
        if v != v.lower():
            raise LexiconError(f"{where}: key 'variants': {v!r} must be lower-case (text is lower-cased)")
    regex = _str_list(where, item, "regex")
    for rx in regex:
        try:
            compiled = re.compile(rx)
        except re.error as exc:
            raise LexiconError(f"{where}: key 'regex': {rx!r} does not compile: {exc}") from exc
        if compiled.groups:
            raise LexiconError(f"{where}: key 'regex': {rx!r} must not contain capturing groups; use (?:...)")
    if flags["before_id"] and (not variants or regex or pinyin):
        raise LexiconError(f"{where}: a before_id term takes only 'variants'")
    if not (variants or regex or pinyin or flags["homophones"]):
        raise LexiconError(f"{where}: gives no spelling (pinyin, variants or regex)")
    return Term(canonical, pinyin, flags["initials"], variants, regex, flags["before_id"],
                flags["homophones"], flags["evasion"])


def _str_list(where: str, item: Mapping, key: str) -> tuple[str, ...]:
    value = item.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise LexiconError(f"{where}: key {key!r} must be a list of non-empty strings")
    return tuple(value)
