"""The user-facing pick: from a front table to the one model to ship, with weights, limits, presets and why.

It works on plain front data (a DataFrame as :attr:`paretoml.Result.front`); ``Result.pick`` delegates here.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from paretoml.exceptions import ConfigError, NoFeasibleModelError
from paretoml.objectives import OBJECTIVE_KEYS
from paretoml.pareto import METHODS, choose, normalised_loss

if TYPE_CHECKING:
    from paretoml._predictor import Predictor

__all__ = ["LIMIT_KEYS", "PRESETS", "Pick", "Preset", "pick_front"]

LIMIT_KEYS = ("max_latency_p95_ms", "max_latency_p50_ms", "max_size_kb", "min_metric", "max_metric", "max_metric_drop")
_OVERFIT_GAP = 0.02


@dataclass(frozen=True)
class Preset:
    """A named business scenario: weights over (metric, latency, size), hard limits and a method."""

    weights: dict[str, float]
    limits: dict[str, float] = field(default_factory=dict)
    method: str = "weighted_sum"
    description: str = ""


PRESETS: dict[str, Preset] = {
    "customer_facing": Preset(
        {"metric": 0.45, "latency": 0.45, "size": 0.10},
        {"max_latency_p95_ms": 10.0},
        description="A recommendation or ranking served while the user waits (tens of ms end to end, so the "
        "model gets a slice): latency counts as much as accuracy; p95 under 10 ms.",
    ),
    "internal_analytics": Preset(
        {"metric": 0.85, "latency": 0.05, "size": 0.10},
        description="Batch scoring for reports and dashboards: accuracy first; latency and size barely matter.",
    ),
    "edge": Preset(
        {"metric": 0.40, "latency": 0.20, "size": 0.40},
        {"max_size_kb": 1024.0},
        description="A model on a device: must fit in 1 MB; size counts as much as accuracy.",
    ),
    "loan_quote": Preset(
        {"metric": 0.70, "latency": 0.20, "size": 0.10},
        {"max_latency_p95_ms": 1000.0},
        description="A loan quote returned in seconds: accuracy is money; the model only has to answer "
        "well within a second (p95 under 1 s).",
    ),
    "medical": Preset(
        {"metric": 0.90, "latency": 0.05, "size": 0.05},
        {"max_metric_drop": 0.002},
        description="Accuracy must not be traded away: only models within 0.002 of the most accurate are "
        "considered; among them the cheaper to serve wins.",
    ),
}


@dataclass
class Pick:
    """The chosen model and why.

    Attributes:
        trial: The chosen trial's number.
        row: Its front row (metric, latency, size, ...).
        explanation: What it gives up against the most accurate candidate and what it gains.
        details: The same as numbers, plus the settings used.
        candidates: The candidates that met the limits, with their scores (lower is better).
    """

    trial: int
    row: pd.Series
    explanation: str
    details: dict[str, Any]
    candidates: pd.DataFrame
    _load: Callable[[int], Predictor] | None = field(default=None, repr=False)

    def predictor(self) -> Predictor:
        """The chosen trial's Predictor."""
        if self._load is None:
            raise ConfigError("this pick is not attached to a study result; use Result.pick to pick from a study.")
        return self._load(self.trial)

    def __str__(self) -> str:
        return self.explanation


def _weights(spec: Mapping[str, float] | Sequence[float] | None, base: Mapping[str, float]) -> dict[str, float]:
    if spec is None:
        return dict(base)
    if isinstance(spec, Mapping):
        unknown = set(spec) - set(OBJECTIVE_KEYS)
        if unknown:
            raise ConfigError(f"`weights` has unknown keys {sorted(unknown)}; use {list(OBJECTIVE_KEYS)}.")
        merged = {**base, **{k: float(v) for k, v in spec.items()}}
    else:
        values = list(spec)
        if len(values) != 3:
            raise ConfigError(f"`weights` needs 3 numbers (metric, latency, size); got {values!r}.")
        merged = dict(zip(OBJECTIVE_KEYS, map(float, values), strict=True))
    if any(not math.isfinite(v) or v < 0 for v in merged.values()) or sum(merged.values()) <= 0:
        raise ConfigError(f"`weights` must be non-negative with a positive sum; got {merged!r}.")
    return merged


