"""Compression benchmark: runtimes against the native one for fixed models, and a study's front.

Part 1: for one fixed LightGBM and one fixed XGBoost model (200 rounds) on a real data set, the
Predictor's p50 latency per call in each runtime (native, tl2cgen, tl2cgen-q, onnxruntime, and lleaves
for LightGBM) on raw DataFrames of 1, 10, 100 and 1,000 rows, with ratios to native, the size of what the
runtime needs and the largest prediction deviation from native; a runtime unavailable here is listed
as skipped. Part 2: a 90 s study with compression searched, listing the front
and its compressed members. Results: ``results/compression_<dataset>.{json,md}``.
Run: ``python benchmarks/compression.py [dataset] [budget_s] [rounds] [repeat_scale]`` (a tiny check:
``python benchmarks/compression.py breast_cancer 5 10 0.02``).
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import optuna
from _common import dataset, machine, serve_through, time_calls, write_results

import paretoml
from paretoml import Predictor
from paretoml.families import get_family
from paretoml.trial import Problem

BATCHES = [1, 10, 100, 1000]
RUNTIMES = ["native", "tl2cgen", "tl2cgen-q", "onnxruntime", "lleaves"]


def runtimes(name: str, rounds: int = 200, scale: float = 1.0) -> list[dict[str, Any]]:
    problem = Problem.from_data(dataset(name), seed=0, n_threads=1)
    pre, task, classes = problem.preprocessor, problem.task, problem.classes
    data = problem.fit_data(fold=problem.search_folds[0], keep=None, seed=0)
    test = problem.splits.test.X.reset_index(drop=True)
    rows = []
    for family, params in (("lightgbm", {"n_estimators": rounds, "num_leaves": 31}),
                           ("xgboost", {"n_estimators": rounds, "max_depth": 6})):  # fmt: skip
        native = get_family(family).fit(data, params)
        reference = Predictor(pre, native, task=task, classes=classes).output(test)
        base: dict[int, float] = {}
        for runtime in RUNTIMES:
            model, skipped = serve_through(native, family, runtime)
            if model is None:
                rows.append({"family": family, "runtime": runtime, "skipped": skipped})
                continue
            pred = Predictor(pre, model, task=task, classes=classes).set_threads(1)
            call = pred.output
            entry: dict[str, Any] = {"family": family, "runtime": runtime,
                                     "max_deviation": float(np.max(np.abs(call(test) - reference)))}  # fmt: skip
            stats = model.stats()
            entry["size_kb"] = (
                stats.get(
                    "runtime_bytes",
                    len(native.booster.model_to_string())
                    if family == "lightgbm"
                    else len(native.booster.save_raw("ubj")),
                )
                / 1024
            )  # type: ignore[attr-defined]
            for n in BATCHES:
                idx = np.arange(n) % len(test)
                inputs = (
                    [test.iloc[[int(i)]] for i in range(min(200, len(test)))]
                    if n == 1
                    else [test.iloc[idx].reset_index(drop=True)]
                )
                repeats = max(5, int(scale * (2000 if n == 1 else (300 if n <= 100 else 60))))
                p50 = time_calls(call, inputs, repeats=repeats, warmup=min(50, repeats))["p50_us"]
                if runtime == "native":
                    base[n] = p50
                entry[f"p50_us_{n}"] = p50
                entry[f"ratio_{n}"] = p50 / base[n]
            rows.append(entry)
    return rows


def study(name: str, budget: float) -> dict[str, Any]:
    X, y = dataset(name)
    result = paretoml.optimize((X, y), budget=budget, seed=0)
    front = result.front
    compressed = front[front.compression != "none"]
    return {
        "trials": len(result.study.trials),
        "failed": int((result.trials.state == "FAIL").sum()),
        "front_size": len(front),
        "compressed_front_members": len(compressed),
        "front": front[
            ["trial", "family", "metric_valid", "metric_test", "latency_p50_ms", "size_kb", "compression"]
        ].to_dict(orient="records"),
    }


def main(name: str = "credit_default", budget: float = 90.0, rounds: int = 200, scale: float = 1.0) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rows = runtimes(name, rounds, scale)
    front = study(name, budget)
    info = machine()
    lines = [
        f"# Compression on {name} ({info['date']}, {info['cpu']}, {info['cpus']} CPUs)",
        "",
        f"Fixed {rounds}-round models; the Predictor's p50 µs per call on raw DataFrames (ratio to native); size of",
        "what the runtime needs (native model file, or compiled library); largest deviation from native.",
        "",
        "| family | runtime | " + " | ".join(f"{n} rows" for n in BATCHES) + " | size KB | max deviation |",
        "|---|---|" + "---|" * len(BATCHES) + "---|---|",
    ]
    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['family']} | {r['runtime']} | skipped: {r['skipped']} |" + " |" * (len(BATCHES) + 1))
            continue
        cells = " | ".join(f"{r[f'p50_us_{n}']:.1f} ({r[f'ratio_{n}']:.2f}×)" for n in BATCHES)
        lines.append(f"| {r['family']} | {r['runtime']} | {cells} | {r['size_kb']:.1f} | {r['max_deviation']:.1e} |")
    lines += [
        "",
        f"Study with compression searched ({budget:g} s): {front['trials']} trials ({front['failed']} failed), "
        f"{front['front_size']} on the front, {front['compressed_front_members']} of them compressed.",
        "",
        "| trial | family | valid | test | p50 µs | size KB | compression |",
        "|---|---|---|---|---|---|---|",
        *[
            f"| {m['trial']} | {m['family']} | {m['metric_valid']:.4f} | {m['metric_test']:.4f} | "
            f"{m['latency_p50_ms'] * 1000:.0f} | {m['size_kb']:.1f} | {m['compression']} |"
            for m in front["front"]
        ],
    ]
    write_results(
        f"compression_{name}",
        {"machine": info, "dataset": name, "runtimes": rows, "study": front},
        "\n".join(lines) + "\n",
    )


if __name__ == "__main__":
    args = sys.argv[1:]
    main(
        args[0] if args else "credit_default",
        float(args[1]) if len(args) > 1 else 90.0,
        int(args[2]) if len(args) > 2 else 200,
        float(args[3]) if len(args) > 3 else 1.0,
    )
