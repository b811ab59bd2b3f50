"""Many tagged regular expressions compiled into as few scans as possible.

Python's regex engine skips quickly to the positions where a match can start only when every top-level
alternative of a pattern begins with a literal character. A naive union `(?P<a>...)|(?P<b>...)` begins with
groups and is scanned position by position (hundreds of times slower on this workload). `Scanner` therefore
rewrites each pattern into alternatives that start with a literal ("(?:最新|国家)政策" -> "最新政策",
"国家政策"; "[“\\"]x" -> "“x", "\\"x"), puts the tag in an empty named group at the END of each alternative,
and compiles those into one fast union; patterns it cannot rewrite go into a second, ordinary union.

Two more rewrites keep the fast union fast without changing what it matches: a number's digit branches
("0\\d*元" ... "9\\d*元", from "\\d+元") are tried only where a digit run starts (`_digit_guards`), and
consecutive branches that open with the same look-around test it once (`_shared_lookarounds`).

A short text costs little more to scan than the call that scans it, so many texts are scanned at once where
that gives the same matches: `Batch` joins them with a separator character and scans the whole once (see
`join_separator` for when that is exact, and `Batch.split` for the matches that reach across texts).
"""

from __future__ import annotations

import re
import sys
from bisect import bisect_right
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from functools import lru_cache
from itertools import accumulate
from operator import add
from re import _constants, _parser  # type: ignore[attr-defined]  # to tell which patterns can be joined
from typing import Generic, TypeVar

T = TypeVar("T", bound=Hashable)

_MAX_BRANCHES = 400  # per pattern; beyond this a pattern is left as it is
_CLASS_LIMIT = 40  # a leading character class with more members is not expanded
_SPECIAL = set(".^$*+?{}[]\\|()")


def _close_paren(s: str, i: int) -> int:
    """Index of the ')' closing the group that opens at s[i] == '('; -1 if unbalanced."""
    depth = 0
    k = i
    while k < len(s):
        c = s[k]
        if c == "\\":
            k += 2
            continue
        if c == "[":
            k = _close_class(s, k)
            if k < 0:
                return -1
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return k
        k += 1
    return -1


def _close_class(s: str, i: int) -> int:
    """Index of the ']' closing the class that opens at s[i] == '['."""
    k = i + 1
    if k < len(s) and s[k] == "^":
        k += 1
    if k < len(s) and s[k] == "]":
        k += 1
    while k < len(s):
        if s[k] == "\\":
            k += 2
            continue
        if s[k] == "]":
            return k
        k += 1
    return -1


def split_alternatives(pattern: str) -> list[str]:
    """Top-level alternatives of `pattern` ("a|(?:b|c)d" -> ["a", "(?:b|c)d"])."""
    parts, depth, start, k = [], 0, 0, 0
    while k < len(pattern):
        c = pattern[k]
        if c == "\\":
            k += 2
            continue
        if c == "[":
            k = _close_class(pattern, k)
            if k < 0:
                return [pattern]
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            parts.append(pattern[start:k])
            start = k + 1
        k += 1
    parts.append(pattern[start:])
    return parts


def _quantifier(s: str) -> tuple[str, str]:
    """(quantifier at the start of s, the rest)."""
    if not s:
        return "", s
    if s[0] in "?*+":
        q = s[0]
        rest = s[1:]
    elif s[0] == "{":
        m = re.match(r"\{\d*(?:,\d*)?\}", s)
        if not m:
            return "", s
        q, rest = m.group(), s[m.end():]
    else:
        return "", s
    if rest.startswith("?") or rest.startswith("+"):  # lazy / possessive
        q, rest = q + rest[0], rest[1:]
    return q, rest


