"""Opening a stored paretoml study: the storage, the study in it, and its artifact folder."""

from __future__ import annotations

from pathlib import Path

import optuna

from paretoml._result import Result
from paretoml.exceptions import ConfigError
from paretoml.study._storage import artifact_dir_for, open_existing_storage

__all__ = ["load_study"]


def load_study(storage: str | Path, study_name: str | None = None, *, artifacts: str | Path | None = None) -> Result:
    """Open a stored paretoml study without re-running anything.

    Args:
        storage: A study database path (``studies/x.db``) or an Optuna storage URL.
        study_name: The study; may be left out when the storage holds exactly one.
        artifacts: The artifact directory. Default: the one the study recorded or, when that no longer
            exists (the study was moved or copied), ``<db stem>_artifacts`` next to the database.

    Returns:
        The result, with ``front`` and ``predictor()`` available (the latter raises a ``ConfigError``
        naming the folders looked in when the artifacts are gone).

    Raises:
        ConfigError: When the study cannot be found.
    """
    store = open_existing_storage(storage)  # reading creates nothing: no folder, no file, no table
    names = [s.study_name for s in optuna.get_all_study_summaries(storage=store)]
    if not names:
        raise ConfigError(
            f"`storage` {str(storage)!r} holds no study. Pass the database a study was written to (as `paretoml run` "
            "prints), or run one first."
        )
    if study_name is None:
        if len(names) != 1:
            raise ConfigError(f"`study_name` is needed: the storage holds studies {names}.")
        study_name = names[0]
    if study_name not in names:
        raise ConfigError(f"study {study_name!r} is not in the storage; it holds {names}.")
    study = optuna.load_study(study_name=study_name, storage=store)
    looked_in = _artifact_dirs(storage, study, artifacts)
    if not looked_in:
        raise ConfigError(f"study {study_name!r} records no artifact directory; pass `artifacts=`.")
    result = Result(study, next((p for p in looked_in if p.is_dir()), looked_in[0]))
    result._looked_in = looked_in
    return result


def _artifact_dirs(storage: str | Path, study: optuna.Study, given: str | Path | None) -> list[Path]:
    """Where a loaded study's artifacts may be, in order: ``given``; else the recorded directory, then
    ``<db stem>_artifacts`` next to a SQLite or journal file (a moved study keeps its folder beside it)."""
    if given is not None:
        return [Path(given).expanduser()]
    stored = study.user_attrs.get("artifact_dir")
    out = [Path(stored)] if stored else []
    try:
        beside, _ = artifact_dir_for(str(storage), None)
    except ConfigError:  # a server database: artifacts live where the study says
        return out
    return [*out, beside]
