"""Memory when loaded: the bytes a Predictor adds to a serving process.

Measured in the trial's own process, where the model library is already imported and warm (as in a
serving process that serves other models), from allocator statistics rather than the resident set: in a
process that has trained models the heap is full of holes, and a new allocation that lands in a hole of
an already resident page adds nothing to the resident set, so a resident-set difference undercounts.
So, with automatic garbage collection paused (a young-generation collection after loading catches the
cycles the load made), copies of the Predictor are loaded from its saved archive, each serves a row and
a batch, and all stay alive until the end: the first pays what a process pays once (a runtime's lazy
set-up, buffers kept per thread, the heap growth of the first load of a model this size); the next two are
read from the heap (the larger reading is kept: memory freed meanwhile that was not the copy's makes a
reading low, never high); one more is loaded under ``tracemalloc`` (whose own tables would be counted by
the heap). The bytes are

- what ``malloc`` holds more than before (glibc ``mallinfo2``: ``uordblks + hblkhd``, every arena): the
  model library's structures, NumPy buffers, torch tensors, runtime buffers, Python objects above 512 B;
- plus Python's small objects (512 B and less, which CPython's own allocator serves from its arenas),
  counted by ``tracemalloc`` while the copy loads and serves;
- plus the resident pages of a compiled runtime's shared library (``/proc/self/smaps``): a library is
  mapped once per process, so a second load of it maps nothing new.

Without glibc's ``mallinfo2`` the resident-set difference (``/proc/self/statm``) around the same steps is
used. ``benchmarks/memory.py`` checks the number against an independent measurement: the resident-set
growth per further copy in a fresh process that already serves another model of the runtime. Linux only
(``/proc``); elsewhere the measurement is None.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import gc
import os
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

__all__ = ["heap_bytes", "library_resident_bytes", "measure_memory", "memory_supported", "resident_bytes", "trim_heap"]

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


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                     "keepcost")
    ]  # fmt: skip


@functools.cache
def _mallinfo2() -> Callable[[], _MallInfo2] | None:
    try:
        fn = ctypes.CDLL(ctypes.util.find_library("c")).mallinfo2
    except (OSError, AttributeError, TypeError):  # not glibc >= 2.33
        return None
    fn.restype = _MallInfo2
    return fn


def heap_bytes() -> int | None:
    """Bytes ``malloc`` has handed out and not taken back, every arena (None without glibc ``mallinfo2``)."""
    fn = _mallinfo2()
    if fn is None:
        return None
    info = fn()
    return int(info.uordblks + info.hblkhd)


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
    """Bytes that loading an object and serving with it add to this process (see the module docstring).

    Args:
        load: Loads a fresh copy (e.g. ``lambda: Predictor.load(archive)``).
        serve: Uses it as a server would (a row and a batch).
        libraries: Shared-library paths the copy serves through (their resident pages are added).

    Returns:
        Bytes (at least one page), or None where neither the heap nor the resident set can be read.
    """
    if heap_bytes() is None:
        return _resident_difference(load, serve, libraries)
    with _young_gc_only():
        copies = [load()]  # one-time costs (a runtime's lazy set-up, buffers it keeps per thread) are paid here
        serve(copies[0])
        gc.collect(0)
        added = []
        for _ in range(2):  # two copies measured, each kept alive: what one more loaded predictor adds
            before = heap_bytes()
            copies.append(load())
            serve(copies[-1])
            gc.collect(0)  # cycles the load made (automatic collection is off: old garbage stays as it was)
            after = heap_bytes()
            assert before is not None and after is not None
            added.append(after - before)
        mapped = library_resident_bytes(libraries(copies[-1]))
        small = _small_objects(load, serve)  # one more copy, traced (tracemalloc's own tables are malloc'd)
        del copies
    # Unrelated memory freed meanwhile (an old object whose last reference a load dropped) or a chunk the
    # allocator had cached as in use makes a reading low, never high, so the larger reading is kept.
    return max(*added, 0) + small + mapped or _PAGE


@contextlib.contextmanager
def _young_gc_only() -> Iterator[None]:
    """Automatic garbage collection off: a full collection of a big heap takes tenths of a second, and one
    that ran mid-measurement would free unrelated garbage and hide the copy's bytes."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _small_objects(load: Callable[[], Any], serve: Callable[[Any], Any]) -> int:
    """Bytes of Python objects of 512 B or less (CPython's own allocator) a traced copy keeps alive."""
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    try:
        loaded = load()
        serve(loaded)
        gc.collect(0)
        traces = tracemalloc.take_snapshot().traces
        small = sum(t.size for t in traces if t.domain == 0 and t.size <= 512)
    finally:
        if not tracing:
            tracemalloc.stop()
    del loaded, traces
    return small


def _resident_difference(
    load: Callable[[], Any], serve: Callable[[Any], Any], libraries: Callable[[Any], list[str]]
) -> int | None:
    """The resident-set difference around loading and serving a copy (where ``mallinfo2`` is missing)."""
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
