"""Validate the user's data and turn it into a feature frame, an encoded target and a task."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from paretoml.data._checks import check_feature_values, check_target_values, numbers_from_objects
from paretoml.exceptions import ConfigError, DataError

__all__ = ["TASKS", "Dataset", "Task", "as_frame", "intake", "intake_like"]

Task = Literal["binary", "multiclass", "regression"]
TASKS: tuple[str, ...] = ("binary", "multiclass", "regression")
_MAX_CLASSES_FOR_INT_TARGET = 30


@dataclass(frozen=True)
class Dataset:
    """Validated data: raw feature columns, the target encoded for training, and the task.

    Attributes:
        X: Feature columns as the user gave them (string column names).
        y: Encoded target: class indices ``0..K-1`` for classification, floats for regression.
        task: ``"binary"``, ``"multiclass"`` or ``"regression"``.
        classes: Original class labels in index order (empty for regression).
    """

    X: pd.DataFrame
    y: np.ndarray
    task: Task
    classes: np.ndarray

    def fingerprint(self) -> str:
        """A content hash of features and target, used to check a resumed study gets the same data."""
        h = hashlib.sha256()
        h.update("|".join(self.X.columns).encode())
        h.update(pd.util.hash_pandas_object(self.X, index=False).to_numpy().tobytes())
        h.update(np.ascontiguousarray(self.y).tobytes())
        return h.hexdigest()[:16]


def as_frame(X: Any, *, name: str = "X") -> pd.DataFrame:
    """Turn a DataFrame or a 2-D array-like into a DataFrame with string column names.

    Args:
        X: A DataFrame, or a 2-D array-like (columns get the names ``x0, x1, ...``).
        name: The parameter name used in error messages.

    Returns:
        A DataFrame (the user's own object when it already is one).

    Raises:
        DataError: When ``X`` is not two-dimensional or its column names are not unique strings.
    """
    if isinstance(X, pd.DataFrame):
        frame = X
    else:
        arr = np.asarray(X)
        if arr.ndim != 2:
            raise DataError(
                f"`{name}` must be 2-D (rows x columns); got an array of shape {arr.shape}. "
                "Reshape it, e.g. X.reshape(len(X), -1), pass a DataFrame, or pass images as (N, H, W) or (N, C, H, W)."
            )
        frame = pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])
    bad = [c for c in frame.columns if not isinstance(c, str)]
    if bad:
        raise DataError(
            f"`{name}` column names must be strings; got {bad[:5]!r}. "
            "Rename them, e.g. X.columns = X.columns.astype(str)."
        )
    dupes = frame.columns[frame.columns.duplicated()].unique().tolist()
    if dupes:
        raise DataError(f"`{name}` has duplicate column names {dupes!r}. Rename or drop the duplicates.")
    return frame


def _split_target(data: Any, target: str | None) -> tuple[pd.DataFrame, Any]:
    if isinstance(data, pd.DataFrame):
        if target is None:
            raise DataError(
                "`target` is required when `data` is a DataFrame: name the column to predict, "
                "e.g. optimize(df, budget, target='Class'), or pass (X, y)."
            )
        if target not in data.columns:
            raise DataError(
                f"`target` column {target!r} is not in the data; columns are {list(data.columns)[:20]!r}. "
                "Pass the name of an existing column."
            )
        return as_frame(data.drop(columns=[target])), data[target]
    if isinstance(data, tuple) and len(data) == 2:
        if target is not None:
            raise ConfigError("`target` is only used with a DataFrame; with (X, y) leave it out.")
        return as_frame(data[0]), data[1]
    raise DataError(f"`data` must be a DataFrame (with `target=`) or a tuple (X, y); got {type(data).__name__}.")


def _as_series(y_raw: Any) -> pd.Series:
    if isinstance(y_raw, pd.DataFrame) and y_raw.shape[1] == 1:
        y_raw = y_raw.iloc[:, 0]
    if isinstance(y_raw, pd.Series):
        return y_raw.reset_index(drop=True)
    arr = np.asarray(y_raw)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr.ravel()
    if arr.ndim != 1:
        raise DataError(f"`y` must be one-dimensional; got shape {arr.shape}. Pass a single target column.")
    return pd.Series(arr)


def _check_features(X: pd.DataFrame) -> None:
    if X.shape[1] == 0:
        raise DataError("`data` has no feature columns besides the target. Pass at least one feature.")
    if X.shape[0] == 0:
        raise DataError("`data` has no rows. Pass a non-empty data set.")
    check_feature_values(X)


def _infer_task(y: pd.Series) -> Task:
    if ptypes.is_bool_dtype(y.dtype) or not ptypes.is_numeric_dtype(y.dtype):
        return "binary" if y.nunique() <= 2 else "multiclass"
    values = y.to_numpy(dtype=np.float64)
    n_unique = len(np.unique(values))
    integer_valued = bool(np.all(np.mod(values, 1) == 0))
    if integer_valued and n_unique <= _MAX_CLASSES_FOR_INT_TARGET:
        return "binary" if n_unique <= 2 else "multiclass"
    return "regression"


def intake(data: Any, *, target: str | None = None, task: str | None = None, min_classes: int = 2) -> Dataset:
    """Validate ``data`` and build a :class:`Dataset`.

    Args:
        data: A DataFrame (with ``target``) or a tuple ``(X, y)``.
        target: Name of the target column when ``data`` is a DataFrame.
        task: ``"binary"``, ``"multiclass"`` or ``"regression"``; inferred from the target when None
            (non-numeric or integer-valued with at most 30 distinct values: classification).
        min_classes: Fewest classes a classification target may have (1 for a held-out set).

    Returns:
        The validated data set.

    Raises:
        DataError: When the data cannot be used; the message says why and how to fix it.
        ConfigError: When ``task`` is not a known task.
    """
    X, y_raw = _split_target(data, target)
    y = _as_series(y_raw)
    if len(y) != len(X):
        raise DataError(f"`X` has {len(X)} rows but `y` has {len(y)}. Pass one target value per row of X.")
    X = numbers_from_objects(X)
    _check_features(X)
    n_missing = int(y.isna().sum())
    if n_missing:
        what = "all" if n_missing == len(y) else f"{n_missing} of {len(y)}"
        raise DataError(
            f"the target has missing values in {what} rows. Drop those rows before calling optimize, "
            "e.g. df = df.dropna(subset=[target])."
        )
    if task is None:
        task = _infer_task(y)
    elif task not in TASKS:
        raise ConfigError(f"`task` must be one of {TASKS}; got {task!r}.")
    X = X.reset_index(drop=True)
    if task == "regression":
        try:
            values = pd.to_numeric(y).to_numpy(dtype=np.float64)
        except (ValueError, TypeError) as exc:
            raise DataError(
                f"task 'regression' needs a numeric target; got values like {y.iloc[0]!r}. "
                "Convert the target to numbers or choose a classification task."
            ) from exc
        if not np.isfinite(values).all():
            raise DataError("the regression target holds +/-inf. Replace or drop those rows.")
        if min_classes > 1:  # the training data (a given validation or test set may be small and uniform)
            check_target_values(y, "regression", values, None)
        return Dataset(X=X, y=values, task="regression", classes=np.array([]))
    try:
        classes, codes = np.unique(y.to_numpy(), return_inverse=True)
    except TypeError as exc:
        raise DataError(
            "the target mixes label types that cannot be sorted (e.g. strings and numbers). "
            "Convert the labels to one type, e.g. y.astype(str)."
        ) from exc
    if len(classes) < min_classes:
        raise DataError(
            f"the target has a single class ({classes[0]!r}); a classifier needs at least two. "
            "Check the target column, or pass task='regression' for a numeric target."
        )
    if task == "binary" and len(classes) > 2 and min_classes > 1:
        raise DataError(f"task 'binary' needs two classes; the target has {len(classes)}. Pass task='multiclass'.")
    resolved: Task = "binary" if len(classes) == 2 else "multiclass"
    if min_classes > 1:
        check_target_values(y, resolved, None, classes)
    return Dataset(X=X, y=codes.astype(np.int64), task=resolved, classes=classes)


def intake_like(data: Any, reference: Dataset, *, target: str | None, name: str) -> Dataset:
    """Validate a user-given validation or test set against the training data.

    Args:
        data: A DataFrame (with ``target``) or a tuple ``(X, y)``.
        reference: The training data set whose columns and classes this set must share.
        target: Name of the target column when ``data`` is a DataFrame.
        name: The parameter name used in error messages (``"validation"`` or ``"test"``).

    Returns:
        The data set, with its target encoded using the reference's classes.

    Raises:
        DataError: When columns differ or the set holds a class the training data lacks.
    """
    task = "regression" if reference.task == "regression" else "multiclass"
    part = intake(data, target=target, task=task, min_classes=1)
    missing = [c for c in reference.X.columns if c not in part.X.columns]
    if missing:
        raise DataError(f"`{name}` lacks the columns {missing[:10]!r} that the training data has. Add them.")
    X = part.X[list(reference.X.columns)]
    if reference.task == "regression":
        return Dataset(X=X, y=part.y, task="regression", classes=reference.classes)
    labels = part.classes[part.y]
    unknown = sorted(set(labels.tolist()) - set(reference.classes.tolist()), key=str)
    if unknown:
        raise DataError(
            f"`{name}` holds classes {unknown[:10]!r} that the training data does not. "
            "Every class must appear in the training data."
        )
    codes = np.searchsorted(reference.classes, labels)
    return Dataset(X=X, y=codes.astype(np.int64), task=reference.task, classes=reference.classes)