def _class_members(body: str) -> list[str] | None:
    """Members of a simple positive character class body, or None if it is not simple."""
    out: list[str] = []
    k = 0
    while k < len(body):
        c = body[k]
        if c == "\\":
            if k + 1 >= len(body):
                return None
            nxt = body[k + 1]
            if nxt == "d":
                out.extend("0123456789")
            elif nxt.isalnum():
                return None
            else:
                out.append(nxt)
            k += 2
            continue
        if k + 2 < len(body) and body[k + 1] == "-":
            lo, hi = c, body[k + 2]
            if hi == "\\" or ord(hi) - ord(lo) > _CLASS_LIMIT or ord(hi) < ord(lo):
                return None
            out.extend(chr(x) for x in range(ord(lo), ord(hi) + 1))
            k += 3
            continue
        out.append(c)
        k += 1
    return out if len(out) <= _CLASS_LIMIT else None


def _expand_atom(members: list[str], atom: str, rest: str, depth: int) -> list[str] | None:
    q, after = _quantifier(rest)
    if q == "":
        return [b for m in members for b in expand(re.escape(m) + after, depth + 1)]
    if q == "+":
        return [b for m in members for b in expand(re.escape(m) + atom + "*" + after, depth + 1)]
    if q == "?":
        return [b for m in members for b in expand(re.escape(m) + after, depth + 1)] + expand(after, depth + 1)
    return None


def expand(branch: str, depth: int = 0) -> list[str]:
    """Rewrite one alternative into alternatives that start with a literal where possible."""
    if depth > 8 or not branch:
        return [branch]
    out: list[str] | None = None
    if branch.startswith("(?:"):
        j = _close_paren(branch, 0)
        if j > 0:
            inner, rest = branch[3:j], branch[j + 1:]
            q, after = _quantifier(rest)
            alts = split_alternatives(inner)
            if q == "":
                out = [b for alt in alts for b in expand(alt + rest, depth + 1)]
            elif q == "?":
                out = [b for alt in alts for b in expand(alt + after, depth + 1)] + expand(after, depth + 1)
    elif branch[0] == "[" and not branch.startswith("[^"):
        j = _close_class(branch, 0)
        if j > 0:
            members = _class_members(branch[1:j])
            if members:
                out = _expand_atom(members, branch[: j + 1], branch[j + 1:], depth)
    elif branch.startswith("\\d"):
        out = _expand_atom(list("0123456789"), "\\d", branch[2:], depth)
    elif branch.startswith("^") and len(branch) > 1:
        # "^x..." -> "x(?<=^x)...": starts with a literal, same matches
        rests = expand(branch[1:], depth + 1)
        if all(literal_start(r) for r in rests):
            out = []
            for r in rests:
                token, rest = _first_token(r)
                q, _ = _quantifier(rest)
                if q:
                    out = None
                    break
                out.append(f"{token}(?<=^{token}){rest}")
    if out is None or len(out) > _MAX_BRANCHES:
        return [branch]
    return out


def literal_start(branch: str) -> bool:
    """Whether `branch` must start with one known character."""
    if not branch:
        return False
    if branch[0] == "\\":
        if len(branch) < 2 or branch[1].isalnum():
            return False
        rest = branch[2:]
    elif branch[0] in _SPECIAL:
        return False
    else:
        rest = branch[1:]
    q, _ = _quantifier(rest)
    return q == "" or q.startswith("+") or (q.startswith("{") and not re.match(r"\{0?,|\{0\}", q))


def _first_token(branch: str) -> tuple[str, str]:
    """(first literal token, rest) of a literal-start branch; the token is one character or an escape."""
    if branch[0] == "\\":
        return branch[:2], branch[2:]
    return re.escape(branch[0]), branch[1:]


