"""Structured channel pruning for CNNs, followed by a short fine-tune (see :mod:`paretoml.nets._prune`)."""

from __future__ import annotations

from paretoml.compression._base import BaseCompressor, CompressionContext
from paretoml.families import Capability, FitData, FittedModel

__all__ = ["ChannelPruning"]


class ChannelPruning(BaseCompressor):
    """Removes ``prune_fraction`` of each block's channels, then fine-tunes for ``finetune_epochs``.

    The family's model does the work (:meth:`FittedModel.pruned`): channels are ranked on a seeded
    sample of training rows; the fine-tune uses the trial's own optimiser settings (a full cosine cycle
    of the learning rate over the fine-tune epochs), the distillation targets when the trial is
    distilled, and keeps the best validation epoch, the pruned net included.
    """

    name = "channel_pruning"
    space = "cnn_compression"
    setting = "prune_fraction"
    requires = (Capability.CHANNEL_PRUNING,)
    changes_model = True

    def active(self, ctx: CompressionContext) -> bool:
        return float(ctx.settings.get("prune_fraction", 0.0)) > 0.0

    def after_fit(self, model: FittedModel, data: FitData, ctx: CompressionContext) -> FittedModel:
        fraction = float(ctx.settings["prune_fraction"])
        small, before = model.pruned(fraction, data, int(ctx.settings.get("finetune_epochs", 3)))
        ctx.attrs.update(before)
        ctx.parts.append(f"pruned {fraction:.0%}")
        return small
