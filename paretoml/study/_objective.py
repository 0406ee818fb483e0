"""One trial: sample family and hyperparameters, fit, package a Predictor, measure, record."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.artifacts import FileSystemArtifactStore, upload_artifact

from paretoml.compression import CNNTeacher, CompressionContext, Teacher, after_fit, before_fit, changes_model
from paretoml.compression._base import TeacherLike
from paretoml.data import Preprocessor, Splits
from paretoml.families import BaseFamily, FitData, get_family
from paretoml.features import FeatureRanking, FeatureSelection, rank_features
from paretoml.measure import Hardware, Metric, measure_latency, metric_se, one_row_frames
from paretoml.measure._lock import MachineLock
from paretoml.serving import Predictor
from paretoml.spaces import SearchSpace
from paretoml.study._recovery import WORKER_ATTR, worker_id

__all__ = ["Objective", "StudyContext"]

_LATENCY_ROWS = 64
_NO_SELECTION = FeatureSelection(method="off")
_BATCH_ROWS = 1000


@dataclass
class StudyContext:
    """Everything a trial needs, prepared once per ``optimize`` call."""

    splits: Splits
    task: str
    classes: np.ndarray
    metric: Metric
    preprocessor: Preprocessor
    spaces: dict[str, SearchSpace]
    hardware: Hardware
    seed: int
    store: FileSystemArtifactStore
    study_name: str
    selection: FeatureSelection = _NO_SELECTION
    trial_timeout: float | None = None
    compression: dict[str, SearchSpace] = field(default_factory=dict)
    image_shape: tuple[int, int, int] | None = None

    def __post_init__(self) -> None:
        self.lock = MachineLock(self.hardware.fingerprint())
        self.teachers: dict[str, TeacherLike] = {}
        self.X_train = self.preprocessor.transform_frame(self.splits.train.X)
        self.X_valid = self.preprocessor.transform_frame(self.splits.valid.X)
        self.position = {name: i for i, name in enumerate(self.preprocessor.names)}
        self.ranking: FeatureRanking | None = None
        valid = self.splits.valid.X
        self.latency_rows: list[Any] = one_row_frames(valid, _LATENCY_ROWS, self.seed)
        self.latency_batch: Any = valid.sample(_BATCH_ROWS, replace=len(valid) < _BATCH_ROWS, random_state=self.seed)
        if self.image_shape is not None:  # images are served as image arrays (1, C, H, W) / (n, C, H, W)
            shape = self.image_shape
            self.latency_rows = [f.to_numpy(dtype=np.float32).reshape(1, *shape) for f in self.latency_rows]
            self.latency_batch = self.latency_batch.to_numpy(dtype=np.float32).reshape(-1, *shape)

    def attach_ranking(self, study: optuna.Study) -> None:
        """Load the study's feature ranking, or compute it once and store it as a study user attr.

        A resumed study, or another worker on the same storage, reuses the stored ranking.
        """
        if not self.selection.active or len(self.preprocessor.names) < 2:
            return
        key = f"feature_ranking_{self.selection.method}"
        stored = study.user_attrs.get(key)
        if stored is not None and sorted(stored["features"]) == sorted(self.preprocessor.names):
            self.ranking = FeatureRanking.from_dict(stored)
            return
        self.ranking = rank_features(
            self.X_train,
            self.splits.train.y,
            self.preprocessor.names,
            cat_indices=self.preprocessor.cat_indices,
            task=self.task,
            n_classes=len(self.classes),
            method=self.selection.method,
            sample_rows=self.selection.sample_rows,
            n_threads=self.hardware.n_threads,
            seed=self.seed,
        )
        study.set_user_attr(key, self.ranking.to_dict())

    def suggest_features(self, trial: optuna.Trial) -> list[str]:
        """The columns this trial keeps: the top ``n_features`` of the ranking (all when off)."""
        if self.ranking is None:
            return list(self.preprocessor.names)
        n_all = len(self.ranking.features)
        if self.selection.sizes is not None:
            k = int(trial.suggest_categorical("n_features", sorted({min(s, n_all) for s in self.selection.sizes})))
        else:
            low = min(self.selection.min_features, n_all)
            k = trial.suggest_int("n_features", low, n_all, log=True) if low < n_all else n_all
        return self.ranking.top(k)

    def study_teacher(self, family: BaseFamily, n_threads: int) -> TeacherLike:
        """The distillation teacher for ``family`` (a LightGBM or a CNN), on all features (trained on first
        use, then kept)."""
        kind = "cnn" if family.needs_images else "trees"
        if kind not in self.teachers:
            full = FitData(
                self.X_train, self.splits.train.y, self.X_valid, self.splits.valid.y,
                self.preprocessor.cat_indices, self.task, len(self.classes), n_threads, self.seed,
                image_shape=self.image_shape,
            )  # fmt: skip
            self.teachers[kind] = CNNTeacher(full) if kind == "cnn" else Teacher(full)
        return self.teachers[kind]

    def score(self, predictor: Predictor, X: pd.DataFrame, y: np.ndarray) -> float:
        """The metric of ``predictor`` on raw rows ``X`` (through the serving path)."""
        out = predictor.predict(X) if self.task == "regression" else predictor.predict_proba(X)
        return self.metric.score(y, out, self.classes, self.task)


class Objective:
    """The Optuna objective: returns (metric on validation, single-row p50 latency in ms, size in KB).

    Fitting holds a machine-wide lock shared and timing holds it exclusive, so a latency is never
    measured while another trial (of any paretoml worker on this machine) trains on the same cores.
    """

    def __init__(self, ctx: StudyContext) -> None:
        self.ctx = ctx

    def __call__(self, trial: optuna.Trial) -> tuple[float, float, float]:
        try:
            return self._run(trial)
        except Exception as exc:
            trial.set_user_attr("fail_reason", f"{type(exc).__name__}: {exc}"[:2000])
            raise

    def _run(self, trial: optuna.Trial) -> tuple[float, float, float]:
        ctx = self.ctx
        started = time.monotonic()
        trial.set_user_attr(WORKER_ATTR, worker_id())
        family_name = trial.suggest_categorical("family", sorted(ctx.spaces))
        family = get_family(family_name)
        params = ctx.spaces[family_name].suggest(trial)
        keep = list(ctx.preprocessor.names) if family.needs_images else ctx.suggest_features(trial)
        if keep == ctx.preprocessor.names:
            pre, X_train, X_valid = ctx.preprocessor, ctx.X_train, ctx.X_valid
        else:
            columns = [ctx.position[name] for name in keep]
            pre, X_train, X_valid = ctx.preprocessor.select(keep), ctx.X_train[:, columns], ctx.X_valid[:, columns]
        data = FitData(
            X_train=X_train,
            y_train=ctx.splits.train.y,
            X_valid=X_valid,
            y_valid=ctx.splits.valid.y,
            cat_indices=pre.cat_indices,
            task=ctx.task,
            n_classes=len(ctx.classes),
            n_threads=ctx.hardware.n_threads,
            seed=ctx.seed + trial.number,
            deadline=None if ctx.trial_timeout is None else started + ctx.trial_timeout,
            image_shape=ctx.image_shape if family.needs_images else None,
        )
        space = ctx.compression.get(family.compression_space)
        settings = space.suggest(trial) if space is not None else {}
        squeeze = CompressionContext(settings, family_name)
        if settings.get("distill"):
            squeeze.teacher = ctx.study_teacher(family, data.n_threads)
        with ctx.lock.shared():  # other workers may train too, but nobody times a model meanwhile
            fit_started = time.perf_counter()
            data, params = before_fit(data, params, squeeze)
            model = family.fit(data, params)
            metric_uncompressed = None
            if changes_model(squeeze):
                native = Predictor(pre, model, task=ctx.task, classes=ctx.classes)
                metric_uncompressed = ctx.score(native, ctx.splits.valid.X, ctx.splits.valid.y)
            model = after_fit(model, data, squeeze)
        measure_started = time.perf_counter()
        fit_seconds = measure_started - fit_started  # compression (distillation, truncation, compiling) included
        info = {
            "study": ctx.study_name,
            "trial": trial.number,
            "family": family_name,
            "params": params,
            "metric": ctx.metric.name,
            "hardware": ctx.hardware.fingerprint(),
        }
        predictor = Predictor(pre, model, task=ctx.task, classes=ctx.classes, info=info, image_shape=ctx.image_shape)
        predictor.set_threads(ctx.hardware.n_threads)
        metric_valid = ctx.score(predictor, ctx.splits.valid.X, ctx.splits.valid.y)
        trial.set_user_attr(
            "metric_se", metric_se(ctx.metric, predictor, ctx.splits.valid.X, ctx.splits.valid.y, ctx.classes)
        )

        with tempfile.TemporaryDirectory() as tmp:
            archive = Path(tmp) / f"predictor-trial-{trial.number}.zip"
            files = predictor.save_zip(archive)
            stats = model.stats()
            runtime_bytes = stats.pop("runtime_bytes", None)
            # the bytes the Predictor needs on disk to serve: the compiled library replaces the native model
            size_bytes = sum(files.values()) if runtime_bytes is None else files["manifest.json"] + runtime_bytes
            artifact_id = upload_artifact(
                artifact_store=ctx.store,
                file_path=str(archive),
                study_or_trial=trial,
                mimetype="application/zip",
            )

        serve = predictor.predict if ctx.task == "regression" else predictor.predict_proba
        with ctx.lock.exclusive():  # waits until no trial trains on this machine
            latency = measure_latency(serve, ctx.latency_rows, ctx.latency_batch)
        size_kb = size_bytes / 1024.0
        attrs: dict[str, Any] = {
            "family": family_name,
            "config": params,
            "metric_valid": metric_valid,
            "latency_p50_ms": latency.p50_ms,
            "latency_p95_ms": latency.p95_ms,
            "latency_mean_ms": latency.mean_ms,
            "latency_repeats": latency.repeats,
            "batch_rows_per_s": latency.batch_rows_per_s,
            "size_kb": size_kb,
            "size_bytes": size_bytes,
            "n_features": predictor.n_features_in_,
            "features": list(predictor.preprocessor.names),
            "feature_method": ctx.selection.method if ctx.ranking is not None else "all",
            "fit_seconds": fit_seconds,
            "measure_seconds": time.perf_counter() - measure_started,
            "artifact_id": artifact_id,
            "saved_bytes": sum(files.values()),
            "runtime_bytes": runtime_bytes,
            "compression": ", ".join(squeeze.parts) or "none",
            "compression_settings": settings,
            "metric_uncompressed": metric_uncompressed,
            **squeeze.attrs,
            **stats,
        }
        for key, value in attrs.items():
            trial.set_user_attr(key, value)
        return metric_valid, latency.p50_ms, size_kb
