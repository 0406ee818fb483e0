"""Trial user attrs: written in one storage transaction where the storage allows it, read in one place.

Optuna has no bulk user-attr API, and each ``trial.set_user_attr`` is a storage round trip: on SQLite a
transaction with its own commit, on a journal file a locked append plus a re-read of the log. A trial
records some 25-30 attrs, which made recording cost more than fitting on small data. :func:`write_attrs`
writes them all in one transaction on a relational database: on SQLite and PostgreSQL one check that
the trial may be updated and one multi-row upsert (the statement Optuna uses per attr), elsewhere
Optuna's per-attr statement inside the one transaction; other storages get one call per attr (in
memory that is a dict update). The attrs stay separate keys, so optuna-dashboard shows each of them as before.

Readers (the result table, the report, the refit, the MLflow export) go through :func:`trial_attrs`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import optuna
from optuna.storages import BaseStorage, RDBStorage
from optuna.trial import FrozenTrial

from paretoml._budget import BudgetSpent

__all__ = ["FAIL_REASON", "LOCK_WAIT", "spent", "trial_attrs", "write_attrs"]

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
