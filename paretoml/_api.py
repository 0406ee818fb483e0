"""``optimize``: the public entry point that runs a multi-objective study."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial

from paretoml._budget import Budget, parse_budget
from paretoml._imports import require
from paretoml._result import TEST_SCORES_ATTR, Result
from paretoml._version import __version__
from paretoml.data import ImageShape, Preprocessor, image_data, intake, intake_like, make_splits
from paretoml.exceptions import ConfigError
from paretoml.families import get_family
from paretoml.features import FeatureSelection, resolve_selection
from paretoml.measure import Hardware, baseline_score, get_metric, resolve_hardware
from paretoml.spaces import SearchSpace, default_space_path, load_space
from paretoml.study import (
    OBJECTIVES,
    Objective,
    StudyContext,
    artifact_dir_for,
    artifact_store,
    make_sampler,
    open_storage,
    open_study,
    storage_url,
)
from paretoml.study._recovery import fail_dead_trials
from paretoml.study._storage import GRACE_SECONDS

__all__ = ["optimize"]

DEFAULT_FAMILIES = ("lightgbm", "xgboost")
COMPRESSION_SPACES = ("compression", "cnn_compression")
IMAGE_FAMILIES = ("cnn",)  # added to the defaults when the data is image-like (and torch is installed)
Callback = Callable[[optuna.Study, FrozenTrial], None]


def _default_families(task: str, image_shape: ImageShape | None) -> list[str]:
    names = list(DEFAULT_FAMILIES)
    if image_shape is None:
        return names
    for name in IMAGE_FAMILIES:
        if not get_family(name).supports(task):
            warnings.warn(f"family {name!r} is left out: it does not support task {task!r}.", UserWarning, stacklevel=3)
            continue
        try:
            require("torch", f"the {name!r} family")
        except ImportError as exc:
            warnings.warn(f"image data: searching gradient-boosted models only. {exc}", UserWarning, stacklevel=3)
            continue
        names.append(name)
    return names


def _resolve_spaces(
    families: Iterable[str] | None,
    search_spaces: Mapping[str, Any] | None,
    task: str,
    image_shape: ImageShape | None = None,
) -> dict[str, SearchSpace]:
    names = list(families) if families is not None else _default_families(task, image_shape)
    if not names:
        raise ConfigError("`families` must name at least one model family, e.g. ['lightgbm'].")
    overrides = dict(search_spaces or {})
    unknown = set(overrides) - set(names)
    if unknown:
        raise ConfigError(f"`search_spaces` names families {sorted(unknown)} that are not searched ({names}).")
    spaces = {}
    for name in names:
        family = get_family(name)
        if not family.supports(task):
            raise ConfigError(f"family {name!r} does not support task {task!r}; leave it out of `families`.")
        if family.needs_images:
            if image_shape is None:
                raise ConfigError(
                    f"family {name!r} needs image data: pass images as an array (N, H, W) or (N, C, H, W), "
                    "or pixel columns with `image_shape=(H, W)`; or leave it out of `families`."
                )
            require("torch", f"the {name!r} family")
        spaces[name] = load_space(overrides.get(name, default_space_path(name)), family=name)
    return spaces


def optimize(
    data: Any,
    budget: Budget | float | str = 60,
    *,
    target: str | None = None,
    task: str | None = None,
    metric: str | None = None,
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
) -> Result:
    """Search model families, hyperparameters and settings for the best accuracy/latency/size trade-offs.

    Every trial trains a model, packages it with the preprocessing as a :class:`~paretoml.Predictor`,
    and measures it: the metric on the validation split, single-row latency (p50/p95) and batch
    throughput through the Predictor from raw rows, and the bytes of the saved predictor. The three
    objectives (metric, p50 latency, size) drive an Optuna multi-objective study; the Pareto-optimal
    trials are then re-scored on the untouched test split.

    Args:
        data: A DataFrame (with ``target``) or a tuple ``(X, y)``; X a DataFrame, a 2-D array, or an
            array of images ``(N, H, W)`` / ``(N, C, H, W)``.
        budget: Seconds (``60``), a duration (``"90s"``, ``"5m"``, ``"1h"``), a trial count
            (``"50 trials"``) or a :class:`~paretoml.Budget`. The call returns within the budget plus
            at most one trial and the final re-scoring.
        target: The target column when ``data`` is a DataFrame.
        task: ``"binary"``, ``"multiclass"`` or ``"regression"``; inferred when None.
        metric: A scikit-learn scorer name; default ROC AUC (binary), accuracy (multiclass), R².
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
        hardware: Thread count or ``{"n_threads": ..., "device": ...}``; default: this machine's CPUs.
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
        image_shape: ``(H, W)`` or ``(C, H, W)`` when ``data`` holds images as pixel columns (C-order);
            inferred from image arrays. Image data adds the CNN family and keeps every pixel column.

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
    started = time.monotonic()
    plan = parse_budget(budget)
    if trial_timeout is not None and not trial_timeout > 0:
        raise ConfigError(f"`trial_timeout` must be a positive number of seconds or None; got {trial_timeout!r}.")
    _check_workers(workers, storage)
    call_kwargs = {
        "target": target, "task": task, "metric": metric, "families": families, "search_spaces": search_spaces,
        "storage": storage, "study_name": study_name, "artifacts": artifacts, "sampler": sampler, "seed": seed,
        "hardware": hardware, "features": features, "valid_size": valid_size, "test_size": test_size,
        "validation": validation, "test": test, "compression": compression, "image_shape": image_shape,
    }  # fmt: skip
    data, shape = image_data(data, image_shape, target=target)
    if validation is not None:
        validation, _ = image_data(validation, shape, target=target, name="validation")
    if test is not None:
        test, _ = image_data(test, shape, target=target, name="test")
    ds = intake(data, target=target, task=task)
    valid_ds = intake_like(validation, ds, target=target, name="validation") if validation is not None else None
    test_ds = intake_like(test, ds, target=target, name="test") if test is not None else None
    metric_obj = get_metric(metric, ds.task)
    spaces = _resolve_spaces(families, search_spaces, ds.task, shape)
    selection = resolve_selection(features)
    squeeze = _resolve_compression(compression)
    profile = resolve_hardware(hardware)
    splits = make_splits(ds, valid_size=valid_size, test_size=test_size, seed=seed, validation=valid_ds, test=test_ds)
    artifact_dir, temporary = artifact_dir_for(storage, artifacts)
    store_obj = open_storage(storage)
    attrs = {
        "paretoml_version": __version__,
        "task": ds.task,
        "metric": metric_obj.name,
        "metric_direction": metric_obj.direction,
        "classes": [c.item() if isinstance(c, np.generic) else c for c in ds.classes.tolist()],
        "data_fingerprint": ds.fingerprint(),
        "split": {
            "valid_size": None if validation is not None else valid_size,
            "test_size": None if test is not None else test_size,
            "seed": seed,
            "rows": [len(splits.train.y), len(splits.valid.y), len(splits.test.y)],
        },
        "hardware": profile.to_dict(),
        "artifact_dir": str(artifact_dir),
        "objectives": list(OBJECTIVES),
        "metric_baseline": baseline_score(metric_obj, splits.train.y, splits.valid.y, ds.classes, ds.task),
        "image_shape": None if shape is None else list(shape),
    }
    study = open_study(
        store_obj,
        study_name,
        directions=[metric_obj.direction, "minimize", "minimize"],
        metric_names=[metric_obj.name, "latency_p50_ms", "size_kb"],
        attrs=attrs,
        must_match=("task", "metric", "data_fingerprint", "split", "image_shape"),
    )
    study.sampler = make_sampler(sampler, seed + len(study.trials))
    ctx = StudyContext(
        splits=splits,
        task=ds.task,
        classes=ds.classes,
        metric=metric_obj,
        preprocessor=Preprocessor.fit(splits.train.X, keep_all=shape is not None),
        spaces=spaces,
        hardware=profile,
        seed=seed,
        store=artifact_store(artifact_dir),
        study_name=study_name,
        selection=selection,
        trial_timeout=trial_timeout,
        compression=squeeze,
        image_shape=shape,
    )
    ctx.attach_ranking(study)
    dead = fail_dead_trials(study, GRACE_SECONDS)
    if dead:
        warnings.warn(f"trials {dead} were left RUNNING by a worker that died; marked FAIL.", UserWarning, stacklevel=2)
    timeout = None
    if plan.seconds is not None:
        timeout = max(plan.seconds - (time.monotonic() - started), 1e-3)
    helpers = _spawn_workers(workers, data, plan, timeout, trial_timeout, call_kwargs)
    study.optimize(
        Objective(ctx),
        n_trials=_share(plan.trials, workers, 0),
        timeout=timeout,
        catch=(Exception,),
        callbacks=list(callbacks or []),
    )
    for proc in helpers:
        proc.join()
    fail_dead_trials(study, GRACE_SECONDS)  # also trials orphaned while this run went on
    result = Result(study, artifact_dir)
    if temporary:
        result.keep_temporary(artifact_dir)
    _rescore_front(result, ctx)
    result.record_fronts()
    for family, (count, reason) in result.failed_families().items():
        warnings.warn(
            f"family {family!r} failed in all {count} of its trials; last reason: {reason}", UserWarning, stacklevel=2
        )
    return result


