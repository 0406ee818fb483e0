"""Bootstrap resamples of a validation metric, scored all at once where the metric allows it.

The bootstrap behind a trial's ``metric_se`` scores the metric on 200 resamples of the validation rows.
Through scikit-learn that is 200 calls, each validating its inputs again (about 3 ms per call for ROC
AUC): on small data half of a trial's time. The common metrics are simple functions of the resampled
rows, so they are computed here for every resample in one pass of array operations, giving the same
values as scikit-learn (to rounding; ``tests/test_bootstrap.py`` checks each against it):

- mean of a per-row value (accuracy, squared and absolute error): a gather and a row mean;
- R² and RMSE: sums of gathered values;
- ROC AUC (binary, and one-vs-rest macro for several classes): the Mann-Whitney statistic, with
  tied scores given their mid-rank (exactly the area under the ROC curve, ties counted half).

Any other metric (log loss, F1, ...) falls back to one scikit-learn call per resample.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from paretoml.measure._metrics import Metric

__all__ = ["bootstrap_scores", "resample_indices"]

_Vectorized = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def resample_indices(n: int, m: int, resamples: int, seed: int) -> np.ndarray:
    """``resamples`` rows of ``m`` row indices drawn from ``range(n)`` with replacement (seeded)."""
    return np.random.default_rng(seed).integers(0, n, size=(resamples, m))


def bootstrap_scores(
    metric: Metric, output: np.ndarray, y: np.ndarray, classes: np.ndarray, task: str, idx: np.ndarray
) -> np.ndarray:
    """The metric on each resample ``idx[r]`` of the rows (NaN where a resample cannot be scored).

    Args:
        metric: The study's metric.
        output: The model's output on the rows (probabilities ``(n, K)`` or values ``(n,)``).
        y: Encoded targets of the rows.
        classes: Class labels (unused for regression).
        task: The task.
        idx: Resampled row indices, ``(resamples, m)``.

    Returns:
        One value per resample.
    """
    fast = _vectorized(metric, output, task)
    if fast is not None:
        return fast(output, y, idx)
    scores = np.full(len(idx), np.nan)
    for r, rows in enumerate(idx):
        try:
            scores[r] = metric.score(y[rows], output[rows], classes, task)
        except ValueError:  # e.g. ROC AUC on a resample holding one class
            continue
    return scores


def _vectorized(metric: Metric, output: np.ndarray, task: str) -> _Vectorized | None:
    """The one-pass version of ``metric`` for this output, or None where scikit-learn must score it."""
    name = metric.func.__name__
    if task == "regression":
        return _REGRESSION.get(name) if not metric.kwargs and output.ndim == 1 else None
    if name == "accuracy_score" and not metric.kwargs:
        return _accuracy
    if name == "roc_auc_score" and output.ndim == 2:
        if task == "binary" and not metric.kwargs and output.shape[1] == 2:
            return _binary_auc
        if task == "multiclass" and metric.kwargs == {"multi_class": "ovr"} and np.allclose(1, output.sum(axis=1)):
            return _ovr_auc
    return None


def _accuracy(output: np.ndarray, y: np.ndarray, idx: np.ndarray) -> np.ndarray:
    correct = (np.argmax(output, axis=1) == y).astype(np.float64)
    return correct[idx].mean(axis=1)


def _mse(output: np.ndarray, y: np.ndarray, idx: np.ndarray) -> np.ndarray:
    return ((np.asarray(y, dtype=np.float64) - output) ** 2)[idx].mean(axis=1)


def _rmse(output: np.ndarray, y: np.ndarray, idx: np.ndarray) -> np.ndarray:
    return np.sqrt(_mse(output, y, idx))


def _mae(output: np.ndarray, y: np.ndarray, idx: np.ndarray) -> np.ndarray:
    return np.abs(np.asarray(y, dtype=np.float64) - output)[idx].mean(axis=1)


def _r2(output: np.ndarray, y: np.ndarray, idx: np.ndarray) -> np.ndarray:
    yy = np.asarray(y, dtype=np.float64)[idx]
    ss_res = ((yy - np.asarray(output, dtype=np.float64)[idx]) ** 2).sum(axis=1)
    ss_tot = ((yy - yy.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = 1.0 - ss_res / ss_tot
    # scikit-learn's convention for a constant target: 1 for a perfect fit, else 0
    return np.where(ss_tot == 0, np.where(ss_res == 0, 1.0, 0.0), r2)


_REGRESSION: dict[str, _Vectorized] = {
    "mean_squared_error": _mse,
    "root_mean_squared_error": _rmse,
    "mean_absolute_error": _mae,
    "r2_score": _r2,
}


def _auc(scores: np.ndarray, positive: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """ROC AUC of ``scores`` for the boolean labels ``positive`` on each resample (NaN: one class only)."""
    _, rank = np.unique(scores, return_inverse=True)  # equal scores share a rank, as ROC thresholds do
    keys = rank.reshape(-1)[idx]
    order = np.argsort(keys, axis=1, kind="stable")
    sorted_keys = np.take_along_axis(keys, order, axis=1)
    pos = np.take_along_axis(positive[idx], order, axis=1)
    r, m = sorted_keys.shape
    at = np.broadcast_to(np.arange(m), (r, m))
    starts = np.ones((r, m), dtype=bool)
    starts[:, 1:] = sorted_keys[:, 1:] != sorted_keys[:, :-1]
    ends = np.ones((r, m), dtype=bool)
    ends[:, :-1] = starts[:, 1:]
    first = np.maximum.accumulate(np.where(starts, at, 0), axis=1)
    last = np.minimum.accumulate(np.where(ends, at, m - 1)[:, ::-1], axis=1)[:, ::-1]
    mid_rank = (first + last) / 2.0 + 1.0  # 1-based mid-rank of each tie group
    n_pos = pos.sum(axis=1).astype(np.float64)
    n_neg = m - n_pos
    u = (mid_rank * pos).sum(axis=1) - n_pos * (n_pos + 1) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = u / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), auc, np.nan)


def _binary_auc(output: np.ndarray, y: np.ndarray, idx: np.ndarray) -> np.ndarray:
    return _auc(output[:, 1], np.asarray(y) == 1, idx)


def _ovr_auc(output: np.ndarray, y: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """One-vs-rest ROC AUC, macro average over classes (a resample missing a class cannot be scored)."""
    return np.mean([_auc(output[:, k], np.asarray(y) == k, idx) for k in range(output.shape[1])], axis=0)
