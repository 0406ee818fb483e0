"""Front quality against what users would pick instead: same data, budget, test set and timing.

Methods, each given the same rows to fit on and judged on the same held-out test rows:
  - ``paretoml``: the full search (families, hyperparameters, feature subsets, compression);
  - ``random``: paretoml's search space sampled at random (``sampler="random"``);
  - ``optuna_lgbm``: plain Optuna multi-objective over LightGBM hyperparameters only, no feature
    subsets, no compression, served through the scikit-learn wrapper (``LGBMClassifier``);
  - ``flaml``: FLAML's ``AutoML`` at its defaults (one model, served with its own ``predict_proba``).
Every model is timed by this script on the same 100 raw one-row DataFrames (p50); size is its saved
native model (paretoml: what its runtime needs; optuna_lgbm: LightGBM text; FLAML: the pickled
estimator's bytes, counted, never loaded). Hypervolume: each method's non-dominated points on
(test ROC AUC, log latency, log size), min-max normalised over all methods' points of that data set
and seed, reference point 1.1. Medians over seeds. Binary data sets (ROC AUC).
Results: ``results/front_quality.{json,md}``. Needs ``pip install 'paretoml[bench]'``.
Run: ``python benchmarks/front_quality.py [budget_s] [seeds]``.
"""

from __future__ import annotations

import pickle
import sys
import warnings
from typing import Any

import lightgbm as lgb
import numpy as np
import optuna
import pandas as pd
from _common import dataset, machine, time_calls, write_results
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

import paretoml
from paretoml.pareto import hypervolume, non_dominated

DATASETS = ["breast_cancer", "credit_default", "orange_juice", "cells", "nyc_flights"]
METHODS = ["paretoml", "random", "optuna_lgbm", "flaml"]


def _auc(y: pd.Series, positive: Any, proba: np.ndarray) -> float:
    return float(roc_auc_score((y.to_numpy() == positive).astype(int), proba))


def _paretoml(X: pd.DataFrame, y: pd.Series, X_test: pd.DataFrame, y_test: pd.Series, rows: list[pd.DataFrame],
              budget: float, seed: int, sampler: str | None) -> list[dict[str, float]]:  # fmt: skip
    result = paretoml.optimize((X, y), budget=budget, test=(X_test, y_test), seed=seed, sampler=sampler)
    points = []
    for row in result.front.itertuples(index=False):
        pred = result.predictor(int(row.trial)).set_threads(1)
        points.append({"metric": float(row.metric_test), "size_kb": float(row.size_kb),
                       "p50_us": time_calls(pred.predict_proba, rows, repeats=400, warmup=20)["p50_us"]})  # fmt: skip
    return points


class _CategoryFrames:
    """The scikit-learn wrapper's serving path: raw strings to pandas categories of the training data."""

    def __init__(self, X: pd.DataFrame) -> None:
        self.categories = {
            c: pd.Index(X[c].dropna().unique()) for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])
        }

    def __call__(self, X: pd.DataFrame) -> pd.DataFrame:
        return X.assign(**{c: pd.Categorical(X[c], categories=cats) for c, cats in self.categories.items()})


def _optuna_lgbm(X: pd.DataFrame, y: pd.Series, X_test: pd.DataFrame, y_test: pd.Series, rows: list[pd.DataFrame],
                 budget: float, seed: int) -> list[dict[str, float]]:  # fmt: skip
    X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)
    to_cat = _CategoryFrames(X_tr)
    positive = sorted(y.unique())[1]
    models: dict[int, Any] = {}

    def objective(trial: optuna.Trial) -> tuple[float, float, float]:
        model = lgb.LGBMClassifier(
            n_estimators=trial.suggest_int("n_estimators", 10, 600, log=True),
            learning_rate=trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
            num_leaves=trial.suggest_int("num_leaves", 4, 128, log=True),
            min_child_samples=trial.suggest_int("min_child_samples", 5, 100, log=True),
            colsample_bytree=trial.suggest_float("colsample_bytree", 0.3, 1.0),
            n_jobs=1, verbose=-1, random_state=seed,
        )  # fmt: skip
        model.fit(to_cat(X_tr), y_tr)
        models[trial.number] = model
        auc = _auc(y_va, positive, model.predict_proba(to_cat(X_va))[:, 1])
        lat = time_calls(lambda r: model.predict_proba(to_cat(r)), rows[:30], repeats=60, warmup=5)["p50_us"]
        return auc, lat, len(model.booster_.model_to_string()) / 1024

    study = optuna.create_study(
        directions=["maximize", "minimize", "minimize"], sampler=optuna.samplers.TPESampler(seed=seed)
    )
    study.optimize(objective, timeout=budget)
    points = []
    for t in study.best_trials:
        model = models[t.number]
        points.append({
            "metric": _auc(y_test, positive, model.predict_proba(to_cat(X_test))[:, 1]),
            "size_kb": t.values[2],
            "p50_us": time_calls(lambda r, m=model: m.predict_proba(to_cat(r)), rows, repeats=400, warmup=20)["p50_us"],
        })  # fmt: skip
    return points


