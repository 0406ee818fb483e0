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

from paretoml._pick_text import explain, runner_up, settings
from paretoml.exceptions import ConfigError, NoFeasibleModelError
from paretoml.objectives import DEFAULT_OBJECTIVES, KINDS, OBJECTIVES, ObjectiveSpec, resolve_objectives
from paretoml.pareto import METHODS, choose, normalised_loss

if TYPE_CHECKING:
    from paretoml.serving import Predictor

__all__ = ["PRESETS", "Pick", "Preset", "limit_keys", "pick_front"]

_METRIC_LIMITS = ("min_metric", "max_metric", "max_metric_drop", "max_metric_drop_se")


def _objective_limits() -> dict[str, ObjectiveSpec]:
    """``max_<name>`` for each registered objective to minimise, ``min_<name>`` for one to maximise."""
    return {f"{'min' if o.maximize() else 'max'}_{o.name}": o for o in OBJECTIVES.values() if o.name != "metric"}


def limit_keys() -> list[str]:
    """Every hard-limit key :func:`pick_front` accepts (one per registered objective, and the metric's)."""
    return [*_objective_limits(), *_METRIC_LIMITS]


NEGLIGIBLE_SHARE = 0.01
"""Latency or size differences well below this share of a hard limit barely count (see the README)."""


@dataclass(frozen=True)
class Preset:
    """A named business scenario: weights over the kinds of objective (metric, latency, size), hard limits
    and a method. A kind's weight is shared by the study's objectives of that kind."""

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
        {"max_metric_drop_se": 1.0},
        description="Batch scoring for reports and dashboards: accuracy first (never more than the metric's "
        "noise, one standard error, below the most accurate); latency and size barely matter.",
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
        "considered; among them accuracy still weighs most, and a cheaper model wins a near tie.",
    ),
}


@dataclass
class Pick:
    """The chosen model and why.

    Attributes:
        trial: The chosen trial's number.
        row: Its front row (metric, latency, size, ...).
        explanation: What it gives up against the most accurate candidate and what it gains.
        details: The same as numbers, plus the settings used and the runner-up.
        candidates: The candidates that met the limits, with their losses and scores (lower is better).
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
        """The explanation, the weights and limits used, and the runner-up with why it lost."""
        lines = [self.explanation, self.details["settings_text"]]
        if self.details.get("runner_up_text"):
            lines.append(self.details["runner_up_text"])
        return "\n".join(lines)


def _weights(
    spec: Mapping[str, float] | Sequence[float] | None, base: Mapping[str, float], objectives: Sequence[ObjectiveSpec]
) -> dict[str, float]:
    """Each objective's weight: a kind's weight (``"latency"``) shared by its objectives, a named one's own."""
    names = [o.name for o in objectives]
    if spec is not None and not isinstance(spec, Mapping):
        values = list(spec)
        if len(values) != len(names):
            raise ConfigError(f"`weights` needs {len(names)} numbers ({', '.join(names)}); got {values!r}.")
        merged = dict(zip(names, map(float, values), strict=True))
    else:
        given = dict(base) if spec is None else {**base, **spec}
        unknown = set(given) - set(names) - set(KINDS)
        if spec is not None and set(spec) & unknown:
            raise ConfigError(
                f"`weights` has unknown keys {sorted(set(spec) & unknown)}; use the kinds {list(KINDS)} or the "
                f"study's objectives {names}."
            )
        merged = {}
        for o in objectives:
            sharing = sum(p.kind == o.kind for p in objectives if p.name not in given)
            if o.name in given:
                merged[o.name] = float(given[o.name])
            else:
                merged[o.name] = float(given.get(o.kind, 0.0)) / max(sharing, 1)
    if any(not math.isfinite(v) or v < 0 for v in merged.values()) or sum(merged.values()) <= 0:
        raise ConfigError(f"`weights` must be non-negative with a positive sum; got {merged!r}.")
    return merged


def _limits(spec: Mapping[str, float] | None, base: Mapping[str, float]) -> dict[str, float]:
    merged = {**base, **dict(spec or {})}
    allowed = limit_keys()
    unknown = set(merged) - set(allowed)
    if unknown:
        raise ConfigError(f"`limits` has unknown keys {sorted(unknown)}; allowed: {allowed}.")
    for key, value in merged.items():
        if not isinstance(value, (int, float)) or not math.isfinite(value) or (key != "min_metric" and value < 0):
            raise ConfigError(f"`limits.{key}` must be a finite number (non-negative); got {value!r}.")
    return {k: float(v) for k, v in merged.items()}


