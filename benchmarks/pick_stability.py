"""Front sizes (raw against noise-aware) and how often the pick changes between two identical runs.

For each data set of ``front_quality.py`` (same data loading and seeded 80/20 split) and seed, paretoml
runs twice with identical settings. Between the two runs only the measurements' noise differs (latency
timings, and through them the sampler's later choices), so a pick that changes is a pick decided by
noise. For each run: the size of the raw non-dominated set (``result.front_raw``) and of the
trustworthy front (``result.front``); for the default weights and each preset, the picked model's
configuration (family, hyperparameters, feature count, compression) in both runs:

- ``now``: ``result.pick`` (the trustworthy front; metric loss in noise units, latency and size as
  log ratios to the best);
- ``before``: the picker before issue 14 (the raw front, every objective min-max scaled over the
  candidates, latency and size on a log scale; the same weights and hard limits).

Results: ``results/pick_stability[_<name>].{json,md}``.
Run: ``python benchmarks/pick_stability.py [budget] [seeds] [data sets, comma-separated] [name]``;
``budget`` as ``optimize`` takes it (``20`` seconds, ``"40 trials"``).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import numpy as np
import optuna
import pandas as pd
from _common import machine, write_results
from front_quality import DATASETS, split

import paretoml
from paretoml import PRESETS, NoFeasibleModelError

SCENARIOS = ["default", *sorted(PRESETS)]


def _before(raw: pd.DataFrame, maximize: bool, scenario: str) -> int | None:
    """The trial the picker before issue 14 chose: min-max scaled losses over the raw front."""
    preset = PRESETS.get(scenario)
    weights = preset.weights if preset else {"metric": 1.0, "latency": 1.0, "size": 1.0}
    limits = {k: v for k, v in (preset.limits if preset else {}).items() if k != "max_metric_drop_se"}
    front = raw.assign(metric=raw.metric_test.fillna(raw.metric_valid))
    best = front.metric.max() if maximize else front.metric.min()
    keep = np.ones(len(front), dtype=bool)
    if "max_latency_p95_ms" in limits:
        keep &= front.latency_p95_ms <= limits["max_latency_p95_ms"]
    if "max_size_kb" in limits:
        keep &= front.size_kb <= limits["max_size_kb"]
    if "max_metric_drop" in limits:
        keep &= (best - front.metric if maximize else front.metric - best) <= limits["max_metric_drop"]
    feasible = front[keep]
    if feasible.empty:
        return None
    v = feasible[["metric", "latency_p50_ms", "size_kb"]].to_numpy(dtype=np.float64)
    if maximize:
        v[:, 0] = -v[:, 0]
    v[:, 1:] = np.log(np.maximum(v[:, 1:], 1e-12))
    span = np.where(v.max(axis=0) > v.min(axis=0), v.max(axis=0) - v.min(axis=0), 1.0)
    w = np.array([weights["metric"], weights["latency"], weights["size"]])
    return int(feasible.trial.iloc[int(np.argmin(((v - v.min(axis=0)) / span) @ (w / w.sum())))])


def _now(result: paretoml.Result, scenario: str) -> int | None:
    try:
        return result.pick(preset=None if scenario == "default" else scenario).trial
    except NoFeasibleModelError:
        return None


def _config(result: paretoml.Result, trial: int | None) -> str | None:
    """What identifies a model across runs: its sampled configuration (trial numbers do not)."""
    if trial is None:
        return None
    frozen = result.study.trials[trial]
    return json.dumps(frozen.params, sort_keys=True, default=str)


def _run(name: str, budget: Any, seed: int) -> dict[str, Any]:
    sp = split(name, seed)
    result = paretoml.optimize((sp.X_fit, sp.y_fit), budget=budget, test=(sp.X_test, sp.y_test), seed=seed,
                               image_shape=sp.image_shape)  # fmt: skip
    maximize = result.study.directions[0] == optuna.study.StudyDirection.MAXIMIZE
    raw = result.front_raw
    return {
        "trials": len(result.completed_trials()),
        "front_raw": len(raw),
        "front": len(result.front),
        "degenerate": int(raw.degenerate.sum()),
        "now": {s: _config(result, _now(result, s)) for s in SCENARIOS},
        "before": {s: _config(result, _before(raw, maximize, s)) for s in SCENARIOS},
    }


def bench(name: str, budget: Any, seed: int) -> dict[str, Any]:
    first, second = _run(name, budget, seed), _run(name, budget, seed)
    changed = {scheme: {s: first[scheme][s] != second[scheme][s] for s in SCENARIOS} for scheme in ("before", "now")}
    return {"dataset": name, "seed": seed, "runs": [first, second], "changed": changed}


def main(budget: Any = 20.0, seeds: int = 2, datasets: list[str] | None = None, name: str = "") -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    chosen = datasets or DATASETS
    results = [bench(d, budget, seed) for d in chosen for seed in range(seeds)]
    info = machine()
    lines = [
        f"# Pick stability ({info['date']}, {info['cpu']}, {info['cpus']} CPUs, budget {budget} per run, "
        f"{seeds} seeds, two identical runs each)",
        "",
        "Front sizes: the raw non-dominated set against the trustworthy front (no degenerate member, none",
        "beaten beyond noise), medians over the runs. Picks changed: of the default pick and the five presets",
        f"({', '.join(sorted(PRESETS))}), how many chose a different model (configuration) in the second of two",
        "identical runs; summed over seeds, lower is better. `before`: the picker before issue 14 (raw front,",
        "min-max scaling); `now`: `result.pick`.",
        "",
        "| data set | trials | raw front | trustworthy front | degenerate on raw front | picks changed before | "
        "picks changed now |",
        "|---|---|---|---|---|---|---|",
    ]
    for d in chosen:
        rs = [r for r in results if r["dataset"] == d]
        runs = [run for r in rs for run in r["runs"]]
        total = len(SCENARIOS) * len(rs)
        before = sum(sum(r["changed"]["before"].values()) for r in rs)
        now = sum(sum(r["changed"]["now"].values()) for r in rs)
        lines.append(
            f"| {d} | {np.median([x['trials'] for x in runs]):.0f} | {np.median([x['front_raw'] for x in runs]):.0f} "
            f"| {np.median([x['front'] for x in runs]):.0f} | {np.median([x['degenerate'] for x in runs]):.0f} | "
            f"{before} of {total} | {now} of {total} |"
        )
    payload = {"machine": info, "budget": budget, "seeds": seeds, "results": results}
    write_results("pick_stability" + (f"_{name}" if name else ""), payload, "\n".join(lines) + "\n")


if __name__ == "__main__":
    arg = sys.argv[1] if len(sys.argv) > 1 else "20"
    main(
        float(arg) if arg.replace(".", "", 1).isdigit() else arg,
        int(sys.argv[2]) if len(sys.argv) > 2 else 2,
        sys.argv[3].split(",") if len(sys.argv) > 3 and sys.argv[3] else None,
        sys.argv[4] if len(sys.argv) > 4 else "",
    )
