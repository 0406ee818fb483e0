"""The search budget: wall-clock seconds, a number of trials, or both."""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from typing import Any

from paretoml.exceptions import BudgetError

__all__ = ["Budget", "BudgetSpent", "TrialDeadline", "parse_budget"]

_UNIT_SECONDS = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "hr": 3600.0}
_TIME_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(hr|h|min|m|sec|s)(?![a-z])")
_TRIALS = re.compile(r"^(\d+)\s*(?:trials?|t)$")


@dataclass(frozen=True)
class Budget:
    """How much search to do. The study stops at whichever limit comes first.

    Args:
        seconds: Wall-clock seconds for the whole ``optimize`` call, or ``None`` for no time limit.
        trials: Number of trials to run in this call, or ``None`` for no trial limit.

    Example:
        >>> Budget(seconds=120)
        Budget(seconds=120.0, trials=None)
    """

    seconds: float | None = None
    trials: int | None = None

    def __post_init__(self) -> None:
        if self.seconds is None and self.trials is None:
            raise BudgetError("Budget needs `seconds` or `trials`; got neither. Pass e.g. Budget(seconds=60).")
        if self.seconds is not None:
            if not math.isfinite(self.seconds) or self.seconds <= 0:
                raise BudgetError(
                    f"`budget` seconds must be a finite number greater than 0; got {self.seconds!r}. "
                    "Pass e.g. 60, '90s' or '5m'."
                )
            object.__setattr__(self, "seconds", float(self.seconds))
        if self.trials is not None and (isinstance(self.trials, bool) or self.trials < 1):
            raise BudgetError(
                f"`budget` trials must be an integer of at least 1; got {self.trials!r}. Pass e.g. '50 trials'."
            )

    def describe(self) -> str:
        """A short human-readable form, e.g. ``'120s'`` or ``'50 trials'``."""
        parts = []
        if self.seconds is not None:
            parts.append(f"{self.seconds:g}s")
        if self.trials is not None:
            parts.append(f"{self.trials} trials")
        return " or ".join(parts)


def parse_budget(budget: Budget | float | int | str) -> Budget:
    """Turn the user's budget into a :class:`Budget`.

    Args:
        budget: Seconds as a number; a string of time units (``"90s"``, ``"5m"``, ``"1h30m"``);
            a trial count as a string (``"50 trials"``); or a :class:`Budget`.

    Returns:
        The parsed budget.

    Raises:
        BudgetError: When the budget is negative, zero, not finite or cannot be parsed.
    """
    if isinstance(budget, Budget):
        return budget
    if isinstance(budget, bool):
        raise BudgetError(f"`budget` must be seconds, a string like '5m' or '50 trials'; got {budget!r}.")
    if isinstance(budget, (int, float)):
        return Budget(seconds=float(budget))
    if isinstance(budget, str):
        text = budget.strip().lower()
        trials = _TRIALS.match(text)
        if trials:
            return Budget(trials=int(trials.group(1)))
        try:
            return Budget(seconds=float(text))
        except ValueError:
            pass
        parts = _TIME_PART.findall(text)
        if parts and _TIME_PART.sub("", text).strip() == "":
            return Budget(seconds=sum(float(v) * _UNIT_SECONDS[u] for v, u in parts))
    raise BudgetError(
        f"`budget` could not be parsed: {budget!r}. Pass seconds (60), a duration string "
        "('90s', '5m', '1h30m') or a trial count ('50 trials')."
    )


@dataclass(frozen=True)
class BudgetSpent:
    """Where the wall time of one ``optimize`` call went, in seconds.

    With several workers the trial columns add up the workers' seconds, so they can exceed ``wall``.

    Attributes:
        wall: The whole call, from the first argument check to the return.
        setup: Data checks, splits, preprocessing, opening the study and ranking features.
        fitting: Training and compressing the trials' models (every fold).
        measuring: Scoring, saving and timing the trials' predictors.
        lock_wait: Trials waiting for the machine lock (another trial or study training or timing).
        final: Scoring the front on the test split and refitting it after the last trial.
        trials: Trials this call ran (completed and failed).
    """

    wall: float
    setup: float
    fitting: float
    measuring: float
    lock_wait: float
    final: float
    trials: int

    @property
    def overhead(self) -> float:
        """Seconds of ``wall`` that are none of the above: sampling, recording, artifacts, bookkeeping."""
        return max(self.wall - self.setup - self.fitting - self.measuring - self.lock_wait - self.final, 0.0)

    @property
    def overhead_share(self) -> float:
        """:attr:`overhead` as a share of :attr:`wall`."""
        return self.overhead / self.wall if self.wall > 0 else 0.0

    def describe(self) -> str:
        """One line, e.g. ``'61.2s: setup 2.1s, fitting 30.5s, measuring 20.0s, lock wait 3.0s, ...'``."""
        parts = [("setup", self.setup), ("fitting", self.fitting), ("measuring", self.measuring),
                 ("lock wait", self.lock_wait), ("final", self.final), ("overhead", self.overhead)]  # fmt: skip
        share = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in parts)
        return f"{self.wall:.1f}s for {self.trials} trials: {share} ({self.overhead_share:.1%} overhead)"


class TrialDeadline:
    """An Optuna callback that stops the study when one more trial would run past the time left for trials.

    The study must still score and refit its front (about one trial's work) within the budget, so trials
    stop once ``now + reserve`` passes ``deadline``, where ``reserve`` is the median duration of the trials
    seen so far.

    It also bounds the machine lock's waits by ``deadline`` once a trial has completed: a study's first
    trial may wait past its budget (a result needs one trial), no later one does.

    Args:
        deadline: ``time.monotonic()`` value by which ``optimize`` should return.
        lock: The machine lock whose waits to bound (anything with a ``deadline`` attribute).
    """

    def __init__(self, deadline: float, lock: Any = None) -> None:
        self.deadline = deadline
        self.lock = lock
        self.durations: list[float] = []

    def reserve(self) -> float:
        """Seconds kept for the front's scoring and refit: the median trial so far (0 before any)."""
        if not self.durations:
            return 0.0
        ordered = sorted(self.durations)
        return ordered[len(ordered) // 2]

    def __call__(self, study: Any, trial: Any) -> None:
        if trial.duration is not None:
            self.durations.append(trial.duration.total_seconds())
        if self.lock is not None and trial.values is not None:  # completed: later waits end at the deadline
            self.lock.deadline = self.deadline
        if time.monotonic() + self.reserve() >= self.deadline:
            study.stop()
