"""The extension point for compression: hooks before fitting and after it, plus a description."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from paretoml.families._base import FitData, FittedModel

__all__ = ["BaseCompressor", "CompressionContext", "TeacherLike"]


class TeacherLike(Protocol):
    """A study's distillation teacher: trained once, then asked for its outputs on the training rows."""

    def predictions(self) -> tuple[np.ndarray, dict[str, Any]]:
        """Teacher outputs per training row, and a JSON-ready description of the teacher."""
        ...


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
    teacher: TeacherLike | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    parts: list[str] = field(default_factory=list)


class BaseCompressor(abc.ABC):
    """One compression technique. Override the hooks that apply; both default to no change.

    Attributes:
        name: The registry key.
        families: Model families the technique applies to (empty: all).
        changes_model: Whether ``after_fit`` changes the trained model (then the trial also records
            the uncompressed model's metric).
    """

    name: str = ""
    families: tuple[str, ...] = ()
    changes_model: bool = False

    def applies(self, ctx: CompressionContext) -> bool:
        """Whether the technique is for the trial's family and its settings ask for it."""
        return (not self.families or ctx.family in self.families) and self.active(ctx)

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
