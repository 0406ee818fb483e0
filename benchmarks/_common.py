"""Helpers shared by the benchmark scripts: data sets, timing, result files."""

from __future__ import annotations

import contextlib
import gc
import json
import platform
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
RESULTS = Path(__file__).resolve().parent / "results"


def dataset(name: str, max_rows: int = 50_000, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """A real data set as (X, y): bundled scikit-learn sets or files in ../shared/data."""
    bundled = {"breast_cancer", "wine", "digits", "diabetes"}
    if name in bundled:
        import sklearn.datasets

        X, y = getattr(sklearn.datasets, f"load_{name}")(return_X_y=True, as_frame=True)
        return X, y
    files = {
        "credit_default": ("credit_default.csv.gz", "default"),
        "orange_juice": ("orange_juice.csv.gz", "Purchase"),
        "ames_housing": ("ames_housing.csv.gz", "Sale_Price"),
        "cells": ("cells.csv.gz", "class"),
        "nyc_flights": ("nyc_flights.csv.gz", None),
    }
    file, target = files[name]
    frame = pd.read_csv(SHARED / file)
    if name == "nyc_flights":
        frame = frame.dropna(subset=["arr_delay"])
        frame["late"] = np.where(frame.pop("arr_delay") > 15, "late", "on_time")
        frame = frame.drop(columns=["arr_time", "air_time"])  # known only after arrival
        target = "late"
    if name == "cells":
        frame = frame.drop(columns=["case"])
    if len(frame) > max_rows:
        frame = frame.sample(max_rows, random_state=seed).reset_index(drop=True)
    assert target is not None
    return frame.drop(columns=[target]), frame[target]


def time_calls(fn: Callable[[Any], Any], inputs: list[Any], repeats: int = 2000, warmup: int = 50) -> dict[str, float]:
    """Median and p95 of ``fn`` over ``inputs`` (cycled), in microseconds."""
    for i in range(warmup):
        fn(inputs[i % len(inputs)])
    times = np.empty(repeats)
    gc.disable()
    try:
        for i in range(repeats):
            x = inputs[i % len(inputs)]
            t0 = time.perf_counter_ns()
            fn(x)
            times[i] = time.perf_counter_ns() - t0
    finally:
        gc.enable()
    return {"p50_us": float(np.median(times) / 1e3), "p95_us": float(np.percentile(times, 95) / 1e3)}


def machine() -> dict[str, Any]:
    """What the numbers were taken on."""
    import os

    cpu = platform.processor()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), cpu)
    return {"date": date.today().isoformat(), "cpu": cpu, "cpus": os.cpu_count(), "python": platform.python_version()}


def write_results(name: str, payload: dict[str, Any], markdown: str) -> None:
    """Write ``results/<name>.json`` and ``results/<name>.md``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=1, default=str))
    (RESULTS / f"{name}.md").write_text(markdown)
    print(markdown)


def serve_through(native: Any, family: str, runtime: str) -> tuple[Any, str | None]:
    """``native`` compiled or converted for ``runtime``, or ``(None, why it is skipped)``.

    Skipped: a runtime whose library is missing, one not made for the family, and a model the runtime's
    converter cannot take (e.g. onnxmltools on high-cardinality XGBoost categoricals).
    """
    from paretoml.exceptions import UnsupportedError
    from paretoml.families import get_family
    from paretoml.serving import RUNTIMES, compiled

    spec = RUNTIMES.get(runtime)
    if spec is not None and spec.unavailable():
        return None, spec.unavailable()
    if spec is not None and not all(c in get_family(family).capabilities for c in spec.requires):
        return None, "not for this family"
    try:
        return compiled(native, runtime, n_threads=1), None
    except UnsupportedError as exc:
        return None, f"cannot convert: {exc}".split(". ")[0]
