"""Bilibili's WBI request signature, written from the published algorithm (PLATFORMS.md).

The emulator only verifies; `sign` exists so tests (and the emulator's own self-checks) can build good requests.
"""

from __future__ import annotations

import hashlib
from urllib.parse import quote

# The public 64-entry reordering table.
MIXIN_KEY_ENC_TAB = (
    46, 47, 18, 2, 53, 8, 23, 32, 15, 50, 10, 31, 58, 3, 45, 35, 27, 43, 5, 49,
    33, 9, 42, 19, 29, 28, 14, 39, 12, 38, 41, 13, 37, 48, 7, 16, 24, 55, 40,
    61, 26, 17, 0, 1, 60, 51, 30, 4, 22, 25, 54, 21, 56, 59, 6, 63, 57, 62, 11,
    36, 20, 34, 44, 52,
)
_DROPPED = str.maketrans("", "", "!'()*")


def keys_for_seed(seed: int) -> tuple[str, str]:
    """The emulator's img_key and sub_key (32 hex chars each), fixed per seed."""
    img = hashlib.md5(f"wbi-img:{seed}".encode()).hexdigest()
    sub = hashlib.md5(f"wbi-sub:{seed}".encode()).hexdigest()
    return img, sub


def mixin_key(img_key: str, sub_key: str) -> str:
    raw = img_key + sub_key
    return "".join(raw[i] for i in MIXIN_KEY_ENC_TAB)[:32]


def canonical_query(params: dict[str, str]) -> str:
    """Sorted by key, `!'()*` dropped from values, percent-escapes upper case, space as %20."""
    parts = []
    for k in sorted(params):
        v = str(params[k]).translate(_DROPPED)
        parts.append(f"{quote(k, safe='')}={quote(v, safe='')}")
    return "&".join(parts)


def w_rid(params: dict[str, str], mixin: str) -> str:
    """md5 over the canonical query (which must already hold `wts`) plus the mixin key."""
    return hashlib.md5((canonical_query(params) + mixin).encode()).hexdigest()


def sign(params: dict[str, str | int], img_key: str, sub_key: str, wts: int) -> dict[str, str]:
    signed = {k: str(v) for k, v in params.items()}
    signed["wts"] = str(wts)
    signed["w_rid"] = w_rid(signed, mixin_key(img_key, sub_key))
    return signed


def verify(params: dict[str, str], mixin: str) -> bool:
    """True when `w_rid` matches the other parameters (wts included)."""
    given = params.get("w_rid", "")
    if not given or "wts" not in params:
        return False
    rest = {k: v for k, v in params.items() if k != "w_rid"}
    return given.lower() == w_rid(rest, mixin)
