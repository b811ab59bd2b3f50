"""The emulated Douyin request token (`a_bogus`), in Python for the server and in JavaScript for the page.

Real Douyin computes `a_bogus` in heavily obfuscated page JavaScript; only a browser running that page gets
results. The emulator reproduces that property with a small scheme: the search page response sets a cookie
`s_v_web_id` holding a server-issued nonce and embeds a secret derived from it; the page's JS hashes
secret + the exact query string + navigator.userAgent into `a_bogus`. The server re-derives the secret from
the cookie and checks the hash, so a plain HTTP client that did not load (and run) the page gets nothing.

The hash is deliberately simple (four FNV-1a lanes finished with murmur3's fmix32) so it is identical in both
languages without crypto.subtle, which insecure (http://127.0.0.1) contexts may lack.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from urllib.parse import unquote

ALPHABET = "Mz3KpQ7vXcA9wLr0TfYbNq1Hs5Ed8GjUo2iZk4RyWgPaCx6VtBnSeF-lJhD_uOmI"
LANE_BASES = (0x811C9DC5, 0x01234567, 0x9E3779B9, 0x7F4A7C15)
COOKIE = "s_v_web_id"


def _fnv1a(data: bytes, basis: int) -> int:
    h = basis
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def _fmix(h: int) -> int:
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    h ^= h >> 16
    return h


def _encode(raw: bytes) -> str:
    out, bits, acc = [], 0, 0
    for b in raw:
        acc = (acc << 8) | b
        bits += 8
        while bits >= 6:
            bits -= 6
            out.append(ALPHABET[(acc >> bits) & 63])
    if bits:
        out.append(ALPHABET[(acc << (6 - bits)) & 63])
    return "".join(out)


def a_bogus(secret: str, query: str, user_agent: str) -> str:
    msg = f"{secret}\n{query}\n{user_agent}".encode()
    raw = b"".join(_fmix(_fnv1a(msg, base)).to_bytes(4, "big") for base in LANE_BASES)
    return _encode(raw)


# The same function for the page. Kept next to the Python so the two cannot drift apart unnoticed
# (a test runs the page in Chromium and the server verifies what it computed).
JS_SOURCE = r"""
function __abFnv(bytes, basis) {
  var h = basis >>> 0;
  for (var i = 0; i < bytes.length; i++) { h ^= bytes[i]; h = Math.imul(h, 0x01000193) >>> 0; }
  return h;
}
function __abFmix(h) {
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16; return h >>> 0;
}
function __abEncode(raw) {
  var A = "%ALPHABET%", out = "", bits = 0, acc = 0;
  for (var i = 0; i < raw.length; i++) {
    acc = ((acc << 8) | raw[i]) & 0xffff; bits += 8;
    while (bits >= 6) { bits -= 6; out += A.charAt((acc >> bits) & 63); }
  }
  if (bits) { out += A.charAt((acc << (6 - bits)) & 63); }
  return out;
}
function aBogus(secret, query, ua) {
  var msg = new TextEncoder().encode(secret + "\n" + query + "\n" + ua);
  var bases = [0x811c9dc5, 0x01234567, 0x9e3779b9, 0x7f4a7c15], raw = [];
  for (var k = 0; k < bases.length; k++) {
    var h = __abFmix(__abFnv(msg, bases[k]));
    raw.push((h >>> 24) & 255, (h >>> 16) & 255, (h >>> 8) & 255, h & 255);
  }
  return __abEncode(raw);
}
""".replace("%ALPHABET%", ALPHABET)


class TokenIssuer:
    """Issues page nonces (cookie values) and checks `a_bogus` on search requests."""

    def __init__(self, seed: int):
        self._key = hashlib.sha256(f"douyin-ac:{seed}".encode()).digest()

    def _mac(self, nonce: str) -> str:
        return hmac.new(self._key, f"nonce:{nonce}".encode(), hashlib.sha256).hexdigest()[:10]

    def new_cookie(self) -> str:
        nonce = f"{int(time.time()):x}{secrets.token_hex(8)}"
        return f"verify_{nonce}_{self._mac(nonce)}"

    def nonce_of(self, cookie: str | None) -> str | None:
        """The nonce of a cookie this server issued, or None."""
        if not cookie or not cookie.startswith("verify_"):
            return None
        parts = cookie.split("_")
        if len(parts) != 3 or not hmac.compare_digest(parts[2], self._mac(parts[1])):
            return None
        return parts[1]

    def secret(self, nonce: str) -> str:
        return hmac.new(self._key, f"secret:{nonce}".encode(), hashlib.sha256).hexdigest()[:32]

    def check(self, raw_query: str, cookie: str | None, user_agent: str) -> str | None:
        """None when the request is properly signed, else the reason it is rejected (for /_emu/stats)."""
        nonce = self.nonce_of(cookie)
        if nonce is None:
            return "no_cookie"
        parts = raw_query.split("&") if raw_query else []
        tokens = [p for p in parts if p.startswith("a_bogus=")]
        if not tokens:
            return "no_token"
        signed = "&".join(p for p in parts if not p.startswith("a_bogus="))
        given = unquote(tokens[-1][len("a_bogus="):])
        if not hmac.compare_digest(given, a_bogus(self.secret(nonce), signed, user_agent)):
            return "bad_token"
        return None
