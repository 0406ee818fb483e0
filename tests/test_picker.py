"""The picker on hand-made fronts (expected picks worked out by hand) and on a stored study."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import paretoml
from paretoml import PRESETS, ConfigError, NoFeasibleModelError
from paretoml._pick import pick_front
from paretoml.pareto import choose, non_dominated, normalised_loss


def _front() -> pd.DataFrame:
    # trial: test metric, p50 ms, p95 ms, size KB
    rows = [
        (0, 0.950, 0.940, 1.00, 1.50, 500.0),  # A: most accurate, slow, large
        (1, 0.930, 0.925, 0.10, 0.15, 100.0),  # B
        (2, 0.900, 0.900, 0.02, 0.03, 10.0),  # C: the balanced one
        (3, 0.800, 0.790, 0.01, 0.012, 5.0),  # D: fastest and smallest
    ]
    frame = pd.DataFrame(
        rows, columns=["trial", "metric_valid", "metric_test", "latency_p50_ms", "latency_p95_ms", "size_kb"]
    )
    return frame.assign(
        family="lightgbm",
        gap=frame.metric_valid - frame.metric_test,
        metric_se=0.01,  # the noise unit: metric losses below are in hundredths of the metric
        n_features=5,
        n_trees=10,
        batch_rows_per_s=1e5,
    )


def _pick(**kwargs: object) -> int:
    return pick_front(_front(), maximize=True, metric="roc_auc", **kwargs).trial  # type: ignore[arg-type]


def test_normalised_loss_by_hand() -> None:
    values = _front()[["metric_test", "latency_p50_ms", "size_kb"]].to_numpy()
    loss = normalised_loss(values, True, 0.01)
    # metric: (0.94 - m) / 0.01; latency: ln(l / 0.01); size: ln(s / 5)
    np.testing.assert_allclose(loss[:, 0], [0.0, 1.5, 4.0, 15.0], atol=1e-9)
    np.testing.assert_allclose(loss[:, 1], [math.log(100), math.log(10), math.log(2), 0.0])
    np.testing.assert_allclose(loss[:, 2], [math.log(100), math.log(20), math.log(2), 0.0])
    # an offset c: ln((x + c) / (best + c)); with c = 1 ms, A's 1 ms is only (1 + 1) / (0.01 + 1) ~ 2x slower
    soft = normalised_loss(values, True, 0.01, (1.0, 0.0))
    np.testing.assert_allclose(soft[:, 1], np.log((_front().latency_p50_ms + 1) / 1.01))


def test_an_outlier_does_not_stretch_the_scales() -> None:
    values = _front()[["metric_test", "latency_p50_ms", "size_kb"]].to_numpy()
    base = normalised_loss(values, True, 0.01)
    outlier = np.array([[0.50, 0.0001, 0.1]])  # a constant model: very fast, tiny, useless
    with_outlier = normalised_loss(np.vstack([values, outlier]), True, 0.01)[:4]
    np.testing.assert_allclose(with_outlier[:, 0], base[:, 0])  # metric losses: from the best, unchanged
    shift = with_outlier[:, 1:] - base[:, 1:]  # log ratios: every row moves by the same constant
    np.testing.assert_allclose(shift, np.broadcast_to(shift[0], shift.shape))
    for w in ((1, 1, 1), (0.45, 0.45, 0.1), (0.2, 0.4, 0.4)):
        assert choose(with_outlier, w, "weighted_sum")[0] == choose(base, w, "weighted_sum")[0]


@pytest.mark.parametrize(
    ("weights", "method", "expected"),
    [
        # losses (metric, latency, size): A (0, 4.61, 4.61), B (1.5, 2.30, 3.00), C (4, 0.69, 0.69), D (15, 0, 0)
        ((1, 0, 0), "weighted_sum", 0),  # accuracy only: A
        ((0, 1, 0), "weighted_sum", 3),  # latency only: D
        ((0, 0, 1), "weighted_sum", 3),  # size only: D
        ((1, 1, 1), "weighted_sum", 2),  # sums A 9.21, B 6.80, C 5.39, D 15: C
        ((1, 1, 1), "tchebycheff", 1),  # maxima A 4.61, B 3.00, C 4.0, D 15: B
        ((1, 1, 1), "topsis", 1),  # closeness A 0.70, B 0.77, C 0.75, D 0.30: B
        ((1, 1, 1), "knee", 1),  # extremes collapse (D best in two): nearest the ideal, norms B 4.07 < C 4.12
        ((3, 1, 1), "weighted_sum", 0),  # A 9.21, B 4.5+5.30=9.80, C 12+1.39: A
        ((2, 1, 1), "weighted_sum", 1),  # A 9.21, B 3.0+5.30=8.30, C 8+1.39=9.39: B
    ],
)
def test_methods_on_a_hand_made_front(weights: tuple[float, ...], method: str, expected: int) -> None:
    assert _pick(weights=weights, method=method) == expected


def test_knee_finds_the_bulge() -> None:
    # extremes on the axes, one point bulging towards the ideal, one on the plane
    loss = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0], [0.5, 0.5, 0.5], [0.2, 0.2, 0.3]])
    assert choose(loss, (1, 1, 1), "knee")[0] == 4


@pytest.mark.parametrize(
    ("limits", "weights", "expected"),
    [
        ({"max_size_kb": 50}, (1, 0, 0), 2),  # C and D fit; accuracy-first takes C
        ({"max_latency_p95_ms": 0.02}, (1, 0, 0), 3),  # only D answers in time
        ({"min_metric": 0.92}, (0, 1, 0), 1),  # A and B are accurate enough; latency-first takes B
        ({"max_metric_drop": 0.02}, (0, 1, 1), 1),  # within 0.02 of 0.94: A, B
    ],
)
def test_limits_apply_before_weighting(limits: dict[str, float], weights: tuple[float, ...], expected: int) -> None:
    chosen = pick_front(_front(), maximize=True, metric="roc_auc", limits=limits, weights=weights)
    assert chosen.trial == expected
    assert set(chosen.candidates.trial) <= set(_front().trial)


def test_infeasible_names_the_closest_and_the_miss() -> None:
    with pytest.raises(NoFeasibleModelError, match=r"Closest: trial 3 \(lightgbm\): size 5 KB > 1 KB"):
        _pick(limits={"max_size_kb": 1})
    with pytest.raises(NoFeasibleModelError, match=r"p95 0\.012 ms > 0\.001 ms"):
        _pick(limits={"max_latency_p95_ms": 0.001, "max_size_kb": 1000})


def test_presets_respect_their_limits_and_can_be_overridden() -> None:
    for name, preset in PRESETS.items():
        chosen = pick_front(_front(), maximize=True, metric="roc_auc", preset=name)
        row = chosen.row
        assert row.latency_p95_ms <= preset.limits.get("max_latency_p95_ms", math.inf)
        assert row.size_kb <= preset.limits.get("max_size_kb", math.inf)
        assert chosen.details["preset"] == name and preset.description
    assert _pick(preset="medical") == 0  # nothing within 0.002 of the best but the best
    assert _pick(preset="edge", limits={"max_size_kb": 50}) in (2, 3)
    assert _pick(preset="internal_analytics") == 0  # B is 1.5 standard errors below A: over its limit of 1
    assert _pick(preset="internal_analytics", weights={"metric": 0.0, "latency": 1.0}) == 0  # the limit holds
    free = {"max_metric_drop_se": 100.0}
    assert _pick(preset="internal_analytics", weights={"metric": 0.0, "latency": 1.0}, limits=free) == 3


def test_explanation_says_what_is_given_up_and_gained() -> None:
    chosen = pick_front(_front(), maximize=True, metric="roc_auc", weights=(1, 1, 1))
    text = str(chosen)
    assert "Picked trial 2" in text and "gives up 0.0400 roc_auc" in text
    assert "50.0× faster" in text and "50.0× smaller" in text
    assert chosen.details["latency_speedup"] == pytest.approx(50.0)
    assert chosen.details["valid_test_gap"] == pytest.approx(0.0)
    top = pick_front(_front(), maximize=True, metric="roc_auc", weights=(1, 0, 0))
    assert "most accurate front member" in str(top) and "gives up" not in str(top)


def test_minimised_metric_and_validation_lens() -> None:
    front = _front().assign(metric_valid=lambda f: 1 - f.metric_valid, metric_test=np.nan)
    with pytest.warns(UserWarning, match="picking on validation"):
        chosen = pick_front(front, maximize=False, metric="log_loss", weights=(1, 0, 0))
    assert chosen.trial == 0 and chosen.details["on"] == "valid"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"preset": "gaming"}, "unknown preset"),
        ({"method": "vote"}, "`method` must be one of"),
        ({"weights": {"accuracy": 1}}, "unknown keys"),
        ({"weights": (1, -1, 0)}, "non-negative"),
        ({"weights": (1, 2)}, "3 numbers"),
        ({"limits": {"max_ram_mb": 3}}, "unknown keys"),
        ({"limits": {"max_size_kb": -1}}, "finite number"),
        ({"on": "train"}, "'test' or 'valid'"),
    ],
)
def test_bad_pick_arguments(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        _pick(**kwargs)


def test_more_latency_weight_never_gives_a_slower_pick() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        points = np.column_stack([rng.random(30), np.exp(rng.normal(size=30)), np.exp(rng.normal(size=30))])
        front = points[non_dominated(points, [True, False, False])]
        loss = normalised_loss(front, True, float(rng.uniform(0.001, 0.1)), rng.uniform(0, 1, size=2))
        w = rng.random(3) + 0.01
        heavier = w + np.array([0.0, rng.random() * 5, 0.0])
        slow = front[choose(loss, w, "weighted_sum")[0], 1]
        fast = front[choose(loss, heavier, "weighted_sum")[0], 1]
        assert fast <= slow


def test_pick_on_a_stored_study(tmp_path: Path) -> None:
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    db = tmp_path / "p.db"
    paretoml.optimize((X, y), "12 trials", storage=db, study_name="p", seed=0, hardware=1)
    result = paretoml.load_study(db)
    accurate = result.pick(weights={"metric": 1.0, "latency": 0.1, "size": 0.1})
    quick = result.pick(weights={"metric": 1.0, "latency": 10.0, "size": 0.1})
    assert quick.row.latency_p50_ms <= accurate.row.latency_p50_ms
    limit = float(result.front.size_kb.median())
    small = result.pick(limits={"max_size_kb": limit}, method="topsis")
    assert small.row.size_kb <= limit
    assert small.predictor().predict(X.head(2)).shape == (2,)
