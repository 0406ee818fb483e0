"""Serving-path benchmark: the Predictor on raw rows against the bare model on encoded rows.

For one fixed model per data set (100 trees, 31 leaves) this times, in one process:
  - ``Booster.predict`` on an already-encoded NumPy row (the baseline of the core issue's target);
  - the Predictor's ``predict_proba`` on a raw one-row DataFrame and on a dict;
  - LightGBM's scikit-learn wrapper ``predict_proba`` on a one-row DataFrame (pandas categoricals);
  - XGBoost: ``inplace_predict`` on an encoded row against the Predictor on a raw row;
and, at batch sizes 1, 10, 100, 1,000, the Predictor on raw DataFrames against ``Booster.predict``
on encoded arrays; then each serving runtime (native, tl2cgen, onnxruntime, lleaves for LightGBM) side by
side through the Predictor on one raw row and on 1,000 rows, with ratios to native.
Results: ``results/serving_path.{json,md}``. Run: ``python benchmarks/serving_path.py [dataset ...] [--quick]``
(``--quick``: 1/100 of the repeats, to check that the script runs).
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from _common import dataset, machine, serve_through, write_results
from _common import time_calls as _time_calls

from paretoml import Predictor
from paretoml.families import get_family
from paretoml.trial import Problem

DATASETS = ["breast_cancer", "orange_juice", "credit_default", "ames_housing", "nyc_flights"]
BATCHES = [1, 10, 100, 1000]
SERVING_RUNTIMES = ["native", "tl2cgen", "onnxruntime", "lleaves"]
QUICK = "--quick" in sys.argv


def time_calls(fn: Any, inputs: list[Any], repeats: int = 2000, warmup: int = 50) -> dict[str, float]:
    """:func:`_common.time_calls`, with 1/100 of the repeats under ``--quick``."""
    if QUICK:
        repeats, warmup = max(5, repeats // 100), min(warmup, 5)
    return _time_calls(fn, inputs, repeats=repeats, warmup=warmup)


def runtimes(models: dict[str, Any], pre: Any, task: str, classes: Any, test: pd.DataFrame) -> list[dict[str, Any]]:
    """Each runtime through the Predictor on one raw row and on 1,000 raw rows, with ratios to native."""
    rows = [test.iloc[[i]] for i in range(min(200, len(test)))]
    batch = test.iloc[np.arange(1000) % len(test)].reset_index(drop=True)
    out = []
    for family, native in models.items():
        base: dict[str, float] = {}
        for runtime in SERVING_RUNTIMES:
            model, skipped = serve_through(native, family, runtime)
            if model is None:
                out.append({"family": family, "runtime": runtime, "skipped": skipped})
                continue
            pred = Predictor(pre, model, task=task, classes=classes).set_threads(1)
            one = time_calls(pred.output, rows)["p50_us"]
            many = time_calls(pred.output, [batch], repeats=60)["p50_us"]
            base = base or {"one": one, "many": many}
            out.append({"family": family, "runtime": runtime, "row_us": one, "row_ratio": one / base["one"],
                        "batch_1000_us": many, "batch_1000_ratio": many / base["many"]})  # fmt: skip
    return out


def _sklearn_frame(X: pd.DataFrame) -> pd.DataFrame:
    return X.assign(**{c: X[c].astype("category") for c in X.columns if X[c].dtype == object or X[c].dtype == "str"})


def _sklearn_pipeline(X: pd.DataFrame, task: str) -> Any:
    """What a scikit-learn user would serve: a ColumnTransformer (impute + one-hot) and the LightGBM wrapper."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    strings = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    numbers = [c for c in X.columns if c not in strings]
    encode = make_pipeline(
        SimpleImputer(strategy="most_frequent"),
        OneHotEncoder(handle_unknown="ignore", max_categories=50, sparse_output=False),
    )
    columns = ColumnTransformer([("num", "passthrough", numbers), ("cat", encode, strings)])
    kind = lgb.LGBMRegressor if task == "regression" else lgb.LGBMClassifier
    return Pipeline([("columns", columns), ("model", kind(n_estimators=100, num_leaves=31, n_jobs=1, verbose=-1))])


