"""The served artifact: fitted preprocessing plus a model in its serving runtime.

A :class:`Predictor` takes raw data as the user has it (a DataFrame, a list of dicts, a dict of columns
or of one row's values, a pyarrow Table, a 2-D array, or images for an image predictor) and follows
scikit-learn's conventions (``classes_``, ``feature_names_in_``, ``predict_proba`` columns in
``classes_`` order). It saves to a directory of native files (``manifest.json`` plus the model in
LightGBM text, XGBoost UBJSON, or CNN weights as safetensors) and loads without pickle.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from paretoml.data._preprocess import Preprocessor, column_arrays
from paretoml.exceptions import ColumnMismatchError, ConfigError, DataError
from paretoml.families import FittedModel
from paretoml.serving._loading import COMPILE_TIMEOUT, load_parts
from paretoml.serving._manifest import json_scalar, read_manifest
from paretoml.serving._store import unpacked, write_predictor, write_zip

__all__ = ["Predictor", "load"]


class Predictor:
    """Preprocessing and model, served together.

    Args:
        preprocessor: The fitted column handling.
        model: The fitted model.
        task: ``"binary"``, ``"multiclass"`` or ``"regression"``.
        classes: Class labels in the model's output order (empty for regression).
        info: Free-form facts recorded with the predictor (trial number, metric, parameters...).
        image_shape: ``(C, H, W)`` when the predictor serves images; it then also takes image arrays
            ``(H, W)`` (one channel), ``(C, H, W)``, ``(N, H, W)`` or ``(N, C, H, W)``.

    Example:
        >>> pred = result.predictor(result.front.trial.iloc[0])  # doctest: +SKIP
        >>> pred.predict_proba(df.head(3))                        # doctest: +SKIP
    """

    def __init__(
        self,
        preprocessor: Preprocessor,
        model: FittedModel,
        *,
        task: str,
        classes: np.ndarray,
        info: dict[str, Any] | None = None,
        image_shape: tuple[int, int, int] | None = None,
    ) -> None:
        self.preprocessor = preprocessor
        self.model = model
        self.task = task
        self.classes_ = np.asarray(classes)
        self.info = dict(info or {})
        self.feature_names_in_ = np.asarray(preprocessor.names, dtype=object)
        self.n_features_in_ = len(preprocessor.names)
        self._names = list(preprocessor.names)
        inputs = list(preprocessor.input_columns)
        self._n_inputs = len(inputs)
        # where each feature sits in a full-width array (all training columns), computed once
        self._input_positions = [inputs.index(n) for n in self._names] if set(self._names) <= set(inputs) else []
        # the last input's columns (the Index object, as a list) and the feature positions within them
        self._seen: tuple[Any, list[Any], list[int]] = (None, [], [])
        self.image_shape = None if image_shape is None else tuple(int(d) for d in image_shape)
        # numeric features only: a numeric array needs no encoding beyond a float cast
        self._all_numeric = all(f.kind == "num" for f in preprocessor.features)

    @property
    def family(self) -> str:
        """The model family's name."""
        return self.model.family

    # ------------------------------------------------------------------ serving
    def predict(self, X: Any) -> np.ndarray:
        """Predict labels (classification) or values (regression) for raw input.

        Args:
            X: A DataFrame; a list of dicts (one per row, the usual JSON batch); a dict of columns
                (``{"age": [31, 45], ...}``); a dict or Series (one row); a pyarrow Table; or a 2-D array
                whose columns are :attr:`feature_names_in_` (or all training columns) in order; for an
                image predictor also one image or a stack of images (see :attr:`image_shape`).

        Returns:
            Labels from :attr:`classes_`, or predicted values, one per row.

        Raises:
            ColumnMismatchError: When columns are missing or hold values of the wrong kind.
        """
        out = self._raw(X)
        if self.task == "regression":
            return out
        return self.classes_[np.argmax(out, axis=1)]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities for raw input, columns in :attr:`classes_` order.

        Args:
            X: As for :meth:`predict`.

        Returns:
            An array of shape ``(n_rows, n_classes)``.

        Raises:
            ConfigError: For a regression predictor.
        """
        if self.task == "regression":
            raise ConfigError("predict_proba is only defined for classification; use predict().")
        return self._raw(X)

    def output(self, X: Any) -> np.ndarray:
        """The task's main output for raw input: :meth:`predict_proba` for classification (shape
        ``(n_rows, n_classes)``), :meth:`predict` for regression (shape ``(n_rows,)``).

        This is what metrics score and what latency is timed on.

        Args:
            X: As for :meth:`predict`.
        """
        return self._raw(X)

    def _raw(self, X: Any) -> np.ndarray:
        if isinstance(X, pd.DataFrame):  # first: the batch path users time
            if len(X) == 1:
                return self.model.predict_one(self.preprocessor.transform_first_row(X, self._positions(X)))
            encoded = self.preprocessor.transform_arrays(column_arrays(X, self._positions(X)), len(X))
            return self._batch(encoded)
        if isinstance(X, (Mapping, pd.Series)):
            if isinstance(X, Mapping) and _holds_columns(X):
                return self._raw(_frame_of_columns(X))
            missing = [n for n in self._names if n not in X]
            if missing:
                raise self.preprocessor.missing_error(missing)
            return self.model.predict_one(self.preprocessor.transform_row([X[n] for n in self._names]))
        if isinstance(X, (list, tuple)):
            if not X:
                raise DataError("X is an empty list; pass at least one row to predict.")
            if isinstance(X[0], Mapping):
                return self._raw(X[0]) if len(X) == 1 else self._raw(self._frame_of_records(X))
        arrow = _arrow_frame(X)
        if arrow is not None:
            return self._raw(arrow)
        return self._raw_array(X)

    def _frame_of_records(self, X: list[Any] | tuple[Any, ...]) -> pd.DataFrame:
        """A list of dicts (one per row) as a DataFrame of the feature columns.

        Raises:
            DataError: When an item is not a dict.
            ColumnMismatchError: When a record lacks a feature column (send ``null`` for a missing value).
        """
        try:
            return pd.DataFrame({n: [r[n] for r in X] for n in self._names}, columns=self._names)
        except (KeyError, TypeError, IndexError):
            for i, record in enumerate(X):
                if not isinstance(record, Mapping):
                    raise DataError(
                        f"X is a list of records, but item {i} is a {type(record).__name__}, not a dict. Send "
                        "one dict per row, e.g. [{'age': 31, 'plan': 'pro'}, ...]."
                    ) from None
                missing = [n for n in self._names if n not in record]
                if missing:
                    raise ColumnMismatchError(f"record {i}: {self.preprocessor.missing_error(missing)}") from None
            raise

    def _batch(self, encoded: np.ndarray) -> np.ndarray:
        if encoded.shape[0] == 0:
            raise DataError("X has no rows; pass at least one row to predict.")
        return self.model.predict(encoded)

    def _positions(self, X: pd.DataFrame) -> list[int]:
        seen_index, seen_columns, seen_positions = self._seen  # one tuple: safe when threads share the predictor
        index = X.columns
        if index is seen_index:  # an Index is immutable: rows cut from one frame share it
            return seen_positions
        columns = index.tolist()
        if columns != seen_columns:
            seen_positions = self.preprocessor.positions_in(columns)
        self._seen = (index, columns, seen_positions)
        return seen_positions

    def _flatten_images(self, arr: np.ndarray) -> np.ndarray:
        """Image arrays as one row of pixels per image; other arrays unchanged."""
        shape = self.image_shape
        if shape is None or arr.ndim < 2:
            return arr
        accepted = [shape] + ([shape[1:]] if shape[0] == 1 else [])
        if arr.shape in accepted:
            return arr.reshape(1, -1)
        if arr.shape[1:] in accepted:
            return arr.reshape(arr.shape[0], -1)
        if arr.ndim > 2:
            raise DataError(
                f"X has shape {arr.shape}, but this predictor takes images of shape {shape} "
                f"(one image, or a stack (N, {', '.join(map(str, shape))})). Resize or reshape the input."
            )
        return arr

    def _raw_array(self, X: Any) -> np.ndarray:
        try:
            arr = np.asarray(X)
        except ValueError as exc:  # NumPy refuses ragged nested lists
            raise DataError(
                f"X could not be read as a 2-D array ({exc}). Give every row the same number of values."
            ) from exc
        arr = self._flatten_images(arr)
        if arr.ndim == 1:
            arr = arr.reshape(1, -1)
        if arr.ndim != 2:
            raise DataError(f"X must be 2-D (rows x columns); got an array of shape {arr.shape}.")
        width = arr.shape[1]
        positions: list[int] | None  # None: the columns are the features, in order
        if width == self.n_features_in_:
            positions = None
        elif width == self._n_inputs and self._input_positions:
            positions = self._input_positions
        else:
            raise ColumnMismatchError(
                f"X has {width} features, but Predictor is expecting {self.n_features_in_} features as "
                f"input ({self._names[:10]!r}...). Pass those columns in that order, or a DataFrame."
            )
        if self._all_numeric and arr.dtype.kind in "biuf":  # the same float cast the preprocessor does
            encoded = np.ascontiguousarray(arr if positions is None else arr[:, positions], dtype=np.float64)
            return self.model.predict_one(encoded) if arr.shape[0] == 1 else self._batch(encoded)
        if positions is None:
            positions = list(range(width))
        if arr.shape[0] == 1:
            return self.model.predict_one(self.preprocessor.transform_row(arr[0, positions].tolist()))
        return self._batch(self.preprocessor.transform_frame(pd.DataFrame(arr[:, positions], columns=self._names)))

    def set_threads(self, n_threads: int) -> Predictor:
        """Set the number of threads the model predicts with; returns ``self``."""
        self.model.set_threads(n_threads)
        return self

    # ------------------------------------------------------------------ persistence
    def manifest(self) -> dict[str, Any]:
        """The JSON description written next to the model file (without ``format``/``version``)."""
        return {
            "task": self.task,
            "classes": [json_scalar(c) for c in self.classes_.tolist()],
            "family": self.family,
            "preprocessing": self.preprocessor.to_dict(),
            "info": self.info,
            "image_shape": None if self.image_shape is None else list(self.image_shape),
        }

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the predictor to folder ``path`` (created if missing).

        Files are world-readable under the usual umask (0644, folders 0755), and each model file's
        sha256 is recorded in the manifest and checked at load.

        Args:
            path: A new or empty folder.
            overwrite: Replace a previous paretoml predictor in ``path``: only the files its manifest
                names (whose bytes still match it) are replaced or removed; other files stay.

        Returns:
            The folder written.

        Raises:
            ConfigError: When ``path`` is an existing file, a non-empty folder (without ``overwrite``),
                or a folder that holds no paretoml predictor (with ``overwrite``).
        """
        return write_predictor(
            Path(path), lambda staging: {**self.manifest(), "model": self.model.save(staging)}, overwrite=overwrite
        )

    def save_zip(self, file: str | Path) -> dict[str, int]:
        """Write the predictor as a zip archive (the form stored as an Optuna artifact).

        Returns:
            Bytes of each file of the saved predictor directory (uncompressed), by file name.
        """
        with tempfile.TemporaryDirectory() as tmp:
            return write_zip(self.save(Path(tmp) / "predictor"), file)

    def export_onnx(self, path: str | Path) -> Path:
        """Write the model as an ONNX file (tree families); see :func:`paretoml.serving.export_onnx`.

        Returns:
            The file written.
        """
        from paretoml.serving._onnx import export_onnx

        return export_onnx(self, path)

    @classmethod
    def load(
        cls, path: str | Path, *, runtime: str | None = None, compile_timeout: float = COMPILE_TIMEOUT
    ) -> Predictor:
        """Load a predictor saved with :meth:`save` (a directory) or :meth:`save_zip` (a zip file).

        Only ``manifest.json`` and the model file it names are read, in native formats; nothing is
        ever unpickled. Every manifest field is checked, and the model file against the sha256 recorded
        at save time and for its structure, before a model library parses it. A compiled runtime is
        compiled again from the native model (or taken from the verified compile cache), with a log
        line; no shipped binary is ever loaded.

        Args:
            path: The folder or zip file.
            runtime: Serve through this runtime instead of the saved one; ``"native"`` never compiles.
            compile_timeout: Seconds a compile may take; past it the native model is served (a warning).

        Raises:
            DataError: When the directory is not a paretoml predictor.
            ModelFileError: When the manifest breaks its schema or the model file is corrupted,
                malformed, or disagrees with the manifest (the message names the field or file).
            ConfigError: For an unknown ``runtime``.
        """
        with unpacked(Path(path)) as source:
            manifest = read_manifest(source)
            preprocessor, model = load_parts(source, manifest, runtime=runtime, compile_timeout=compile_timeout)
        shape = manifest.get("image_shape")
        return cls(preprocessor, model, task=manifest["task"], classes=np.asarray(manifest["classes"]),
                   info=manifest.get("info") or {},
                   image_shape=None if shape is None else (int(shape[0]), int(shape[1]), int(shape[2])))  # fmt: skip

    def __repr__(self) -> str:
        return f"Predictor(family={self.family!r}, task={self.task!r}, n_features_in_={self.n_features_in_})"


