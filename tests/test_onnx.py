"""ONNX export and the onnxruntime runtime: parity with the Predictor on real and bundled data sets.

Tolerance, from float32 arithmetic: ONNX Runtime's tree ensemble rounds each leaf value to float32 and
sums T trees in float32, so the raw score is off by at most (T + 1) * u * S, u = 2**-24 (the float32
unit roundoff) and S = T * max |leaf| bounding the sum of the magnitudes added; the sigmoid and softmax
are 1-Lipschitz and evaluated in float32 (a few u more). Probabilities are compared with
atol = (T + 1) * u * S + 8u; regression values relative to max(1, |value|). Inputs are float32 too:
XGBoost thresholds are float32 already (the same splits); LightGBM's float64 thresholds can send a row
whose value lies within float32 rounding of a threshold the other way, so LightGBM rows are compared on
data rounded to float32 (what an ONNX Runtime caller feeds), where both agree on every split.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn import datasets

from paretoml.data._preprocess import Preprocessor
from paretoml.exceptions import UnsupportedError
from paretoml.families import FitData, get_family
from paretoml.serving import Predictor

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxmltools")

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
SHARED = SHARED if SHARED.is_dir() else Path("/work/shared/data")
U = 2.0**-24
ROWS = 600
SHARED_SETS = {  # file: (target, columns to drop, task)
    "credit_default.csv.gz": ("default", [], "binary"),
    "orange_juice.csv.gz": ("Purchase", [], "binary"),
    "cells.csv.gz": ("class", ["case"], "binary"),
    "ames_housing.csv.gz": ("Sale_Price", [], "regression"),
    "nyc_flights.csv.gz": ("arr_delay", ["dep_delay", "arr_time"], "regression"),
}
# onnxmltools converts an XGBoost categorical split into one node per category, recursively: on nyc_flights
# (tailnum, dest: thousands of categories) it runs out of recursion, and a typed error says so.
UNCONVERTIBLE = {("nyc_flights.csv.gz", "xgboost")}
SKLEARN_SETS = {
    "breast_cancer": ("binary", datasets.load_breast_cancer),
    "wine": ("multiclass", datasets.load_wine),
    "digits": ("multiclass", datasets.load_digits),
    "iris": ("multiclass", datasets.load_iris),
    "diabetes": ("regression", datasets.load_diabetes),
}


def _frame(name: str) -> tuple[pd.DataFrame, np.ndarray, str]:
    if name in SKLEARN_SETS:
        task, loader = SKLEARN_SETS[name]
        bunch = loader(as_frame=True)
        X, y = bunch.data, bunch.target.to_numpy()
    else:
        if not (SHARED / name).is_file():
            pytest.skip(f"{SHARED / name} is not here")
        target, drop, task = SHARED_SETS[name]
        df = pd.read_csv(SHARED / name, nrows=20_000).dropna(subset=[target])
        df = df.sample(min(len(df), 3 * ROWS), random_state=0)
        X, y = df.drop(columns=[target, *drop]), df[target].to_numpy()
    return X.reset_index(drop=True), y, task


def _fit(X: pd.DataFrame, y: Any, task: str, family: str) -> Predictor:
    pre = Preprocessor.fit(X)
    enc = pre.transform_frame(X)
    classes = np.unique(y) if task != "regression" else np.array([])
    target = np.searchsorted(classes, y) if task != "regression" else np.asarray(y, dtype=np.float64)
    n = len(X) // 2
    data = FitData(enc[:n], target[:n], enc[n:], target[n:], pre.cat_indices, task, len(classes), 1, 0)
    params = {"n_estimators": 8, **({"num_leaves": 8} if family == "lightgbm" else {"max_depth": 3})}
    return Predictor(pre, get_family(family).fit(data, params), task=task, classes=classes)


def _max_leaf(pred: Predictor) -> tuple[int, float]:
    booster = pred.model.booster  # type: ignore[attr-defined]
    trees = booster.trees_to_dataframe()
    values = trees["value"] if "value" in trees else trees.loc[trees["Feature"] == "Leaf", "Gain"]
    return int(trees["tree_index" if "tree_index" in trees else "Tree"].nunique()), float(values.abs().max())


def _float32_rows(X: pd.DataFrame) -> pd.DataFrame:
    out = X.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]) or pd.api.types.is_integer_dtype(out[c]):
            out[c] = out[c].astype(np.float64).astype(np.float32).astype(np.float64)
    return out


@pytest.mark.parametrize("family", ["lightgbm", "xgboost"])
@pytest.mark.parametrize("name", [*SHARED_SETS, *SKLEARN_SETS])
def test_onnx_export_gives_the_predictors_outputs(name: str, family: str, tmp_path: Path) -> None:
    X, y, task = _frame(name)
    X = _float32_rows(X)
    pred = _fit(X, y, task, family)
    if (name, family) in UNCONVERTIBLE:
        with pytest.raises(UnsupportedError, match="high-cardinality categoricals"):
            pred.export_onnx(tmp_path / "model.onnx")
        return
    path = pred.export_onnx(tmp_path / "model.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    rows = X.iloc[len(X) // 2 :]
    pre = Preprocessor.from_dict(json.loads(meta["paretoml.preprocessing"]))  # what an ONNX user has
    assert json.loads(meta["paretoml.features"]) == pre.names and meta["paretoml.task"] == task
    onnx_out = session.run(None, {"X": pre.transform_frame(rows).astype(np.float32)})[-1]
    expected = pred.output(rows)
    n_trees, leaf = _max_leaf(pred)
    bound = (n_trees + 1) * U * n_trees * leaf
    if task == "regression":
        got = onnx_out.reshape(-1)
        np.testing.assert_allclose(got, expected, rtol=0, atol=bound * max(1.0, float(np.abs(expected).max())) + 8 * U)
    else:
        assert json.loads(meta["paretoml.classes"]) == pred.classes_.tolist()
        np.testing.assert_allclose(onnx_out, expected, rtol=0, atol=bound + 8 * U)
        assert float(np.ptp(expected)) > 0  # the model is not a constant: the comparison means something
