"""What each report figure and table shows, computed without drawing anything."""

from __future__ import annotations

import cProfile
import pstats
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd

from paretoml.measure import time_calls

if TYPE_CHECKING:
    from paretoml._picker import Pick
    from paretoml._predictor import Predictor
    from paretoml._result import Result

_PROFILE_ROWS = 16  # functions listed in the breakdown's profile

__all__ = ["FrontPlotData", "LatencyBreakdown", "front_plot_data", "latency_breakdown", "model_card"]


class FrontPlotData(NamedTuple):
    """Every completed trial's objectives, with front membership and the pick marked."""

    metric_name: str
    trial: np.ndarray
    family: list[str]
    metric: np.ndarray
    latency_ms: np.ndarray
    size_kb: np.ndarray
    on_front: np.ndarray
    picked: int | None


class LatencyBreakdown(NamedTuple):
    """Where one raw row's prediction time goes."""

    preprocess_us: float
    model_us: float
    total_us: float
    profile: list[tuple[str, int, float]]  # (function, calls, cumulative ms), from cProfile


def front_plot_data(result: Result, pick: Pick | None = None) -> FrontPlotData:
    """Objectives of all completed trials (validation metric), front members flagged."""
    trials = result.trials[result.trials.state == "COMPLETE"]
    front = set(result.front.trial.tolist())
    return FrontPlotData(
        metric_name=result.metric,
        trial=trials.trial.to_numpy(),
        family=trials.family.astype(str).tolist(),
        metric=trials.metric_valid.to_numpy(dtype=np.float64),
        latency_ms=trials.latency_p50_ms.to_numpy(dtype=np.float64),
        size_kb=trials.size_kb.to_numpy(dtype=np.float64),
        on_front=trials.trial.isin(front).to_numpy(),
        picked=pick.trial if pick is not None else None,
    )


def latency_breakdown(predictor: Predictor, rows: list[pd.DataFrame], repeats: int = 2000) -> LatencyBreakdown:
    """Split single-row latency into preprocessing (raw frame to encoded row) and the model call.

    Stages are timed separately with ``perf_counter_ns`` (medians); a cProfile run over the full call
    lists the functions where time goes (the profiler adds its own overhead to Python functions).
    """
    pre, model = predictor.preprocessor, predictor.model
    encoded = [pre.transform_row(predictor._row_of_frame(r)) for r in rows]
    serve = predictor.output

    def median_us(fn: Any, inputs: list[Any]) -> float:
        return float(np.median(time_calls(fn, inputs, repeats, warmup=20)) * 1e3)

    preprocess = median_us(lambda r: pre.transform_row(predictor._row_of_frame(r)), rows)
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
        table.append((label, int(calls), float(cumulative * 1e3)))
    table.sort(key=lambda t: -t[2])
    return LatencyBreakdown(preprocess, model_us, total, table[:_PROFILE_ROWS])


def model_card(result: Result, trial: int, pick: Pick | None = None) -> dict[str, Any]:
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
            "on_front": trial in front.index,
        },
        "latency": {
            "p50_ms": attrs.get("latency_p50_ms"),
            "p95_ms": attrs.get("latency_p95_ms"),
            "batch_rows_per_s": attrs.get("batch_rows_per_s"),
        },
        "size": {
            "kb": attrs.get("size_kb"),
            "n_trees": attrs.get("n_trees"),
            "n_leaves": attrs.get("n_leaves"),
            "n_params": attrs.get("n_params"),
        },
        "hardware": sattrs.get("hardware"),
        "configuration": {"family": attrs.get("family"), "params": attrs.get("config")},
        "compression": attrs.get("compression", "none"),
        "features": attrs.get("features"),
        "pick": None if pick is None else {"explanation": pick.explanation, **pick.details},
    }
