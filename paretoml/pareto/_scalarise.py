"""Pure-NumPy maths of the picker: normalisation, hard limits and four scalarisation methods.

Objectives arrive as a matrix of raw values (metric, latency in ms, size in KB) with a flag saying
whether the metric is maximised. Latency and size are compared on a log scale (a model twice as fast
is as much better at 10 µs as at 10 ms). Each objective is then min-max normalised over the feasible
candidates to a *loss* in [0, 1], 0 being the best candidate.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["METHODS", "choose", "normalised_loss"]

METHODS = ("weighted_sum", "tchebycheff", "knee", "topsis")


def normalised_loss(values: np.ndarray, maximize_metric: bool) -> np.ndarray:
    """Per-objective losses in [0, 1] (0 = best among the rows).

    Args:
        values: ``(n, 3)`` raw objectives: metric, latency, size (latency and size > 0).
        maximize_metric: Whether a greater metric is better.

    Returns:
        ``(n, 3)`` losses; a column where all rows are equal is all zeros.
    """
    v = np.asarray(values, dtype=np.float64).copy()
    if maximize_metric:
        v[:, 0] = -v[:, 0]
    v[:, 1:] = np.log(np.maximum(v[:, 1:], 1e-12))
    low, high = v.min(axis=0), v.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    return (v - low) / span


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
        loss: ``(n, 3)`` normalised losses from :func:`normalised_loss`.
        weights: Non-negative weights of metric, latency and size (scaled to sum to 1).
        method: ``weighted_sum`` (Σ w·loss), ``tchebycheff`` (max w·loss), ``knee`` (the
            furthest-bulging trade-off; ignores weights) or ``topsis`` (closeness to the ideal
            relative to the anti-ideal, weighted).

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
        to_worst = np.linalg.norm((1.0 - loss) * w, axis=1)
        scores = -(to_worst / np.maximum(to_best + to_worst, 1e-12))
    elif method == "knee":
        index = _knee(loss)
        scores = np.linalg.norm(loss, axis=1)
        scores[index] = -1.0
        return index, scores
    else:
        raise ValueError(f"unknown method {method!r}; choose one of {METHODS}.")
    return int(np.argmin(scores)), scores
