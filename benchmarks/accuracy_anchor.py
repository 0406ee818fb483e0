"""The accurate anchor (issue 13): should the most accurate trial stay on the trustworthy front?

The trustworthy front drops a trial that a cheaper one matches within noise, the most accurate trial
included. Here, per data set and seed (``accuracy_end.py``'s splits, 60 s ``optimize`` at its
defaults), both candidates for "the accurate end" are refit on train + validation rows and scored on
the test rows: the anchor (the useful non-dominated trial with the best validation metric) and the
most accurate member of the front without the anchor (``anchor=False``). Also reported: whether the
anchor was on that front anyway, and the best test metric over the whole raw front (an optimistic
bound: a maximum over more candidates).

Run: ``python benchmarks/accuracy_anchor.py run OUT.jsonl DATASETS SEEDS [BUDGET_S]``, then
``python benchmarks/accuracy_anchor.py report OUT.jsonl`` writes ``results/accuracy_anchor.{json,md}``.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import optuna
from _common import machine, write_results
from front_quality import _score, split

import paretoml


def run(out: Path, names: list[str], seeds: list[int], budget: float) -> None:
    """One study per data set and seed; the anchor against the front without it."""
    warnings.filterwarnings("ignore")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for seed in seeds:
        for name in names:
            s = split(name, seed)
            result = paretoml.optimize((s.X_fit, s.y_fit), budget=budget, test=(s.X_test, s.y_test), seed=seed,
                                       image_shape=s.image_shape, progress=False)  # fmt: skip
            raw = result.front_raw
            without = result._fronts(anchor=False)[0]
            best_first = result.study.directions[0] == optuna.study.StudyDirection.MAXIMIZE
            anchor = int(result.front.sort_values("metric_valid", ascending=not best_first).trial.iloc[0])
            other = int(without.sort_values("metric_valid", ascending=not best_first).trial.iloc[0])
            scores = {int(n): _score(s.task, result.predictor(int(n)), s.X_test, s.y_test) for n in raw.trial}
            record = {"dataset": name, "seed": seed, "anchor": scores[anchor], "front_without_anchor": scores[other],
                      "anchor_was_on_front": anchor in set(without.trial.astype(int)),
                      "raw_best": max(scores.values()), "n_front": len(without), "n_raw": len(raw)}  # fmt: skip
            print(json.dumps(record), flush=True)
            with out.open("a") as f:
                f.write(json.dumps(record) + "\n")


def report(files: list[Path]) -> None:
    """Per run and overall: how much test metric the anchor adds over the front's own accurate end."""
    records = [json.loads(line) for f in files for line in f.read_text().splitlines() if line.strip()]
    info = machine()
    lines = [
        f"# The accurate anchor ({info['date']}, {info['cpu']}, {info['cpus']} CPUs, one core per study)", "",
        "Test metric (refit on train + validation rows) of the most accurate trial by validation (the anchor) "
        "and of the most accurate member of the trustworthy front without it; raw best = best over the whole "
        "raw front (optimistic).", "",
        "| data set | seed | anchor | front without anchor | anchor − front | anchor on front anyway | raw best |",
        "|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    diffs = []
    for r in records:
        d = r["anchor"] - r["front_without_anchor"]
        diffs.append(d)
        lines.append(f"| {r['dataset']} | {r['seed']} | {r['anchor']:.4f} | {r['front_without_anchor']:.4f} | "
                     f"{d:+.4f} | {r['anchor_was_on_front']} | {r['raw_best']:.4f} |")  # fmt: skip
    moved = [d for r, d in zip(records, diffs, strict=True) if not r["anchor_was_on_front"]]
    lines += ["", f"Runs where the anchor was not on the front: {len(moved)} of {len(records)}; there the anchor "
              f"scored higher in {sum(d > 0 for d in moved)}, lower in {sum(d < 0 for d in moved)}; "
              f"median {float(np.median(moved)) if moved else 0:+.4f}, mean {float(np.mean(moved)) if moved else 0:+.4f}."]  # fmt: skip
    write_results("accuracy_anchor", {"machine": info, "records": records}, "\n".join(lines) + "\n")


if __name__ == "__main__":
    args = sys.argv[1:]
    if args and args[0] == "run":
        run(
            Path(args[1]),
            args[2].split(","),
            [int(x) for x in args[3].split(",")],
            float(args[4]) if len(args) > 4 else 60.0,
        )
    elif args and args[0] == "report":
        report([Path(a) for a in args[1:]])
    else:
        raise SystemExit(__doc__)
