"""Many tagged regular expressions compiled into as few scans as possible.

Python's regex engine skips quickly to the positions where a match can start only when every top-level
alternative of a pattern begins with a literal character. A naive union `(?P<a>...)|(?P<b>...)` begins with
groups and is scanned position by position (hundreds of times slower on this workload). `Scanner` therefore
rewrites each pattern into alternatives that start with a literal ("(?:最新|国家)政策" -> "最新政策",
"国家政策"; "[“\\"]x" -> "“x", "\\"x"), puts the tag in an empty named group at the END of each alternative,
and compiles those into one fast union; patterns it cannot rewrite go into a second, ordinary union.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterator, Sequence
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
            inner = "|".join(rests)
        alts.append(f"{token}(?:{inner})")
    return "|".join(alts)


class Scanner(Generic[T]):
    """Finds every match of many tagged patterns in two scans (see the module docstring).

    Within each union, matches do not overlap (as with one alternation); the first alternative that
    matches at a position wins, in the order the patterns were given."""

    def __init__(self, items: Sequence[tuple[str, T]], flags: int = 0) -> None:
        fast: list[str] = []
        slow: list[str] = []
        self._tags: dict[str, T] = {}
        for pattern, tag in items:
            for alt in split_alternatives(pattern):
                for branch in expand(alt):
                    name = f"g{len(self._tags)}"
                    self._tags[name] = tag
                    if literal_start(branch):
                        fast.append(f"{branch}(?P<{name}>)")
                    else:
                        slow.append(f"(?:{branch})(?P<{name}>)")
        self.fast = re.compile(trie_union(fast), flags) if fast else None
        self.slow = re.compile("|".join(slow), flags) if slow else None

    def finditer(self, text: str) -> Iterator[tuple[int, int, T]]:
        """(start, end, tag) of the matches of both unions (fast union first)."""
        tags = self._tags
        for compiled in (self.fast, self.slow):
            if compiled is None:
                continue
            for m in compiled.finditer(text):
                yield m.start(), m.end(), tags[m.lastgroup]  # type: ignore[index]

    def findall(self, text: str) -> list[tuple[int, int, T]]:
        """Like `finditer`, as a list (cheaper when the matches are few)."""
        tags = self._tags
        out = [(m.start(), m.end(), tags[m.lastgroup]) for m in self.fast.finditer(text)] if self.fast else []
        if self.slow is not None:
            out += [(m.start(), m.end(), tags[m.lastgroup]) for m in self.slow.finditer(text)]
        return out  # type: ignore[return-value]

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
        found = self.findall(text)
        if len(found) > 1:
            found.sort(key=lambda x: (x[0], -x[1]))
        out: list[tuple[int, int, T]] = []
        end = -1
        for start, stop, tag in found:
            if start >= end:
                out.append((start, stop, tag))
                end = stop
        return out
