"""The served artifact: fitted preprocessing plus a model in its serving runtime.

A :class:`Predictor` takes raw data as the user has it (a DataFrame, a dict for one row, a 2-D array,
or images for an image predictor) and follows scikit-learn's conventions (``classes_``,
``feature_names_in_``, ``predict_proba`` columns in ``classes_`` order). It saves to a directory of
native files (``manifest.json`` plus the model in LightGBM text, XGBoost UBJSON, or CNN weights as
safetensors) and loads without pickle.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from paretoml.data import Preprocessor
from paretoml.data._preprocess import column_arrays
from paretoml.exceptions import ColumnMismatchError, ConfigError, DataError
from paretoml.families import FittedModel, get_family

__all__ = ["Predictor", "load"]

_MANIFEST = "manifest.json"
_FORMAT = "paretoml-predictor"
_VERSION = 1


def _json_scalar(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


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
        self._seen: tuple[list[Any], list[int]] = ([], [])  # last input's columns and feature positions
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
            X: A DataFrame, a dict or Series (one row), or a 2-D array whose columns are
                :attr:`feature_names_in_` (or all training columns) in order; for an image predictor
                also one image or a stack of images (see :attr:`image_shape`).

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
        """What metrics score and latency times: probabilities for classification, values for regression.

        Args:
            X: As for :meth:`predict`.

        Returns:
            ``(n_rows, n_classes)`` probabilities, or ``(n_rows,)`` values.
        """
        return self._raw(X)

    def _raw(self, X: Any) -> np.ndarray:
        if isinstance(X, pd.DataFrame):
            if len(X) == 1:
                return self.model.predict_one(self.preprocessor.transform_row(self._row_of_frame(X)))
            encoded = self.preprocessor.transform_arrays(column_arrays(X, self._positions(X)), len(X))
            return self._batch(encoded)
        if isinstance(X, (Mapping, pd.Series)):
            if isinstance(X, Mapping) and any(np.ndim(v) > 0 for v in X.values()):
                return self._raw(pd.DataFrame(X))
            missing = [n for n in self._names if n not in X]
            if missing:
                raise self.preprocessor.missing_error(missing)
            return self.model.predict_one(self.preprocessor.transform_row([X[n] for n in self._names]))
        return self._raw_array(X)

    def _batch(self, encoded: np.ndarray) -> np.ndarray:
        if encoded.shape[0] == 0:
            raise DataError("X has no rows; pass at least one row to predict.")
        return self.model.predict(encoded)

    def _positions(self, X: pd.DataFrame) -> list[int]:
        columns = X.columns.tolist()
        seen_columns, seen_positions = self._seen  # one tuple: safe when threads share the predictor
        if columns != seen_columns:
            seen_positions = self.preprocessor.positions_in(columns)
            self._seen = (columns, seen_positions)
        return seen_positions

    def _row_of_frame(self, X: pd.DataFrame) -> list[Any]:
        return [a[0] for a in column_arrays(X, self._positions(X))]

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
        arr = self._flatten_images(np.asarray(X))
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
        """The JSON description written next to the model file."""
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "task": self.task,
            "classes": [_json_scalar(c) for c in self.classes_.tolist()],
            "family": self.family,
            "preprocessing": self.preprocessor.to_dict(),
            "info": self.info,
            "image_shape": None if self.image_shape is None else list(self.image_shape),
        }

    def save(self, path: str | Path) -> Path:
        """Write the predictor to directory ``path`` (replaced atomically if it exists).

        Args:
            path: The target directory.

        Returns:
            The directory written.
        """
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            manifest = self.manifest()
            manifest["model"] = self.model.save(staging)
            (staging / _MANIFEST).write_text(json.dumps(manifest, separators=(",", ":"), default=_json_scalar))
            if target.exists():
                old = target.with_name(f".{target.name}.old")
                shutil.rmtree(old, ignore_errors=True)
                target.rename(old)
                staging.rename(target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return target

    def save_zip(self, file: str | Path) -> dict[str, int]:
        """Write the predictor as a zip archive (the form stored as an Optuna artifact).

        Returns:
            Bytes of each file of the saved predictor directory (uncompressed), by file name.
        """
        with tempfile.TemporaryDirectory() as tmp:
            folder = self.save(Path(tmp) / "predictor")
            files = sorted(p for p in folder.iterdir() if p.is_file())
            with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                for p in files:
                    zf.write(p, arcname=p.name)
            return {p.name: p.stat().st_size for p in files}

    @classmethod
    def load(cls, path: str | Path) -> Predictor:
        """Load a predictor saved with :meth:`save` (a directory) or :meth:`save_zip` (a zip file).

        Only ``manifest.json`` and the model file it names are read, in native formats; nothing is
        ever unpickled.

        Raises:
            DataError: When the directory is not a paretoml predictor.
        """
        source = Path(path)
        if source.is_file() and zipfile.is_zipfile(source):
            with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(source) as zf:
                for member in zf.namelist():
                    if Path(member).name != member or member.startswith("."):
                        raise DataError(f"{source}: unexpected entry {member!r} in predictor archive.")
                zf.extractall(tmp)
                return cls.load(tmp)
        manifest_file = source / _MANIFEST
        if not manifest_file.is_file():
            raise DataError(f"{source} is not a saved paretoml predictor: {_MANIFEST} is missing.")
        manifest = json.loads(manifest_file.read_text())
        if manifest.get("format") != _FORMAT or manifest.get("version") != _VERSION:
            raise DataError(
                f"{manifest_file}: not a paretoml predictor manifest of version {_VERSION} "
                f"(format={manifest.get('format')!r}, version={manifest.get('version')!r})."
            )
        entry = manifest["model"]
        if Path(entry["file"]).name != entry["file"]:
            raise DataError(f"{manifest_file}: model file {entry['file']!r} must be a plain file name.")
        classes = np.asarray(manifest["classes"])
        model = get_family(manifest["family"]).load(source, entry, task=manifest["task"], n_classes=len(classes))
        runtime = entry.get("runtime", "native")
        if runtime != "native":  # compiled again from the native model (cached); no shipped binary is loaded
            from paretoml.compression import compiled

            model = compiled(model, runtime, n_threads=1)
        pre = Preprocessor.from_dict(manifest["preprocessing"])
        shape = manifest.get("image_shape")
        return cls(pre, model, task=manifest["task"], classes=classes, info=manifest.get("info"),
                   image_shape=None if shape is None else (int(shape[0]), int(shape[1]), int(shape[2])))  # fmt: skip

    def __repr__(self) -> str:
        return f"Predictor(family={self.family!r}, task={self.task!r}, n_features_in_={self.n_features_in_})"


def load(path: str | Path) -> Predictor:
    """Load a saved :class:`Predictor` from a directory or zip file. See :meth:`Predictor.load`."""
    return Predictor.load(path)
