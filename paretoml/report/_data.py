"""What each report figure and table shows, computed without drawing anything."""

# No ``from __future__ import annotations`` here: the NamedTuples' field types are evaluated when the class is
# made, so that pdoc (and typing.get_type_hints) can read them; names imported only for type checking are quoted.
import cProfile
import pstats
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd

from paretoml.measure import time_calls

if TYPE_CHECKING:
    from paretoml._pick import Pick
    from paretoml._result import Result
    from paretoml.serving import Predictor

_PROFILE_ROWS = 16  # functions listed in the breakdown's profile

__all__ = ["FrontPlotData", "LatencyBreakdown", "front_plot_data", "latency_breakdown", "model_card"]


class FrontPlotData(NamedTuple):
    """Every completed trial's objectives, front membership, degenerate trials and the pick marked.

    ``on_front`` is the trustworthy front (:attr:`paretoml.Result.front`), ``on_raw_front`` the plain
    non-dominated set; ``degenerate`` marks trials no better than the constant ``baseline`` beyond noise.
    ``metric_range``, ``latency_range_ms`` and ``size_range_kb`` are the axes' ranges: the trustworthy
    front's, padded (latency and size on a log scale), so that weak trials cannot squash it. The latency
    and size drawn are the study's first latency objective in ms and first size objective in KB
    (``latency_name``, ``size_name``; p50 and size on disk when it has none).
    """

    metric_name: str
    trial: np.ndarray
    family: list[str]
    metric: np.ndarray
    latency_ms: np.ndarray
    size_kb: np.ndarray
    on_front: np.ndarray
    on_raw_front: np.ndarray
    degenerate: np.ndarray
    baseline: float | None
    picked: int | None
    metric_range: tuple[float, float]
    latency_range_ms: tuple[float, float]
    size_range_kb: tuple[float, float]
    latency_name: str = "latency_p50_ms"
    size_name: str = "size_kb"


class LatencyBreakdown(NamedTuple):
    """Where one raw row's prediction time goes."""

    preprocess_us: float
    model_us: float
    total_us: float
    profile: list[tuple[str, float, float]]  # (function, calls per row, cumulative µs per row), from cProfile


def _padded(values: np.ndarray, log: bool, pad: float = 0.15) -> tuple[float, float]:
    """The range of ``values`` widened by ``pad`` of its span (a ratio on a log scale)."""
    if len(values) == 0:
        return (0.0, 1.0)
    v = np.log10(values) if log else values
    low, high = float(v.min()), float(v.max())
    span = high - low if high > low else (0.3 if log else max(abs(high) * 0.01, 1e-3))
    low, high = low - pad * span, high + pad * span
    return (10**low, 10**high) if log else (low, high)


def front_plot_data(result: "Result", pick: "Pick | None" = None) -> FrontPlotData:
    """Objectives of all completed trials (validation metric), both fronts and degenerate trials flagged."""
    trials = result.trials[result.trials.state == "COMPLETE"]
    front, raw = result.front, result.front_raw
    lat = next((o.column for o in result.objectives if o.kind == "latency" and o.unit == "ms"), "latency_p50_ms")
    size = next((o.column for o in result.objectives if o.kind == "size" and o.unit == "KB"), "size_kb")
    return FrontPlotData(
        metric_name=result.metric,
        trial=trials.trial.to_numpy(),
        family=trials.family.astype(str).tolist(),
        metric=trials.metric_valid.to_numpy(dtype=np.float64),
        latency_ms=trials[lat].to_numpy(dtype=np.float64),
        size_kb=trials[size].to_numpy(dtype=np.float64),
        on_front=trials.trial.isin(set(front.trial)).to_numpy(),
        on_raw_front=trials.trial.isin(set(raw.trial)).to_numpy(),
        degenerate=trials.degenerate.astype(bool).to_numpy(),
        baseline=result.baseline,
        picked=pick.trial if pick is not None else None,
        metric_range=_padded(front.metric_valid.to_numpy(dtype=np.float64), log=False),
        latency_range_ms=_padded(front[lat].to_numpy(dtype=np.float64), log=True),
        size_range_kb=_padded(front[size].to_numpy(dtype=np.float64), log=True),
        latency_name=lat,
        size_name=size,
    )


def latency_breakdown(predictor: "Predictor", rows: list[pd.DataFrame], repeats: int = 2000) -> LatencyBreakdown:
    """Split single-row latency into preprocessing (raw frame to encoded row) and the model call.

    Stages are timed separately with ``perf_counter_ns`` (medians); a cProfile run over the full call
    lists the functions where time goes (the profiler adds its own overhead to Python functions).
    """
    pre, model = predictor.preprocessor, predictor.model
    encoded = [pre.transform_first_row(r, predictor._positions(r)) for r in rows]
    serve = predictor.output

    def median_us(fn: Any, inputs: list[Any]) -> float:
        return float(np.median(time_calls(fn, inputs, repeats, warmup=20)) * 1e3)

    preprocess = median_us(lambda r: pre.transform_first_row(r, predictor._positions(r)), rows)
    model_us = median_us(model.predict_one, encoded)
    total = median_us(serve, rows)
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(repeats):
        serve(rows[i % len(rows)])
    profiler.disable()
    stats = pstats.Stats(profiler)
    table = []
    for (file, line, name), (_, calls, _, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        label = f"{name} ({file.rsplit('/', 1)[-1]}:{line})" if file != "~" else name
        table.append((label, calls / repeats, float(cumulative * 1e6 / repeats)))
    table.sort(key=lambda t: -t[2])
    return LatencyBreakdown(preprocess, model_us, total, table[:_PROFILE_ROWS])


def model_card(result: "Result", trial: int, pick: "Pick | None" = None) -> dict[str, Any]:
    """Everything a reviewer needs about one served model, as JSON-friendly data."""
    study = result.study
    frozen = study.trials[trial]
    attrs, sattrs = frozen.user_attrs, study.user_attrs
    front = result.front.set_index("trial")
    return {
        "study": study.study_name,
        "trial": trial,
        "task": sattrs.get("task"),
        "classes": sattrs.get("classes"),
        "data": {"fingerprint": sattrs.get("data_fingerprint"), "split": sattrs.get("split")},
        "metric": {
            "name": result.metric,
            "valid": attrs.get("metric_valid"),
            "test": result.test_scores.get(trial),
            "se": attrs.get("metric_se"),
            "baseline": result.baseline,
            "on_front": trial in front.index,
        },
        "latency": {
            "p50_ms": attrs.get("latency_p50_ms"),
            "p95_ms": attrs.get("latency_p95_ms"),
            "batch_latency_ms": attrs.get("batch_latency_ms"),
            "batch_size": attrs.get("batch_size"),
            "batch_rows_per_s": attrs.get("batch_rows_per_s"),
        },
        "size": {
            "kb": attrs.get("size_kb"),
            "memory_kb": attrs.get("memory_kb"),
            "n_trees": attrs.get("n_trees"),
            "n_leaves": attrs.get("n_leaves"),
            "n_params": attrs.get("n_params"),
        },
        "objectives": [o.name for o in result.objectives],
        "constraints": result.constraints,
        "serving": sattrs.get("serving") or {"serving_threads": None, "batch_size": None},
        "hardware": sattrs.get("hardware"),
        "configuration": {"family": attrs.get("family"), "params": attrs.get("config")},
        "compression": attrs.get("compression", "none"),
        "features": attrs.get("features"),
        "pick": None if pick is None else {"explanation": pick.explanation, **pick.details},
    }
