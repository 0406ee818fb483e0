"""ONNX: the ``onnxruntime`` serving runtime and ONNX export of tree predictors.

Both convert the native model (LightGBM text, XGBoost UBJSON) with onnxmltools into one ONNX tree
ensemble reading a float32 matrix ``X`` of shape ``(n, p)``: the predictor's encoded features. A saved
predictor never ships the ONNX graph: loading with ``runtime="onnxruntime"`` converts the native model
again (the conversion is in-process Python, nothing is compiled or cached).

The export is a documented split: the graph holds the model, not the column encoding. ONNX Runtime
users serve from a numeric tensor, and paretoml's encoding is a dict look-up per categorical column
(codes are positions in the training categories, unseen or missing values NaN), datetimes as epoch
seconds: a few lines in any language, and done in-graph it would need one typed input per column
and string ops that many ONNX runtimes lack. The exported file's metadata (``custom_metadata_map``)
holds that encoding as JSON (``paretoml.preprocessing``, the manifest's ``preprocessing`` section),
with the feature order, task and classes; ``Predictor.preprocessor.transform_frame`` is the reference
implementation.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from paretoml.exceptions import UnsupportedError
from paretoml.families import Capability, FittedModel, get_family
from paretoml.serving._runtimes import BaseRuntime

if TYPE_CHECKING:
    from paretoml.serving._predictor import Predictor

__all__ = ["OnnxModel", "OnnxRuntime", "export_onnx", "onnx_unavailable"]

_HINT = "pip install 'paretoml[onnx]'"


def onnx_unavailable() -> str | None:
    """Why ONNX conversion or ONNX Runtime cannot run here (with the install hint), or None."""
    try:
        import onnx  # noqa: F401
        import onnxmltools  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        return f"{exc.name or 'onnx'} is not installed ({_HINT})"
    return None


def _native(model: FittedModel) -> FittedModel:
    """The native model behind a runtime (runtimes keep it as ``native``)."""
    return getattr(model, "native", model)


def _convert(model: FittedModel) -> Any:
    """``model`` (native, or in any runtime) as an ONNX ``ModelProto``.

    Raises:
        UnsupportedError: When the model's family lacks :attr:`Capability.ONNX` (the CNN), or onnxmltools
            cannot convert the model (XGBoost categorical splits over very many categories).
        MissingDependencyError: When onnxmltools, onnx or onnxruntime is missing.
    """
    from paretoml._imports import require

    get_family(model.family).require(Capability.ONNX, "ONNX conversion")
    for module in ("onnx", "onnxmltools", "onnxruntime"):
        require(module, "ONNX conversion")
    try:
        return _native(model).onnx_model()
    except RecursionError:  # onnxmltools walks XGBoost trees recursively, one node per category
        raise UnsupportedError(
            f"ONNX conversion of this {model.family} model failed: onnxmltools turns a categorical split into "
            "one node per category and runs out of recursion on high-cardinality categoricals. Serve it with "
            "another runtime, or drop or bucket the high-cardinality column."
        ) from None


class OnnxModel(FittedModel):
    """A native model served through ONNX Runtime's tree ensemble (converted in memory).

    Inputs are cast to float32, as the ONNX tree ensemble compares in float32: XGBoost, which
    trains and predicts in float32, gives the same splits; LightGBM (float64 thresholds) may send a
    row the other way where a feature value lies within float32 rounding (about 6e-8 relative) of a
    threshold. The runtime check of a search trial compares the two on the validation split.

    Args:
        native: The native model (saved as the source of truth).
    """

    def __init__(self, native: FittedModel) -> None:
        self.native = native
        self.family = native.family
        self.task = native.task
        self._bytes = _convert(native).SerializeToString()
        self.n_threads = int(getattr(native, "n_threads", 1))
        self._lock = threading.Lock()
        self._start()
        self.single_row = self._predict_row

    def _start(self) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.n_threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        session = ort.InferenceSession(self._bytes, options, providers=["CPUExecutionProvider"])
        outputs = [o.name for o in session.get_outputs()]
        # classifiers: (label, probabilities); regressors: (variable,)
        self._session, self._input, self._output = session, session.get_inputs()[0].name, [outputs[-1]]

    @property
    def runtime(self) -> str:
        """``onnxruntime``."""
        return "onnxruntime"

    def _run(self, X: np.ndarray) -> np.ndarray:
        out = self._session.run(self._output, {self._input: np.ascontiguousarray(X, dtype=np.float32)})[0]
        out = np.asarray(out, dtype=np.float64)
        return out.reshape(len(X)) if self.task == "regression" else out.reshape(len(X), -1)

    def _predict_row(self, X: np.ndarray) -> np.ndarray:
        out = self._run(X)
        return out[:, 1] if self.task == "binary" else out  # predict_one's as_output widens binary again

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self._run(X)

    def set_threads(self, n_threads: int) -> None:
        self.native.set_threads(n_threads)
        self.n_threads = n_threads
        self._start()

    def save(self, directory: Path) -> dict[str, Any]:
        return {**self.native.save(directory), "runtime": self.runtime}

    def stats(self) -> dict[str, int]:
        return {**self.native.stats(), "runtime_bytes": len(self._bytes)}


class OnnxRuntime(BaseRuntime):
    """The ``onnxruntime`` runtime: ONNX Runtime's tree ensemble, converted from the native model."""

    name = "onnxruntime"
    requires = (Capability.ONNX,)

    def unavailable(self) -> str | None:
        return onnx_unavailable()

    def build(self, model: FittedModel, timeout: float | None, *, announce: bool = False) -> FittedModel:
        return OnnxModel(model)


def export_onnx(predictor: Predictor, path: str | Path) -> Path:
    """Write ``predictor``'s model as an ONNX file, its column encoding in the file's metadata.

    The graph reads ``X``: float32, shape ``(n, p)``, the encoded features in the order of the
    metadata's ``paretoml.features`` (what ``predictor.preprocessor.transform_frame(df)`` returns). Classifiers output
    ``label`` (class index) and ``probabilities`` ``(n, n_classes)`` in ``paretoml.classes`` order;
    regressors output ``variable`` ``(n, 1)``.

    Args:
        predictor: A tree predictor (LightGBM or XGBoost), in any runtime.
        path: The ``.onnx`` file to write (its folder must exist).

    Returns:
        The file written.

    Raises:
        UnsupportedError: For a family that cannot be converted (the CNN).
        MissingDependencyError: When the ``onnx`` extra is not installed.
    """
    proto = _convert(predictor.model)
    meta = {
        "paretoml.task": predictor.task,
        "paretoml.classes": json.dumps([c.item() if isinstance(c, np.generic) else c for c in predictor.classes_]),
        "paretoml.features": json.dumps(list(predictor.feature_names_in_)),
        "paretoml.preprocessing": json.dumps(predictor.preprocessor.to_dict()),
        "paretoml.input": "X: float32 (n, p), features encoded as paretoml.preprocessing describes "
        "(category code = position in the training categories, NaN when missing or unseen; "
        "datetimes as seconds since the epoch)",
    }
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.producer_name = "paretoml"
    target = Path(path)
    target.write_bytes(proto.SerializeToString())
    return target
