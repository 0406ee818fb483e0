"""The words of a pick: what it gives up and gains, the settings used, the runner-up and why it lost."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from paretoml.objectives import ObjectiveSpec

__all__ = ["OVERFIT_GAP", "explain", "fmt_kb", "fmt_metric", "fmt_rate", "fmt_us", "fmt_value", "runner_up", "settings"]

OVERFIT_GAP = 0.02
_LIMIT_WORDS = {
    "max_latency_p95_ms": "p95 ≤ {}",
    "max_latency_p50_ms": "p50 ≤ {}",
    "max_size_kb": "size ≤ {}",
    "min_metric": "metric ≥ {}",
    "max_metric": "metric ≤ {}",
    "max_metric_drop": "at most {:.4g} below the best metric",
    "max_metric_drop_se": "at most {:.3g} standard errors below the best metric",
}


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, (float, np.floating)) and not math.isfinite(value))


def fmt_us(ms: Any) -> str:
    """A latency given in ms, in µs: ``4.3 µs``, ``87 µs``, ``15,814 µs`` (``-`` when unknown)."""
    if _missing(ms):
        return "-"
    us = float(ms) * 1000.0
    return f"{us:.1f} µs" if us < 10 else f"{us:,.0f} µs"


def fmt_kb(kb: Any) -> str:
    """A size in KB: ``4.4 KB``, ``96 KB``, ``1,530 KB`` (``-`` when unknown)."""
    if _missing(kb):
        return "-"
    kb = float(kb)
    return f"{kb:.1f} KB" if kb < 10 else f"{kb:,.0f} KB"


def fmt_metric(value: Any) -> str:
    """A metric value to 4 decimals, as every table and text shows it: ``0.9876`` (``-`` when unknown)."""
    return "-" if _missing(value) else f"{float(value):.4f}"


def fmt_rate(rows_per_s: Any) -> str:
    """A throughput: ``12,345 rows/s`` (``-`` when unknown)."""
    return "-" if _missing(rows_per_s) else f"{float(rows_per_s):,.0f} rows/s"


_LABELS = {
    "latency_p50_ms": "p50",
    "latency_p95_ms": "p95",
    "batch_latency_ms": "per request",
    "throughput_rows_per_s": "throughput",
    "memory_kb": "in memory",
}
_WORDS = {"latency": ("faster", "slower"), "size": ("smaller", "larger")}


def fmt_value(spec: ObjectiveSpec, value: Any) -> str:
    """An objective's value with its unit (latency in µs, sizes in KB)."""
    if spec.unit == "ms":
        return fmt_us(value)
    if spec.unit == "KB":
        return fmt_kb(value)
    return f"{float(value):,.4g} {spec.unit}".strip()


def _labelled(spec: ObjectiveSpec, value: Any) -> str:
    label = _LABELS.get(spec.name, "" if spec.name in ("size_kb", "n_features") else spec.name)
    return f"{fmt_value(spec, value)} {label}".strip()


def _ratio(value: float, reference: float, better: str, worse: str) -> str:
    if value <= 0 or reference <= 0 or math.isclose(value, reference, rel_tol=1e-9):
        return "the same"
    return f"{reference / value:.1f}× {better}" if value < reference else f"{value / reference:.1f}× {worse}"


def explain(
    row: pd.Series,
    front: pd.DataFrame,
    metric_col: str,
    maximize: bool,
    metric: str,
    unit: float,
    objectives: Sequence[ObjectiveSpec],
) -> tuple[dict[str, Any], str]:
    """What ``row`` gives up against the front's most accurate member and what it gains, as numbers and words.

    ``details["gains"]`` holds, per objective after the metric, how many times better ``row`` is (above 1:
    better); ``latency_speedup`` and ``size_reduction`` are those of the first latency and size objectives.
    """
    scores = front[metric_col].to_numpy(dtype=np.float64)
    best = front.iloc[int(np.argmax(scores) if maximize else np.argmin(scores))]
    drop = (best[metric_col] - row[metric_col]) if maximize else (row[metric_col] - best[metric_col])
    gap = row.gap
    others = list(objectives[1:])
    gains = {
        o.name: float(row[o.column] / best[o.column] if o.maximize() else best[o.column] / row[o.column])
        for o in others
    }
    first = {kind: next((gains[o.name] for o in others if o.kind == kind), None) for kind in ("latency", "size")}
    details = {
        "trial": int(row.trial),
        "family": row.family,
        "metric": float(row[metric_col]),
        "most_accurate_trial": int(best.trial),
        "metric_given_up": float(drop),
        "metric_given_up_se": float(drop / unit),
        "gains": gains,
        "latency_speedup": first["latency"],
        "size_reduction": first["size"],
        "valid_test_gap": None if pd.isna(gap) else float(gap),
        "overfit_flag": bool(not pd.isna(gap) and gap > OVERFIT_GAP),
    }
    lens = "test" if metric_col == "metric_test" else "validation"
    if int(row.trial) == int(best.trial):
        versus = f"It is the most accurate front member on {lens}."
    else:
        compared = []
        for o in others:
            better, worse = _WORDS.get(o.kind, ("better", "worse"))
            mine, theirs = float(row[o.column]), float(best[o.column])
            ratio = _ratio(theirs, mine, better, worse) if o.maximize() else _ratio(mine, theirs, better, worse)
            compared.append(f"{ratio} ({fmt_value(o, mine)} vs {_labelled(o, theirs)})")
        versus = (
            f"Against the most accurate front member (trial {int(best.trial)}, {metric} "
            f"{best[metric_col]:.4f} on {lens}) it gives up {drop:.4f} {metric} ({drop / unit:.1f} standard "
            f"errors) and is {' and '.join(compared)}."
        )
    gap_text = (
        ""
        if pd.isna(gap)
        else f" Valid/test gap {gap:+.4f}" + (" (large: may overfit)." if details["overfit_flag"] else ".")
    )
    text = (
        f"Picked trial {int(row.trial)} ({row.family}, {row.n_features} features): {metric} {row[metric_col]:.4f} "
        f"on {lens}, {', '.join(_labelled(o, row[o.column]) for o in _shown(others))}. {versus}{gap_text}"
    )
    return details, text


