"""`gc_paused()`: no cyclic garbage collection inside a block.

Scoring and storing a batch allocate hundreds of thousands of small objects (rows, reasons, parameter tuples)
and free them all by reference counting: none of them is in a cycle. Left on, the collector still runs
generation-2 passes over everything alive (the scorer's caches, a crawl's pending pages), which cost more than
the batch itself once those are large (measured: 7 of 25 s when storing 100,000 posts).

On the way out, what the block made and kept (a cache's new entries, the results) would otherwise be
scanned by the first young collection after it: about 5 % of a scoring batch, for objects that hold no
cycles. `gc.freeze()` then `gc.unfreeze()` moves every tracked object to the oldest generation without a
scan (both are list splices), so they are looked at only by the next full collection, as the caches' older
entries are. Skipped when someone else has frozen objects, since unfreezing would release theirs too."""

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
            if gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
            gc.enable()
