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


def test_accurate_trials_choose_hyperparameters_for_the_metric_of_the_lossless_trials(
    mixed_frame: pd.DataFrame,
) -> None:
    """With a metric sampler, an accurate trial's family and hyperparameters come from single-objective
    TPE over the study's lossless trials (metric only); its runtime and every other trial stay with the
    multi-objective sampler."""
    from paretoml.study._accurate import is_lossless
    from paretoml.study._sampler import FlatTPESampler

    calls: list[tuple[int, str, int]] = []

    class Recording(FlatTPESampler):
        def sample_independent(self, study: optuna.Study, trial: optuna.trial.FrozenTrial, param_name: str,
                               param_distribution: optuna.distributions.BaseDistribution) -> object:  # fmt: skip
            calls.append((trial.number, param_name, len(study.trials)))
            return super().sample_independent(study, trial, param_name, param_distribution)

    metric = Recording(seed=1, constant_liar=False, multivariate=False)
    sampler = AccurateShare(FlatTPESampler(seed=0, constant_liar=False), 0.5, metric, metric_startup_trials=3)
    result = paretoml.optimize(mixed_frame, "14 trials", target="label", families=["lightgbm"], cv_folds=1,
                               warm_start=False, sampler=sampler, seed=3, progress=False)  # fmt: skip
    trials = result.study.trials
    lossless = [t for t in trials if t.state.name == "COMPLETE" and is_lossless(t)]
    mirror = sampler._metric_study(result.study).trials
    assert [m.value for m in mirror] == [t.values[0] for t in lossless]  # the metric only, every lossless trial
    for m, t in zip(mirror, lossless, strict=True):
        assert m.params == {k: v for k, v in t.params.items() if not k.startswith("compression.") and k != "n_features"}
    assert calls, "the metric sampler was never asked"
    for number, name, mirrored in calls:
        assert is_accurate_trial(number, 0.5) and mirrored >= 3
        assert name == "family" or name.startswith("lightgbm.")
        earlier = [t for t in lossless if t.number < number]
        assert len(earlier) >= 3  # only once three lossless trials had finished
    first = min(number for number, _, _ in calls)
    later = {t.number for t in trials if t.number >= first and is_accurate_trial(t.number, 0.5)}
    assert {n for n, _, _ in calls} == later  # every accurate trial from then on
