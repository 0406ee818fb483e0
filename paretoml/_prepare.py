"""From validated settings and data to the prepared facts of a study, checked before anything is written.

:func:`prepare` does the intake, split and preprocessing fit once; the study process and every worker
process build their trial context from the same :class:`PreparedStudy` (:func:`study_context`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from paretoml._imports import require
from paretoml._settings import Settings
from paretoml._version import __version__
from paretoml.data import ImageShape, Preprocessor, Splits, image_data, intake, intake_like, make_splits
from paretoml.data._folds import resolve_folds
from paretoml.exceptions import ConfigError
from paretoml.families import get_family
from paretoml.features import FeatureSelection, resolve_selection
from paretoml.measure import Hardware, Metric, baseline_score, get_metric, resolve_hardware
from paretoml.objectives import ObjectiveSpec, objective_directions, resolve_constraints, resolve_objectives
from paretoml.spaces import SearchSpace, default_space_path, load_space
from paretoml.study import StudyContext, artifact_dir_for, artifact_store, storage_url
from paretoml.study._storage import check_artifact_dir, check_storage
from paretoml.trial import Problem

__all__ = ["PreparedStudy", "check_resumed_families", "prepare", "study_context"]

DEFAULT_FAMILIES = ("lightgbm", "xgboost")
COMPRESSION_SPACES = ("compression", "cnn_compression")
IMAGE_FAMILIES = ("cnn",)  # added to the defaults when the data is image-like (and torch is installed)
# a resumed study shares these
MUST_MATCH = ("task", "metric", "data_fingerprint", "split", "image_shape", "objectives", "constraints", "serving")


@dataclass(frozen=True)
class PreparedStudy:
    """What every process of a study needs to run trials: settings, rows, and what was derived from them.

    Built once by :func:`prepare`; worker processes receive it (the rows travel as the split) and
    build their trial context from it, without intake, fingerprinting or refitting the preprocessing.
    """

    settings: Settings
    task: str
    classes: np.ndarray
    metric: Metric
    splits: Splits
    preprocessor: Preprocessor
    spaces: dict[str, SearchSpace]
    compression: dict[str, SearchSpace]
    selection: FeatureSelection
    hardware: Hardware
    image_shape: ImageShape | None
    artifact_dir: Path
    temporary: bool
    attrs: dict[str, Any]

    @property
    def objectives(self) -> tuple[ObjectiveSpec, ...]:
        """The study's objectives, the metric first."""
        return resolve_objectives(self.settings.objectives)

    @property
    def constraints(self) -> dict[str, float]:
        """The study's constraints ``{objective name: bound}``."""
        return resolve_constraints(self.settings.constraints)

    def directions(self) -> list[str]:
        """Optuna's direction of each objective."""
        return objective_directions(self.objectives, self.metric.direction)

    def metric_names(self) -> list[str]:
        """The objectives' names in the study (the metric by its own name, e.g. ``roc_auc``)."""
        return [self.metric.name if o.name == "metric" else o.name for o in self.objectives]

    def for_worker(self) -> PreparedStudy:
        """A copy to send to a worker process: without the callbacks (functions of this process) and the
        user's validation/test sets (already in the split)."""
        return replace(self, settings=replace(self.settings, callbacks=None, validation=None, test=None, workers=1))


