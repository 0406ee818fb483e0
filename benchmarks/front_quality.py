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
(test metric, log latency, log size), min-max normalised over all methods' points of that data set
and seed, reference point 1.1. Medians over seeds. The metric is each task's paretoml default: ROC AUC
(binary), accuracy (multiclass: wine, digits), R² (regression: diabetes, ames_housing). Digits is given
to paretoml as 8×8 images (so its CNN family joins) and to the baselines as its 64 pixel columns; every
method is timed on the same one-row DataFrames of pixel columns.
Results: ``results/front_quality[_<name>].{json,md}``. Needs ``pip install 'paretoml[bench]'``.
Run: ``python benchmarks/front_quality.py [budget_s] [seeds] [data sets, comma-separated] [name]``.
"""

from __future__ import annotations

import pickle
import sys
import warnings
from typing import Any, NamedTuple

import lightgbm as lgb
import numpy as np
import optuna
import pandas as pd
from _common import dataset, machine, time_calls, write_results
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score
from sklearn.model_selection import train_test_split

import paretoml
from paretoml.pareto import hypervolume, non_dominated

TASKS = {
    "breast_cancer": "binary", "credit_default": "binary", "orange_juice": "binary", "cells": "binary",
    "nyc_flights": "binary", "wine": "multiclass", "digits": "multiclass", "diabetes": "regression",
    "ames_housing": "regression",
}  # fmt: skip
DATASETS = list(TASKS)
METHODS = ["paretoml", "random", "optuna_lgbm", "flaml"]
METRIC = {"binary": "ROC AUC", "multiclass": "accuracy", "regression": "R²"}


def _score(task: str, model: Any, X: pd.DataFrame, y: pd.Series) -> float:
    """The task's metric of ``model`` (predict / predict_proba / classes_) on ``X``."""
    if task == "binary":
        positive = model.classes_[1]
        return float(roc_auc_score((y.to_numpy() == positive).astype(int), model.predict_proba(X)[:, 1]))
    if task == "multiclass":
        return float(accuracy_score(y, model.predict(X)))
    return float(r2_score(y, model.predict(X)))


def _served(task: str, model: Any) -> Any:
    return model.predict if task == "regression" else model.predict_proba


def _paretoml(task: str, X: pd.DataFrame, y: pd.Series, X_test: pd.DataFrame, y_test: pd.Series,
              rows: list[pd.DataFrame], budget: float, seed: int, sampler: str | None,
              image_shape: tuple[int, int] | None, **options: Any) -> list[dict[str, Any]]:  # fmt: skip
    result = paretoml.optimize((X, y), budget=budget, test=(X_test, y_test), seed=seed, sampler=sampler,
                               image_shape=image_shape, **options)  # fmt: skip
    points = []
    for row in result.front.itertuples(index=False):
        pred = result.predictor(int(row.trial)).set_threads(1)
        points.append({"metric": float(row.metric_test), "size_kb": float(row.size_kb), "family": str(row.family),
                       "p50_us": time_calls(_served(task, pred), rows, repeats=400, warmup=20)["p50_us"]})  # fmt: skip
    return points


class _CategoryFrames:
    """The scikit-learn wrapper's serving path: raw strings to pandas categories of the training data."""

    def __init__(self, X: pd.DataFrame) -> None:
        self.categories = {
            c: pd.Index(X[c].dropna().unique()) for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])
        }

    def __call__(self, X: pd.DataFrame) -> pd.DataFrame:
        return X.assign(**{c: pd.Categorical(X[c], categories=cats) for c, cats in self.categories.items()})


class _Wrapped:
    """A scikit-learn LightGBM model behind its serving-time category conversion."""

    def __init__(self, model: Any, to_cat: _CategoryFrames) -> None:
        self.model, self.to_cat = model, to_cat
        self.classes_ = getattr(model, "classes_", None)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.model.predict(self.to_cat(X)))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.model.predict_proba(self.to_cat(X)))


def _optuna_lgbm(task: str, X: pd.DataFrame, y: pd.Series, X_test: pd.DataFrame, y_test: pd.Series,
                 rows: list[pd.DataFrame], budget: float, seed: int) -> list[dict[str, float]]:  # fmt: skip
    stratify = None if task == "regression" else y
    X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=stratify)
    to_cat = _CategoryFrames(X_tr)
    models: dict[int, _Wrapped] = {}
    estimator = lgb.LGBMRegressor if task == "regression" else lgb.LGBMClassifier

    def objective(trial: optuna.Trial) -> tuple[float, float, float]:
        model = estimator(
            n_estimators=trial.suggest_int("n_estimators", 10, 600, log=True),
            learning_rate=trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
            num_leaves=trial.suggest_int("num_leaves", 4, 128, log=True),
            min_child_samples=trial.suggest_int("min_child_samples", 5, 100, log=True),
            colsample_bytree=trial.suggest_float("colsample_bytree", 0.3, 1.0),
            n_jobs=1, verbose=-1, random_state=seed,
        )  # fmt: skip
        model.fit(to_cat(X_tr), y_tr)
        wrapped = models[trial.number] = _Wrapped(model, to_cat)
        lat = time_calls(_served(task, wrapped), rows[:30], repeats=60, warmup=5)["p50_us"]
        return _score(task, wrapped, X_va, y_va), lat, len(model.booster_.model_to_string()) / 1024

    study = optuna.create_study(
        directions=["maximize", "minimize", "minimize"], sampler=optuna.samplers.TPESampler(seed=seed)
    )
    study.optimize(objective, timeout=budget)
    points = []
    for t in study.best_trials:
        model = models[t.number]
        points.append({
            "metric": _score(task, model, X_test, y_test),
            "size_kb": t.values[2],
            "p50_us": time_calls(_served(task, model), rows, repeats=400, warmup=20)["p50_us"],
        })  # fmt: skip
    return points


