"""The Optuna objective: suggest a configuration, run it through :func:`paretoml.trial.run_trial`, record it."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.artifacts import FileSystemArtifactStore, upload_artifact
from optuna.trial import TrialState

from paretoml.families import get_family
from paretoml.features import FeatureRanking, FeatureSelection, rank_features
from paretoml.measure import LockWaitExpired, MachineLock
from paretoml.objectives import DEFAULT_OBJECTIVES, ObjectiveSpec, resolve_objectives, violations
from paretoml.spaces import SearchSpace
from paretoml.study._attrs import FAIL_REASON, LOCK_WAIT, params_in_one_write, write_attrs
from paretoml.study._recovery import WORKER_ATTR, worker_id
from paretoml.study._warm import warm_start_params
from paretoml.trial import Problem, TrialConfig, TrialOutcome, run_trial

__all__ = ["INTERRUPTED", "Objective", "StudyContext", "fail_interrupted"]

INTERRUPTED = "interrupted by the user (KeyboardInterrupt)"

_NO_SELECTION = FeatureSelection(method="off")


@dataclass
class StudyContext:
    """The search around a :class:`~paretoml.trial.Problem`: spaces, feature ranking, artifacts, lock."""

    problem: Problem
    spaces: dict[str, SearchSpace]
    store: FileSystemArtifactStore
    study_name: str
    selection: FeatureSelection = _NO_SELECTION
    trial_timeout: float | None = None
    compression: dict[str, SearchSpace] = field(default_factory=dict)
    objectives: tuple[ObjectiveSpec, ...] = resolve_objectives(DEFAULT_OBJECTIVES)
    constraints: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.lock = MachineLock()  # one lock per CPU this process may run on, shared by every study
        self.ranking: FeatureRanking | None = None

    def attach_ranking(self, study: optuna.Study) -> None:
        """Load the study's feature ranking, or compute it once and store it as a study user attr.

        A resumed study, or another worker on the same storage, reuses the stored ranking.
        """
        pb = self.problem
        if not self.selection.active or len(pb.preprocessor.names) < 2:
            return
        key = f"feature_ranking_{self.selection.method}"
        stored = study.user_attrs.get(key)
        if stored is not None and sorted(stored["features"]) == sorted(pb.preprocessor.names):
            self.ranking = FeatureRanking.from_dict(stored)
            return
        with self.lock.shared():  # ranking trains a model: no other study times meanwhile
            self.ranking = rank_features(
                pb.X[: pb.n_train],
                pb.splits.train.y,
                pb.preprocessor.names,
                cat_indices=pb.preprocessor.cat_indices,
                task=pb.task,
                n_classes=len(pb.classes),
                method=self.selection.method,
                sample_rows=self.selection.sample_rows,
                n_threads=pb.hardware.n_threads,
                seed=pb.seed,
            )
        study.set_user_attr(key, self.ranking.to_dict())

    def suggest_features(self, trial: optuna.Trial) -> list[str]:
        """The columns this trial keeps: the top ``n_features`` of the ranking (all when off)."""
        if self.ranking is None:
            return list(self.problem.preprocessor.names)
        n_all = len(self.ranking.features)
        if self.selection.sizes is not None:
            k = int(trial.suggest_categorical("n_features", sorted({min(s, n_all) for s in self.selection.sizes})))
        else:
            low = min(self.selection.min_features, n_all)
            k = trial.suggest_int("n_features", low, n_all, log=True) if low < n_all else n_all
        return self.ranking.top(k)

    def warm_start(self) -> list[dict[str, Any]]:
        """The study's warm-start trials (see :mod:`paretoml.study._warm`): strong defaults, all features."""
        n_all: int | None = None
        if self.ranking is not None:
            n = len(self.ranking.features)
            if self.selection.sizes is not None:
                n_all = max(min(s, n) for s in self.selection.sizes)
            elif min(self.selection.min_features, n) < n:
                n_all = n
        families = {name: get_family(name) for name in self.spaces}
        return warm_start_params(
            self.spaces,
            self.compression,
            n_all,
            {name: f.compression_space for name, f in families.items()},
            frozenset(name for name, f in families.items() if f.needs_images),
        )

    def suggest(self, trial: optuna.Trial, started: float) -> TrialConfig:
        """Sample one configuration: family, hyperparameters, kept features, compression settings."""
        family_name = trial.suggest_categorical("family", sorted(self.spaces))
        family = get_family(family_name)
        params = self.spaces[family_name].suggest(trial)
        keep = None if family.needs_images else self.suggest_features(trial)
        space = self.compression.get(family.compression_space)
        settings = space.suggest(trial) if space is not None else {}
        return TrialConfig(
            family=family_name,
            params=params,
            features=keep,
            compression=settings,
            seed=self.problem.seed + trial.number,
            deadline=None if self.trial_timeout is None else started + self.trial_timeout,
            info={"study": self.study_name, "trial": trial.number},
        )


