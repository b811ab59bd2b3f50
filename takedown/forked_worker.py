"""A function run in a forked child process on payloads handed over one by one; its results come back in order.

Why forked: the child starts in milliseconds with everything the parent had loaded (the scorer's rules, lexicon
and model, which take seconds to build) shared copy-on-write. `ForkedWorker.start` returns None where `fork`
is not available (Windows), and the caller then does the work itself.

The child is made with `os.fork`, not `multiprocessing.Process`, so that a daemonic process (a crawl's store
process) may have one too; it leaves when its parent is gone, so it is never orphaned. It runs `work` and
nothing else: it must not touch what the parent holds open (database connections, sockets, a browser), which it
inherits. Payloads and results travel through multiprocessing queues, whose feeder threads send while the other
side is busy: a large payload handed over while the child is handing back a large result cannot deadlock, as it
could over one pipe written from both ends.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import signal
import time
from collections.abc import Callable
from typing import Any

POLL_SECONDS = 1.0  # how often a wait (the parent's for a result, the child's for work) checks the other side
CLOSE_SECONDS = 10.0  # how long close() lets the child finish before it is terminated


class WorkerDied(RuntimeError):
    """The child exited (killed, out of memory) before it handed back every result."""


class ForkedWorker:
    def __init__(self, work: Callable[[Any], Any], name: str = "takedown-worker") -> None:
        context = multiprocessing.get_context("fork")
        self._inbox = context.Queue()
        self._outbox = context.Queue()
        self.name = name
        self.exitcode: int | None = None
        self.pending = 0  # payloads handed over whose result has not been taken
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the child: serve, then leave without running the parent's exit handlers
            code = 1
            try:
                _serve(work, self._inbox, self._outbox, parent)
                code = 0
            finally:
                os._exit(code)
        self.pid = pid

    @classmethod
    def start(cls, work: Callable[[Any], Any], name: str = "takedown-worker") -> ForkedWorker | None:
        if not hasattr(os, "fork"):
            return None
        return cls(work, name)

    def is_alive(self) -> bool:
        if self.exitcode is not None:
            return False
        pid, status = os.waitpid(self.pid, os.WNOHANG)
        if pid == 0:
            return True
        self.exitcode = os.waitstatus_to_exitcode(status)
        return False

    def submit(self, payload: Any) -> None:
        if not self.is_alive():
            raise WorkerDied(f"{self.name} exited (code {self.exitcode})")
        self._inbox.put(payload)
        self.pending += 1

    def result(self) -> Any:
        """The result of the oldest payload not yet answered. If `work` raised on it, a RuntimeError naming that
        exception and its message is raised here (the exception itself may not survive pickling). Raises
        WorkerDied if the child is gone."""
        if not self.pending:
            raise RuntimeError("no payload is waiting for its result")
        while True:
            try:
                ok, value = self._outbox.get(timeout=POLL_SECONDS)
                break
            except queue.Empty:
                if not self.is_alive():
                    raise WorkerDied(f"{self.name} exited (code {self.exitcode}) "
                                     f"with {self.pending} result(s) outstanding") from None
        self.pending -= 1
        if not ok:
            raise value
        return value

    def close(self) -> None:
        """Stops the child (after the payloads it has; their results are dropped) and waits for it."""
        if self.is_alive():
            self._inbox.put(None)
            deadline = time.monotonic() + CLOSE_SECONDS
            # results nobody will take would keep the child's feeder thread, and so the child, from exiting
            while self.is_alive() and time.monotonic() < deadline:
                with contextlib.suppress(queue.Empty):
                    self._outbox.get(timeout=0.05)
            if self.is_alive():
                os.kill(self.pid, signal.SIGKILL)
                self.exitcode = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        self._inbox.close()
        self._outbox.close()
        self._inbox.cancel_join_thread()  # nothing left to deliver: do not wait on the feeder at exit

    def __enter__(self) -> ForkedWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _serve(work: Callable[[Any], Any], inbox: multiprocessing.Queue, outbox: multiprocessing.Queue,
           parent: int) -> None:
    while True:
        try:
            payload = inbox.get(timeout=POLL_SECONDS)
        except queue.Empty:
            if os.getppid() != parent:  # the parent is gone: nobody will ask again
                return
            continue
        if payload is None:
            break
        try:
            outbox.put((True, work(payload)))
        except Exception as exc:  # handed back to be raised in the parent, with the child's message
            outbox.put((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
    outbox.close()
    outbox.join_thread()
