"""Pure-NumPy Pareto maths, free of Optuna state."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["beyond_baseline", "front_masks", "noise_aware_front", "non_dominated"]


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


def noise_aware_front(values: np.ndarray, maximize: Sequence[bool], tolerance: np.ndarray) -> np.ndarray:
    """Mask of the rows that no other row dominates beyond noise (ε-dominance with measured ε).

    Row ``i`` dominates row ``j`` beyond noise when ``i`` is no worse than ``j`` beyond noise in every
    objective (``loss_i <= loss_j + ε``) and better beyond noise in one (``loss_i < loss_j - ε``), where
    ``ε`` is the larger of the two rows' tolerances in that objective. Rows within noise of each other
    in every objective are all kept: neither is better beyond noise. With tolerances the relation can
    run in a cycle (``a`` over ``b`` over ``c`` over ``a``); so a row is dropped only by a row that no kept
    row dominates beyond noise (repeated until nothing changes), and rows that only a cycle dominates
    are kept.

    Args:
        values: ``(n, k)`` objective values.
        maximize: For each objective, whether greater is better.
        tolerance: ``(n, k)`` non-negative noise of each value (0: exact, e.g. bytes).

    Returns:
        A boolean mask of length ``n``; never all False for ``n > 0``.

    Example:
        >>> v = np.array([[0.950, 0.100], [0.949, 0.010], [0.900, 0.001]])  # metric, latency ms
        >>> noise_aware_front(v, [True, False], np.array([[0.005, 0.002]] * 3)).tolist()
        [False, True, True]
    """
    v = np.asarray(values, dtype=np.float64)
    tol = np.broadcast_to(np.asarray(tolerance, dtype=np.float64), v.shape)
    if v.ndim != 2 or v.shape[1] != len(maximize):
        raise ValueError(f"values must have shape (n, {len(maximize)}); got {v.shape}.")
    if len(v) == 0:
        return np.zeros(0, dtype=bool)
    loss = np.where(np.asarray(maximize, dtype=bool), -v, v)
    eps = np.maximum(tol[:, None, :], tol[None, :, :])
    diff = loss[:, None, :] - loss[None, :, :]  # [i, j, k]: i's loss minus j's
    no_worse = (diff <= eps).all(axis=2)
    better = (diff < -eps).any(axis=2)
    beaten = no_worse & better  # [i, j]: i dominates j beyond noise
    keep = np.ones(len(v), dtype=bool)
    while True:  # drop what an undominated row beats; rows left may now be undominated: repeat
        within = beaten & keep[:, None] & keep[None, :]
        undominated = keep & ~within.any(axis=0)
        dropped = keep & within[undominated].any(axis=0)
        if not dropped.any():
            return keep
        keep &= ~dropped


def beyond_baseline(metric: np.ndarray, se: np.ndarray, baseline: float, maximize: bool, z: float) -> np.ndarray:
    """Mask of the metrics better than a trivial ``baseline`` by more than ``z`` standard errors.

    Args:
        metric: Validation metric of each trial.
        se: Its standard error (0 where unknown: then any strict improvement counts).
        baseline: The metric of a constant prediction.
        maximize: Whether greater is better.
        z: The margin in standard errors.

    Returns:
        A boolean mask; False marks a degenerate trial.
    """
    m = np.asarray(metric, dtype=np.float64)
    gain = (m - baseline) if maximize else (baseline - m)
    margin = z * np.asarray(se, dtype=np.float64) + 1e-12 * max(abs(baseline), 1.0)
    return np.asarray(gain > margin, dtype=bool)


def front_masks(
    values: np.ndarray,
    maximize: Sequence[bool],
    tolerance: np.ndarray,
    useful: np.ndarray,
    log_scale: Sequence[bool] | None = None,
    *,
    anchor: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """The trustworthy front and the raw front of a set of trials, as masks.

    Args:
        values: ``(n, k)`` objective values.
        maximize: For each objective, whether greater is better.
        tolerance: ``(n, k)`` noise of each value (see :func:`noise_aware_front`).
        useful: Mask of the trials that beat the trivial baseline (see :func:`beyond_baseline`).
        log_scale: Objectives (positive) compared as ratios: ``ln v`` with tolerance ``ln(1 + tol / v)``,
            so that a relative noise (5% of a latency) is one unit whatever the latency.
        anchor: Keep the accurate anchor (below) on the trustworthy front.

    Returns:
        ``(trustworthy, raw)``: the useful trials that no useful trial dominates, exactly or beyond
        noise, plus the accurate anchor; and every trial that no trial dominates (the plain Pareto set,
        degenerate ones included).

    The accurate anchor is the useful, non-dominated trial with the best first objective (the metric).
    It stays on the trustworthy front even when a cheaper trial is within noise of its metric: its
    expected metric is still the highest, and without it the accurate end of the front gives away
    accuracy (``benchmarks/results/accuracy_anchor.md``: +0.006 on the test split on average where the
    front had dropped it; noisy small test splits).
    """
    v = np.asarray(values, dtype=np.float64)
    trusted = np.zeros(len(v), dtype=bool)
    candidates = np.flatnonzero(np.asarray(useful, dtype=bool))
    if len(candidates):
        strict = candidates[non_dominated(v[candidates], maximize)]
        tol = np.array(np.broadcast_to(np.asarray(tolerance, dtype=np.float64), v.shape))
        scaled = v.copy()
        for j, log in enumerate(log_scale or [False] * v.shape[1]):
            if log:
                positive = np.maximum(v[:, j], 1e-12)
                scaled[:, j], tol[:, j] = np.log(positive), np.log1p(tol[:, j] / positive)
        trusted[strict[noise_aware_front(scaled[strict], maximize, tol[strict])]] = True
        if anchor:
            first = v[strict, 0] if maximize[0] else -v[strict, 0]
            trusted[strict[int(np.argmax(first))]] = True
    return trusted, non_dominated(v, maximize)
