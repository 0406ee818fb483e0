"""Lower-precision CNN weights: static int8 (calibrated on training rows) or float16 storage."""

from __future__ import annotations

import numpy as np

from paretoml.compression._base import BaseCompressor, CompressionContext
from paretoml.families._base import FitData, FittedModel

__all__ = ["CALIBRATION_ROWS", "Quantization"]

#: Training rows used to calibrate int8 activation scales (a seeded sample).
CALIBRATION_ROWS = 512


class Quantization(BaseCompressor):
    """``quantize: int8`` runs the net on int8 weights and activations (:mod:`paretoml.nets._int8`);
    ``quantize: fp16`` stores the weights in half precision (half the bytes, computed in float32)."""

    name = "quantization"
    families = ("cnn",)
    changes_model = True

    def active(self, ctx: CompressionContext) -> bool:
        return str(ctx.settings.get("quantize", "none")) != "none"

    def after_fit(self, model: FittedModel, data: FitData, ctx: CompressionContext) -> FittedModel:
        import torch

        from paretoml.families._cnn import CNNModel
        from paretoml.nets import CNN, as_images, quantize_int8

        if not isinstance(model, CNNModel) or not isinstance(model.net, CNN):
            raise TypeError(f"quantization needs a float CNN model, not {type(model).__name__}")
        mode = str(ctx.settings["quantize"])
        if mode == "int8":
            rng = np.random.default_rng(data.seed)
            rows = rng.choice(len(data.X_train), size=min(CALIBRATION_ROWS, len(data.X_train)), replace=False)
            qnet = quantize_int8(model.net, as_images(data.X_train[np.sort(rows)], model.arch.in_shape))
            ctx.attrs["calibration_rows"] = len(rows)
            ctx.parts.append("int8")
            return CNNModel(qnet, model.task, precision="int8", n_threads=model.n_threads)
        if mode == "fp16":
            half = CNN(model.arch)
            with torch.no_grad():
                half.load_state_dict({k: v.half().float() for k, v in model.net.state_dict().items()})
            ctx.parts.append("fp16")
            return CNNModel(half.eval(), model.task, precision="float16", n_threads=model.n_threads)
        raise ValueError(f"`quantize` must be 'none', 'int8' or 'fp16'; got {mode!r}.")