def _shown(others: Sequence[ObjectiveSpec]) -> list[ObjectiveSpec]:
    """The objectives a pick's first line names: p50 and p95 (always measured), then the study's others."""
    from paretoml.objectives import OBJECTIVES

    first = [OBJECTIVES["latency_p50_ms"], OBJECTIVES["latency_p95_ms"]]
    return first + [o for o in others if o not in first and o.name != "n_features"]


def settings(weights: Mapping[str, float], limits: Mapping[str, float], method: str, unit: float, metric: str) -> str:
    """The weights (as shares), the limits and the noise unit, in one line."""
    total = sum(weights.values())
    shares = ", ".join(f"{k} {v / total:.2f}" for k, v in weights.items())
    words = []
    for key, value in limits.items():
        if key in _LIMIT_WORDS and key.endswith("_ms"):
            words.append(_LIMIT_WORDS[key].format(fmt_us(value)))
        elif key in _LIMIT_WORDS and key == "max_size_kb":
            words.append(_LIMIT_WORDS[key].format(fmt_kb(value)))
        elif key in ("min_metric", "max_metric"):
            words.append(_LIMIT_WORDS[key].format(fmt_metric(value)))
        elif key in _LIMIT_WORDS:
            words.append(_LIMIT_WORDS[key].format(value))
        else:  # a limit on another objective: max_memory_kb, min_throughput_rows_per_s, ...
            bound, _, name = key.partition("_")
            words.append(f"{name} {'≤' if bound == 'max' else '≥'} {value:.4g}")
    return (
        f"Weights: {shares} ({method}); limits: {'; '.join(words) if words else 'none'}; "
        f"metric noise (1 standard error): {unit:.2g} {metric}."
    )


def runner_up(
    scored: pd.DataFrame,
    index: int,
    weights: Mapping[str, float],
    metric_col: str,
    maximize: bool,
    metric: str,
    unit: float,
    method: str,
    objectives: Sequence[ObjectiveSpec],
) -> dict[str, Any]:
    """The best-scored other candidate, and the objective that cost it the pick."""
    if len(scored) < 2:
        return {"runner_up": None, "runner_up_text": "No runner-up: one candidate met the limits."}
    others = scored.drop(index=scored.index[index])
    second = others.sort_values("score", kind="stable").iloc[0]
    chosen = scored.iloc[index]
    total = sum(weights.values())
    costs = {
        o.name: weights[o.name] / total * (second[f"loss_{o.name}"] - chosen[f"loss_{o.name}"]) for o in objectives
    }
    lost_on = max(costs, key=lambda k: costs[k])
    delta = (second[metric_col] - chosen[metric_col]) * (1 if maximize else -1)
    text = (
        f"Runner-up: trial {int(second.trial)} ({second.family}): {metric} {second[metric_col]:.4f} "
        f"({'+' if delta >= 0 else '-'}{abs(delta):.4f}, {abs(delta) / unit:.1f} standard errors "
        f"{'better' if delta >= 0 else 'worse'}), {', '.join(_labelled(o, second[o.column]) for o in objectives[1:])}; "
        f"score {second.score:.3g} against {chosen.score:.3g} by {method}"
    )
    if method in ("weighted_sum", "tchebycheff"):
        text += f": it lost on {lost_on} (weighted loss {costs[lost_on]:+.3g})."
    else:
        text += "."
    return {"runner_up": int(second.trial), "runner_up_lost_on": lost_on, "runner_up_text": text}
