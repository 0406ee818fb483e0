"""The accurate share: an evenly spread share of trials keeps all features and compresses nothing."""

from __future__ import annotations

import itertools

import optuna
import pandas as pd
import pytest

import paretoml
from paretoml.exceptions import ConfigError
from paretoml.study._accurate import AccurateShare, is_accurate_trial
from paretoml.study._storage import make_sampler


@pytest.mark.parametrize(("share", "expected"), [(0.0, 0), (0.25, 25), (1 / 3, 33), (0.5, 50), (1.0, 100)])
def test_the_share_is_spread_evenly_over_trial_numbers(share: float, expected: int) -> None:
    chosen = [n for n in range(100) if is_accurate_trial(n, share)]
    assert len(chosen) == expected
    if expected > 1:  # evenly spread: gaps differ by at most one trial
        gaps = {b - a for a, b in itertools.pairwise(chosen)}
        assert max(gaps) - min(gaps) <= 1


def test_accurate_trials_keep_all_features_and_compress_nothing(mixed_frame: pd.DataFrame) -> None:
    result = paretoml.optimize(mixed_frame, "12 trials", target="label", families=["lightgbm"], cv_folds=1,
                               warm_start=False, accurate_share=0.5, seed=3, progress=False)  # fmt: skip
    trials = result.study.trials
    assert len(trials) == 12
    lossy = 0
    for t in trials:
        a, p = t.user_attrs, t.params
        if is_accurate_trial(t.number, 0.5):
            assert a["n_features"] == 5 and p["n_features"] == 5
            assert p["compression.tree_fraction"] == 1.0 and p["compression.distill"] is False
            assert a["compression"] in ("none", "runtime=tl2cgen", "runtime=tl2cgen-q")  # the runtime is searched
        else:
            lossy += a["n_features"] < 5 or p["compression.tree_fraction"] < 1.0 or p["compression.distill"]
    assert lossy >= 3  # the other trials are sampled over the whole space (6 draws; seed fixed)
    # hyperparameters of the accurate trials are sampled, not fixed
    rates = {t.params["lightgbm.learning_rate"] for t in trials if is_accurate_trial(t.number, 0.5)}
    assert len(rates) == 6


def test_named_samplers_are_wrapped_and_sampler_objects_used_as_given() -> None:
    wrapped = make_sampler("tpe", 0, accurate_share=0.25)
    assert isinstance(wrapped, AccurateShare) and isinstance(wrapped.base, optuna.samplers.TPESampler)
    assert isinstance(make_sampler("random", 0, accurate_share=0.0), optuna.samplers.RandomSampler)
    mine = optuna.samplers.RandomSampler(seed=1)
    assert make_sampler(mine, 0, accurate_share=0.25) is mine


@pytest.mark.parametrize("bad", [-0.1, 1.5, "half", True])
def test_a_bad_share_is_a_typed_error_before_any_work(mixed_frame: pd.DataFrame, bad: object) -> None:
    with pytest.raises(ConfigError, match="accurate_share"):
        paretoml.optimize(mixed_frame, "1 trials", target="label", accurate_share=bad)  # type: ignore[arg-type]
