"""Storage URLs, artifact directories, and creating or resuming a study."""

from __future__ import annotations

import contextlib
import random
import sqlite3
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy.exc
from optuna.artifacts import FileSystemArtifactStore
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend

from paretoml.exceptions import ConfigError
from paretoml.study._accurate import with_accurate_share
from paretoml.study._recovery import AtomicFileSystemArtifactStore
from paretoml.study._sampler import FlatTPESampler

__all__ = [
    "artifact_dir_for",
    "check_artifact_dir",
    "check_storage",
    "checkpoint",
    "make_sampler",
    "open_existing_storage",
    "open_storage",
    "open_study",
    "storage_url",
]

HEARTBEAT_SECONDS = 5  # a RUNNING trial whose worker stops beating this long ...
GRACE_SECONDS = 20  # ... plus this grace is marked FAIL by the next trial to start
_SCHEMA_ATTEMPTS = 5
_SCHEMA_LOCK_KEY = 0x70617265746F  # "pareto": one advisory lock id for schema creation on a database


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
        with _schema_lock(url):
            return _rdb_storage(url)
    except ImportError as exc:
        missing = getattr(exc.__cause__, "name", None) or exc
        hint = " Install it with: pip install 'paretoml[postgres]'" if "postgres" in url else ""
        raise ConfigError(f"`storage` {url!r} needs a database driver that is missing ({missing}).{hint}") from exc
    except sqlalchemy.exc.OperationalError as exc:
        raise ConfigError(
            f"`storage` {url!r}: cannot connect to the database ({exc.orig}). Check that the server runs "
            "and the URL's host, port, user and database are right."
        ) from exc


def open_existing_storage(storage: str | Path) -> BaseStorage:
    """Open a storage that must already hold studies, for reading: never creates a file, folder or table.

    Raises:
        ConfigError: When a SQLite or journal file does not exist, or a file is not a study database.
    """
    url = storage_url(storage)
    for scheme in ("sqlite:///", "journal:///"):
        if not url.startswith(scheme):
            continue
        path = Path(url[len(scheme) :])
        if path.is_dir():
            raise ConfigError(f"`storage` {str(storage)!r} is a folder. Pass the study database file inside it.")
        if not path.is_file():
            raise ConfigError(
                f"`storage` {str(storage)!r} does not exist (no file {str(path)!r}). Pass the database a study was "
                "written to (e.g. studies/x.db, as `paretoml run` prints); reading never creates one."
            )
        if scheme == "sqlite:///":
            _check_study_database(path, str(storage))
    store = open_storage(storage)
    assert store is not None
    return store


def _check_study_database(path: Path, given: str) -> None:
    """Refuse a file that is not SQLite, or a SQLite file without Optuna's tables (opening would add them)."""
    with path.open("rb") as f:
        head = f.read(16)
    if head != b"SQLite format 3\x00":
        raise ConfigError(
            f"`storage` {given!r} is not a SQLite database (it starts with {head[:8]!r}). Pass the study database "
            "that `paretoml run` or optimize(storage=...) wrote."
        )
    try:
        with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as conn:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as exc:
        raise ConfigError(
            f"`storage` {given!r} cannot be read as a SQLite database ({exc}). Pass a study database."
        ) from exc
    if "studies" not in tables:
        raise ConfigError(
            f"`storage` {given!r} is a SQLite database without any Optuna study in it. Pass the study database "
            "that `paretoml run` or optimize(storage=...) wrote."
        )