def _words(spec: ObjectiveSpec) -> str:
    """How a miss names an objective: ``p95``, ``size``, or the objective's name."""
    return {"latency_p95_ms": "p95", "latency_p50_ms": "p50", "size_kb": "size"}.get(spec.name, spec.name)


def _misses(row: pd.Series, limits: Mapping[str, float], metric_col: str, best: float, maximize: bool,
            unit: float) -> list[str]:  # fmt: skip
    """What ``row`` misses each limit by, in words; empty when it meets them all."""
    out = []
    for key, spec in _objective_limits().items():
        if key not in limits:
            continue
        value = float(row[spec.column]) if spec.column in row and not pd.isna(row[spec.column]) else math.nan
        low = key.startswith("min_")
        if not math.isfinite(value) or (value < limits[key] if low else value > limits[key]):
            out.append(f"{_words(spec)} {value:.4g} {spec.unit} {'<' if low else '>'} {limits[key]:.4g} {spec.unit}")
    if "min_metric" in limits and row[metric_col] < limits["min_metric"]:
        out.append(f"metric {row[metric_col]:.4g} < {limits['min_metric']:.4g}")
    if "max_metric" in limits and row[metric_col] > limits["max_metric"]:
        out.append(f"metric {row[metric_col]:.4g} > {limits['max_metric']:.4g}")
    drop = (best - row[metric_col]) if maximize else (row[metric_col] - best)
    if "max_metric_drop" in limits and drop > limits["max_metric_drop"]:
        out.append(f"metric {drop:.4g} worse than the best, allowed {limits['max_metric_drop']:.4g}")
    if "max_metric_drop_se" in limits and drop > limits["max_metric_drop_se"] * unit:
        out.append(f"metric {drop / unit:.2g} standard errors worse than the best, allowed "
                   f"{limits['max_metric_drop_se']:.2g}")  # fmt: skip
    return out


def noise_unit(front: pd.DataFrame) -> float:
    """The metric's noise unit of a front: the median standard error ``metric_se`` of its members.

    A median, so that one member with an odd error cannot change it; at least ``1e-9``.

    Raises:
        ConfigError: When the front has no ``metric_se`` column.
    """
    if "metric_se" not in front:
        raise ConfigError(
            "the front table has no `metric_se` column (each member's standard error); pass a front from "
            "Result.front, or add the column (0 where the metric has no noise)."
        )
    se = front.metric_se.to_numpy(dtype=np.float64)
    se = se[np.isfinite(se)]
    return max(float(np.median(se)) if len(se) else 0.0, 1e-9)


