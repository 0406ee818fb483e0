"""The core issue's acceptance check on real data the project's tests never use.

nyc_flights (strings, missing values, 16 feature columns): ``optimize((X, y), budget=60)`` on a 20,000-row
sample, then, for every front member: save to disk, reload with ``paretoml.load``, predict 2,000 raw rows
that the study never saw (drawn from the rest of the file), and time ``predict_proba`` independently on
one-row DataFrames to compare with the p50 latency the study reported.
Results: ``results/unseen_data.{json,md}``. Run: ``python benchmarks/unseen_data.py [budget]``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import optuna
from _common import SHARED, machine, time_calls, write_results

import paretoml


def main(budget: float = 60.0) -> None:
    import pandas as pd

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    frame = pd.read_csv(SHARED / "nyc_flights.csv.gz").dropna(subset=["arr_delay"])
    frame["late"] = np.where(frame.pop("arr_delay") > 15, "late", "on_time")
    frame = frame.drop(columns=["arr_time", "air_time"])  # known only after arrival
    shuffled = frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
    study_rows, unseen = shuffled.iloc[:20_000], shuffled.iloc[20_000:22_000]
    X, y = study_rows.drop(columns="late"), study_rows["late"]
    result = paretoml.optimize((X, y), budget=budget, seed=0)
    front = result.front
    members = []
    raw_unseen = unseen.drop(columns="late").reset_index(drop=True)
    rows = [raw_unseen.iloc[[i]] for i in range(200)]
    with tempfile.TemporaryDirectory() as tmp:
        for number in front.trial:
            folder = result.predictor(int(number)).save(Path(tmp) / f"trial-{number}")
            pred = paretoml.load(folder)
            labels = pred.predict(raw_unseen)
            independent = time_calls(pred.predict_proba, rows, repeats=1000)["p50_us"] / 1e3
            reported = float(front.loc[front.trial == number, "latency_p50_ms"].iloc[0])
            members.append(
                {
                    "trial": int(number),
                    "family": pred.family,
                    "accuracy_unseen": float((labels == unseen["late"].to_numpy()).mean()),
                    "reported_p50_ms": reported,
                    "independent_p50_ms": independent,
                    "ratio": independent / reported,
                }
            )
    payload = {
        "machine": machine(),
        "budget_s": budget,
        "trials": len(result.study.trials),
        "front_size": len(front),
        "front": front.to_dict(orient="records"),
        "members": members,
        "all_reload_and_predict": len(members) == len(front),
        "max_latency_disagreement": max(max(m["ratio"], 1 / m["ratio"]) for m in members),
    }
    lines = [
        f"# Unseen real data: nyc_flights, budget {budget:g}s ({payload['machine']['date']}, {payload['machine']['cpu']})",
        "",
        f"{payload['trials']} trials, {len(front)} front members; every one saved, reloaded and predicted "
        f"2,000 unseen raw rows: {payload['all_reload_and_predict']}. Largest disagreement between the "
        f"reported p50 and an independent one-row `predict_proba` timing: {payload['max_latency_disagreement']:.2f}×.",
        "",
        "| trial | family | roc_auc valid | roc_auc test | accuracy unseen | p50 reported ms | p50 independent ms | size KB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m, row in zip(members, front.itertuples(index=False), strict=True):
        lines.append(
            f"| {m['trial']} | {m['family']} | {row.metric_valid:.4f} | {row.metric_test:.4f} | "
            f"{m['accuracy_unseen']:.4f} | {m['reported_p50_ms']:.4f} | {m['independent_p50_ms']:.4f} | {row.size_kb:.1f} |"
        )
    write_results("unseen_data", payload, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 60.0)