def _rdb_storage(url: str) -> RDBStorage:
    """Optuna's RDB storage, retrying when another process creates the same schema at the same moment.

    Optuna creates its tables (and, on PostgreSQL, enum types) on first use without a lock, so workers
    started together on an empty database collide (``UniqueViolation`` on ``CREATE TYPE``). On
    PostgreSQL :func:`_schema_lock` serialises creation; for other servers a collision is retried, by
    which time the winner's schema exists and creation is skipped.
    """
    for attempt in range(_SCHEMA_ATTEMPTS):
        try:
            with warnings.catch_warnings():  # heartbeats are flagged experimental since Optuna 2.9
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                storage = RDBStorage(url, heartbeat_interval=HEARTBEAT_SECONDS, grace_period=GRACE_SECONDS)
            if storage.engine.name == "sqlite":
                _fast_sqlite(storage.engine)
            return storage
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError, sqlalchemy.exc.OperationalError) as exc:
            racing = not isinstance(exc, sqlalchemy.exc.OperationalError) or "already exists" in str(exc.orig)
            if not racing or attempt == _SCHEMA_ATTEMPTS - 1:  # SQLite says "table ... already exists"
                raise
            time.sleep(0.1 * (attempt + 1) + random.random() * 0.1)
    raise AssertionError("unreachable")


def _fast_sqlite(engine: sqlalchemy.engine.Engine) -> None:
    """SQLite in write-ahead-log mode with ``synchronous=NORMAL`` on every connection of ``engine``.

    In the default rollback-journal mode each of a trial's commits syncs the database file twice; with a
    write-ahead log a commit appends to the log and syncs only at checkpoints. A commit that returned is
    durable against a crash of the process (the kill/resume guarantee); an operating-system crash or
    power loss may lose the last commits, never corrupt the file. Readers (optuna-dashboard) do not
    block the writer. The mode is stored in the file; the ``-wal``/``-shm`` files beside it are
    SQLite's own and go away when the last connection closes.
    """

    def on_connect(conn: Any, _record: Any) -> None:
        cursor = conn.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    sqlalchemy.event.listen(engine, "connect", on_connect)
    engine.dispose()  # connections made while creating the schema reconnect with the settings


def checkpoint(storage: BaseStorage | None) -> None:
    """Fold a SQLite storage's write-ahead log into the database file (other storages: nothing to do).

    Closing the pooled connections lets SQLite checkpoint the log and remove it, so the ``.db`` file
    alone holds the whole study again: a user may copy or move it after ``optimize`` returns. Later reads
    simply reconnect.
    """
    backend = getattr(storage, "_backend", storage)  # Optuna wraps an RDBStorage in a cache
    engine = getattr(backend, "engine", None)
    if isinstance(backend, RDBStorage) and engine is not None and engine.url.get_backend_name() == "sqlite":
        engine.dispose()


@contextlib.contextmanager
def _schema_lock(url: str) -> Iterator[None]:
    """Hold a PostgreSQL advisory lock while Optuna creates or checks its schema (other URLs: no lock).

    The lock is session-level on a connection of its own, so the server releases it if this process dies.
    """
    if not url.startswith("postgresql"):
        yield
        return
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("SELECT pg_advisory_lock(:key)"), {"key": _SCHEMA_LOCK_KEY})
            try:
                yield
            finally:
                conn.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:key)"), {"key": _SCHEMA_LOCK_KEY})
    finally:
        engine.dispose()


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


_SCHEMES = ("sqlite", "journal", "postgresql", "postgres", "mysql", "mariadb", "oracle", "mssql", "cockroachdb")
_SQLITE_HEADER = b"SQLite format 3\x00"


def check_storage(storage: str | Path | BaseStorage | None) -> None:
    """Refuse a storage that cannot work, before anything is written: an unknown URL scheme, a SQLite path
    that holds something else, a path under a regular file or in a folder that cannot be written.

    Raises:
        ConfigError: Naming the storage, what is wrong with it and what to pass instead.
    """
    if storage is None or isinstance(storage, BaseStorage):
        return
    url = storage_url(storage)
    scheme = url.split("://", 1)[0]
    if scheme.split("+", 1)[0].lower() not in _SCHEMES:
        raise ConfigError(
            f"`storage` {str(storage)!r} has the URL scheme {scheme!r}, which is not a database paretoml knows "
            f"({', '.join(_SCHEMES)}). Pass a SQLite path ('studies/x.db'), a journal file ('studies/x.log') or a "
            "server URL such as 'postgresql+psycopg://user@host/db'."
        )
    for prefix in ("sqlite:///", "journal:///"):
        rest = url[len(prefix) :] if url.startswith(prefix) else ""
        if rest and rest != ":memory:":
            _check_file(Path(rest), "storage", sqlite=prefix == "sqlite:///")


