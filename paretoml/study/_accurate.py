"""A share of trials searches the accurate corner: all features and no lossy compression.

Compression and feature subsets are searched per trial next to the hyperparameters, so a trial that
keeps every feature *and* compresses nothing is rare (about 1 in 50 with the default spaces: a quarter
of the tree fractions, half of the distillation choices, and the top of a log-scaled feature count).
Without them the hyperparameters of the most accurate models are barely searched beyond the warm start.
:class:`AccurateShare` wraps the study's sampler: on an evenly spread share of trial numbers it fixes
the lossy choices to their lossless values (``n_features`` at its maximum, ``tree_fraction`` 1.0, no
distillation, no pruning or quantization) and lets the wrapped sampler choose everything else, the
family, its hyperparameters and the serving runtime included. The sampler still sees every trial, so
what it learns on the accurate trials guides the rest. The choice depends only on the trial number,
so workers of one study agree without talking to each other.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.samplers import BaseSampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

__all__ = ["LOSSLESS", "AccurateShare", "is_accurate_trial", "with_accurate_share"]

#: Per compression space, the value of each lossy choice that loses nothing (the runtime stays searched).
LOSSLESS: dict[str, dict[str, Any]] = {
    "compression": {"tree_fraction": 1.0, "distill": False},
    "cnn_compression": {"distill": False, "prune_fraction": 0.0, "quantize": "none"},
}
_FIXED = {f"{space}.{name}": value for space, values in LOSSLESS.items() for name, value in values.items()}


def is_accurate_trial(number: int, share: float) -> bool:
    """Whether trial ``number`` is one of the accurate share (evenly spread: every ``1/share``-th trial)."""
    return share > 0 and math.floor((number + 1) * share) > math.floor(number * share)


def _lossless(name: str, distribution: BaseDistribution) -> tuple[bool, Any]:
    """The lossless value of parameter ``name`` when it has one inside ``distribution``."""
    if name == "n_features":  # every feature: the top of the searched counts
        if isinstance(distribution, IntDistribution):
            return True, distribution.high
        if isinstance(distribution, CategoricalDistribution):
            return True, max(distribution.choices)  # type: ignore[type-var]
        return False, None
    if name not in _FIXED:
        return False, None
    value = _FIXED[name]
    if isinstance(distribution, CategoricalDistribution):
        return value in distribution.choices, value
    if isinstance(distribution, (IntDistribution, FloatDistribution)):
        return distribution.low <= value <= distribution.high, value
    return False, None


class AccurateShare(BaseSampler):
    """Wraps a sampler; fixes the lossy choices of an evenly spread share of trials to lossless values.

    Args:
        base: The sampler that chooses everything else (and every choice of the other trials).
        share: Fraction of trials in the accurate corner, from 0 (none) to 1 (all).
    """

    def __init__(self, base: BaseSampler, share: float) -> None:
        self.base = base
        self.share = share

    def _fix(self, trial: FrozenTrial, name: str, distribution: BaseDistribution) -> tuple[bool, Any]:
        if not is_accurate_trial(trial.number, self.share):
            return False, None
        return _lossless(name, distribution)

    def reseed_rng(self) -> None:
        self.base.reseed_rng()

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return self.base.infer_relative_search_space(study, trial)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        params = dict(self.base.sample_relative(study, trial, search_space))
        for name, distribution in search_space.items():
            fixed, value = self._fix(trial, name, distribution)
            if fixed:
                params[name] = value
        return params

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution
    ) -> Any:
        fixed, value = self._fix(trial, param_name, param_distribution)
        if fixed:
            return value
        return self.base.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self.base.before_trial(study, trial)

    def after_trial(self, study: Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None) -> None:
        self.base.after_trial(study, trial, state, values)


def with_accurate_share(sampler: optuna.samplers.BaseSampler, share: float) -> optuna.samplers.BaseSampler:
    """``sampler`` wrapped in :class:`AccurateShare` (unwrapped for a share of 0)."""
    return AccurateShare(sampler, share) if share > 0 else sampler
