"""End-to-end studies on small data with a real SQLite database and real artifacts."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

import paretoml
from paretoml import ConfigError

FRONT_COLUMNS = {
    "trial",
    "family",
    "metric_valid",
    "metric_test",
    "latency_p50_ms",
    "latency_p95_ms",
    "size_kb",
    "n_features",
}


def test_end_to_end_sqlite_study(mixed_frame: pd.DataFrame, tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    result = paretoml.optimize(
        mixed_frame, "8 trials", target="label", storage=f"sqlite:///{db}", study_name="mixed", seed=1,
        hardware={"n_threads": 1},
    )  # fmt: skip
    assert result.metric == "roc_auc"
    assert result.study.metric_names == ["roc_auc", "latency_p50_ms", "size_kb"]
    trials = result.trials
    assert len(trials) == 8 and set(trials.state) == {"COMPLETE"}
    front = result.front
    assert set(front.columns) >= FRONT_COLUMNS and len(front) >= 1
    assert front.metric_test.notna().all()
    assert (front.metric_valid.diff().dropna() <= 0).all()  # best metric first
    held_out = mixed_frame.drop(columns="label").tail(20)
    for number in front.trial:
        pred = result.predictor(number)
        assert pred.predict_proba(held_out).shape == (20, 2)
        attrs = result.study.trials[number].user_attrs
        assert attrs["n_features"] == pred.n_features_in_ == len(attrs["features"])
        assert list(pred.feature_names_in_) == attrs["features"]
        assert attrs["latency_p50_ms"] > 0 and attrs["size_bytes"] > 0 and attrs["config"]
    assert (tmp_path / "s_artifacts").is_dir()
    # the stored study can be read back without the data
    again = paretoml.load_study(db)
    pd.testing.assert_frame_equal(again.front, front)
    first = int(front.trial.iloc[0])
    np.testing.assert_array_equal(
        again.predictor(first).predict_proba(held_out),
        result.predictor(first).predict_proba(held_out),
    )


def test_resume_continues_and_keeps_completed_trials(mixed_frame: pd.DataFrame, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    kwargs = {
        "target": "label",
        "storage": url,
        "study_name": "r",
        "seed": 0,
        "families": ["lightgbm"],
    }
    first = paretoml.optimize(mixed_frame, "3 trials", **kwargs)
    before = {t.number: t.values for t in first.study.trials}
    scores = first.test_scores
    second = paretoml.optimize(mixed_frame, "2 trials", **kwargs)
    assert len(second.study.trials) == 5
    assert {t.number: t.values for t in second.study.trials[:3]} == before
    assert {k: v for k, v in second.test_scores.items() if k in scores} == scores
    params = [t.params for t in second.study.trials]
    assert params[3] != params[0]  # the resumed sampler does not replay the first trials
    with pytest.raises(ConfigError, match="data_fingerprint"):
        paretoml.optimize(mixed_frame.head(250), "1 trials", **kwargs)
    with pytest.raises(ConfigError, match="metric"):
        paretoml.optimize(mixed_frame, "1 trials", **{**kwargs, "metric": "accuracy"})


def test_failing_trials_are_recorded_and_the_study_goes_on(mixed_frame: pd.DataFrame, tmp_path: Path) -> None:
    space = tmp_path / "bad.yaml"
    space.write_text(
        "family: lightgbm\nparams:\n  num_leaves: {type: int, low: 4, high: 8}\n"
        "  objective: {type: categorical, choices: [no_such_objective, binary]}\n"
    )
    result = paretoml.optimize(
        mixed_frame,
        "8 trials",
        target="label",
        families=["lightgbm"],
        search_spaces={"lightgbm": space},
        seed=0,
    )
    states = result.trials.state.tolist()
    assert "FAIL" in states and "COMPLETE" in states
    failed = result.trials[result.trials.state == "FAIL"]
    assert failed.fail_reason.str.contains("no_such_objective").all()
    assert len(result.front) >= 1


def test_time_budget_is_respected(mixed_frame: pd.DataFrame) -> None:
    optimize = paretoml.optimize  # imported lazily: the module's first import is not part of the call
    started = time.time()
    result = optimize(mixed_frame, 3, target="label", families=["lightgbm"])
    # the budget's rule, independent of this machine's speed: no trial starts after the budget is spent
    # (warm-start trials the budget did not reach stay WAITING, queued for a resume: they never start)
    starts = [t.datetime_start.timestamp() for t in result.study.trials if t.datetime_start is not None]
    # (the last check before a trial and the trial's creation are a few storage calls apart: 0.5 s of slack)
    assert starts and max(starts) <= started + 3 + 0.5
    assert result.spent.trials == len(starts)


@pytest.mark.parametrize(("loader", "metric"), [("wine", "accuracy"), ("diabetes", "r2")])
def test_other_tasks_end_to_end(loader: str, metric: str) -> None:
    import sklearn.datasets

    X, y = getattr(sklearn.datasets, f"load_{loader}")(return_X_y=True, as_frame=True)
    result = paretoml.optimize((X, y), "4 trials", seed=0, hardware=1)
    assert result.metric == metric
    assert result.front.metric_test.notna().all()
    pred = result.predictor(result.front.trial.iloc[0])
    assert len(pred.predict(X.head(5))) == 5


def test_user_validation_and_test_sets(mixed_frame: pd.DataFrame) -> None:
    train, valid, test = mixed_frame.iloc[:180], mixed_frame.iloc[180:240], mixed_frame.iloc[240:]
    result = paretoml.optimize(train, "2 trials", target="label", validation=valid, test=test, families=["xgboost"])
    assert result.study.user_attrs["split"]["rows"] == [180, 60, 60]


def test_argument_errors(mixed_frame: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="unknown family"):
        paretoml.optimize(mixed_frame, "1 trials", target="label", families=["catboost"])
    with pytest.raises(ConfigError, match="metric"):
        paretoml.optimize(mixed_frame, "1 trials", target="label", metric="accuracy_score")
    with pytest.raises(ConfigError, match="artifacts="):
        paretoml.optimize(mixed_frame, "1 trials", target="label", storage="postgresql://u@127.0.0.1:1/x")
    with pytest.raises(ConfigError, match="sampler"):
        paretoml.optimize(mixed_frame, "1 trials", target="label", sampler="cmaes-ish")


def test_unfinished_trial_has_no_predictor(mixed_frame: pd.DataFrame) -> None:
    result = paretoml.optimize(mixed_frame, "1 trials", target="label", families=["lightgbm"])
    result.study.enqueue_trial({"family": "lightgbm"})
    running = result.study.ask()
    assert running.number == 1
    assert result.study.trials[1].state == TrialState.RUNNING
    with pytest.raises(ConfigError, match="RUNNING"):
        result.predictor(1)
    with pytest.raises(ConfigError, match="does not exist"):
        result.predictor(7)
    assert isinstance(result.study, optuna.Study)
