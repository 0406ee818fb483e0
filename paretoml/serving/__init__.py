"""Serving: the :class:`Predictor`, its saved form (manifest plus native model file) and the runtimes
it may serve through (tl2cgen, onnxruntime and lleaves are registered here), and ONNX export.

Importing this package imports no search code (no ``paretoml.compression``, ``paretoml.study``,
optuna or shap); a model library loads when a model of its family is loaded.

Example:
    >>> from paretoml.serving import load
    >>> pred = load("churn-model/")      # doctest: +SKIP
    >>> pred.output(df.head(3))         # doctest: +SKIP

``create_app`` and ``serve`` (the HTTP server, :mod:`paretoml.serving._http`) load on first use and
need the ``serve`` extra (Starlette, uvicorn); they are left out of ``__all__`` so that a star import
does not need it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from paretoml.serving._cache import cache_dir
from paretoml.serving._compiled import (
    COMPILE_STATS,
    CompiledModel,
    Tl2cgenRuntime,
    compile_model,
    compiler_available,
)
from paretoml.serving._lleaves import LleavesModel, LleavesRuntime, lleaves_unavailable
from paretoml.serving._onnx import OnnxModel, OnnxRuntime, export_onnx, onnx_unavailable
from paretoml.serving._predictor import Predictor, load
from paretoml.serving._runtimes import RUNTIMES, BaseRuntime, compiled, register_runtime

if TYPE_CHECKING:
    from paretoml.serving._http import create_app as create_app
    from paretoml.serving._http import serve as serve

__all__ = [
    "COMPILE_STATS",
    "RUNTIMES",
    "BaseRuntime",
    "CompiledModel",
    "LleavesModel",
    "LleavesRuntime",
    "OnnxModel",
    "OnnxRuntime",
    "Predictor",
    "Tl2cgenRuntime",
    "cache_dir",
    "compile_model",
    "compiled",
    "compiler_available",
    "export_onnx",
    "lleaves_unavailable",
    "load",
    "onnx_unavailable",
    "register_runtime",
]

register_runtime(Tl2cgenRuntime(quantize=False))
register_runtime(Tl2cgenRuntime(quantize=True))
register_runtime(OnnxRuntime())
register_runtime(LleavesRuntime())


def __getattr__(name: str) -> Any:
    if name not in ("create_app", "serve"):
        raise AttributeError(f"module 'paretoml.serving' has no attribute {name!r}")
    from paretoml._imports import require

    for module in ("starlette", "uvicorn"):
        require(module, "the HTTP server (paretoml serve)")
    from paretoml.serving import _http

    return getattr(_http, name)
