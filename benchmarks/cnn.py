"""CNN benchmark on scikit-learn's digits (1,797 images of 8×8 pixels, 10 classes).

Part 1, compression variants of fixed nets: four architectures (400 to 20,000 parameters), each
trained once plain (Adam, early stopping on the validation split), then: structured channel pruning
of 25% and 50% (10 fine-tune epochs), static int8, float16 weights, and distillation from the study
teacher (a 19,466-parameter CNN; temperature 4, alpha 0.5). Every variant is built by the same
compression code a trial runs and served by a Predictor: test accuracy; p50 µs for one raw 8×8 image
and ms for a batch of 1,000 (one thread; all predictors timed round-robin, median of 3 rounds); bytes of
the saved predictor (manifest + safetensors).
Ratios are to the same architecture's plain variant. LightGBM and XGBoost (200 rounds) on the
flattened pixels, served the same way, are listed for reference.

Part 2, a study: ``paretoml.optimize`` on the images with the default families (LightGBM, XGBoost,
CNN) and compression for ``budget`` seconds; the front re-scored on the test split.
Results: ``results/cnn_digits.{json,md}``. Run: ``python benchmarks/cnn.py [budget_s]``.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import optuna
import pandas as pd
import torch
from _common import machine, time_calls, write_results
from sklearn.datasets import load_digits

import paretoml
from paretoml import Predictor
from paretoml.families import get_family
from paretoml.trial import Problem, TrialConfig, TrialOutcome, run_trial

ARCHS = {
    "tiny (4-8, gap)": {"n_blocks": 2, "channels": 4},
    "small (8-16, gap)": {"n_blocks": 2, "channels": 8},
    "small (6-12, dense 16)": {"n_blocks": 2, "channels": 6, "head": "dense", "dense_units": 16},
    "wide (32-64, gap)": {"n_blocks": 2, "channels": 32},
}
TRAINING = {"channel_growth": 2, "learning_rate": 5e-3, "max_epochs": 60, "patience": 8, "batch_size": 64}
VARIANTS = {
    "plain": {},
    "pruned 25%": {"prune_fraction": 0.25, "finetune_epochs": 10},
    "pruned 50%": {"prune_fraction": 0.5, "finetune_epochs": 10},
    "int8": {"quantize": "int8"},
    "fp16": {"quantize": "fp16"},
    "distilled": {"distill": True, "temperature": 4.0, "alpha": 0.5},
}


def _setup() -> tuple[Problem, np.ndarray, np.ndarray]:
    d = load_digits()
    problem = Problem.from_data((d.images, d.target), seed=0, n_threads=1)
    test_images = problem.splits.test.X.to_numpy(dtype=np.float64).reshape(-1, 8, 8)
    return problem, test_images, problem.splits.test.y


def _size_and_accuracy(out: TrialOutcome, images: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    return {"test_accuracy": float((out.predictor.predict(images) == y).mean()), "size_bytes": out.size.saved_bytes}


def _timings(preds: list[Predictor], images: np.ndarray, rounds: int = 3) -> list[dict[str, float]]:
    """p50s of every predictor, taken round-robin over ``rounds`` rounds (median of rounds), so that
    the order of measurement (warm caches, a noisy neighbour) does not favour one variant."""
    singles, batches = [[] for _ in preds], [[] for _ in preds]  # type: ignore[var-annotated]
    batch = [np.resize(images, (1000, 8, 8))]
    for _ in range(rounds):
        for i, pred in enumerate(preds):
            pred.set_threads(1)
            singles[i].append(time_calls(pred.output, list(images[:200]), repeats=700)["p50_us"])
            batches[i].append(time_calls(pred.output, batch, repeats=15, warmup=3)["p50_us"] / 1000)
    return [
        {"p50_us_1": float(np.median(a)), "p50_ms_1000": float(np.median(b))}
        for a, b in zip(singles, batches, strict=True)
    ]


def variants() -> list[dict[str, Any]]:
    problem, images, y = _setup()
    rows, preds = [], []
    for name, arch in ARCHS.items():
        for variant, settings in VARIANTS.items():
            out = run_trial(problem, TrialConfig("cnn", {**TRAINING, **arch}, compression=dict(settings)))
            rows.append({"arch": name, "variant": variant, "n_params": out.size.stats["n_params"],
                         **_size_and_accuracy(out, images, y)})  # fmt: skip
            preds.append(out.predictor)
    for family, params in (("lightgbm", {"n_estimators": 200}), ("xgboost", {"n_estimators": 200})):
        out = run_trial(problem, TrialConfig(family, params))
        rows.append({"arch": f"{family} (200 rounds, reference)", "variant": "plain", "n_params": None,
                     **_size_and_accuracy(out, images, y)})  # fmt: skip
        preds.append(out.predictor)
    for row, timing in zip(rows, _timings(preds, images), strict=True):
        row.update(timing)
    base: dict[str, Any] = {}
    for row in rows:
        if row["n_params"] is None:
            continue
        if row["variant"] == "plain":
            base = row
        row["latency_ratio"] = row["p50_us_1"] / base["p50_us_1"]
        row["batch_ratio"] = row["p50_ms_1000"] / base["p50_ms_1000"]
        row["size_ratio"] = row["size_bytes"] / base["size_bytes"]
    _, described = problem.teacher(get_family("cnn"), problem.search_folds[0]).predictions()
    rows.append({"arch": "teacher", "variant": "plain", **described})
    return rows


def study(budget: float) -> dict[str, Any]:
    d = load_digits()
    result = paretoml.optimize((d.images, d.target), budget=budget, seed=0)
    front = result.front
    cnn = front[front.family == "cnn"]
    small = cnn[cnn.n_params <= 2000].sort_values("metric_test", ascending=False)
    best_small = small.iloc[0].to_dict() if len(small) else None
    return {
        "budget_s": budget,
        "trials": len(result.study.trials),
        "trials_by_family": result.trials.family.value_counts().to_dict(),
        "failed": int((result.trials.state == "FAIL").sum()),
        "front_size": len(front),
        "cnn_on_front": len(cnn),
        "best_cnn_at_most_2000_params": best_small,
        "front": front[
            ["trial", "family", "metric_valid", "metric_test", "latency_p50_ms", "size_kb", "n_params", "compression"]
        ].to_dict(orient="records"),
    }


def _fmt(value: Any, spec: str) -> str:
    return "–" if value is None or (isinstance(value, float) and np.isnan(value)) else format(value, spec)


def main(budget: float = 180.0) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    torch.set_num_threads(1)
    rows = variants()
    result = study(budget)
    info = machine()
    teacher = next(r for r in rows if r["arch"] == "teacher")
    best = result["best_cnn_at_most_2000_params"]
    lines = [
        f"# CNNs on digits (8×8) ({info['date']}, {info['cpu']}, {info['cpus']} CPUs, torch {torch.__version__})",
        "",
        "## Compression variants of fixed nets",
        "",
        "Test accuracy on 360 held-out images; latency through the Predictor from a raw 8×8 array, one",
        "thread, all predictors timed round-robin (median of 3 rounds); size of the saved predictor (manifest +",
        "weights). Ratios are to the same net's plain variant.",
        f"Distillation teacher: {teacher['n_params']:,} parameters, validation accuracy {teacher['valid_accuracy']}.",
        "",
        "| net | variant | params | test acc | p50 µs (1 image) | ms (1,000 images) | size KB |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["arch"] == "teacher":
            continue
        ratio = "latency_ratio" in r
        lines.append(
            f"| {r['arch']} | {r['variant']} | {_fmt(r['n_params'], ',')} | {r['test_accuracy']:.4f} | "
            f"{r['p50_us_1']:.0f}" + (f" ({r['latency_ratio']:.2f}×)" if ratio else "") + " | "
            f"{r['p50_ms_1000']:.1f}" + (f" ({r['batch_ratio']:.2f}×)" if ratio else "") + " | "
            f"{r['size_bytes'] / 1024:.1f}" + (f" ({r['size_ratio']:.2f}×)" if ratio else "") + " |"
        )
    lines += [
        "",
        f"## Study: `paretoml.optimize((images, y), budget={budget:g})`",
        "",
        f"{result['trials']} trials ({result['trials_by_family']}), {result['failed']} failed; "
        f"{result['front_size']} on the front, **{result['cnn_on_front']} of them CNNs**.",
        "",
        (
            f"Best CNN with at most 2,000 parameters on the front: trial {best['trial']}, {int(best['n_params']):,} "
            f"parameters, **test accuracy {best['metric_test']:.4f}**, {best['latency_p50_ms'] * 1000:.0f} µs, "
            f"{best['size_kb']:.1f} KB ({best['compression']})."
            if best
            else "No CNN with at most 2,000 parameters on the front."
        ),
        "",
        "| trial | family | valid acc | test acc | p50 µs | size KB | params | compression |",
        "|---|---|---|---|---|---|---|---|",
        *[
            f"| {m['trial']} | {m['family']} | {m['metric_valid']:.4f} | {m['metric_test']:.4f} | "
            f"{m['latency_p50_ms'] * 1000:.0f} | {m['size_kb']:.1f} | {_fmt(m['n_params'], ',.0f')} | {m['compression']} |"
            for m in result["front"]
        ],
    ]
    frame = pd.DataFrame([r for r in rows if r["arch"] != "teacher"])
    write_results("cnn_digits", {"machine": info, "variants": frame.to_dict(orient="records"), "teacher": teacher,
                                 "study": result}, "\n".join(lines) + "\n")  # fmt: skip


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 180.0)