def trie_union(branches: list[str], depth: int = 0) -> str:
    """Union of literal-start branches as a trie over their leading literals: at each candidate position
    the engine then compares one character per level instead of trying every alternative in turn.
    Same matches as "|".join(branches): alternatives with different first characters cannot both match at
    one position, and the order within a shared prefix is kept."""
    groups: dict[str, list[str]] = {}
    for b in branches:
        token, rest = _first_token(b)
        groups.setdefault(token, []).append(rest)
    alts = []
    for token, rests in groups.items():
        if len(rests) == 1:
            alts.append(token + rests[0])
            continue
        # a token followed by a quantifier cannot be factored out
        if any(_quantifier(r)[0] for r in rests):
            alts.extend(token + r for r in rests)
            continue
        if depth < 6 and all(literal_start(r) for r in rests):
            inner = trie_union(rests, depth + 1)
        else:
            inner = "|".join(_shared_lookarounds(rests))
        alts.append(f"{token}(?:{inner})")
    return "|".join(alts)


def _shared_lookarounds(rests: list[str]) -> list[str]:
    """`rests`, each run of consecutive ones that begin with the same look-around written once before them
    ("(?<!x)a|(?<!x)b" -> "(?<!x)(?:a|b)"): the same matches, the look-around tested once."""
    out: list[str] = []
    i = 0
    while i < len(rests):
        head = _leading_lookaround(rests[i])
        j = i + 1
        if head:
            while j < len(rests) and _leading_lookaround(rests[j]) == head:
                j += 1
        if j - i > 1:
            out.append(head + "(?:" + "|".join(r[len(head):] for r in rests[i:j]) + ")")
        else:
            out.append(rests[i])
        i = j
    return out


def _leading_lookaround(branch: str) -> str:
    if not branch.startswith(("(?<!", "(?<=", "(?!", "(?=")):
        return ""
    end = _close_paren(branch, 0)
    return branch[:end + 1] if end > 0 else ""


