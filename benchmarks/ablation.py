"""Ablation: what compression and feature subsets cost or buy a time-limited search.

Per data set and seed, paretoml's full search against the same search with compression off, and with
both compression and feature subsets off (``features=False``), same budget, rows and test set as
``front_quality.py``; each front timed and scored the same way. Reported: hypervolume (normalised over
the three variants' points), best test metric, fastest p50, smallest model, and trials run.
Results: ``results/ablation.{json,md}``. Run: ``python benchmarks/ablation.py [budget_s] [seeds] [data sets]``.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import optuna
from _common import dataset, machine, write_results
from front_quality import METRIC, TASKS, _hypervolumes, _paretoml
from sklearn.model_selection import train_test_split

VARIANTS: dict[str, dict[str, Any]] = {
    "full": {},
    "no compression": {"compression": False},
    "no compression, all features": {"compression": False, "features": False},
}


def bench(name: str, budget: float, seed: int) -> dict[str, Any]:
    task = TASKS[name]
    X, y = dataset(name, max_rows=20_000, seed=seed)
    stratify = None if task == "regression" else y
    X_fit, X_test, y_fit, y_test = train_test_split(X, y, test_size=0.2, random_state=seed, stratify=stratify)
    X_test = X_test.reset_index(drop=True)
    rows = [X_test.iloc[[i]] for i in range(min(100, len(X_test)))]
    shape = (8, 8) if name == "digits" else None
    points = {v: _paretoml(task, X_fit, y_fit, X_test, y_test, rows, budget, seed, None, shape, **opts)
              for v, opts in VARIANTS.items()}  # fmt: skip
    hv = _hypervolumes(points)
    summary = {
        v: {"hypervolume": hv[v], "best_test_metric": max(p["metric"] for p in ps),
            "fastest_p50_us": min(p["p50_us"] for p in ps), "smallest_kb": min(p["size_kb"] for p in ps),
            "n_points": len(ps)}
        for v, ps in points.items()
    }  # fmt: skip
    return {"dataset": name, "task": task, "seed": seed, "summary": summary, "points": points}


def main(budget: float = 60.0, seeds: int = 2, datasets: list[str] | None = None) -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    chosen = datasets or ["breast_cancer", "orange_juice", "nyc_flights"]
    runs = [bench(d, budget, seed) for d in chosen for seed in range(seeds)]
    info = machine()
    lines = [
        f"# Ablation ({info['date']}, {info['cpu']}, {info['cpus']} CPUs, {budget:g} s per search, medians over "
        f"{seeds} seeds)",
        "",
        "paretoml's full search against the same search without compression, and without compression or",
        "feature subsets. Hypervolume normalised over the three variants' points per data set and seed.",
        "",
        "| data set | metric | variant | hypervolume | best test metric | fastest p50 µs | smallest KB | front size |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for d in chosen:
        for v in VARIANTS:
            vals = [r["summary"][v] for r in runs if r["dataset"] == d]
            med = {k: float(np.median([x[k] for x in vals])) for k in vals[0]}
            lines.append(
                f"| {d} | {METRIC[TASKS[d]]} | {v} | {med['hypervolume']:.3f} | {med['best_test_metric']:.4f} | "
                f"{med['fastest_p50_us']:.0f} | {med['smallest_kb']:.1f} | {med['n_points']:.0f} |"
            )
    write_results("ablation", {"machine": info, "budget_s": budget, "seeds": seeds, "runs": runs},
                  "\n".join(lines) + "\n")  # fmt: skip


if __name__ == "__main__":
    main(
        float(sys.argv[1]) if len(sys.argv) > 1 else 60.0,
        int(sys.argv[2]) if len(sys.argv) > 2 else 2,
        sys.argv[3].split(",") if len(sys.argv) > 3 else None,
    )
