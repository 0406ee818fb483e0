"""paretoml: find the model to ship, trading accuracy against latency and size on your hardware.

Example:
    >>> import paretoml
    >>> result = paretoml.optimize((X, y), budget=60)          # doctest: +SKIP
    >>> pred = result.predictor(result.front.trial.iloc[0])   # doctest: +SKIP
"""

from __future__ import annotations

from paretoml._api import optimize
from paretoml._budget import Budget
from paretoml._pick import PRESETS, Pick, pick_front
from paretoml._predictor import Predictor, load
from paretoml._result import Result, load_study
from paretoml._version import __version__
from paretoml.exceptions import (
    BudgetError,
    ColumnMismatchError,
    ConfigError,
    DataError,
    MissingDependencyError,
    NoFeasibleModelError,
    ParetoMLError,
    SearchSpaceError,
    TrialTimeoutError,
)
from paretoml.measure import Hardware

__all__ = [
    "PRESETS",
    "Budget",
    "BudgetError",
    "ColumnMismatchError",
    "ConfigError",
    "DataError",
    "Hardware",
    "MissingDependencyError",
    "NoFeasibleModelError",
    "ParetoMLError",
    "Pick",
    "Predictor",
    "Result",
    "SearchSpaceError",
    "TrialTimeoutError",
    "__version__",
    "load",
    "load_study",
    "optimize",
    "pick_front",
]
