"""Compiled runtime: tl2cgen turns a forest into C, built with the machine's compiler.

Single rows go straight to the library's generated ``predict`` function through ctypes (a few µs);
batches go through ``tl2cgen.Predictor`` (multi-threaded). Quantization (``tl2cgen-q``) replaces float
threshold comparisons with integer ones. Libraries are kept in the verified cache of
:mod:`paretoml.serving._cache` (``$PARETOML_CACHE/tl2cgen``): a library is loaded only when its sha256
sidecar, written by paretoml when it built it, matches.

A saved predictor never ships the compiled library: it stores the native model, and loading compiles
it again (or takes it from the cache). No shared library from a model directory is ever loaded.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import io
import logging
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from paretoml.exceptions import ModelFileError, TrialTimeoutError
from paretoml.families import Capability, FittedModel
from paretoml.families._base import as_output
from paretoml.serving._cache import artefact_dir, publish, verified
from paretoml.serving._runtimes import BaseRuntime

__all__ = ["COMPILE_STATS", "CompiledModel", "Tl2cgenRuntime", "compile_model", "compiler_available"]

_FLAGS = ("-O1",)
_TREES_PER_UNIT = 25
_MAX_COMPILE_SECONDS = 600.0
_DTYPES = {"float32": np.float32, "float64": np.float64}
COMPILE_STATS = {"compiled": 0, "cache_hits": 0}
_log = logging.getLogger("paretoml")


def _toolchain() -> str:
    return os.environ.get("CC", "gcc")


@functools.cache
def _omp_runtimes(torch_loaded: bool) -> tuple[Any, ...]:
    """The OpenMP runtimes tl2cgen's checks may see: the process-global one (torch loads its own
    ``libgomp`` globally, so the lookup is redone once torch is imported) and tl2cgen's own."""
    import tl2cgen

    found = []
    with contextlib.suppress(AttributeError, OSError):
        found.append(ctypes.CDLL(None).omp_get_max_threads)
    folder = Path(tl2cgen.__file__).resolve().parent.parent / "tl2cgen.libs"
    for lib in sorted(folder.glob("libgomp*.so*")):
        with contextlib.suppress(AttributeError, OSError):
            found.append(ctypes.CDLL(str(lib)).omp_get_max_threads)
    return tuple(found)


def _omp_max_threads() -> int | None:
    """OpenMP's current thread limit as tl2cgen sees it (the smallest of its runtimes), or None."""
    limits = [int(fn()) for fn in _omp_runtimes("torch" in sys.modules)]
    return min(limits) if limits else None


