"""The outcome of a study: trials, the Pareto front, and each trial's served Predictor."""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
import pandas as pd
from optuna.artifacts import FileSystemArtifactStore, download_artifact
from optuna.artifacts.exceptions import ArtifactNotFound
from optuna.trial import FrozenTrial, TrialState

from paretoml._budget import BudgetSpent
from paretoml._pick import Pick, pick_front
from paretoml._refit import refit_key, refit_rows, refit_trial
from paretoml.exceptions import ConfigError, NoFeasibleModelError, RefitUnavailableError
from paretoml.measure import NO_LOCK, TimingLock, analytic_metric_se, fallback_baseline
from paretoml.objectives import OBJECTIVES, ObjectiveSpec, get_objective, resolve_objectives, violations
from paretoml.pareto import beyond_baseline, front_masks
from paretoml.serving import Predictor

if TYPE_CHECKING:
    from paretoml.trial import Problem, Rows
from paretoml.study import artifact_store

__all__ = ["BASELINE_ATTR", "DEGENERATE_Z", "Result"]

TEST_SCORES_ATTR = "metric_test"
BASELINE_ATTR = "metric_baseline"
DEGENERATE_Z = 2.0
"""A trial must beat the constant baseline by more than this many standard errors of its metric: within
two standard errors (a one-sided 98% band) a score cannot be told from a constant's on these rows."""
_OLD_NAMES = {"metric_valid": "metric"}  # objective names of studies made before objectives were chosen


def _measured_columns() -> list[str]:
    """The front's and trials' columns of every registered objective but the metric."""
    return [o.column for o in OBJECTIVES.values() if o.name != "metric"]


def _front_columns() -> list[str]:
    return ["trial", "family", "metric_valid", "metric_se", "metric_test", "gap", *_measured_columns(),
            "n_trees", "n_params", "compression", "batch_rows_per_s"]  # fmt: skip


def _trial_columns() -> list[str]:
    return ["family", "metric_valid", *_measured_columns(), "n_trees", "n_params", "compression",
            "metric_uncompressed", "batch_rows_per_s", "fit_seconds"]  # fmt: skip


