"""Validation metrics: any scikit-learn scorer name, computed from the Predictor's own output."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import get_scorer, get_scorer_names

from paretoml.exceptions import ConfigError

__all__ = ["DEFAULT_METRIC", "Metric", "get_metric"]

DEFAULT_METRIC = {"binary": "roc_auc", "multiclass": "accuracy", "regression": "r2"}
_MULTICLASS_ALIASES = {"roc_auc": "roc_auc_ovr"}


@dataclass(frozen=True)
class Metric:
    """A metric computed on the Predictor's output.

    Attributes:
        name: The name shown in the study (``"neg_"`` scorers lose the prefix: ``log_loss``).
        scorer_name: The scikit-learn scorer it comes from.
        greater_is_better: The objective direction.
        needs_proba: Whether it scores probabilities rather than labels.
    """

    name: str
    scorer_name: str
    greater_is_better: bool
    needs_proba: bool
    func: Callable[..., float]
    kwargs: dict[str, Any]

    @property
    def direction(self) -> str:
        """``"maximize"`` or ``"minimize"``, for Optuna."""
        return "maximize" if self.greater_is_better else "minimize"

    def score(self, y_true: np.ndarray, output: np.ndarray, classes: np.ndarray, task: str) -> float:
        """Score encoded targets against a predictor's raw output.

        Args:
            y_true: Encoded targets (class indices or values).
            output: Probabilities ``(n, K)`` for classification, values for regression.
            classes: Class labels (unused for regression).
            task: The task.

        Returns:
            The metric value (``log_loss`` positive; direction given by :attr:`direction`).
        """
        kwargs = dict(self.kwargs)
        if task == "regression":
            return float(self.func(y_true, output, **kwargs))
        if not self.needs_proba:
            return float(self.func(y_true, np.argmax(output, axis=1), **kwargs))
        if task == "binary" and self.func.__name__ != "log_loss":
            return float(self.func(y_true, output[:, 1], **kwargs))
        return float(self.func(y_true, output, labels=np.arange(output.shape[1]), **kwargs))


def get_metric(name: str | None, task: str) -> Metric:
    """Resolve a metric name for ``task``.

    Args:
        name: A scikit-learn scorer name (``"roc_auc"``, ``"f1_macro"``, ``"neg_log_loss"``, ...) or
            the same without ``neg_`` (``"log_loss"``, ``"root_mean_squared_error"``); None for the
            task's default (ROC AUC, accuracy, R²).
        task: The task.

    Returns:
        The metric.

    Raises:
        ConfigError: For an unknown name, with the closest known names.
    """
    name = name or DEFAULT_METRIC[task]
    scorer_name = name
    if task == "multiclass":
        scorer_name = _MULTICLASS_ALIASES.get(scorer_name, scorer_name)
    known = set(get_scorer_names())
    if scorer_name not in known and f"neg_{scorer_name}" in known:
        scorer_name = f"neg_{scorer_name}"
    if scorer_name not in known:
        close = difflib.get_close_matches(name, known, n=3)
        raise ConfigError(
            f"`metric` {name!r} is not a scikit-learn scorer name. Close matches: {close}. "
            "See sklearn.metrics.get_scorer_names() for all names."
        )
    scorer = get_scorer(scorer_name)
    response = getattr(scorer, "_response_method", "predict")
    methods = (response,) if isinstance(response, str) else tuple(response)
    needs_proba = "predict" not in methods
    sign = getattr(scorer, "_sign", 1)
    display = scorer_name[4:] if scorer_name.startswith("neg_") else scorer_name
    return Metric(
        name=display,
        scorer_name=scorer_name,
        greater_is_better=sign > 0,
        needs_proba=needs_proba,
        func=scorer._score_func,
        kwargs=dict(getattr(scorer, "_kwargs", {})),
    )
