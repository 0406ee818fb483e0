"""Pruning by truncation: keep the first k boosting rounds (the libraries' own iteration limit)."""

from __future__ import annotations

import math

from paretoml.compression._base import BaseCompressor, CompressionContext
from paretoml.families import Capability, FitData, FittedModel

__all__ = ["Truncation"]


class Truncation(BaseCompressor):
    """Keeps ``ceil(tree_fraction * rounds)`` boosting rounds (searched per trial).

    Needs :attr:`Capability.ROUNDS`: LightGBM rewrites the model with ``num_iteration=k``, XGBoost
    slices the booster to ``[:k]``; predictions equal the library's own iteration limit.
    """

    name = "truncation"
    setting = "tree_fraction"
    requires = (Capability.ROUNDS,)
    changes_model = True

    def active(self, ctx: CompressionContext) -> bool:
        return float(ctx.settings.get("tree_fraction", 1.0)) < 1.0

    def after_fit(self, model: FittedModel, data: FitData, ctx: CompressionContext) -> FittedModel:
        total = model.boosting_rounds()
        keep = max(1, math.ceil(float(ctx.settings["tree_fraction"]) * total))
        ctx.attrs["rounds_kept"] = keep
        ctx.attrs["rounds_trained"] = total
        ctx.parts.append(f"trees={keep}/{total}")
        return model.truncated(keep) if keep < total else model
