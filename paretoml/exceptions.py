"""Typed errors raised by paretoml.

Every error names the parameter (or column), the rule it broke, the value it got and the fix, so that
a user can act on it without reading the source.
"""

from __future__ import annotations

__all__ = [
    "BudgetError",
    "ColumnMismatchError",
    "ConfigError",
    "DataError",
    "MissingDependencyError",
    "ModelFileError",
    "NoFeasibleModelError",
    "ParetoMLError",
    "RefitUnavailableError",
    "SearchSpaceError",
    "TrialTimeoutError",
    "UnsupportedError",
]


class ParetoMLError(Exception):
    """Base class of every error paretoml raises on purpose."""


class DataError(ParetoMLError, ValueError):
    """The training data cannot be used as given (shape, target, dtypes, missing values)."""


class ColumnMismatchError(DataError):
    """Data passed to a Predictor does not match the columns it was trained on."""


class ConfigError(ParetoMLError, ValueError):
    """An argument or a study file holds a value paretoml does not accept."""


class SearchSpaceError(ConfigError):
    """A search-space YAML file is malformed; the message names the file and the key."""


class BudgetError(ConfigError):
    """The search budget is negative, zero or cannot be parsed."""


class MissingDependencyError(ParetoMLError, ImportError):
    """An optional dependency is needed for the requested feature but is not installed."""


class NoFeasibleModelError(ParetoMLError):
    """No front member meets the hard limits of a pick; the message names the closest candidates."""


class TrialTimeoutError(ParetoMLError):
    """A trial ran past its time limit (``optimize(trial_timeout=...)``); it is recorded as FAIL."""


class UnsupportedError(ConfigError):
    """A setting asks a model family for something it does not declare (e.g. truncation of a CNN)."""


class RefitUnavailableError(ConfigError):
    """A refit Predictor was asked for, none is stored, and the data to refit on is not at hand."""


class ModelFileError(DataError):
    """A saved predictor's manifest or model file is malformed, corrupted, or disagrees with itself; the
    message names the file (or manifest field) and the fix (re-export the model)."""
