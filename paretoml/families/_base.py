"""The extension point for model families: a family fits, saves and loads one kind of model.

A family also declares its :class:`Capability` set: what its models can do beyond fit, predict and
save (truncation, a compiled runtime, distillation, pruning, quantization). Compressors ask the family
for a capability and call the matching method; a family that does not declare it raises
:class:`~paretoml.exceptions.UnsupportedError` naming itself.
"""

from __future__ import annotations

import abc
import enum
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from paretoml.exceptions import TrialTimeoutError, UnsupportedError

__all__ = ["BaseFamily", "Capability", "FitData", "FittedModel", "unsupported"]


class Capability(enum.Enum):
    """What a family's models can do beyond fit, predict and save; each names the methods it adds."""

    #: :meth:`FittedModel.boosting_rounds` and :meth:`FittedModel.truncated`.
    ROUNDS = "boosting rounds and truncation"
    #: :meth:`FittedModel.native_bytes` (the saved native form, a compile-cache key).
    NATIVE_BYTES = "native model bytes"
    #: :meth:`FittedModel.treelite_model` (a forest tl2cgen can compile).
    TREELITE = "a treelite model for compiling"
    #: :meth:`FittedModel.onnx_model` (an ONNX tree ensemble, for ONNX Runtime and ONNX export).
    ONNX = "conversion to ONNX"
    #: :meth:`FittedModel.native_bytes` is a LightGBM text model (lleaves compiles it).
    LIGHTGBM_TEXT = "a LightGBM text model"
    #: :meth:`BaseFamily.student_params`; ``fit`` learns soft labels in [0, 1] (or soft regression values).
    SOFT_LABELS = "soft-label (student) training"
    #: ``fit`` learns a teacher's logits from :attr:`FitData.soft_targets` (``kd_temperature``, ``kd_alpha``).
    SOFT_TARGETS = "logit (student) training"
    #: :meth:`FittedModel.pruned`.
    CHANNEL_PRUNING = "channel pruning"
    #: :meth:`FittedModel.quantized`.
    QUANTIZATION = "quantization"


def unsupported(what: str, family: str) -> UnsupportedError:
    """The error raised when ``what`` (a setting or a capability) is asked of a family that lacks it."""
    return UnsupportedError(
        f"{what} is not supported by family {family!r}. Leave it out of the compression space this family "
        "samples, or declare the capability on the family (see README 'Extending paretoml')."
    )


