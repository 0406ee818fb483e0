"""paretoml: find the model to ship, trading accuracy against latency and size on your hardware.

The public names are imported on first use (PEP 562), so that ``import paretoml.serving`` (or
``paretoml.load``) does not import the search (optuna, shap, the compressors).

Example:
    >>> import paretoml
    >>> result = paretoml.optimize((X, y), budget=60)          # doctest: +SKIP
    >>> pred = result.predictor(result.front.trial.iloc[0])   # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from paretoml._version import __version__
from paretoml.exceptions import (
    BudgetError,
    ColumnMismatchError,
    ConfigError,
    DataError,
    MissingDependencyError,
    ModelFileError,
    NoFeasibleModelError,
    ParetoMLError,
    SearchSpaceError,
    TrialTimeoutError,
    UnsupportedError,
)

if TYPE_CHECKING:
    from paretoml._api import optimize
    from paretoml._budget import Budget, BudgetSpent
    from paretoml._load_study import load_study
    from paretoml._pick import PRESETS, Pick, pick_front
    from paretoml._result import Result
    from paretoml.measure import Hardware
    from paretoml.serving import Predictor, load

#: Where each lazily imported public name lives.
_LAZY = {
    "optimize": "paretoml._api",
    "Budget": "paretoml._budget",
    "BudgetSpent": "paretoml._budget",
    "PRESETS": "paretoml._pick",
    "Pick": "paretoml._pick",
    "pick_front": "paretoml._pick",
    "Result": "paretoml._result",
    "load_study": "paretoml._load_study",
    "Hardware": "paretoml.measure",
    "Predictor": "paretoml.serving",
    "load": "paretoml.serving",
}

__all__ = [
    "PRESETS",
    "Budget",
    "BudgetError",
    "BudgetSpent",
    "ColumnMismatchError",
    "ConfigError",
    "DataError",
    "Hardware",
    "MissingDependencyError",
    "ModelFileError",
    "NoFeasibleModelError",
    "ParetoMLError",
    "Pick",
    "Predictor",
    "Result",
    "SearchSpaceError",
    "TrialTimeoutError",
    "UnsupportedError",
    "__version__",
    "load",
    "load_study",
    "optimize",
    "pick_front",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'paretoml' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