class Scanner(Generic[T]):
    """Finds every match of many tagged patterns in two scans (see the module docstring).

    Within each union, matches do not overlap (as with one alternation); the first alternative that
    matches at a position wins, in the order the patterns were given."""

    def __init__(self, items: Sequence[tuple[str, T]], flags: int = 0) -> None:
        fast: list[str] = []
        names: list[str] = []
        slow: list[str] = []
        self._tags: dict[str, T] = {}
        for pattern, tag in items:
            for alt in split_alternatives(pattern):
                for branch in expand(alt):
                    name = f"g{len(self._tags)}"
                    self._tags[name] = tag
                    if literal_start(branch):
                        fast.append(branch)
                        names.append(name)
                    else:
                        slow.append(f"(?:{branch})(?P<{name}>)")
        guarded = _digit_guards(fast, flags)
        self.fast = _compiled(trie_union([f"{b}(?P<{n}>)" for b, n in zip(fast, names, strict=True)]), flags) \
            if fast else None
        # the same union, its digit-run branches tried only where a run starts (see _digit_guards), or None
        self._guarded = _compiled(trie_union([f"{b}(?P<{n}>)" for b, n in zip(guarded, names, strict=True)]),
                                  flags) if guarded != fast else None
        self.slow = _compiled("|".join(slow), flags) if slow else None
        self.separator = join_separator(self.fast.pattern, flags) if self.fast is not None else None

    def finditer(self, text: str) -> Iterator[tuple[int, int, T]]:
        """(start, end, tag) of the matches of both unions (fast union first)."""
        yield from self.findall(text)

    def findall(self, text: str) -> list[tuple[int, int, T]]:
        """Like `finditer`, as a list (cheaper when the matches are few)."""
        tags = self._tags
        out = self._scan_fast(text)
        if self.slow is not None:
            out += [(m.start(), m.end(), tags[m.lastgroup]) for m in self.slow.finditer(text)]
        return out  # type: ignore[return-value]

    def _scan_fast(self, text: str) -> list[tuple[int, int, T]]:
        """The matches of `fast.finditer(text)`, found with the guarded union where there is one.

        The guarded union differs from `fast` only where the character before a digit is a digit too, and
        a scan meets such a position as a candidate only right where its last match ended (see
        _digit_guards): there `fast` itself is tried, and the scan goes on from what it finds."""
        tags = self._tags
        if self.fast is None:
            return []
        guarded = self._guarded
        if guarded is None:
            return [(m.start(), m.end(), tags[m.lastgroup]) for m in self.fast.finditer(text)]  # type: ignore[index]
        plain = self.fast.match
        out: list[tuple[int, int, T]] = []
        pos = 0
        while True:
            resume = -1
            for m in guarded.finditer(text, pos):
                end = m.end()
                out.append((m.start(), end, tags[m.lastgroup]))  # type: ignore[index]
                if "0" <= text[end - 1] <= "9":
                    resume = end
                    break
            if resume < 0:
                return out
            while "0" <= text[resume - 1] <= "9":  # a match ended on a digit: the plain union goes on from it
                again = plain(text, resume)
                if again is None:
                    break
                out.append((resume, again.end(), tags[again.lastgroup]))  # type: ignore[index]
                resume = again.end()
            pos = resume

    def findall_many(self, texts: Sequence[str]) -> list[list[tuple[int, int, T]]]:
        """`findall` of each text, with one scan of the fast union over all of them (see `Batch`)."""
        found = self.findall_batch(Batch(texts))
        return [found.get(k, []) for k in range(len(texts))]

    def findall_batch(self, batch: Batch) -> dict[int, list[tuple[int, int, T]]]:
        """`findall` of each text of `batch` that has matches."""
        tags = self._tags
        texts = batch.texts
        if self.fast is None or self.separator is None or len(texts) < 2:
            out = {k: found for k, t in enumerate(texts) if (found := self._scan_fast(t))}
        else:
            out = batch.split(self._scan_fast(batch.joined(self.separator)), self._scan_fast)
        if self.slow is not None:
            for k, t in enumerate(texts):
                more = [(m.start(), m.end(), tags[m.lastgroup]) for m in self.slow.finditer(t)]  # type: ignore[index]
                if more:
                    out.setdefault(k, []).extend(more)
        return out

    def findall_starting(self, text: str, pos: int, before: int) -> list[tuple[int, int, T]]:
        """Matches that start in [pos, before), scanning from `pos`."""
        tags = self._tags
        out: list[tuple[int, int, T]] = []
        for compiled in (self.fast, self.slow):
            if compiled is None:
                continue
            for m in compiled.finditer(text, pos):
                if m.start() >= before:
                    break
                out.append((m.start(), m.end(), tags[m.lastgroup]))  # type: ignore[index]
        return out

    def non_overlapping(self, text: str) -> list[tuple[int, int, T]]:
        """Matches sorted by position, overlaps dropped (earlier start, then longer, wins)."""
        return non_overlapping(self.findall(text))


def non_overlapping(found: list[tuple[int, int, T]]) -> list[tuple[int, int, T]]:
    """`found` (start, end, tag) sorted by position, overlaps dropped (earlier start, then longer, wins)."""
    if len(found) < 2:
        return found
    found.sort(key=lambda x: (x[0], -x[1]))
    out: list[tuple[int, int, T]] = []
    end = -1
    for start, stop, tag in found:
        if start >= end:
            out.append((start, stop, tag))
            end = stop
    return out


@lru_cache(maxsize=1024)
def _compiled(pattern: str, flags: int) -> re.Pattern[str]:
    """Every Scorer compiles the same rules: each union is compiled once per process (re's own cache holds
    only a few hundred patterns, and these are large)."""
    return re.compile(pattern, flags)


# -------------------------------------------------------------------------------------- joined scans
_SEPARATORS = ("\n", "\x00")
X = TypeVar("X")


