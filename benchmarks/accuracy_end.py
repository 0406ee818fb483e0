"""The accurate end of the front (issue 13): paretoml's best test metric against single-objective peers.

On the data sets of ``front_quality.py`` (same seeded 80/20 split: every method fits on the same rows
and is scored on the same test rows), for each seed and a budget per method:
  - ``paretoml``: ``optimize`` with its defaults (refit, small-data cross-validation, warm start); the
    best test metric over its front, each member refit on train + validation rows (``predictor(t)``);
  - ablations of the same: ``no_refit`` (the same run, search-time models), ``no_cv`` (``cv_folds=1``),
    ``no_warm_start`` (``warm_start=False``);
  - ``optuna_lgbm``: plain single-objective Optuna (TPE) over LightGBM hyperparameters, early-stopped on
    a 25% inner validation split, then refit on all fitting rows with the early-stopped round count (as
    paretoml does, for fairness);
  - ``flaml``: FLAML's ``AutoML`` at its defaults (it refits on all rows), when installed
    (``pip install 'paretoml[bench]'``).
Reported: medians over seeds of the best test metric, the gap of paretoml to the best peer, and the
fastest paretoml front member within 0.003 of the best peer's metric with its speed-up over FLAML's
served model (p50 of one raw row, timed here on the same 100 one-row DataFrames).
Results: ``results/accuracy_end[_<name>].{json,md}``.
Run: ``python benchmarks/accuracy_end.py [budget_s] [seeds] [data sets, comma-separated] [methods] [name]``.
"""

from __future__ import annotations

import math
import sys
import warnings
from typing import Any

import lightgbm as lgb
import numpy as np
import optuna
import pandas as pd
from _common import machine, time_calls, write_results
from front_quality import DATASETS, METRIC, Split, _CategoryFrames, _flaml, _score, _served, _Wrapped, split
from sklearn.model_selection import train_test_split

import paretoml

PARETOML_RUNS = {"paretoml": {}, "no_cv": {"cv_folds": 1}, "no_warm_start": {"warm_start": False}}
METHODS = [*PARETOML_RUNS, "no_refit", "optuna_lgbm", "flaml"]
PEERS = ("optuna_lgbm", "flaml")
CLOSE = 0.003  # "as accurate as the best peer": within this of its test metric


def _paretoml(s: Split, budget: float, seed: int, options: dict[str, Any], refit: bool) -> list[dict[str, Any]]:
    """Every front member's test metric and p50 (refit predictors, or search-time ones)."""
    result = paretoml.optimize((s.X_fit, s.y_fit), budget=budget, test=(s.X_test, s.y_test), seed=seed,
                               image_shape=s.image_shape, **options)  # fmt: skip
    runs = {"refit": True, "search": False} if refit else {"search": False}
    points = []
    for number in result.front.trial.astype(int):
        for label, how in runs.items():
            pred = result.predictor(int(number), refit=how).set_threads(1)
            points.append({"trial": int(number), "kind": label, "metric": _score(s.task, pred, s.X_test, s.y_test),
                           "trained_rows": pred.info.get("trained_rows"),
                           "p50_us": time_calls(_served(s.task, pred), s.rows, repeats=300, warmup=20)["p50_us"]})  # fmt: skip
    return points


def _optuna_lgbm(s: Split, budget: float, seed: int) -> list[dict[str, Any]]:
    """Single-objective TPE over LightGBM, early-stopped on an inner split, then refit on all fitting rows."""
    stratify = None if s.task == "regression" else s.y_fit
    X_tr, X_va, y_tr, y_va = train_test_split(s.X_fit, s.y_fit, test_size=0.25, random_state=seed, stratify=stratify)
    to_cat = _CategoryFrames(s.X_fit)
    estimator = lgb.LGBMRegressor if s.task == "regression" else lgb.LGBMClassifier

    def params(trial: optuna.Trial | optuna.trial.FrozenTrial) -> dict[str, Any]:
        return {
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
            "num_leaves": trial.suggest_int("num_leaves", 4, 128, log=True),
            "min_child_samples": trial.suggest_int("min_child_samples", 5, 100, log=True),
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.3, 1.0),
            "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 10.0, log=True),
            "n_jobs": 1, "verbose": -1, "random_state": seed,
        }  # fmt: skip

    def objective(trial: optuna.Trial) -> float:
        model = estimator(n_estimators=1000, **params(trial))
        model.fit(
            to_cat(X_tr), y_tr, eval_set=[(to_cat(X_va), y_va)], callbacks=[lgb.early_stopping(30, verbose=False)]
        )
        trial.set_user_attr("rounds", int(model.best_iteration_ or model.n_estimators))
        return _score(s.task, _Wrapped(model, to_cat), X_va, y_va)

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, timeout=budget)
    best = study.best_trial
    rounds = int(best.user_attrs["rounds"])
    model = _Wrapped(estimator(n_estimators=rounds, **params(best)).fit(to_cat(s.X_fit), s.y_fit), to_cat)
    return [{"metric": _score(s.task, model, s.X_test, s.y_test), "trials": len(study.trials),
             "p50_us": time_calls(_served(s.task, model), s.rows, repeats=300, warmup=20)["p50_us"]}]  # fmt: skip