class Result:
    """What ``optimize`` returns; also rebuilt from storage by :func:`load_study`.

    Attributes:
        study: The ``optuna.Study``, for anything Optuna can do.
        metric: The metric's name (e.g. ``"roc_auc"``).
        task: ``"binary"``, ``"multiclass"`` or ``"regression"``.
        artifact_dir: Where trial predictors are stored.
        spent: Where the wall time of the ``optimize`` call went (:class:`~paretoml.BudgetSpent`; None for
            a study loaded from storage).
    """

    def __init__(self, study: optuna.Study, artifact_dir: Path) -> None:
        self.study = study
        self.artifact_dir = Path(artifact_dir)
        self._looked_in: list[Path] = [self.artifact_dir]  # where load_study looked, for the error message
        self._store_made: FileSystemArtifactStore | None = None
        attrs = study.user_attrs
        self.metric: str = attrs.get("metric", "metric")
        self.task: str = attrs.get("task", "")
        self._cache: dict[tuple[int, str], Predictor] = {}
        self.spent: BudgetSpent | None = None  # set by optimize(): where its wall time went
        stored = attrs.get("objectives")
        self.objectives: tuple[ObjectiveSpec, ...] = resolve_objectives(
            None if stored is None else [_OLD_NAMES.get(n, n) for n in stored]
        )
        """The study's objectives, the metric first (see :mod:`paretoml.objectives`)."""
        self.constraints: dict[str, float] = dict(attrs.get("constraints") or {})
        """The study's constraints ``{objective name: bound}`` (empty: none)."""

    # ------------------------------------------------------------------ tables
    @property
    def trials(self) -> pd.DataFrame:
        """All trials: state, family, measurements (every registered objective), ``metric_se`` and
        ``degenerate`` (completed trials), ``feasible`` (meets the constraints; None without constraints or
        for unfinished trials), test metric where rescored, failure reason."""
        scores = self.test_scores
        done = self.completed_trials()
        _, tolerance, useful = self._noise(done)
        noise = {t.number: (tolerance[i, 0], not useful[i]) for i, t in enumerate(done)}
        rows = []
        for t in self.study.get_trials(deepcopy=False):
            row: dict[str, Any] = {"trial": t.number, "state": t.state.name}
            row.update({k: t.user_attrs.get(k, t.params.get(k)) for k in _trial_columns()})
            row["metric_se"], row["degenerate"] = noise.get(t.number, (np.nan, None))
            row["feasible"] = self._feasible(t) if self.constraints and t.number in noise else None
            row["metric_test"] = scores.get(t.number, np.nan)
            row["fail_reason"] = t.user_attrs.get("fail_reason")
            row["config"] = t.user_attrs.get("config")
            rows.append(row)
        columns = ["trial", "state", *_trial_columns(), "metric_se", "degenerate", "feasible", "metric_test",
                   "fail_reason", "config"]  # fmt: skip
        return pd.DataFrame(rows, columns=columns)

    def _violations(self, trial: FrozenTrial) -> list[float]:
        direction = "maximize" if self.study.directions[0] == optuna.study.StudyDirection.MAXIMIZE else "minimize"
        return violations(self.constraints, trial.user_attrs, direction)

    def _feasible(self, trial: FrozenTrial) -> bool:
        return all(v <= 0 for v in self._violations(trial))

    def closest(self, n: int = 3) -> pd.DataFrame:
        """The ``n`` completed trials nearest to meeting the constraints, and by how much each misses.

        Columns: ``trial, family, metric_valid``, then per constraint its measured value and ``miss_<name>``
        (the violation: a share of the bound for latency, size and memory, 0 when met), and ``miss`` (their
        sum, the order).
        """
        rows = []
        for t in self.completed_trials():
            v = self._violations(t)
            row: dict[str, Any] = {"trial": t.number, "family": t.user_attrs.get("family"),
                                   "metric_valid": t.user_attrs.get("metric_valid")}  # fmt: skip
            for (name, _), miss in zip(self.constraints.items(), v, strict=True):
                row[name] = t.user_attrs.get(get_objective(name).column)
                row[f"miss_{name}"] = max(miss, 0.0)
            row["miss"] = float(sum(max(x, 0.0) for x in v))
            rows.append(row)
        frame = pd.DataFrame(rows)
        if frame.empty:
            return frame
        return frame.sort_values(["miss", "trial"], kind="stable").head(n).reset_index(drop=True)

    def infeasible_summary(self) -> str:
        """One paragraph for a constrained study where no completed trial meets the constraints."""
        closest = self.closest()
        parts = []
        for _, row in closest.iterrows():
            misses = []
            for name, bound in self.constraints.items():
                spec = get_objective(name)
                if row[f"miss_{name}"] > 0:
                    op = "<" if spec.maximize("maximize" if self._maximize else "minimize") else ">"
                    how = f" (+{row[f'miss_{name}']:.0%})" if spec.log_scale else f" (by {row[f'miss_{name}']:.4g})"
                    misses.append(f"{name} {row[name]:.4g} {op} {bound:.4g}{how}")
            parts.append(f"trial {int(row.trial)} ({row.family}): {', '.join(misses)}")
        return (
            f"no completed trial meets the constraints {self.constraints}. Closest: {'; '.join(parts)}. Relax a "
            "constraint, or run the study longer (or with more compression)."
        )

    @property
    def _maximize(self) -> bool:
        return self.study.directions[0] == optuna.study.StudyDirection.MAXIMIZE

    @property
    def front(self) -> pd.DataFrame:
        """The trustworthy Pareto front: what to pick from, best validation metric first.

        Completed trials that meet the study's :attr:`constraints` and beat the trivial baseline
        (:attr:`baseline`) by more than
        :data:`DEGENERATE_Z` standard errors, non-dominated, and not dominated beyond noise by another
        such trial (ε-dominance: metric within its standard error ``metric_se``, p50 latency within its
        timing noise, size exact), plus the accurate anchor: the useful non-dominated trial with the best
        validation metric, kept even when a cheaper trial is within noise of it.
        :attr:`front_raw` is the plain non-dominated set.

        Columns: ``trial, family, metric_valid, metric_se, metric_test, gap``, every registered objective
        (``latency_p50_ms, latency_p95_ms, batch_latency_ms, throughput_rows_per_s, size_kb, memory_kb,
        n_features``), ``n_trees, n_params, compression, batch_rows_per_s`` (``n_trees`` for tree models,
        ``n_params`` for CNNs). Empty when no trial meets the constraints (see :meth:`closest`). ``gap`` is
        how much worse the test metric is than the validation metric (positive: the model does worse on
        unseen data).
        """
        return self._fronts()[0]

    @property
    def front_raw(self) -> pd.DataFrame:
        """Every non-dominated completed trial, degenerate ones and noise-level differences included.

        The columns of :attr:`front`, plus ``degenerate`` (no better than the baseline beyond noise)
        and ``trustworthy`` (also on :attr:`front`).
        """
        return self._fronts()[1]

    @property
    def baseline(self) -> float | None:
        """The validation metric of a constant prediction of the training prior (None: unknown).

        Recorded by the study (``metric_baseline``); for older studies, fixed by the metric where it
        can be (ROC AUC 0.5, R² 0, accuracy at least 1/K).
        """
        stored = self.study.user_attrs.get(BASELINE_ATTR)
        if stored is not None and np.isfinite(stored):
            return float(stored)
        n_classes = len(self.study.user_attrs.get("classes") or [])
        return fallback_baseline(self.metric, self.task, n_classes)

    def _fronts(self, anchor: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
        columns = _front_columns()
        done = self.completed_trials()
        if self.constraints:  # the front offers only members that meet the constraints
            done = [t for t in done if self._feasible(t)]
        if not done:
            empty = pd.DataFrame(columns=columns)
            return empty, empty.assign(degenerate=pd.Series(dtype=bool), trustworthy=pd.Series(dtype=bool))
        maximize = [d == optuna.study.StudyDirection.MAXIMIZE for d in self.study.directions]
        values, tolerance, useful = self._noise(done)
        se = tolerance[:, 0]
        log_scale = [o.log_scale for o in self.objectives]
        trusted, raw = front_masks(values, maximize, tolerance, useful, log_scale=log_scale, anchor=anchor)
        scores = self.test_scores
        sign = 1.0 if maximize[0] else -1.0
        chosen = {o.column: j for j, o in enumerate(self.objectives)}

        def table(mask: np.ndarray) -> pd.DataFrame:
            rows = []
            for i in np.flatnonzero(mask):
                t = done[i]
                test = scores.get(t.number, np.nan)
                attrs = t.user_attrs
                row = {
                    "trial": t.number, "family": attrs.get("family"), "metric_valid": t.values[0],
                    "metric_se": se[i], "metric_test": test, "gap": sign * (t.values[0] - test),
                    "n_trees": attrs.get("n_trees"), "n_params": attrs.get("n_params"),
                    "compression": attrs.get("compression", "none"),
                    "batch_rows_per_s": attrs.get("batch_rows_per_s"),
                    "degenerate": not useful[i], "trustworthy": bool(trusted[i]),
                }  # fmt: skip
                for col in _measured_columns():  # the study's values where chosen, else the recorded attr
                    row[col] = t.values[chosen[col]] if col in chosen else attrs.get(col)
                rows.append(row)
            frame = pd.DataFrame(rows, columns=[*columns, "degenerate", "trustworthy"])
            second = self.objectives[1]
            order = frame.sort_values(["metric_valid", second.column], ascending=[not maximize[0], not maximize[1]])
            return order.reset_index(drop=True)

        return table(trusted)[columns], table(raw)

    def _noise(self, done: list[FrozenTrial]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Objective values, their noise and the mask of trials better than the baseline beyond noise.

        The metric's noise is the recorded ``metric_se``, or an analytic estimate where a trial recorded
        none; every other objective's is its :attr:`~paretoml.objectives.ObjectiveSpec.noise` (0: exact).
        """
        k = len(self.objectives)
        values = np.array([t.values for t in done], dtype=np.float64).reshape(len(done), k)
        rows = (self.study.user_attrs.get("split") or {}).get("rows") or [0, 0, 0]
        n_valid = int(rows[1]) if len(rows) > 1 else 0
        tolerance = np.zeros_like(values)
        for i, t in enumerate(done):
            recorded = t.user_attrs.get("metric_se")
            tolerance[i, 0] = analytic_metric_se(self.metric, t.values[0], n_valid) if recorded is None else recorded
            for j, spec in enumerate(self.objectives[1:], start=1):
                if spec.noise is not None:
                    tolerance[i, j] = spec.noise(t.user_attrs, float(t.values[j]))
        useful = np.ones(len(done), dtype=bool)
        baseline = self.baseline
        if baseline is not None:
            maximize = self.study.directions[0] == optuna.study.StudyDirection.MAXIMIZE
            useful = beyond_baseline(values[:, 0], tolerance[:, 0], baseline, maximize, DEGENERATE_Z)
        return values, tolerance, useful

    def record_fronts(self) -> dict[str, Any]:
        """Store both fronts in the study's user attrs, where optuna-dashboard shows them.

        ``front_size`` and ``front_raw_size``; ``front_trials`` (the trustworthy front's trial numbers)
        and ``degenerate_trials`` (completed trials no better than the baseline beyond noise).
        """
        trusted, raw = self._fronts()
        trials = self.trials
        facts = {
            "front_size": len(trusted),
            "front_raw_size": len(raw),
            "front_trials": [int(t) for t in trusted.trial],
            "degenerate_trials": [int(t) for t in trials.trial[trials.degenerate.eq(True)]],
        }
        for key, value in facts.items():
            self.study.set_user_attr(key, value)
        return facts

    @property
    def test_scores(self) -> dict[int, float]:
        """Test-split metric of rescored trials, by trial number."""
        raw = self.study.user_attrs.get(TEST_SCORES_ATTR, {})
        return {int(k): float(v) for k, v in raw.items()}

    @property
    def feature_ranking(self) -> pd.DataFrame:
        """The study's feature ranking: ``rank, feature, importance, method`` (empty when none)."""
        columns = ["rank", "feature", "importance", "method"]
        for method in ("shap", "gain"):
            stored = self.study.user_attrs.get(f"feature_ranking_{method}")
            if stored:
                n = len(stored["features"])
                return pd.DataFrame(
                    {"rank": range(1, n + 1), "feature": stored["features"], "importance": stored["scores"],
                     "method": [method] * n}
                )  # fmt: skip
        return pd.DataFrame(columns=columns)

    def failed_families(self) -> dict[str, tuple[int, str]]:
        """Families with failed trials and no completed one: ``{family: (n_failed, last reason)}``."""
        out: dict[str, tuple[int, str]] = {}
        done = {t.params.get("family") for t in self.completed_trials()}
        for t in self.study.get_trials(deepcopy=False, states=(TrialState.FAIL,)):
            family = t.params.get("family")
            if family is None or family in done:
                continue
            count = out.get(family, (0, ""))[0] + 1
            out[family] = (count, str(t.user_attrs.get("fail_reason", "unknown")))
        return out

    def completed_trials(self) -> list[FrozenTrial]:
        """Completed trials with all objective values."""
        return [
            t
            for t in self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if t.values is not None and len(t.values) == len(self.objectives)
        ]

    def keep_temporary(self, directory: Path) -> None:
        """Delete ``directory`` (an in-memory study's artifacts) when this result is garbage-collected."""
        weakref.finalize(self, shutil.rmtree, str(directory), True)

    def pick(
        self,
        *,
        weights: Mapping[str, float] | Sequence[float] | None = None,
        limits: Mapping[str, float] | None = None,
        method: str | None = None,
        preset: str | None = None,
        on: str = "test",
    ) -> Pick:
        """Choose one front member for a business scenario (arguments as :func:`paretoml.pick_front`).

        Example:
            >>> result.pick(preset="edge", limits={"max_latency_p95_ms": 5})  # doctest: +SKIP
        """
        maximize = self.study.directions[0] == optuna.study.StudyDirection.MAXIMIZE
        front = self.front
        if front.empty and self.constraints and self.completed_trials():
            raise NoFeasibleModelError(self.infeasible_summary())
        chosen = pick_front(
            front, maximize=maximize, metric=self.metric, weights=weights, limits=limits, method=method,
            preset=preset, on=on, objectives=[o.name for o in self.objectives],
        )  # fmt: skip
        chosen._load = self.predictor
        return chosen

    # ------------------------------------------------------------------ predictors
    @property
    def _store(self) -> FileSystemArtifactStore:
        """The artifact store, made on first use (a study loaded from elsewhere may have none)."""
        if self._store_made is None:
            self._store_made = artifact_store(self.artifact_dir)
        return self._store_made

    def _check_artifacts(self) -> None:
        """Raise the one-line error of a study whose artifact folder is gone."""
        if self.artifact_dir.is_dir():
            return
        where = " nor ".join(str(p) for p in dict.fromkeys(self._looked_in))
        raise ConfigError(
            f"the trial predictors of study {self.study.study_name!r} are not in {where}: move the study's "
            "artifacts folder next to its database (as <db stem>_artifacts), or pass its path with --artifacts "
            "(`artifacts=` in load_study)."
        )

    def predictor(self, trial: int | np.integer | FrozenTrial, refit: bool | str = True) -> Predictor:
        """The served Predictor of a completed trial.

        Args:
            trial: A trial number (e.g. ``result.front.trial.iloc[0]``) or a FrozenTrial.
            refit: True (default): the trial's configuration refit on train + validation rows, scored
                on the test split (see :mod:`paretoml._refit`); False: the search-time model, fitted on
                the training split; ``"all"``: refit on every row, test included (no honest test score).
                A refit is stored in the study the first time, and loaded from it afterwards.

        Raises:
            ConfigError: When the trial does not exist or has no stored predictor, or ``refit`` is invalid.
            RefitUnavailableError: When the refit is not stored and this result has no data to refit on
                (it came from :func:`load_study`).
        """
        number = trial.number if isinstance(trial, FrozenTrial) else int(trial)
        rows = refit_rows(refit)
        key = (number, rows or "search")
        if key in self._cache:
            return self._cache[key]
        trials = self.study.get_trials(deepcopy=False)
        if not 0 <= number < len(trials):
            raise ConfigError(f"`trial` {number} does not exist; the study has trials 0..{len(trials) - 1}.")
        frozen = trials[number]
        artifact_id = frozen.user_attrs.get("artifact_id")
        if frozen.state != TrialState.COMPLETE or not artifact_id:
            raise ConfigError(
                f"trial {number} is {frozen.state.name} and has no stored predictor; pick a "
                "COMPLETE trial, e.g. from result.front."
            )
        if rows is not None:
            stored = self.study.user_attrs.get(refit_key(number, rows))
            if stored is not None:
                artifact_id = stored["artifact_id"]
            else:
                predictor = self._refit(frozen, rows)
                self._cache[key] = predictor
                return predictor
        self._check_artifacts()
        with tempfile.TemporaryDirectory() as tmp:
            archive = Path(tmp) / "predictor.zip"
            try:
                download_artifact(artifact_store=self._store, file_path=str(archive), artifact_id=artifact_id)
            except ArtifactNotFound as exc:
                raise ConfigError(
                    f"trial {number}'s predictor (artifact {artifact_id}) is not in {self.artifact_dir}: the folder "
                    "holds another study's artifacts, or lost files. Pass the study's own folder with --artifacts."
                ) from exc
            predictor = Predictor.load(archive)
        self._cache[key] = predictor
        return predictor

    def attach_data(self, problem: Problem, lock: TimingLock | None = None) -> None:
        """Give this result the study's prepared data, so that :meth:`predictor` can refit trials."""
        self._problem, self._lock = problem, lock

    def _refit(self, trial: FrozenTrial, rows: Rows) -> Predictor:
        problem = getattr(self, "_problem", None)
        if problem is None:
            raise RefitUnavailableError(
                f"trial {trial.number} has no stored refit on {rows!r} rows, and this result has no data to refit "
                "on (it was loaded with load_study). Use `refit=False` for the search-time model, or run "
                "optimize(...) again on the same storage (the study resumes) and call predictor() on its result."
            )
        predictor, _ = refit_trial(self.study, trial, problem, self._store, rows, lock=self._lock or NO_LOCK)
        return predictor

    def __repr__(self) -> str:
        n_done = len(self.completed_trials())
        return f"Result(study={self.study.study_name!r}, metric={self.metric!r}, completed_trials={n_done})"