class Batch:
    """Many texts scanned together: each scan runs once over the texts joined by a separator character (see
    `join_separator`), and its matches are handed back to the texts they are in. Where the texts start in
    the joined text is worked out once for all the scans of a batch."""

    __slots__ = ("texts", "starts", "ends", "_joined")

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = texts
        # (map and accumulate: no Python step per text)
        starts = list(accumulate(map((1).__add__, map(len, texts)), initial=0))
        starts.pop()
        self.starts = starts
        self.ends = list(map(add, starts, map(len, texts)))  # where the separators are
        self._joined: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self.texts)

    def joined(self, sep: str) -> str:
        text = self._joined.get(sep)
        if text is None:
            text = self._joined[sep] = sep.join(self.texts)
        return text

    def split(self, found: Iterable[tuple[int, int, X]], alone: Callable[[str], list[tuple[int, int, X]]]
              ) -> dict[int, list[tuple[int, int, X]]]:
        """Matches (start, end, payload) of a scan of the joined texts, in order, as each text's own matches
        (positions in that text), for the texts that have any.

        A match that contains a separator (it reaches from one text into the next, or starts at one) is not
        a match of either text: the texts it touches, and the one where the scan went on after it, get
        `alone(text)` instead (see `join_separator` for why the other matches are each text's own)."""
        texts, starts, ends = self.texts, self.starts, self.ends
        out: dict[int, list[tuple[int, int, X]]] = {}
        again: set[int] = set()
        k = base = 0
        limit = -1  # where the separator after text k is
        mine: list[tuple[int, int, X]] = []
        for a, b, payload in found:
            if a >= limit:
                k = bisect_right(starts, a) - 1
                base, limit = starts[k], ends[k]
                mine = out.get(k) or out.setdefault(k, [])
            if b <= limit and a < limit:
                mine.append((a - base, b - base, payload))
            else:
                again.update(range(k, bisect_right(starts, b)))
        for k in again:
            out[k] = alone(texts[k])
        return out

    def finditer(self, pattern: re.Pattern[str]) -> dict[int, list[tuple[int, int, str]]]:
        """(start, end, matched text) of `pattern.finditer(text)`, for the texts that have matches."""
        def alone(text: str) -> list[tuple[int, int, str]]:
            return [(m.start(), m.end(), m.group()) for m in pattern.finditer(text)]

        sep = join_separator(pattern.pattern, pattern.flags) if _never_empty(pattern) else None
        if sep is None or len(self.texts) < 2:
            return {k: found for k, t in enumerate(self.texts) if (found := alone(t))}
        found = self.split(((m.start(), m.end(), m.group()) for m in pattern.finditer(self.joined(sep))), alone)
        return {k: v for k, v in found.items() if v}

    def having(self, pattern: re.Pattern[str]) -> set[int]:
        """The texts in which `pattern` has a match (as `pattern.search(text)` finds): the scan jumps to the
        next text at the first match of each."""
        sep = join_separator(pattern.pattern, pattern.flags) if _never_empty(pattern) else None
        texts = self.texts
        if sep is None or len(texts) < 2:
            return {k for k, t in enumerate(texts) if pattern.search(t) is not None}
        joined, starts = self.joined(sep), self.starts
        search = pattern.search
        out: set[int] = set()
        m = search(joined)
        ends = self.ends
        while m is not None:
            k = bisect_right(starts, m.start()) - 1
            end = ends[k]
            # a match that reaches into the next text is not this one's: it is searched on its own
            inside = m.start() < end and m.end() <= end
            if inside or search(texts[k]) is not None:
                out.add(k)
            if k + 1 >= len(texts):
                break
            m = search(joined, starts[k + 1])
        return out


@lru_cache(maxsize=256)
def _never_empty(pattern: re.Pattern[str]) -> bool:
    """Whether every match of `pattern` has at least one character (empty matches follow other rules)."""
    try:
        return _parser.parse(pattern.pattern, pattern.flags).getwidth()[0] > 0
    except (re.error, TypeError, ValueError, AttributeError):  # pragma: no cover - compiled already
        return False


