"""Column handling fitted on the training split and compiled to plain NumPy/dict operations.

The preprocessor turns raw input columns into the float matrix the models read: numeric and boolean
columns become floats, categorical and string columns become integer codes (NaN when missing or
unseen), datetimes become seconds since the epoch. It serialises to JSON, never to pickle.

Two paths produce identical output: :meth:`Preprocessor.transform_frame` is vectorised for batches;
:meth:`Preprocessor.transform_row` handles one row of Python values with a few dict look-ups, so that
preprocessing costs less than the model call when serving single requests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from paretoml.exceptions import ColumnMismatchError, DataError

__all__ = ["FeatureSpec", "Preprocessor", "column_arrays", "first_row"]

Kind = Literal["num", "cat", "dt"]
_ID_LIKE_MIN_UNIQUE = 50
_ID_LIKE_RATIO = 0.9
_NAN = math.nan
# pandas arrays whose items are their NumPy backing's items (indexing the backing skips ~0.5 µs of pandas)
_PLAIN_ARRAYS = frozenset({pd.arrays.StringArray, pd.arrays.NumpyExtensionArray})
_DICT_LOOKUP_MAX_ROWS = 256  # below this, per-value dict look-ups beat Index.get_indexer (~80 µs set-up)


def _py(value: Any) -> Any:
    """A JSON-friendly Python scalar for a NumPy scalar."""
    return value.item() if isinstance(value, np.generic) else value


def _blocks(X: pd.DataFrame) -> tuple[list[Any], list[int], list[int]] | None:
    """The frame's storage: each pandas block's values, and per column its block and place in it.

    Reading columns through the blocks costs one Python step per block plus a list look-up per column;
    ``DataFrame._get_column_array`` costs ~1 µs a column (NumPy scalar indexing in pandas), which on a
    73-column row was most of the serving time. None where pandas lays frames out otherwise.
    """
    try:
        mgr = X._mgr
        return [b.values for b in mgr.blocks], mgr.blknos.tolist(), mgr.blklocs.tolist()
    except AttributeError:
        return None


def column_arrays(X: pd.DataFrame, positions: Sequence[int]) -> list[Any]:
    """The columns of ``X`` at ``positions`` as arrays, without building a Series per column.

    A frame of one dtype (one pandas block) is read with a single ``to_numpy()``; otherwise columns come
    straight from pandas' blocks (NumPy or extension arrays, as stored), else through ``iloc``.
    """
    if getattr(getattr(X, "_mgr", None), "is_single_block", False):
        matrix = X.to_numpy()
        return [matrix[:, i] for i in positions]
    layout = _blocks(X)
    if layout is None:
        return [X.iloc[:, i].array for i in positions]
    values, blocks, places = layout
    out = []
    for i in positions:
        v = values[blocks[i]]
        out.append(v if v.ndim == 1 else v[places[i]])
    return out


def _first_cells(X: pd.DataFrame) -> tuple[list[Any], list[int], list[int]] | None:
    """Per pandas block, what holds its first-row values; with each column's block and place.

    A NumPy block stays as it is (indexed ``[place, 0]`` later, no per-block view), a string array is
    read through its NumPy backing, other arrays as stored (2-D ones cut to their first row).
    """
    try:
        mgr = X._mgr
        firsts = [
            v if type(v := b.values) is np.ndarray
            else v._ndarray if type(v) in _PLAIN_ARRAYS
            else v[:, 0] if v.ndim == 2
            else v
            for b in mgr.blocks
        ]  # fmt: skip
        return firsts, mgr.blknos.tolist(), mgr.blklocs.tolist()
    except AttributeError:
        return None


def first_row(X: pd.DataFrame, positions: Sequence[int]) -> list[Any]:
    """The first row's values of the columns of ``X`` at ``positions``: ``column_arrays(X, positions)[j][0]``."""
    cells = _first_cells(X)
    if cells is None:
        return [a[0] for a in column_arrays(X, positions)]
    firsts, blocks, places = cells
    out = []
    for i in positions:
        v = firsts[blocks[i]]
        out.append(v[places[i], 0] if v.ndim == 2 else v[places[i]])
    return out


