"""Trial user attrs: written in one storage transaction where the storage allows it, read in one place.

Optuna has no bulk user-attr API, and each ``trial.set_user_attr`` is a storage round trip: on SQLite a
transaction with its own commit, on a journal file a locked append plus a re-read of the log. A trial
records some 25-30 attrs, which made recording cost more than fitting on small data. :func:`write_attrs`
writes them all in one transaction on a relational database: on SQLite and PostgreSQL one check that
the trial may be updated and one multi-row upsert (the statement Optuna uses per attr), elsewhere
Optuna's per-attr statement inside the one transaction; other storages get one call per attr (in
memory that is a dict update). The attrs stay separate keys, so optuna-dashboard shows each of them as before.

The parameters a trial samples (some 15-20) are each a transaction too: :func:`params_in_one_write`
collects them while the configuration is sampled and writes them in one transaction on a relational
database, before the trial fits (so other workers and the dashboard see them while it runs).

Readers (the result table, the report, the refit, the MLflow export) go through :func:`trial_attrs`.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator, Mapping
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.storages import BaseStorage, RDBStorage
from optuna.trial import FrozenTrial

from paretoml._budget import BudgetSpent

__all__ = ["FAIL_REASON", "LOCK_WAIT", "params_in_one_write", "spent", "trial_attrs", "write_attrs"]

FAIL_REASON = "fail_reason"
LOCK_WAIT = "lock_wait_seconds"


def _rdb_backend(storage: BaseStorage) -> RDBStorage | None:
    """The relational storage behind ``storage`` (Optuna wraps it in a cache), or None."""
    backend = getattr(storage, "_backend", storage)
    return backend if isinstance(backend, RDBStorage) else None


def write_attrs(trial: optuna.Trial | FrozenTrial, attrs: Mapping[str, Any], study: optuna.Study | None = None) -> None:
    """Set every key of ``attrs`` as a user attr of ``trial``, in one transaction where possible.

    Args:
        trial: A running :class:`optuna.Trial`, or a frozen trial of ``study`` (e.g. a RUNNING one).
        attrs: JSON-serialisable values by key.
        study: The trial's study, needed for a frozen trial.
    """
    if not attrs:
        return
    if isinstance(trial, optuna.Trial):
        storage, trial_id = trial.storage, trial._trial_id
    else:
        assert study is not None, "a frozen trial needs its study"
        storage, trial_id = study._storage, trial._trial_id
    rdb = _rdb_backend(storage)
    if rdb is None:
        for key, value in attrs.items():
            storage.set_trial_user_attr(trial_id, key, value)
        return
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session

    with _create_scoped_session(rdb.scoped_session, True) as session:  # one transaction for all of them
        dialect = rdb.engine.name
        if dialect not in ("sqlite", "postgresql"):
            for key, value in attrs.items():
                rdb._set_trial_attr_without_commit(session, models.TrialUserAttributeModel, trial_id, key, value)
            return
        row = models.TrialModel.find_or_raise_by_id(trial_id, session)
        rdb.check_trial_is_updatable(trial_id, row.state)  # type: ignore[arg-type]  # a column of TrialState
        session.execute(_upsert(dialect, [{"trial_id": trial_id, "key": k, "value_json": json.dumps(v)}
                                          for k, v in attrs.items()]))  # fmt: skip


def _upsert(dialect: str, rows: list[dict[str, Any]]) -> Any:
    """One ``INSERT ... ON CONFLICT (trial_id, key) DO UPDATE`` of every row (what Optuna does per attr)."""
    from optuna.storages._rdb import models
    from sqlalchemy.dialects import postgresql, sqlite

    insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
    table = models.TrialUserAttributeModel
    statement = insert(table).values(rows)
    return statement.on_conflict_do_update(
        index_elements=[table.trial_id, table.key], set_={"value_json": statement.excluded.value_json}
    )


class _HeldParams:
    """The trial's storage with ``set_trial_param`` held back; every other call goes to the storage."""

    def __init__(self, storage: BaseStorage) -> None:
        self._storage = storage
        self.held: list[tuple[int, str, float, BaseDistribution]] = []

    def set_trial_param(self, trial_id: int, name: str, value: float, distribution: BaseDistribution) -> None:
        self.held.append((trial_id, name, value, distribution))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)


