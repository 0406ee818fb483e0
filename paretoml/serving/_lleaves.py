"""The ``lleaves`` runtime: a LightGBM model compiled to machine code with LLVM (lleaves' code generator).

lleaves 1.3 drives LLVM through llvmlite's legacy pass manager, which llvmlite 0.45 removed (numba,
hence shap, needs a newer llvmlite); so paretoml takes lleaves' parser and code generator
(``parse_to_ast``, ``gen_forest``) and optimises, emits and loads the object code through llvmlite's
current API itself. The compile runs in a child process (bounded by the trial's time limit, which an in-process LLVM
compile could not be); it writes the object file into the verified cache of
:mod:`paretoml.serving._cache` (``$PARETOML_CACHE/lleaves``) under the model's content hash, and
paretoml writes the sha256 sidecar after it. lleaves loads an object file only after that sidecar
matches; a saved predictor never ships one (loading compiles again, or takes it from the cache).
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib.metadata
import logging
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from paretoml.exceptions import ModelFileError, TrialTimeoutError
from paretoml.families import Capability, FittedModel
from paretoml.families._base import as_output
from paretoml.serving._cache import artefact_dir, publish, verified
from paretoml.serving._runtimes import BaseRuntime

__all__ = ["LleavesModel", "LleavesRuntime", "compile_lleaves", "lleaves_unavailable"]

_MAX_COMPILE_SECONDS = 600.0
_COMPILE = "import sys; from paretoml.serving._lleaves import emit_object; emit_object(sys.argv[1], sys.argv[2])"
_ENTRY = "forest_root"
_log = logging.getLogger("paretoml")


def lleaves_unavailable() -> str | None:
    """Why the lleaves runtime cannot run here (with the install hint), or None."""
    try:
        import llvmlite.binding as llvm
        from lleaves.compiler.ast import parse_to_ast  # noqa: F401
        from lleaves.compiler.codegen import gen_forest  # noqa: F401
    except ImportError:
        return "lleaves is not installed (pip install 'paretoml[lleaves]')"
    if not hasattr(llvm, "create_pass_builder"):
        return "llvmlite is older than 0.44 (pip install -U llvmlite)"
    return None


def _target_machine() -> Any:
    import llvmlite.binding as llvm

    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    target = llvm.Target.from_triple(llvm.get_process_triple())
    return target.create_target_machine(
        cpu=llvm.get_host_cpu_name(), features=_features(), reloc="pic", codemodel="large"
    )  # the large code model: lleaves' default, safe for forests of thousands of trees


def _features() -> str:
    import llvmlite.binding as llvm

    try:
        return str(llvm.get_host_cpu_features().flatten())
    except RuntimeError:  # LLVM cannot detect them on some hosts
        return ""


def _host() -> str:
    import llvmlite.binding as llvm

    return f"{llvm.get_process_triple()}|{llvm.get_host_cpu_name()}|{_features()}"


def emit_object(model_file: str, out: str) -> None:
    """Compile the LightGBM text model ``model_file`` into the object file ``out`` (run in a child).

    lleaves' code generator (float64 arithmetic, objective applied, trees cache-blocked by 34), then
    LLVM's ``-O3`` pipeline with inlining, then the host's machine code.
    """
    import llvmlite.binding as llvm
    import llvmlite.ir
    from lleaves.compiler.ast import parse_to_ast
    from lleaves.compiler.codegen import gen_forest

    forest = parse_to_ast(model_file)
    forest.raw_score = False
    ir = llvmlite.ir.Module(name="forest")
    gen_forest(forest, ir, 34, _ENTRY, True)
    ir.triple = llvm.get_process_triple()
    module = llvm.parse_assembly(str(ir))
    module.verify()
    machine = _target_machine()
    options = llvm.create_pipeline_tuning_options(speed_level=3)
    options.inlining_threshold = 1
    builder = llvm.create_pass_builder(machine, options)
    builder.getModulePassManager().run(module, builder)
    Path(out).write_bytes(machine.emit_object(module))


def compile_lleaves(text: bytes, *, timeout: float | None = None, announce: bool = False) -> Path:
    """The verified object file lleaves compiled from LightGBM model ``text`` (from the cache when
    this model was compiled before on this CPU).

    Args:
        text: The LightGBM text model (hashed with lleaves' and llvmlite's versions and the host CPU).
        timeout: Seconds the compile may take (default 600).
        announce: Log that a compile starts and how long it took.

    Raises:
        TrialTimeoutError: When the compile runs past ``timeout``.
        RuntimeError: When lleaves fails.
    """
    versions = f"{importlib.metadata.version('lleaves')}|{importlib.metadata.version('llvmlite')}|{_host()}"
    key = hashlib.sha256(text + b"|" + versions.encode()).hexdigest()[:32]
    target = artefact_dir("lleaves") / f"{key}.o"
    if verified(target):
        return target
    limit = _MAX_COMPILE_SECONDS if timeout is None else max(timeout, 0.0)
    started = time.perf_counter()
    if announce:
        _log.warning(f"compiling the lightgbm model with lleaves for at most {limit:.0f} s; "
                     "load(..., runtime='native') serves it without compiling.")  # fmt: skip
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        source, partial = Path(tmp) / "model.txt", Path(tmp) / "model.o"
        source.write_bytes(text)
        try:
            done = subprocess.run(
                [sys.executable, "-c", _COMPILE, str(source), str(partial)], capture_output=True, timeout=limit
            )
        except subprocess.TimeoutExpired as exc:
            raise TrialTimeoutError(
                f"compiling the model with lleaves ran past its time limit ({limit:.0f} s). Raise `trial_timeout`, "
                "or search smaller models."
            ) from exc
        if done.returncode != 0 or not partial.is_file():
            raise RuntimeError(f"lleaves failed to compile the model: {done.stderr.decode(errors='replace')[-2000:]}")
        publish(partial, target)
    if announce:
        _log.warning(f"compiled the model in {time.perf_counter() - started:.1f} s (cached in {target.parent}).")
    return target


class LleavesModel(FittedModel):
    """A LightGBM model served through its lleaves-compiled code.

    Args:
        native: The native LightGBM model (saved as the source of truth).
        timeout: Seconds the compile may take.
        announce: Log the compile.
    """

    def __init__(self, native: FittedModel, timeout: float | None = None, *, announce: bool = False) -> None:
        import llvmlite.binding as llvm

        self.native = native
        self.family = native.family
        self.task = native.task
        text = native.native_bytes()
        self.object_file = compile_lleaves(text, timeout=timeout, announce=announce)
        code = self.object_file.read_bytes()  # verified as read: the bytes checked are the bytes loaded
        if not verified(self.object_file, code):  # the one place object code is loaded: one paretoml built
            raise ModelFileError(
                f"{self.object_file} is not an object file paretoml built (its sha256 sidecar differs); it "
                "was not loaded. Delete it; paretoml rebuilds it."
            )
        self._engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), _target_machine())
        self._engine.add_object_file(llvm.ObjectFileRef.from_data(code))
        self._engine.finalize_object()
        entry = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int32, ctypes.c_int32)
        self._fn = entry(self._engine.get_function_address(_ENTRY))  # (rows, out, start, end); drops the GIL
        found = re.search(rb"^num_class=(\d+)$", text, flags=re.M)
        self._n_out = max(1, int(found.group(1))) if found else 1
        self._out = np.zeros(self._n_out, dtype=np.float64)
        self._lock = threading.Lock()
        self.n_threads = int(getattr(native, "n_threads", 1))
        self.single_row = self._predict_row

    @property
    def runtime(self) -> str:
        """``lleaves``."""
        return "lleaves"

    def _predict_row(self, X: np.ndarray) -> np.ndarray:
        row = np.ascontiguousarray(X, dtype=np.float64)
        with self._lock:
            self._fn(row.ctypes.data, self._out.ctypes.data, 0, 1)
            return self._out.copy()

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Batches in one call on one thread (lleaves' own threading splits rows the same way)."""
        rows = np.ascontiguousarray(X, dtype=np.float64)
        out = np.zeros(len(rows) * self._n_out, dtype=np.float64)
        self._fn(rows.ctypes.data, out.ctypes.data, 0, len(rows))
        return as_output(out, self.task, len(rows))

    def set_threads(self, n_threads: int) -> None:
        self.native.set_threads(n_threads)
        self.n_threads = n_threads

    def save(self, directory: Path) -> dict[str, Any]:
        return {**self.native.save(directory), "runtime": self.runtime}

    def stats(self) -> dict[str, int]:
        return {**self.native.stats(), "runtime_bytes": self.object_file.stat().st_size}


class LleavesRuntime(BaseRuntime):
    """The ``lleaves`` runtime (LightGBM only): LLVM-compiled code, verified cache."""

    name = "lleaves"
    requires = (Capability.LIGHTGBM_TEXT, Capability.NATIVE_BYTES)

    def unavailable(self) -> str | None:
        return lleaves_unavailable()

    def build(self, model: FittedModel, timeout: float | None, *, announce: bool = False) -> FittedModel:
        return LleavesModel(model, timeout, announce=announce)
