"""Seeded train/validation/test splits; the test split is kept away from the search."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from paretoml.data._checks import MIN_TRAIN_ROWS, min_rows_per_class, warn_target_leaks
from paretoml.data._intake import Dataset
from paretoml.exceptions import ConfigError, DataError

__all__ = ["Splits", "make_splits"]


@dataclass(frozen=True)
class Part:
    """One split: raw features and the encoded target."""

    X: pd.DataFrame
    y: np.ndarray


@dataclass(frozen=True)
class Splits:
    """Train, validation and test parts of a data set."""

    train: Part
    valid: Part
    test: Part


def _check_size(name: str, value: float) -> None:
    if not 0.0 < value < 1.0:
        raise ConfigError(f"`{name}` must be a fraction strictly between 0 and 1; got {value!r}.")


def _cut(ds: Dataset, idx: np.ndarray, size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    stratify = None
    if ds.task != "regression":
        counts = np.bincount(ds.y[idx])
        if counts[counts > 0].min() >= 2:
            stratify = ds.y[idx]
        else:
            warnings.warn(
                "a class has a single row; splitting without stratification.",
                UserWarning,
                stacklevel=3,
            )
    from sklearn.model_selection import train_test_split  # here: serving imports paretoml.data, not this

    try:
        keep, cut = train_test_split(idx, test_size=size, random_state=seed, stratify=stratify)
    except ValueError as exc:
        raise DataError(
            f"cannot split {len(idx)} rows into parts of {size:.0%}: {exc}. Pass more rows or "
            "give `validation=`/`test=` sets explicitly."
        ) from exc
    return np.sort(keep), np.sort(cut)


def make_splits(
    ds: Dataset,
    *,
    valid_size: float = 0.2,
    test_size: float = 0.2,
    seed: int = 0,
    validation: Dataset | None = None,
    test: Dataset | None = None,
) -> Splits:
    """Split ``ds`` into train/validation/test, stratified by class for classification.

    Args:
        ds: The validated data set.
        valid_size: Fraction of all rows used for validation (ignored when ``validation`` is given).
        test_size: Fraction of all rows held out for the final test (ignored when ``test`` is given).
        seed: Seed of the split.
        validation: A user-given validation set (same columns, encoded with the same classes).
        test: A user-given test set.

    Returns:
        The three parts.
    """
    _check_size("valid_size", valid_size)
    _check_size("test_size", test_size)
    if validation is None and test is None and valid_size + test_size >= 0.9:
        raise ConfigError(
            f"`valid_size` + `test_size` must leave at least 10% for training; got {valid_size} + {test_size}."
        )
    fractions = [test_size] if test is None else []
    if validation is None:
        fractions.append(valid_size / (1.0 - (test_size if test is None else 0.0)))
    _check_class_rows(ds, fractions)
    for name, given in (("validation", validation), ("test", test)):
        if given is not None:
            _warn_missing_classes(name, given, ds)
    idx = np.arange(len(ds.y))
    rest = idx
    if test is None:
        rest, test_idx = _cut(ds, rest, test_size, seed)
        test_part = Part(ds.X.iloc[test_idx].reset_index(drop=True), ds.y[test_idx])
    else:
        test_part = Part(test.X, test.y)
    if validation is None:
        frac = valid_size / (1.0 - (test_size if test is None else 0.0))
        rest, valid_idx = _cut(ds, rest, frac, seed + 1)
        valid_part = Part(ds.X.iloc[valid_idx].reset_index(drop=True), ds.y[valid_idx])
    else:
        valid_part = Part(validation.X, validation.y)
    train_part = Part(ds.X.iloc[rest].reset_index(drop=True), ds.y[rest])
    _check_part_rows(len(ds.y), fractions, [len(train_part.y), len(valid_part.y), len(test_part.y)])
    if len(train_part.y) >= _LEAK_MIN_ROWS:  # on fewer rows a feature matches the target by chance
        warn_target_leaks(train_part.X, train_part.y, ds.task)
    return Splits(train=train_part, valid=valid_part, test=test_part)


_LEAK_MIN_ROWS = 30
_MIN_SCORED_ROWS = 2  # a metric on validation or test needs two rows (R² and AUC are undefined on one)


def _check_class_rows(ds: Dataset, fractions: list[float]) -> None:
    """Refuse a class too small for every split part to hold one row of it (its scores would be NaN)."""
    if ds.task == "regression" or not fractions:
        return
    need = min_rows_per_class(fractions)
    counts = np.bincount(ds.y, minlength=len(ds.classes))
    labels = [c.item() if isinstance(c, np.generic) else c for c in ds.classes]
    small = [(labels[i], int(n)) for i, n in enumerate(counts) if n < need]
    if small:
        label, n = small[0]
        parts = "train, validation and test" if len(fractions) == 2 else "train and the split-off part"
        raise DataError(
            f"class {label!r} has {n} row(s) (of {len(ds.y)}); the split needs at least {need} rows of every class "
            f"so that {parts} each hold one (else its scores are undefined). Add rows of that class, merge it "
            "with another or drop it, or pass `validation=` and `test=` sets that hold it."
        )


def _warn_missing_classes(name: str, given: Dataset, ds: Dataset) -> None:
    """Warn when a given validation or test set lacks a class: ROC AUC and the like are NaN on it."""
    if ds.task == "regression":
        return
    missing = sorted(set(range(len(ds.classes))) - set(np.unique(given.y).tolist()))
    if missing:
        labels = [c.item() if isinstance(c, np.generic) else c for c in ds.classes[missing]]
        warnings.warn(
            f"`{name}` holds no rows of classes {labels[:10]!r}: metrics such as ROC AUC are undefined (NaN) "
            f"on it, and a pick then falls back to validation. Give `{name}=` rows of every class.",
            UserWarning,
            stacklevel=3,
        )


def _check_part_rows(n: int, fractions: list[float], sizes: list[int]) -> None:
    """Refuse splits too small to train on or to score (they would fail every trial)."""
    train, valid, test = sizes
    if train >= MIN_TRAIN_ROWS and valid >= _MIN_SCORED_ROWS and test >= _MIN_SCORED_ROWS:
        return
    raise DataError(
        f"{n} rows split into {train} train, {valid} validation and {test} test rows; paretoml needs at least "
        f"{MIN_TRAIN_ROWS} training rows and {_MIN_SCORED_ROWS} each for validation and test. Pass at least "
        f"{_min_total_rows(fractions)} rows, or give `validation=`/`test=` sets explicitly."
    )


def _min_total_rows(fractions: list[float]) -> int:
    """The fewest rows whose cuts (scikit-learn rounds each cut up) leave enough rows in every part."""
    n = MIN_TRAIN_ROWS
    while True:
        rest, cuts = n, []
        for f in fractions:
            cuts.append(math.ceil(f * rest - 1e-9))
            rest -= cuts[-1]
        if rest >= MIN_TRAIN_ROWS and all(c >= _MIN_SCORED_ROWS for c in cuts):
            return n
        n += 1
