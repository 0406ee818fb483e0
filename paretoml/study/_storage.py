"""Storage URLs, artifact directories, and creating or resuming a study."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy.exc
from optuna.artifacts import FileSystemArtifactStore
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend

from paretoml.exceptions import ConfigError
from paretoml.objectives import OBJECTIVES
from paretoml.study._recovery import AtomicFileSystemArtifactStore

__all__ = [
    "OBJECTIVES",
    "artifact_dir_for",
    "make_sampler",
    "open_storage",
    "open_study",
    "storage_url",
]

HEARTBEAT_SECONDS = 5  # a RUNNING trial whose worker stops beating this long ...
GRACE_SECONDS = 20  # ... plus this grace is marked FAIL by the next trial to start


def storage_url(location: str | Path) -> str:
    """Turn a path to a study database into an Optuna storage URL; URLs pass through.

    ``studies/x.db`` becomes ``sqlite:///<absolute path>``; ``*.log``/``*.jsonl`` are journal files.
    """
    text = str(location)
    if "://" in text:
        return text
    path = Path(text).expanduser().resolve()
    if path.suffix in (".log", ".jsonl"):
        return f"journal:///{path}"
    return f"sqlite:///{path}"


def open_storage(storage: str | Path | BaseStorage | None) -> BaseStorage | None:
    """An Optuna storage object for ``storage`` (None stays None: in memory)."""
    if storage is None or isinstance(storage, BaseStorage):
        return storage
    url = storage_url(storage)
    if url.startswith("journal:///"):
        path = Path(url[len("journal:///") :])
        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(path)))
    if url.startswith("sqlite:///"):
        db = url[len("sqlite:///") :]
        if db and db != ":memory:":
            Path(db).parent.mkdir(parents=True, exist_ok=True)
    try:
        with warnings.catch_warnings():  # heartbeats are flagged experimental since Optuna 2.9
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return RDBStorage(url, heartbeat_interval=HEARTBEAT_SECONDS, grace_period=GRACE_SECONDS)
    except ImportError as exc:
        missing = getattr(exc.__cause__, "name", None) or exc
        hint = " Install it with: pip install 'paretoml[postgres]'" if "postgres" in url else ""
        raise ConfigError(f"`storage` {url!r} needs a database driver that is missing ({missing}).{hint}") from exc
    except sqlalchemy.exc.OperationalError as exc:
        raise ConfigError(
            f"`storage` {url!r}: cannot connect to the database ({exc.orig}). Check that the server runs "
            "and the URL's host, port, user and database are right."
        ) from exc


def artifact_dir_for(storage: str | Path | BaseStorage | None, given: str | Path | None) -> tuple[Path, bool]:
    """Where a study keeps its predictors.

    Returns:
        The directory and whether it is temporary (in-memory studies without ``artifacts=``).

    Raises:
        ConfigError: For a server database without an explicit ``artifacts`` directory.
    """
    if given is not None:
        return Path(given).expanduser().resolve(), False
    if storage is None or isinstance(storage, optuna.storages.InMemoryStorage):
        return Path(tempfile.mkdtemp(prefix="paretoml-artifacts-")), True
    if isinstance(storage, BaseStorage):
        raise ConfigError("a storage object needs `artifacts=`: a directory to keep each trial's predictor in.")
    url = storage_url(storage)
    for prefix in ("sqlite:///", "journal:///"):
        if url.startswith(prefix):
            db = Path(url[len(prefix) :])
            return db.with_name(f"{db.stem}_artifacts").resolve(), False
    raise ConfigError(
        f"`storage` {url!r} is a server database: pass `artifacts=` a directory that every worker "
        "can reach (e.g. a shared mount) to keep each trial's predictor in."
    )


def make_sampler(sampler: str | optuna.samplers.BaseSampler | None, seed: int) -> optuna.samplers.BaseSampler:
    """Optuna's multi-objective default (TPE) seeded, a sampler by name, or the given object."""
    if isinstance(sampler, optuna.samplers.BaseSampler):
        return sampler
    if sampler is None or sampler == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if sampler == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    if sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise ConfigError(f"`sampler` must be 'tpe', 'nsga2', 'random' or an Optuna sampler; got {sampler!r}.")


def open_study(
    storage: BaseStorage | None,
    study_name: str,
    *,
    directions: list[str],
    metric_names: list[str],
    attrs: dict[str, Any],
    must_match: tuple[str, ...],
) -> optuna.Study:
    """Create the study, or resume it after checking it was made for the same problem.

    Args:
        storage: The Optuna storage (None: in memory).
        study_name: The study's name; an existing study of that name is continued.
        directions: Objective directions.
        metric_names: Objective names for ``study.set_metric_names``.
        attrs: Study user attrs describing the problem (task, metric, data fingerprint...).
        must_match: Keys of ``attrs`` that a resumed study must share.

    Raises:
        ConfigError: When an existing study of that name was made for something else.
    """
    study = optuna.create_study(
        storage=storage,
        study_name=study_name,
        directions=[optuna.study.StudyDirection[d.upper()] for d in directions],
        load_if_exists=True,
    )
    existing = study.user_attrs
    if "paretoml_version" not in existing:
        if study.trials:
            raise ConfigError(f"study {study_name!r} exists and was not made by paretoml; pick another study_name.")
        # the version marker goes last: a worker joining at the same moment sees either an unclaimed
        # study (and writes the same attrs itself) or a complete one, never half of them
        for key, value in sorted(attrs.items(), key=lambda kv: kv[0] == "paretoml_version"):
            study.set_user_attr(key, value)
        with warnings.catch_warnings():  # stable since Optuna 3.2, still flagged experimental
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names(metric_names)
        return study
    if [d.name.lower() for d in study.directions] != directions:
        raise ConfigError(f"study {study_name!r} exists with other objective directions; pick another study_name.")
    for key in must_match:
        if existing.get(key) != attrs.get(key):
            raise ConfigError(
                f"study {study_name!r} exists with {key}={existing.get(key)!r}, but this run has "
                f"{key}={attrs.get(key)!r}. Resume it with the same settings, or pick another study_name."
            )
    old_hw = (existing.get("hardware") or {}).get("fingerprint")
    if old_hw != attrs["hardware"]["fingerprint"]:
        warnings.warn(
            f"study {study_name!r} was measured on other hardware ({old_hw}); latencies of earlier trials "
            "are not comparable with new ones.",
            UserWarning,
            stacklevel=3,
        )
    return study


def artifact_store(directory: Path) -> FileSystemArtifactStore:
    """The (atomic) file-system artifact store rooted at ``directory`` (created if needed)."""
    directory.mkdir(parents=True, exist_ok=True)
    return AtomicFileSystemArtifactStore(str(directory))
