"""Optimizer overhead and scale.

Overhead: the share of a study's wall time spent neither fitting (compression included) nor
measuring (metric, saving, artifact, latency), at 100 and 500 trials, with in-memory and SQLite
storage, on breast_cancer. Scale: wall time and peak memory (RSS) of a fixed 5-trial study as the rows
of nyc_flights grow (10k, 100k, all 327k, and 1M rows resampled from them), each in a fresh process.
Results: ``results/overhead.{json,md}``. Run: ``python benchmarks/overhead.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import optuna
from _common import machine, write_results
from sklearn.datasets import load_breast_cancer

import paretoml

SCALE_CHILD = r"""
import json, resource, sys, time, numpy as np, optuna, pandas as pd
sys.path.insert(0, sys.argv[3])
from _common import SHARED
import paretoml
optuna.logging.set_verbosity(optuna.logging.ERROR)
rows = int(sys.argv[1])
frame = pd.read_csv(SHARED / "nyc_flights.csv.gz").dropna(subset=["arr_delay"])
frame["late"] = np.where(frame.pop("arr_delay") > 15, "late", "on_time")
frame = frame.drop(columns=["arr_time", "air_time"]).sample(rows, replace=rows > len(frame), random_state=0)
started = time.monotonic()
result = paretoml.optimize(frame, sys.argv[2], target="late", seed=0)
wall = time.monotonic() - started
done = result.trials[result.trials.state == "COMPLETE"]
print(json.dumps({"rows": rows, "wall_s": wall, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "completed": int(len(done)), "fit_s": float(done.fit_seconds.sum())}))
"""


def overhead(trials: int, storage: str | None) -> dict[str, Any]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    with tempfile.TemporaryDirectory() as tmp:
        url = None if storage is None else f"sqlite:///{Path(tmp) / 'o.db'}"
        started = time.monotonic()
        result = paretoml.optimize((X, y), f"{trials} trials", storage=url, study_name="o", seed=0, hardware=1)
        wall = time.monotonic() - started
        attrs = [t.user_attrs for t in result.study.trials if t.state.name == "COMPLETE"]
    fit = sum(a.get("fit_seconds", 0.0) for a in attrs)
    measure = sum(a.get("measure_seconds", 0.0) for a in attrs)
    return {"trials": trials, "storage": storage or "memory", "wall_s": wall, "fit_s": fit, "measure_s": measure,
            "overhead_share": (wall - fit - measure) / wall}  # fmt: skip


def scale(rows: int, budget: str) -> dict[str, Any]:
    here = str(Path(__file__).resolve().parent)
    out = subprocess.run(
        [sys.executable, "-c", SCALE_CHILD, str(rows), budget, here], capture_output=True, text=True, timeout=3600
    )
    if out.returncode != 0:
        return {"rows": rows, "error": out.stderr[-1500:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    over = [overhead(n, s) for n in (100, 500) for s in (None, "sqlite")]
    growth = [scale(n, "5 trials") for n in (10_000, 100_000, 327_346, 1_000_000)]
    info = machine()
    lines = [
        f"# Optimizer overhead and scale ({info['date']}, {info['cpu']}, {info['cpus']} CPUs)",
        "",
        "Overhead on breast_cancer (default search: features and compression), one thread:",
        "",
        "| trials | storage | wall s | fitting s | measuring s | overhead share |",
        "|---|---|---|---|---|---|",
        *[
            f"| {o['trials']} | {o['storage']} | {o['wall_s']:.1f} | {o['fit_s']:.1f} | {o['measure_s']:.1f} | "
            f"{o['overhead_share']:.1%} |"
            for o in over
        ],
        "",
        "Scale on nyc_flights (5 trials, default search, fresh process each):",
        "",
        "| rows | wall s | fitting s | peak RSS MB | completed |",
        "|---|---|---|---|---|",
        *[
            f"| {g['rows']:,} | {g.get('wall_s', float('nan')):.1f} | {g.get('fit_s', float('nan')):.1f} | "
            f"{g.get('peak_rss_mb', float('nan')):.0f} | {g.get('completed', g.get('error', ''))} |"
            for g in growth
        ],
    ]
    write_results("overhead", {"machine": info, "overhead": over, "scale": growth}, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
