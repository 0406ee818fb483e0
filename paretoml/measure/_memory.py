"""Memory when loaded: the resident bytes a Predictor adds to a serving process.

Measured in the trial's own process, where the model library is already imported and warm (as in a
serving process that serves other models): the garbage collector runs and glibc's ``malloc_trim``
returns free heap pages to the system, the resident set is read (``/proc/self/statm``), a fresh copy of
the Predictor is loaded from its saved archive and serves a row and a batch, the transient allocations
are freed and trimmed again, and the resident set is read once more. The difference is the model, its
preprocessing tables and the buffers its runtime keeps. A compiled runtime's shared library is mapped
once per process (a second load of the same library maps nothing new), so its resident pages are read
from ``/proc/self/smaps`` and added. ``benchmarks/memory.py`` checks the number against an independent
measurement: a fresh process per predictor.

Linux only (``/proc``); elsewhere the measurement is None.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

__all__ = ["library_resident_bytes", "measure_memory", "memory_supported", "resident_bytes", "trim_heap"]

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_STATM = Path("/proc/self/statm")
_SMAPS = Path("/proc/self/smaps")


def memory_supported() -> bool:
    """Whether this platform exposes the resident set (``/proc/self/statm``)."""
    return _STATM.exists()


def resident_bytes() -> int | None:
    """This process's resident set size in bytes (None off Linux)."""
    try:
        return int(_STATM.read_text().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return None


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        fn: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError, TypeError):  # not glibc
        return None
    return fn


def trim_heap() -> None:
    """Collect garbage and give free heap pages back to the system (glibc), so the resident set is live memory."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def library_resident_bytes(paths: Iterable[str | Path]) -> int:
    """Resident bytes of the mappings of the shared libraries ``paths`` in this process."""
    wanted = {str(Path(p).resolve()) for p in paths}
    if not wanted:
        return 0
    total, current = 0, False
    try:
        with _SMAPS.open() as fh:
            for line in fh:
                if line[0] in "0123456789abcdef" and "-" in line.split(" ", 1)[0]:  # a mapping's header line
                    parts = line.split(maxsplit=5)
                    current = len(parts) == 6 and parts[5].strip() in wanted
                elif current and line.startswith("Rss:"):
                    total += int(line.split()[1]) * 1024
    except OSError:
        return 0
    return total


def measure_memory(
    load: Callable[[], Any], serve: Callable[[Any], Any], libraries: Callable[[Any], list[str]]
) -> int | None:
    """Resident bytes that loading an object and serving with it add to this process.

    Args:
        load: Loads a fresh copy (e.g. ``lambda: Predictor.load(archive)``).
        serve: Uses it as a server would (a row and a batch).
        libraries: Shared-library paths the copy serves through (their resident pages are added).

    Returns:
        Bytes (at least one page), or None where the resident set cannot be read.
    """
    if not memory_supported():
        return None
    trim_heap()
    before = resident_bytes()
    loaded = load()
    serve(loaded)
    trim_heap()
    after = resident_bytes()
    mapped = library_resident_bytes(libraries(loaded))
    del loaded
    trim_heap()
    if before is None or after is None:
        return None
    return max(after - before, 0) + mapped or _PAGE