@dataclass(frozen=True)
class FeatureSpec:
    """How one raw column becomes one model feature.

    Attributes:
        name: The raw column name.
        kind: ``"num"`` (numbers and booleans), ``"cat"`` (category codes) or ``"dt"`` (datetimes).
        categories: For ``"cat"``, the training values in code order (most frequent first).
    """

    name: str
    kind: Kind
    categories: tuple[Any, ...] = ()


@dataclass
class Preprocessor:
    """Fitted column handling for one predictor.

    Attributes:
        features: The columns the predictor reads, in model-feature order.
        dropped: Columns seen in training but not used, with the reason.
        input_columns: All columns of the training data, in their original order.
    """

    features: list[FeatureSpec]
    dropped: dict[str, str] = field(default_factory=dict)
    input_columns: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.names: list[str] = [f.name for f in self.features]
        self.cat_indices: list[int] = [i for i, f in enumerate(self.features) if f.kind == "cat"]
        self._maps: list[dict[Any, float] | None] = [
            {c: float(i) for i, c in enumerate(f.categories)} if f.kind == "cat" else None for f in self.features
        ]
        self._indexes: list[pd.Index | None] = [
            pd.Index(list(f.categories), dtype=object) if f.kind == "cat" else None for f in self.features
        ]
        self._row_fast = all(f.kind != "dt" for f in self.features)

    # ------------------------------------------------------------------ fitting
    @classmethod
    def fit(cls, X: pd.DataFrame, *, keep_all: bool = False) -> Preprocessor:
        """Learn column kinds and category codes from the training split.

        Args:
            X: Training features with string column names.
            keep_all: Keep every column as a numeric feature (image pixels: a CNN needs the whole grid,
                constant border pixels included).

        Returns:
            The fitted preprocessor. Columns that are entirely missing, constant, or string columns
            with a distinct value in almost every row (identifiers) are dropped, with the reason kept.

        Raises:
            DataError: When every column is dropped.
        """
        if keep_all:
            return cls(features=[FeatureSpec(name, "num") for name in X.columns], input_columns=list(X.columns))
        features: list[FeatureSpec] = []
        dropped: dict[str, str] = {}
        n = len(X)
        for name in X.columns:
            s = X[name]
            n_unique = s.nunique(dropna=True)
            if n_unique == 0:
                dropped[name] = "all values missing in the training split"
                continue
            if n_unique == 1 and not s.isna().any():
                dropped[name] = "constant in the training split"
                continue
            if ptypes.is_bool_dtype(s.dtype) or (
                ptypes.is_numeric_dtype(s.dtype) and not isinstance(s.dtype, pd.CategoricalDtype)
            ):
                features.append(FeatureSpec(name, "num"))
            elif ptypes.is_datetime64_any_dtype(s.dtype):
                features.append(FeatureSpec(name, "dt"))
            else:
                if n_unique >= _ID_LIKE_MIN_UNIQUE and n_unique > _ID_LIKE_RATIO * n:
                    dropped[name] = f"identifier-like: {n_unique} distinct values in {n} rows"
                    continue
                counts = s.value_counts(dropna=True, sort=True)
                features.append(FeatureSpec(name, "cat", tuple(_py(v) for v in counts.index)))
        if not features:
            reasons = "; ".join(f"{k!r}: {v}" for k, v in list(dropped.items())[:5])
            raise DataError(
                f"no usable feature: all {len(dropped)} columns were dropped ({reasons}). Pass at least one "
                "column that varies across the training rows."
            )
        return cls(features=features, dropped=dropped, input_columns=list(X.columns))

    def select(self, names: Sequence[str]) -> Preprocessor:
        """A preprocessor that reads only ``names`` (a subset of :attr:`names`), in that order."""
        by_name = {f.name: f for f in self.features}
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise ColumnMismatchError(f"cannot select unknown feature columns {unknown!r}.")
        return Preprocessor([by_name[n] for n in names], dict(self.dropped), list(self.input_columns))

    # ------------------------------------------------------------------ transforms
    def transform_frame(self, X: pd.DataFrame) -> np.ndarray:
        """Encode a DataFrame holding (at least) the feature columns; vectorised.

        Args:
            X: Raw rows; extra columns are ignored.

        Returns:
            A float64 array of shape ``(len(X), len(features))``.

        Raises:
            ColumnMismatchError: When a feature column is missing or holds values of the wrong kind.
        """
        return self.transform_arrays(column_arrays(X, self.positions_in(list(X.columns))), len(X))

    def positions_in(self, columns: list[Any]) -> list[int]:
        """Positions of the feature columns within ``columns``.

        Raises:
            ColumnMismatchError: When a feature column is missing.
        """
        where = {c: i for i, c in enumerate(columns)}
        missing = [n for n in self.names if n not in where]
        if missing:
            raise self.missing_error(missing)
        return [where[n] for n in self.names]

    def transform_arrays(self, arrays: Sequence[Any], n_rows: int) -> np.ndarray:
        """Encode one array per feature column (NumPy or pandas extension arrays), in feature order."""
        out = np.empty((n_rows, len(self.features)), dtype=np.float64)
        for j, spec in enumerate(self.features):
            mapping = self._maps[j]
            if mapping is not None and n_rows <= _DICT_LOOKUP_MAX_ROWS:  # small batch: skip get_indexer's set-up
                out[:, j] = [mapping.get(v, _NAN) for v in arrays[j]]
            else:
                out[:, j] = self._encode_column(spec, self._indexes[j], arrays[j])
        return out

    def transform_row(self, values: Sequence[Any]) -> np.ndarray:
        """Encode one row given as raw values in feature order.

        Args:
            values: One raw value per feature column, in the order of :attr:`names`.

        Returns:
            A float64 array of shape ``(1, len(features))``.
        """
        if self._row_fast:
            try:
                row = [(float(v) if m is None else m.get(v, _NAN)) for v, m in zip(values, self._maps, strict=True)]
                return np.array(row, dtype=np.float64).reshape(1, -1)
            except (TypeError, ValueError):
                pass  # None, pd.NA, a bad string: the vectorised path handles and reports these
        return self.transform_arrays([np.array([v], dtype=object) for v in values], 1)

    def transform_first_row(self, X: pd.DataFrame, positions: Sequence[int]) -> np.ndarray:
        """Encode the first row of ``X``: ``transform_row(first_row(X, positions))``, in one pass.

        The one-row DataFrame path of serving: each value is read from its pandas block and encoded
        at once, with the same expression as :meth:`transform_row` (so the same bits).

        Args:
            X: Raw rows (only the first is read).
            positions: Where each feature column sits in ``X.columns``, in feature order.

        Returns:
            A float64 array of shape ``(1, len(features))``.
        """
        mgr = getattr(X, "_mgr", None) if self._row_fast else None
        if mgr is not None:
            # each value read from its block in one pass (a NumPy block is (columns, rows), a string array
            # one column over rows, other arrays as stored): the values _first_cells gives, without its list
            blocks, plain, ndarray = [b.values for b in mgr.blocks], _PLAIN_ARRAYS, np.ndarray
            numbers, places = mgr.blknos.tolist(), mgr.blklocs.tolist()
            row = []
            try:
                for i, m in zip(positions, self._maps, strict=True):
                    v = blocks[numbers[i]]
                    kind = type(v)
                    value = (v[places[i], 0] if kind is ndarray else v._ndarray[0] if kind in plain
                             else v[places[i], 0] if v.ndim == 2 else v[places[i]])  # fmt: skip
                    row.append(float(value) if m is None else m.get(value, _NAN))
                return np.array([row], dtype=np.float64)
            except (TypeError, ValueError):
                pass  # None, pd.NA, a bad string: transform_row's general path handles and reports these
        return self.transform_row(first_row(X, positions))

    def _encode_column(self, spec: FeatureSpec, index: pd.Index | None, values: Any) -> np.ndarray:
        if spec.kind == "num" and isinstance(values, np.ndarray) and values.dtype.kind in "biuf":
            return values.astype(np.float64, copy=False)
        if spec.kind == "cat":
            assert index is not None
            codes = index.get_indexer(pd.Index(np.asarray(values, dtype=object), dtype=object))
            out = codes.astype(np.float64)
            out[codes < 0] = _NAN
            return out
        s = pd.Series(values, copy=False)
        if spec.kind == "dt":
            try:
                ts = pd.to_datetime(s)
            except (ValueError, TypeError) as exc:
                raise self.kind_error(spec, s, "datetimes") from exc
            stamps = ts.to_numpy(dtype="datetime64[ns]")
            seconds = stamps.astype(np.int64) / 1e9
            seconds[np.isnat(stamps)] = _NAN
            return seconds
        if s.dtype == object or ptypes.is_string_dtype(s.dtype):
            try:
                s = pd.to_numeric(s, errors="raise")
            except (ValueError, TypeError) as exc:
                raise self.kind_error(spec, s, "numbers or booleans") from exc
        try:
            return s.to_numpy(dtype=np.float64, na_value=_NAN)
        except (ValueError, TypeError) as exc:
            raise self.kind_error(spec, s, "numbers or booleans") from exc

    # ------------------------------------------------------------------ errors
    def missing_error(self, missing: list[str]) -> ColumnMismatchError:
        """The error for input that lacks feature columns."""
        return ColumnMismatchError(
            f"X is missing {len(missing)} column(s) the Predictor reads: {missing[:10]!r}. "
            f"It reads {len(self.names)} columns: {self.names[:20]!r}. Pass data with these columns."
        )

    def kind_error(self, spec: FeatureSpec, s: pd.Series, expected: str) -> ColumnMismatchError:
        """The error for a column whose values are of the wrong kind."""
        sample = s.dropna().head(3).tolist()
        return ColumnMismatchError(
            f"column {spec.name!r} must hold {expected} (as in training); got values like {sample!r} "
            f"(dtype {s.dtype}). Convert the column to the training type."
        )

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """A compact JSON-serialisable description.

        A numeric feature is just its name; ``input_columns`` is left out when it equals the feature
        names; columns named ``pixel_0 .. pixel_<n-1>`` (image data) are written as ``{"pixels": n}``.
        """
        names = [f.name for f in self.features]
        numeric = all(f.kind == "num" for f in self.features)
        out: dict[str, Any] = {}
        if numeric and names == [f"pixel_{i}" for i in range(len(names))]:
            out["features"] = {"pixels": len(names)}
        else:
            out["features"] = [
                f.name if f.kind == "num" else {"name": f.name, "kind": f.kind, "categories": list(f.categories)}
                if f.kind == "cat" else {"name": f.name, "kind": f.kind}
                for f in self.features
            ]  # fmt: skip
        if self.input_columns != names:
            out["input_columns"] = self.input_columns
        if self.dropped:
            out["dropped"] = self.dropped
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preprocessor:
        """Rebuild from :meth:`to_dict` output."""
        raw = data["features"]
        if isinstance(raw, dict):
            raw = [f"pixel_{i}" for i in range(int(raw["pixels"]))]
        features = [
            FeatureSpec(f, "num") if isinstance(f, str) else FeatureSpec(f["name"], f["kind"], tuple(f.get("categories", ())))  # noqa: E501
            for f in raw
        ]  # fmt: skip
        columns = data.get("input_columns")
        return cls(
            features,
            dict(data.get("dropped", {})),
            list(columns) if columns is not None else [f.name for f in features],
        )
