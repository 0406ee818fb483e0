"""Checks that catch data problems before the first trial instead of failing (or misleading) every trial.

Each check either fixes what has one right reading (numbers stored in an object array are numbers),
raises a :class:`~paretoml.exceptions.DataError` naming the column, the rule and the fix, or warns when
the data may be what the user meant but probably is not (a feature that reproduces the target).
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from paretoml.exceptions import DataError

__all__ = [
    "FLOAT32_MAX",
    "MIN_TRAIN_ROWS",
    "check_feature_values",
    "check_target_values",
    "min_rows_per_class",
    "numbers_from_objects",
    "warn_target_leaks",
]

FLOAT32_MAX = float(np.finfo(np.float32).max)  # XGBoost and the compiled runtimes read features as float32
MIN_TRAIN_ROWS = 10  # fewer cannot fit a tree with LightGBM's smallest leaves, nor estimate a metric
_NUMBER_KINDS = ("integer", "floating", "mixed-integer-float", "decimal")
_PLAIN_KINDS = ("string", "boolean", "integer", "floating", "mixed-integer-float", "empty")
_JSON_SCALARS = (str, bool, int, float, np.bool_, np.number, np.str_)


def numbers_from_objects(X: pd.DataFrame) -> pd.DataFrame:
    """Object columns whose values are all numbers become float columns; numeric text gets a warning.

    Numbers in an object array (``X.to_numpy().astype(object)``) are numbers whatever the container:
    treating them as categories drops most of them as identifier-like. Strings that parse as numbers
    (``"00123"``) stay categories, because codes such as ZIP codes and account numbers look the same;
    the warning names them so that quantities can be converted with ``pd.to_numeric``.

    Returns:
        ``X`` itself when nothing changes, else a copy with the converted columns.
    """
    converted: dict[str, pd.Series] = {}
    text_numbers: list[str] = []
    for name in X.columns:
        s = X[name]
        if s.dtype != object and not ptypes.is_string_dtype(s.dtype):
            continue
        kind = ptypes.infer_dtype(s, skipna=True)
        if kind in _NUMBER_KINDS and s.dtype == object:
            converted[name] = pd.to_numeric(s, errors="coerce").astype(np.float64)
        elif kind == "string" and s.notna().any() and pd.to_numeric(s.dropna(), errors="coerce").notna().all():
            text_numbers.append(name)
    if text_numbers:
        warnings.warn(
            f"columns {text_numbers[:10]!r} hold numbers written as text; they are used as categories. "
            "If they are quantities, convert them first: X[cols] = X[cols].apply(pd.to_numeric).",
            UserWarning,
            stacklevel=4,
        )
    if not converted:
        return X
    out = X.copy()
    for name, values in converted.items():
        out[name] = values
    return out


def check_feature_values(X: pd.DataFrame) -> None:
    """Refuse columns no model can read: durations, +/-inf, numbers beyond float32, non-JSON categories.

    Raises:
        DataError: Naming the column, what it holds and how to convert it.
    """
    for col in X.columns:
        s = X[col]
        if ptypes.is_timedelta64_dtype(s.dtype):
            raise DataError(
                f"column {col!r} holds durations (dtype {s.dtype}), which paretoml cannot encode. Convert them "
                f"to numbers, e.g. X[{col!r}] = X[{col!r}].dt.total_seconds()."
            )
        if ptypes.is_numeric_dtype(s.dtype) and not ptypes.is_bool_dtype(s.dtype):
            _check_finite(col, s.to_numpy(dtype=np.float64, na_value=np.nan))
        elif s.dtype == object or isinstance(s.dtype, pd.CategoricalDtype):
            values = pd.Series(s.cat.categories) if isinstance(s.dtype, pd.CategoricalDtype) else s.dropna()
            if ptypes.infer_dtype(values, skipna=True) in _PLAIN_KINDS:
                continue
            bad = [v for v in values if not _json_scalar(v)]
            if bad:
                raise DataError(
                    f"column {col!r} holds values of unsupported type {type(bad[0]).__name__} (e.g. {bad[0]!r}). "
                    "Columns must hold numbers, booleans, strings or datetimes (a saved Predictor writes its "
                    "categories as JSON); convert the column, e.g. X[col].astype(str), or drop it."
                )


def _json_scalar(value: Any) -> bool:
    if isinstance(value, float) and not math.isfinite(value):
        return math.isnan(value)
    return isinstance(value, _JSON_SCALARS) and not isinstance(value, (np.datetime64, np.timedelta64))


def _check_finite(col: str, values: np.ndarray) -> None:
    n_inf = int(np.isinf(values).sum())
    if n_inf:
        raise DataError(
            f"column {col!r} holds +/-inf values ({n_inf} rows). Replace them with NaN (missing) or a finite "
            "value, e.g. X.replace([np.inf, -np.inf], np.nan)."
        )
    with np.errstate(invalid="ignore"):
        n_huge = int((np.abs(values) > FLOAT32_MAX).sum())
    if n_huge:
        raise DataError(
            f"column {col!r} holds {n_huge} values beyond +/-{FLOAT32_MAX:.4g}, the float32 range that XGBoost "
            "and the compiled runtimes read features in (they would become inf). Rescale the column (e.g. "
            "divide by a constant or take np.sign(x) * np.log1p(np.abs(x))), or replace those values with NaN."
        )


def check_target_values(y: pd.Series, task: str, values: np.ndarray | None, classes: np.ndarray | None) -> None:
    """Refuse a constant regression target; warn on class labels that differ only by spaces or case.

    Args:
        y: The raw target.
        task: The resolved task.
        values: The regression target as floats (None for classification).
        classes: The sorted class labels (None for regression).

    Raises:
        DataError: When a regression target has a single value.
    """
    if values is not None:
        if len(values) and np.ptp(values) == 0:
            raise DataError(
                f"the regression target is constant ({values[0]:g} in all {len(values)} rows): there is nothing "
                "to learn and R² is undefined. Check the target column, or pass another one."
            )
        return
    assert classes is not None
    groups: dict[str, list[Any]] = defaultdict(list)
    for label in classes.tolist():
        if isinstance(label, str):
            groups[label.strip().casefold()].append(label)
    alike = [labels for labels in groups.values() if len(labels) > 1]
    if alike:
        warnings.warn(
            f"target labels {alike[:5]!r} differ only by spaces or case, so they are {len(classes)} different "
            f"classes ({task}). If they mean the same, normalise them first, e.g. y = y.str.strip().str.lower().",
            UserWarning,
            stacklevel=4,
        )


def min_rows_per_class(fractions: list[float]) -> int:
    """The fewest rows a class needs for successive stratified cuts to leave one in every part.

    A stratified cut of fraction ``f`` gives a class of ``n`` rows at least ``floor(n * f)`` of them
    (scikit-learn allocates the floor first, then the remainders), so each cut must have a whole row to give.
    """
    n = len(fractions) + 1
    while True:
        rest, ok = n, True
        for f in fractions:
            taken = math.floor(rest * f + 1e-9)
            if taken < 1 or rest - taken < 1:
                ok = False
                break
            rest -= taken
        if ok:
            return n
        n += 1


def warn_target_leaks(X: pd.DataFrame, y: np.ndarray, task: str) -> None:
    """Warn on features that reproduce the target on the training split (a leak: scores near perfect).

    A classification feature leaks when it is a one-to-one recoding of the classes (one value per class,
    one class per value, no missing values); a regression feature when it equals the target up to a
    linear map (correlation 1). Only columns that could match are examined, so the check is cheap.
    """
    leaks: list[str] = []
    n = len(y)
    if task == "regression":
        numeric = [c for c in X.columns if ptypes.is_numeric_dtype(X[c].dtype) and not X[c].isna().any()]
        if numeric and n > 2:
            M = X[numeric].to_numpy(dtype=np.float64)
            Mc, yc = M - M.mean(axis=0), y - y.mean()
            denom = np.sqrt((Mc**2).sum(axis=0) * (yc**2).sum())
            with np.errstate(invalid="ignore", divide="ignore"):
                r = (Mc * yc[:, None]).sum(axis=0) / denom
            leaks = [c for c, v in zip(numeric, r, strict=True) if np.isfinite(v) and abs(v) > 1 - 1e-9]
    else:
        k = int(y.max()) + 1 if n else 0
        for c in X.columns:
            s = X[c]
            if s.isna().any() or s.nunique() != k:
                continue
            pairs = pd.DataFrame({"v": s.to_numpy(), "y": y}).drop_duplicates()
            if len(pairs) == k:
                leaks.append(c)
    if leaks:
        warnings.warn(
            f"features {leaks[:10]!r} reproduce the target on the training split (a copy or a one-to-one "
            "recoding of it): the models will score near perfectly on it and fail in use. Drop them from X "
            "unless they are truly known at prediction time.",
            UserWarning,
            stacklevel=4,
        )
