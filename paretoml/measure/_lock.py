"""A machine-wide readers-writer lock, so no latency is timed while another trial trains on the same CPUs.

Training holds the lock shared (several workers may train at once); timing holds it exclusive (it
waits for every training on those CPUs to finish and keeps new ones from starting). A turnstile lock
taken briefly before each shared acquisition lets a waiting timer in first, so timing cannot starve.

There is one lock per CPU, and a process takes those of the CPUs it may run on (its affinity mask), in
order: two studies pinned to disjoint CPU sets (``taskset -c 0-3`` and ``taskset -c 4-7``) never wait
for each other, while two unpinned studies share every CPU and take turns timing.

Waits are counted (:attr:`MachineLock.waited`) and may be bounded: past :attr:`MachineLock.deadline`
a waiting acquisition raises :class:`LockWaitExpired`, so a study never overruns its budget waiting for
another study's training. Built on ``fcntl.flock``, which the kernel releases when a process dies, so a
killed worker never leaves the lock held.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol

__all__ = ["NO_LOCK", "LockWaitExpired", "MachineLock", "NoLock", "TimingLock", "affinity"]

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX: a no-op lock (single worker only)
    fcntl = None  # type: ignore[assignment]

_POLL_S = (0.001, 0.02)  # first and longest sleep between tries of a bounded wait


class LockWaitExpired(RuntimeError):
    """The lock's deadline passed while waiting for it (the study's time budget is spent)."""


def affinity() -> frozenset[int]:
    """The CPUs this process may run on (all of them where the platform cannot tell)."""
    if hasattr(os, "sched_getaffinity"):
        return frozenset(os.sched_getaffinity(0))
    return frozenset(range(os.cpu_count() or 1))  # pragma: no cover - not Linux


class MachineLock:
    """Shared (training) / exclusive (timing) lock for all paretoml workers on this machine's CPUs.

    Args:
        key: Workers with the same key share the lock (default: one lock per machine).
        folder: Where the lock files live (default: the system temporary folder).
        cpus: The CPUs whose locks to take (default: this process's affinity mask).

    Attributes:
        deadline: A ``time.monotonic()`` value past which a waiting acquisition raises
            :class:`LockWaitExpired` (None: wait as long as it takes).
        waited: Seconds spent waiting for the lock, shared and exclusive, since creation.
        waited_exclusive: The part of ``waited`` spent waiting to time.
    """

    def __init__(self, key: str = "cpu", folder: str | Path | None = None, cpus: Iterable[int] | None = None) -> None:
        base = Path(folder or tempfile.gettempdir())
        digest = hashlib.sha256(key.encode()).hexdigest()[:12]
        self.cpus = tuple(sorted(affinity() if cpus is None else set(cpus)))
        self.main_paths = [base / f"paretoml-{digest}-cpu{c}.lock" for c in self.cpus]
        self.gate_paths = [base / f"paretoml-{digest}-cpu{c}.gate" for c in self.cpus]
        self.deadline: float | None = None
        self.waited = 0.0
        self.waited_exclusive = 0.0

    def _take(self, fd: int, mode: int) -> None:
        """``flock`` one file, bounded by :attr:`deadline` when set."""
        if self.deadline is None:
            fcntl.flock(fd, mode)
            return
        sleep = _POLL_S[0]
        while True:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                left = self.deadline - time.monotonic()
                if left <= 0:
                    raise LockWaitExpired("the time budget ran out while waiting for the machine lock") from None
                time.sleep(min(sleep, left))
                sleep = min(2 * sleep, _POLL_S[1])

    @contextlib.contextmanager
    def _hold(self, paths: list[Path], mode: int) -> Iterator[None]:
        """Hold ``paths`` locked in ``mode``, taken in order (every process uses one order: no deadlock)."""
        with contextlib.ExitStack() as stack:
            for path in paths:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
                stack.callback(os.close, fd)
                self._take(fd, mode)
                stack.callback(fcntl.flock, fd, fcntl.LOCK_UN)
            yield

    @contextlib.contextmanager
    def _timed(self, exclusive: bool) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            spent = time.monotonic() - started
            self.waited += spent
            if exclusive:
                self.waited_exclusive += spent

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        """Hold while training.

        Raises:
            LockWaitExpired: When :attr:`deadline` passes while waiting.
        """
        if fcntl is None:
            yield
            return
        with contextlib.ExitStack() as stack:
            with self._timed(exclusive=False):
                with self._hold(self.gate_paths, fcntl.LOCK_EX):
                    pass  # wait behind any timer that is queued
                stack.enter_context(self._hold(self.main_paths, fcntl.LOCK_SH))
            yield

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold while timing.

        Raises:
            LockWaitExpired: When :attr:`deadline` passes while waiting.
        """
        if fcntl is None:
            yield
            return
        with contextlib.ExitStack() as stack:
            with self._timed(exclusive=True):
                stack.enter_context(self._hold(self.gate_paths, fcntl.LOCK_EX))
                stack.enter_context(self._hold(self.main_paths, fcntl.LOCK_EX))
            yield


class TimingLock(Protocol):
    """What the trial pipeline needs of a lock: held shared while fitting, exclusive while timing."""

    def shared(self) -> contextlib.AbstractContextManager[None]:
        """Hold while training."""
        ...

    def exclusive(self) -> contextlib.AbstractContextManager[None]:
        """Hold while timing."""
        ...


class NoLock:
    """A lock that never waits: for a single process that times nothing concurrently (benchmarks)."""

    def shared(self) -> contextlib.AbstractContextManager[None]:
        """No-op."""
        return contextlib.nullcontext()

    def exclusive(self) -> contextlib.AbstractContextManager[None]:
        """No-op."""
        return contextlib.nullcontext()


NO_LOCK = NoLock()
