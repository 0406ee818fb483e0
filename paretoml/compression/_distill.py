"""Knowledge distillation for tree families: a small student learns a strong teacher's predictions.

The teacher is a LightGBM model trained once per study (500 rounds at most, early-stopped on the
validation split) and kept. For binary classification the student learns soft labels
``w * y + (1 - w) * p_teacher`` (LightGBM's cross-entropy objective, XGBoost's logistic loss, both
accept labels in [0, 1]); for regression, ``w * y + (1 - w) * teacher``. The label weight ``w`` and
the student's size (rounds, leaves, turned into the family's own parameters by its
``student_params``) are searched. Multiclass is not distilled (neither library takes soft
multiclass labels); such trials train normally.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from paretoml.compression._base import BaseCompressor, BaseTeacher, CompressionContext
from paretoml.families import Capability, FitData
from paretoml.families._lightgbm import LightGBMFamily

__all__ = ["Distillation", "Teacher"]

_TEACHER_PARAMS = {"learning_rate": 0.05, "num_leaves": 63, "min_child_samples": 10, "n_estimators": 500,
                   "early_stopping_rounds": 30}  # fmt: skip


class Teacher(BaseTeacher):
    """The study's tree teacher: a LightGBM model on all features of the training split."""

    def train(self, data: FitData) -> tuple[np.ndarray, dict[str, Any]]:
        """Teacher outputs on the training rows (probability of class 1, or values) and a description."""
        model = LightGBMFamily().fit(replace(data, deadline=None), _TEACHER_PARAMS)
        out = model.predict(data.X_train)
        described = {"family": "lightgbm", "rounds": model.boosting_rounds(),
                     "num_leaves": _TEACHER_PARAMS["num_leaves"]}  # fmt: skip
        return (out[:, 1] if out.ndim == 2 else out), described


class Distillation(BaseCompressor):
    """Trains the trial's model as a student of the study's teacher."""

    name = "distillation"
    setting = "distill"
    requires = (Capability.SOFT_LABELS,)

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
        leaves = int(ctx.settings.get("student_leaves", 8))
        student = ctx.model_family.student_params(params, leaves=leaves, task=data.task)
        student["n_estimators"] = int(ctx.settings.get("student_rounds", 50))
        ctx.attrs["teacher"] = described
        ctx.attrs["label_weight"] = weight
        ctx.parts.append("distilled")
        return replace(data, y_train=soft), student