def _limits(spec: Mapping[str, float] | None, base: Mapping[str, float]) -> dict[str, float]:
    merged = {**base, **dict(spec or {})}
    unknown = set(merged) - set(LIMIT_KEYS)
    if unknown:
        raise ConfigError(f"`limits` has unknown keys {sorted(unknown)}; allowed: {list(LIMIT_KEYS)}.")
    for key, value in merged.items():
        if not isinstance(value, (int, float)) or not math.isfinite(value) or (key != "min_metric" and value < 0):
            raise ConfigError(f"`limits.{key}` must be a finite number (non-negative); got {value!r}.")
    return {k: float(v) for k, v in merged.items()}


def _misses(row: pd.Series, limits: Mapping[str, float], metric_col: str, best: float, maximize: bool) -> list[str]:
    """What ``row`` misses each limit by, in words; empty when it meets them all."""
    out = []
    checks = [
        ("max_latency_p95_ms", row.latency_p95_ms, "p95 {:.4g} ms > {:.4g} ms", False),
        ("max_latency_p50_ms", row.latency_p50_ms, "p50 {:.4g} ms > {:.4g} ms", False),
        ("max_size_kb", row.size_kb, "size {:.4g} KB > {:.4g} KB", False),
        ("min_metric", row[metric_col], "metric {:.4g} < {:.4g}", True),
    ]
    for key, value, text, lower_bound in checks:
        if key in limits and ((value < limits[key]) if lower_bound else (value > limits[key])):
            out.append(text.format(value, limits[key]))
    if "max_metric" in limits and row[metric_col] > limits["max_metric"]:
        out.append(f"metric {row[metric_col]:.4g} > {limits['max_metric']:.4g}")
    if "max_metric_drop" in limits:
        drop = (best - row[metric_col]) if maximize else (row[metric_col] - best)
        if drop > limits["max_metric_drop"]:
            out.append(f"metric {drop:.4g} worse than the best, allowed {limits['max_metric_drop']:.4g}")
    return out


def _ratio(value: float, reference: float, better: str, worse: str) -> str:
    if value <= 0 or reference <= 0 or math.isclose(value, reference, rel_tol=1e-9):
        return "the same"
    return f"{reference / value:.1f}× {better}" if value < reference else f"{value / reference:.1f}× {worse}"


def pick_front(
    front: pd.DataFrame,
    *,
    maximize: bool,
    metric: str,
    weights: Mapping[str, float] | Sequence[float] | None = None,
    limits: Mapping[str, float] | None = None,
    method: str | None = None,
    preset: str | None = None,
    on: str = "test",
) -> Pick:
    """Choose one member of a front table for a business scenario.

    Args:
        front: A front table with the columns of :attr:`paretoml.Result.front`.
        maximize: Whether a greater metric is better.
        metric: The metric's name, for the explanation.
        weights: Weights of ``metric``, ``latency`` (p50) and ``size``, as a dict or three numbers;
            applied to normalised objectives (latency and size on a log scale). Default: equal weights,
            or the preset's.
        limits: Hard limits applied before weighting: ``max_latency_p95_ms``, ``max_latency_p50_ms``,
            ``max_size_kb``, ``min_metric``/``max_metric``, ``max_metric_drop`` (tolerance from the best
            candidate's metric).
        method: ``weighted_sum`` (default), ``tchebycheff``, ``knee`` or ``topsis``.
        preset: One of :data:`PRESETS`; ``weights``/``limits``/``method`` given here override it.
        on: ``"test"`` (default: the test-rescored metric, so the choice is no overfit of validation)
            or ``"valid"``.

    Returns:
        The pick, with its explanation (``Result.pick`` also attaches the study's predictor loader).

    Raises:
        NoFeasibleModelError: When no front member meets the limits (names the closest and their misses).
        ConfigError: For unknown presets, methods, weight or limit keys.

    Example:
        >>> result.pick(preset="edge", limits={"max_latency_p95_ms": 5})  # doctest: +SKIP
    """
    if preset is not None and preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}.")
    base = PRESETS[preset] if preset else Preset({"metric": 1.0, "latency": 1.0, "size": 1.0})
    w = _weights(weights, base.weights)
    lim = _limits(limits, base.limits)
    chosen_method = method or base.method
    if chosen_method not in METHODS:
        raise ConfigError(f"`method` must be one of {list(METHODS)}; got {chosen_method!r}.")
    if on not in ("test", "valid"):
        raise ConfigError(f"`on` must be 'test' or 'valid'; got {on!r}.")
    if front.empty:
        raise NoFeasibleModelError("the study has no completed trials to pick from; run the study first.")
    front = front.reset_index(drop=True)
    metric_col = f"metric_{on}"
    if on == "test" and front.metric_test.isna().any():
        warnings.warn("some front members have no test score; picking on validation.", UserWarning, stacklevel=2)
        metric_col = "metric_valid"
    best_metric = front[metric_col].max() if maximize else front[metric_col].min()
    misses = [_misses(row, lim, metric_col, best_metric, maximize) for _, row in front.iterrows()]
    feasible = front[[not m for m in misses]].reset_index(drop=True)
    if feasible.empty:
        raise _infeasible(front, misses, lim)
    values = feasible[[metric_col, "latency_p50_ms", "size_kb"]].to_numpy(dtype=np.float64)
    loss = normalised_loss(values, maximize)
    index, scores = choose(loss, [w[k] for k in OBJECTIVE_KEYS], chosen_method)
    candidates = feasible.assign(score=scores).sort_values("score", kind="stable").reset_index(drop=True)
    row = feasible.iloc[index]
    details, text = _explain(row, front, metric_col, maximize, metric, chosen_method, preset)
    details.update({"weights": w, "limits": lim, "method": chosen_method, "preset": preset, "on": metric_col[7:]})
    return Pick(int(row.trial), row, text, details, candidates)


