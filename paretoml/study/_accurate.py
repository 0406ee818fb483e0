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

With a ``metric_sampler`` (the default TPE study gets one), the accurate trials' family and
hyperparameters are chosen for the metric alone: the multi-objective sampler ranks a configuration by
all objectives, so on the accurate trials it still favours small, fast models, which is not what the
accurate corner needs. The metric sampler (single-objective TPE) learns from the study's *accurate*
trials only (every feature, nothing lossy: the accurate share, the warm start and any other trial that
happens to be lossless), mirrored into an in-memory study with the metric as the only value (and the
constraint violations, so that constraints still steer). Until that mirror holds
``metric_startup_trials`` trials, the multi-objective sampler chooses as before. The serving runtime stays
with the multi-objective sampler: it changes speed, not the metric.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.samplers import BaseSampler
from optuna.study import Study
from optuna.study._constrained_optimization import _CONSTRAINTS_KEY
from optuna.trial import FrozenTrial, TrialState, create_trial

__all__ = ["LOSSLESS", "AccurateShare", "is_accurate_trial", "is_lossless", "with_accurate_share"]

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


def _is_compression(name: str) -> bool:
    return name.split(".", 1)[0] in LOSSLESS


def is_lossless(trial: FrozenTrial) -> bool:
    """Whether every lossy choice of ``trial`` has its lossless value (all features, nothing lossy)."""
    for name, value in trial.params.items():
        has, lossless = _lossless(name, trial.distributions[name])
        if has and value != lossless:
            return False
    return True


class AccurateShare(BaseSampler):
    """Wraps a sampler; fixes the lossy choices of an evenly spread share of trials to lossless values.

    Args:
        base: The sampler that chooses everything else (and every choice of the other trials).
        share: Fraction of trials in the accurate corner, from 0 (none) to 1 (all).
        metric_sampler: A single-objective sampler for the family and hyperparameters of the accurate
            trials, fed the study's lossless trials with the metric (the first objective) as their value;
            None leaves those choices to ``base``.
        metric_startup_trials: Lossless trials the mirror needs before ``metric_sampler`` chooses.
    """

    def __init__(
        self,
        base: BaseSampler,
        share: float,
        metric_sampler: BaseSampler | None = None,
        metric_startup_trials: int = 10,
    ) -> None:
        self.base = base
        self.share = share
        self.metric_sampler = metric_sampler
        self.metric_startup_trials = metric_startup_trials
        self._mirror: optuna.Study | None = None
        self._mirror_key: tuple[int, int] | None = None
        self._mirrored: set[int] = set()

    def _metric_study(self, study: Study) -> optuna.Study:
        """The in-memory mirror of ``study``'s lossless trials, brought up to date."""
        key = (id(study._storage), study._study_id)
        if self._mirror is None or key != self._mirror_key:
            self._mirror = optuna.create_study(direction=study.directions[0], sampler=self.metric_sampler)
            self._mirror_key, self._mirrored = key, set()
        for t in study._get_trials(deepcopy=False, states=(TrialState.COMPLETE,), use_cache=True):
            if t.number in self._mirrored:
                continue
            self._mirrored.add(t.number)
            if not t.values or not math.isfinite(t.values[0]) or not is_lossless(t):
                continue
            names = [n for n in t.params if not _is_compression(n) and n != "n_features"]
            system = {k: v for k, v in t.system_attrs.items() if k == _CONSTRAINTS_KEY}
            self._mirror.add_trial(create_trial(
                params={n: t.params[n] for n in names}, distributions={n: t.distributions[n] for n in names},
                value=t.values[0], system_attrs=system,
            ))  # fmt: skip
            self._mirror._thread_local.cached_all_trials = None  # Optuna resets it only in ask and tell
        return self._mirror

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
        if (
            self.metric_sampler is not None
            and is_accurate_trial(trial.number, self.share)
            and not _is_compression(param_name)
            and param_name != "n_features"
        ):
            mirror = self._metric_study(study)
            if len(mirror._get_trials(deepcopy=False, use_cache=False)) >= self.metric_startup_trials:
                return self.metric_sampler.sample_independent(mirror, trial, param_name, param_distribution)
        return self.base.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self.base.before_trial(study, trial)

    def after_trial(self, study: Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None) -> None:
        self.base.after_trial(study, trial, state, values)


def with_accurate_share(
    sampler: optuna.samplers.BaseSampler, share: float, metric_sampler: BaseSampler | None = None
) -> optuna.samplers.BaseSampler:
    """``sampler`` wrapped in :class:`AccurateShare` (unwrapped for a share of 0)."""
    return AccurateShare(sampler, share, metric_sampler) if share > 0 else sampler
