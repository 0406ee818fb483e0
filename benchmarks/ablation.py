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

import optuna
from _common import machine, write_results
from front_quality import _paretoml, median_rows, split, summarise

VARIANTS: dict[str, dict[str, Any]] = {
    "full": {},
    "no compression": {"compression": False},
    "no compression, all features": {"compression": False, "features": False},
}


def bench(name: str, budget: float, seed: int) -> dict[str, Any]:
    sp = split(name, seed)
    points = {
        v: _paretoml(sp.task, sp.X_fit, sp.y_fit, sp.X_test, sp.y_test, sp.rows, budget, seed, None,
                     sp.image_shape, **opts)
        for v, opts in VARIANTS.items()
    }  # fmt: skip
    return summarise(name, seed, sp.task, points)


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
    for m in median_rows(runs, chosen, list(VARIANTS)):
        lines.append(
            f"| {m['dataset']} | {m['metric']} | {m['method']} | {m['hypervolume']:.3f} | "
            f"{m['best_test_metric']:.4f} | {m['fastest_p50_us']:.0f} | {m['smallest_kb']:.1f} | {m['n_points']:.0f} |"
        )
    write_results("ablation", {"machine": info, "budget_s": budget, "seeds": seeds, "runs": runs},
                  "\n".join(lines) + "\n")  # fmt: skip


if __name__ == "__main__":
    main(
        float(sys.argv[1]) if len(sys.argv) > 1 else 60.0,
        int(sys.argv[2]) if len(sys.argv) > 2 else 2,
        sys.argv[3].split(",") if len(sys.argv) > 3 else None,
    )