def _infeasible(front: pd.DataFrame, misses: list[list[str]], limits: Mapping[str, float]) -> NoFeasibleModelError:
    def shortfall(i: int) -> float:
        row = front.iloc[i]
        total = len(misses[i]) * 1e-3
        for key, col in (("max_latency_p95_ms", "latency_p95_ms"), ("max_latency_p50_ms", "latency_p50_ms"),
                         ("max_size_kb", "size_kb")):  # fmt: skip
            if key in limits and limits[key] > 0:
                total += max(0.0, float(row[col]) / limits[key] - 1.0)
        return total

    order = sorted(range(len(front)), key=shortfall)[:3]
    closest = "; ".join(
        f"trial {int(front.iloc[i].trial)} ({front.iloc[i].family}): " + ", ".join(misses[i]) for i in order
    )
    return NoFeasibleModelError(
        f"no front member meets the limits {dict(limits)}. Closest: {closest}. Relax a limit, or run the "
        "study longer (or with more compression) to find smaller or faster models."
    )


def _explain(
    row: pd.Series, front: pd.DataFrame, metric_col: str, maximize: bool, metric: str, method: str, preset: str | None
) -> tuple[dict[str, Any], str]:
    scores = front[metric_col].to_numpy(dtype=np.float64)
    best = front.iloc[int(np.argmax(scores) if maximize else np.argmin(scores))]
    drop = (best[metric_col] - row[metric_col]) if maximize else (row[metric_col] - best[metric_col])
    gap = row.gap
    details = {
        "trial": int(row.trial),
        "family": row.family,
        "metric": float(row[metric_col]),
        "most_accurate_trial": int(best.trial),
        "metric_given_up": float(drop),
        "latency_speedup": float(best.latency_p50_ms / row.latency_p50_ms),
        "size_reduction": float(best.size_kb / row.size_kb),
        "valid_test_gap": None if pd.isna(gap) else float(gap),
        "overfit_flag": bool(not pd.isna(gap) and gap > _OVERFIT_GAP),
    }
    lens = "test" if metric_col == "metric_test" else "validation"
    if int(row.trial) == int(best.trial):
        versus = f"It is the most accurate front member on {lens}."
    else:
        versus = (
            f"Against the most accurate front member (trial {int(best.trial)}, {metric} "
            f"{best[metric_col]:.4f} on {lens}) it gives up {drop:.4f} {metric} and is "
            f"{_ratio(row.latency_p50_ms, best.latency_p50_ms, 'faster', 'slower')} "
            f"({row.latency_p50_ms * 1000:.0f} µs vs {best.latency_p50_ms * 1000:.0f} µs p50) and "
            f"{_ratio(row.size_kb, best.size_kb, 'smaller', 'larger')} ({row.size_kb:.1f} KB vs {best.size_kb:.1f} KB)."
        )
    gap_text = (
        ""
        if pd.isna(gap)
        else f" Valid/test gap {gap:+.4f}" + (" (large: may overfit)." if details["overfit_flag"] else ".")
    )
    text = (
        f"Picked trial {int(row.trial)} ({row.family}, {row.n_features} features): {metric} {row[metric_col]:.4f} "
        f"on {lens}, p50 {row.latency_p50_ms * 1000:.0f} µs, p95 {row.latency_p95_ms * 1000:.0f} µs, "
        f"{row.size_kb:.1f} KB; by {method}" + (f" with preset {preset!r}" if preset else "") + f". {versus}{gap_text}"
    )
    return details, text
