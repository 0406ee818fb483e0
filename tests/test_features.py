"""SHAP-ranked feature subsets as a searched dimension."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_wine, make_classification

import paretoml
from paretoml import ColumnMismatchError, ConfigError
from paretoml.families import lightgbm_params
from paretoml.features import FeatureSelection, _ranking, rank_features, resolve_selection


def _sparse_signal(n_rows: int = 600, n_features: int = 40, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Only columns s0, s1, s2 carry signal; the rest is noise."""
    X, y = make_classification(
        n_samples=n_rows, n_features=n_features, n_informative=3, n_redundant=0, shuffle=False, random_state=seed
    )
    names = [f"s{i}" if i < 3 else f"noise{i}" for i in range(n_features)]
    return pd.DataFrame(X, columns=names), y


def _rank(X: pd.DataFrame, y: np.ndarray, **kwargs: Any) -> Any:
    defaults: dict[str, Any] = {"cat_indices": [], "task": "binary", "n_classes": 2, "seed": 0}
    return rank_features(X.to_numpy(), y, list(X.columns), **{**defaults, **kwargs})


def test_ranking_finds_the_signal_and_is_stable_for_a_seed() -> None:
    X, y = _sparse_signal()
    first, second = _rank(X, y), _rank(X, y)
    assert first.features == second.features and first.scores == second.scores
    assert set(first.top(3)) == {"s0", "s1", "s2"}
    assert first.scores == sorted(first.scores, reverse=True)
    assert first.method == "shap" and first.rows_explained == 600
    gain = _rank(X, y, method="gain")
    assert set(gain.top(3)) == {"s0", "s1", "s2"} and gain.method == "gain"


def test_sample_bound_holds_for_a_large_input(monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = _sparse_signal(n_rows=20_000, n_features=10)
    seen: list[int] = []
    original = _ranking.shap_values

    def recording(booster: Any, data: np.ndarray) -> np.ndarray:
        seen.append(len(data))
        return original(booster, data)

    monkeypatch.setattr(_ranking, "shap_values", recording)
    ranking = _rank(X, y, sample_rows=300)
    assert seen == [300]
    assert ranking.rows_explained == 300
    assert set(ranking.top(3)) == {"s0", "s1", "s2"}


@pytest.mark.parametrize(("task", "n_classes"), [("binary", 2), ("multiclass", 3), ("regression", 0)])
def test_shap_values_are_exact_local_explanations(task: str, n_classes: int) -> None:
    """TreeSHAP's local accuracy: a row's values plus the expected value give its raw score."""
    X, y = load_wine(return_X_y=True)
    target = {"binary": (y == 0).astype(int), "multiclass": y, "regression": X[:, 0]}[task]
    params = lightgbm_params(task, n_classes, n_threads=1, seed=0, num_leaves=7, verbosity=-1)
    booster = lgb.train(params, lgb.Dataset(X, target), 30)
    values = _ranking.shap_values(booster, X)
    raw = booster.predict(X, raw_score=True)
    contrib = booster.predict(X, pred_contrib=True)
    if task == "multiclass":
        assert values.shape == (len(X), 3, X.shape[1])
        expected = contrib.reshape(len(X), 3, -1)[:, :, -1]
        np.testing.assert_allclose(values.sum(axis=2) + expected, raw, rtol=1e-9, atol=1e-9)
    else:
        assert values.shape == X.shape
        np.testing.assert_allclose(values.sum(axis=1) + contrib[:, -1], raw, rtol=1e-9, atol=1e-9)


def test_multiclass_ranking_sums_over_classes() -> None:
    X, y = load_wine(return_X_y=True, as_frame=True)
    ranking = _rank(X, y, task="multiclass", n_classes=3)
    assert sorted(ranking.features) == sorted(X.columns)
    assert all(s >= 0 for s in ranking.scores) and ranking.scores[0] > 0


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (None, FeatureSelection()),
        ("gain", FeatureSelection(method="gain")),
        (False, FeatureSelection(method="off")),
        ("off", FeatureSelection(method="off")),
        ([2, 5], FeatureSelection(sizes=(2, 5))),
        ({"method": "gain", "min_features": 2}, FeatureSelection(method="gain", min_features=2)),
    ],
)
def test_selection_forms(spec: Any, expected: FeatureSelection) -> None:
    assert resolve_selection(spec) == expected


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("lasso", "method"),
        ([0, 3], "positive integers"),
        ({"sizes": [2], "k": 1}, "unknown keys"),
        (3.5, "must be"),
        ({"sizes": 5}, r"sizes must be a list of positive integers.*Pass e\.g\."),
        ({"min_features": "2"}, "min_features, sample_rows integers"),
    ],
)
def test_selection_errors(spec: Any, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        resolve_selection(spec)


def test_trials_train_and_serve_on_their_subset(tmp_path: Path) -> None:
    X, y = _sparse_signal()
    result = paretoml.optimize((X, y), "10 trials", seed=0, families=["lightgbm"], features=[2, 3, 40])
    ranking = result.feature_ranking
    assert list(ranking.columns) == ["rank", "feature", "importance", "method"]
    assert set(ranking.feature.head(3)) == {"s0", "s1", "s2"}
    trials = result.study.trials
    assert {t.params["n_features"] for t in trials} <= {2, 3, 40}
    small = [t for t in trials if t.params["n_features"] < 40]
    assert small, "the sampler tried no subset in 10 trials"
    trial = small[0]
    pred = result.predictor(trial.number)
    assert (
        list(pred.feature_names_in_) == trial.user_attrs["features"] == list(ranking.feature.head(pred.n_features_in_))
    )
    full = X.assign(extra_column="ignored")
    np.testing.assert_array_equal(pred.predict_proba(full), pred.predict_proba(X[list(pred.feature_names_in_)]))
    kept = pred.feature_names_in_[0]
    with pytest.raises(ColumnMismatchError, match=kept):
        pred.predict(X.drop(columns=[kept]))
    saved = paretoml.load(pred.save(tmp_path / "m"))
    assert saved.n_features_in_ == pred.n_features_in_


def test_ranking_is_reused_when_a_study_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import paretoml.study._objective as objective

    calls: list[int] = []
    original = objective.rank_features

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(objective, "rank_features", counting)
    X, y = _sparse_signal(n_rows=300, n_features=12)
    kwargs: dict[str, Any] = {"storage": f"sqlite:///{tmp_path / 'f.db'}", "study_name": "f", "families": ["lightgbm"]}
    first = paretoml.optimize((X, y), "2 trials", **kwargs)
    assert len(calls) == 1
    second = paretoml.optimize((X, y), "2 trials", **kwargs)
    assert len(calls) == 1  # not recomputed
    pd.testing.assert_frame_equal(first.feature_ranking, second.feature_ranking)
    assert len(second.study.trials) == 4
    paretoml.optimize((X, y), "1 trials", **{**kwargs, "features": "gain"})
    assert len(calls) == 2  # another method is a new ranking, stored next to the first


def test_features_off_uses_every_column() -> None:
    X, y = _sparse_signal(n_rows=300, n_features=8)
    result = paretoml.optimize((X, y), "3 trials", families=["lightgbm"], features=False)
    assert result.feature_ranking.empty
    assert all("n_features" not in t.params and t.user_attrs["n_features"] == 8 for t in result.study.trials)