def prepare(data: Any, s: Settings) -> PreparedStudy:
    """Check everything about a call that can be checked without running a trial, and derive the problem.

    Writes nothing (except a temporary artifacts folder for an in-memory study).

    Raises:
        DataError: When the data cannot be used.
        ConfigError: When a setting does not fit the data or the storage cannot work.
    """
    check_workers(s.workers, s.storage)
    check_storage(s.storage)
    data, shape = image_data(data, s.image_shape, target=s.target)
    validation = (
        None if s.validation is None else image_data(s.validation, shape, target=s.target, name="validation")[0]
    )
    test = None if s.test is None else image_data(s.test, shape, target=s.target, name="test")[0]
    ds = intake(data, target=s.target, task=s.task)
    valid_ds = None if validation is None else intake_like(validation, ds, target=s.target, name="validation")
    test_ds = None if test is None else intake_like(test, ds, target=s.target, name="test")
    metric = get_metric(s.metric, ds.task)
    check_metric_fits_task(metric, ds.task)
    spaces = resolve_spaces(s.families, s.search_spaces, ds.task, shape)
    selection = resolve_selection(s.features)
    squeeze = resolve_compression(s.compression)
    profile = resolve_hardware(s.hardware)
    splits = make_splits(
        ds, valid_size=s.valid_size, test_size=s.test_size, seed=s.seed, validation=valid_ds, test=test_ds
    )
    if s.artifacts is not None:
        check_artifact_dir(Path(s.artifacts).expanduser().resolve())
    artifact_dir, temporary = artifact_dir_for(s.storage, s.artifacts)
    if not temporary:
        check_artifact_dir(artifact_dir)
    attrs = {
        "paretoml_version": __version__,
        "task": ds.task,
        "metric": metric.name,
        "metric_direction": metric.direction,
        "classes": [c.item() if isinstance(c, np.generic) else c for c in ds.classes.tolist()],
        "data_fingerprint": ds.fingerprint(),
        "split": {
            "valid_size": None if valid_ds is not None else s.valid_size,
            "test_size": None if test_ds is not None else s.test_size,
            "seed": s.seed,
            "rows": [len(splits.train.y), len(splits.valid.y), len(splits.test.y)],
        },
        "hardware": profile.to_dict(),
        "artifact_dir": str(artifact_dir),
        "objectives": [o.name for o in resolve_objectives(s.objectives)],
        "constraints": resolve_constraints(s.constraints),
        "serving": profile.serving(),
        "metric_baseline": baseline_score(metric, splits.train.y, splits.valid.y, ds.classes, ds.task),
        "image_shape": None if shape is None else list(shape),
        "cv_folds": resolve_folds(s.cv_folds, len(splits.train.y) + len(splits.valid.y)),  # validation by size
    }
    return PreparedStudy(
        settings=s,
        task=ds.task,
        classes=ds.classes,
        metric=metric,
        splits=splits,
        preprocessor=Preprocessor.fit(splits.train.X, keep_all=shape is not None),
        spaces=spaces,
        compression=squeeze,
        selection=selection,
        hardware=profile,
        image_shape=shape,
        artifact_dir=artifact_dir,
        temporary=temporary,
        attrs=attrs,
    )


def study_context(prepared: PreparedStudy) -> StudyContext:
    """The per-process trial context (the trial problem, artifact store, machine lock) of a prepared study."""
    s = prepared.settings
    problem = Problem(
        splits=prepared.splits,
        task=prepared.task,
        classes=prepared.classes,
        metric=prepared.metric,
        preprocessor=prepared.preprocessor,
        hardware=prepared.hardware,
        seed=s.seed,
        image_shape=prepared.image_shape,
        folds=prepared.attrs["cv_folds"],
    )
    return StudyContext(
        problem=problem,
        spaces=prepared.spaces,
        store=artifact_store(prepared.artifact_dir),
        study_name=s.study_name,
        selection=prepared.selection,
        trial_timeout=s.trial_timeout,
        compression=prepared.compression,
        objectives=prepared.objectives,
        constraints=prepared.constraints,
    )


# Small labelled examples of each task, to find out up front whether a metric can score it at all.
_PROBES = {
    "binary": (np.array([0, 1, 0, 1]), np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.1, 0.9]])),
    "multiclass": (np.array([0, 1, 2, 0, 1, 2]), np.tile(np.eye(3) * 0.6 + 0.2 / 1.5, (2, 1))),
    "regression": (np.array([0.5, 1.0, 2.0, 3.0]), np.array([0.6, 1.1, 1.9, 3.2])),
}


