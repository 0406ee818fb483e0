"""Lower-precision weights as a searched setting: static int8 (calibrated on training rows) or float16."""

from __future__ import annotations

from paretoml.compression._base import BaseCompressor, CompressionContext
from paretoml.families import Capability, FitData, FittedModel
from paretoml.families._cnn import CALIBRATION_ROWS

__all__ = ["Quantization"]


class Quantization(BaseCompressor):
    """``quantize: int8`` runs the net on int8 weights and activations (:mod:`paretoml.nets._int8`);
    ``quantize: fp16`` stores the weights in half precision (half the bytes, computed in float32)."""

    name = "quantization"
    space = "cnn_compression"
    setting = "quantize"
    requires = (Capability.QUANTIZATION,)
    changes_model = True

    def active(self, ctx: CompressionContext) -> bool:
        return str(ctx.settings.get("quantize", "none")) != "none"

    def after_fit(self, model: FittedModel, data: FitData, ctx: CompressionContext) -> FittedModel:
        mode = str(ctx.settings["quantize"])
        small = model.quantized(mode, data)
        if mode == "int8":
            ctx.attrs["calibration_rows"] = min(CALIBRATION_ROWS, len(data.X_train))
        ctx.parts.append(mode)
        return small
