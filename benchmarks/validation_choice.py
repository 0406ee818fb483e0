"""How paretoml chooses its validation (holdout or k-fold) and its refit round count: the measurements.

Part 1, for a few data-set sizes (rows sampled from a real data set), over seeds: one fixed LightGBM
configuration (the warm start's second setting) run through ``paretoml.trial.run_trial`` with a holdout
(``folds=1``) and with 4-fold cross-validation; the error of the validation estimate against the test
metric (RMS of valid - test over seeds) and the seconds per trial (fit plus measurement).
Part 2: the refit of the same configuration on train + valid rows with the early-stopped round count
scaled by 1 (unscaled) or by the rows ratio (4/3), against the search-time model, on the test split.
Results: ``results/validation_choice.{json,md}``.
Run: ``python benchmarks/validation_choice.py [data set] [sizes, comma-separated] [seeds]``.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pandas as pd
from _common import dataset, machine, write_results

from paretoml.study._warm import WARM_START
from paretoml.trial import Problem, TrialConfig, run_trial

CONFIG = {**WARM_START["lightgbm"][1], "early_stopping_rounds": 30}


def one(X: pd.DataFrame, y: pd.Series, seed: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for folds in (1, 4):
        problem = Problem.from_data((X, y), seed=seed, n_threads=1, folds=folds)
        config = TrialConfig("lightgbm", dict(CONFIG), seed=seed)
        trial = run_trial(problem, config)
        assert trial.metric is not None
        test = problem.score(trial.predictor, problem.splits.test.X, problem.splits.test.y)
        out[f"valid_{folds}"], out["test_search"] = trial.metric, test
        out[f"seconds_{folds}"] = trial.fit_seconds + trial.measure_seconds
        if folds == 1:
            n_fit = problem.n_train + problem.n_valid
            assert trial.rounds_fitted is not None
            for label, rounds in (("unscaled", trial.rounds_fitted),
                                  ("rows_ratio", round(trial.rounds_fitted * n_fit / problem.n_train))):  # fmt: skip
                refit = run_trial(problem, TrialConfig("lightgbm", dict(CONFIG), seed=seed, rows="train+valid",
                                                       rounds=rounds))  # fmt: skip
                out[f"test_refit_{label}"] = refit.metric
    return out


def main(name: str, sizes: list[int], seeds: int) -> None:
    X_all, y_all = dataset(name)
    rows = []
    for n in sizes:
        runs = []
        for seed in range(seeds):
            pick = np.random.default_rng(seed).choice(len(X_all), size=min(n, len(X_all)), replace=False)
            runs.append(one(X_all.iloc[pick].reset_index(drop=True), y_all.iloc[pick].reset_index(drop=True), seed))
        frame = pd.DataFrame(runs)
        rows.append({
            "rows": n,
            "rms_error_holdout": float(np.sqrt(((frame.valid_1 - frame.test_search) ** 2).mean())),
            "rms_error_cv4": float(np.sqrt(((frame.valid_4 - frame.test_search) ** 2).mean())),
            "seconds_holdout": float(frame.seconds_1.median()), "seconds_cv4": float(frame.seconds_4.median()),
            "test_search": float(frame.test_search.mean()),
            "test_refit_unscaled": float(frame.test_refit_unscaled.mean()),
            "test_refit_rows_ratio": float(frame.test_refit_rows_ratio.mean()),
        })  # fmt: skip
    info = machine()
    lines = [
        f"# Validation and refit choices on {name} ({info['date']}, {info['cpu']}, {info['cpus']} CPUs, {seeds} seeds)",
        "",
        "| rows | RMS(valid - test) holdout | 4-fold CV | s/trial holdout | 4-fold CV | test: search model | "
        "refit, rounds unscaled | refit, rounds × rows ratio |",
        "|---|---|---|---|---|---|---|---|",
        *[
            f"| {r['rows']} | {r['rms_error_holdout']:.4f} | {r['rms_error_cv4']:.4f} | {r['seconds_holdout']:.2f} | "
            f"{r['seconds_cv4']:.2f} | {r['test_search']:.4f} | {r['test_refit_unscaled']:.4f} | "
            f"{r['test_refit_rows_ratio']:.4f} |"
            for r in rows
        ],
    ]
    write_results("validation_choice", {"machine": info, "dataset": name, "seeds": seeds, "rows": rows},
                  "\n".join(lines) + "\n")  # fmt: skip


if __name__ == "__main__":
    args = sys.argv[1:]
    main(
        args[0] if args else "credit_default",
        [int(v) for v in args[1].split(",")] if len(args) > 1 else [1000, 2000, 4000, 8000],
        int(args[2]) if len(args) > 2 else 5,
    )
