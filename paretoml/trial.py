"""One trial as a plain function: fit -> compress -> package a Predictor -> measure. No Optuna here.

A study prepares a :class:`Problem` once (splits, encoded matrices, preprocessing, metric, hardware,
the rows latency is timed on); each trial is a :class:`TrialConfig` (family, hyperparameters, kept
features, compression settings, seed, deadline); :func:`run_trial` returns a :class:`TrialOutcome`
(the Predictor, its metric, latency and size). The Optuna objective samples configurations and records
outcomes; benchmarks and the refit call :func:`run_trial` directly.

Example:
    >>> problem = Problem.from_data((X, y), seed=0)                         # doctest: +SKIP
    >>> out = run_trial(problem, TrialConfig("lightgbm", {"n_estimators": 100}))  # doctest: +SKIP
    >>> out.metric, out.latency.p50_ms, out.size.size_kb                      # doctest: +SKIP
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from paretoml.compression import (
    CNNTeacher,
    CompressionContext,
    Teacher,
    TeacherLike,
    after_fit,
    before_fit,
    changes_model,
)
from paretoml.data import Preprocessor, Splits
from paretoml.data._folds import Fold, holdout_and_folds, refit_fold
from paretoml.families import BaseFamily, Capability, FitData, FittedModel, get_family
from paretoml.measure import (
    NO_LOCK,
    Hardware,
    Latency,
    Metric,
    Size,
    TimingLock,
    measure_latency,
    measure_memory,
    measure_size,
    metric_se,
    one_row_frames,
)
from paretoml.serving import Predictor

__all__ = ["Problem", "Rows", "TrialConfig", "TrialOutcome", "run_trial"]

#: Which rows a trial fits on: the search's folds, or a refit on train + valid (or every row).
Rows = Literal["search", "train+valid", "all"]
_LATENCY_ROWS = 64
_BATCH_ROWS = 1000
_REQUESTS = 8  # distinct requests of the serving batch size
_ROUNDS_PARAM = "n_estimators"


@dataclass
class Problem:
    """Everything a trial needs, prepared once per study.

    Attributes:
        splits: Train, validation and test parts (raw rows, encoded targets).
        task: ``"binary"``, ``"multiclass"`` or ``"regression"``.
        classes: Class labels (empty for regression).
        metric: The metric scored on the validation rows.
        preprocessor: The column handling, fitted on the training split.
        hardware: Threads to train with, and the serving profile latency is timed under.
        seed: Seed of the models (a trial adds its own offset).
        image_shape: ``(C, H, W)`` for image data, else None.
        folds: 1 for a holdout on the validation split; k > 1 for k-fold cross-validation over the
            training and validation rows, fold 0 being the validation split (see :mod:`paretoml.data._folds`).
    """

    splits: Splits
    task: str
    classes: np.ndarray
    metric: Metric
    preprocessor: Preprocessor
    hardware: Hardware
    seed: int = 0
    image_shape: tuple[int, int, int] | None = None
    folds: int = 1

    def __post_init__(self) -> None:
        sp = self.splits
        self.y = np.concatenate([sp.train.y, sp.valid.y, sp.test.y])
        self.X = np.concatenate([self.preprocessor.transform_frame(part.X) for part in (sp.train, sp.valid, sp.test)])
        self.n_train, self.n_valid = len(sp.train.y), len(sp.valid.y)
        self.position = {name: i for i, name in enumerate(self.preprocessor.names)}
        self.search_folds: list[Fold] = holdout_and_folds(
            sp.train.y, self.n_valid, self.folds, stratify=self.task != "regression", seed=self.seed
        )
        self._raw_cache: dict[str, pd.DataFrame] = {"holdout": sp.valid.X, "train+valid": sp.test.X}
        self.teachers: dict[tuple[str, str], TeacherLike] = {}
        valid = sp.valid.X
        self.latency_rows: list[Any] = one_row_frames(valid, _LATENCY_ROWS, self.seed)
        self.latency_batch: Any = valid.sample(_BATCH_ROWS, replace=len(valid) < _BATCH_ROWS, random_state=self.seed)
        size = self.hardware.batch_size
        self.requests: list[Any] = []  # inputs of the serving batch size (none when it is 1 row)
        if size > 1:
            drawn = valid.sample(size * _REQUESTS, replace=len(valid) < size * _REQUESTS, random_state=self.seed + 1)
            self.requests = [drawn.iloc[i * size : (i + 1) * size].reset_index(drop=True) for i in range(_REQUESTS)]
        if self.image_shape is not None:  # images are served as image arrays (1, C, H, W) / (n, C, H, W)
            shape = self.image_shape
            self.latency_rows = [f.to_numpy(dtype=np.float32).reshape(1, *shape) for f in self.latency_rows]
            self.latency_batch = self.latency_batch.to_numpy(dtype=np.float32).reshape(-1, *shape)
            self.requests = [f.to_numpy(dtype=np.float32).reshape(-1, *shape) for f in self.requests]

    @classmethod
    def from_data(
        cls,
        data: Any,
        *,
        target: str | None = None,
        task: str | None = None,
        metric: str | None = None,
        seed: int = 0,
        n_threads: int = 1,
        image_shape: tuple[int, ...] | None = None,
        folds: int = 1,
    ) -> Problem:
        """Intake, split (60/20/20) and preprocess ``data`` as ``optimize`` does, for use without a study.

        Args:
            data: A DataFrame with ``target``, or ``(X, y)``; X may hold images.
            target: The target column of a DataFrame.
            task: The task (inferred when None).
            metric: A scikit-learn scorer name (the task's default when None).
            seed: Seed of the split and the models.
            n_threads: Threads to train and time with.
            image_shape: ``(H, W)`` or ``(C, H, W)`` for pixel columns.
            folds: See :attr:`folds`.
        """
        from paretoml.data import image_data, intake, make_splits
        from paretoml.measure import get_metric, resolve_hardware

        frame, shape = image_data(data, image_shape, target=target)
        ds = intake(frame, target=target, task=task)
        splits = make_splits(ds, seed=seed)
        pre = Preprocessor.fit(splits.train.X, keep_all=shape is not None)
        return cls(splits, ds.task, ds.classes, get_metric(metric, ds.task), pre, resolve_hardware(n_threads),
                   seed=seed, image_shape=shape, folds=folds)  # fmt: skip

    # ------------------------------------------------------------------ rows
    def raw(self, fold: Fold) -> pd.DataFrame:
        """The raw rows a fold is scored on (cached)."""
        if fold.name not in self._raw_cache:  # a cross-validation fold: rows of the training split
            assert fold.score.size == 0 or fold.score.max() < self.n_train
            self._raw_cache[fold.name] = self.splits.train.X.iloc[fold.score].reset_index(drop=True)
        return self._raw_cache[fold.name]

    def fit_data(
        self,
        *,
        fold: Fold,
        keep: list[str] | None,
        seed: int,
        deadline: float | None = None,
        images: bool = False,
        n_threads: int | None = None,
    ) -> FitData:
        """The one place a :class:`~paretoml.families.FitData` is built.

        Args:
            fold: Which rows to fit on and early-stop on.
            keep: Kept feature names (None: all).
            seed: The model's seed.
            deadline: ``time.monotonic()`` value past which fitting stops (None: no limit).
            images: Whether the family takes images (the rows are then flattened pixels).
            n_threads: Threads (default: the hardware profile's).
        """
        pre = self.preprocessor if keep is None else self.preprocessor.select(keep)
        X = self.X if keep is None else self.X[:, [self.position[name] for name in keep]]
        return FitData(
            X_train=X[fold.fit],
            y_train=self.y[fold.fit],
            X_valid=X[fold.stop],
            y_valid=self.y[fold.stop],
            cat_indices=pre.cat_indices,
            task=self.task,
            n_classes=len(self.classes),
            n_threads=self.hardware.n_threads if n_threads is None else n_threads,
            seed=seed,
            deadline=deadline,
            image_shape=self.image_shape if images else None,
        )

    def refit_fold(self, rows: str) -> Fold:
        """The rows of a refit on ``"train+valid"`` or ``"all"``."""
        return refit_fold(self.n_train, self.n_valid, len(self.splits.test.y), rows)

    def teacher(self, family: BaseFamily, fold: Fold) -> TeacherLike:
        """The distillation teacher for ``family`` on ``fold``'s rows, on all features (trained on first use)."""
        kind = "cnn" if family.needs_images else "trees"
        key = (kind, fold.name)
        if key not in self.teachers:
            full = self.fit_data(fold=fold, keep=None, seed=self.seed, images=family.needs_images)
            self.teachers[key] = CNNTeacher(full) if kind == "cnn" else Teacher(full)
        return self.teachers[key]

    def score(self, predictor: Predictor, X: Any, y: np.ndarray) -> float:
        """The metric of ``predictor`` on raw rows ``X`` (through the serving path)."""
        return self.metric.score(y, predictor.output(X), self.classes, self.task)


@dataclass(frozen=True)
class TrialConfig:
    """One trial's resolved configuration.

    Attributes:
        family: The model family's name.
        params: Its hyperparameters.
        features: Kept feature names (None: all).
        compression: Compression settings (empty: none).
        seed: The model's seed.
        deadline: ``time.monotonic()`` value past which fitting stops (None: no limit).
        rows: ``"search"`` (fit on each search fold, early-stopped), or a refit on ``"train+valid"``
            or ``"all"`` rows with a fixed number of ``rounds`` and no early stopping.
        rounds: Boosting rounds of a refit tree model (None keeps the hyperparameters' own).
        info: Extra facts for ``predictor.info`` (study, trial number...).
    """

    family: str
    params: dict[str, Any]
    features: list[str] | None = None
    compression: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    deadline: float | None = None
    rows: Rows = "search"
    rounds: int | None = None
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrialOutcome:
    """What one trial produced.

    Attributes:
        predictor: The served model (fitted on the first fold's rows, or the refit rows).
        metric: The objective: the mean over the search folds (the validation split on holdout), the
            test split for a ``"train+valid"`` refit, None for an ``"all"`` refit (no honest score).
        fold_metrics: The metric on each fold's rows.
        metric_uncompressed: The first fold's model before compression, when compression changed it.
        latency: Single-row and serving-batch latency and batch throughput through the Predictor, timed
            under the serving profile.
        size: Bytes of the saved Predictor and the model's size facts.
        memory_bytes: Resident bytes the Predictor adds to a serving process when loaded (see
            :mod:`paretoml.measure._memory`; None where the platform cannot tell).
        params: The hyperparameters fitted (after compression's changes, e.g. a student's size).
        compression: The compression context (``parts``, ``attrs``).
        rounds_fitted: Boosting rounds of the first fold's tree model before compression (None for a CNN).
        trained_rows: Rows the served model was fitted on.
        fit_seconds: Fitting and compression time, every fold.
        measure_seconds: Scoring, saving and timing.
        archive: The saved zip, when ``run_trial`` was given a path.
        metric_se: Bootstrap standard error of the first fold's metric (its sampling noise), when scored.
    """

    predictor: Predictor
    metric: float | None
    fold_metrics: list[float]
    metric_uncompressed: float | None
    latency: Latency
    size: Size
    params: dict[str, Any]
    compression: CompressionContext
    rounds_fitted: int | None
    trained_rows: int
    fit_seconds: float
    measure_seconds: float
    archive: Path | None = None
    metric_se: float | None = None
    memory_bytes: int | None = None

    def measured(self, names: list[str] | None = None) -> dict[str, float | None]:
        """The objectives' values (every registered one, or ``names``), by trial attr name."""
        from paretoml.objectives import OBJECTIVES

        specs = OBJECTIVES.values() if names is None else [OBJECTIVES[n] for n in names]
        return {spec.column: spec.measure(self) for spec in specs}

    @property
    def metric_std(self) -> float:
        """Spread of the fold metrics (0 for one fold)."""
        return float(np.std(self.fold_metrics)) if len(self.fold_metrics) > 1 else 0.0


def _fit_one(
    problem: Problem, config: TrialConfig, fold: Fold, family: BaseFamily, keep: list[str] | None
) -> tuple[FittedModel, dict[str, Any], CompressionContext, int | None, FittedModel]:
    """Fit and compress on one fold: (served model, params, compression, rounds, uncompressed model)."""
    data = problem.fit_data(fold=fold, keep=keep, seed=config.seed, deadline=config.deadline,
                            images=family.needs_images)  # fmt: skip
    squeeze = CompressionContext(dict(config.compression), config.family)
    if config.compression.get("distill"):
        squeeze.teacher = problem.teacher(family, fold)
    data, params = before_fit(data, dict(config.params), squeeze)
    if config.rows != "search":  # a refit: the rounds found by the search, no early stopping
        params.pop("early_stopping_rounds", None)
        if config.rounds is not None:
            params[_ROUNDS_PARAM] = int(config.rounds)
        if family.needs_images:
            params["patience"] = int(params.get("max_epochs", 30)) + 1
    model = family.fit(data, params)
    rounds = model.boosting_rounds() if Capability.ROUNDS in family.capabilities else None
    return after_fit(model, data, squeeze), params, squeeze, rounds, model


def run_trial(
    problem: Problem, config: TrialConfig, *, lock: TimingLock = NO_LOCK, archive: str | Path | None = None
) -> TrialOutcome:
    """Fit, compress, package and measure one configuration.

    Fitting holds ``lock`` shared and timing holds it exclusive, so that a latency is never measured
    while another trial trains on the same cores (pass a :class:`~paretoml.measure.MachineLock` when
    several processes share the machine; the default never waits).

    Args:
        problem: The prepared problem.
        config: The configuration.
        lock: The machine lock.
        archive: Where to keep the saved Predictor (zip); None: a temporary file, deleted.

    Returns:
        The outcome.
    """
    family = get_family(config.family)
    keep = list(problem.preprocessor.names) if family.needs_images or config.features is None else config.features
    full = keep == list(problem.preprocessor.names)
    pre = problem.preprocessor if full else problem.preprocessor.select(keep)
    subset = None if full else keep
    folds = problem.search_folds if config.rows == "search" else [problem.refit_fold(config.rows)]
    scores: list[float] = []
    with lock.shared():  # other workers may train too, but nobody times a model meanwhile
        fit_started = time.perf_counter()
        model, params, squeeze, rounds, native = _fit_one(problem, config, folds[0], family, subset)
        served_native = Predictor(pre, native, task=problem.task, classes=problem.classes)
        uncompressed = None
        if changes_model(squeeze) and folds[0].score.size:
            uncompressed = problem.score(served_native, problem.raw(folds[0]), problem.y[folds[0].score])
        for fold in folds[1:]:
            other = _fit_one(problem, config, fold, family, subset)[0]
            served = Predictor(pre, other, task=problem.task, classes=problem.classes)
            scores.append(problem.score(served, problem.raw(fold), problem.y[fold.score]))
    measure_started = time.perf_counter()
    info = {**config.info, "family": config.family, "params": params, "metric": problem.metric.name,
            "hardware": problem.hardware.fingerprint(), "trained_rows": int(folds[0].fit.size)}  # fmt: skip
    predictor = Predictor(pre, model, task=problem.task, classes=problem.classes, info=info,
                          image_shape=problem.image_shape)  # fmt: skip
    predictor.set_threads(problem.hardware.n_threads)  # scoring: the training threads
    noise = None
    if folds[0].score.size:
        output, y = predictor.output(problem.raw(folds[0])), problem.y[folds[0].score]
        scores.insert(0, problem.metric.score(y, output, problem.classes, problem.task))
        noise = metric_se(problem.metric, output, y, problem.classes, problem.task)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(archive) if archive is not None else Path(tmp) / "predictor.zip"
        size = measure_size(predictor, path)
        memory = _measure_memory(problem, path)
    predictor.set_threads(problem.hardware.serving_threads)  # timing: the serving profile
    with lock.exclusive():  # waits until no trial trains on this machine
        latency = measure_latency(
            predictor.output, problem.latency_rows, problem.latency_batch, requests=problem.requests
        )
    return TrialOutcome(
        predictor=predictor,
        metric=float(np.mean(scores)) if scores else None,
        fold_metrics=scores,
        metric_uncompressed=uncompressed,
        latency=latency,
        size=size,
        params=params,
        compression=squeeze,
        rounds_fitted=rounds,
        trained_rows=int(folds[0].fit.size),
        fit_seconds=measure_started - fit_started,
        measure_seconds=time.perf_counter() - measure_started,
        archive=None if archive is None else Path(archive),
        metric_se=noise,
        memory_bytes=memory,
    )


def _measure_memory(problem: Problem, archive: Path) -> int | None:
    """Resident bytes a fresh copy of the saved Predictor adds once it has served a row and a batch."""
    threads = problem.hardware.serving_threads
    request = problem.requests[0] if problem.requests else problem.latency_batch

    def serve(loaded: Predictor) -> None:
        loaded.output(problem.latency_rows[0])
        loaded.output(request)

    def libraries(loaded: Predictor) -> list[str]:
        library = getattr(loaded.model, "library", None)  # a compiled runtime's shared library
        return [] if library is None else [str(library)]

    return measure_memory(lambda: Predictor.load(archive).set_threads(threads), serve, libraries)


def refit_rounds(rounds_fitted: int, fitted_rows: int, refit_rows: int) -> int:
    """Boosting rounds for a refit on ``refit_rows`` rows of a model early-stopped at ``rounds_fitted``.

    The early-stopped count, unscaled: FLAML's ``retrain_full`` keeps the searched ``n_estimators`` and
    AutoGluon's ``refit_full`` the early-stopped iteration count. Scaling by the rows ratio (4/3 with the
    default split) was measured against it (``benchmarks/validation_choice.py``: 11 data-set sizes of
    credit_default, cells and nyc_flights, 4-6 seeds) and did no better: the unscaled refit's test metric
    was equal or higher on 7 of 11, every difference within 0.0025.
    """
    del fitted_rows, refit_rows  # kept in the signature: the rows are what a different rule would use
    return max(1, int(rounds_fitted))


def with_rows(config: TrialConfig, rows: Rows, rounds: int | None) -> TrialConfig:
    """``config`` as a refit on ``rows`` with ``rounds`` boosting rounds (no deadline)."""
    return replace(config, rows=rows, rounds=rounds, deadline=None)
