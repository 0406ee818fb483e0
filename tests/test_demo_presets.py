"""Every preset on a real study of the demo data (breast cancer), checked against its own description.

The demo study file runs for two minutes; this runs the same data, families and compression for a trial
budget, so that the check is fast and deterministic in what it checks (the rules, not the exact trial).
"""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

import paretoml
from paretoml import PRESETS
from paretoml._pick import noise_unit


@pytest.fixture(scope="module")
def demo() -> paretoml.Result:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return paretoml.optimize((X, y), "30 trials", seed=0, hardware=1, progress=False)


def _better(front: pd.DataFrame, row: pd.Series, units: float) -> pd.DataFrame:
    return front[front.metric_test > row.metric_test + units * noise_unit(front)]


def test_no_front_member_is_at_or_below_the_trivial_baseline(demo: paretoml.Result) -> None:
    baseline = demo.study.user_attrs["metric_baseline"]
    assert baseline == pytest.approx(0.5)  # ROC AUC of a constant prediction
    assert len(demo.front) >= 1 and (demo.front.metric_valid > baseline).all()
    assert len(demo.front) <= len(demo.front_raw)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_each_preset_does_what_it_says_on_the_demo_study(demo: paretoml.Result, preset: str) -> None:
    front = demo.front
    chosen = demo.pick(preset=preset)
    row = chosen.row
    limits = PRESETS[preset].limits
    assert row.trial in set(front.trial)
    assert row.latency_p95_ms <= limits.get("max_latency_p95_ms", float("inf"))
    assert row.size_kb <= limits.get("max_size_kb", float("inf"))
    if preset == "internal_analytics":  # accuracy first: within one standard error of the most accurate
        assert _better(front, row, 1.0).empty
    elif preset == "medical":  # only models within 0.002 of the most accurate
        assert front.metric_test.max() - row.metric_test <= 0.002 + 1e-12
    elif preset == "customer_facing":  # > 2 SE given up only for 0.5 ms or half the size
        better = _better(front[front.latency_p95_ms <= 10.0], row, 2.0)
        assert ((better.latency_p50_ms - row.latency_p50_ms >= 0.5) | (better.size_kb >= 2 * row.size_kb)).all()
    elif preset == "loan_quote":  # > 1 SE given up only for 0.2 s or half the size
        better = _better(front[front.latency_p95_ms <= 1000.0], row, 1.0)
        assert ((better.latency_p50_ms - row.latency_p50_ms >= 200) | (better.size_kb >= 2 * row.size_kb)).all()
    elif preset == "edge":  # > 2 SE given up only for 40 KB or twice the speed
        better = _better(front[front.size_kb <= 1024.0], row, 2.0)
        assert ((better.size_kb - row.size_kb >= 40) | (better.latency_p50_ms >= 2 * row.latency_p50_ms)).all()
    assert "Runner-up: trial" in str(chosen) or "No runner-up" in str(chosen)
