"""Pure-NumPy Pareto maths, free of Optuna state."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["non_dominated"]


def non_dominated(values: np.ndarray, maximize: Sequence[bool]) -> np.ndarray:
    """Mask of the rows of ``values`` that no other row dominates.

    A row dominates another when it is at least as good in every objective and strictly better in
    one. Identical rows do not dominate each other, so duplicates are all kept.

    Args:
        values: Array of shape ``(n_points, n_objectives)``.
        maximize: For each objective, whether greater is better.

    Returns:
        A boolean mask of length ``n_points``.

    Example:
        >>> non_dominated(np.array([[1.0, 1.0], [2.0, 0.5], [0.5, 2.0]]), [True, False]).tolist()
        [False, True, False]
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != len(maximize):
        raise ValueError(f"values must have shape (n, {len(maximize)}); got {v.shape}.")
    if len(v) == 0:
        return np.zeros(0, dtype=bool)
    loss = np.where(np.asarray(maximize, dtype=bool), -v, v)  # minimise everything
    no_worse = (loss[:, None, :] <= loss[None, :, :]).all(axis=2)  # [i, j]: i no worse than j
    better = (loss[:, None, :] < loss[None, :, :]).any(axis=2)
    dominated = np.asarray((no_worse & better).any(axis=0), dtype=bool)
    return ~dominated