@contextlib.contextmanager
def params_in_one_write(trial: optuna.Trial) -> Iterator[None]:
    """Write the parameters ``trial`` samples inside the block in one transaction (relational storages).

    Optuna writes each suggested parameter at once, in its own transaction; here they are held and
    written when the block ends (also when it raises, so what was sampled is recorded), with Optuna's own
    per-parameter statement and checks (the trial may be updated, looked up once; a parameter keeps its
    distribution across the study). Other storages are left as they are.
    """
    storage = trial.storage
    rdb = _rdb_backend(storage)
    if rdb is None:
        yield
        return
    held = _HeldParams(storage)
    trial.storage = held  # type: ignore[assignment]  # duck-typed: only set_trial_param differs
    try:
        yield
    finally:
        trial.storage = storage
        _write_params(storage, rdb, held.held)


def _write_params(storage: BaseStorage, rdb: RDBStorage, held: list[tuple[int, str, float, BaseDistribution]]) -> None:
    """Optuna's ``_set_trial_param_without_commit`` for every held parameter, with the trial looked up once."""
    if not held:
        return
    from optuna import distributions
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session

    cache = getattr(storage, "_studies", None)  # Optuna's cached storage knows each parameter's distribution
    ids = getattr(storage, "_trial_id_to_study_id_and_number", {})
    trial_id = held[0][0]
    known = cache[ids[trial_id][0]].param_distribution if cache is not None and trial_id in ids else {}
    with _create_scoped_session(rdb.scoped_session, True) as session:
        row = models.TrialModel.find_or_raise_by_id(trial_id, session)
        rdb.check_trial_is_updatable(trial_id, row.state)  # type: ignore[arg-type]  # a column of TrialState
        for _, name, value, distribution in held:
            previous = known.get(name)
            if previous is None:  # not seen in this process: the study's record decides, as in Optuna
                record = (
                    session.query(models.TrialParamModel)
                    .join(models.TrialModel)
                    .filter(models.TrialModel.study_id == row.study_id)
                    .filter(models.TrialParamModel.param_name == name)
                    .first()
                )
                previous = None if record is None else distributions.json_to_distribution(str(record.distribution_json))
            if previous is not None:
                distributions.check_distribution_compatibility(previous, distribution)
            as_json = distributions.distribution_to_json(distribution)
            session.add(
                models.TrialParamModel(trial_id=trial_id, param_name=name, param_value=value, distribution_json=as_json)
            )
    if cache is not None and trial_id in ids:
        for _, name, _, distribution in held:
            known.setdefault(name, distribution)


def trial_attrs(trial: FrozenTrial) -> dict[str, Any]:
    """Everything paretoml recorded about a finished (or running) trial, by attr name.

    Args:
        trial: A frozen trial from the study.

    Returns:
        A new dict of the trial's user attrs (a reader may change it freely).
    """
    return dict(trial.user_attrs)


def spent(study: optuna.Study, earlier: set[int], started: float, setup: float, trials_done: float) -> BudgetSpent:
    """Where an ``optimize`` call's time went, from the attrs of the trials it ran.

    Args:
        study: The study.
        earlier: Numbers of the trials that had finished before the call (a resumed study's).
        started: ``time.monotonic()`` at the call's start.
        setup: Seconds before the first trial.
        trials_done: ``time.monotonic()`` when the last trial ended.
    """
    ran = [
        trial_attrs(t) for t in study.get_trials(deepcopy=False) if t.state.is_finished() and t.number not in earlier
    ]

    def total(key: str) -> float:
        return float(sum(a.get(key) or 0.0 for a in ran))

    now = time.monotonic()
    return BudgetSpent(wall=now - started, setup=setup, fitting=total("fit_seconds"),
                       measuring=total("measure_seconds"), lock_wait=total(LOCK_WAIT), final=now - trials_done,
                       trials=len(ran))  # fmt: skip
