from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, log_loss, mean_squared_error, roc_auc_score

from paretoml import ConfigError
from paretoml.measure import get_metric, measure_latency, resolve_hardware
from paretoml.pareto import non_dominated


def test_non_dominated_hand_made_front() -> None:
    # (metric max, latency min, size min)
    values = np.array(
        [
            [0.90, 1.0, 10.0],  # front: best metric
            [0.85, 0.5, 10.0],  # front: faster
            [0.85, 0.6, 10.0],  # dominated by row 1
            [0.80, 0.5, 5.0],   # front: smaller
            [0.80, 0.5, 5.0],   # duplicate of row 3: kept
            [0.70, 2.0, 20.0],  # dominated by everything
        ]
    )  # fmt: skip
    mask = non_dominated(values, [True, False, False])
    assert mask.tolist() == [True, True, False, True, True, False]
    assert non_dominated(np.empty((0, 3)), [True, False, False]).tolist() == []
    with pytest.raises(ValueError, match="shape"):
        non_dominated(values, [True, False])


def test_default_metrics_and_directions() -> None:
    assert get_metric(None, "binary").name == "roc_auc"
    assert get_metric(None, "multiclass").name == "accuracy"
    assert get_metric(None, "regression").name == "r2"
    ll = get_metric("log_loss", "binary")
    assert ll.direction == "minimize" and ll.scorer_name == "neg_log_loss"
    assert get_metric("neg_mean_squared_error", "regression").name == "mean_squared_error"
    with pytest.raises(ConfigError, match=r"not a scikit-learn scorer name.*roc_auc"):
        get_metric("roc_auk", "binary")


def test_metric_scores_match_sklearn() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 100)
    p1 = np.clip(y * 0.6 + rng.random(100) * 0.4, 0.01, 0.99)
    proba = np.column_stack([1 - p1, p1])
    classes = np.array([0, 1])
    assert get_metric("roc_auc", "binary").score(y, proba, classes, "binary") == roc_auc_score(y, p1)
    assert get_metric("log_loss", "binary").score(y, proba, classes, "binary") == log_loss(y, proba)
    assert get_metric("accuracy", "binary").score(y, proba, classes, "binary") == accuracy_score(y, proba.argmax(1))
    y3 = rng.integers(0, 3, 90)
    proba3 = rng.dirichlet([1, 1, 1], size=90)
    auc = get_metric("roc_auc", "multiclass")
    assert auc.scorer_name == "roc_auc_ovr"
    assert 0.0 <= auc.score(y3, proba3, np.arange(3), "multiclass") <= 1.0
    yr = rng.normal(size=50)
    pr = yr + 0.1
    mse = get_metric("mean_squared_error", "regression").score(yr, pr, np.array([]), "regression")
    assert mse == pytest.approx(mean_squared_error(yr, pr))


def test_measure_latency_counts_calls_and_orders_percentiles() -> None:
    calls = []
    lat = measure_latency(calls.append, rows=[1, 2, 3], batch=list(range(100)), warmup=5, repeats=200)
    assert lat.repeats == 200
    assert len(calls) == 5 + 200 + 1 + 5
    assert 0 < lat.p50_ms <= lat.p95_ms
    assert lat.batch_rows == 100 and lat.batch_rows_per_s > 0


def test_hardware_profile() -> None:
    hw = resolve_hardware({"n_threads": 1})
    assert hw.n_threads == 1 and "cpu_model" in hw.facts and len(hw.fingerprint()) == 12
    assert resolve_hardware(None).n_threads >= 1
    with pytest.raises(ConfigError, match="n_threads"):
        resolve_hardware({"n_threads": -1})
    with pytest.raises(ConfigError, match="unknown keys"):
        resolve_hardware({"gpus": 2})
    with pytest.raises(ConfigError, match="must be 'cpu'"):
        resolve_hardware({"device": "cuda"})


def test_hypervolume_by_hand_and_against_monte_carlo() -> None:
    from paretoml.pareto import hypervolume

    ref2 = np.array([4.0, 4.0])
    # two boxes [1,4]x[3,4] and [2,4]x[1,4] overlap in [2,4]x[3,4]: 3 + 6 - 2 = 7
    assert hypervolume(np.array([[1.0, 3.0], [2.0, 1.0]]), ref2) == pytest.approx(7.0)
    assert hypervolume(np.array([[5.0, 0.0]]), ref2) == 0.0  # worse than ref in one objective
    ref3 = np.array([1.0, 1.0, 1.0])
    assert hypervolume(np.array([[0.5, 0.5, 0.5]]), ref3) == pytest.approx(0.125)
    rng = np.random.default_rng(0)
    pts = rng.random((25, 3)) * 0.9
    samples = rng.random((200_000, 3))
    dominated = (samples[:, None, :] >= pts[None, :, :]).all(axis=2).any(axis=1)
    assert hypervolume(pts, ref3) == pytest.approx(dominated.mean(), abs=0.005)
    with pytest.raises(ValueError, match="points must be"):
        hypervolume(np.zeros((3, 4)), np.ones(4))