class Objective:
    """The Optuna objective: returns the study's objectives (:attr:`StudyContext.objectives`) and records
    every registered objective's value as a user attr, and the constraint violations.

    Fitting holds a machine-wide lock shared and timing holds it exclusive, so a latency is never
    measured while another trial (of any paretoml worker on this machine) trains on the same cores.
    """

    def __init__(self, ctx: StudyContext) -> None:
        self.ctx = ctx

    def __call__(self, trial: optuna.Trial) -> tuple[float, ...]:
        waited = self.ctx.lock.waited
        try:
            return self._run(trial)
        except LockWaitExpired as exc:
            write_attrs(trial, {FAIL_REASON: str(exc), LOCK_WAIT: self.ctx.lock.waited - waited})
            raise
        except Exception as exc:
            trial.set_user_attr(FAIL_REASON, f"{type(exc).__name__}: {exc}"[:2000])
            raise
        except KeyboardInterrupt:  # Optuna records the trial FAIL and re-raises; say why it failed
            trial.set_user_attr(FAIL_REASON, INTERRUPTED)
            raise

    def _run(self, trial: optuna.Trial) -> tuple[float, ...]:
        ctx = self.ctx
        started, waited = time.monotonic(), (ctx.lock.waited, ctx.lock.waited_exclusive)
        trial.set_user_attr(WORKER_ATTR, worker_id())
        with params_in_one_write(trial):  # one storage transaction for the sampled parameters
            config = ctx.suggest(trial, started)
        with tempfile.TemporaryDirectory() as tmp:
            archive = Path(tmp) / f"predictor-trial-{trial.number}.zip"
            out = run_trial(ctx.problem, config, lock=ctx.lock, archive=archive)
            artifact_id = upload_artifact(
                artifact_store=ctx.store, file_path=str(archive), study_or_trial=trial, mimetype="application/zip"
            )
        attrs = self.attrs(out, config, artifact_id)
        attrs[LOCK_WAIT] = ctx.lock.waited - waited[0]  # the timing wait is inside measure_seconds: moved out
        attrs["measure_seconds"] = out.measure_seconds - (ctx.lock.waited_exclusive - waited[1])
        write_attrs(trial, attrs)  # one storage transaction where the storage allows it
        missed = violations(ctx.constraints, attrs, ctx.problem.metric.direction)
        for name, miss in zip(ctx.constraints, missed, strict=True):  # TPE and NSGA-II read them (c-TPE)
            trial.set_constraint(name, miss)
        assert out.metric is not None  # search folds always score
        values = [attrs[spec.column] for spec in ctx.objectives]
        missing = [spec.name for spec, v in zip(ctx.objectives, values, strict=True) if v is None]
        if missing:
            raise RuntimeError(f"objectives {missing} could not be measured on this platform")
        return tuple(float(v) for v in values)

    def attrs(self, out: TrialOutcome, config: TrialConfig, artifact_id: str) -> dict[str, Any]:
        """Everything recorded about a trial, as user attrs."""
        ctx, latency, size = self.ctx, out.latency, out.size
        attrs: dict[str, Any] = {
            **out.measured(),  # every registered objective, chosen or not (the facts below keep their types)
            "family": config.family,
            "config": out.params,
            "metric_valid": out.metric,
            "latency_p50_ms": latency.p50_ms,
            "latency_p95_ms": latency.p95_ms,
            "latency_mean_ms": latency.mean_ms,
            "latency_repeats": latency.repeats,
            "batch_rows_per_s": latency.batch_rows_per_s,
            "size_kb": size.size_kb,
            "size_bytes": size.size_bytes,
            "n_features": out.predictor.n_features_in_,
            "features": list(out.predictor.preprocessor.names),
            "feature_method": ctx.selection.method if ctx.ranking is not None else "all",
            "fit_seconds": out.fit_seconds,
            "measure_seconds": out.measure_seconds,
            "artifact_id": artifact_id,
            "saved_bytes": size.saved_bytes,
            "runtime_bytes": size.runtime_bytes,
            "compression": ", ".join(out.compression.parts) or "none",
            "compression_settings": config.compression,
            "metric_uncompressed": out.metric_uncompressed,
            "metric_se": out.metric_se,
            "rounds_fitted": out.rounds_fitted,
            "trained_rows": out.trained_rows,
            "batch_size": latency.batch_size,
            **out.compression.attrs,
            **size.stats,
        }
        if len(out.fold_metrics) > 1:
            attrs["metric_cv_folds"] = out.fold_metrics
            attrs["metric_cv_std"] = out.metric_std
            attrs["metric_holdout"] = out.fold_metrics[0]
        return attrs


def fail_interrupted(study: optuna.Study) -> list[int]:
    """Mark FAIL, with :data:`INTERRUPTED` as the reason, the trials this process left RUNNING.

    Ctrl-C inside the objective is recorded by :class:`Objective`; this covers one that lands in
    Optuna's own code between creating a trial and calling the objective.

    Returns:
        The numbers of the trials marked FAIL.
    """
    me, failed = worker_id(), []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if trial.user_attrs.get(WORKER_ATTR, me) != me:
            continue  # another worker's trial, still running
        study._storage.set_trial_user_attr(trial._trial_id, FAIL_REASON, INTERRUPTED)
        if study._storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL):
            failed.append(trial.number)
    return failed
