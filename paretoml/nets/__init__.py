"""PyTorch building blocks of the CNN family. Importing this package needs ``paretoml[cnn]`` (torch)."""

from __future__ import annotations

from paretoml.nets._arch import ACTIVATIONS, CNN, Arch, fold_batch_norm, map_sizes
from paretoml.nets._int8 import Int8CNN, quantize_int8
from paretoml.nets._prune import channel_importance, prune_channels
from paretoml.nets._train import TrainSettings, as_images, logits_of, train

__all__ = [
    "ACTIVATIONS",
    "CNN",
    "Arch",
    "Int8CNN",
    "TrainSettings",
    "as_images",
    "channel_importance",
    "fold_batch_norm",
    "logits_of",
    "map_sizes",
    "prune_channels",
    "quantize_int8",
    "train",
]
