"""The serving runtime as a searched setting: native, or compiled with tl2cgen (optionally quantized)."""

from __future__ import annotations

import warnings

import numpy as np

from paretoml.compression._base import BaseCompressor, CompressionContext
from paretoml.compression._compile import CompiledModel, compile_model, compiler_available
from paretoml.families._base import FitData, FittedModel
from paretoml.families._lightgbm import LightGBMModel
from paretoml.families._xgboost import XGBoostModel

__all__ = ["MAX_DEVIATION", "Runtime", "compiled", "native_bytes"]

MAX_DEVIATION = 1e-5  # compiled predictions further than this from the native model fail the trial


def native_bytes(model: FittedModel) -> bytes:
    """The model's native serialised form (the compile cache key)."""
    if isinstance(model, LightGBMModel):
        return model.booster.model_to_string().encode()
    if isinstance(model, XGBoostModel):
        return bytes(model.booster.save_raw("ubj"))
    raise TypeError(f"not a tree model: {type(model).__name__}")


def compiled(model: FittedModel, runtime: str, n_threads: int) -> FittedModel:
    """``model`` served by ``runtime``; the native model, with a warning, when it cannot be compiled here."""
    if runtime == "native":
        return model
    missing = compiler_available()
    if missing is not None:
        warnings.warn(f"runtime {runtime!r} is unavailable ({missing}); serving the native model.", stacklevel=2)
        return model
    quantize = runtime == "tl2cgen-q"
    library = compile_model(model, native_bytes(model), quantize=quantize, n_threads=n_threads)
    return CompiledModel(model, library, quantize=quantize)


class Runtime(BaseCompressor):
    """Compiles the (possibly truncated) model and checks it against the native one on validation."""

    name = "runtime"

    def active(self, ctx: CompressionContext) -> bool:
        return ctx.settings.get("runtime", "native") != "native"

    def after_fit(self, model: FittedModel, data: FitData, ctx: CompressionContext) -> FittedModel:
        wanted = str(ctx.settings["runtime"])
        served = compiled(model, wanted, data.n_threads)
        if not isinstance(served, CompiledModel):
            ctx.attrs["runtime_skipped"] = f"{wanted} unavailable"
            ctx.parts.append("runtime=native")
            return model
        deviation = float(np.max(np.abs(served.predict(data.X_valid) - model.predict(data.X_valid))))
        one = np.abs(served.predict_one(data.X_valid[:1]) - model.predict(data.X_valid[:1]))
        deviation = max(deviation, float(np.max(one)))
        ctx.attrs["max_deviation"] = deviation
        if deviation > MAX_DEVIATION:
            raise RuntimeError(
                f"the {wanted} runtime's predictions deviate from the native model by {deviation:.3g} on the "
                f"validation split (allowed {MAX_DEVIATION:g})"
            )
        ctx.parts.append(f"runtime={wanted}")
        return served
