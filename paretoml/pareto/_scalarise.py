"""Pure-NumPy scalarisation: per-objective losses on scales an outlier cannot stretch, and four methods.

Objectives arrive as a matrix of raw values, the metric first (then e.g. latency in ms, size in KB).
Each becomes a *loss* measured from the best candidate, 0 being the best:

- metric: how much worse than the best candidate, in units of the metric's noise (its standard error
  on the validation rows): ``(best - m) / unit``;
- log-scale objectives (latency, size, memory...): the log ratio to the best candidate,
  ``ln((x + c) / (best + c))``, where ``c`` (default 0) is a difference too small to matter, e.g. 1% of a
  hard limit; inverted for one to maximise (throughput);
- others: the difference to the best candidate in units of the candidates' median magnitude.

Every loss is a difference to the best candidate, so a member far from the others only moves its own
loss (a new best shifts a whole column by a constant, which no weighted sum notices); nothing is
scaled by the range of the candidates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["METHODS", "choose", "normalised_loss"]

METHODS = ("weighted_sum", "tchebycheff", "knee", "topsis")


def normalised_loss(
    values: np.ndarray,
    maximize_metric: bool,
    metric_unit: float,
    offsets: Sequence[float] | None = None,
    *,
    maximize: Sequence[bool] | None = None,
    log_scale: Sequence[bool] | None = None,
) -> np.ndarray:
    """Per-objective losses from the best row (0 = best; 1 = one noise unit, or a factor e).

    Args:
        values: ``(n, k)`` raw objectives, the metric first (log-scale ones > 0).
        maximize_metric: Whether a greater metric is better.
        metric_unit: The metric's noise unit (> 0), e.g. the median standard error of the candidates.
        offsets: ``c`` of each objective after the metric, in its units: differences well below it barely
            count (default 0).
        maximize: For each objective after the metric, whether greater is better (default: none).
        log_scale: For each objective after the metric, whether it is compared as a ratio (default: all).

    Returns:
        ``(n, k)`` non-negative losses.

    Example:
        >>> normalised_loss(np.array([[0.95, 0.1, 100.0], [0.93, 0.01, 10.0]]), True, 0.01).round(3).tolist()
        [[0.0, 2.303, 2.303], [2.0, 0.0, 0.0]]
    """
    v = np.asarray(values, dtype=np.float64)
    if not metric_unit > 0:
        raise ValueError(f"metric_unit must be positive; got {metric_unit!r}.")
    k = v.shape[1] - 1
    offsets = [0.0] * k if offsets is None else list(offsets)
    maximize = [False] * k if maximize is None else list(maximize)
    log_scale = [True] * k if log_scale is None else list(log_scale)
    if not len(offsets) == len(maximize) == len(log_scale) == k:
        raise ValueError(f"offsets, maximize and log_scale need {k} entries, one per objective after the metric.")
    loss = np.empty_like(v)
    metric = -v[:, 0] if maximize_metric else v[:, 0]
    loss[:, 0] = (metric - metric.min()) / metric_unit
    for j, (c, up, log) in enumerate(zip(offsets, maximize, log_scale, strict=True), start=1):
        if log:
            shifted = np.log(np.maximum(v[:, j], 1e-12) + max(float(c), 0.0))
            worse = -shifted if up else shifted
        else:
            scale = max(float(np.median(np.abs(v[:, j]))), 1e-12)
            worse = (-v[:, j] if up else v[:, j]) / scale
        loss[:, j] = worse - worse.min()
    return loss


def _knee(loss: np.ndarray) -> int:
    """The point furthest below the hyperplane through the k single-objective extremes.

    For three objectives the plane through three points (what ``np.cross`` gives); for k the normal is the
    null direction of the k - 1 edge vectors (their last right singular vector). Falls back to the point
    nearest the ideal (all zeros) when the extremes do not span a hyperplane.
    """
    k = loss.shape[1]
    extremes = loss[[int(np.argmin(loss[:, j] + 1e-9 * loss.sum(axis=1))) for j in range(k)]]
    edges = extremes[1:] - extremes[0]
    _, sv, vt = np.linalg.svd(edges, full_matrices=True)
    if len(sv) < k - 1 or sv.min() < 1e-12 * max(sv.max(), 1.0) or sv.max() < 1e-12:
        return int(np.argmin(np.linalg.norm(loss, axis=1)))
    normal = vt[-1]
    if normal.sum() < 0:  # point the normal away from the ideal
        normal = -normal
    below = (extremes[0] - loss) @ normal  # > 0: between the hyperplane and the ideal
    return int(np.argmax(below))


def choose(loss: np.ndarray, weights: Sequence[float], method: str) -> tuple[int, np.ndarray]:
    """Index of the best row by ``method``, and each row's score (lower is better).

    Args:
        loss: ``(n, k)`` losses from :func:`normalised_loss`.
        weights: Non-negative weights of the k objectives (scaled to sum to 1).
        method: ``weighted_sum`` (Σ w·loss), ``tchebycheff`` (max w·loss), ``knee`` (the
            furthest-bulging trade-off; ignores weights) or ``topsis`` (closeness to the ideal
            relative to the anti-ideal, the worst candidate in each objective; weighted).

    Returns:
        The chosen row and the scores; ties go to the first row.
    """
    w = np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    if method == "weighted_sum":
        scores = loss @ w
    elif method == "tchebycheff":
        scores = (loss * w).max(axis=1) + 1e-6 * (loss @ w)  # augmented: breaks ties towards efficiency
    elif method == "topsis":
        to_best = np.linalg.norm(loss * w, axis=1)
        to_worst = np.linalg.norm((loss.max(axis=0) - loss) * w, axis=1)
        scores = -(to_worst / np.maximum(to_best + to_worst, 1e-12))
    elif method == "knee":
        index = _knee(loss)
        scores = np.linalg.norm(loss, axis=1)
        scores[index] = -1.0
        return index, scores
    else:
        raise ValueError(f"unknown method {method!r}; choose one of {METHODS}.")
    return int(np.argmin(scores)), scores
