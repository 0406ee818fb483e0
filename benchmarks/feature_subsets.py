"""Feature subsets: metric against number of features, with latency and size.

For each data set, two studies with the same budget and the same held-out test set:
``features="shap"`` (each trial keeps the top-k SHAP-ranked columns) and ``features="off"`` (every
trial uses every column: the full-feature baseline). Every completed trial of the subset study is
scored on the test set, so metric against number of features is shown on unseen data.
Results: ``results/feature_subsets.{json,md}``. Run: ``python benchmarks/feature_subsets.py [budget_s]``.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import optuna
import pandas as pd
from _common import dataset, machine, write_results
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

import paretoml
from paretoml.data import intake
from paretoml.measure import get_metric

BUCKETS = [(1, 2), (3, 5), (6, 10), (11, 20), (21, 50), (51, 100), (101, 10_000)]


def _data(name: str) -> tuple[pd.DataFrame, pd.Series]:
    if name == "synthetic_300":
        X, y = make_classification(
            n_samples=4000, n_features=300, n_informative=8, n_redundant=0, random_state=0, class_sep=0.8
        )
        return pd.DataFrame(X, columns=[f"f{i}" for i in range(300)]), pd.Series(y)
    return dataset(name)


def _test_score(result: paretoml.Result, number: int, X_test: pd.DataFrame, y_test: pd.Series) -> float:
    pred = result.predictor(number)
    ds = intake((X_test, y_test), task=result.task if result.task == "regression" else None, min_classes=1)
    metric = get_metric(result.metric, result.task)
    y = ds.y if result.task == "regression" else np.searchsorted(pred.classes_, ds.classes[ds.y])
    out = pred.predict(X_test) if result.task == "regression" else pred.predict_proba(X_test)
    return metric.score(y, out, pred.classes_, result.task)


def bench(name: str, budget: float) -> dict[str, Any]:
    X, y = _data(name)
    strat = y if y.nunique() <= 30 else None
    X_fit, X_test, y_fit, y_test = train_test_split(X, y, test_size=0.2, random_state=0, stratify=strat)
    runs = {}
    for mode in ("shap", "off"):
        result = paretoml.optimize((X_fit, y_fit), budget=budget, test=(X_test, y_test), features=mode, seed=0)
        trials = result.trials[result.trials.state == "COMPLETE"].copy()
        trials["metric_test"] = [_test_score(result, int(t), X_test, y_test) for t in trials.trial]
        runs[mode] = (result, trials)
    sub_result, sub = runs["shap"]
    _, full = runs["off"]
    n_all = int(full.n_features.max())
    best_full = full.loc[full.metric_valid.idxmax()]
    front = sub_result.front.merge(sub[["trial", "metric_test"]], on="trial", suffixes=("_front", ""))
    small = front[front.n_features <= max(1, int(0.1 * n_all))]
    hits = small[
        (small.metric_test >= best_full.metric_test - 0.01)
        & (small.latency_p50_ms < best_full.latency_p50_ms)
        & (small.size_kb < best_full.size_kb)
    ]
    buckets = []
    for lo, hi in BUCKETS:
        part = sub[(sub.n_features >= lo) & (sub.n_features <= hi)]
        if part.empty:
            continue
        best = part.loc[part.metric_valid.idxmax()]
        buckets.append(
            {
                "features": f"{lo}-{min(hi, n_all)}",
                "trials": len(part),
                "best_metric_valid": float(best.metric_valid),
                "its_metric_test": float(best.metric_test),
                "its_latency_p50_ms": float(best.latency_p50_ms),
                "its_size_kb": float(best.size_kb),
                "median_size_kb": float(part.size_kb.median()),
            }
        )
    return {
        "dataset": name,
        "metric": sub_result.metric,
        "n_features_all": n_all,
        "trials_subset_study": len(sub),
        "trials_full_study": len(full),
        "best_full_feature": {
            k: float(best_full[k]) for k in ("metric_valid", "metric_test", "latency_p50_ms", "size_kb")
        },
        "small_front_members_meeting_target": hits[
            ["trial", "n_features", "metric_test", "latency_p50_ms", "size_kb"]
        ].to_dict(orient="records"),
        "buckets": buckets,
        "top_features": sub_result.feature_ranking.head(10).to_dict(orient="records"),
    }


def main(budget: float = 60.0) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    results = [bench(name, budget) for name in ("synthetic_300", "cells", "ames_housing")]
    info = machine()
    lines = [f"# Feature subsets ({info['date']}, {info['cpu']}, {info['cpus']} CPUs, {budget:g} s per study)", ""]
    for r in results:
        full = r["best_full_feature"]
        hits = r["small_front_members_meeting_target"]
        lines += [
            f"## {r['dataset']} ({r['n_features_all']} features, {r['metric']})",
            "",
            f"Best full-feature model (features='off' study, {r['trials_full_study']} trials): test {full['metric_test']:.4f}, "
            f"p50 {full['latency_p50_ms'] * 1000:.0f} µs, {full['size_kb']:.1f} KB. Front members of the subset study "
            f"({r['trials_subset_study']} trials) with ≤ 10% of the features, test metric within 0.01 of it, and lower "
            f"latency and size: {len(hits)}"
            + (
                f"; e.g. trial {hits[0]['trial']}: {hits[0]['n_features']} features, test {hits[0]['metric_test']:.4f}, "
                f"p50 {hits[0]['latency_p50_ms'] * 1000:.0f} µs, {hits[0]['size_kb']:.1f} KB."
                if hits
                else "."
            ),
            "",
            "| features kept | trials | best valid | its test | its p50 µs | its size KB | median size KB |",
            "|---|---|---|---|---|---|---|",
        ]
        for b in r["buckets"]:
            lines.append(
                f"| {b['features']} | {b['trials']} | {b['best_metric_valid']:.4f} | {b['its_metric_test']:.4f} | "
                f"{b['its_latency_p50_ms'] * 1000:.0f} | {b['its_size_kb']:.1f} | {b['median_size_kb']:.1f} |"
            )
        lines.append("")
    write_results("feature_subsets", {"machine": info, "budget_s": budget, "results": results}, "\n".join(lines))


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 60.0)
