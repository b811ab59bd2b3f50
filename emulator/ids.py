"""Platform-shaped identifiers that map back to corpus indices without any lookup table.

Each id is an invertible scramble of an index (affine maps modulo a power of two, keyed by the seed), so a
1,000,000-post corpus needs no id index in memory: decoding an id yields the index, re-encoding checks it.
"""

from __future__ import annotations

import base64
import hashlib
import struct


def h64(*parts: object) -> int:
    """A stable 64-bit hash (never Python's salted hash())."""
    data = "\x1f".join(str(p) for p in parts).encode("utf-8")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


class Affine:
    """x -> (x * mul + add) mod 2**bits: a bijection on [0, 2**bits) with a cheap inverse."""

    def __init__(self, bits: int, key: int):
        self.mod = 1 << bits
        self.mul = (key | 1) % self.mod or 1
        self.add = (key >> 17) % self.mod
        self.inv = pow(self.mul, -1, self.mod)

    def fwd(self, x: int) -> int:
        return (x * self.mul + self.add) % self.mod

    def back(self, y: int) -> int:
        return ((y - self.add) * self.inv) % self.mod


# Bilibili's own base58 alphabet order (public); any fixed permutation would do.
B58 = "FcwAPNKTMug3GV5Lj7EJnHpWsx4tb8haYeviqBz6rkCy12mUSDQX9RdoZf"
_B58_INDEX = {c: i for i, c in enumerate(B58)}
_B58_SPACE = 58**9


class Ids:
    """All id codecs for one seed."""

    AID_BASE = 200_000_000
    MID_BASE = 100_000_000
    AWEME_BASE = 7_300_000_000_000_000_000
    UID_BASE = 60_000_000_000
    SEC_PREFIX = "MS4wLjABAAAA"

    def __init__(self, seed: int):
        self.seed = seed
        self._aid = Affine(30, h64(seed, "aid"))
        self._mid = Affine(30, h64(seed, "mid"))
        self._aweme = Affine(56, h64(seed, "aweme"))
        self._uid = Affine(36, h64(seed, "uid"))
        self._bv_mul = (h64(seed, "bv") % _B58_SPACE) | 1
        while self._bv_mul % 29 == 0:  # must be coprime with 58 = 2 * 29
            self._bv_mul += 2
        self._bv_inv = pow(self._bv_mul, -1, _B58_SPACE)
        self._bv_add = h64(seed, "bv-add") % _B58_SPACE

    # --- bilibili
    def aid(self, index: int) -> int:
        return self.AID_BASE + self._aid.fwd(index)

    def index_from_aid(self, aid: int) -> int | None:
        x = aid - self.AID_BASE
        return self._aid.back(x) if 0 <= x < self._aid.mod else None

    def bvid(self, index: int) -> str:
        v = (self.aid(index) * self._bv_mul + self._bv_add) % _B58_SPACE
        chars = []
        for _ in range(9):
            v, r = divmod(v, 58)
            chars.append(B58[r])
        return "BV1" + "".join(reversed(chars))

    def index_from_bvid(self, bvid: str) -> int | None:
        if len(bvid) != 12 or not bvid.upper().startswith("BV1"):
            return None
        v = 0
        for c in bvid[3:]:
            if c not in _B58_INDEX:
                return None
            v = v * 58 + _B58_INDEX[c]
        aid = ((v - self._bv_add) * self._bv_inv) % _B58_SPACE
        return self.index_from_aid(aid)

    def mid(self, author: int) -> int:
        return self.MID_BASE + self._mid.fwd(author)

    def author_from_mid(self, mid: int) -> int | None:
        x = mid - self.MID_BASE
        return self._mid.back(x) if 0 <= x < self._mid.mod else None

    # --- douyin
    def aweme_id(self, index: int) -> str:
        return str(self.AWEME_BASE + self._aweme.fwd(index))

    def index_from_aweme_id(self, aweme_id: str) -> int | None:
        if not aweme_id.isdigit():
            return None
        x = int(aweme_id) - self.AWEME_BASE
        return self._aweme.back(x) if 0 <= x < self._aweme.mod else None

    def uid(self, author: int) -> str:
        return str(self.UID_BASE + self._uid.fwd(author))

    def author_from_uid(self, uid: str) -> int | None:
        if not uid.isdigit():
            return None
        x = int(uid) - self.UID_BASE
        return self._uid.back(x) if 0 <= x < self._uid.mod else None

    def sec_uid(self, author: int) -> str:
        uid = int(self.uid(author))
        tail = hashlib.blake2b(f"{self.seed}:{uid}".encode(), digest_size=25).digest()
        raw = struct.pack(">Q", uid) + tail  # 33 bytes -> 44 base64 chars, no padding
        return self.SEC_PREFIX + base64.urlsafe_b64encode(raw).decode()

    def author_from_sec_uid(self, sec_uid: str) -> int | None:
        if not sec_uid.startswith(self.SEC_PREFIX):
            return None
        try:
            raw = base64.urlsafe_b64decode(sec_uid[len(self.SEC_PREFIX):].encode())
        except (ValueError, TypeError):
            return None
        if len(raw) != 33:
            return None
        author = self.author_from_uid(str(struct.unpack(">Q", raw[:8])[0]))
        if author is None or self.sec_uid(author) != sec_uid:
            return None
        return author
