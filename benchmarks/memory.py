"""``memory_kb`` (what a study records) against an independent resident-set measurement, per family and runtime.

For each case a trial runs as in a study (:func:`paretoml.trial.run_trial`, which records ``memory_bytes``
in the trial's own process from allocator statistics: see ``paretoml/measure/_memory.py``). The saved
predictor is then measured independently in a **fresh process per predictor**, from the kernel's resident
set (``VmRSS`` in ``/proc/self/status``, each read after ``gc.collect()`` + ``malloc_trim(0)``):

1. the process imports the runtime and loads and serves a *different* small model of the same family and
   runtime, and keeps it (the library's one-time set-up is not the predictor's);
2. it loads the predictor and serves a row and a batch: ``first_kb`` is the resident-set growth;
3. it loads and serves ``MORE_COPIES`` further copies of the same predictor, all kept alive:
   ``further_kb`` is the resident-set growth per copy. That is the measurement the check uses.
   ``first_kb`` also holds what the first load of a model this size leaves behind once: the load's
   transient buffers (XGBoost parses its whole UBJSON document) freed into heap pages that stay resident
   because live chunks sit between them, and which later loads reuse; ``further_kb`` does not;
4. a compiled runtime's shared library is mapped once per process however many copies share it, so its
   resident pages (``Rss`` of its mapping in ``/proc/self/smaps``) are added: ``independent_kb =
   further_kb + library_kb``.

The check: ``memory_kb`` within 25% of ``independent_kb``.

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
MORE_COPIES = 4  # further copies loaded in the fresh process


def _rss() -> int:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))  # KB


def _trimmed_rss() -> int:
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    return _rss()


def _mapping_rss(path: str) -> int:
    """KB resident of the mappings of the file ``path`` (read from ``/proc/self/smaps``)."""
    total, current = 0, False
    with open("/proc/self/smaps") as fh:
        for line in fh:
            first = line.split(maxsplit=5)
            if "-" in first[0] and len(first) >= 5 and ":" in first[3]:  # a mapping's header line
                current = len(first) == 6 and first[5].strip() == path
            elif current and line.startswith("Rss:"):
                total += int(line.split()[1])
    return total


def child(archive: str, warm: str, inputs: str) -> None:
    """The independent measurement, in a fresh process; prints JSON."""
    import pandas as pd

    import paretoml

    if inputs.endswith(".npz"):  # images
        data = np.load(inputs, allow_pickle=False)
        row, batch = data["row"], data["batch"]
    else:
        batch = pd.read_csv(inputs)
        row = batch.iloc[[0]].reset_index(drop=True)

    def served(path: str) -> Any:
        pred = paretoml.load(path).set_threads(1)
        pred.predict(row)
        pred.predict(batch)
        return pred

    copies = [served(warm)]  # imports and sets up the runtime, on another model; kept alive
    before = _trimmed_rss()
    copies.append(served(archive))
    first = _trimmed_rss()
    for _ in range(MORE_COPIES):
        copies.append(served(archive))
    further = (_trimmed_rss() - first) / MORE_COPIES
    library = getattr(copies[-1].model, "library", None)
    library_kb = _mapping_rss(str(Path(library).resolve())) if library is not None else 0
    print(json.dumps({"first_kb": first - before, "further_kb": further, "library_kb": library_kb}))


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
            fresh = {key: float(np.median([r[key] for r in runs])) for key in ("first_kb", "further_kb", "library_kb")}
            independent = fresh["further_kb"] + fresh["library_kb"]
            recorded = (out.memory_bytes or 0) / 1024
            runtime = getattr(out.predictor.model, "runtime", "native")
            rows.append({"case": case, "family": family, "runtime": runtime, "size_kb": out.size.size_kb,
                         "memory_kb": recorded, **fresh, "independent_kb": independent,
                         "ratio": recorded / independent if independent else float("nan")})  # fmt: skip
            print(rows[-1], flush=True)
    lines = [
        "# memory_kb against an independent resident-set measurement",
        "",
        "`memory_kb`: recorded by the trial, in its own process (allocator statistics, see "
        "paretoml/measure/_memory.py). The rest is measured in a fresh process per predictor that already "
        "serves another model of the same runtime, from the kernel's resident set after gc + malloc_trim "
        "(median of 3 processes): `first`: growth when the predictor is loaded and serves a row and a batch; "
        f"`further`: growth per further copy ({MORE_COPIES} more, all kept alive); `library`: resident pages "
        "of a compiled runtime's shared library (mapped once per process); `independent` = further + library.",
        "",
        "| case | runtime | size KB | memory_kb | first KB | further KB | library KB | independent KB | "
        "memory_kb / independent |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['case']} | {r['runtime']} | {r['size_kb']:.0f} | {r['memory_kb']:.0f} | {r['first_kb']:.0f} | "
            f"{r['further_kb']:.0f} | {r['library_kb']:.0f} | {r['independent_kb']:.0f} | {r['ratio']:.2f} |"
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
