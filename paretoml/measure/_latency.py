"""Latency through the serving path: warm-up, many timed calls, percentiles; batch throughput."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Latency", "measure_latency", "one_row_frames", "time_calls"]


@dataclass(frozen=True)
class Latency:
    """Single-row latency percentiles (ms), latency of a serving-size batch (ms) and batch throughput.

    Attributes:
        batch_p50_ms: Median latency of one request of the serving profile's batch size (the single-row
            p50 when that size is 1).
        batch_size: That batch size.
    """

    p50_ms: float
    p95_ms: float
    mean_ms: float
    repeats: int
    batch_rows: int
    batch_rows_per_s: float
    batch_p50_ms: float = float("nan")
    batch_size: int = 1


def one_row_frames(X: pd.DataFrame, n: int, seed: int) -> list[pd.DataFrame]:
    """Up to ``n`` distinct one-row DataFrames drawn from ``X``, as a client would send them."""
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(X), size=min(n, len(X)), replace=False)
    return [X.iloc[[int(i)]].reset_index(drop=True) for i in rows]


def time_calls(
    fn: Callable[[Any], Any],
    inputs: Sequence[Any],
    repeats: int,
    *,
    budget_s: float | None = None,
    warmup: int = 0,
) -> np.ndarray:
    """Time ``fn`` call by call on ``inputs`` (cycled), the garbage collector paused.

    The one timing loop of paretoml: latency measurement and the report's per-stage breakdown use it.

    Args:
        fn: The call to time.
        inputs: Its arguments, one per call, cycled.
        repeats: Most timed calls.
        budget_s: Stop after this many seconds (at least 50 calls); None: always ``repeats`` calls.
        warmup: Untimed calls first.

    Returns:
        Milliseconds per call, one entry per timed call.
    """
    for i in range(warmup):
        fn(inputs[i % len(inputs)])
    times = np.empty(repeats, dtype=np.int64)
    deadline = None if budget_s is None else time.perf_counter() + budget_s
    done = 0
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        clock = time.perf_counter_ns
        for i in range(repeats):
            x = inputs[i % len(inputs)]
            t0 = clock()
            fn(x)
            times[i] = clock() - t0
            done = i + 1
            if deadline is not None and done >= 50 and (done & 31) == 0 and time.perf_counter() > deadline:
                break
    finally:
        if gc_was_enabled:
            gc.enable()
    return times[:done] / 1e6


def measure_latency(
    predict: Callable[[Any], Any],
    rows: Sequence[Any],
    batch: Any,
    *,
    warmup: int = 30,
    repeats: int = 1000,
    budget_s: float = 1.0,
    batch_repeats: int = 5,
    requests: Sequence[Any] | None = None,
) -> Latency:
    """Time ``predict`` on single raw rows and on one batch.

    Single rows cycle through ``rows``; each call is timed separately with the garbage collector
    paused, after ``warmup`` untimed calls. Timing stops after ``repeats`` calls or ``budget_s``
    seconds (at least 50 calls). Throughput is the best of ``batch_repeats`` calls on ``batch``.

    Args:
        predict: The serving call, e.g. ``predictor.output``.
        rows: Raw one-row inputs.
        batch: A raw multi-row input.
        warmup: Untimed calls first.
        repeats: Maximum timed single-row calls.
        budget_s: Time budget for the single-row timing.
        batch_repeats: Timed batch calls.
        requests: Raw inputs of the serving profile's batch size, when it is above 1 (their median
            latency is ``batch_p50_ms``; else the single-row p50).

    Returns:
        The latency summary.
    """
    ms = time_calls(predict, rows, repeats, budget_s=budget_s, warmup=warmup)
    batch_times = time_calls(predict, [batch], batch_repeats, budget_s=budget_s, warmup=1)
    n_batch = len(batch)
    p50 = float(np.percentile(ms, 50))
    batch_p50, batch_size = p50, 1
    if requests:
        request_ms = time_calls(predict, requests, repeats // 4, budget_s=budget_s / 4, warmup=3)
        batch_p50, batch_size = float(np.percentile(request_ms, 50)), len(requests[0])
    return Latency(
        p50_ms=p50,
        p95_ms=float(np.percentile(ms, 95)),
        mean_ms=float(ms.mean()),
        repeats=len(ms),
        batch_rows=n_batch,
        batch_rows_per_s=float(n_batch / (batch_times.min() / 1e3)),
        batch_p50_ms=batch_p50,
        batch_size=batch_size,
    )