def _resolve_compression(spec: Any) -> dict[str, SearchSpace]:
    """The compression space of each kind (``compression``, ``cnn_compression``) searched."""
    if spec is False:
        return {}
    spaces = {name: load_space(default_space_path(name), family=name) for name in COMPRESSION_SPACES}
    if spec is None or spec is True:
        return spaces
    for item in spec if isinstance(spec, list) else [spec]:
        if not isinstance(item, (str, Path, dict)):
            raise ConfigError(
                f"`compression` must be True, False, a YAML path or dict, or a list of them; got {item!r}."
            )
        defaulted = isinstance(item, dict) and "family" not in item  # a bare dict means the tree space
        space = load_space(item, family="compression") if defaulted else load_space(item)
        if space.family not in COMPRESSION_SPACES:
            raise ConfigError(
                f"`compression` space {space.source} declares family {space.family!r}; "
                f"a compression space must declare one of {COMPRESSION_SPACES}."
            )
        spaces[space.family] = space
    return spaces


def _check_workers(workers: int, storage: Any) -> None:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"`workers` must be an integer of at least 1; got {workers!r}.")
    if workers == 1:
        return
    url = storage_url(storage) if isinstance(storage, (str, Path)) else None
    if url is None or url.startswith("sqlite"):
        raise ConfigError(
            f"`workers`={workers} needs a storage that several processes can write: a journal file "
            "(storage='studies/x.log') or a server database (PostgreSQL); got "
            f"{'an in-memory or storage object' if url is None else repr(url)}."
        )


