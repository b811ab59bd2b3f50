"""Character n-grams of many texts at once, as integers, with numpy: no Python work per n-gram.

Each character is its code point (< 2**21); an n-gram of up to three characters is packed into one unsigned
64-bit integer (c0 << 42 | c1 << 21 | c2 for a trigram), so unigrams, bigrams and trigrams never collide and
a code decodes back to its text. A batch of texts is encoded in one pass (`doc_codes`) and counted per text
(`doc_counts`); the model looks the codes up in its sorted vocabulary with one `searchsorted`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MAX_N = 3
_BITS = 21
_MASK = (1 << _BITS) - 1


def code_of(gram: str) -> int:
    code = 0
    for ch in gram:
        code = (code << _BITS) | ord(ch)
    return code


def gram_of(code: int) -> str:
    chars = []
    while code:
        chars.append(chr(code & _MASK))
        code >>= _BITS
    return "".join(reversed(chars))


def doc_codes(texts: Sequence[str], ngram_range: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(codes, text index) of every n-gram of every text, lengths ngram_range[0]..ngram_range[1] (<= 3).
    NUL characters are treated as text boundaries."""
    lo, hi = ngram_range
    if not 1 <= lo <= hi <= MAX_N:
        raise ValueError(f"ngram_range must lie within 1..{MAX_N}, got {ngram_range}")
    if not texts:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    joined = "\x00".join(texts)
    chars = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    lengths = np.fromiter((len(t) + 1 for t in texts), np.int64, len(texts))
    owner = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)[: len(chars)]
    nonzero = chars != 0
    codes, docs = [], []
    for n in range(lo, hi + 1):
        m = len(chars) - n + 1
        if m <= 0:
            continue
        code = chars[:m].copy()
        valid = nonzero[:m].copy()
        for k in range(1, n):
            code = (code << np.uint64(_BITS)) | chars[k:k + m]
            valid &= nonzero[k:k + m]
        codes.append(code[valid])
        docs.append(owner[:m][valid])
    if not codes:  # every text empty, or shorter than the shortest n-gram together
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    return np.concatenate(codes), np.concatenate(docs)


def doc_counts(texts: Sequence[str], ngram_range: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(text index, code, count) of each distinct n-gram of each text, sorted by text then code."""
    codes, docs = doc_codes(texts, ngram_range)
    if not len(codes):
        return docs, codes, np.zeros(0, np.int64)
    order = np.lexsort((codes, docs))
    codes, docs = codes[order], docs[order]
    new = np.ones(len(codes), dtype=bool)
    new[1:] = (codes[1:] != codes[:-1]) | (docs[1:] != docs[:-1])
    starts = np.flatnonzero(new)
    counts = np.diff(np.append(starts, len(codes)))
    return docs[starts], codes[starts], counts


def sublinear_tf(counts: np.ndarray) -> np.ndarray:
    return np.where(counts > 1, 1.0 + np.log(np.maximum(counts, 1)), 1.0)
