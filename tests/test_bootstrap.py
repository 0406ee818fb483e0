"""The one-pass bootstrap gives scikit-learn's value on every resample, ties and degenerate resamples included."""

from __future__ import annotations

import numpy as np
import pytest

from paretoml.measure._bootstrap import _vectorized, bootstrap_scores, resample_indices
from paretoml.measure._metrics import get_metric


def _reference(metric, output, y, classes, task, idx):  # one scikit-learn call per resample
    out = []
    for rows in idx:
        try:
            out.append(metric.score(y[rows], output[rows], classes, task))
        except ValueError:
            out.append(np.nan)
    return np.array(out)


def _proba(rng, n, k, ties):
    raw = rng.random((n, k))
    if ties:  # few distinct scores: many tied rows, as small trees give
        raw = np.round(raw * 4) + 0.5
    return raw / raw.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize(
    ("name", "task", "k"),
    [("roc_auc", "binary", 2), ("accuracy", "binary", 2), ("roc_auc", "multiclass", 4), ("accuracy", "multiclass", 3)],
)
def test_classification_matches_sklearn(name, task, k, ties):
    rng = np.random.default_rng(1)
    n = 60  # small: some resamples miss a class, which must be NaN as scikit-learn's ValueError
    y = rng.integers(0, k, n)
    if task == "binary":
        y[rng.random(n) < 0.8] = 0  # rare positives
    output = _proba(rng, n, k, ties)
    metric = get_metric(name, task)
    assert _vectorized(metric, output, task) is not None
    idx = resample_indices(n, 12, 300, seed=3)  # 12 of 60 rows: the m-out-of-n bootstrap of big sets
    classes = np.arange(k)
    fast = bootstrap_scores(metric, output, y, classes, task, idx)
    slow = _reference(metric, output, y, classes, task, idx)
    np.testing.assert_array_equal(np.isnan(fast), np.isnan(slow))
    np.testing.assert_allclose(fast[~np.isnan(fast)], slow[~np.isnan(slow)], rtol=1e-12, atol=1e-12)
    assert not np.isnan(fast).all()
    if name == "roc_auc":
        assert np.isnan(fast).any()  # the degenerate case was exercised


REGRESSION = ["r2", "neg_mean_squared_error", "neg_root_mean_squared_error", "neg_mean_absolute_error"]


@pytest.mark.parametrize("name", REGRESSION)
def test_regression_matches_sklearn(name):
    rng = np.random.default_rng(2)
    n = 80
    y = rng.normal(size=n) * 10
    output = (y + rng.normal(size=n) * 4).astype(np.float32)  # predictors give float32
    metric = get_metric(name, "regression")
    idx = resample_indices(n, 50, 200, seed=0)
    fast = bootstrap_scores(metric, output, y, np.empty(0), "regression", idx)
    slow = _reference(metric, output, y, np.empty(0), "regression", idx)
    np.testing.assert_allclose(fast, slow, rtol=1e-9)


def test_constant_target_resample_follows_sklearn():
    metric = get_metric("r2", "regression")
    y = np.array([1.0, 1.0, 2.0])
    idx = np.array([[0, 1, 0], [0, 1, 2]])
    for output in (np.array([1.0, 1.0, 2.0]), np.array([1.5, 1.0, 2.0])):
        fast = bootstrap_scores(metric, output, y, np.empty(0), "regression", idx)
        np.testing.assert_allclose(fast, _reference(metric, output, y, np.empty(0), "regression", idx))


def test_other_metrics_fall_back_to_sklearn():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 40)
    output = _proba(rng, 40, 2, ties=False)
    metric = get_metric("f1", "binary")
    assert _vectorized(metric, output, "binary") is None
    idx = resample_indices(40, 40, 30, seed=1)
    classes = np.arange(2)
    fast = bootstrap_scores(metric, output, y, classes, "binary", idx)
    np.testing.assert_array_equal(fast, _reference(metric, output, y, classes, "binary", idx))