def _flaml(task: str, X: pd.DataFrame, y: pd.Series, X_test: pd.DataFrame, y_test: pd.Series,
           rows: list[pd.DataFrame], budget: float, seed: int) -> list[dict[str, float]]:  # fmt: skip
    from flaml import AutoML

    automl = AutoML()
    flaml_task = "regression" if task == "regression" else "classification"
    metric = {"binary": "roc_auc", "multiclass": "accuracy", "regression": "r2"}[task]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        automl.fit(X, y, task=flaml_task, metric=metric, time_budget=budget, seed=seed, verbose=0)
    return [{
        "metric": _score(task, automl, X_test, y_test),
        "size_kb": len(pickle.dumps(automl.model.estimator)) / 1024,
        "p50_us": time_calls(_served(task, automl), rows, repeats=200, warmup=10)["p50_us"],
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


class Split(NamedTuple):
    """One data set and seed's rows: what every method fits on, the held-out test rows, the timing rows."""

    task: str
    X_fit: pd.DataFrame
    y_fit: pd.Series
    X_test: pd.DataFrame
    y_test: pd.Series
    rows: list[pd.DataFrame]
    image_shape: tuple[int, int] | None


def split(name: str, seed: int) -> Split:
    """The seeded 80/20 split of data set ``name`` (stratified for classification) and 100 one-row frames."""
    task = TASKS[name]
    X, y = dataset(name, max_rows=20_000, seed=seed)
    stratify = None if task == "regression" else y
    X_fit, X_test, y_fit, y_test = train_test_split(X, y, test_size=0.2, random_state=seed, stratify=stratify)
    X_test = X_test.reset_index(drop=True)
    rows = [X_test.iloc[[i]] for i in range(min(100, len(X_test)))]
    return Split(task, X_fit, y_fit, X_test, y_test, rows, (8, 8) if name == "digits" else None)


def summarise(name: str, seed: int, task: str, points: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Hypervolume, best test metric, fastest p50 and smallest size of each method's points."""
    hv = _hypervolumes(points)
    summary = {
        m: {"hypervolume": hv[m], "best_test_metric": max(p["metric"] for p in ps),
            "fastest_p50_us": min(p["p50_us"] for p in ps), "smallest_kb": min(p["size_kb"] for p in ps),
            "n_points": len(ps)}
        for m, ps in points.items()
    }  # fmt: skip
    return {"dataset": name, "task": task, "seed": seed, "summary": summary, "points": points}


def median_rows(runs: list[dict[str, Any]], datasets: list[str], methods: list[str]) -> list[dict[str, Any]]:
    """Per data set and method, the medians over seeds of each summary value."""
    out = []
    for d in datasets:
        for method in methods:
            vals = [r["summary"][method] for r in runs if r["dataset"] == d]
            out.append({"dataset": d, "metric": METRIC[TASKS[d]], "method": method,
                        **{k: float(np.median([v[k] for v in vals])) for k in vals[0]}})  # fmt: skip
    return out


def bench(name: str, budget: float, seed: int) -> dict[str, Any]:
    sp = split(name, seed)
    args = (sp.task, sp.X_fit, sp.y_fit, sp.X_test, sp.y_test, sp.rows, budget, seed)
    points = {
        "paretoml": _paretoml(*args, None, sp.image_shape),
        "random": _paretoml(*args, "random", sp.image_shape),
        "optuna_lgbm": _optuna_lgbm(*args),
        "flaml": _flaml(*args),
    }
    return summarise(name, seed, sp.task, points)


def main(budget: float = 20.0, seeds: int = 2, datasets: list[str] | None = None, name: str = "") -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    chosen = datasets or DATASETS
    runs = [bench(d, budget, seed) for d in chosen for seed in range(seeds)]
    info = machine()
    lines = [
        f"# Front quality ({info['date']}, {info['cpu']}, {info['cpus']} CPUs, {budget:g} s per method, "
        f"medians over {seeds} seeds)",
        "",
        "Hypervolume (higher is better; shared normalisation per data set and seed), best test metric (ROC AUC",
        "for binary, accuracy for multiclass, R² for regression), fastest single-row p50 (µs, raw DataFrame row,",
        "each method's own serving path) and smallest model (KB).",
        "",
        "| data set | metric | method | hypervolume | best test metric | fastest p50 µs | smallest KB |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in median_rows(runs, chosen, METHODS):
        lines.append(
            f"| {m['dataset']} | {m['metric']} | {m['method']} | {m['hypervolume']:.3f} | "
            f"{m['best_test_metric']:.4f} | {m['fastest_p50_us']:.0f} | {m['smallest_kb']:.1f} |"
        )
    payload = {"machine": info, "budget_s": budget, "seeds": seeds, "runs": runs}
    write_results("front_quality" + (f"_{name}" if name else ""), payload, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main(
        float(sys.argv[1]) if len(sys.argv) > 1 else 20.0,
        int(sys.argv[2]) if len(sys.argv) > 2 else 2,
        sys.argv[3].split(",") if len(sys.argv) > 3 and sys.argv[3] else None,
        sys.argv[4] if len(sys.argv) > 4 else "",
    )