def _offsets(limits: Mapping[str, float], objectives: Sequence[ObjectiveSpec]) -> list[float]:
    """Each objective's (after the metric) difference too small to matter: a share of the tightest hard
    limit on an objective of its kind and unit (latency limits for latency objectives in ms, ...)."""
    by_key = _objective_limits()
    out = []
    for o in objectives[1:]:
        bounds = [v for k, v in limits.items() if k in by_key and by_key[k].kind == o.kind and by_key[k].unit == o.unit]
        out.append(NEGLIGIBLE_SHARE * min(bounds) if bounds else 0.0)
    return out


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
    objectives: Sequence[str] | None = None,
) -> Pick:
    """Choose one member of a front table for a business scenario.

    Each objective becomes a loss from the best candidate: the metric in units of its noise (the
    median ``metric_se``), latency, size and memory as log ratios (differences below 1% of a hard limit
    barely count); see :func:`paretoml.pareto.normalised_loss`. Rows flagged ``degenerate`` are never picked.

    Args:
        front: A front table with the columns of :attr:`paretoml.Result.front` (``metric_se`` included).
        maximize: Whether a greater metric is better.
        metric: The metric's name, for the explanation.
        weights: Weights as a dict of kinds (``metric``, ``latency``, ``size``: shared by the objectives of
            that kind) or objective names (``latency_p95_ms``), or one number per objective. Default: equal
            weights per kind, or the preset's.
        limits: Hard limits applied before weighting: ``max_<objective>`` for any objective to minimise
            (``max_latency_p95_ms``, ``max_size_kb``, ``max_memory_kb``...), ``min_throughput_rows_per_s``,
            ``min_metric``/``max_metric``, ``max_metric_drop`` (tolerance from the best front member's
            metric) and ``max_metric_drop_se`` (the same in standard errors). See :func:`limit_keys`.
        method: ``weighted_sum`` (default), ``tchebycheff``, ``knee`` or ``topsis``.
        preset: One of :data:`PRESETS`; ``weights``/``limits``/``method`` given here override it.
        on: ``"test"`` (default: the test-rescored metric, so the choice is no overfit of validation)
            or ``"valid"``.
        objectives: The study's objectives, the metric first (default: metric, latency_p50_ms, size_kb).

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
    specs = resolve_objectives(DEFAULT_OBJECTIVES if objectives is None else objectives)
    w = _weights(weights, base.weights, specs)
    lim = _limits(limits, base.limits)
    chosen_method = method or base.method
    if chosen_method not in METHODS:
        raise ConfigError(f"`method` must be one of {list(METHODS)}; got {chosen_method!r}.")
    if on not in ("test", "valid"):
        raise ConfigError(f"`on` must be 'test' or 'valid'; got {on!r}.")
    if "degenerate" in front:
        front = front[~front.degenerate.astype(bool)]
    if front.empty:
        raise NoFeasibleModelError(
            "the front is empty: no completed trial beats the trivial baseline beyond noise. Run the study "
            "longer, or check the data (target leakage, a constant target, too few validation rows)."
        )
    front = front.reset_index(drop=True)
    unit = noise_unit(front)
    metric_col = f"metric_{on}"
    if on == "test" and front.metric_test.isna().any():
        warnings.warn("some front members have no test score; picking on validation.", UserWarning, stacklevel=2)
        metric_col = "metric_valid"
    best_metric = front[metric_col].max() if maximize else front[metric_col].min()
    misses = [_misses(row, lim, metric_col, best_metric, maximize, unit) for _, row in front.iterrows()]
    feasible = front[[not m for m in misses]].reset_index(drop=True)
    if feasible.empty:
        raise _infeasible(front, misses, lim)
    values = feasible[[metric_col, *(o.column for o in specs[1:])]].to_numpy(dtype=np.float64)
    loss = normalised_loss(
        values, maximize, unit, _offsets(lim, specs), maximize=[o.maximize() for o in specs[1:]],
        log_scale=[o.log_scale for o in specs[1:]],
    )  # fmt: skip
    index, scores = choose(loss, [w[o.name] for o in specs], chosen_method)
    losses = {f"loss_{o.name}": loss[:, j] for j, o in enumerate(specs)}
    scored = feasible.assign(**losses, score=scores)
    candidates = scored.sort_values("score", kind="stable").reset_index(drop=True)
    row = feasible.iloc[index]
    details, text = explain(row, front, metric_col, maximize, metric, unit, specs)
    text += f" Chosen by {chosen_method}" + (f" with preset {preset!r}." if preset else ".")
    details.update({"weights": w, "limits": lim, "method": chosen_method, "preset": preset, "on": metric_col[7:]})
    details["noise_unit"] = unit
    alone = {o.name: sum(p.kind == o.kind for p in specs) == 1 for o in specs}  # a kind named once: "latency"
    shown = {(o.kind if alone[o.name] else o.name): w[o.name] for o in specs}
    details["settings_text"] = settings(shown, lim, chosen_method, unit, metric)
    details.update(runner_up(scored, index, w, metric_col, maximize, metric, unit, chosen_method, specs))
    return Pick(int(row.trial), row, text, details, candidates)


def _infeasible(front: pd.DataFrame, misses: list[list[str]], limits: Mapping[str, float]) -> NoFeasibleModelError:
    def shortfall(i: int) -> float:
        row = front.iloc[i]
        total = len(misses[i]) * 1e-3
        for key, spec in _objective_limits().items():
            if key in limits and limits[key] > 0 and spec.column in row and not pd.isna(row[spec.column]):
                ratio = float(row[spec.column]) / limits[key]
                total += max(0.0, (1.0 / max(ratio, 1e-12) if key.startswith("min_") else ratio) - 1.0)
        return total

    order = sorted(range(len(front)), key=shortfall)[:3]
    closest = "; ".join(
        f"trial {int(front.iloc[i].trial)} ({front.iloc[i].family}): " + ", ".join(misses[i]) for i in order
    )
    return NoFeasibleModelError(
        f"no front member meets the limits {dict(limits)}. Closest: {closest}. Relax a limit, or run the "
        "study longer (or with more compression) to find smaller or faster models."
    )
