"""Noise measurement (metric standard error, trivial baseline, latency tolerance) and the noise-aware front."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer

import paretoml
from paretoml.measure import (
    analytic_metric_se,
    baseline_score,
    fallback_baseline,
    get_metric,
    latency_noise_ms,
    metric_se,
)
from paretoml.pareto import beyond_baseline, front_masks, noise_aware_front


def test_baseline_is_the_constant_prediction_of_the_prior() -> None:
    rng = np.random.default_rng(0)
    y_train, y_valid = (rng.random(300) < 0.3).astype(int), (rng.random(200) < 0.3).astype(int)
    classes = np.array([0, 1])
    assert baseline_score(get_metric("roc_auc", "binary"), y_train, y_valid, classes, "binary") == 0.5
    majority = float(np.mean(y_valid == 0))
    assert baseline_score(get_metric("accuracy", "binary"), y_train, y_valid, classes, "binary") == majority
    prior = y_train.mean()
    expected_ll = -np.mean(y_valid * np.log(prior) + (1 - y_valid) * np.log(1 - prior))
    ll = baseline_score(get_metric("log_loss", "binary"), y_train, y_valid, classes, "binary")
    assert ll == pytest.approx(expected_ll)
    yr_train, yr_valid = rng.normal(size=300), rng.normal(size=200)
    r2 = baseline_score(get_metric("r2", "regression"), yr_train, yr_valid, np.array([]), "regression")
    assert -0.05 < r2 <= 0.0  # the training mean, scored on other rows: at most 0
    assert fallback_baseline("roc_auc_ovr", "multiclass", 3) == 0.5
    assert fallback_baseline("accuracy", "multiclass", 4) == 0.25
    assert fallback_baseline("log_loss", "binary", 2) is None


def test_bootstrap_se_matches_the_analytic_error() -> None:
    rng = np.random.default_rng(1)
    n = 400
    y = rng.integers(0, 2, n)
    p1 = np.clip(0.5 + (y - 0.5) * 0.5 + rng.normal(0, 0.3, n), 0.01, 0.99)
    proba = np.column_stack([1 - p1, p1])
    auc = get_metric("roc_auc", "binary")
    se = metric_se(auc, proba, y, np.array([0, 1]), "binary", seed=0)
    value = auc.score(y, proba, np.array([0, 1]), "binary")
    assert se == pytest.approx(analytic_metric_se("roc_auc", value, n), rel=0.35)
    assert se == metric_se(auc, proba, y, np.array([0, 1]), "binary", seed=0)  # seeded
    acc = get_metric("accuracy", "binary")
    se_acc = metric_se(acc, proba, y, np.array([0, 1]), "binary", seed=0)
    p = acc.score(y, proba, np.array([0, 1]), "binary")
    assert se_acc == pytest.approx(math.sqrt(p * (1 - p) / n), rel=0.25)  # the binomial error
    big = metric_se(acc, np.tile(proba, (10, 1)), np.tile(y, 10), np.array([0, 1]), "binary")
    assert big == pytest.approx(se_acc / math.sqrt(10), rel=0.3)  # m-out-of-n above 1,000 rows, rescaled
    constant = np.tile([0.7, 0.3], (n, 1))
    assert metric_se(auc, constant, y, np.array([0, 1]), "binary") == 0.0  # always 0.5


def test_latency_tolerance() -> None:
    assert latency_noise_ms(0.010, 0.011, 1000) == pytest.approx(0.001)  # the 1 µs floor
    assert latency_noise_ms(1.0, 1.1, 1000) == pytest.approx(0.05)  # 5% of p50
    wide = latency_noise_ms(1.0, 5.0, 50)  # a wide spread over few calls: twice the median's error
    assert wide == pytest.approx(2 * 1.2533 * (4.0 / 1.6449) / math.sqrt(50))
    assert latency_noise_ms(1.0, None, None) == pytest.approx(0.05)


def test_noise_aware_front_by_hand() -> None:
    values = np.array(
        [
            [0.950, 0.100, 10.0],  # A: most accurate; slow
            [0.949, 0.010, 10.0],  # B: within A's noise in metric, 10x faster: drops A
            [0.900, 0.001, 10.0],  # C: less accurate beyond noise, fastest: kept
            [0.899, 0.00102, 10.0],  # D: within noise of C in all: kept (neither beats the other)
        ]
    )
    tol = np.array([[0.005, 0.0001, 0.0]] * 4)
    assert noise_aware_front(values, [True, False, False], tol).tolist() == [False, True, True, True]
    exact = noise_aware_front(values, [True, False, False], np.zeros_like(values))  # plain Pareto dominance
    assert exact.tolist() == [True, True, True, False]  # C beats D exactly
    # a cycle: each beats the next beyond noise in one objective and is within noise elsewhere
    cycle = np.array([[2.0, 0.5, 1.0], [0.9, 0.4, 0.85], [1.0, 1.45, -0.1]])  # a > b > c > a
    assert noise_aware_front(cycle, [True, False, False], np.ones_like(cycle)).tolist() == [True] * 3
    useful = beyond_baseline(np.array([0.5, 0.52, 0.6]), np.array([0.0, 0.02, 0.02]), 0.5, True, 2.0)
    assert useful.tolist() == [False, False, True]


def test_the_trustworthy_front_keeps_the_accurate_anchor() -> None:
    values = np.array([[0.950, 0.100, 10.0], [0.949, 0.010, 10.0], [0.900, 0.001, 10.0], [0.990, 0.5, 10.0]])
    tol = np.array([[0.005, 0.0001, 0.0]] * 4)
    useful = np.array([True, True, True, False])  # row 3: most accurate but degenerate (a leak, say)
    trusted, raw = front_masks(values, [True, False, False], tol, useful)
    assert trusted.tolist() == [True, True, True, False]  # A is back: the best useful metric; D never
    without, _ = front_masks(values, [True, False, False], tol, useful, anchor=False)
    assert without.tolist() == [False, True, True, False]
    assert raw.tolist() == [True, True, True, True]  # every row is non-dominated exactly
    # minimised first objective (e.g. an error): the anchor is the lowest
    flipped = values * np.array([-1.0, 1.0, 1.0])
    trusted_min, _ = front_masks(flipped, [False, False, False], tol, useful)
    assert trusted_min.tolist() == [True, True, True, False]


def test_a_small_real_study_has_no_member_at_or_below_the_baseline(tmp_path: Path) -> None:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    db = tmp_path / "n.db"
    paretoml.optimize((X, y), "8 trials", storage=db, study_name="n", seed=0, hardware=1)
    result = paretoml.load_study(db)
    attrs = result.study.user_attrs
    assert result.baseline == attrs["metric_baseline"] == 0.5
    assert attrs["front_size"] == len(result.front) and attrs["front_raw_size"] == len(result.front_raw)
    assert attrs["front_trials"] == result.front.trial.tolist()
    assert attrs["degenerate_trials"] == []
    assert 1 <= len(result.front) <= len(result.front_raw) + 1
    front = result.front
    assert (front.metric_valid > result.baseline + 2 * front.metric_se).all()
    assert (front.metric_se > 0).all() and (front.metric_se < 0.05).all()
    assert front.metric_test.notna().all() and result.front_raw.metric_test.notna().all()
    trials = result.trials[result.trials.state == "COMPLETE"]
    assert trials.metric_se.notna().all()
    assert set(front.trial) <= set(trials.trial)
    # every preset on this real front, against its description
    unit = float(np.median(front.metric_se))
    best = front.metric_test.max()
    for name, preset in paretoml.PRESETS.items():
        row = result.pick(preset=name).row
        assert row.trial in set(front.trial), name
        assert row.latency_p95_ms <= preset.limits.get("max_latency_p95_ms", np.inf), name
        assert row.size_kb <= preset.limits.get("max_size_kb", np.inf), name
    assert best - result.pick(preset="internal_analytics").row.metric_test <= unit + 1e-12
    assert best - result.pick(preset="medical").row.metric_test <= 0.002 + 1e-12
    quick = result.pick(preset="customer_facing").row
    gave_up = front[front.metric_test > quick.metric_test + 2 * unit]
    assert ((gave_up.latency_p50_ms - quick.latency_p50_ms >= 0.5) | (gave_up.size_kb >= 2 * quick.size_kb)).all()
