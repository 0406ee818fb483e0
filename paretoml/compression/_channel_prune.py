"""Structured channel pruning for CNNs, followed by a short fine-tune (see :mod:`paretoml.nets._prune`)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from paretoml.compression._base import BaseCompressor, CompressionContext
from paretoml.families._base import FitData, FittedModel

__all__ = ["CALIBRATION_ROWS", "ChannelPruning"]

#: Training rows used to rank channels and to measure the removed channels' mean outputs.
CALIBRATION_ROWS = 512


class ChannelPruning(BaseCompressor):
    """Removes ``prune_fraction`` of each block's channels, then fine-tunes for ``finetune_epochs``.

    Channels are ranked on a seeded sample of training rows. The fine-tune uses the trial's own optimiser
    settings (a full cosine cycle of the learning rate over the fine-tune epochs), the distillation
    targets when the trial is distilled, and keeps the best validation epoch, the pruned net included.
    """

    name = "channel_pruning"
    families = ("cnn",)
    changes_model = True

    def active(self, ctx: CompressionContext) -> bool:
        return float(ctx.settings.get("prune_fraction", 0.0)) > 0.0

    def after_fit(self, model: FittedModel, data: FitData, ctx: CompressionContext) -> FittedModel:
        from paretoml.families._cnn import CNNModel
        from paretoml.nets import CNN, TrainSettings, as_images, prune_channels, train

        if not isinstance(model, CNNModel) or not isinstance(model.net, CNN):
            raise TypeError(f"channel pruning needs a float CNN model, not {type(model).__name__}")
        fraction = float(ctx.settings["prune_fraction"])
        epochs = int(ctx.settings.get("finetune_epochs", 3))
        shape = model.arch.in_shape
        rows = np.random.default_rng(data.seed).permutation(len(data.X_train))[:CALIBRATION_ROWS]
        small = prune_channels(model.net, fraction, as_images(data.X_train[np.sort(rows)], shape))
        settings = replace(model.train_settings or TrainSettings(), max_epochs=epochs, patience=epochs)
        train(small, as_images(data.X_train, shape), data.y_train, as_images(data.X_valid, shape), data.y_valid,
              settings, seed=data.seed + 1, soft_targets=data.soft_targets, deadline=data.deadline)  # fmt: skip
        ctx.attrs["channels_before_pruning"] = list(model.arch.channels)
        ctx.attrs["n_params_before_pruning"] = model.n_params
        ctx.parts.append(f"pruned {fraction:.0%}")
        return CNNModel(small, model.task, n_threads=model.n_threads, train_settings=settings)