@dataclass(frozen=True)
class FitData:
    """Encoded training and validation matrices handed to a family.

    Attributes:
        X_train: Float features, shape ``(n, p)``; category codes in ``cat_indices`` columns.
        y_train: Class indices (classification) or floats (regression).
        X_valid: Validation features, used for early stopping.
        y_valid: Validation target.
        cat_indices: Columns that hold category codes.
        task: ``"binary"``, ``"multiclass"`` or ``"regression"``.
        n_classes: Number of classes (0 for regression).
        n_threads: Threads to train and predict with.
        seed: Random seed.
        deadline: ``time.monotonic()`` value after which fitting must stop (None: no limit).
        image_shape: ``(C, H, W)`` when the rows are flattened images (C-order), else None.
        soft_targets: A distillation teacher's logits per training row, for families that learn them.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_valid: np.ndarray
    y_valid: np.ndarray
    cat_indices: list[int]
    task: str
    n_classes: int
    n_threads: int
    seed: int
    deadline: float | None = None
    image_shape: tuple[int, int, int] | None = None
    soft_targets: np.ndarray | None = None

    def past_deadline(self) -> bool:
        """True when fitting ran past :attr:`deadline` (families stop and raise)."""
        return self.deadline is not None and time.monotonic() > self.deadline

    def timeout_error(self, rounds_done: int) -> TrialTimeoutError:
        """The error a family raises when it stopped at the deadline."""
        return TrialTimeoutError(
            f"the trial ran past its time limit while fitting (stopped after {rounds_done} boosting rounds). "
            "Raise `trial_timeout`, or narrow the search space (fewer or smaller trees)."
        )


class FittedModel(abc.ABC):
    """A trained model in its serving runtime.

    ``predict`` returns class probabilities of shape ``(n, n_classes)`` for classification, and
    values of shape ``(n,)`` for regression.
    """

    family: str
    task: str
    #: A faster call for one encoded row returning the library's raw output, or None.
    single_row: Callable[[np.ndarray], np.ndarray] | None = None

    @abc.abstractmethod
    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predict a batch of encoded rows."""

    def predict_one(self, X: np.ndarray) -> np.ndarray:
        """Predict one encoded row of shape ``(1, p)``, through :attr:`single_row` when there is one."""
        fast = self.single_row
        return self.predict(X) if fast is None else as_output(fast(X), self.task, 1)

    @abc.abstractmethod
    def save(self, directory: Path) -> dict[str, Any]:
        """Write the model into ``directory`` in its native format.

        Returns:
            Manifest entries needed by :meth:`BaseFamily.load` (at least ``"file"``).
        """

    @abc.abstractmethod
    def set_threads(self, n_threads: int) -> None:
        """Set the number of threads used for prediction."""

    @abc.abstractmethod
    def stats(self) -> dict[str, int]:
        """Size facts of the model: ``n_trees``, ``n_leaves`` and the like."""

    # ------------------------------------------------------------------ capabilities (see Capability)
    def boosting_rounds(self) -> int:
        """Boosting rounds (trees per class). :attr:`Capability.ROUNDS`."""
        raise unsupported("counting boosting rounds", self.family)

    def truncated(self, rounds: int) -> FittedModel:
        """The model with only its first ``rounds`` boosting rounds. :attr:`Capability.ROUNDS`."""
        raise unsupported("truncation", self.family)

    def native_bytes(self) -> bytes:
        """The model's saved native form. :attr:`Capability.NATIVE_BYTES`."""
        raise unsupported("native model bytes", self.family)

    def treelite_model(self) -> Any:
        """The model as a ``treelite.Model``. :attr:`Capability.TREELITE`."""
        raise unsupported("the compiled runtime", self.family)

    def onnx_model(self) -> Any:
        """The model as an ONNX ``ModelProto`` reading one float32 input ``X`` of shape ``(n, p)``.
        :attr:`Capability.ONNX`."""
        raise unsupported("ONNX conversion", self.family)

    def pruned(self, fraction: float, data: FitData, epochs: int) -> tuple[FittedModel, dict[str, Any]]:
        """``fraction`` of each block's channels removed, then fine-tuned for ``epochs``, and the facts
        to record about the model before pruning. :attr:`Capability.CHANNEL_PRUNING`."""
        raise unsupported("channel pruning", self.family)

    def quantized(self, mode: str, data: FitData) -> FittedModel:
        """The model in lower precision (``int8`` or ``fp16``). :attr:`Capability.QUANTIZATION`."""
        raise unsupported("quantization", self.family)


class BaseFamily(abc.ABC):
    """A model family: owns its default search space, training and native-format loading.

    Subclasses set :attr:`name` and implement :meth:`fit` and :meth:`load`; register an instance
    with :func:`paretoml.families.register_family`.
    """

    name: str = ""
    #: The compression search space (``search_spaces/<name>.yaml``) this family's trials sample
    #: (``compression`` for trees, ``cnn_compression`` for CNNs); empty: none is searched.
    compression_space: str = ""
    #: What the family's models can do beyond fit, predict and save; compressors ask for these.
    capabilities: frozenset[Capability] = frozenset()
    #: Whether the family needs image-shaped data (and all pixels, so no feature subsets).
    needs_images: bool = False

    @abc.abstractmethod
    def fit(self, data: FitData, params: dict[str, Any]) -> FittedModel:
        """Train a model with the sampled hyperparameters ``params``."""

    @abc.abstractmethod
    def load(self, directory: Path, entry: dict[str, Any], *, task: str, n_classes: int) -> FittedModel:
        """Load a model saved by :meth:`FittedModel.save` (never through pickle)."""

    def supports(self, task: str) -> bool:
        """Whether the family can handle ``task``; all tasks by default."""
        return task in ("binary", "multiclass", "regression")

    def require(self, capability: Capability, setting: str) -> None:
        """Check that the family declares ``capability``, which ``setting`` needs.

        Raises:
            UnsupportedError: "<setting> is not supported by family <name>" when it does not.
        """
        if capability not in self.capabilities:
            raise unsupported(setting, self.name)

    def student_params(self, params: dict[str, Any], *, leaves: int, task: str) -> dict[str, Any]:
        """Hyperparameters for a distillation student of about ``leaves`` leaves per tree.
        :attr:`Capability.SOFT_LABELS`."""
        raise unsupported("soft-label distillation", self.name)


def as_output(raw: np.ndarray, task: str, n_rows: int) -> np.ndarray:
    """A library's raw output as ``(n, n_classes)`` probabilities, or ``(n,)`` regression values."""
    if task == "regression":
        return raw.reshape(n_rows)
    if task == "binary":
        p = raw.reshape(n_rows)
        return np.column_stack((1.0 - p, p))
    return raw.reshape(n_rows, -1)
