"""Exact hypervolume of a set of points (all objectives minimised), pure NumPy."""

from __future__ import annotations

import numpy as np

from paretoml.pareto._front import non_dominated

__all__ = ["hypervolume"]


def _area_2d(points: np.ndarray, ref: np.ndarray) -> float:
    """Area dominated by 2-D points (minimised) and bounded by ``ref``."""
    front = points[non_dominated(points, [False, False])]
    front = front[np.argsort(front[:, 0], kind="stable")]  # x ascending, so y descending
    xs = np.append(front[:, 0], ref[0])
    return float(np.sum((xs[1:] - xs[:-1]) * (ref[1] - front[:, 1])))


def hypervolume(points: np.ndarray, ref: np.ndarray) -> float:
    """Volume dominated by ``points`` and bounded by the reference point ``ref`` (minimisation).

    Exact, by slicing along the last objective: O(n² log n) for 3 objectives, fine for fronts of
    hundreds of points. Points not better than ``ref`` in every objective contribute nothing.

    Args:
        points: ``(n, d)`` objective values, d = 2 or 3, all minimised.
        ref: ``(d,)`` reference point.

    Returns:
        The hypervolume.

    Example:
        >>> hypervolume(np.array([[1.0, 1.0]]), np.array([2.0, 3.0]))
        2.0
    """
    p = np.asarray(points, dtype=np.float64)
    r = np.asarray(ref, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] not in (2, 3) or r.shape != (p.shape[1],):
        raise ValueError(f"points must be (n, 2) or (n, 3) with a matching ref; got {p.shape} and {r.shape}.")
    p = p[(p < r).all(axis=1)]
    if len(p) == 0:
        return 0.0
    p = p[non_dominated(p, [False] * p.shape[1])]
    if p.shape[1] == 2:
        return _area_2d(p, r)
    order = np.argsort(p[:, 2])
    p = p[order]
    volume = 0.0
    for i in range(len(p)):
        upper = p[i + 1, 2] if i + 1 < len(p) else r[2]
        if upper > p[i, 2]:
            volume += _area_2d(p[: i + 1, :2], r[:2]) * (upper - p[i, 2])
    return float(volume)
