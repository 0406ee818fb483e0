"""Objectives as data: a new objective is one registration, constraints steer and filter, memory is measured."""

from __future__ import annotations

import sys
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

import paretoml
from paretoml._pick import pick_front
from paretoml._settings import Settings
from paretoml.exceptions import ConfigError, NoFeasibleModelError
from paretoml.measure import measure_memory, memory_supported, resolve_hardware
from paretoml.measure._memory import heap_bytes
from paretoml.objectives import OBJECTIVES, ObjectiveSpec, resolve_objectives, violation
from paretoml.pareto import choose, normalised_loss

FAST: dict[str, Any] = {
    "families": ["lightgbm"], "features": False, "compression": False, "hardware": 1, "cv_folds": 1,
    "progress": False, "seed": 0, "warm_start": False,
}  # fmt: skip


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X, y


def test_a_new_objective_is_one_registration(data: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Registering a toy objective (its measurement: leaves per tree) is all a study needs to optimise it."""

    def leaves_per_tree(out: Any) -> float:
        return out.size.stats["n_leaves"] / out.size.stats["n_trees"]

    toy = ObjectiveSpec("leaves_per_tree", kind="size", direction="minimize", unit="leaves", log_scale=True,
                        measure=leaves_per_tree, doc="mean leaves per tree")  # fmt: skip
    monkeypatch.setitem(OBJECTIVES, toy.name, toy)
    result = paretoml.optimize(data, "4 trials", objectives=["metric", "leaves_per_tree"], **FAST)
    assert [d.name for d in result.study.directions] == ["MAXIMIZE", "MINIMIZE"]
    assert result.study.metric_names == ["roc_auc", "leaves_per_tree"]
    assert [o.name for o in result.objectives] == ["metric", "leaves_per_tree"]
    done = result.completed_trials()
    for t in done:
        assert t.values[1] == pytest.approx(t.user_attrs["n_leaves"] / t.user_attrs["n_trees"])
        assert t.user_attrs["memory_kb"] > 0  # every registered objective is recorded, chosen or not
    front = result.front
    assert "leaves_per_tree" in front and len(front)
    chosen = result.pick(weights={"metric": 1.0, "size": 1.0}, method="knee")
    assert "loss_leaves_per_tree" in chosen.candidates
    assert chosen.trial in set(front.trial)


def test_constraints_steer_and_filter(data: tuple[Any, Any]) -> None:
    """Every trial records its violation; the front and the pick offer only trials that meet the bound."""
    free = paretoml.optimize(data, "4 trials", **FAST)
    bound = float(np.median(free.trials.size_kb))
    result = paretoml.optimize(data, "4 trials", constraints={"size_kb": bound}, **FAST)
    done = result.completed_trials()
    for t in done:
        assert t.constraints == {"size_kb": pytest.approx(t.user_attrs["size_kb"] / bound - 1)}
    feasible = {t.number for t in done if t.user_attrs["size_kb"] <= bound}
    assert feasible and set(result.front.trial) <= feasible
    assert set(result.trials.trial[result.trials.feasible.eq(True)]) == feasible
    assert (result.front.size_kb <= bound).all()
    assert result.pick().trial in feasible


def test_an_impossible_constraint_names_the_closest(data: tuple[Any, Any]) -> None:
    with pytest.warns(UserWarning, match=r"no completed trial meets the constraints .*Closest: trial \d+"):
        result = paretoml.optimize(data, "2 trials", constraints={"latency_p95_ms": 1e-6}, **FAST)
    assert result.front.empty
    closest = result.closest()
    assert len(closest) == 2 and (closest.miss > 1).all() and closest.miss.is_monotonic_increasing
    with pytest.raises(NoFeasibleModelError, match=r"latency_p95_ms .* > 1e-06 \(\+"):
        result.pick()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"objectives": ["metric", "p99"]}, r"`objectives` must be None or a list of objective names"),
        ({"objectives": ["latency_p50_ms", "size_kb"]}, r"must list 'metric'"),
        ({"objectives": ["metric", "size_kb", "size_kb"]}, r"each once"),
        ({"constraints": {"latency_p99_ms": 1.0}}, r"`constraints` must be None or a dict"),
        ({"constraints": {"size_kb": -1.0}}, r"`constraints.size_kb` must be a positive number"),
        ({"hardware": {"batch_size": 0}}, r"`hardware.batch_size` must be an int >= 1"),
    ],
)
def test_bad_objectives_and_constraints_are_refused(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        Settings(**kwargs)


def test_violation_convention() -> None:
    assert violation("latency_p95_ms", 1.0, 1.4, "maximize") == pytest.approx(0.4)  # 40% over
    assert violation("size_kb", 256, 128, "maximize") == pytest.approx(-0.5)  # met
    assert violation("throughput_rows_per_s", 1000, 500, "maximize") == pytest.approx(0.5)  # maximised: 50% short
    assert violation("metric", 0.9, 0.85, "maximize") == pytest.approx(0.05)  # absolute for the metric
    assert violation("metric", 0.3, 0.25, "minimize") == pytest.approx(-0.05)  # a loss metric below its bound


def test_serving_profile_is_resolved_and_fingerprinted() -> None:
    one = resolve_hardware({"n_threads": 2})
    served = resolve_hardware({"n_threads": 2, "serving_threads": 2, "batch_size": 50})
    assert one.serving() == {"serving_threads": 1, "batch_size": 1}
    assert served.serving() == {"serving_threads": 2, "batch_size": 50}
    assert one.fingerprint() != served.fingerprint()


def test_batch_latency_is_timed_at_the_serving_batch_size(data: tuple[Any, Any]) -> None:
    result = paretoml.optimize(data, "2 trials", **{**FAST, "hardware": {"n_threads": 1, "batch_size": 50}})
    assert result.study.user_attrs["serving"] == {"serving_threads": 1, "batch_size": 50}
    for t in result.completed_trials():
        a = t.user_attrs
        assert a["batch_size"] == 50
        assert a["batch_latency_ms"] > a["latency_p50_ms"]  # 50 rows take longer than one
        assert a["batch_latency_ms"] < 50 * a["latency_p95_ms"]  # and less than 50 single-row calls


@pytest.mark.skipif(not memory_supported(), reason="needs /proc/self/statm (Linux)")
def test_memory_counts_what_stays_resident() -> None:
    """A loaded object of 16 MB of touched pages measures 16 MB (a page or two of slack); garbage does not."""

    def load() -> np.ndarray:
        garbage = np.ones(4_000_000)  # 32 MB allocated and freed during the load: not resident afterwards
        del garbage
        return np.ones(2_000_000)  # 16 MB kept

    got = measure_memory(load, lambda a: float(a.sum()), lambda a: [])
    assert got is not None and abs(got - 16_000_000) < 0.02 * 16_000_000
    strings = measure_memory(lambda: [str(i) for i in range(100_000)], len, lambda a: [])  # small objects
    expected = sys.getsizeof([None] * 100_000) + sum(sys.getsizeof(str(i)) for i in range(100_000))
    assert strings is not None and abs(strings - expected) < 0.05 * expected


@pytest.mark.skipif(heap_bytes() is None, reason="needs glibc's mallinfo2")
def test_memory_is_what_one_more_copy_adds() -> None:
    """A buffer the runtime allocates once per process is not the copy's; memory another load frees is not
    subtracted from the copy's (the copy's own 16 MB are measured in both cases)."""
    process: dict[str, np.ndarray] = {}
    unrelated = {"old": np.ones(1_000_000)}  # 8 MB that a later load lets go (like a cache evicting)
    calls = []

    def load() -> np.ndarray:
        calls.append(1)
        process.setdefault("buffer", np.ones(1_000_000))  # 8 MB, once per process
        if len(calls) == 2:
            unrelated.clear()
        return np.ones(2_000_000)

    got = measure_memory(load, lambda a: float(a.sum()), lambda a: [])
    assert got is not None and abs(got - 16_000_000) < 0.02 * 16_000_000
    assert not unrelated and len(calls) >= 3  # the eviction did happen during a measured copy


def test_knee_generalises_to_k_objectives() -> None:
    """Two objectives: the point furthest below the line between the extremes; four: the hyperplane."""
    two = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [0.2, 0.3]])
    assert choose(two, (1, 1), "knee")[0] == 3
    four = np.vstack([np.ones((4, 4)) - np.eye(4), [[0.5] * 4, [0.3, 0.2, 0.3, 0.3]]])
    assert choose(four, (1, 1, 1, 1), "knee")[0] == 5
    three = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0], [0.2, 0.2, 0.3]])
    assert choose(three, (1, 1, 1), "knee")[0] == 3


def test_loss_of_a_maximised_and_a_linear_objective() -> None:
    values = np.array([[0.9, 1000.0, 3.0], [0.9, 100.0, 5.0]])  # metric, throughput (max, log), a linear count
    loss = normalised_loss(values, True, 0.01, maximize=[True, False], log_scale=[True, False], offsets=[0, 0])
    assert loss[:, 1].tolist() == pytest.approx([0.0, np.log(10.0)])
    assert loss[:, 2].tolist() == pytest.approx([0.0, 2.0 / 4.0])  # difference over the median magnitude


def test_kind_weights_are_shared_by_the_objectives_of_that_kind() -> None:
    specs = resolve_objectives(["metric", "latency_p50_ms", "latency_p95_ms", "memory_kb"])
    front = pd.DataFrame({
        "trial": [0, 1], "family": ["a", "b"], "metric_valid": [0.90, 0.90], "metric_test": [0.90, 0.90],
        "metric_se": [0.01, 0.01], "gap": [0.0, 0.0], "latency_p50_ms": [0.01, 0.02], "latency_p95_ms": [0.02, 0.03],
        "memory_kb": [100.0, 50.0], "n_features": [3, 3],
    })  # fmt: skip
    chosen = pick_front(front, maximize=True, metric="roc_auc", weights={"latency": 1.0, "size": 1.0, "metric": 0},
                        objectives=[o.name for o in specs])  # fmt: skip
    assert chosen.details["weights"] == {"metric": 0.0, "latency_p50_ms": 0.5, "latency_p95_ms": 0.5, "memory_kb": 1.0}
    assert chosen.trial == 1  # memory halves (weight 1) beats p50 and p95 rising by 2x and 1.5x (weight 0.5 each)
    with pytest.raises(ConfigError, match="unknown keys"):
        pick_front(front, maximize=True, metric="roc_auc", weights={"size_kb": 1.0},
                   objectives=[o.name for o in specs])  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        limited = pick_front(front, maximize=True, metric="roc_auc", limits={"max_memory_kb": 60},
                             objectives=[o.name for o in specs])  # fmt: skip
    assert limited.trial == 1
