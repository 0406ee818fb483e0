"""Optuna's TPE sampler at a per-trial cost that grows slowly with the study, sampling what TPE samples.

Multi-objective TPE samples each parameter on its own, and for each one it splits every finished trial
into a "below" and an "above" set by non-domination rank: with 15 parameters and 2,000 trials that is
15 sorts of 2,000 points per trial, some 90 ms, more than a small trial's own work. The split is the
same for every parameter of a trial, so :class:`FlatTPESampler` computes it once per trial. It also
reads the trials once per trial (``constant_liar=False``) when a single worker runs the study, where
the constant liar has no other running trial to penalise. And Optuna converts every finished trial's
value of a parameter to its internal form again for every parameter of every trial (a Python loop over
the study); a finished trial's value never changes, so :class:`FlatTPESampler` keeps each parameter's
converted values by trial number and picks the below and above ones with an array operation (about a
fifth of the sampler's time at 500 trials, measured on a 14-parameter trial).

The other cost that grows with the study is the Parzen estimators' density of every candidate under
every finished trial's kernel: for integer and stepped parameters Optuna takes the log of the normal
CDF element by element in Python (``np.frompyfunc`` over ``math.erf``), some 15,000 calls a trial at
300 trials (about 30 ms under cProfile, growing linearly). While it scores the candidates,
:class:`FlatTPESampler` swaps in the same formula evaluated on whole arrays (:func:`log_ndtr`: the same
branches, ``scipy.special``'s erf/erfc, agreeing with Optuna to 1e-11 relative); the candidates are
still drawn by Optuna's code. The parameters it suggests are Optuna's own, value for value
(``tests/test_throughput.py`` checks both).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
from optuna.distributions import BaseDistribution
from optuna.samplers import TPESampler
from optuna.samplers._tpe import _truncnorm
from optuna.samplers._tpe import sampler as _tpe
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState
from scipy import special

__all__ = ["FlatTPESampler", "log_ndtr"]


class FlatTPESampler(TPESampler):
    """:class:`optuna.samplers.TPESampler` with the below/above split of the trials computed once per trial.

    Args:
        **kwargs: Passed to :class:`~optuna.samplers.TPESampler`.

    Example:
        >>> sampler = FlatTPESampler(seed=0, constant_liar=False)
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._split_key: tuple[Any, ...] | None = None
        self._split: tuple[list[FrozenTrial], list[FrozenTrial]] = ([], [])
        self._columns: dict[tuple[Any, ...], _Column] = {}

    def _split_once(
        self, study: Study, trial: FrozenTrial, trials: list[FrozenTrial], n_finished: int, n_below: int
    ) -> Any:
        # The list only grows while a trial samples (finished trials stay finished), and a running trial
        # that finishes raises the finished count: the length and that count identify the list.
        key = (trial.number, n_below, len(trials), n_finished)
        if key != self._split_key:
            self._split = _tpe._split_trials(study, trials, n_below)
            self._split_key = key
        return self._split

    def _get_internal_repr(
        self, trials: list[FrozenTrial], search_space: dict[str, BaseDistribution], study: Study
    ) -> dict[str, np.ndarray]:
        """Optuna's values of one parameter over ``trials``, from a column kept across trials.

        Optuna converts every trial's value again for every parameter of every trial (a Python loop over
        the study); a finished trial's value never changes, so each is converted once.
        """
        if self._multivariate or self._constant_liar or len(search_space) != 1:
            return super()._get_internal_repr(trials, search_space, study)
        ((name, distribution),) = search_space.items()
        key = (id(study._storage), study._study_id, name, distribution)  # one sampler may serve two studies
        column = self._columns.get(key)
        if column is None:
            column = self._columns[key] = _Column(name, distribution)
        return {name: column.values_of(trials)}

    def _sample(self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        # Optuna's TPESampler._sample (4.x, 5.x), with the split of the trials cached per trial.
        if self._constant_liar:
            states = [TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING]
        else:
            states = [TrialState.COMPLETE, TrialState.PRUNED]
        trials = study._get_trials(deepcopy=False, states=states, use_cache=not self._constant_liar)
        if self._constant_liar:
            trials = [t for t in trials if trial.number != t.number]
        if self._gamma is None:
            multi = len(study.directions) > 1
            self._gamma = _tpe.default_gamma_multiobjective if multi else _tpe.default_gamma
        n = sum(t.state != TrialState.RUNNING for t in trials)
        below_trials, above_trials = self._split_once(study, trial, trials, n, self._gamma(n))
        mpe_below = self._build_parzen_estimator(study, search_space, below_trials, handle_below=True)
        mpe_above = self._build_parzen_estimator(study, search_space, above_trials, handle_below=False)
        samples_below = mpe_below.sample(self._rng.rng, self._n_ei_candidates)
        with _array_log_ndtr():
            acq_func_vals = self._compute_acquisition_func(samples_below, mpe_below, mpe_above)
        ret = TPESampler._compare(samples_below, acq_func_vals)
        for param_name, dist in search_space.items():
            ret[param_name] = dist.to_external_repr(ret[param_name])
        return ret


class _Column:
    """One parameter's internal values, by trial number, for the finished trials seen so far."""

    def __init__(self, name: str, distribution: BaseDistribution) -> None:
        self.name, self.distribution = name, distribution
        self.seen: set[int] = set()
        self.by_number: dict[int, Any] = {}
        self.numbers = np.empty(0, dtype=np.int64)
        self.values = np.asarray([])

    def values_of(self, trials: list[FrozenTrial]) -> np.ndarray:
        """``np.asarray`` of the values of the trials that have the parameter, in the order of ``trials``
        (sorted by number, as Optuna's split returns them)."""
        fresh = [t for t in trials if t.number not in self.seen]
        if fresh:
            for t in fresh:
                self.seen.add(t.number)
                if self.name in t.params:
                    self.by_number[t.number] = self.distribution.to_internal_repr(t.params[self.name])
            self.numbers = np.fromiter(sorted(self.by_number), dtype=np.int64, count=len(self.by_number))
            self.values = np.asarray([self.by_number[n] for n in self.numbers.tolist()])
        wanted = np.fromiter((t.number for t in trials), dtype=np.int64, count=len(trials))
        if wanted.size > 1 and not bool(np.all(wanted[1:] > wanted[:-1])):  # not in number order: Optuna's way
            return np.asarray([self.by_number[n] for n in wanted.tolist() if n in self.by_number])
        picked = self.values[np.isin(self.numbers, wanted, assume_unique=True)]
        return picked if picked.size else np.asarray([])


_SQRT1_2 = 1 / math.sqrt(2)


def _ndtr(a: np.ndarray) -> np.ndarray:
    """Optuna's ``_ndtr_single`` on an array: the normal CDF by erf near 0 and erfc in the tails."""
    x = a * _SQRT1_2
    return np.where(
        x < -_SQRT1_2,
        0.5 * special.erfc(-x),
        np.where(x < _SQRT1_2, 0.5 + 0.5 * special.erf(x), 1.0 - 0.5 * special.erfc(x)),
    )


def log_ndtr(a: np.ndarray) -> np.ndarray:
    """Optuna's ``_truncnorm._log_ndtr`` (log of the standard normal CDF) evaluated on the whole array.

    The same three branches as Optuna: ``-ndtr(-a)`` above 6, ``log(ndtr(a))`` down to -20, and the
    asymptotic series below (summed until it stops changing, as Optuna does).
    """
    a = np.asarray(a, dtype=np.float64)
    out = np.empty_like(a)
    high, low = a > 6, a <= -20
    mid = ~(high | low)
    out[high] = -_ndtr(-a[high])
    out[mid] = np.log(_ndtr(a[mid]))
    if low.any():
        t = a[low]
        log_lhs = -0.5 * t**2 - np.log(-t) - 0.5 * math.log(2 * math.pi)
        total, numerator, factor, sign, i = np.ones_like(t), 1.0, np.ones_like(t), 1.0, 0
        inv_sq = 1 / t**2
        while True:
            i += 1
            sign, numerator = -sign, numerator * (2 * i - 1)
            factor = factor * inv_sq
            step = sign * numerator * factor
            total = total + step
            if not np.any(np.abs(step) > np.finfo(float).eps):
                break
        out[low] = log_lhs + np.log(total)
    return out


@contextlib.contextmanager
def _array_log_ndtr() -> Iterator[None]:
    """Optuna's element-wise ``_log_ndtr`` replaced by :func:`log_ndtr` while candidates are scored (a
    module-level swap: another sampler scoring in another thread meanwhile gets the same values)."""
    saved = _truncnorm._log_ndtr
    _truncnorm._log_ndtr = log_ndtr
    try:
        yield
    finally:
        _truncnorm._log_ndtr = saved