def compiler_available() -> str | None:
    """Why the compiled runtime cannot run here, or None when it can."""
    try:
        import tl2cgen  # noqa: F401
        import treelite  # noqa: F401
    except ImportError:
        return "tl2cgen/treelite are not installed (pip install 'paretoml[compile]')"
    if shutil.which(_toolchain()) is None:
        return f"no C compiler {_toolchain()!r} on PATH"
    return None


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Silence what C++ code writes to file descriptor 2 (tl2cgen's compile log) for the duration."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def compile_model(model: FittedModel, *, quantize: bool, timeout: float | None = None, announce: bool = False) -> Path:
    """The compiled library for ``model`` (from the cache when this exact model was compiled before).

    tl2cgen generates the C code (split into units of about 25 trees); the machine's compiler builds it
    at ``-O1``, which compiles large forests in seconds where ``-O3`` can take minutes and serves them
    about as fast.

    Args:
        model: A native model with :attr:`Capability.TREELITE` (its :meth:`~FittedModel.native_bytes` are
            hashed for the cache key).
        quantize: Whether to quantize thresholds.
        timeout: Seconds the compiler may take (default 600).
        announce: Log (at warning level, logger ``paretoml``) that a compile starts and how long it took.

    Returns:
        Path of the shared library.

    Raises:
        TrialTimeoutError: When the compiler runs past ``timeout``.
        RuntimeError: When the compiler fails.
    """
    import tl2cgen

    key = hashlib.sha256(
        model.native_bytes() + f"|q={int(quantize)}|{tl2cgen.__version__}|{_toolchain()}|{_FLAGS}".encode()
    ).hexdigest()[:32]
    target = artefact_dir("tl2cgen") / f"{key}.so"
    if verified(target):
        COMPILE_STATS["cache_hits"] += 1
        return target
    limit = _MAX_COMPILE_SECONDS if timeout is None else max(timeout, 0.0)
    started = time.perf_counter()
    quiet = contextlib.redirect_stdout(io.StringIO())  # tl2cgen's log callback print()s its progress
    with (
        tempfile.TemporaryDirectory(dir=target.parent) as tmp,
        warnings.catch_warnings(),
        _quiet_native_stderr(),
        quiet,
    ):
        warnings.simplefilter("ignore")
        forest = model.treelite_model()
        if announce:
            _log.warning(f"compiling the {model.family} model ({forest.num_tree} trees) for runtime "
                         f"{'tl2cgen-q' if quantize else 'tl2cgen'}, for at most {limit:.0f} s; "
                         "load(..., runtime='native') serves it without compiling.")  # fmt: skip
        units = max(1, math.ceil(int(forest.num_tree) / _TREES_PER_UNIT))
        source = Path(tmp) / "src"
        tl2cgen.generate_c_code(forest, dirpath=str(source), params={"quantize": int(quantize), "parallel_comp": units})
        partial = Path(tmp) / "model.so"
        command = [_toolchain(), "-shared", "-fPIC", "-std=c99", *_FLAGS, "-o", str(partial),
                   *sorted(str(f) for f in source.glob("*.c")), "-lm"]  # fmt: skip
        try:
            done = subprocess.run(command, capture_output=True, timeout=limit, check=False)
        except subprocess.TimeoutExpired as exc:
            raise TrialTimeoutError(
                f"compiling the model ran past its time limit ({limit:.0f} s, {forest.num_tree} trees). Raise "
                "`trial_timeout`, or search smaller models."
            ) from exc
        if done.returncode != 0:
            raise RuntimeError(f"the C compiler failed: {done.stderr.decode(errors='replace')[-2000:]}")
        publish(partial, target)
    COMPILE_STATS["compiled"] += 1
    if announce:
        _log.warning(f"compiled the model in {time.perf_counter() - started:.1f} s (cached in {target.parent}).")
    return target


class CompiledModel(FittedModel):
    """A native model served through its tl2cgen-compiled library.

    Args:
        native: The native model (saved as the source of truth).
        library: The compiled shared library.
        quantize: Whether thresholds were quantized.
    """

    def __init__(self, native: FittedModel, library: Path, *, quantize: bool) -> None:
        import tl2cgen

        self.native = native
        self.family = native.family
        self.task = native.task
        self.quantize = quantize
        self.library = library
        if not verified(library):  # the one place a library is loaded: only one paretoml built
            raise ModelFileError(
                f"{library} is not a library paretoml built (no sidecar with its sha256, or a different one); "
                "it was not loaded. Delete it; paretoml rebuilds it."
            )
        self._lib = ctypes.CDLL(str(library))
        self._fn = self._lib.predict
        self._fn.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
        self._fn.restype = None
        self.n_features = int(self._lib.get_num_feature())
        n_class = ctypes.c_int32()
        self._lib.get_num_class(ctypes.byref(n_class))
        self._n_out = max(1, int(n_class.value))
        # the generated code's types: `union Entry {int missing; T fvalue; int qvalue}` and `U* result`
        self._lib.get_threshold_type.restype = ctypes.c_char_p
        self._lib.get_leaf_output_type.restype = ctypes.c_char_p
        self._entry_type = _DTYPES[self._lib.get_threshold_type().decode()]
        self._out = np.zeros(self._n_out, dtype=_DTYPES[self._lib.get_leaf_output_type().decode()])
        self._lock = threading.Lock()
        self.n_threads = int(getattr(native, "n_threads", 1))
        self._batch_threads = self._allowed_threads()
        self._batch = tl2cgen.Predictor(str(library), nthread=self._batch_threads)
        self.single_row = self._predict_row

    def _allowed_threads(self) -> int:
        """The thread count, capped at OpenMP's current maximum (tl2cgen refuses more).

        The OpenMP runtime is shared with torch, whose ``set_num_threads`` (a CNN predictor's
        ``set_threads``) lowers that maximum for the whole process.
        """
        limit = _omp_max_threads()
        return self.n_threads if limit is None else max(1, min(self.n_threads, limit))

    @property
    def runtime(self) -> str:
        """``tl2cgen`` or ``tl2cgen-q``."""
        return "tl2cgen-q" if self.quantize else "tl2cgen"

    def _predict_row(self, X: np.ndarray) -> np.ndarray:
        entries = np.array(X, dtype=self._entry_type).reshape(-1)
        missing = np.isnan(entries)
        if missing.any():  # the union's `missing` int (its first 4 bytes) set to -1
            entries.view(np.int32).reshape(len(entries), -1)[missing, 0] = -1
        with self._lock:
            self._out[:] = 0.0  # the generated code accumulates into its output
            self._fn(entries.ctypes.data, 0, self._out.ctypes.data)
            return self._out.astype(np.float64)

    def predict(self, X: np.ndarray) -> np.ndarray:
        import tl2cgen

        allowed = self._allowed_threads()
        if allowed != self._batch_threads:
            self._batch_threads = allowed
            self._batch = tl2cgen.Predictor(str(self.library), nthread=allowed)
        raw = np.asarray(self._batch.predict(tl2cgen.DMatrix(np.ascontiguousarray(X, dtype=np.float64))))
        return as_output(raw, self.task, len(X))

    def set_threads(self, n_threads: int) -> None:
        import tl2cgen

        self.native.set_threads(n_threads)
        self.n_threads = n_threads
        self._batch_threads = self._allowed_threads()
        self._batch = tl2cgen.Predictor(str(self.library), nthread=self._batch_threads)

    def save(self, directory: Path) -> dict[str, Any]:
        return {**self.native.save(directory), "runtime": self.runtime}

    def stats(self) -> dict[str, int]:
        return {**self.native.stats(), "runtime_bytes": self.library.stat().st_size}


class Tl2cgenRuntime(BaseRuntime):
    """The ``tl2cgen`` runtime (``tl2cgen-q`` with quantized thresholds)."""

    requires = (Capability.TREELITE, Capability.NATIVE_BYTES)

    def __init__(self, *, quantize: bool) -> None:
        self.quantize = quantize
        self.name = "tl2cgen-q" if quantize else "tl2cgen"

    def unavailable(self) -> str | None:
        return compiler_available()

    def build(self, model: FittedModel, timeout: float | None, *, announce: bool = False) -> FittedModel:
        library = compile_model(model, quantize=self.quantize, timeout=timeout, announce=announce)
        return CompiledModel(model, library, quantize=self.quantize)
