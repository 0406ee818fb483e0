"""The extension point for compression: hooks before fitting and after it, plus a description.

A compressor belongs to one compression space (``compression`` for trees, ``cnn_compression`` for
CNNs, named by a family's ``compression_space``) and lists the :class:`Capability` values it needs.
When a trial's settings ask for it, the trial's family must declare them; otherwise the trial fails
before training with "... is not supported by family X".
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from paretoml.families import BaseFamily, Capability, FitData, FittedModel, get_family

__all__ = ["BaseCompressor", "BaseTeacher", "CompressionContext", "TeacherLike"]


class TeacherLike(Protocol):
    """A study's distillation teacher: trained once, then asked for its outputs on the training rows."""

    def predictions(self) -> tuple[np.ndarray, dict[str, Any]]:
        """Teacher outputs per training row, and a JSON-ready description of the teacher."""
        ...


class BaseTeacher(abc.ABC):
    """A teacher trained on first use (on all features of the training split), then kept.

    Args:
        data: The study's full training and validation data.
    """

    def __init__(self, data: FitData) -> None:
        self.data = data
        self._trained: tuple[np.ndarray, dict[str, Any]] | None = None

    def predictions(self) -> tuple[np.ndarray, dict[str, Any]]:
        """Teacher outputs per training row and a JSON-ready description (trained on the first call)."""
        if self._trained is None:
            self._trained = self.train(self.data)
        return self._trained

    @abc.abstractmethod
    def train(self, data: FitData) -> tuple[np.ndarray, dict[str, Any]]:
        """Train the teacher; return its outputs on the training rows and its description."""


@dataclass
class CompressionContext:
    """What compressors may read and record during one trial.

    Attributes:
        settings: The trial's sampled compression settings.
        family: The trial's model family (a registered name).
        attrs: Facts to record as trial user attrs (e.g. ``teacher``, ``max_deviation``).
        parts: Pieces of the trial's ``compression`` description, in order.
        teacher: The study's distillation teacher (None when distillation is off).
    """

    settings: dict[str, Any]
    family: str
    teacher: TeacherLike | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    parts: list[str] = field(default_factory=list)

    @property
    def model_family(self) -> BaseFamily:
        """The registered family object of :attr:`family`."""
        return get_family(self.family)


class BaseCompressor(abc.ABC):
    """One compression technique. Override the hooks that apply; both default to no change.

    Attributes:
        name: The registry key.
        space: The compression space whose settings drive it (a family's ``compression_space``).
        setting: The setting that switches it on (named in errors).
        requires: Capabilities the trial's family must declare when the setting asks for it.
        changes_model: Whether ``after_fit`` changes the trained model (then the trial also records
            the uncompressed model's metric).
    """

    name: str = ""
    space: str = "compression"
    setting: str = ""
    requires: tuple[Capability, ...] = ()
    changes_model: bool = False

    def applies(self, ctx: CompressionContext) -> bool:
        """Whether the trial samples this compressor's space and its settings ask for it.

        Raises:
            UnsupportedError: When they ask for it and the family lacks a required capability.
        """
        family = ctx.model_family
        if family.compression_space != self.space or not self.active(ctx):
            return False
        for capability in self.requires:
            family.require(capability, f"{self.name} (`{self.setting}={ctx.settings.get(self.setting)!r}`)")
        return True

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
