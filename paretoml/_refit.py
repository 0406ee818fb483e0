"""Refit a trial's configuration on more rows: the model that is shipped.

The search chooses on the validation split and fits on the training split only (60% of the rows by
default). The shipped model is the chosen configuration fitted again on train + validation rows (as
FLAML's ``retrain_full`` and AutoGluon's ``refit_full`` do): the same features, hyperparameters and
compression; the boosting rounds of the early-stopped search model (see
:func:`paretoml.trial.refit_rounds`), with no early stopping; a CNN trained for its configured
epochs. The refit is measured again (latency, size), scored on the untouched test split and stored as
an artifact of the study, described by the study user attr ``refit_<rows>_<trial>``, so that a second
call, the CLI and the dashboard get the same files. ``rows="all"`` also fits on the test rows and has
no honest test score.
"""

from __future__ import annotations

import math
import tempfile
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
from optuna.artifacts import FileSystemArtifactStore, upload_artifact
from optuna.trial import FrozenTrial

from paretoml.exceptions import ConfigError
from paretoml.measure import NO_LOCK, TimingLock
from paretoml.serving import Predictor
from paretoml.trial import Problem, Rows, TrialConfig, refit_rounds, run_trial

if TYPE_CHECKING:
    from paretoml._result import Result

__all__ = ["REFIT_ROWS", "refit_front", "refit_key", "refit_rows", "refit_trial", "stored_refits"]

REFIT_ROWS: tuple[str, ...] = ("train+valid", "all")
_KEY = "refit_{rows}_{number}"
_TIME_SHARE = 0.10  # of a time budget, spent at most on refits past the most accurate member


def refit_rows(refit: bool | str) -> Rows | None:
    """The rows a ``refit=`` argument asks for: None (the search-time model), ``"train+valid"`` or ``"all"``.

    Raises:
        ConfigError: For any other value.
    """
    if refit is False:
        return None
    if refit is True or refit == "train+valid":
        return "train+valid"
    if refit == "all":
        return "all"
    raise ConfigError(
        f"`refit` must be True (train + validation rows), False (the search-time model) or 'all' "
        f"(train + validation + test rows, no honest test score); got {refit!r}."
    )


def refit_key(number: int, rows: str) -> str:
    """The study user attr describing trial ``number``'s refit on ``rows``."""
    return _KEY.format(rows="all" if rows == "all" else "full", number=number)


def stored_refits(study: optuna.Study, rows: str = "train+valid") -> dict[int, dict[str, Any]]:
    """Every stored refit on ``rows``, by trial number: ``artifact_id, metric_test, latency_p50_ms, size_kb...``."""
    prefix = refit_key(0, rows)[:-1]
    return {int(k[len(prefix) :]): v for k, v in study.user_attrs.items() if k.startswith(prefix)}


def _config(study_name: str, trial: FrozenTrial, problem: Problem, rows: Rows) -> TrialConfig:
    attrs = trial.user_attrs
    fitted_rows = int(attrs.get("trained_rows") or problem.n_train)
    rounds_fitted = attrs.get("rounds_fitted")
    target_rows = int(problem.refit_fold(rows).fit.size)
    rounds = None if rounds_fitted is None else refit_rounds(int(rounds_fitted), fitted_rows, target_rows)
    return TrialConfig(
        family=str(attrs["family"]),
        params=dict(attrs["config"]),
        features=list(attrs["features"]),
        compression=dict(attrs.get("compression_settings") or {}),
        seed=problem.seed + trial.number,
        rows=rows,
        rounds=rounds,
        info={"study": study_name, "trial": trial.number, "refit": rows},
    )


def refit_trial(
    study: optuna.Study,
    trial: FrozenTrial,
    problem: Problem,
    store: FileSystemArtifactStore,
    rows: Rows = "train+valid",
    *,
    lock: TimingLock = NO_LOCK,
) -> tuple[Predictor, dict[str, Any]]:
    """Refit ``trial``'s configuration on ``rows``, measure it, store it; returns the Predictor and its record.

    Args:
        study: The study (the record is one of its user attrs; the artifact is attached to it).
        trial: A completed trial.
        problem: The study's data, prepared.
        store: The study's artifact store.
        rows: ``"train+valid"`` or ``"all"``.
        lock: The machine lock (shared while fitting, exclusive while timing).
    """
    started = time.perf_counter()
    config = _config(study.study_name, trial, problem, rows)
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / f"predictor-trial-{trial.number}-refit-{'all' if rows == 'all' else 'full'}.zip"
        out = run_trial(problem, config, lock=lock, archive=archive)
        artifact_id = upload_artifact(
            artifact_store=store, file_path=str(archive), study_or_trial=study, mimetype="application/zip"
        )
    record = {
        "artifact_id": artifact_id,
        "rows": rows,
        "trained_rows": out.trained_rows,
        "metric_test": out.metric,  # None for "all": the test rows were fitted on
        "honest_test_score": rows != "all",
        "latency_p50_ms": out.latency.p50_ms,
        "latency_p95_ms": out.latency.p95_ms,
        "size_kb": out.size.size_kb,
        "size_bytes": out.size.size_bytes,
        "rounds": config.rounds,
        "refit_seconds": time.perf_counter() - started,
    }
    study.set_user_attr(refit_key(trial.number, rows), record)
    return out.predictor, record


def refit_front(result: Result, budget_s: float | None, *, deadline: float | None = None) -> list[int]:
    """Refit front members at the end of ``optimize``, so that they ship refit (also from a stored study).

    With a trial-count budget (no time limit) every front member is refit: a refit costs about one
    trial, like the front's test re-scoring, and a study loaded later (CLI ``export``, a pick with any
    weights) then has a refit for whatever it picks. With a time budget the most accurate member is
    refit (what an accuracy comparison ships), then further members in order of validation metric while
    the refits have taken less than 10% of the budget; none once ``deadline`` (a ``time.monotonic()``
    value: the end of the budget) has passed. Any other trial is refit on first
    use by ``result.predictor`` when the result holds the data.

    Returns:
        The trial numbers refit.
    """
    allowance = math.inf if budget_s is None else _TIME_SHARE * budget_s
    started = time.perf_counter()
    done: list[int] = []
    for number in result.front["trial"].tolist():
        late = deadline is not None and time.monotonic() >= deadline
        if late or (done and time.perf_counter() - started >= allowance):
            break
        try:
            result.predictor(int(number))
        except Exception as exc:  # a failed refit leaves the search-time model; the study's result stands
            warnings.warn(f"refitting trial {number} failed ({type(exc).__name__}: {exc}); "
                          "predictor() of it will try again.", UserWarning, stacklevel=3)  # fmt: skip
            continue
        done.append(int(number))
    return done
