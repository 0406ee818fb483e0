from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_wine

from paretoml import ConfigError, DataError
from paretoml.data import Preprocessor, intake, intake_like, make_splits


def test_binary_frame_with_target(mixed_frame: pd.DataFrame) -> None:
    ds = intake(mixed_frame, target="label")
    assert ds.task == "binary"
    assert list(ds.classes) == ["no", "yes"]
    assert set(np.unique(ds.y)) == {0, 1}
    assert "label" not in ds.X.columns


def test_multiclass_and_regression_inferred() -> None:
    X, y = load_wine(return_X_y=True, as_frame=True)
    assert intake((X, y)).task == "multiclass"
    Xd, yd = load_diabetes(return_X_y=True, as_frame=True)
    ds = intake((Xd, yd))
    assert ds.task == "regression"
    assert ds.y.dtype == np.float64


def test_task_override_and_integer_target_with_many_values_is_regression() -> None:
    X = np.arange(200, dtype=float).reshape(100, 2)
    y = np.arange(100)
    assert intake((X, y)).task == "regression"
    assert intake((X, y % 3), task="multiclass").task == "multiclass"
    with pytest.raises(ConfigError, match="task"):
        intake((X, y), task="ranking")


def test_array_input_gets_string_names() -> None:
    ds = intake((np.zeros((10, 3)), np.r_[np.zeros(5), np.ones(5)]))
    assert list(ds.X.columns) == ["x0", "x1", "x2"]


@pytest.mark.parametrize(
    ("data", "target", "match"),
    [
        (pd.DataFrame({"a": [1.0, 2.0], "t": [0, 1]}), "missing", "not in the data"),
        (pd.DataFrame({"a": [1.0, 2.0], "t": [0, 1]}), None, "target"),
        (pd.DataFrame({"t": [0, 1]}), "t", "no feature columns"),
        (pd.DataFrame({"a": [1.0, 2.0, 3.0], "t": [1, 1, 1]}), "t", "single class"),
        (
            pd.DataFrame({"a": [1.0, 2.0, 3.0], "t": [0, np.nan, 1]}),
            "t",
            "missing values in 1 of 3",
        ),
        (pd.DataFrame({"a": [1.0, np.inf, 3.0], "t": [0, 1, 1]}), "t", "inf"),
        (pd.DataFrame({"a": [[1], [2], [3]], "t": [0, 1, 1]}), "t", "unsupported type list"),
        (
            pd.DataFrame({"a": pd.Series([], dtype=float), "t": pd.Series([], dtype=int)}),
            "t",
            "no rows",
        ),
    ],
)
def test_bad_data_is_a_clear_error(data: pd.DataFrame, target: str | None, match: str) -> None:
    with pytest.raises(DataError, match=match):
        intake(data, target=target)


def test_length_mismatch_and_bad_names() -> None:
    with pytest.raises(DataError, match="3 rows but `y` has 2"):
        intake((np.zeros((3, 2)), [0, 1]))
    with pytest.raises(DataError, match="column names must be strings"):
        intake((pd.DataFrame({0: [1.0, 2.0], 1: [3.0, 4.0]}), [0, 1]))
    with pytest.raises(DataError, match="2-D"):
        intake((np.zeros(5), np.zeros(5)))


def test_splits_are_seeded_stratified_and_disjoint(mixed_frame: pd.DataFrame) -> None:
    ds = intake(mixed_frame, target="label")
    a = make_splits(ds, valid_size=0.2, test_size=0.2, seed=3)
    b = make_splits(ds, valid_size=0.2, test_size=0.2, seed=3)
    assert a.test.X.equals(b.test.X)
    assert len(a.train.y) + len(a.valid.y) + len(a.test.y) == len(ds.y)
    overall = ds.y.mean()
    for part in (a.train, a.valid, a.test):
        assert abs(part.y.mean() - overall) < 0.05  # stratified
    with pytest.raises(ConfigError, match="valid_size"):
        make_splits(ds, valid_size=1.5)


def test_user_given_validation_set_is_encoded_with_training_classes(
    mixed_frame: pd.DataFrame,
) -> None:
    train, valid = mixed_frame.iloc[:200], mixed_frame.iloc[200:]
    ds = intake(train, target="label")
    v = intake_like(valid, ds, target="label", name="validation")
    assert np.array_equal(ds.classes[v.y], valid["label"].to_numpy())
    bad = valid.assign(label="maybe")
    with pytest.raises(DataError, match="classes"):
        intake_like(bad, ds, target="label", name="validation")


def test_preprocessor_handles_kinds_missing_and_unseen(mixed_frame: pd.DataFrame) -> None:
    ds = intake(mixed_frame.assign(const=1.0, empty=np.nan), target="label")
    pre = Preprocessor.fit(ds.X)
    kinds = {f.name: f.kind for f in pre.features}
    assert kinds == {"x1": "num", "x2": "num", "colour": "cat", "flag": "num", "size": "cat"}
    assert set(pre.dropped) == {"const", "empty"}
    out = pre.transform_frame(ds.X)
    assert out.shape == (len(ds.X), 5)
    assert np.isnan(out[:, 0]).sum() == ds.X["x1"].isna().sum()
    unseen = ds.X.head(2).assign(colour=["purple", None])
    codes = pre.transform_frame(unseen)[:, pre.names.index("colour")]
    assert np.isnan(codes).all()  # unseen and missing categories are treated as missing


def test_row_path_matches_batch_path(mixed_frame: pd.DataFrame) -> None:
    ds = intake(mixed_frame, target="label")
    pre = Preprocessor.fit(ds.X)
    batch = pre.transform_frame(ds.X)
    for i in range(0, 300, 17):
        row = ds.X.iloc[i]
        np.testing.assert_array_equal(pre.transform_row([row[n] for n in pre.names]), batch[[i]])


def test_preprocessor_round_trips_through_json(mixed_frame: pd.DataFrame) -> None:
    import json

    ds = intake(mixed_frame, target="label")
    pre = Preprocessor.fit(ds.X)
    again = Preprocessor.from_dict(json.loads(json.dumps(pre.to_dict())))
    np.testing.assert_array_equal(again.transform_frame(ds.X), pre.transform_frame(ds.X))


def test_datetime_column_becomes_seconds() -> None:
    X = pd.DataFrame({"when": pd.to_datetime(["2024-01-01", None, "2024-01-03"]), "v": [1.0, 2.0, 3.0]})
    pre = Preprocessor.fit(X)
    out = pre.transform_frame(X)[:, 0]
    assert np.isnan(out[1])
    assert out[2] - out[0] == 2 * 86400
