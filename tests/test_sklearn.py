"""The scikit-learn estimators: scikit-learn's own estimator checks, and the tools users combine them with."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from paretoml import ConfigError, NoFeasibleModelError, Predictor
from paretoml.sklearn import ParetoClassifier, ParetoRegressor

# The smallest study that yields a model: one trial (LightGBM's defaults) on the validation split, one
# thread (the checks fit ~150 times; LightGBM on every core of a busy machine is several times slower).
# The checks fit random labels, where no model beats a constant prediction: allow_degenerate keeps a pick.
TINY = {"budget": "1 trials", "families": ["lightgbm"], "features": "off", "compression": False, "cv_folds": 1,
        "hardware": 1, "allow_degenerate": True}  # fmt: skip

_ROWS = "paretoml splits train/validation/test rows and needs at least 18 (10 train, 2+2 held out); this check fits "
EXPECTED_FAILED = {
    "check_n_features_in_after_fitting": _ROWS + "12-15 rows.",
    "check_fit2d_1feature": _ROWS + "10 rows (and wants an error naming the feature count instead).",
    "check_classifier_data_not_an_array": _ROWS + "15 rows.",
    "check_regressors_no_decision_function": _ROWS + "10 rows.",
}


def _expected_failed(estimator: object) -> dict[str, str]:
    name = "classifier" if isinstance(estimator, ParetoClassifier) else "regressor"
    return {k: v for k, v in EXPECTED_FAILED.items() if "_classifier" not in k or name == "classifier"}


@parametrize_with_checks([ParetoClassifier(**TINY), ParetoRegressor(**TINY)], expected_failed_checks=_expected_failed)
def test_sklearn_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # thin-budget and degenerate-front warnings
        check(estimator)


@pytest.fixture(scope="module")
def cancer() -> tuple[pd.DataFrame, pd.Series]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X.iloc[:200, :8], pd.Series(np.where(y.iloc[:200] == 1, "benign", "malignant"), name="diagnosis")


def test_classifier_serves_the_refit_pick(cancer, tmp_path, monkeypatch):
    X, y = cancer
    monkeypatch.chdir(tmp_path)  # the default study is in memory: fitting writes nothing to the working directory
    clf = ParetoClassifier(budget="2 trials", families=["lightgbm"], compression=False, cv_folds=1, hardware=1)
    clf.fit(X, y)
    assert list(tmp_path.iterdir()) == []
    assert list(clf.classes_) == ["benign", "malignant"]
    assert clf.n_features_in_ == 8 and list(clf.feature_names_in_) == list(X.columns)
    assert isinstance(clf.predictor_, Predictor)
    assert clf.pick_.trial in set(clf.result_.front.trial)
    proba = clf.predict_proba(X)
    np.testing.assert_array_equal(proba, clf.predictor_.predict_proba(X))  # the picked Predictor, unchanged
    assert set(clf.predict(X)) <= set(clf.classes_)
    assert clf.score(X, y) > 0.85  # well separated rows: a real model, not a constant


def test_pickle_keeps_the_predictor_as_native_files(cancer):
    X, y = cancer
    clf = ParetoClassifier(**TINY).fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    assert not hasattr(again, "result_")  # the in-memory study does not travel (use storage= to keep it)
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    assert again.pick_.trial == clf.pick_.trial


def test_clone_pipeline_cross_val_and_grid_search():
    X, y = load_diabetes(return_X_y=True)
    X, y = X[:150], y[:150]
    reg = ParetoRegressor(**TINY)
    twin = clone(reg)
    assert twin.get_params() == reg.get_params() and twin is not reg
    scores = cross_val_score(make_pipeline(StandardScaler(), reg), X, y, cv=2)
    assert scores.shape == (2,) and np.all(np.isfinite(scores))
    grid = GridSearchCV(reg, {"preset": ["edge", "internal_analytics"], "refit": [True, "all"]}, cv=2).fit(X, y)
    assert grid.best_params_["preset"] in ("edge", "internal_analytics")
    assert grid.best_estimator_.get_params()["preset"] == grid.best_params_["preset"]


@pytest.mark.parametrize(
    ("setting", "match"),
    [({"preset": "cheap"}, "unknown preset"), ({"method": "vote"}, "method"), ({"refit": "yes"}, "refit"),
     ({"budget": -1}, "budget")],
)  # fmt: skip
def test_bad_settings_fail_before_the_study(cancer, setting, match):
    X, y = cancer
    with pytest.raises(ConfigError, match=match):
        ParetoClassifier(**{**TINY, **setting}).fit(X, y)


def test_degenerate_front_raises_unless_allowed():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 3)), rng.integers(0, 2, size=60)
    with pytest.raises(NoFeasibleModelError, match="front is empty"):
        ParetoClassifier(**{**TINY, "allow_degenerate": False}).fit(X, y)
    with pytest.warns(UserWarning, match="allow_degenerate=True picks from the raw front"):
        assert ParetoClassifier(**TINY).fit(X, y).predict(X).shape == (60,)
