"""``optimize``: the public entry point that runs a multi-objective study."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial

from paretoml._budget import Budget, TrialDeadline
from paretoml._prepare import MUST_MATCH, PreparedStudy, check_resumed_families, prepare, study_context
from paretoml._progress import StudyProgress, warn_if_thin
from paretoml._refit import refit_front
from paretoml._result import TEST_SCORES_ATTR, Result
from paretoml._settings import Settings
from paretoml.features import FeatureSelection
from paretoml.measure import Hardware
from paretoml.study import (
    Objective,
    StudyContext,
    enqueue_warm_start,
    fail_interrupted,
    make_sampler,
    open_storage,
    open_study,
)
from paretoml.study._attrs import spent
from paretoml.study._recovery import fail_dead_trials
from paretoml.study._storage import GRACE_SECONDS, checkpoint

__all__ = ["optimize"]

Callback = Callable[[optuna.Study, FrozenTrial], None]


def optimize(
    data: Any,
    budget: Budget | float | str = 60,
    *,
    target: str | None = None,
    task: str | None = None,
    metric: str | None = None,
    objectives: Iterable[str] | None = None,
    constraints: Mapping[str, float] | None = None,
    families: Iterable[str] | None = None,
    search_spaces: Mapping[str, str | Path | dict[str, Any]] | None = None,
    storage: str | Path | BaseStorage | None = None,
    study_name: str = "paretoml",
    artifacts: str | Path | None = None,
    sampler: str | optuna.samplers.BaseSampler | None = None,
    seed: int = 0,
    hardware: Hardware | dict[str, Any] | int | None = None,
    features: FeatureSelection | str | bool | list[int] | dict[str, Any] | None = None,
    valid_size: float = 0.2,
    test_size: float = 0.2,
    validation: Any = None,
    test: Any = None,
    callbacks: Iterable[Callback] | None = None,
    trial_timeout: float | None = 600.0,
    workers: int = 1,
    compression: bool | str | Path | dict[str, Any] | list[str | Path | dict[str, Any]] | None = None,
    image_shape: tuple[int, ...] | None = None,
    cv_folds: int | str = "auto",
    warm_start: bool = True,
    accurate_share: float = 0.25,
    progress: bool = True,
) -> Result:
    """Search model families, hyperparameters and settings for the best accuracy/latency/size trade-offs.

    Every trial trains a model, packages it with the preprocessing as a :class:`~paretoml.Predictor`,
    and measures it: the metric on the validation split, single-row latency (p50/p95) and batch
    throughput through the Predictor from raw rows (under the serving profile of ``hardware``), the bytes
    of the saved predictor and the memory it takes when loaded. The chosen ``objectives`` (default: metric,
    p50 latency, size) drive an Optuna multi-objective study, steered by ``constraints``; the Pareto-optimal
    trials that meet the constraints are then re-scored on the untouched test split.

    Args:
        data: A DataFrame (with ``target``) or a tuple ``(X, y)``; X a DataFrame, a 2-D array, or an
            array of images ``(N, H, W)`` / ``(N, C, H, W)``.
        budget: Seconds (``60``), a duration (``"90s"``, ``"5m"``, ``"1h"``), a trial count
            (``"50 trials"``) or a :class:`~paretoml.Budget`. A time budget covers the whole call: trials
            stop early enough for the front's test scoring and refit, and the call returns within the
            budget plus at most one trial and the front's test scoring, even while other studies share the
            machine.
            ``result.spent`` says where the time went.
        target: The target column when ``data`` is a DataFrame.
        task: ``"binary"``, ``"multiclass"`` or ``"regression"``; inferred when None.
        metric: A scikit-learn scorer name; default ROC AUC (binary), accuracy (multiclass), R².
        objectives: What the study optimises (see :mod:`paretoml.objectives`): ``"metric"`` plus any of
            ``latency_p50_ms``, ``latency_p95_ms``, ``batch_latency_ms``, ``throughput_rows_per_s``,
            ``size_kb``, ``memory_kb``, ``n_features``. Default: metric, ``latency_p50_ms``, ``size_kb``.
            Every trial records all of them.
        constraints: Bounds ``{objective name: bound}``, e.g. ``{"latency_p95_ms": 1.0, "size_kb": 256}``:
            an upper bound for objectives to minimise, a lower one for the metric and throughput. The
            sampler (TPE, NSGA-II) favours trials that meet them; the front offers only those.
        families: Model families to search (default: LightGBM and XGBoost, plus the CNN family for
            image data when torch is installed: ``pip install 'paretoml[cnn]'``).
        search_spaces: Per-family search-space YAML paths (or parsed dicts) replacing the defaults.
        storage: An Optuna storage URL or object, or a path to a SQLite file; None keeps the study
            in memory. A study of the same name in the storage is continued.
        study_name: The study's name.
        artifacts: Directory for the trials' predictors (default: next to a SQLite/journal file, or
            a temporary directory for in-memory studies; required for server databases).
        sampler: ``"tpe"`` (Optuna's multi-objective default), ``"nsga2"``, ``"random"`` or an
            Optuna sampler.
        seed: Seed for the split, the sampler and the models.
        hardware: Training thread count, or ``{"n_threads", "device", "serving_threads", "batch_size"}``;
            default: this machine's CPUs to train, and the serving profile 1 thread, 1 row per request
            (latency objectives are timed under the serving profile).
        features: Feature subsets as a searched dimension: ``"shap"`` (default: rank columns once per
            study by mean |SHAP| of a reference LightGBM model, then each trial keeps the top
            ``n_features``), ``"gain"`` (rank by split gain, cheaper), ``"off"``/``False``, a list of
            candidate sizes, or a dict with ``method``, ``sizes``, ``min_features``, ``sample_rows``.
        valid_size: Fraction of rows for validation (used to choose models).
        test_size: Fraction of rows held out, never seen by the search, to report the front on.
        validation: A validation set (same form as ``data``) instead of splitting one off.
        test: A test set (same form as ``data``) instead of splitting one off.
        callbacks: Optuna callbacks ``f(study, trial)`` called after each trial.
        trial_timeout: Seconds one trial may spend; a trial past it stops fitting and is recorded as
            FAIL with the reason (None: no limit).
        compression: Compression searched per trial: None or True (the defaults: for trees
            ``search_spaces/compression.yaml``, truncation, the tl2cgen compiled runtime with optional
            quantization, distillation; for CNNs ``search_spaces/cnn_compression.yaml``, channel pruning,
            int8/float16 quantization, distillation), False (off), or YAML paths or dicts (one, or a
            list) replacing the default of the space they declare (``family: compression`` or
            ``family: cnn_compression``).
        workers: Processes to run trials in. With more than one, ``storage`` must be a journal file
            (``*.log``) or a server database (PostgreSQL): SQLite is not for concurrent writers. Every
            worker on a machine shares one lock, so no latency is timed while another trial trains.
        progress: Show a live progress line on standard error (the setup stage, then trials done, time
            left, the best metric and the running front's size). Optuna's per-trial INFO log lines are
            quieted during the study either way.
        image_shape: ``(H, W)`` or ``(C, H, W)`` when ``data`` holds images as pixel columns (C-order);
            inferred from image arrays. Image data adds the CNN family and keeps every pixel column.
        cv_folds: How the metric objective is validated: ``"auto"`` (4-fold cross-validation over the
            training and validation rows when there are fewer than 4,000 of them, else the validation
            split), 1 (the validation split) or a fold count (at least 3). Fold 0 is the validation split;
            its model is the one timed, sized and stored. Trials record ``metric_cv_std``.
        warm_start: Whether a new study's first trials are each family's defaults and one well-established
            setting (all features, no compression); a resumed study does not repeat them.
        accurate_share: The share of trials (evenly spread by trial number) that keep every feature and
            compress nothing (no truncation, distillation, pruning or quantization), while the sampler
            chooses the family, its hyperparameters and the serving runtime: they search the accurate
            end of the front, which per-trial compression and feature choices otherwise rarely reach.
            0 turns it off; a sampler object is used as given.

    Returns:
        A :class:`~paretoml.Result` with ``front``, ``trials``, ``predictor(trial)`` and ``study``.

    Raises:
        DataError: When the data cannot be used (the message says how to fix it).
        ConfigError: When an argument is invalid, or a resumed study was made for other data.
        BudgetError: When the budget is not positive or cannot be parsed.

    Example:
        >>> from sklearn.datasets import load_breast_cancer
        >>> X, y = load_breast_cancer(return_X_y=True, as_frame=True)
        >>> result = optimize((X, y), budget="10 trials")  # doctest: +SKIP
        >>> result.front[["trial", "family", "metric_test", "latency_p50_ms", "size_kb"]]  # doctest: +SKIP
    """
    settings = Settings(**{k: v for k, v in locals().items() if k != "data"})  # every argument but data, checked
    started = time.monotonic()
    with StudyProgress(settings.plan, enabled=settings.progress) as display, _quiet_optuna():
        problem = prepare(data, settings)  # intake, split, preprocessing, checks: nothing written yet
        display.stage("opening the study...")
        study = open_study(
            open_storage(settings.storage),
            settings.study_name,
            directions=problem.directions(),
            metric_names=problem.metric_names(),
            attrs=problem.attrs,
            must_match=MUST_MATCH,
        )
        check_resumed_families(study, problem.spaces)
        study.sampler = make_sampler(
            settings.sampler,
            settings.seed + len(study.trials),
            workers=settings.workers,
            accurate_share=settings.accurate_share,
        )
        ctx = study_context(problem)
        display.stage("ranking features...")
        ctx.attach_ranking(study)  # computed once and stored: workers read it from the study
        if settings.warm_start:  # a new study starts from strong known configurations (enqueued once)
            enqueue_warm_start(study, ctx.warm_start(), settings.plan.trials)
        dead = fail_dead_trials(study, GRACE_SECONDS)
        if dead:
            warnings.warn(
                f"trials {dead} were left RUNNING by a worker that died; marked FAIL.", UserWarning, stacklevel=2
            )
        plan = settings.plan
        timeout = deadline = None
        if plan.seconds is not None:
            deadline = started + plan.seconds
            timeout = max(deadline - time.monotonic(), 1e-3)
        setup_seconds = time.monotonic() - started
        earlier = {t.number for t in study.get_trials(deepcopy=False) if t.state.is_finished()}  # not this run's
        helpers = _spawn_workers(problem, timeout)
        display.start_trials()
        stop = [] if deadline is None else [TrialDeadline(deadline, ctx.lock)]  # time for the refit; bounded waits
        try:
            study.optimize(
                Objective(ctx),
                n_trials=_share(plan.trials, settings.workers, 0),
                timeout=timeout,
                catch=(Exception,),
                callbacks=[*(settings.callbacks or []), display, *stop],
            )
        except KeyboardInterrupt as exc:  # Ctrl-C: the trial in flight is FAIL with the reason; the rest is kept
            _interrupt(study, helpers, exc)
            raise
        ctx.lock.deadline = None  # the front's refit below waits as long as it takes
        trials_done = time.monotonic()
        display.stage(f"{display.describe()} | scoring the front on the test split...")
        for proc in helpers:
            proc.join()
        fail_dead_trials(study, GRACE_SECONDS)  # also trials orphaned while this run went on
        result = Result(study, problem.artifact_dir)
        if problem.temporary:
            result.keep_temporary(problem.artifact_dir)
        _rescore_front(result, ctx)
        result.record_fronts()
        result.attach_data(ctx.problem, ctx.lock)  # predictor(trial) refits on train + valid rows
        display.stage(f"{display.describe()} | refitting the front on train + valid rows...")
        refit_front(result, plan.seconds, deadline=deadline)
        checkpoint(study._storage)  # a SQLite file is whole again: the user may copy or move it
    if settings.constraints and len(result.front) == 0 and len(result.completed_trials()):
        warnings.warn(result.infeasible_summary(), UserWarning, stacklevel=2)
    completed = int((result.trials.state == "COMPLETE").sum()) if len(result.trials) else 0
    warn_if_thin(completed, plan, setup_seconds, display.durations)
    for family, (count, reason) in result.failed_families().items():
        warnings.warn(
            f"family {family!r} failed in all {count} of its trials; last reason: {reason}", UserWarning, stacklevel=2
        )
    result.spent = spent(study, earlier, started, setup_seconds, trials_done)  # last: everything after the trials
    return result


@contextlib.contextmanager
def _quiet_optuna() -> Iterator[None]:
    """Optuna's per-trial INFO lines off while the study runs (the progress line says what they said)."""
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(min(max(before, optuna.logging.WARNING), optuna.logging.CRITICAL))
    trial_log, quiet = logging.getLogger("optuna.study._optimize"), _NoInterruptLog()
    trial_log.addFilter(quiet)  # Ctrl-C: the caller says it in one line, not a 45-line traceback
    try:
        yield
    finally:
        trial_log.removeFilter(quiet)
        optuna.logging.set_verbosity(before)


class _NoInterruptLog(logging.Filter):
    """Drops Optuna's two "trial failed" records of a trial stopped by KeyboardInterrupt."""

    def __init__(self) -> None:
        super().__init__()
        self.prefix: str | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], KeyboardInterrupt):
            self.prefix = record.getMessage().split(" failed with ", 1)[0] + " failed with value"
            return False
        return self.prefix is None or not record.getMessage().startswith(self.prefix)


