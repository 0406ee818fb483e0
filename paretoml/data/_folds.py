"""Which rows a trial fits on, early-stops on and is scored on: the holdout, k folds, or a refit.

Rows are indexed in one pool: the training split, then the validation split, then the test split.
Cross-validation keeps the validation split as fold 0 (so the holdout model is one of the folds and
is the one served, timed and sized) and cuts the training split into ``k - 1`` more folds (stratified
for classification); with the default 60/20 split every fold holds 20% of the rows. The test rows
enter no search fold and no ``"train+valid"`` refit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold

from paretoml.exceptions import ConfigError

__all__ = ["CV_FOLDS", "SMALL_DATA_ROWS", "Fold", "holdout_and_folds", "refit_fold", "resolve_folds"]

#: Below this many training + validation rows, ``cv_folds="auto"`` cross-validates the metric.
SMALL_DATA_ROWS = 4000
#: Folds of ``"auto"`` cross-validation: with the default 60/20/20 split every fold holds 20% of the rows.
CV_FOLDS = 4


@dataclass(frozen=True)
class Fold:
    """Row indices into the pool.

    Attributes:
        name: ``"holdout"``, ``"fold<i>"``, ``"train+valid"`` or ``"all"``.
        fit: Rows the model is trained on.
        stop: Rows early stopping watches (inside ``fit`` for a refit, which does not early-stop).
        score: Rows the model is scored on (empty when none is left: an ``"all"`` refit).
    """

    name: str
    fit: np.ndarray
    stop: np.ndarray
    score: np.ndarray


def holdout_and_folds(y_train: np.ndarray, n_valid: int, k: int, *, stratify: bool, seed: int) -> list[Fold]:
    """The search folds: the validation split (fold 0), then ``k - 1`` folds cut from the training split.

    Args:
        y_train: The training split's encoded target (for stratification).
        n_valid: Rows of the validation split.
        k: 1 (holdout only) or the number of folds (at least 3).
        stratify: Whether to keep class proportions in each fold.
        seed: Seed of the cut.

    Raises:
        ConfigError: For a fold count of 2 or below 1.
    """
    n_train = len(y_train)
    train = np.arange(n_train)
    valid = np.arange(n_train, n_train + n_valid)
    folds = [Fold("holdout", train, valid, valid)]
    if k == 1:
        return folds
    if k < 3:
        raise ConfigError(f"`cv_folds` must be 1 (holdout) or at least 3; got {k}.")
    counts = np.bincount(y_train.astype(np.int64)) if stratify else np.array([])
    use_strata = stratify and counts[counts > 0].min() >= k - 1
    splitter = (
        StratifiedKFold(k - 1, shuffle=True, random_state=seed)
        if use_strata
        else KFold(k - 1, shuffle=True, random_state=seed)
    )
    for i, (_, part) in enumerate(splitter.split(train, y_train if use_strata else None), start=1):
        held = np.sort(part)
        fit = np.concatenate([np.setdiff1d(train, held, assume_unique=True), valid])
        folds.append(Fold(f"fold{i}", fit, held, held))
    return folds


def refit_fold(n_train: int, n_valid: int, n_test: int, rows: str) -> Fold:
    """The rows of a refit: train + valid (scored on test), or every row (scored on nothing)."""
    valid = np.arange(n_train, n_train + n_valid)
    test = np.arange(n_train + n_valid, n_train + n_valid + n_test)
    if rows == "train+valid":
        return Fold(rows, np.arange(n_train + n_valid), valid, test)
    if rows == "all":
        return Fold(rows, np.arange(n_train + n_valid + n_test), valid, test[:0])
    raise ConfigError(f"`refit` rows must be 'train+valid' or 'all'; got {rows!r}.")


def resolve_folds(spec: int | str, n_rows: int) -> int:
    """The fold count for ``optimize(cv_folds=...)``.

    Args:
        spec: ``"auto"`` (:data:`CV_FOLDS` folds below :data:`SMALL_DATA_ROWS` training + validation rows,
            else a holdout), 1 (holdout on the validation split) or a fold count of at least 3.
        n_rows: Training + validation rows.

    Raises:
        ConfigError: For any other value.
    """
    if spec == "auto":
        return CV_FOLDS if n_rows < SMALL_DATA_ROWS else 1
    if isinstance(spec, bool) or not isinstance(spec, int) or spec == 2 or not 1 <= spec <= 20:
        raise ConfigError(
            f"`cv_folds` must be 'auto', 1 (holdout on the validation split) or a fold count from 3 to 20; "
            f"got {spec!r}."
        )
    return spec
