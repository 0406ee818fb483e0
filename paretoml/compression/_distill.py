"""Knowledge distillation: a small student learns a strong teacher's predictions.

The teacher is a LightGBM model trained once per study (500 rounds at most, early-stopped on the
validation split) and cached in the process. For binary classification the student learns soft
labels ``w * y + (1 - w) * p_teacher`` (LightGBM's cross-entropy objective, XGBoost's logistic loss,
both accept labels in [0, 1]); for regression, ``w * y + (1 - w) * teacher``. The label weight ``w``
and the student's size (rounds, leaves) are searched. Multiclass is not distilled (neither library
takes soft multiclass labels); such trials train normally.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Literal

import lightgbm as lgb
import numpy as np

from paretoml.compression._base import BaseCompressor, CompressionContext
from paretoml.families._base import FitData

__all__ = ["Distillation", "Teacher"]

_TEACHER_PARAMS = {"learning_rate": 0.05, "num_leaves": 63, "min_child_samples": 10, "verbosity": -1}


class Teacher:
    """The study's teacher: trained on all features of the training split on first use, then kept."""

    def __init__(self, data: FitData) -> None:
        self.data = data
        self._trained: tuple[np.ndarray, dict[str, Any]] | None = None

    def predictions(self) -> tuple[np.ndarray, dict[str, Any]]:
        """Teacher outputs on the training rows (probability of class 1, or values) and a description."""
        if self._trained is None:
            data = self.data
            objective = "binary" if data.task == "binary" else "regression"
            params = {**_TEACHER_PARAMS, "objective": objective, "num_threads": data.n_threads, "seed": data.seed}
            cats: list[int] | Literal["auto"] = data.cat_indices or "auto"
            train = lgb.Dataset(data.X_train, data.y_train, categorical_feature=cats)
            valid = lgb.Dataset(data.X_valid, data.y_valid, reference=train, categorical_feature=cats)
            booster = lgb.train(
                params, train, 500, valid_sets=[valid], callbacks=[lgb.early_stopping(30, verbose=False)]
            )
            rounds = booster.best_iteration or booster.current_iteration()
            described = {"family": "lightgbm", "rounds": rounds, "num_leaves": _TEACHER_PARAMS["num_leaves"]}
            self._trained = (np.asarray(booster.predict(data.X_train, num_iteration=rounds)), described)
        return self._trained


class Distillation(BaseCompressor):
    """Trains the trial's model as a student of the study's teacher."""

    name = "distillation"
    families = ("lightgbm", "xgboost")

    def active(self, ctx: CompressionContext) -> bool:
        return bool(ctx.settings.get("distill", False))

    def before_fit(
        self, data: FitData, params: dict[str, Any], ctx: CompressionContext
    ) -> tuple[FitData, dict[str, Any]]:
        if data.task == "multiclass":
            ctx.attrs["distillation_skipped"] = "multiclass targets are not distilled"
            return data, params
        if ctx.teacher is None:
            raise ValueError("distillation needs the study's teacher in the compression context")
        teacher_out, described = ctx.teacher.predictions()
        weight = float(ctx.settings.get("label_weight", 0.0))
        soft = weight * data.y_train.astype(np.float64) + (1.0 - weight) * teacher_out
        student = dict(params)
        student["n_estimators"] = int(ctx.settings.get("student_rounds", 50))
        leaves = int(ctx.settings.get("student_leaves", 8))
        if ctx.family == "lightgbm":
            student["num_leaves"] = leaves
            if data.task == "binary":
                student["objective"] = "cross_entropy"
        else:
            student.pop("max_leaves", None)
            student["grow_policy"] = "depthwise"
            student["max_depth"] = max(1, math.ceil(math.log2(leaves)))
        ctx.attrs["teacher"] = described
        ctx.attrs["label_weight"] = weight
        ctx.parts.append("distilled")
        return replace(data, y_train=soft), student
