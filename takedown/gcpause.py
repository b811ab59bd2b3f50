"""`gc_paused()`: no cyclic garbage collection inside a block.

Scoring and storing a batch allocate hundreds of thousands of small objects (rows, reasons, parameter tuples)
and free them all by reference counting: none of them is in a cycle. Left on, the collector still runs
generation-2 passes over everything alive (the scorer's caches, a crawl's pending pages), which cost more than
the batch itself once those are large (measured: 7 of 25 s when storing 100,000 posts). Garbage made inside
the block is collected as usual after it."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    was_on = gc.isenabled()
    if was_on:
        gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