def run_one(name: str, seed: int, budget: float, methods: list[str]) -> dict[str, Any]:
    """Every method on one data set and seed."""
    s = split(name, seed)
    points: dict[str, list[dict[str, Any]]] = {}
    for method, options in PARETOML_RUNS.items():
        if method in methods:
            both = _paretoml(s, budget, seed, options, refit=method == "paretoml")
            points[method] = [p for p in both if p["kind"] == ("refit" if method == "paretoml" else "search")]
            if method == "paretoml":
                points["no_refit"] = [p for p in both if p["kind"] == "search"]
    if "optuna_lgbm" in methods:
        points["optuna_lgbm"] = _optuna_lgbm(s, budget, seed)
    if "flaml" in methods:
        try:
            points["flaml"] = _flaml(s.task, s.X_fit, s.y_fit, s.X_test, s.y_test, s.rows, budget, seed)
        except ImportError:
            warnings.warn("FLAML is not installed: pip install 'paretoml[bench]'", UserWarning, stacklevel=2)
    best = {m: max(p["metric"] for p in ps) for m, ps in points.items() if ps}
    peers = [best[m] for m in PEERS if m in best]
    best_peer = max(peers) if peers else math.nan
    close = [p for p in points.get("paretoml", []) if p["metric"] >= best_peer - CLOSE]
    fastest = min(close, key=lambda p: p["p50_us"]) if close else None
    flaml_us = points["flaml"][0]["p50_us"] if "flaml" in points else math.nan
    return {
        "dataset": name, "task": s.task, "seed": seed, "best": best, "best_peer": best_peer,
        "gap_to_best_peer": best.get("paretoml", math.nan) - best_peer,
        "fastest_close": fastest, "speedup_over_flaml": flaml_us / fastest["p50_us"] if fastest else math.nan,
        "points": points,
    }  # fmt: skip


def _median(values: list[float]) -> float:
    finite = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.median(finite)) if finite else math.nan


def main(budget: float, seeds: int, names: list[str], methods: list[str], tag: str) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    runs = [run_one(name, seed, budget, methods) for name in names for seed in range(seeds)]
    info = machine()
    shown = [m for m in METHODS if any(m in r["best"] for r in runs)]
    lines = [
        f"# The accurate end: best test metric at {budget:g} s ({info['date']}, {info['cpu']}, {info['cpus']} CPUs)",
        "",
        f"Medians over {seeds} seed(s); gap = paretoml (refit) minus the best peer ({', '.join(PEERS)}); "
        f"fastest = the quickest paretoml front member within {CLOSE} of the best peer, p50 µs of one raw row.",
        "",
        "| data set | metric | " + " | ".join(shown) + " | gap | fastest close µs | × FLAML |",
        "|---|---|" + "---|" * len(shown) + "---|---|---|",
    ]
    for name in names:
        mine = [r for r in runs if r["dataset"] == name]
        cells = [f"{_median([r['best'].get(m, math.nan) for r in mine]):.4f}" for m in shown]
        fastest = _median([r["fastest_close"]["p50_us"] if r["fastest_close"] else math.nan for r in mine])
        lines.append(
            f"| {name} | {METRIC[mine[0]['task']]} | " + " | ".join(cells) + f" | "
            f"{_median([r['gap_to_best_peer'] for r in mine]):+.4f} | {fastest:.1f} | "
            f"{_median([r['speedup_over_flaml'] for r in mine]):.1f} |"
        )
    frame = pd.DataFrame([{k: v for k, v in r.items() if k != "points"} for r in runs])
    write_results(f"accuracy_end{'_' + tag if tag else ''}",
                  {"machine": info, "budget_s": budget, "seeds": seeds, "runs": runs,
                   "summary": frame.to_dict(orient="records")}, "\n".join(lines) + "\n")  # fmt: skip


if __name__ == "__main__":
    args = sys.argv[1:]
    main(
        float(args[0]) if len(args) > 0 else 60.0,
        int(args[1]) if len(args) > 1 else 3,
        args[2].split(",") if len(args) > 2 else DATASETS,
        args[3].split(",") if len(args) > 3 else METHODS,
        args[4] if len(args) > 4 else "",
    )
