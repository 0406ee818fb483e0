"""CNN family: a small PyTorch convolutional net for image-like data (needs ``paretoml[cnn]``).

The family sees pixel rows flattened in C-order and reshapes them with ``FitData.image_shape``. The
trained net is served with its batch norms folded into the convolutions. Saved form: the architecture
as JSON (in the predictor's manifest) plus the weights as a safetensors file, in float32, float16
(stored half, computed in float32) or int8 (see :mod:`paretoml.nets._int8`); nothing is pickled.
torch is imported only when a CNN is fitted or loaded.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from paretoml._imports import require
from paretoml.exceptions import ConfigError, DataError
from paretoml.families._base import BaseFamily, Capability, FitData, FittedModel

if TYPE_CHECKING:
    from torch import nn

    from paretoml.nets import CNN, Arch

__all__ = ["CALIBRATION_ROWS", "PRECISIONS", "CNNFamily", "CNNModel", "channels_of"]

_FILE = "model.cnn.safetensors"
PRECISIONS = ("float32", "float16", "int8")
_MAX_CHANNELS = 256
#: Training rows (a seeded sample) used to rank channels for pruning and to calibrate int8 scales.
CALIBRATION_ROWS = 512


def channels_of(params: dict[str, Any]) -> tuple[int, ...]:
    """Channel counts per block from ``n_blocks``, ``channels`` (first block) and ``channel_growth``."""
    first, growth = int(params.get("channels", 8)), float(params.get("channel_growth", 2))
    return tuple(min(_MAX_CHANNELS, max(1, round(first * growth**i))) for i in range(int(params.get("n_blocks", 2))))


class CNNModel(FittedModel):
    """A trained CNN in its serving form.

    Args:
        net: A ``paretoml.nets.CNN`` (float) or ``paretoml.nets.Int8CNN``.
        task: ``"binary"`` or ``"multiclass"``.
        precision: ``"float32"``, ``"float16"`` (weights rounded to half precision) or ``"int8"``.
        n_threads: torch threads to predict with.
        train_settings: How the net was trained (``paretoml.nets.TrainSettings``), for fine-tuning.
    """

    family = "cnn"

    def __init__(
        self, net: nn.Module, task: str, *, precision: str = "float32", n_threads: int = 1, train_settings: Any = None
    ) -> None:
        import torch

        from paretoml.nets import CNN

        if precision not in PRECISIONS:
            raise ConfigError(f"CNN `precision` must be one of {PRECISIONS}; got {precision!r}.")
        self.torch = torch
        self.net = net.eval()
        self.arch: Arch = net.arch  # type: ignore[assignment]
        self.task = task
        self.precision = precision
        self.n_threads = n_threads
        self.train_settings = train_settings
        self.n_params = CNN(self.arch).n_params() if not isinstance(net, CNN) else net.n_params()
        self._forward = net.serve if isinstance(net, CNN) else net

    def logits(self, X: np.ndarray) -> np.ndarray:
        """Raw logits for encoded pixel rows ``(n, C*H*W)``."""
        from paretoml.nets import as_images

        if not np.isfinite(X).all():
            raise DataError(
                "the image holds NaN or infinite pixel values; a CNN needs finite pixels. "
                "Replace missing pixels (e.g. with 0) before predicting."
            )
        with self.torch.inference_mode():
            return self._forward(as_images(X, self.arch.in_shape)).numpy()

    def predict(self, X: np.ndarray) -> np.ndarray:
        z = self.logits(X).astype(np.float64)
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        return z

    def save(self, directory: Path) -> dict[str, Any]:
        from safetensors.torch import save_file

        state = {k: v.detach().contiguous() for k, v in self.net.state_dict().items()}
        if self.precision == "float16":
            state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
        save_file(state, str(directory / _FILE))
        return {"file": _FILE, "arch": self.arch.to_dict(), "precision": self.precision}

    def set_threads(self, n_threads: int) -> None:
        self.n_threads = n_threads
        self.torch.set_num_threads(n_threads)

    def stats(self) -> dict[str, int]:
        return {"n_params": self.n_params, "n_blocks": len(self.arch.channels), "n_channels": sum(self.arch.channels)}

    # ------------------------------------------------------------------ compression capabilities
    def _float_net(self, what: str) -> CNN:
        from paretoml.nets import CNN

        if not isinstance(self.net, CNN):
            raise TypeError(f"{what} needs a float CNN model, not a {self.precision} one")
        return self.net

    def _calibration_images(self, data: FitData) -> Any:
        """A seeded sample of at most :data:`CALIBRATION_ROWS` training rows, as images."""
        from paretoml.nets import as_images

        rng = np.random.default_rng(data.seed)
        rows = rng.choice(len(data.X_train), size=min(CALIBRATION_ROWS, len(data.X_train)), replace=False)
        return as_images(data.X_train[np.sort(rows)], self.arch.in_shape)

    def pruned(self, fraction: float, data: FitData, epochs: int) -> tuple[FittedModel, dict[str, Any]]:
        """``fraction`` of each block's channels removed (ranked on calibration rows), then fine-tuned for
        ``epochs`` with the net's own optimiser settings, the distillation targets when there are any, and
        the best validation epoch kept; with the channels and parameter count before pruning."""
        from paretoml.nets import TrainSettings, as_images, prune_channels, train

        shape = self.arch.in_shape
        small = prune_channels(self._float_net("channel pruning"), fraction, self._calibration_images(data))
        settings = replace(self.train_settings or TrainSettings(), max_epochs=epochs, patience=epochs)
        train(small, as_images(data.X_train, shape), data.y_train, as_images(data.X_valid, shape), data.y_valid,
              settings, seed=data.seed + 1, soft_targets=data.soft_targets, deadline=data.deadline)  # fmt: skip
        before = {"channels_before_pruning": list(self.arch.channels), "n_params_before_pruning": self.n_params}
        return CNNModel(small, self.task, n_threads=self.n_threads, train_settings=settings), before

    def quantized(self, mode: str, data: FitData) -> FittedModel:
        """``int8``: int8 weights and activations, calibrated on training rows; ``fp16``: weights rounded
        to half precision (stored half, computed in float32)."""
        from paretoml.nets import CNN, quantize_int8

        net = self._float_net("quantization")
        if mode == "int8":
            qnet = quantize_int8(net, self._calibration_images(data))
            return CNNModel(qnet, self.task, precision="int8", n_threads=self.n_threads)
        if mode == "fp16":
            half = CNN(self.arch)
            with self.torch.no_grad():
                half.load_state_dict({k: v.half().float() for k, v in net.state_dict().items()})
            return CNNModel(half.eval(), self.task, precision="float16", n_threads=self.n_threads)
        raise ValueError(f"`quantize` must be 'none', 'int8' or 'fp16'; got {mode!r}.")


class CNNFamily(BaseFamily):
    """Small convolutional nets; offered when the data is image-like (classification only)."""

    name = "cnn"
    compression_space = "cnn_compression"
    capabilities = frozenset({Capability.SOFT_TARGETS, Capability.CHANNEL_PRUNING, Capability.QUANTIZATION})
    needs_images = True

    def supports(self, task: str) -> bool:
        return task in ("binary", "multiclass")

    def fit(self, data: FitData, params: dict[str, Any]) -> FittedModel:
        torch = require("torch", "the CNN family")
        from paretoml.nets import CNN, Arch, TrainSettings, as_images, fold_batch_norm, train

        if data.image_shape is None:
            raise ConfigError(
                "the CNN family needs image data: pass images as an array (N, H, W) or (N, C, H, W), "
                "or pixel columns with `image_shape=`."
            )
        torch.set_num_threads(data.n_threads)
        pixels = data.X_train
        arch = Arch(
            in_shape=data.image_shape,
            channels=channels_of(params),
            kernel_size=int(params.get("kernel_size", 3)),
            batch_norm=bool(params.get("batch_norm", True)),
            activation=str(params.get("activation", "relu")),
            head=str(params.get("head", "gap")),
            dense_units=int(params.get("dense_units", 32)),
            dropout=float(params.get("dropout", 0.0)),
            n_outputs=data.n_classes,
            mean=float(pixels.mean()),
            std=float(pixels.std()) or 1.0,
        )
        torch.manual_seed(data.seed)
        net = CNN(arch)
        settings = TrainSettings(
            optimizer=str(params.get("optimizer", "adam")),
            learning_rate=float(params.get("learning_rate", 3e-3)),
            weight_decay=float(params.get("weight_decay", 0.0)),
            batch_size=int(params.get("batch_size", 64)),
            max_epochs=int(params.get("max_epochs", 30)),
            patience=int(params.get("patience", 5)),
            temperature=float(params.get("kd_temperature", 4.0)),
            alpha=float(params.get("kd_alpha", 0.5)),
        )
        train(
            net,
            as_images(data.X_train, arch.in_shape),
            data.y_train,
            as_images(data.X_valid, arch.in_shape),
            data.y_valid,
            settings,
            seed=data.seed,
            soft_targets=data.soft_targets,
            deadline=data.deadline,
        )
        return CNNModel(fold_batch_norm(net), data.task, n_threads=data.n_threads, train_settings=settings)

    def load(self, directory: Path, entry: dict[str, Any], *, task: str, n_classes: int) -> FittedModel:
        require("torch", "loading a CNN predictor")
        from safetensors.torch import load_file

        from paretoml.nets import CNN, Arch, Int8CNN

        arch = Arch.from_dict(entry["arch"])
        precision = entry.get("precision", "float32")
        if precision not in PRECISIONS:
            raise DataError(f"CNN model entry has unknown precision {precision!r}; expected one of {PRECISIONS}.")
        net = Int8CNN(arch) if precision == "int8" else CNN(arch)
        state = load_file(str(directory / entry["file"]))
        if precision == "float16":
            state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
        net.load_state_dict(state, strict=True)
        return CNNModel(net, task, precision=precision)
