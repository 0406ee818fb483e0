"""Compression searched per trial, one module each: for trees distillation, truncation and a compiled
runtime; for CNNs distillation, structured channel pruning and int8/float16 quantization.

Compressors ask the trial's family for a :class:`~paretoml.families.Capability`; the compiled runtime
they may choose lives in :mod:`paretoml.serving`.
"""

from __future__ import annotations

from typing import Any

from paretoml.compression._base import BaseCompressor, BaseTeacher, CompressionContext, TeacherLike
from paretoml.compression._channel_prune import ChannelPruning
from paretoml.compression._cnn_distill import CNNDistillation, CNNTeacher
from paretoml.compression._distill import Distillation, Teacher
from paretoml.compression._quantize import Quantization
from paretoml.compression._runtime import Runtime
from paretoml.compression._truncate import Truncation
from paretoml.families import FitData, FittedModel

__all__ = [
    "COMPRESSORS",
    "BaseCompressor",
    "BaseTeacher",
    "CNNTeacher",
    "CompressionContext",
    "Teacher",
    "TeacherLike",
    "after_fit",
    "before_fit",
    "changes_model",
    "register_compressor",
]

#: Applied in this order: distillation changes training, truncation/pruning the trained model, then
#: runtime/quantization its serving form.
COMPRESSORS: dict[str, BaseCompressor] = {}


def register_compressor(compressor: BaseCompressor) -> BaseCompressor:
    """Add ``compressor`` to :data:`COMPRESSORS` (applied after those registered before it)."""
    COMPRESSORS[compressor.name] = compressor
    return compressor


for _c in (Distillation(), CNNDistillation(), Truncation(), ChannelPruning(), Runtime(), Quantization()):
    register_compressor(_c)


def before_fit(data: FitData, params: dict[str, Any], ctx: CompressionContext) -> tuple[FitData, dict[str, Any]]:
    """Run every active compressor's ``before_fit`` hook."""
    for compressor in COMPRESSORS.values():
        if compressor.applies(ctx):
            data, params = compressor.before_fit(data, params, ctx)
    return data, params


def after_fit(model: FittedModel, data: FitData, ctx: CompressionContext) -> FittedModel:
    """Run every active compressor's ``after_fit`` hook."""
    for compressor in COMPRESSORS.values():
        if compressor.applies(ctx):
            model = compressor.after_fit(model, data, ctx)
    return model


def changes_model(ctx: CompressionContext) -> bool:
    """Whether any compressor that applies to the trial changes the trained model."""
    return any(c.changes_model and c.applies(ctx) for c in COMPRESSORS.values())
