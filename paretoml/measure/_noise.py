"""How noisy a measurement is: the metric's sampling error, its trivial baseline, the latency's spread.

A front is only as good as its noise. Two models whose validation metrics differ by less than the
metric's sampling error on the validation rows, or whose latencies differ by less than the timing
spread, are not different; a model no better than a constant prediction is not a trade-off.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from paretoml.measure._bootstrap import bootstrap_scores, resample_indices

if TYPE_CHECKING:
    from paretoml.measure._metrics import Metric

__all__ = [
    "BOOTSTRAP_RESAMPLES",
    "LATENCY_FLOOR_US",
    "LATENCY_REL_FLOOR",
    "analytic_metric_se",
    "baseline_score",
    "fallback_baseline",
    "latency_noise_ms",
    "metric_se",
]

BOOTSTRAP_RESAMPLES = 200
"""Resamples of the validation rows; the standard error's own relative error is about 1/sqrt(2*200) = 5%."""
_MAX_BOOTSTRAP_ROWS = 1000  # larger validation sets are resampled m-out-of-n and the SE rescaled by sqrt(m/n)
_MIN_GOOD_RESAMPLES = 20  # resamples that can be scored (e.g. both classes present for ROC AUC)

LATENCY_REL_FLOOR = 0.05
"""Smallest relative latency difference taken as real. The p50 of 1,000 timed calls has a within-run
error well under 1%, but two timing runs of the same predictor differ more: CPU frequency, cache and
allocator state move a p50 by a few percent between runs on a quiet machine. 5% keeps that drift from
deciding front membership, and is far below the 2x steps the picker cares about."""
LATENCY_FLOOR_US = 1.0
"""Smallest absolute latency difference taken as real: below 1 µs a Python call's own jitter (a dict
lookup, an allocation) decides the order."""
_NORMAL_P95 = 1.6449  # the p95 of a standard normal, to turn a p95-p50 spread into a sigma


