"""Bilibili's WBI request signing, written from the published algorithm (PLATFORMS.md, Bilibili section).

1. `img_key` / `sub_key` are the file stems of `data.wbi_img.img_url` / `sub_url` of the nav endpoint.
2. `mixin_key` = the characters of `img_key + sub_key` picked in the order of a fixed 64-entry table, first 32.
3. Add `wts` (unix seconds), sort the parameters by key, drop the characters ``!'()*`` from the values, encode
   the query like JavaScript's `encodeURIComponent` (upper-case percent escapes, space as ``%20``), and
   `w_rid = md5(query + mixin_key)`.

Pure functions only; the caller supplies the clock through `wts` when it wants a fixed one.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

# The public reorder table of the web client (bilibili-API-collect, docs/misc/sign/wbi.md).
MIXIN_KEY_ENC_TAB: tuple[int, ...] = (
    46, 47, 18, 2, 53, 8, 23, 32, 15, 50, 10, 31, 58, 3, 45, 35, 27, 43, 5, 49,
    33, 9, 42, 19, 29, 28, 14, 39, 12, 38, 41, 13, 37, 48, 7, 16, 24, 55, 40,
    61, 26, 17, 0, 1, 60, 51, 30, 4, 22, 25, 54, 21, 56, 59, 6, 63, 57, 62, 11,
    36, 20, 34, 44, 52,
)  # fmt: skip

# Characters the web client removes from every value before signing.
_DROPPED_CHARS = str.maketrans("", "", "!'()*")


def mixin_key(img_key: str, sub_key: str) -> str:
    """The 32-character signing key derived from the two nav keys."""
    raw = img_key + sub_key
    if len(raw) <= max(MIXIN_KEY_ENC_TAB):
        raise ValueError(
            f"WBI keys too short: img_key + sub_key has {len(raw)} characters, the table needs 64"
        )
    return "".join(raw[i] for i in MIXIN_KEY_ENC_TAB)[:32]


def _encode_component(value: str) -> str:
    # Same output as encodeURIComponent for values already stripped of !'()*: only A-Z a-z 0-9 - _ . ~ stay
    # literal, everything else (including space and "/") becomes upper-case %XX of its UTF-8 bytes.
    return quote(value, safe="")


def encode_query(params: Mapping[str, Any]) -> str:
    """The query string in the given order, encoded the way WBI signs it."""
    return "&".join(f"{_encode_component(str(k))}={_encode_component(str(v))}" for k, v in params.items())


def sign_params(
    params: Mapping[str, Any], img_key: str, sub_key: str, wts: int | None = None
) -> dict[str, str]:
    """A new dict: `params` with `wts` added, sorted by key, values cleaned as signed, and `w_rid` last.

    Send exactly these values (e.g. through `encode_query`): the server checks the signature over the cleaned
    values, so the query must carry them, not the originals.
    """
    if wts is None:
        wts = int(time.time())
    merged = {str(k): v for k, v in params.items() if str(k) not in ("wts", "w_rid")}
    merged["wts"] = int(wts)
    signed = {k: str(merged[k]).translate(_DROPPED_CHARS) for k in sorted(merged)}
    query = encode_query(signed)
    signed["w_rid"] = hashlib.md5((query + mixin_key(img_key, sub_key)).encode("utf-8")).hexdigest()
    return signed