def _interrupt(study: optuna.Study, helpers: list[Any], exc: KeyboardInterrupt) -> None:
    """Stop the helper workers the same way, record the reason on what was running, say how to resume."""
    for proc in helpers:
        with contextlib.suppress(OSError):
            os.kill(proc.pid, signal.SIGINT)
    for proc in helpers:
        proc.join()
    fail_interrupted(study)
    done = sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.get_trials(deepcopy=False))
    exc.add_note(
        f"paretoml: interrupted; {done} completed trials are kept in the study {study.study_name!r}. "
        "Call optimize() again with the same storage and study_name to continue it."
    )


def _share(total: int | None, workers: int, index: int) -> int | None:
    """Worker ``index``'s part of a trial budget (the first ones take the remainder)."""
    if total is None:
        return None
    return total // workers + (1 if index < total % workers else 0)


def _spawn_workers(problem: PreparedStudy, timeout: float | None) -> list[Any]:
    """Start ``workers - 1`` processes that run trials of the same study; this process is the last.

    Each receives the prepared problem (settings, split rows, preprocessing, spaces) and runs trials
    directly: no intake, fingerprint, preprocessing fit or feature ranking is repeated.
    """
    import multiprocessing

    workers = problem.settings.workers
    procs = []
    spawn = multiprocessing.get_context("spawn")
    shipped = problem.for_worker() if workers > 1 else problem
    for index in range(1, workers):
        trials = _share(problem.settings.plan.trials, workers, index)
        if trials == 0:
            continue
        proc = spawn.Process(target=_worker, args=(shipped, trials, timeout), daemon=False)
        proc.start()
        procs.append(proc)
    return procs


