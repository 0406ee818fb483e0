"""Serving: the :class:`Predictor`, its saved form (manifest plus native model file) and the runtimes
it may serve through (the tl2cgen compiled runtime is registered here).

Importing this package imports no search code (no ``paretoml.compression``, ``paretoml.study``,
optuna or shap); a model library loads when a model of its family is loaded.

Example:
    >>> from paretoml.serving import load
    >>> pred = load("churn-model/")      # doctest: +SKIP
    >>> pred.output(df.head(3))         # doctest: +SKIP
"""

from __future__ import annotations

from paretoml.serving._compiled import (
    COMPILE_STATS,
    CompiledModel,
    Tl2cgenRuntime,
    cache_dir,
    compile_model,
    compiler_available,
)
from paretoml.serving._predictor import Predictor, load
from paretoml.serving._runtimes import RUNTIMES, BaseRuntime, compiled, register_runtime

__all__ = [
    "COMPILE_STATS",
    "RUNTIMES",
    "BaseRuntime",
    "CompiledModel",
    "Predictor",
    "Tl2cgenRuntime",
    "cache_dir",
    "compile_model",
    "compiled",
    "compiler_available",
    "load",
    "register_runtime",
]

register_runtime(Tl2cgenRuntime(quantize=False))
register_runtime(Tl2cgenRuntime(quantize=True))
