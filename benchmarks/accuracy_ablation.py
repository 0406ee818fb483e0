"""The accurate end, ablated (issue 13): which search settings move paretoml's best test metric.

On the data sets where paretoml trailed the best peer in ``accuracy_end.md``, the same seeded 80/20
split as ``accuracy_end.py`` (so the peers' scores of that file apply), one ``optimize`` per
configuration, data set and seed at the same budget; each front member refit on train + validation rows
and scored on the test rows; the best of them is the configuration's score (as ``accuracy_end.py``).

Configurations:
  - ``base``: no accurate share (``accurate_share=0``), cross-validation and warm start as the defaults;
  - ``nocv``: the same with ``cv_folds=1`` (holdout validation);
  - ``mv``: the same with multivariate, grouped TPE (``TPESampler(multivariate=True, group=True)``);
  - ``acc<N>``: the defaults with ``accurate_share=N/100``.

Run: ``python benchmarks/accuracy_ablation.py run OUT.jsonl BUDGET_S DATASETS SEEDS CONFIGS`` (comma-
separated lists; each finished run is appended to OUT.jsonl), then ``python benchmarks/accuracy_ablation.py
report OUT.jsonl [OUT2.jsonl ...]`` writes ``results/accuracy_ablation.{json,md}`` (medians over seeds,
gaps to the best peer of ``results/accuracy_end.json`` for the same data set and seed).
"""

from __future__ import annotations

import json
import math
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from _common import RESULTS, machine, write_results
from front_quality import _score, split

import paretoml

CLOSE = 0.003


def options(config: str, seed: int) -> dict[str, Any]:
    """The ``optimize`` arguments of a configuration."""
    if config == "base":
        return {"accurate_share": 0.0}
    if config == "nocv":
        return {"accurate_share": 0.0, "cv_folds": 1}
    if config == "mv":  # a sampler object is used as given: no accurate share
        return {"sampler": optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True)}
    if config.startswith("acc"):
        return {"accurate_share": int(config[3:]) / 100}
    raise SystemExit(f"unknown configuration {config!r}")


def run(out: Path, budget: float, names: list[str], seeds: list[int], configs: list[str]) -> None:
    """Every configuration on every data set and seed; one JSON line per run."""
    warnings.filterwarnings("ignore")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for seed in seeds:
        for name in names:
            s = split(name, seed)
            for config in configs:
                started = time.perf_counter()
                result = paretoml.optimize((s.X_fit, s.y_fit), budget=budget, test=(s.X_test, s.y_test), seed=seed,
                                           image_shape=s.image_shape, progress=False, **options(config, seed))  # fmt: skip
                wall = time.perf_counter() - started
                scores = [_score(s.task, result.predictor(int(n)), s.X_test, s.y_test) for n in result.front.trial]
                record = {"config": config, "dataset": name, "seed": seed, "best": max(scores),
                          "n_front": len(scores), "trials": len(result.study.trials), "wall": round(wall, 1)}  # fmt: skip
                print(json.dumps(record), flush=True)
                with out.open("a") as f:
                    f.write(json.dumps(record) + "\n")


def report(files: list[Path]) -> None:
    """Medians over seeds per data set and configuration, with the gap to ``accuracy_end``'s best peer."""
    records = [json.loads(line) for f in files for line in f.read_text().splitlines() if line.strip()]
    end = json.loads((RESULTS / "accuracy_end.json").read_text())
    peer = {(r["dataset"], r["seed"]): r["best_peer"] for r in end["runs"]}
    configs = list(dict.fromkeys(r["config"] for r in records))
    names = list(dict.fromkeys(r["dataset"] for r in records))
    med = lambda xs: float(np.median(xs)) if xs else math.nan  # noqa: E731
    lines = [
        f"# The accurate end, ablated ({machine()['date']}, {machine()['cpu']}, {machine()['cpus']} CPUs)",
        "",
        f"Budget {records[0].get('budget', 60)} s per run; medians over seeds "
        f"{sorted({r['seed'] for r in records})} of the best refit test metric on the front, and of the gap to "
        "the best peer (FLAML or single-objective Optuna over LightGBM) in `accuracy_end.json` for the same split "
        "and seed; trials = completed trials in the budget. `base`: no accurate share; `nocv`: base with holdout "
        "validation; `mv`: base with multivariate grouped TPE; `accN`: accurate share N%.",
        "",
        "| data set | " + " | ".join(f"{c} metric | {c} gap | {c} trials" for c in configs) + " |",
        "|---|" + "---|---|---|" * len(configs),
    ]
    summary: dict[str, dict[str, Any]] = {}
    for name in names:
        cells = []
        for c in configs:
            mine = [r for r in records if r["dataset"] == name and r["config"] == c]
            gaps = [r["best"] - peer[(name, r["seed"])] for r in mine if (name, r["seed"]) in peer]
            summary.setdefault(c, {})[name] = {"metric": med([r["best"] for r in mine]), "gap": med(gaps),
                                               "trials": med([r["trials"] for r in mine]), "runs": len(mine)}  # fmt: skip
            cells.append(f"{summary[c][name]['metric']:.4f} | {summary[c][name]['gap']:+.4f} | "
                         f"{summary[c][name]['trials']:.0f}")  # fmt: skip
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "| configuration | data sets within 0.003 of the best peer | median gap |", "|---|---|---|"]
    for c in configs:
        gaps = [v["gap"] for v in summary[c].values()]
        lines.append(f"| {c} | {sum(g >= -CLOSE for g in gaps)}/{len(gaps)} | {med(gaps):+.4f} |")
    write_results("accuracy_ablation", {"machine": machine(), "records": records, "summary": summary},
                  "\n".join(lines) + "\n")  # fmt: skip


if __name__ == "__main__":
    args = sys.argv[1:]
    if args and args[0] == "run":
        run(Path(args[1]), float(args[2]), args[3].split(","), [int(x) for x in args[4].split(",")], args[5].split(","))
    elif args and args[0] == "report":
        report([Path(a) for a in args[1:]])
    else:
        raise SystemExit(__doc__)
