"""The shared base of the boosted-tree families (LightGBM, XGBoost).

Both train a booster with early stopping on the validation split, keep its best iteration, save it
in the library's native format, and declare the same capabilities: rounds and truncation, native
bytes, a treelite model for the compiled runtime, and soft-label (student) training.
"""

from __future__ import annotations

import abc
from pathlib import Path
from typing import Any, ClassVar

from paretoml.families._base import BaseFamily, Capability, FitData, FittedModel

__all__ = ["ONNX_OPTIONS", "BoostedTreeFamily", "BoostedTreeModel", "onnx_input"]

TREE_CAPABILITIES = frozenset(
    {Capability.ROUNDS, Capability.NATIVE_BYTES, Capability.TREELITE, Capability.SOFT_LABELS, Capability.ONNX}
)

#: onnxmltools' converter options: opset 15 (its newest, ai.onnx.ml 3), probabilities as a plain tensor.
ONNX_OPTIONS: dict[str, Any] = {"target_opset": 15}


def onnx_input(n_features: int) -> list[tuple[str, Any]]:
    """The ONNX graph's one input: ``X``, float32, shape ``(n, n_features)``."""
    from onnxmltools.convert.common.data_types import FloatTensorType

    return [("X", FloatTensorType([None, n_features]))]


class BoostedTreeModel(FittedModel):
    """A booster trimmed to its best iteration; subclasses wrap one library's booster.

    Args:
        booster: The library's booster.
        task: ``"binary"``, ``"multiclass"`` or ``"regression"``.
        n_classes: Number of classes (0 for regression).
        n_threads: Threads to predict with.
    """

    #: The model file written by :meth:`save`.
    file_name: ClassVar[str]
    n_threads: int

    def __init__(self, booster: Any, *, task: str, n_classes: int, n_threads: int = 1) -> None:
        self.booster = booster
        self.task = task
        self.n_classes = n_classes
        self.set_threads(n_threads)

    def with_booster(self, booster: Any) -> BoostedTreeModel:
        """The same kind of model (task, classes, threads) around another booster."""
        return type(self)(booster, task=self.task, n_classes=self.n_classes, n_threads=self.n_threads)

    def save(self, directory: Path) -> dict[str, Any]:
        (directory / self.file_name).write_bytes(self.native_bytes())
        return {"file": self.file_name}

    @abc.abstractmethod
    def native_bytes(self) -> bytes:
        """The booster in the library's native format (what :meth:`save` writes)."""

    @abc.abstractmethod
    def boosting_rounds(self) -> int:
        """Boosting rounds (trees per class)."""

    @abc.abstractmethod
    def truncated(self, rounds: int) -> FittedModel:
        """The model with only its first ``rounds`` boosting rounds (the library's own iteration limit)."""

    @abc.abstractmethod
    def treelite_model(self) -> Any:
        """The forest as a ``treelite.Model``."""

    @abc.abstractmethod
    def onnx_model(self) -> Any:
        """The forest as an ONNX tree ensemble (onnxmltools' converter for the library)."""


class BoostedTreeFamily(BaseFamily):
    """Gradient-boosted trees, early-stopped on the validation split (``early_stopping_rounds``)."""

    compression_space = "compression"
    capabilities = TREE_CAPABILITIES
    #: The model class :meth:`load` builds.
    model_class: ClassVar[type[BoostedTreeModel]]

    def fit(self, data: FitData, params: dict[str, Any]) -> FittedModel:
        p = dict(params)
        rounds = int(p.pop("n_estimators", 100))
        patience = p.pop("early_stopping_rounds", None)
        return self.train(data, p, rounds, int(patience) if patience else None)

    @abc.abstractmethod
    def train(self, data: FitData, params: dict[str, Any], rounds: int, patience: int | None) -> BoostedTreeModel:
        """Train at most ``rounds`` rounds (stopping after ``patience`` without improvement) and keep
        the best iteration; ``params`` are the library's own, ``n_estimators`` and
        ``early_stopping_rounds`` already taken out."""

    def load(self, directory: Path, entry: dict[str, Any], *, task: str, n_classes: int) -> FittedModel:
        return self.model_class(self.read_booster(directory / entry["file"]), task=task, n_classes=n_classes)

    @abc.abstractmethod
    def read_booster(self, file: Path) -> Any:
        """The booster saved in ``file`` by :meth:`BoostedTreeModel.save`."""
