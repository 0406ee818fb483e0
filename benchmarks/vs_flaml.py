"""paretoml against FLAML at its default settings: same data, same budget, same held-out test set.

FLAML's served path is its own ``AutoML.predict_proba`` on a raw one-row DataFrame (its
preprocessing included); paretoml's is the Predictor. Both are timed in this process, one thread of
prediction each, on the same 200 raw test rows. For each data set the table shows FLAML's best model
and two paretoml front members: the fastest whose test metric is at least FLAML's ("equal metric"),
and the one paretoml itself would call most accurate (best validation metric; no test peeking).
Results: ``results/vs_flaml.{json,md}``. Needs ``pip install 'paretoml[bench]'``.
Run: ``python benchmarks/vs_flaml.py [budget_s]``.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

import numpy as np
import optuna
import pandas as pd
from _common import dataset, machine, time_calls, write_results
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

import paretoml

DATASETS = ["breast_cancer", "credit_default", "orange_juice", "nyc_flights"]


def _auc(classes: np.ndarray, proba: np.ndarray, y: pd.Series) -> float:
    return float(roc_auc_score((y.to_numpy() == classes[1]).astype(int), proba[:, 1]))


def bench(name: str, budget: float) -> dict[str, Any]:
    from flaml import AutoML

    X, y = dataset(name, max_rows=20_000)
    X_fit, X_test, y_fit, y_test = train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)
    X_test = X_test.reset_index(drop=True)
    rows = [X_test.iloc[[i]] for i in range(min(200, len(X_test)))]

    automl = AutoML()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        automl.fit(X_fit, y_fit, task="classification", metric="roc_auc", time_budget=budget, seed=0, verbose=0)
    flaml_classes = np.asarray(automl.classes_)
    flaml_auc = _auc(flaml_classes, automl.predict_proba(X_test), y_test)
    flaml_lat = time_calls(automl.predict_proba, rows, repeats=300, warmup=20)["p50_us"]

    result = paretoml.optimize((X_fit, y_fit), budget=budget, test=(X_test, y_test), seed=0)
    front = result.front
    members = []
    for row in front.itertuples(index=False):
        pred = result.predictor(int(row.trial)).set_threads(1)
        members.append(
            {
                "trial": int(row.trial),
                "family": row.family,
                "metric_valid": float(row.metric_valid),
                "metric_test": float(row.metric_test),
                "p50_us": time_calls(pred.predict_proba, rows, repeats=1000)["p50_us"],
                "size_kb": float(row.size_kb),
            }
        )
    equal = [m for m in members if m["metric_test"] >= flaml_auc]
    fastest_equal = min(equal, key=lambda m: m["p50_us"]) if equal else None
    most_accurate = max(members, key=lambda m: m["metric_valid"])
    return {
        "dataset": name,
        "rows": len(X),
        "flaml": {"best_estimator": automl.best_estimator, "test_auc": flaml_auc, "p50_us": flaml_lat},
        "paretoml_front_size": len(members),
        "paretoml_fastest_at_equal_metric": fastest_equal,
        "paretoml_most_accurate": most_accurate,
        "speedup_at_equal_metric": flaml_lat / fastest_equal["p50_us"] if fastest_equal else None,
        "speedup_most_accurate": flaml_lat / most_accurate["p50_us"],
        "front": members,
    }


def main(budget: float = 60.0) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    results = [bench(name, budget) for name in DATASETS]
    info = machine()
    lines = [
        f"# paretoml vs FLAML ({info['date']}, {info['cpu']}, {info['cpus']} CPUs, {budget:g} s each)",
        "",
        "Single-row latency p50 through each tool's served path from a raw one-row DataFrame; test ROC AUC.",
        "",
        "| data set | FLAML best (test AUC, p50 µs) | paretoml fastest with test AUC ≥ FLAML's | speed-up | "
        "paretoml most accurate on validation (test AUC, p50 µs) | speed-up |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        f, e, m = r["flaml"], r["paretoml_fastest_at_equal_metric"], r["paretoml_most_accurate"]
        equal = f"{e['family']} {e['metric_test']:.4f}, {e['p50_us']:.0f} µs" if e else "none on the front"
        ratio = f"{r['speedup_at_equal_metric']:.0f}×" if e else "–"
        lines.append(
            f"| {r['dataset']} | {f['best_estimator']} {f['test_auc']:.4f}, {f['p50_us']:.0f} µs | {equal} | {ratio} | "
            f"{m['family']} {m['metric_test']:.4f}, {m['p50_us']:.0f} µs | {r['speedup_most_accurate']:.0f}× |"
        )
    write_results("vs_flaml", {"machine": info, "budget_s": budget, "results": results}, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 60.0)
