"""Data problems of issue 19 caught before the first trial: typed errors naming the fix, or warnings."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

import paretoml
from paretoml import DataError
from paretoml.data import Preprocessor, intake, intake_like, make_splits
from paretoml.data._checks import FLOAT32_MAX, min_rows_per_class


def _cancer() -> tuple[pd.DataFrame, pd.Series]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X, y


def _prepare(X: object, y: object, **kw: object) -> Preprocessor:
    """What optimize does before the first trial: intake, split, fit the preprocessing."""
    splits = make_splits(intake((X, y), **kw))  # type: ignore[arg-type]
    return Preprocessor.fit(splits.train.X)


def test_numbers_in_an_object_array_are_numbers() -> None:
    X, y = _cancer()
    pre = _prepare(X.to_numpy().astype(object), y)
    assert len(pre.names) == 30 and not pre.dropped  # not 27 of 30 dropped as identifier-like categories
    assert all(f.kind == "num" for f in pre.features)


def test_object_array_study_scores_like_the_numeric_one() -> None:
    X, y = _cancer()
    result = paretoml.optimize(
        (X.to_numpy().astype(object), y), "1 trials", families=["lightgbm"], features=False,
        compression=False, hardware=1, progress=False,
    )  # fmt: skip
    assert result.front.metric_test.iloc[0] > 0.95  # 0.49 when the numbers were categories
    predictor = result.predictor(int(result.front.trial.iloc[0]), refit=False)
    assert predictor.predict(X.to_numpy()[:3].astype(object)).shape == (3,)


def test_numbers_written_as_text_stay_categories_with_a_warning() -> None:
    X, y = _cancer()
    X = X.assign(code=(np.arange(len(X)) % 7).astype(str))
    with pytest.warns(UserWarning, match=r"columns \['code'\] hold numbers written as text; they are used as "):
        pre = _prepare(X, y)
    assert {f.name: f.kind for f in pre.features}["code"] == "cat"


def _tiny_regression() -> tuple[pd.DataFrame, list[float]]:
    return pd.DataFrame({"a": [1.0, 2.0, 3.0]}), [1.5, 2.5, 3.7]


def _imbalanced() -> tuple[pd.DataFrame, np.ndarray]:
    y = np.zeros(1000, dtype=int)
    y[17] = 1
    return pd.DataFrame({"a": np.arange(1000.0)}), y


def _with(column: str, values: object) -> tuple[pd.DataFrame, pd.Series]:
    X, y = _cancer()
    return X.assign(**{column: values}), y


def _huge() -> tuple[pd.DataFrame, pd.Series]:
    X, y = _cancer()
    X.iloc[3, 0], X.iloc[4, 0] = 1e308, -1e308
    return X, y


@pytest.mark.parametrize(
    ("make", "kw", "match"),
    [
        (lambda: (_cancer()[0], np.full(569, 2.5)), {"task": "regression"},
         r"the regression target is constant \(2.5 in all 569 rows\).*Check the target column"),
        (_imbalanced, {},
         r"class 1 has 1 row\(s\) \(of 1000\); the split needs at least 5 rows of every class so that train, "
         r"validation and test each hold one.*Add rows of that class, merge it with another or drop it"),
        (_tiny_regression, {},
         r"3 rows split into 1 train, 1 validation and 1 test rows; paretoml needs at least 10 training rows and 2 "
         r"each for validation and test\. Pass at least 18 rows"),
        (lambda: (pd.DataFrame({"a": np.nan, "b": 1.0}, index=range(100)), np.arange(100) % 2), {},
         r"no usable feature: all 2 columns were dropped \('a': all values missing in the training split; "
         r"'b': constant in the training split\)\. Pass at least one column that varies"),
        (_huge, {},
         r"column 'mean radius' holds 2 values beyond \+/-3\.403e\+38, the float32 range .*Rescale the column"),
        (lambda: _with("wait", pd.to_timedelta(np.arange(569), unit="s")), {},
         r"column 'wait' holds durations \(dtype timedelta64.*X\['wait'\] = X\['wait'\]\.dt\.total_seconds\(\)"),
        (lambda: _with("wait", pd.Series([pd.Timedelta(seconds=1)] * 569, dtype=object)), {},
         r"column 'wait' holds values of unsupported type Timedelta.*convert the column, e\.g\. X\[col\]\.astype"),
        (lambda: _with("pair", pd.Categorical([(1, 2), (3, 4)] * 284 + [(1, 2)])), {},
         r"column 'pair' holds values of unsupported type tuple.*categories as JSON"),
    ],
    ids=["constant-regression", "one-positive-in-1000", "3-rows", "all-nan-or-constant", "beyond-float32",
         "timedelta-dtype", "timedelta-objects", "non-json-categories"],
)  # fmt: skip
def test_unusable_data_fails_before_the_first_trial(
    make: Callable[[], tuple[object, object]], kw: dict[str, object], match: str
) -> None:
    X, y = make()
    with pytest.raises(DataError, match=match):
        _prepare(X, y, **kw)


def test_float32_bound_is_the_largest_value_that_stays_finite() -> None:
    assert np.isfinite(np.float32(FLOAT32_MAX))
    with np.errstate(over="ignore"):
        assert np.isinf(np.array([FLOAT32_MAX * 1.01]).astype(np.float32)).all()  # what XGBoost would read
    X, y = _cancer()
    X.iloc[0, 0] = FLOAT32_MAX  # allowed: exactly representable
    _prepare(X, y)


def test_class_minimum_follows_the_split_fractions() -> None:
    assert min_rows_per_class([0.2, 0.25]) == 5  # defaults: 20% test, then 20% of all rows for validation
    assert min_rows_per_class([0.5]) == 2
    y = np.r_[np.zeros(95, dtype=int), np.ones(5, dtype=int)]
    splits = make_splits(intake((pd.DataFrame({"a": np.arange(100.0)}), y)))
    assert all((part.y == 1).sum() >= 1 for part in (splits.train, splits.valid, splits.test))


def test_labels_differing_by_spaces_or_case_warn() -> None:
    X, _ = _cancer()
    y = np.array([" NO", "no", "no ", "yes"])[np.arange(len(X)) % 4]
    match = (
        r"target labels \[\[' NO', 'no', 'no '\]\] differ only by spaces or case, so they are 4 different classes "
        r"\(multiclass\).*y = y\.str\.strip\(\)\.str\.lower\(\)"
    )
    with pytest.warns(UserWarning, match=match):
        _prepare(X, y)


@pytest.mark.parametrize(
    ("task", "leak"),
    [("binary", lambda y: np.where(y == 1, "pos", "neg")), ("regression", lambda y: 3.0 * y - 1.0)],
)
def test_a_feature_that_reproduces_the_target_warns(task: str, leak: Callable[[np.ndarray], object]) -> None:
    X, y = _cancer()
    target = y.to_numpy() if task == "binary" else X["mean area"].to_numpy() / 100.0
    X = X.drop(columns="mean area").assign(copied=leak(target))
    with pytest.warns(UserWarning, match=r"features \['copied'\] reproduce the target on the training split.*Drop "):
        _prepare(X, target, task=task)


def test_clean_data_raises_no_warning() -> None:
    X, y = _cancer()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _prepare(X, y)


def test_a_given_test_set_without_a_class_warns() -> None:
    X, y = _cancer()
    train = intake((X.iloc[:400], y.iloc[:400]))
    rest = (X.iloc[400:][y.iloc[400:] == 1], y.iloc[400:][y.iloc[400:] == 1])
    test = intake_like(rest, train, target=None, name="test")
    with pytest.warns(UserWarning, match=r"`test` holds no rows of classes \[0\]: metrics such as ROC AUC are "
                      r"undefined \(NaN\) on it.*Give `test=` rows of every class"):  # fmt: skip
        make_splits(train, test=test)