def metric_se(
    metric: Metric,
    output: np.ndarray,
    y: np.ndarray,
    classes: np.ndarray,
    task: str,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> float:
    """Bootstrap standard error of ``metric`` for a model's ``output`` on the validation labels ``y``.

    The output is the one the metric was scored on (``Predictor.output``), so nothing is predicted again;
    the rows are resampled with replacement ``resamples`` times (seeded) and the metric recomputed on
    each resample (in one pass of array operations for the common metrics, see
    :mod:`paretoml.measure._bootstrap`). Validation sets over 1,000 rows are resampled 1,000 rows at a
    time and the spread rescaled by ``sqrt(1000 / n)`` (an m-out-of-n bootstrap).

    Args:
        metric: The study's metric.
        output: The model's output on the validation rows: ``(n, n_classes)`` probabilities or ``(n,)`` values.
        y: Encoded validation targets.
        classes: Class labels (ignored for regression).
        task: ``"binary"``, ``"multiclass"`` or ``"regression"``.
        resamples: Bootstrap resamples.
        seed: Seed of the resampling.

    Returns:
        The standard error (0.0 when fewer than 20 resamples could be scored, e.g. one class only).

    Example:
        >>> auc = get_metric("roc_auc", "binary")
        >>> metric_se(auc, pred.output(X_valid), y_valid, classes, "binary")  # doctest: +SKIP
        0.0081
    """
    output = np.asarray(output)
    y = np.asarray(y)
    n = len(y)
    m = min(n, _MAX_BOOTSTRAP_ROWS)
    scores = bootstrap_scores(metric, output, y, classes, task, resample_indices(n, m, resamples, seed))
    scores = scores[np.isfinite(scores)]
    if len(scores) < _MIN_GOOD_RESAMPLES:
        return 0.0
    return float(np.std(scores, ddof=1) * math.sqrt(m / n))


def baseline_score(metric: Metric, y_train: np.ndarray, y_valid: np.ndarray, classes: np.ndarray, task: str) -> float:
    """The metric of a constant prediction of the training prior, scored on the validation labels.

    Classification predicts the training class frequencies for every row (ROC AUC 0.5, accuracy of the
    majority class, the log loss of the prior); regression predicts the training mean (R² about 0).
    Works for any scikit-learn scorer the study accepts.

    Args:
        metric: The study's metric.
        y_train: Encoded training targets (the prior).
        y_valid: Encoded validation targets.
        classes: Class labels.
        task: ``binary``, ``multiclass`` or ``regression``.

    Returns:
        The baseline value (NaN when the metric cannot score a constant prediction).
    """
    n = len(y_valid)
    if task == "regression":
        output = np.full(n, float(np.mean(y_train)))
    else:
        prior = np.bincount(np.asarray(y_train, dtype=np.int64), minlength=len(classes)) / len(y_train)
        output = np.tile(prior, (n, 1))
    try:
        return float(metric.score(np.asarray(y_valid), output, classes, task))
    except ValueError:
        return math.nan


def fallback_baseline(metric_name: str, task: str, n_classes: int) -> float | None:
    """The baseline of a stored study that recorded none, where the metric alone fixes it.

    ROC AUC is 0.5 and R² (explained variance) 0 for any constant; accuracy is at least ``1/K``.
    Other metrics depend on the labels, which a study does not keep: None.
    """
    if metric_name.startswith("roc_auc"):
        return 0.5
    if metric_name in ("r2", "explained_variance"):
        return 0.0
    if metric_name in ("accuracy", "balanced_accuracy") and task != "regression":
        return 1.0 / max(n_classes, 1)
    return None


def analytic_metric_se(metric_name: str, value: float, n_rows: int) -> float:
    """An analytic standard error, for stored trials that recorded no bootstrap ``metric_se``.

    ROC AUC: Hanley & McNeil (1982) with balanced classes. Bounded scores (accuracy, F1, precision,
    recall, average precision): the binomial ``sqrt(p (1 - p) / n)``. R² and explained variance:
    ``(1 - R²) sqrt(2 / n)`` (the relative error of a mean squared error). Other error metrics:
    ``|value| sqrt(2 / n)``.

    Args:
        metric_name: The metric's name.
        value: The trial's validation value.
        n_rows: Validation rows (0 when unknown: returns 0.0).

    Returns:
        The standard error.
    """
    if n_rows <= 0 or not math.isfinite(value):
        return 0.0
    if metric_name.startswith("roc_auc"):
        a = min(max(value, 1e-6), 1 - 1e-6)
        half = max(n_rows / 2.0, 1.0)
        q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
        return math.sqrt((a * (1 - a) + (half - 1) * (q1 - a * a) + (half - 1) * (q2 - a * a)) / (half * half))
    bounded = ("accuracy", "f1", "precision", "recall", "average_precision", "jaccard", "balanced_accuracy")
    if metric_name.startswith(bounded):
        p = min(max(value, 0.0), 1.0)
        return math.sqrt(max(p * (1 - p), 1.0 / n_rows) / n_rows)
    if metric_name in ("r2", "explained_variance"):
        return max(1.0 - value, 0.0) * math.sqrt(2.0 / n_rows)
    return abs(value) * math.sqrt(2.0 / n_rows)


def latency_noise_ms(p50_ms: float, p95_ms: float | None, repeats: int | None) -> float:
    """How far apart two p50 latencies must be to differ beyond noise, in ms.

    The larger of: twice the sampling error of the p50 (``1.2533 sigma / sqrt(repeats)``, sigma read
    from the recorded spread ``(p95 - p50) / 1.645``), 5% of the p50 (run-to-run drift, see
    :data:`LATENCY_REL_FLOOR`) and 1 µs (:data:`LATENCY_FLOOR_US`).

    Args:
        p50_ms: The recorded median latency.
        p95_ms: The recorded p95 (None: unknown).
        repeats: The timed calls behind them (None: unknown).

    Returns:
        The tolerance in ms.
    """
    tolerance = max(LATENCY_REL_FLOOR * p50_ms, LATENCY_FLOOR_US / 1000.0)
    if p95_ms is not None and repeats and math.isfinite(p95_ms) and p95_ms > p50_ms:
        sigma = (p95_ms - p50_ms) / _NORMAL_P95
        tolerance = max(tolerance, 2 * 1.2533 * sigma / math.sqrt(repeats))
    return tolerance
