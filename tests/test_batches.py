"""Batches as users send them: every input form gives the DataFrame's predictions, bit for bit."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from paretoml import ColumnMismatchError, DataError, Predictor
from paretoml.data import Preprocessor, intake, make_splits
from paretoml.families import FitData, get_family


def _predictor(frame: pd.DataFrame) -> tuple[Predictor, pd.DataFrame]:
    ds = intake(frame, target="label")
    sp = make_splits(ds, seed=0)
    pre = Preprocessor.fit(sp.train.X)
    data = FitData(pre.transform_frame(sp.train.X), sp.train.y, pre.transform_frame(sp.valid.X), sp.valid.y,
                   pre.cat_indices, ds.task, len(ds.classes), 1, 0)  # fmt: skip
    model = get_family("lightgbm").fit(data, {"n_estimators": 25})
    return Predictor(pre, model, task=ds.task, classes=ds.classes), sp.test.X.reset_index(drop=True)


@pytest.fixture
def served(mixed_frame: pd.DataFrame) -> tuple[Predictor, pd.DataFrame, np.ndarray]:
    pred, X = _predictor(mixed_frame)
    return pred, X, pred.predict_proba(X)


def test_list_of_dicts_equals_the_frame(served: tuple[Predictor, pd.DataFrame, np.ndarray]) -> None:
    pred, X, expected = served
    records = X.to_dict("records")
    assert isinstance(records[0], dict) and len(records) == len(X) > 10
    np.testing.assert_array_equal(pred.predict_proba(records), expected)
    np.testing.assert_array_equal(pred.predict_proba(tuple(records)), expected)
    np.testing.assert_array_equal(pred.predict_proba(records[:1]), expected[:1])  # one record: the row path
    np.testing.assert_array_equal(pred.predict(records), pred.predict(X))
    # as JSON sends them: NaN and None become null, categories plain strings, extra keys ignored
    from_json = json.loads(X.assign(extra="x").to_json(orient="records"))
    assert any(r["x1"] is None for r in from_json) and any(r["colour"] is None for r in from_json)
    np.testing.assert_array_equal(pred.predict_proba(from_json), expected)


def test_dict_of_columns_equals_the_frame(served: tuple[Predictor, pd.DataFrame, np.ndarray]) -> None:
    pred, X, expected = served
    np.testing.assert_array_equal(pred.predict_proba(X.to_dict("list")), expected)
    np.testing.assert_array_equal(pred.predict_proba({c: X[c].to_numpy() for c in X.columns}), expected)
    from_json = {c: json.loads(X[c].to_json(orient="values")) for c in X.columns}  # NaN and None as null
    np.testing.assert_array_equal(pred.predict_proba(from_json), expected)
    np.testing.assert_array_equal(pred.predict_proba(X.head(1).to_dict("list")), expected[:1])


def test_pyarrow_table_equals_the_frame(served: tuple[Predictor, pd.DataFrame, np.ndarray]) -> None:
    pa = pytest.importorskip("pyarrow")
    pred, X, expected = served
    table = pa.Table.from_pandas(X, preserve_index=False)
    np.testing.assert_array_equal(pred.predict_proba(table), expected)
    np.testing.assert_array_equal(pred.predict_proba(table.to_batches()[0]), expected[: table.to_batches()[0].num_rows])


def test_malformed_batches_get_typed_errors(served: tuple[Predictor, pd.DataFrame, np.ndarray]) -> None:
    pred, X, _ = served
    records = X.head(3).to_dict("records")
    del records[1]["colour"]
    with pytest.raises(ColumnMismatchError, match=r"record 1: X is missing 1 column\(s\).*'colour'"):
        pred.predict(records)
    with pytest.raises(DataError, match="item 1 is a list, not a dict"):
        pred.predict([X.iloc[0].to_dict(), [1, 2, 3]])
    with pytest.raises(DataError, match="empty list"):
        pred.predict([])
    with pytest.raises(DataError, match="different lengths"):
        pred.predict({"x1": [1.0, 2.0], "x2": [1.0]})
    with pytest.raises(DataError, match="same number of values"):
        pred.predict([[1.0, 2.0, "red", True, "S"], [1.0]])
    with pytest.raises(DataError, match="no rows"):
        pred.predict({c: [] for c in X.columns})
