"""A machine-wide readers-writer lock, so no latency is timed while another trial trains.

Training holds the lock shared (several workers may train at once); timing holds it exclusive (it
waits for every training on the machine to finish and keeps new ones from starting). A turnstile lock
taken briefly before each shared acquisition lets a waiting timer in first, so timing cannot starve.
Built on ``fcntl.flock``, which the kernel releases when a process dies, so a killed worker never
leaves the lock held.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

__all__ = ["NO_LOCK", "MachineLock", "NoLock", "TimingLock"]

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX: a no-op lock (single worker only)
    fcntl = None  # type: ignore[assignment]


class MachineLock:
    """Shared (training) / exclusive (timing) lock for all paretoml workers on this machine.

    Args:
        key: Workers with the same key share the lock (default: one lock per machine).
        folder: Where the lock files live (default: the system temporary folder).
    """

    def __init__(self, key: str = "cpu", folder: str | Path | None = None) -> None:
        base = Path(folder or tempfile.gettempdir())
        digest = hashlib.sha256(key.encode()).hexdigest()[:12]
        self.main_path = base / f"paretoml-{digest}.lock"
        self.gate_path = base / f"paretoml-{digest}.gate"

    @contextlib.contextmanager
    def _flock(self, path: Path, mode: int) -> Iterator[None]:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            if fcntl is not None:
                fcntl.flock(fd, mode)
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        """Hold while training."""
        if fcntl is None:
            yield
            return
        with self._flock(self.gate_path, fcntl.LOCK_EX):
            pass  # wait behind any timer that is queued
        with self._flock(self.main_path, fcntl.LOCK_SH):
            yield

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold while timing."""
        if fcntl is None:
            yield
            return
        with self._flock(self.gate_path, fcntl.LOCK_EX), self._flock(self.main_path, fcntl.LOCK_EX):
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
