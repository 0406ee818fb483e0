"""Serving: the :class:`Predictor`, its saved form (manifest plus native model file) and the compiled
runtime it may serve through.

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
    RUNTIMES,
    CompiledModel,
    cache_dir,
    compile_model,
    compiled,
    compiler_available,
)
from paretoml.serving._predictor import Predictor, load

__all__ = [
    "COMPILE_STATS",
    "RUNTIMES",
    "CompiledModel",
    "Predictor",
    "cache_dir",
    "compile_model",
    "compiled",
    "compiler_available",
    "load",
]