def _share(total: int | None, workers: int, index: int) -> int | None:
    """Worker ``index``'s part of a trial budget (the first ones take the remainder)."""
    if total is None:
        return None
    return total // workers + (1 if index < total % workers else 0)


def _spawn_workers(
    workers: int, data: Any, plan: Budget, timeout: float | None, trial_timeout: float | None, kwargs: dict[str, Any]
) -> list[Any]:
    """Start ``workers - 1`` processes that run trials of the same study; this process is the last."""
    import multiprocessing

    procs = []
    spawn = multiprocessing.get_context("spawn")
    for index in range(1, workers):
        trials = _share(plan.trials, workers, index)
        if trials == 0:
            continue
        budget = Budget(seconds=timeout, trials=trials)
        proc = spawn.Process(target=_worker, args=(data, budget, trial_timeout, kwargs), daemon=False)
        proc.start()
        procs.append(proc)
    return procs


def _worker(data: Any, budget: Budget, trial_timeout: float | None, kwargs: dict[str, Any]) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optimize(data, budget, trial_timeout=trial_timeout, workers=1, **kwargs)


def _rescore_front(result: Result, ctx: StudyContext) -> None:
    """Score each front member on the test split (once) and store the scores in the study."""
    scores = {str(k): v for k, v in result.test_scores.items()}
    changed = False
    for number in sorted(set(result.front.trial) | set(result.front_raw.trial)):
        if str(number) in scores:
            continue
        predictor = result.predictor(int(number))
        scores[str(number)] = ctx.score(predictor, ctx.splits.test.X, ctx.splits.test.y)
        changed = True
    if changed:
        result.study.set_user_attr(TEST_SCORES_ATTR, scores)
