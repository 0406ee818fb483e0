"""The serving runtime as a searched setting: native, or compiled with tl2cgen (optionally quantized)."""

from __future__ import annotations

import time
import warnings

import numpy as np

from paretoml.compression._base import BaseCompressor, CompressionContext
from paretoml.compression._compile import CompiledModel, compile_model, compiler_available
from paretoml.compression._truncate import boosting_rounds
from paretoml.families._base import FitData, FittedModel
from paretoml.families._lightgbm import LightGBMModel
from paretoml.families._xgboost import XGBoostModel

__all__ = ["MAX_DEVIATION", "Runtime", "compiled", "native_bytes"]

MAX_DEVIATION = 1e-5  # relative to max(1, |prediction|): float32 forests round at about 1e-7 per tree


def native_bytes(model: FittedModel) -> bytes:
    """The model's native serialised form (the compile cache key)."""
    if isinstance(model, LightGBMModel):
        return model.booster.model_to_string().encode()
    if isinstance(model, XGBoostModel):
        return bytes(model.booster.save_raw("ubj"))
    raise TypeError(f"not a tree model: {type(model).__name__}")


def compiled(model: FittedModel, runtime: str, n_threads: int, timeout: float | None = None) -> FittedModel:
    """``model`` served by ``runtime``; the native model, with a warning, when it cannot be compiled here.

    ``timeout`` bounds the compiler's time (a trial passes what is left of its time limit).
    """
    if runtime == "native":
        return model
    missing = compiler_available()
    if missing is not None:
        warnings.warn(f"runtime {runtime!r} is unavailable ({missing}); serving the native model.", stacklevel=2)
        return model
    quantize = runtime == "tl2cgen-q"
    library = compile_model(model, native_bytes(model), quantize=quantize, timeout=timeout)
    return CompiledModel(model, library, quantize=quantize)


class Runtime(BaseCompressor):
    """Compiles the (possibly truncated) model and checks it against the native one on validation."""

    name = "runtime"
    families = ("lightgbm", "xgboost")
    changes_model = True

    def active(self, ctx: CompressionContext) -> bool:
        return ctx.settings.get("runtime", "native") != "native"

    def after_fit(self, model: FittedModel, data: FitData, ctx: CompressionContext) -> FittedModel:
        wanted = str(ctx.settings["runtime"])
        left = None if data.deadline is None else data.deadline - time.monotonic()
        if left is not None and left <= 0:
            raise data.timeout_error(boosting_rounds(model))
        served = compiled(model, wanted, data.n_threads, timeout=left)
        if not isinstance(served, CompiledModel):
            ctx.attrs["runtime_skipped"] = f"{wanted} unavailable"
            ctx.parts.append("runtime=native")
            return model
        reference = model.predict(data.X_valid)
        deviation = float(np.max(np.abs(served.predict(data.X_valid) - reference)))
        one = np.abs(served.predict_one(data.X_valid[:1]) - reference[:1])
        deviation = max(deviation, float(np.max(one)))
        allowed = MAX_DEVIATION * max(1.0, float(np.max(np.abs(reference))))
        ctx.attrs["max_deviation"] = deviation
        if deviation > allowed:
            raise RuntimeError(
                f"the {wanted} runtime's predictions deviate from the native model by {deviation:.3g} on the "
                f"validation split (allowed {allowed:.3g})"
            )
        ctx.parts.append(f"runtime={wanted}")
        return served
