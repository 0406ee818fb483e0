"""``memory_kb`` (what a study records) against an independent resident-set measurement, per family and runtime.

For each case a trial runs as in a study (:func:`paretoml.trial.run_trial`, which records ``memory_bytes``
in the trial's own process: garbage collected and heap trimmed, resident set before and after loading a
fresh copy and serving a row and a batch, plus a compiled library's resident pages). The saved predictor is
then measured independently in a **fresh process per predictor**: the process imports the runtime's
library and loads and serves a *different* small model of the same family and runtime first, and keeps it
(so that a library's one-time set-up is not counted, as in a server that already serves), reads ``VmRSS`` from
``/proc/self/status`` (after ``gc.collect()`` + ``malloc_trim(0)``), loads the predictor and serves the same
row and batch, and reads ``VmRSS`` again: ``fresh_kb`` is that difference as is, ``fresh_trimmed_kb`` after
another ``gc.collect()`` + ``malloc_trim(0)`` (the load's transient buffers handed back). The check: ``memory_kb`` within 25% of the fresh measurement.

Results: ``results/memory.{json,md}``. Run: ``python benchmarks/memory.py`` (about 3 minutes; ``--tiny``
for a smoke run in under a minute).
"""

from __future__ import annotations

import ctypes
import gc
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from _common import dataset, machine, write_results

# (case, data set, family, params, compression, the warm-up model's params)
CASES: list[tuple[str, str, str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    ("lightgbm 300 trees", "credit_default", "lightgbm", {"n_estimators": 300, "num_leaves": 63}, {},
     {"n_estimators": 5}),
    ("lightgbm 30 trees", "credit_default", "lightgbm", {"n_estimators": 30, "num_leaves": 15}, {},
     {"n_estimators": 5}),
    ("xgboost 300 trees", "credit_default", "xgboost", {"n_estimators": 300, "max_depth": 6}, {},
     {"n_estimators": 5}),
    ("xgboost 30 trees", "credit_default", "xgboost", {"n_estimators": 30, "max_depth": 4}, {},
     {"n_estimators": 5}),
    ("lightgbm compiled (tl2cgen)", "credit_default", "lightgbm", {"n_estimators": 150, "num_leaves": 31},
     {"runtime": "tl2cgen"}, {"n_estimators": 5}),
    ("xgboost compiled (tl2cgen)", "credit_default", "xgboost", {"n_estimators": 150, "max_depth": 5},
     {"runtime": "tl2cgen"}, {"n_estimators": 5}),
    ("cnn", "digits", "cnn", {"n_blocks": 2, "channels": 16, "max_epochs": 8}, {}, {"n_blocks": 1, "channels": 2,
     "max_epochs": 1}),
]  # fmt: skip
TINY = {"n_estimators": 20, "max_epochs": 2}


def _rss() -> int:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))  # KB


def child(archive: str, warm: str, inputs: str) -> None:
    """The independent measurement, in a fresh process; prints JSON."""
    import pandas as pd

    import paretoml
    from paretoml.measure._memory import heap_bytes

    if inputs.endswith(".npz"):  # images
        data = np.load(inputs, allow_pickle=False)
        row, batch = data["row"], data["batch"]
    else:
        batch = pd.read_csv(inputs)
        row = batch.iloc[[0]].reset_index(drop=True)
    warm_pred = paretoml.load(warm).set_threads(1)  # imports and sets up the runtime, on another model
    warm_pred.predict(row)
    warm_pred.predict(batch)  # kept loaded: freeing it would leave holes in resident pages for the next load
    trim = ctypes.CDLL("libc.so.6").malloc_trim
    gc.collect()
    trim(0)
    before, heap = _rss(), heap_bytes() or 0
    pred = paretoml.load(archive).set_threads(1)
    pred.predict(row)
    pred.predict(batch)
    fresh = _rss() - before
    gc.collect()
    trim(0)
    heap = ((heap_bytes() or 0) - heap) / 1024
    print(json.dumps({"fresh_kb": fresh, "fresh_trimmed_kb": _rss() - before, "fresh_heap_kb": heap}))


def main(tiny: bool = False) -> None:
    from paretoml.trial import Problem, TrialConfig, run_trial

    rows = []
    problems: dict[str, Problem] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for case, data_name, family, params, compression, warm_params in CASES:
            if data_name not in problems:
                X, y = dataset(data_name, max_rows=3000 if tiny else 20_000)
                shape = (8, 8) if data_name == "digits" else None
                problems[data_name] = Problem.from_data((X, y), seed=0, n_threads=1, image_shape=shape)
            problem = problems[data_name]
            if tiny:
                params = {**params, **{k: v for k, v in TINY.items() if k in params}}
            target, warm = Path(tmp) / f"{len(rows)}.zip", Path(tmp) / f"{len(rows)}-warm.zip"
            out = run_trial(problem, TrialConfig(family, params, compression=compression), archive=target)
            run_trial(problem, TrialConfig(family, warm_params, compression=compression), archive=warm)
            if problem.image_shape is None:
                inputs = Path(tmp) / f"{len(rows)}.csv"
                problem.latency_batch.reset_index(drop=True).to_csv(inputs, index=False)
            else:
                inputs = Path(tmp) / f"{len(rows)}.npz"
                np.savez(inputs, row=problem.latency_rows[0], batch=problem.latency_batch)
            command = [sys.executable, __file__, "--child", str(target), str(warm), str(inputs)]
            runs = []
            for _ in range(1 if tiny else 3):
                done = subprocess.run(command, capture_output=True, text=True, check=True)
                runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
            fresh = float(np.median([r["fresh_kb"] for r in runs]))
            trimmed = float(np.median([r["fresh_trimmed_kb"] for r in runs]))
            heap = float(np.median([r["fresh_heap_kb"] for r in runs]))
            recorded = (out.memory_bytes or 0) / 1024
            rows.append({
                "case": case, "family": family, "runtime": out.predictor.model.runtime if hasattr(
                    out.predictor.model, "runtime") else "native",
                "size_kb": out.size.size_kb, "memory_kb": recorded, "fresh_kb": fresh, "fresh_trimmed_kb": trimmed,
                    "fresh_heap_kb": heap,
                "ratio_fresh": recorded / fresh if fresh else float("nan"),
                "ratio_trimmed": recorded / trimmed if trimmed else float("nan"),
            })  # fmt: skip
            print(rows[-1], flush=True)
    lines = [
        "# memory_kb against an independent resident-set measurement",
        "",
        "`memory_kb`: recorded by the trial (in-process: allocator statistics, see paretoml/measure/_memory.py). `fresh`: a fresh process per predictor, "
        "warmed on another model of the same runtime, VmRSS after minus before loading and serving a row and a "
        "batch (median of 3 processes); `trimmed`: the same after gc + malloc_trim; `heap`: malloc'd bytes "
        "(mallinfo2) in that process, i.e. trimmed RSS minus fragmentation and mapped libraries.",
        "",
        "| case | runtime | size KB | memory_kb | fresh KB | fresh trimmed KB | fresh heap KB | memory_kb / trimmed |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['case']} | {r['runtime']} | {r['size_kb']:.0f} | {r['memory_kb']:.0f} | {r['fresh_kb']:.0f} | "
            f"{r['fresh_trimmed_kb']:.0f} | {r['fresh_heap_kb']:.0f} | {r['ratio_trimmed']:.2f} |"
        )
    if tiny:  # a smoke run: nothing written
        print("\n".join(lines))
        return
    write_results("memory", {"machine": machine(), "cases": rows}, "\n".join(lines) + "\n")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:5])
    else:
        main(tiny="--tiny" in sys.argv)
