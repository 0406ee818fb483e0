"""What a running study tells its user: setup stages, a live progress line, and a warning for a thin study.

The progress line is an Optuna callback that keeps its own counts and a small running front, so each
trial costs it O(front size), never a read of every trial from the storage (which would make a long
study O(n²) on SQLite).
"""

from __future__ import annotations

import time
import warnings
from types import TracebackType
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from paretoml._budget import Budget
from paretoml._pick_text import fmt_value
from paretoml.objectives import OBJECTIVES
from paretoml.pareto import non_dominated

__all__ = ["FEW_TRIALS", "StudyProgress", "warn_if_thin"]

#: Below this many completed trials a study warns: Optuna's TPE samples its first 10 trials at random,
#: so a front from fewer than about twice that has had little model-guided search.
FEW_TRIALS = 20


class StudyProgress:
    """Live progress of one study: the setup stage, then trials done/failed, time or trials left, the best
    metric, the fastest and smallest model and the size of the running front.

    Use it as a context manager around the study and pass it to ``study.optimize`` as a callback. With
    ``enabled=False`` every call is a no-op.

    Args:
        plan: The study's budget (seconds and/or trials).
        enabled: Show anything at all.
        console: Where to draw (default: standard error).

    Example:
        >>> with StudyProgress(Budget(trials=5), enabled=False) as progress:  # doctest: +SKIP
        ...     progress.stage("ranking features")
        ...     study.optimize(objective, callbacks=[progress])
    """

    def __init__(self, plan: Budget, *, enabled: bool = True, console: Console | None = None) -> None:
        self.plan = plan
        self.enabled = enabled
        self.console = console or Console(stderr=True)
        self.started = time.monotonic()
        self.trials_started: float | None = None
        self.done = 0
        self.failed = 0
        self.durations: list[float] = []  # seconds of each completed trial seen here
        self.front = np.empty((0, 3))
        self.maximize: list[bool] | None = None
        self.metric_name = "metric"
        self.names: list[str] = []
        self._bar: Progress | None = None
        self._task: Any = None

    def __enter__(self) -> StudyProgress:
        if self.enabled:
            total = self.plan.seconds if self.plan.seconds is not None else float(self.plan.trials or 1)
            columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
            self._bar = Progress(*columns, console=self.console)
            self._bar.__enter__()
            self._task = self._bar.add_task("preparing the data...", total=total)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.__exit__(kind, exc, tb)
            self._bar = None

    def stage(self, text: str) -> None:
        """Show a setup stage ("ranking features...") until the first trial ends."""
        if self._bar is not None:
            self._bar.update(self._task, description=text)

    def start_trials(self) -> None:
        """Mark the end of setup (the trials' share of the budget starts here)."""
        self.trials_started = time.monotonic()
        self.stage("running the first trial...")

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if self.maximize is None:
            self.maximize = [d == optuna.study.StudyDirection.MAXIMIZE for d in study.directions]
            self.metric_name = study.metric_names[0] if study.metric_names else "metric"
            self.names = list(study.metric_names or [])[1:]
            self.front = np.empty((0, len(study.directions)))
        if trial.state == TrialState.COMPLETE and trial.values is not None:
            self.done += 1
            if trial.duration is not None:
                self.durations.append(trial.duration.total_seconds())
            points = np.vstack([self.front, np.asarray(trial.values, dtype=float)[None, :]])
            self.front = points[non_dominated(points, self.maximize)]
        elif trial.state == TrialState.FAIL:
            self.failed += 1
        if self._bar is not None:
            self._bar.update(self._task, completed=self._completed(), description=self.describe())

    def _completed(self) -> float:
        if self.plan.seconds is not None:
            return time.monotonic() - self.started
        return float(self.done + self.failed)

    def describe(self) -> str:
        """The progress line's text."""
        text = f"{self.done} done, {self.failed} failed"
        if len(self.front) and self.maximize is not None:
            metric = self.front[:, 0]
            best = metric.max() if self.maximize[0] else metric.min()
            text += f" | front {len(self.front)} | best {self.metric_name} {best:.4f}"
            for j, name in enumerate(self.names, start=1):  # the best of each other objective
                if name in OBJECTIVES:
                    column = self.front[:, j]
                    top = column.max() if self.maximize[j] else column.min()
                    label = {"latency_p50_ms": "fastest", "size_kb": "smallest"}.get(name, f"best {name}")
                    text += f" | {label} {fmt_value(OBJECTIVES[name], top)}"
        if self.plan.seconds is not None:
            return f"{max(self.plan.seconds - (time.monotonic() - self.started), 0):.0f}s left | " + text
        if self.plan.trials is not None:
            return f"{max(self.plan.trials - self.done - self.failed, 0)} trials left | " + text
        return text


def warn_if_thin(completed: int, plan: Budget, setup_seconds: float, trial_seconds: list[float]) -> str | None:
    """Warn when a time budget ended with fewer than :data:`FEW_TRIALS` completed trials.

    The warning says how many, where the time went (setup against trials) and the budget that would give
    a useful front at the trials' measured pace. Trial budgets never warn: the user chose the count.

    Returns:
        The warning's text, or None when the study is not thin.
    """
    if plan.seconds is None or completed >= FEW_TRIALS:
        return None
    per_trial = float(np.median(trial_seconds)) if trial_seconds else float("nan")
    need = setup_seconds + 2 * FEW_TRIALS * per_trial if trial_seconds else float("nan")
    text = (
        f"only {completed} trials completed in a budget of {plan.seconds:.0f}s: setup (data, feature ranking) "
        f"took {setup_seconds:.1f}s and a trial about {per_trial:.1f}s. A front needs more trials than this; "
        f"a budget of about {need:.0f}s would give some {2 * FEW_TRIALS}."
    )
    warnings.warn(text, UserWarning, stacklevel=3)
    return text