@lru_cache(maxsize=1024)
def join_separator(pattern: str, flags: int = 0) -> str | None:
    """A character to join texts with so that one scan of the joined texts finds each text's own matches,
    or None.

    Every match inside one text is then a match of that text alone, and every match of a text alone is found,
    unless the scan met a match that contains a separator (which `findall_many` checks for). That holds when
    nothing that only looks (a look-around) can see a separator, and anchors read a separator as a text's
    end or start: word boundaries always (a separator is no word character), ^ and $ under MULTILINE with a
    newline separator, never \\A, \\Z, or ^ and $ without MULTILINE."""
    try:
        items = _parser.parse(pattern, flags).data
    except (re.error, TypeError, ValueError, AttributeError):  # pragma: no cover - compiled already
        return None
    for sep in _SEPARATORS:
        try:
            if _joinable(items, flags, sep, False):
                return sep
        except (TypeError, ValueError, AttributeError):  # something this does not read: do not join
            return None
    return None


def _joinable(items, flags: int, sep: str, looking: bool) -> bool:
    c = _constants
    for op, av in items:
        if op is c.AT:
            if av in (c.AT_BOUNDARY, c.AT_NON_BOUNDARY):
                continue
            if av in (c.AT_BEGINNING, c.AT_END) and flags & re.MULTILINE and sep == "\n":
                continue
            return False
        if op in (c.ASSERT, c.ASSERT_NOT):
            if not _joinable(av[1].data, flags, sep, True):
                return False
        elif op is c.SUBPATTERN:
            _group, add_flags, del_flags, sub = av
            if not _joinable(sub.data, (flags | add_flags) & ~del_flags, sep, looking):
                return False
        elif op is c.ATOMIC_GROUP:
            if not _joinable(av.data, flags, sep, looking):
                return False
        elif op is c.BRANCH:
            if not all(_joinable(sub.data, flags, sep, looking) for sub in av[1]):
                return False
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
            if not _joinable(av[2].data, flags, sep, looking):
                return False
        elif op in (c.LITERAL, c.NOT_LITERAL, c.ANY, c.IN):
            if looking and _can_match(op, av, flags, sep):
                return False
        else:  # back-references and the like
            return False
    return True


_CATEGORY_RE = {"CATEGORY_DIGIT": r"\d", "CATEGORY_NOT_DIGIT": r"\D", "CATEGORY_SPACE": r"\s",
                "CATEGORY_NOT_SPACE": r"\S", "CATEGORY_WORD": r"\w", "CATEGORY_NOT_WORD": r"\W"}


def _can_match(op, av, flags: int, sep: str) -> bool:
    """Whether one character-consuming item can match the separator (True when unsure)."""
    c = _constants
    if flags & re.IGNORECASE:
        return True
    if op is c.LITERAL:
        return av == ord(sep)
    if op is c.NOT_LITERAL:
        return av != ord(sep)
    if op is c.ANY:
        return sep != "\n" or bool(flags & re.DOTALL)
    negate = False
    hit = False
    for kind, value in av:
        if kind is c.NEGATE:
            negate = True
        elif kind is c.LITERAL:
            hit = hit or value == ord(sep)
        elif kind is c.RANGE:
            hit = hit or value[0] <= ord(sep) <= value[1]
        elif kind is c.CATEGORY and str(value) in _CATEGORY_RE:
            hit = hit or re.fullmatch(_CATEGORY_RE[str(value)], sep, flags & re.ASCII) is not None
        else:
            return True
    return hit != negate


# ------------------------------------------------------------------------------------------- digit runs
_DIGIT_RUN_RE = re.compile(r"([0-9])(\\d|\[0-9\])\*([?+]?)(.*)", re.S)


