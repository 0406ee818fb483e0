"""The one-row serving path (values read straight from pandas blocks) gives the general path's bits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from paretoml import ColumnMismatchError, Predictor
from paretoml.data import Preprocessor
from paretoml.data._preprocess import _first_cells, column_arrays, first_row
from paretoml.families import FitData, get_family


def _train() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 120
    return pd.DataFrame(
        {
            "n_int": rng.integers(0, 50, size=n),
            "n_float": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
            "s_object": pd.Series(rng.choice(["a", "b", "c"], size=n), dtype=object),
            "s_str": pd.Series(rng.choice(["x", "y", "z"], size=n), dtype="str"),
            "s_cat": pd.Categorical(rng.choice(["S", "M", "L"], size=n)),
            "flag": rng.random(n) < 0.5,
            "n_f32": rng.normal(size=n).astype(np.float32),
            "nullable": pd.array(rng.integers(0, 9, size=n), dtype="Int64"),
        }
    )


def _rows(train: pd.DataFrame) -> list[pd.DataFrame]:
    """One-row frames in the layouts users send: consolidated, one block per column, reordered with
    an extra column, from records, with unseen categories, NaN/None and pd.NA."""
    base = train.iloc[:6].reset_index(drop=True)
    odd = base.assign(
        s_object=["purple", None, np.nan, "a", "b", "c"],
        s_str=pd.Series(["unseen", None, "x", "y", "z", "x"], dtype="str"),
        n_float=[np.nan, 1.5, None, -0.0, 2.0, 3.0],
    )
    split = pd.concat([base[[c]] for c in base.columns], axis=1)  # one pandas block per column
    assert len(split._mgr.blocks) == base.shape[1]
    rows = []
    for frame in (base, base.copy(), odd, split, base[list(reversed(base.columns))].assign(extra="e")):
        rows += [frame.iloc[[i]] for i in range(len(frame))]
    rows += [pd.DataFrame([r]) for r in odd.to_dict("records")]
    rows.append(base.iloc[[0]].assign(nullable=pd.array([pd.NA], dtype="Int64")))  # fast path falls back
    return rows


def _predictor(train: pd.DataFrame) -> Predictor:
    pre = Preprocessor.fit(train)
    y = (train["n_int"] > 25).to_numpy().astype(int)
    enc = pre.transform_frame(train)
    data = FitData(enc, y, enc, y, pre.cat_indices, "binary", 2, 1, 0)
    model = get_family("lightgbm").fit(data, {"n_estimators": 10, "min_child_samples": 5})
    return Predictor(pre, model, task="binary", classes=np.array([0, 1])).set_threads(1)


def test_first_row_encoding_is_bit_identical_to_the_general_paths() -> None:
    train = _train()
    pred = _predictor(train)
    pre = pred.preprocessor
    for row in _rows(train):
        positions = pre.positions_in(list(row.columns))
        assert _first_cells(row) is not None  # the block-reading path runs, not only its fallback
        fast = pre.transform_first_row(row, positions)
        general = pre.transform_frame(row)  # vectorised, one array per column
        by_values = pre.transform_row([a[0] for a in column_arrays(row, positions)])
        as_dict = pre.transform_row([row.iloc[0].to_dict()[n] for n in pre.names])
        assert fast.shape == (1, len(pre.names))
        assert fast.tobytes() == general.tobytes() == by_values.tobytes() == as_dict.tobytes()
        assert [str(v) for v in first_row(row, positions)] == [str(a[0]) for a in column_arrays(row, positions)]
        out = pred.predict_proba(row)
        np.testing.assert_array_equal(out, pred.predict_proba(row.iloc[0].to_dict()))
        np.testing.assert_array_equal(out, pred.model.predict_one(general))


def test_multi_row_frames_match_their_single_rows() -> None:
    train = _train()
    pred = _predictor(train)
    rows = _rows(train)[:30]
    frame = pd.concat(rows[:6] + rows[12:18], ignore_index=True)
    split = pd.concat([frame[[c]] for c in frame.columns], axis=1)
    encoded = pred.preprocessor.transform_frame(frame)
    assert encoded.tobytes() == pred.preprocessor.transform_frame(split).tobytes()
    batch = pred.predict_proba(split)
    np.testing.assert_array_equal(batch, pred.predict_proba(frame))
    for i in range(len(frame)):
        one = pred.preprocessor.transform_first_row(frame.iloc[[i]], pred._positions(frame))
        assert one.tobytes() == encoded[[i]].tobytes()
        np.testing.assert_allclose(pred.predict_proba(frame.iloc[[i]]), batch[[i]], rtol=1e-12, atol=1e-15)


def test_datetime_features_take_the_general_row_path() -> None:
    train = _train().assign(when=pd.date_range("2024-01-01", periods=120, freq="D"))
    pre = Preprocessor.fit(train)
    assert "when" in pre.names
    for row in (train.iloc[[3]], pd.concat([train.iloc[[3]][[c]] for c in train.columns], axis=1)):
        positions = pre.positions_in(list(row.columns))
        assert pre.transform_first_row(row, positions).tobytes() == pre.transform_frame(row).tobytes()


def test_missing_and_wrong_kind_columns_raise_as_before() -> None:
    train = _train()
    pred = _predictor(train)
    row = train.iloc[[0]]
    with pytest.raises(ColumnMismatchError, match=r"missing 1 column\(s\).*'s_str'"):
        pred.predict(row.drop(columns=["s_str"]))
    with pytest.raises(ColumnMismatchError, match="'n_float' must hold numbers"):
        pred.predict(row.assign(n_float="abc"))
    with pytest.raises(ColumnMismatchError, match="'n_float' must hold numbers"):
        pred.predict(row.iloc[0].to_dict() | {"n_float": "abc"})
