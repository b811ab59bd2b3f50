"""The forked worker: results in order, the work's errors raised in the parent, a dead child reported, and
closing never hangs on results nobody took."""

from __future__ import annotations

import os
import signal
import time

import pytest

from takedown.forked_worker import POLL_SECONDS, ForkedWorker, WorkerDied

LOADED = {"factor": 3}  # what the parent had loaded, which the forked child sees without being sent it


def _triple(values: list[int]) -> list[int]:
    if not values:
        raise ValueError("nothing to do")
    return [v * LOADED["factor"] for v in values]


def test_results_come_back_in_order_computed_with_what_the_parent_had_loaded():
    with ForkedWorker(_triple) as worker:
        for n in range(5):
            worker.submit(list(range(n + 1)))
        assert [worker.result() for _ in range(5)] == [[v * 3 for v in range(n + 1)] for n in range(5)]
        assert worker.pid != os.getpid()


def test_large_payloads_both_ways_do_not_deadlock():
    big = list(range(200_000))  # megabytes each way, more than a pipe holds
    with ForkedWorker(_triple) as worker:
        for _ in range(3):
            worker.submit(big)
        assert [len(worker.result()) for _ in range(3)] == [200_000] * 3


def test_an_error_in_the_work_is_raised_here_and_the_worker_goes_on():
    with ForkedWorker(_triple) as worker:
        worker.submit([])
        worker.submit([1])
        with pytest.raises(RuntimeError, match="ValueError: nothing to do"):
            worker.result()
        assert worker.result() == [3]


def test_a_dead_child_is_reported_not_waited_for():
    worker = ForkedWorker(_triple)
    os.kill(worker.pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while worker.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert worker.exitcode == -signal.SIGKILL
    with pytest.raises(WorkerDied, match="exited"):
        worker.submit([1])
    worker.close()


def test_a_child_killed_while_working_is_reported():
    worker = ForkedWorker(time.sleep)
    worker.submit(30)
    os.kill(worker.pid, signal.SIGKILL)
    started = time.monotonic()
    with pytest.raises(WorkerDied, match="1 result"):
        worker.result()
    assert time.monotonic() - started < 5
    worker.close()


def test_closing_with_results_not_taken_returns_promptly():
    worker = ForkedWorker(_triple)
    for _ in range(3):
        worker.submit(list(range(100_000)))
    started = time.monotonic()
    worker.close()
    assert time.monotonic() - started < 5
    assert not worker.is_alive()


def test_the_child_leaves_when_its_parent_is_gone():
    """A worker forked by a process that is then killed (a crawl's store process, say) exits by itself."""
    reader, writer = os.pipe()
    middle = os.fork()
    if middle == 0:  # a parent that starts a worker, reports its pid, and dies without closing it
        worker = ForkedWorker(_triple)
        os.write(writer, str(worker.pid).encode())
        os._exit(0)
    os.waitpid(middle, 0)
    orphan = int(os.read(reader, 32))
    deadline = time.monotonic() + 5 * POLL_SECONDS
    while time.monotonic() < deadline and _running(orphan):
        time.sleep(0.05)
    assert not _running(orphan)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_asking_for_a_result_nothing_was_submitted_for_is_an_error():
    with ForkedWorker(_triple) as worker, pytest.raises(RuntimeError, match="no payload"):
        worker.result()
