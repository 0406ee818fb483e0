"""Knowledge distillation for CNNs: the student learns a teacher CNN's softened logits.

The teacher is a wider CNN (32 and 64 channels, a third block of 128 on images of 16 pixels or more)
trained once per study on the training split with early stopping, then kept for every distilled trial.
The student's loss is ``alpha * CE(y) + (1 - alpha) * T² * KL(softmax(teacher / T) || softmax(student / T))``
(Hinton et al., 2015); the temperature ``T`` and ``alpha`` are searched.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from paretoml.compression._base import BaseCompressor, BaseTeacher, CompressionContext
from paretoml.families import Capability, FitData

__all__ = ["CNNDistillation", "CNNTeacher"]

_TEACHER = {"channels": 32, "channel_growth": 2, "kernel_size": 3, "batch_norm": True, "head": "gap",
            "dropout": 0.1, "optimizer": "adam", "learning_rate": 3e-3, "batch_size": 64, "max_epochs": 40,
            "patience": 6}  # fmt: skip


class CNNTeacher(BaseTeacher):
    """The study's CNN teacher."""

    def train(self, data: FitData) -> tuple[np.ndarray, dict[str, Any]]:
        """Teacher logits on the training rows ``(n, n_classes)`` and a description of the teacher."""
        from paretoml.families._cnn import CNNFamily, CNNModel

        data = replace(data, soft_targets=None, deadline=None)
        assert data.image_shape is not None
        params = {**_TEACHER, "n_blocks": 3 if min(data.image_shape[1:]) >= 16 else 2}
        model = CNNFamily().fit(data, params)
        assert isinstance(model, CNNModel)
        valid_acc = float((model.predict(data.X_valid).argmax(axis=1) == data.y_valid).mean())
        described = {"family": "cnn", "channels": list(model.arch.channels), "n_params": model.n_params,
                     "valid_accuracy": round(valid_acc, 4)}  # fmt: skip
        return model.logits(data.X_train), described


class CNNDistillation(BaseCompressor):
    """Trains the trial's CNN as a student of the study's CNN teacher."""

    name = "cnn_distillation"
    space = "cnn_compression"
    setting = "distill"
    requires = (Capability.SOFT_TARGETS,)

    def active(self, ctx: CompressionContext) -> bool:
        return bool(ctx.settings.get("distill", False))

    def before_fit(
        self, data: FitData, params: dict[str, Any], ctx: CompressionContext
    ) -> tuple[FitData, dict[str, Any]]:
        if ctx.teacher is None:
            raise ValueError("distillation needs the study's CNN teacher in the compression context")
        logits, described = ctx.teacher.predictions()
        temperature = float(ctx.settings.get("temperature", 4.0))
        alpha = float(ctx.settings.get("alpha", 0.5))
        ctx.attrs["teacher"] = described
        ctx.attrs["kd_temperature"] = temperature
        ctx.attrs["kd_alpha"] = alpha
        ctx.parts.append("distilled")
        student = {**params, "kd_temperature": temperature, "kd_alpha": alpha}
        return replace(data, soft_targets=logits), student
