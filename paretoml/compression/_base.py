"""The extension point for compression: hooks before fitting and after it, plus a description."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from paretoml.families._base import FitData, FittedModel

if TYPE_CHECKING:
    from paretoml.compression._distill import Teacher

__all__ = ["BaseCompressor", "CompressionContext"]


@dataclass
class CompressionContext:
    """What compressors may read and record during one trial.

    Attributes:
        settings: The trial's sampled compression settings.
        family: The trial's model family.
        attrs: Facts to record as trial user attrs (e.g. ``teacher``, ``max_deviation``).
        parts: Pieces of the trial's ``compression`` description, in order.
        teacher: The study's distillation teacher (None when distillation is off).
    """

    settings: dict[str, Any]
    family: str
    teacher: Teacher | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    parts: list[str] = field(default_factory=list)


class BaseCompressor(abc.ABC):
    """One compression technique. Override the hooks that apply; both default to no change."""

    name: str = ""

    def before_fit(
        self, data: FitData, params: dict[str, Any], ctx: CompressionContext
    ) -> tuple[FitData, dict[str, Any]]:
        """Change the training data or hyperparameters (e.g. distillation's soft labels)."""
        return data, params

    def after_fit(self, model: FittedModel, data: FitData, ctx: CompressionContext) -> FittedModel:
        """Change the trained model (e.g. truncate it, or compile it)."""
        return model

    @abc.abstractmethod
    def active(self, ctx: CompressionContext) -> bool:
        """Whether the trial's settings ask for this compressor."""
