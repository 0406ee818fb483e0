"""Warm start (strong configurations enqueued once per study) and cross-validation on small data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import paretoml
from paretoml.data._folds import CV_FOLDS, SMALL_DATA_ROWS, holdout_and_folds, resolve_folds
from paretoml.exceptions import ConfigError
from paretoml.study._warm import WARM_ATTR, WARM_START


def test_warm_start_trials_run_once_and_not_again_on_resume(mixed_frame: pd.DataFrame, tmp_path: Path) -> None:
    kwargs = {"target": "label", "storage": tmp_path / "w.db", "study_name": "w", "families": ["lightgbm"],
              "compression": False, "seed": 0, "cv_folds": 1}  # fmt: skip
    first = paretoml.optimize(mixed_frame, "3 trials", **kwargs)
    n_warm = len(WARM_START["lightgbm"])
    assert first.study.user_attrs[WARM_ATTR] == n_warm
    trials = first.study.trials
    for t, settings in zip(trials[:n_warm], WARM_START["lightgbm"], strict=True):
        assert "fixed_params" in t.system_attrs and t.state.name == "COMPLETE"
        chosen = {k.split(".", 1)[1]: v for k, v in t.params.items() if k.startswith("lightgbm.")}
        assert chosen == settings  # every default lies inside the default space
        assert t.user_attrs["n_features"] == 5 and t.user_attrs["compression"] == "none"
    assert "fixed_params" not in trials[n_warm].system_attrs
    again = paretoml.optimize(mixed_frame, "3 trials", **kwargs)
    assert len(again.study.trials) == 6
    assert sum("fixed_params" in t.system_attrs for t in again.study.trials) == n_warm


def test_warm_start_keeps_to_a_narrower_space(mixed_frame: pd.DataFrame) -> None:
    space = {"family": "lightgbm", "params": {"learning_rate": {"type": "float", "low": 0.2, "high": 0.3},
                                              "num_leaves": {"type": "int", "low": 4, "high": 8}}}  # fmt: skip
    result = paretoml.optimize(mixed_frame, "1 trials", target="label", families=["lightgbm"], compression=False,
                               search_spaces={"lightgbm": space}, features=False, cv_folds=1)  # fmt: skip
    params = result.study.trials[0].params
    assert 0.2 <= params["lightgbm.learning_rate"] <= 0.3 and 4 <= params["lightgbm.num_leaves"] <= 8


def test_no_warm_start_when_asked(mixed_frame: pd.DataFrame) -> None:
    result = paretoml.optimize(mixed_frame, "1 trials", target="label", families=["lightgbm"], warm_start=False,
                               compression=False, cv_folds=1)  # fmt: skip
    assert WARM_ATTR not in result.study.user_attrs and "fixed_params" not in result.study.trials[0].system_attrs


def test_cross_validation_records_each_fold(mixed_frame: pd.DataFrame) -> None:
    result = paretoml.optimize(mixed_frame, "2 trials", target="label", families=["lightgbm"], compression=False,
                               seed=0)  # fmt: skip
    assert result.study.user_attrs["cv_folds"] == CV_FOLDS  # 300 rows: "auto" cross-validates
    problem = result._problem
    for t in result.study.trials:
        a = t.user_attrs
        assert len(a["metric_cv_folds"]) == CV_FOLDS
        assert t.values[0] == a["metric_valid"] == pytest.approx(np.mean(a["metric_cv_folds"]))
        assert a["metric_cv_std"] == pytest.approx(np.std(a["metric_cv_folds"])) and a["metric_cv_std"] > 0
        # fold 0 is the validation split, and its model is the one stored and timed
        stored = result.predictor(t.number, refit=False)
        valid = problem.splits.valid
        assert a["metric_holdout"] == a["metric_cv_folds"][0] == problem.score(stored, valid.X, valid.y)
        assert a["trained_rows"] == problem.n_train


def test_holdout_records_no_folds(mixed_frame: pd.DataFrame) -> None:
    result = paretoml.optimize(mixed_frame, "1 trials", target="label", families=["lightgbm"], cv_folds=1,
                               compression=False)  # fmt: skip
    assert "metric_cv_folds" not in result.study.trials[0].user_attrs


def test_folds_partition_the_search_rows() -> None:
    y = np.repeat([0, 1, 2], 40)
    folds = holdout_and_folds(y, 40, 4, stratify=True, seed=0)
    scored = np.concatenate([f.score for f in folds])
    assert sorted(scored.tolist()) == list(range(160))  # every train and valid row scored exactly once
    for f in folds:
        assert not set(f.fit.tolist()) & set(f.score.tolist())
        assert len(f.fit) + len(f.score) == 160
    assert resolve_folds("auto", SMALL_DATA_ROWS - 1) == CV_FOLDS and resolve_folds("auto", SMALL_DATA_ROWS) == 1
    for bad in (2, 0, "cv", True):
        with pytest.raises(ConfigError, match="`cv_folds` must be"):
            resolve_folds(bad, 100)
