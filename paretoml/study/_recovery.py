"""Never lose finished work: atomic artifacts, and failing trials that a dead worker left RUNNING."""

from __future__ import annotations

import datetime
import os
import shutil
import socket
import tempfile
from typing import BinaryIO

import optuna
from optuna.artifacts import FileSystemArtifactStore
from optuna.trial import TrialState

__all__ = ["WORKER_ATTR", "AtomicFileSystemArtifactStore", "fail_dead_trials", "worker_id"]

WORKER_ATTR = "worker"


def worker_id() -> str:
    """``host:pid`` of this process, recorded on every trial it runs."""
    return f"{socket.gethostname()}:{os.getpid()}"


class AtomicFileSystemArtifactStore(FileSystemArtifactStore):
    """A file-system artifact store whose files appear whole or not at all.

    Writes go to a temporary file in the same folder, then ``os.replace`` renames it into place, so a
    process killed mid-write leaves no half-written artifact under the final name.
    """

    def write(self, artifact_id: str, content_body: BinaryIO) -> None:
        path = self._get_filepath(artifact_id)
        folder = os.path.dirname(path) or "."
        fd, tmp = tempfile.mkstemp(prefix=".partial-", dir=folder)
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(content_body, out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fail_dead_trials(study: optuna.Study, grace_seconds: float = 20.0) -> list[int]:
    """Mark FAIL the RUNNING trials whose worker is gone.

    A trial is gone when the worker it records (``host:pid``) is on this host and no longer runs, or
    when it records no worker at all ``grace_seconds`` after it started: a live worker records itself
    within milliseconds, so such a trial was created by a process killed before its first statement.
    Storages with a heartbeat (SQLite, PostgreSQL) also fail stale trials of other hosts through
    Optuna's heartbeat; this check covers the journal file storage and acts at once.

    Returns:
        The numbers of the trials marked FAIL.
    """
    host = socket.gethostname()
    now = datetime.datetime.now()
    failed = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        owner = str(trial.user_attrs.get(WORKER_ATTR, ""))
        owner_host, _, pid = owner.rpartition(":")
        if owner:
            if owner_host != host or not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
                continue
            reason = f"worker {owner} died (killed or crashed) while the trial ran"
        else:
            started = trial.datetime_start
            if started is None or (now - started).total_seconds() < grace_seconds:
                continue
            reason = "its worker died before the trial began (no worker recorded it)"
        storage = study._storage
        storage.set_trial_user_attr(trial._trial_id, "fail_reason", reason)
        if storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL):
            failed.append(trial.number)
    return failed
