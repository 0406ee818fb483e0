"""The shipped model is refit on train + validation rows; the test split never enters a fit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import paretoml
from paretoml._refit import refit_key
from paretoml.data._folds import holdout_and_folds, refit_fold
from paretoml.exceptions import ConfigError, RefitUnavailableError
from paretoml.families import FitData, get_family
from paretoml.trial import refit_rounds


def _study(frame: pd.DataFrame, tmp_path: Path) -> paretoml.Result:
    return paretoml.optimize(
        frame, "4 trials", target="label", families=["lightgbm"], compression=False, features=False,
        storage=tmp_path / "r.db", seed=0, hardware=1,
    )  # fmt: skip


def test_refit_is_the_configuration_fitted_on_train_and_valid_rows(mixed_frame: pd.DataFrame, tmp_path: Path) -> None:
    result = _study(mixed_frame, tmp_path)
    number = int(result.front.trial.iloc[0])
    search, refit = result.predictor(number, refit=False), result.predictor(number)
    problem = result._problem
    n_fit = problem.n_train + problem.n_valid
    assert search.info["trained_rows"] == problem.n_train
    assert refit.info["trained_rows"] == n_fit == len(mixed_frame) - len(problem.splits.test.y)
    assert list(refit.feature_names_in_) == list(search.feature_names_in_)
    attrs = result.study.trials[number].user_attrs
    record = result.study.user_attrs[refit_key(number, "train+valid")]
    assert record["rounds"] == refit_rounds(attrs["rounds_fitted"], problem.n_train, n_fit)
    assert record["rounds"] == attrs["rounds_fitted"]  # the early-stopped count, no early stopping in the refit
    # the same configuration fitted by hand on exactly the train + valid rows gives the same model
    sp = problem.splits
    rows = pd.concat([sp.train.X, sp.valid.X], ignore_index=True)
    encoded = problem.preprocessor.transform_frame(rows)
    params = {k: v for k, v in attrs["config"].items() if k != "early_stopping_rounds"}
    data = FitData(
        X_train=encoded, y_train=np.concatenate([sp.train.y, sp.valid.y]), X_valid=encoded[:10],
        y_valid=sp.valid.y[:10], cat_indices=problem.preprocessor.cat_indices, task="binary", n_classes=2,
        n_threads=1, seed=problem.seed + number,
    )  # fmt: skip
    by_hand = get_family("lightgbm").fit(data, {**params, "n_estimators": record["rounds"]})
    test = problem.preprocessor.transform_frame(sp.test.X)
    np.testing.assert_allclose(refit.model.predict(test), by_hand.predict(test))
    # scored on the untouched test split, measured again
    assert record["metric_test"] == pytest.approx(problem.score(refit, sp.test.X, sp.test.y))
    assert record["latency_p50_ms"] > 0 and record["size_bytes"] > 0 and record["honest_test_score"]


def test_refit_folds_never_hold_test_rows() -> None:
    y = np.tile([0, 1], 60)
    n_train, n_valid, n_test = 120, 40, 40
    test = set(range(n_train + n_valid, n_train + n_valid + n_test))
    for fold in [*holdout_and_folds(y, n_valid, 4, stratify=True, seed=0), refit_fold(n_train, n_valid, n_test,
                                                                                       "train+valid")]:  # fmt: skip
        assert not test & set(fold.fit.tolist()) and not test & set(fold.stop.tolist())
    assert set(refit_fold(n_train, n_valid, n_test, "all").fit.tolist()) >= test


def test_a_loaded_study_serves_stored_refits_and_says_when_there_is_none(
    mixed_frame: pd.DataFrame, tmp_path: Path
) -> None:
    result = _study(mixed_frame, tmp_path)
    best = int(result.front.trial.iloc[0])
    assert all(refit_key(int(n), "train+valid") in result.study.user_attrs for n in result.front.trial)  # trial budget
    X = mixed_frame.drop(columns="label").tail(15)
    again = paretoml.load_study(tmp_path / "r.db")
    np.testing.assert_array_equal(again.predictor(best).predict_proba(X), result.predictor(best).predict_proba(X))
    other = next(t.number for t in result.completed_trials() if t.number != best)
    again.study.set_user_attr(refit_key(other, "train+valid"), None)  # as for a trial optimize did not refit
    assert again.predictor(other, refit=False).predict_proba(X).shape == (15, 2)
    with pytest.raises(RefitUnavailableError, match="refit=False"):
        again.predictor(other)
    with pytest.raises(ConfigError, match="`refit` must be"):
        again.predictor(best, refit="everything")


def test_refit_on_all_rows_is_labelled_without_a_test_score(mixed_frame: pd.DataFrame, tmp_path: Path) -> None:
    result = _study(mixed_frame, tmp_path)
    best = int(result.front.trial.iloc[0])
    pred = result.predictor(best, refit="all")
    assert pred.info["trained_rows"] == len(mixed_frame) and pred.info["refit"] == "all"
    record = result.study.user_attrs[refit_key(best, "all")]
    assert record["metric_test"] is None and record["honest_test_score"] is False
