import gc

import pytest

from takedown.gcpause import gc_paused


@pytest.fixture(autouse=True)
def _gc_restored():
    was_on = gc.isenabled()
    yield
    gc.unfreeze()
    (gc.enable if was_on else gc.disable)()


def test_no_collection_inside_and_collector_back_on_after():
    gc.enable()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_what_the_block_keeps_goes_to_the_oldest_generation_without_a_scan():
    gc.enable()
    gc.collect()
    with gc_paused():
        kept = [[i] for i in range(5000)]
    young = {id(o) for o in gc.get_objects(generation=0)} | {id(o) for o in gc.get_objects(generation=1)}
    assert not any(id(x) in young for x in kept)
    assert any(x is kept[0] for x in gc.get_objects(generation=2))
    assert gc.get_count()[0] < 100  # the allocations of the block no longer count towards a young collection


def test_a_disabled_collector_stays_disabled():
    gc.disable()
    with gc_paused():
        pass
    assert not gc.isenabled()


def test_objects_someone_else_froze_stay_frozen():
    gc.enable()
    gc.collect()
    frozen = [[1], [2]]
    gc.freeze()
    count = gc.get_freeze_count()
    assert count > 0
    with gc_paused():
        _ = [[i] for i in range(100)]
    assert gc.get_freeze_count() == count
    assert frozen