def _worker(problem: PreparedStudy, trials: int | None, timeout: float | None) -> None:
    """Run trials of the study the parent process opened (its attrs and ranking are already stored)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    s = problem.settings
    storage = open_storage(s.storage)
    assert storage is not None  # more than one worker needs a file or server storage (checked by prepare)
    study = optuna.load_study(study_name=s.study_name, storage=storage)
    study.sampler = make_sampler(
        s.sampler, s.seed + len(study.trials), workers=s.workers, accurate_share=s.accurate_share
    )
    ctx = study_context(problem)
    ctx.attach_ranking(study)
    stop = [] if timeout is None else [TrialDeadline(time.monotonic() + timeout, ctx.lock)]  # the parent's end
    try:
        study.optimize(Objective(ctx), n_trials=trials, timeout=timeout, catch=(Exception,), callbacks=stop)
    except KeyboardInterrupt:  # the parent passed on Ctrl-C: record it and stop without a traceback
        fail_interrupted(study)


def _rescore_front(result: Result, ctx: StudyContext) -> None:
    """Score each front member on the test split (once) and store the scores in the study."""
    scores = {str(k): v for k, v in result.test_scores.items()}
    changed = False
    for number in sorted(set(result.front.trial) | set(result.front_raw.trial)):
        if str(number) in scores:
            continue
        predictor = result.predictor(int(number), refit=False)
        test = ctx.problem.splits.test
        scores[str(number)] = ctx.problem.score(predictor, test.X, test.y)
        changed = True
    if changed:
        result.study.set_user_attr(TEST_SCORES_ATTR, scores)