def _digit_guards(branches: list[str], flags: int) -> list[str]:
    """`branches`, where a digit run of a number (`\\d+元`, expanded to "0\\d*元" ... "9\\d*元") is only tried
    where no digit comes before it.

    A union that has the branch "D\\d*R" for all ten digits D, where R cannot begin with a character of the
    run, matches it at a digit p of a run exactly when R matches where the run ends, so exactly when it
    matches "D'\\d*R" at p - 1 if that is a digit D' too. A scan that reaches p from p - 1 found nothing at
    p - 1, so nothing there either: the branch only needs trying where the character before it is no digit,
    or where the scan starts (the end of its last match, which `Scanner._scan_fast` tries unguarded).
    Without the guard, a scan tries every such branch at every digit of a long number, and each try reads
    the rest of the number again."""
    groups: dict[tuple[str, str, str], set[str]] = {}
    for b in branches:
        m = _DIGIT_RUN_RE.fullmatch(b)
        if m:
            groups.setdefault((m.group(2), m.group(3), m.group(4)), set()).add(m.group(1))
    guard = set()
    for (atom, _lazy, rest), digits in groups.items():
        if len(digits) == 10 and _never_starts_run(rest, atom, flags):
            guard.add((atom, _lazy, rest))
    if not guard:
        return branches
    out = []
    for b in branches:
        m = _DIGIT_RUN_RE.fullmatch(b)
        if m and (m.group(2), m.group(3), m.group(4)) in guard:
            d = m.group(1)
            b = f"{d}(?<![0-9]{d}){m.group(2)}*{m.group(3)}{m.group(4)}"
        out.append(b)
    return out


def _never_starts_run(rest: str, atom: str, flags: int) -> bool:
    """Whether `rest` must begin with a character, and never with one `atom` (\\d or [0-9]) matches."""
    if flags & re.IGNORECASE:
        return False
    try:
        chars, nullable = _first_chars(_parser.parse(rest, flags).data)
    except (re.error, TypeError, ValueError, AttributeError):
        return False
    if chars is None or nullable:
        return False
    run = _decimals() if atom == "\\d" and not flags & re.ASCII else frozenset("0123456789")
    return chars.isdisjoint(run)


def _first_chars(items) -> tuple[set[str] | None, bool]:
    """(the characters a parsed pattern can begin with, or None when that is not known; whether it can
    match the empty string). Look-arounds and anchors match empty."""
    out: set[str] = set()
    for op, av in items:
        chars, nullable = _first_of(op, av)
        if chars is None:
            return None, False
        out |= chars
        if not nullable:
            return out, False
    return out, True


def _first_of(op, av) -> tuple[set[str] | None, bool]:
    c = _constants
    if op is c.LITERAL:
        return {chr(av)}, False
    if op is c.IN:
        return _class_chars(av), False
    if op is c.BRANCH:
        out: set[str] = set()
        nullable = False
        for sub in av[1]:
            chars, n = _first_chars(sub.data)
            if chars is None:
                return None, False
            out |= chars
            nullable = nullable or n
        return out, nullable
    if op is c.SUBPATTERN:
        if av[1] & (re.IGNORECASE | re.VERBOSE):
            return None, False
        return _first_chars(av[3].data)
    if op is c.ATOMIC_GROUP:
        return _first_chars(av.data)
    if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
        low, high, sub = av
        if high == 0:
            return set(), True
        chars, nullable = _first_chars(sub.data)
        return chars, nullable or low == 0
    if op in (c.ASSERT, c.ASSERT_NOT, c.AT):
        return set(), True
    return None, False


_CLASS_LIMIT_EXPAND = 5000


def _class_chars(items) -> set[str] | None:
    c = _constants
    out: set[str] = set()
    for op, av in items:
        if op is c.LITERAL:
            out.add(chr(av))
        elif op is c.RANGE and av[1] - av[0] <= _CLASS_LIMIT_EXPAND:
            out.update(map(chr, range(av[0], av[1] + 1)))
        elif op is c.CATEGORY and av is c.CATEGORY_DIGIT:
            out |= _decimals()
        else:
            return None
    return out


@lru_cache(maxsize=1)
def _decimals() -> frozenset[str]:
    """Every character \\d matches in a str pattern (the engine's test is str.isdecimal)."""
    return frozenset(ch for ch in map(chr, range(sys.maxunicode + 1)) if ch.isdecimal())
