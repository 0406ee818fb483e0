"""Pruning by truncation: keep the first k trees (the libraries' own iteration limit)."""

from __future__ import annotations

import math

import lightgbm as lgb

from paretoml.compression._base import BaseCompressor, CompressionContext
from paretoml.families._base import FitData, FittedModel
from paretoml.families._lightgbm import LightGBMModel
from paretoml.families._xgboost import XGBoostModel

__all__ = ["Truncation", "truncate"]


def truncate(model: FittedModel, rounds: int) -> FittedModel:
    """The model with only its first ``rounds`` boosting rounds.

    LightGBM: the model rewritten with ``num_iteration=rounds``; XGBoost: the booster sliced to
    ``[:rounds]``. Predictions equal the library's own ``num_iteration`` / ``iteration_range`` limit.
    """
    if isinstance(model, LightGBMModel):
        booster = lgb.Booster(model_str=model.booster.model_to_string(num_iteration=rounds))
        return LightGBMModel(booster, task=model.task, n_classes=model.n_classes, n_threads=model.n_threads)
    if isinstance(model, XGBoostModel):
        return XGBoostModel(
            model.booster[:rounds], task=model.task, n_classes=model.n_classes, n_threads=model.n_threads
        )
    raise TypeError(f"truncation supports LightGBM and XGBoost models, not {type(model).__name__}")


def boosting_rounds(model: FittedModel) -> int:
    """Boosting rounds of a LightGBM or XGBoost model (trees per class)."""
    if isinstance(model, LightGBMModel):
        return int(model.booster.current_iteration())
    if isinstance(model, XGBoostModel):
        return int(model.booster.num_boosted_rounds())
    raise TypeError(f"not a tree model: {type(model).__name__}")


class Truncation(BaseCompressor):
    """Keeps ``ceil(tree_fraction * rounds)`` boosting rounds (searched per trial)."""

    name = "truncation"
    families = ("lightgbm", "xgboost")
    changes_model = True

    def active(self, ctx: CompressionContext) -> bool:
        return float(ctx.settings.get("tree_fraction", 1.0)) < 1.0

    def after_fit(self, model: FittedModel, data: FitData, ctx: CompressionContext) -> FittedModel:
        total = boosting_rounds(model)
        keep = max(1, math.ceil(float(ctx.settings["tree_fraction"]) * total))
        ctx.attrs["rounds_kept"] = keep
        ctx.attrs["rounds_trained"] = total
        ctx.parts.append(f"trees={keep}/{total}")
        return truncate(model, keep) if keep < total else model