_COLUMN_TYPES = (list, tuple, np.ndarray, pd.Series, pd.Index)


def _holds_columns(X: Mapping[Any, Any]) -> bool:
    """Whether a dict holds columns (lists or arrays) rather than the values of one row.

    An ``isinstance`` per value, not ``np.ndim``: this runs on the single-row dict path, where ``np.ndim``
    on every value of a wide row cost more than the model call.
    """
    return any(isinstance(v, _COLUMN_TYPES) for v in X.values())


def _frame_of_columns(X: Mapping[Any, Any]) -> pd.DataFrame:
    """A dict of columns as a DataFrame.

    Raises:
        DataError: When the columns differ in length.
    """
    try:
        return pd.DataFrame(X)
    except ValueError as exc:
        lengths = {str(k): len(v) for k, v in X.items() if isinstance(v, (list, tuple, np.ndarray, pd.Series))}
        raise DataError(
            f"X is a dict of columns of different lengths {lengths}; give every column one value per row."
        ) from exc


def _arrow_frame(X: Any) -> pd.DataFrame | None:
    """A pyarrow Table or RecordBatch as a DataFrame; None for anything else.

    pyarrow is never imported here: an object can only be a pyarrow table if pyarrow is loaded already.
    """
    pa = sys.modules.get("pyarrow")
    if pa is not None and isinstance(X, (pa.Table, pa.RecordBatch)):
        frame: pd.DataFrame = X.to_pandas()
        return frame
    return None


def load(path: str | Path, *, runtime: str | None = None, compile_timeout: float = COMPILE_TIMEOUT) -> Predictor:
    """Load a saved :class:`Predictor` from a directory or zip file. See :meth:`Predictor.load`."""
    return Predictor.load(path, runtime=runtime, compile_timeout=compile_timeout)
