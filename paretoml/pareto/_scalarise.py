"""Pure-NumPy scalarisation: per-objective losses on scales an outlier cannot stretch, and four methods.

Objectives arrive as a matrix of raw values (metric, latency in ms, size in KB). Each becomes a *loss*
measured from the best candidate, 0 being the best:

- metric: how much worse than the best candidate, in units of the metric's noise (its standard error
  on the validation rows): ``(best - m) / unit``;
- latency and size: the log ratio to the best candidate, ``ln((x + c) / (best + c))``, where ``c``
  (default 0) is a difference too small to matter, e.g. 1% of a hard limit.

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
    values: np.ndarray, maximize_metric: bool, metric_unit: float, offsets: Sequence[float] = (0.0, 0.0)
) -> np.ndarray:
    """Per-objective losses from the best row (0 = best; 1 = one noise unit, or a factor e).

    Args:
        values: ``(n, 3)`` raw objectives: metric, latency, size (latency and size > 0).
        maximize_metric: Whether a greater metric is better.
        metric_unit: The metric's noise unit (> 0), e.g. the median standard error of the candidates.
        offsets: ``c`` of latency and size, in their units: differences well below it barely count.

    Returns:
        ``(n, 3)`` non-negative losses.

    Example:
        >>> normalised_loss(np.array([[0.95, 0.1, 100.0], [0.93, 0.01, 10.0]]), True, 0.01).round(3).tolist()
        [[0.0, 2.303, 2.303], [2.0, 0.0, 0.0]]
    """
    v = np.asarray(values, dtype=np.float64)
    if not metric_unit > 0:
        raise ValueError(f"metric_unit must be positive; got {metric_unit!r}.")
    loss = np.empty_like(v)
    metric = -v[:, 0] if maximize_metric else v[:, 0]
    loss[:, 0] = (metric - metric.min()) / metric_unit
    for j, c in zip((1, 2), offsets, strict=True):
        shifted = np.maximum(v[:, j], 1e-12) + max(float(c), 0.0)
        loss[:, j] = np.log(shifted / shifted.min())
    return loss


def _knee(loss: np.ndarray) -> int:
    """The point furthest below the plane through the three single-objective extremes.

    Falls back to the point nearest the ideal (all zeros) when the extremes do not span a plane.
    """
    extremes = loss[[int(np.argmin(loss[:, j] + 1e-9 * loss.sum(axis=1))) for j in range(loss.shape[1])]]
    normal = np.cross(extremes[1] - extremes[0], extremes[2] - extremes[0])
    if np.linalg.norm(normal) < 1e-12:
        return int(np.argmin(np.linalg.norm(loss, axis=1)))
    normal = normal / np.linalg.norm(normal)
    if normal.sum() < 0:  # point the normal away from the ideal
        normal = -normal
    below = (extremes[0] - loss) @ normal  # > 0: between the plane and the ideal
    return int(np.argmax(below))


def choose(loss: np.ndarray, weights: Sequence[float], method: str) -> tuple[int, np.ndarray]:
    """Index of the best row by ``method``, and each row's score (lower is better).

    Args:
        loss: ``(n, 3)`` losses from :func:`normalised_loss`.
        weights: Non-negative weights of metric, latency and size (scaled to sum to 1).
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