def _flaml(X: pd.DataFrame, y: pd.Series, X_test: pd.DataFrame, y_test: pd.Series, rows: list[pd.DataFrame],
           budget: float, seed: int) -> list[dict[str, float]]:  # fmt: skip
    from flaml import AutoML

    automl = AutoML()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        automl.fit(X, y, task="classification", metric="roc_auc", time_budget=budget, seed=seed, verbose=0)
    positive = automl.classes_[1]
    return [{
        "metric": _auc(y_test, positive, automl.predict_proba(X_test)[:, 1]),
        "size_kb": len(pickle.dumps(automl.model.estimator)) / 1024,
        "p50_us": time_calls(automl.predict_proba, rows, repeats=200, warmup=10)["p50_us"],
    }]  # fmt: skip


def _hypervolumes(points: dict[str, list[dict[str, float]]]) -> dict[str, float]:
    allp = np.array([[-p["metric"], np.log(p["p50_us"]), np.log(p["size_kb"])] for ps in points.values() for p in ps])
    low, high = allp.min(axis=0), allp.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    out = {}
    for method, ps in points.items():
        v = (np.array([[-p["metric"], np.log(p["p50_us"]), np.log(p["size_kb"])] for p in ps]) - low) / span
        v = v[non_dominated(v, [False, False, False])]
        out[method] = hypervolume(v, np.full(3, 1.1))
    return out


def bench(name: str, budget: float, seed: int) -> dict[str, Any]:
    X, y = dataset(name, max_rows=20_000, seed=seed)
    X_fit, X_test, y_fit, y_test = train_test_split(X, y, test_size=0.2, random_state=seed, stratify=y)
    X_test = X_test.reset_index(drop=True)
    rows = [X_test.iloc[[i]] for i in range(min(100, len(X_test)))]
    points = {
        "paretoml": _paretoml(X_fit, y_fit, X_test, y_test, rows, budget, seed, None),
        "random": _paretoml(X_fit, y_fit, X_test, y_test, rows, budget, seed, "random"),
        "optuna_lgbm": _optuna_lgbm(X_fit, y_fit, X_test, y_test, rows, budget, seed),
        "flaml": _flaml(X_fit, y_fit, X_test, y_test, rows, budget, seed),
    }
    hv = _hypervolumes(points)
    summary = {
        m: {"hypervolume": hv[m], "best_test_auc": max(p["metric"] for p in ps),
            "fastest_p50_us": min(p["p50_us"] for p in ps), "smallest_kb": min(p["size_kb"] for p in ps),
            "n_points": len(ps)}
        for m, ps in points.items()
    }  # fmt: skip
    return {"dataset": name, "seed": seed, "summary": summary, "points": points}


def main(budget: float = 20.0, seeds: int = 2) -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    runs = [bench(name, budget, seed) for name in DATASETS for seed in range(seeds)]
    info = machine()
    lines = [
        f"# Front quality ({info['date']}, {info['cpu']}, {info['cpus']} CPUs, {budget:g} s per method, "
        f"medians over {seeds} seeds)",
        "",
        "Hypervolume (higher is better; shared normalisation per data set and seed), best test ROC AUC,",
        "fastest single-row p50 (µs, raw DataFrame row, each method's own serving path) and smallest model (KB).",
        "",
        "| data set | method | hypervolume | best test AUC | fastest p50 µs | smallest KB |",
        "|---|---|---|---|---|---|",
    ]
    for name in DATASETS:
        for method in METHODS:
            vals = [r["summary"][method] for r in runs if r["dataset"] == name]
            med = {k: float(np.median([v[k] for v in vals])) for k in vals[0]}
            lines.append(
                f"| {name} | {method} | {med['hypervolume']:.3f} | {med['best_test_auc']:.4f} | "
                f"{med['fastest_p50_us']:.0f} | {med['smallest_kb']:.1f} |"
            )
    write_results(
        "front_quality", {"machine": info, "budget_s": budget, "seeds": seeds, "runs": runs}, "\n".join(lines) + "\n"
    )


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 20.0, int(sys.argv[2]) if len(sys.argv) > 2 else 2)