def _flaml_model(X: pd.DataFrame, y: np.ndarray, task: str) -> Any:
    """FLAML's served call for a LightGBM model it tunes for 5 s (None when FLAML is not installed)."""
    try:
        from flaml import AutoML
    except ImportError:
        return None
    automl = AutoML()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kind = "regression" if task == "regression" else "classification"
        automl.fit(X, y, task=kind, estimator_list=["lgbm"], time_budget=5, seed=0, verbose=0)
    return automl.predict if task == "regression" else automl.predict_proba


def bench(name: str) -> dict[str, object]:
    X, y = dataset(name)
    problem = Problem.from_data((X, y), seed=0, n_threads=1)
    sp, pre, task, classes = problem.splits, problem.preprocessor, problem.task, problem.classes
    fit = problem.fit_data(fold=problem.search_folds[0], keep=None, seed=0)
    params = {"n_estimators": 100, "num_leaves": 31}
    test = sp.test.X.reset_index(drop=True)
    rows = [test.iloc[[i]] for i in range(min(200, len(test)))]
    dicts = [r.iloc[0].to_dict() for r in rows]
    encoded = [pre.transform_frame(r) for r in rows]
    serve = "predict" if task == "regression" else "predict_proba"
    out: dict[str, object] = {"dataset": name, "rows": len(X), "columns": X.shape[1], "task": task}

    lgbm = get_family("lightgbm").fit(fit, params)
    pred = Predictor(pre, lgbm, task=task, classes=classes).set_threads(1)
    booster = lgbm.booster  # type: ignore[attr-defined]
    bare = time_calls(lambda r: booster.predict(r, num_threads=1), encoded)
    frame = time_calls(getattr(pred, serve), rows)
    as_dict = time_calls(getattr(pred, serve), dicts)
    wrapper_cls = lgb.LGBMRegressor if task == "regression" else lgb.LGBMClassifier
    wrapper = wrapper_cls(n_estimators=100, num_leaves=31, n_jobs=1, verbose=-1)
    wrapper.fit(_sklearn_frame(sp.train.X), sp.train.y)
    skl_rows = [_sklearn_frame(test).iloc[[i]] for i in range(len(rows))]
    sklearn = time_calls(getattr(wrapper, serve), skl_rows, repeats=500)
    pipeline = _sklearn_pipeline(sp.train.X, task).fit(sp.train.X, sp.train.y)
    pipe_serve = getattr(pipeline, serve)
    pipe = time_calls(pipe_serve, rows, repeats=300)
    flaml_serve = _flaml_model(sp.train.X, sp.train.y, task)
    flaml = time_calls(flaml_serve, rows, repeats=200) if flaml_serve is not None else None
    out["lightgbm_single_row"] = {
        "booster_predict_encoded": bare,
        "predictor_dataframe": frame,
        "predictor_dict": as_dict,
        "sklearn_wrapper_dataframe": sklearn,
        "ratio_predictor_to_booster": frame["p50_us"] / bare["p50_us"],
        "ratio_sklearn_to_predictor": sklearn["p50_us"] / frame["p50_us"],
        "sklearn_pipeline_dataframe": pipe,
        "ratio_pipeline_to_booster": pipe["p50_us"] / bare["p50_us"],
        "flaml_dataframe": flaml,
        "ratio_flaml_to_booster": None if flaml is None else flaml["p50_us"] / bare["p50_us"],
    }
    batches = {}
    for n in BATCHES:
        idx = np.arange(n) % len(test)
        raw = test.iloc[idx].reset_index(drop=True)
        enc = pre.transform_frame(raw)
        reps = 300 if n <= 100 else 60
        b = time_calls(lambda a: booster.predict(a, num_threads=1), [enc], repeats=reps)
        p = time_calls(getattr(pred, serve), [raw], repeats=reps)
        pl = time_calls(pipe_serve, [raw], repeats=max(20, reps // 3))
        fl = time_calls(flaml_serve, [raw], repeats=max(20, reps // 3)) if flaml_serve is not None else None
        batches[str(n)] = {
            "booster_us": b["p50_us"], "predictor_us": p["p50_us"], "ratio": p["p50_us"] / b["p50_us"],
            "pipeline_us": pl["p50_us"], "pipeline_ratio": pl["p50_us"] / b["p50_us"],
            "flaml_us": None if fl is None else fl["p50_us"],
            "flaml_ratio": None if fl is None else fl["p50_us"] / b["p50_us"],
        }  # fmt: skip
    out["lightgbm_batches"] = batches

    xgbm = get_family("xgboost").fit(fit, {"n_estimators": 100, "max_depth": 6})
    xpred = Predictor(pre, xgbm, task=task, classes=classes).set_threads(1)
    xb = xgbm.booster  # type: ignore[attr-defined]
    x_bare = time_calls(lambda r: xb.inplace_predict(r), encoded, repeats=1000)
    x_frame = time_calls(getattr(xpred, serve), rows, repeats=1000)
    out["xgboost_single_row"] = {
        "inplace_predict_encoded": x_bare,
        "predictor_dataframe": x_frame,
        "ratio_predictor_to_inplace": x_frame["p50_us"] / x_bare["p50_us"],
    }
    out["runtimes"] = runtimes({"lightgbm": lgbm, "xgboost": xgbm}, pre, task, classes, test)
    return out


def main() -> None:
    names = [a for a in sys.argv[1:] if not a.startswith("--")] or DATASETS
    results = [bench(name) for name in names]
    info = machine()
    lines = [
        f"# Serving path, single thread ({info['date']}, {info['cpu']}, {info['cpus']} CPUs)",
        "",
        "One raw row in, prediction out; p50 in µs; ratio = Predictor / bare model on an encoded NumPy row.",
        "",
        "| data set | cols | LightGBM Booster.predict (encoded) | Predictor (DataFrame row) | ratio | Predictor (dict) "
        "| sklearn wrapper (DataFrame row) | sklearn Pipeline + ColumnTransformer | FLAML predict_proba "
        "| XGBoost inplace_predict (encoded) | Predictor XGBoost (DataFrame row) | ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        s, x = r["lightgbm_single_row"], r["xgboost_single_row"]  # type: ignore[index]
        lines.append(
            f"| {r['dataset']} | {r['columns']} | {s['booster_predict_encoded']['p50_us']:.1f} | "
            f"{s['predictor_dataframe']['p50_us']:.1f} | {s['ratio_predictor_to_booster']:.2f}× | "
            f"{s['predictor_dict']['p50_us']:.1f} | {s['sklearn_wrapper_dataframe']['p50_us']:.1f} | "
            f"{s['sklearn_pipeline_dataframe']['p50_us']:.1f} | "
            f"{'-' if s['flaml_dataframe'] is None else format(s['flaml_dataframe']['p50_us'], '.1f')} | "
            f"{x['inplace_predict_encoded']['p50_us']:.1f} | {x['predictor_dataframe']['p50_us']:.1f} | "
            f"{x['ratio_predictor_to_inplace']:.2f}× |"
        )
    lines += [
        "",
        "Batches (LightGBM): p50 µs of each served path on a raw DataFrame, and its ratio to Booster.predict",
        "on the encoded array (Predictor; sklearn Pipeline with ColumnTransformer; FLAML predict_proba)",
        "",
    ]
    lines += [
        "| data set | path | " + " | ".join(f"{n} rows" for n in BATCHES) + " |",
        "|---|---|" + "---|" * len(BATCHES),
    ]
    for r in results:
        b = r["lightgbm_batches"]  # type: ignore[index]
        for label, key in (("Predictor", "predictor"), ("Pipeline", "pipeline"), ("FLAML", "flaml")):
            if b[str(BATCHES[0])].get(f"{key}_us") is None:
                continue
            ratio = "ratio" if key == "predictor" else f"{key}_ratio"
            cells = [f"{b[str(n)][f'{key}_us']:.0f} ({b[str(n)][ratio]:.2f}×)" for n in BATCHES]
            lines.append(f"| {r['dataset']} | {label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Runtimes through the Predictor (raw DataFrame in): p50 µs on one row and on 1,000 rows, ratio to native",
        "",
        "| data set | family | runtime | 1 row | 1,000 rows |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        for e in r["runtimes"]:  # type: ignore[attr-defined]
            if "skipped" in e:
                lines.append(f"| {r['dataset']} | {e['family']} | {e['runtime']} | skipped: {e['skipped']} | |")
                continue
            lines.append(f"| {r['dataset']} | {e['family']} | {e['runtime']} | {e['row_us']:.1f} ({e['row_ratio']:.2f}×) "
                         f"| {e['batch_1000_us']:.0f} ({e['batch_1000_ratio']:.2f}×) |")  # fmt: skip
    write_results("serving_path", {"machine": info, "results": results}, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