def check_metric_fits_task(metric: Metric, task: str) -> None:
    """Refuse a metric that cannot score this task (``roc_auc`` on regression, ``f1`` on multiclass).

    Raises:
        ConfigError: Naming the metric, the task and the fix.
    """
    y_true, output = _PROBES[task]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            metric.score(y_true, output, np.arange(output.shape[1]) if output.ndim == 2 else np.array([]), task)
    except (ValueError, TypeError) as exc:
        hint = {"binary": "'roc_auc', 'accuracy' or 'f1'", "multiclass": "'accuracy', 'f1_macro' or 'log_loss'",
                "regression": "'r2', 'neg_mean_absolute_error' or 'neg_root_mean_squared_error'"}[task]  # fmt: skip
        raise ConfigError(
            f"`metric` {metric.name!r} cannot score a {task} task ({str(exc).splitlines()[0]}). Pass a {task} metric "
            f"such as {hint}, or leave `metric` out for the task's default."
        ) from None


def check_resumed_families(study: optuna.Study, spaces: Mapping[str, SearchSpace]) -> None:
    """Refuse to resume a study with another list of families: Optuna cannot change the choices of the
    searched ``family`` dimension within a study, so every new trial would fail.

    Raises:
        ConfigError: Naming the study's families and the two ways out.
    """
    wanted = sorted(spaces)
    for trial in study.get_trials(deepcopy=False):
        dist = trial.distributions.get("family")
        if not isinstance(dist, optuna.distributions.CategoricalDistribution):
            continue
        searched = sorted(str(c) for c in dist.choices)
        if searched != wanted:
            raise ConfigError(
                f"`families` {wanted} differs from the families study {study.study_name!r} searches "
                f"({searched}); a study cannot change them, so every new trial would fail. Resume it "
                f"with families={searched}, or pick another study_name."
            )


def _default_families(task: str, image_shape: ImageShape | None) -> list[str]:
    names = list(DEFAULT_FAMILIES)
    if image_shape is None:
        return names
    for name in IMAGE_FAMILIES:
        if not get_family(name).supports(task):
            warnings.warn(f"family {name!r} is left out: it does not support task {task!r}.", UserWarning, stacklevel=5)
            continue
        try:
            require("torch", f"the {name!r} family")
        except ImportError as exc:
            warnings.warn(f"image data: searching gradient-boosted models only. {exc}", UserWarning, stacklevel=5)
            continue
        names.append(name)
    return names


def resolve_spaces(
    families: Iterable[str] | None,
    search_spaces: Mapping[str, Any] | None,
    task: str,
    image_shape: ImageShape | None = None,
) -> dict[str, SearchSpace]:
    """The search space of every family searched (given, or the defaults for the task and data)."""
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


def resolve_compression(spec: Any) -> dict[str, SearchSpace]:
    """The compression space of each kind (``compression``, ``cnn_compression``) searched."""
    if spec is False:
        return {}
    spaces = {name: load_space(default_space_path(name), family=name) for name in COMPRESSION_SPACES}
    if spec is None or spec is True:
        return spaces
    for item in spec if isinstance(spec, (list, tuple)) else [spec]:
        defaulted = isinstance(item, dict) and "family" not in item  # a bare dict means the tree space
        space = load_space(item, family="compression") if defaulted else load_space(item)
        if space.family not in COMPRESSION_SPACES:
            raise ConfigError(
                f"`compression` space {space.source} declares family {space.family!r}; "
                f"a compression space must declare one of {COMPRESSION_SPACES}."
            )
        spaces[space.family] = space
    return spaces


def check_workers(workers: int, storage: Any) -> None:
    """More than one worker needs a storage several processes can write."""
    if workers == 1:
        return
    url = storage_url(storage) if isinstance(storage, (str, Path)) else None
    if url is None or url.startswith("sqlite"):
        raise ConfigError(
            f"`workers`={workers} needs a storage that several processes can write: a journal file "
            "(storage='studies/x.log') or a server database (PostgreSQL); got "
            f"{'an in-memory or storage object' if url is None else repr(url)}."
        )