def check_artifact_dir(directory: Path) -> None:
    """Refuse an ``artifacts`` folder that is a file, lies under a file, or cannot be written.

    Raises:
        ConfigError: Naming the folder and the fix.
    """
    if directory.exists() and not directory.is_dir():
        raise ConfigError(f"`artifacts` {str(directory)!r} is a file, not a folder. Pass a folder path.")
    _check_folder(directory, "artifacts", directory)


def _check_file(path: Path, name: str, *, sqlite: bool) -> None:
    if path.is_dir():
        raise ConfigError(f"`{name}` {str(path)!r} is a folder. Pass a file path such as {str(path / 'study.db')!r}.")
    if path.exists():
        with path.open("rb") as fh:
            head = fh.read(len(_SQLITE_HEADER))
        if sqlite and head and head != _SQLITE_HEADER:
            raise ConfigError(
                f"`{name}` {str(path)!r} exists and is not a SQLite database. Pass the path of a study database, "
                "or a new file name (journal files end in .log)."
            )
        try:
            path.open("r+b").close()
        except OSError as exc:
            raise ConfigError(
                f"`{name}` {str(path)!r} cannot be written ({exc.strerror}). Pass a file you may write."
            ) from None
    _check_folder(path.parent, name, path)


def _check_folder(folder: Path, name: str, given: Path) -> None:
    """The nearest existing folder of ``folder`` must be a folder this process can write in."""
    existing = folder
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(
            f"`{name}` {str(given)!r} lies under {str(existing)!r}, which is a file, not a folder. Pass a path "
            "in a folder."
        )
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(
            f"`{name}` {str(given)!r}: the folder {str(existing)!r} cannot be written ({reason}). Pass a path in a "
            "folder you may write."
        ) from None


def make_sampler(
    sampler: str | optuna.samplers.BaseSampler | None, seed: int, *, workers: int = 1, accurate_share: float = 0.0
) -> optuna.samplers.BaseSampler:
    """Optuna's multi-objective default (TPE) seeded, a sampler by name, or the given object.

    TPE is :class:`~paretoml.study._sampler.FlatTPESampler`: Optuna's TPE at a per-trial cost that stays
    small as the study grows, with the constant liar only where several workers run at once. A named
    sampler is wrapped so that ``accurate_share`` of the trials keep all features and compress nothing
    (:class:`~paretoml.study._accurate.AccurateShare`); with TPE, those trials' family and
    hyperparameters are chosen by a single-objective TPE on the metric of the study's lossless trials. A
    sampler object is used as given.

    Constraints need nothing here: each trial records its violations with ``Trial.set_constraint`` (the
    ``constraints:<name>`` system attrs), and TPE and NSGA-II read them from the trials (c-TPE; NSGA-II's
    constrained domination) to favour trials that meet them.
    """
    if isinstance(sampler, optuna.samplers.BaseSampler):
        return sampler
    base: optuna.samplers.BaseSampler
    metric: optuna.samplers.BaseSampler | None = None
    if sampler is None or sampler == "tpe":
        base = FlatTPESampler(seed=seed, constant_liar=workers > 1)
        metric = FlatTPESampler(seed=seed + 1, constant_liar=False, multivariate=False)
    elif sampler == "nsga2":
        base = optuna.samplers.NSGAIISampler(seed=seed)
    elif sampler == "random":
        base = optuna.samplers.RandomSampler(seed=seed)
    else:
        raise ConfigError(f"`sampler` must be 'tpe', 'nsga2', 'random' or an Optuna sampler; got {sampler!r}.")
    return with_accurate_share(base, accurate_share, metric)


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
