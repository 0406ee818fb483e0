"""The serving runtime as a searched setting: native, or a registered runtime (tl2cgen, tl2cgen-q,
onnxruntime, lleaves).

The runtimes live in :mod:`paretoml.serving` (a saved predictor builds its runtime again on load);
this compressor builds it at search time and checks it against the native model.
"""

from __future__ import annotations

import time

import numpy as np

from paretoml.compression._base import BaseCompressor, CompressionContext
from paretoml.families import Capability, FitData, FittedModel
from paretoml.serving import compiled
from paretoml.serving._runtimes import get_runtime

__all__ = ["MAX_DEVIATION", "Runtime"]

MAX_DEVIATION = 1e-5  # relative to max(1, |prediction|): float32 forests round at about 1e-7 per tree


class Runtime(BaseCompressor):
    """Compiles the (possibly truncated) model and checks it against the native one on validation.

    A runtime that is unavailable, or whose predictions deviate from the native model's by more than
    :data:`MAX_DEVIATION`, is not used: the trial serves the native model and records why in the
    ``runtime_skipped`` attribute. The trial's fitting is not thrown away, and the sampler sees a complete
    trial (a failed one it would ignore, and keep proposing the runtime).
    """

    name = "runtime"
    setting = "runtime"
    changes_model = True

    def active(self, ctx: CompressionContext) -> bool:
        return ctx.settings.get("runtime", "native") != "native"

    def applies(self, ctx: CompressionContext) -> bool:
        """As for any compressor; the capabilities checked are those the chosen runtime requires."""
        if not super().applies(ctx):
            return False
        get_runtime(str(ctx.settings["runtime"]), ctx.family)
        return True

    def after_fit(self, model: FittedModel, data: FitData, ctx: CompressionContext) -> FittedModel:
        wanted = str(ctx.settings["runtime"])
        left = None if data.deadline is None else data.deadline - time.monotonic()
        if left is not None and left <= 0:
            rounds = model.boosting_rounds() if Capability.ROUNDS in ctx.model_family.capabilities else 0
            raise data.timeout_error(rounds)
        served = compiled(model, wanted, data.n_threads, timeout=left)
        if served is model:
            ctx.attrs["runtime_skipped"] = f"{wanted} unavailable: {get_runtime(wanted, ctx.family).unavailable()}"
            ctx.parts.append("runtime=native")
            return model
        reference = model.predict(data.X_valid)
        deviation = float(np.max(np.abs(served.predict(data.X_valid) - reference)))
        one = np.abs(served.predict_one(data.X_valid[:1]) - reference[:1])
        deviation = max(deviation, float(np.max(one)))
        allowed = MAX_DEVIATION * max(1.0, float(np.max(np.abs(reference))))
        ctx.attrs["max_deviation"] = deviation
        if deviation > allowed:  # e.g. tl2cgen 1.0's quantized thresholds on XGBoost splits at tied values
            ctx.attrs["runtime_skipped"] = (
                f"{wanted}'s predictions deviate from the native model by {deviation:.3g} on the validation "
                f"split (allowed {allowed:.3g}): served natively"
            )
            ctx.parts.append("runtime=native")
            return model
        ctx.parts.append(f"runtime={wanted}")
        return served
