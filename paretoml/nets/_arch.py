"""A small CNN described as JSON data (:class:`Arch`) and the float PyTorch module built from it.

A net is ``len(channels)`` blocks of ``conv(k×k, same padding) → [batch norm] → activation →
[2×2 max-pool while the map is at least 2×2]``, then a head: global average pooling and one linear
layer (``"gap"``), or flatten → linear(``dense_units``) → activation → dropout → linear (``"dense"``).
Inputs are normalised inside the net with the training pixels' mean and standard deviation, so the
served model takes raw pixel values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ACTIVATIONS", "CNN", "Arch", "activation", "fold_batch_norm", "folded_conv", "map_sizes", "observe"]

ACTIVATIONS = ("relu", "gelu", "silu")
_FUNCTIONAL: dict[str, Callable[..., torch.Tensor]] = {"relu": F.relu, "gelu": F.gelu, "silu": F.silu}
HEADS = ("gap", "dense")


@dataclass(frozen=True)
class Arch:
    """Everything needed to rebuild a CNN, stored as JSON next to its weights.

    Attributes:
        in_shape: ``(channels, height, width)`` of one input image.
        channels: Output channels of each conv block.
        kernel_size: Odd convolution kernel size.
        batch_norm: Whether each block has batch normalisation.
        activation: ``"relu"``, ``"gelu"`` or ``"silu"``.
        head: ``"gap"`` (global average pooling + linear) or ``"dense"`` (flatten + hidden layer).
        dense_units: Hidden units of the dense head.
        dropout: Dropout before the last linear layer.
        n_outputs: Output logits (classes).
        mean: Training pixel mean, subtracted from inputs.
        std: Training pixel standard deviation, inputs are divided by it.
    """

    in_shape: tuple[int, int, int]
    channels: tuple[int, ...]
    kernel_size: int = 3
    batch_norm: bool = True
    activation: str = "relu"
    head: str = "gap"
    dense_units: int = 32
    dropout: float = 0.0
    n_outputs: int = 2
    mean: float = 0.0
    std: float = 1.0

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"`activation` must be one of {ACTIVATIONS}; got {self.activation!r}.")
        if self.head not in HEADS:
            raise ValueError(f"`head` must be one of {HEADS}; got {self.head!r}.")
        if self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise ValueError(f"`kernel_size` must be a positive odd number; got {self.kernel_size}.")
        if not self.channels or min(self.channels) < 1:
            raise ValueError(f"`channels` must hold at least one positive count; got {self.channels}.")

    def with_channels(self, channels: tuple[int, ...]) -> Arch:
        """The same architecture with other channel counts (e.g. after pruning)."""
        return replace(self, channels=tuple(int(c) for c in channels))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        out = asdict(self)
        out["in_shape"], out["channels"] = list(self.in_shape), list(self.channels)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Arch:
        """Rebuild from :meth:`to_dict` output."""
        fields = dict(data)
        fields["in_shape"] = tuple(int(v) for v in fields["in_shape"])
        fields["channels"] = tuple(int(v) for v in fields["channels"])
        return cls(**fields)


def map_sizes(arch: Arch) -> list[tuple[int, int, bool]]:
    """Per block: the feature map's (height, width) after the block, and whether the block pools."""
    _, h, w = arch.in_shape
    out = []
    for _ in arch.channels:
        pool = min(h, w) >= 2
        if pool:
            h, w = h // 2, w // 2
        out.append((h, w, pool))
    return out


def activation(name: str) -> nn.Module:
    """The activation module called ``name``."""
    return {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU}[name]()


class CNN(nn.Module):
    """The float network of an :class:`Arch`."""

    def __init__(self, arch: Arch) -> None:
        super().__init__()
        self.arch = arch
        self.mean, self.scale = float(arch.mean), 1.0 / float(arch.std)
        blocks: list[nn.Module] = []
        in_ch = arch.in_shape[0]
        for out_ch, (_, _, pool) in zip(arch.channels, map_sizes(arch), strict=True):
            layers: list[nn.Module] = [
                nn.Conv2d(in_ch, out_ch, arch.kernel_size, padding=arch.kernel_size // 2, bias=not arch.batch_norm)
            ]
            if arch.batch_norm:
                layers.append(nn.BatchNorm2d(out_ch))
            layers.append(activation(arch.activation))
            if pool:
                layers.append(nn.MaxPool2d(2))
            blocks.append(nn.Sequential(*layers))
            in_ch = out_ch
        self.blocks = nn.Sequential(*blocks)
        h, w, _ = map_sizes(arch)[-1]
        head: list[nn.Module]
        if arch.head == "gap":
            head = [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(arch.dropout), nn.Linear(in_ch, arch.n_outputs)]
        else:
            head = [
                nn.Flatten(),
                nn.Linear(in_ch * h * w, arch.dense_units),
                activation(arch.activation),
                nn.Dropout(arch.dropout),
                nn.Linear(arch.dense_units, arch.n_outputs),
            ]
        self.head = nn.Sequential(*head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of raw images ``(n, C, H, W)``."""
        return self.head(self.blocks((x - self.mean) * self.scale))

    def serve(self, x: torch.Tensor) -> torch.Tensor:
        """:meth:`forward` in evaluation mode through functional calls, without per-module dispatch.

        Computes the same as ``eval()`` + ``forward`` (dropout off, batch norm on running statistics)
        at a fraction of the Python overhead, which dominates for one small image.
        """
        act: Callable[[torch.Tensor], torch.Tensor] = _FUNCTIONAL[self.arch.activation]
        x = (x - self.mean) * self.scale
        for block in self.blocks:
            assert isinstance(block, nn.Sequential)
            conv = block[0]
            assert isinstance(conv, nn.Conv2d)
            x = F.conv2d(x, conv.weight, conv.bias, padding=self.arch.kernel_size // 2)
            bn = block[1]
            if isinstance(bn, nn.BatchNorm2d):
                x = F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps)
            x = act(x)
            if isinstance(block[-1], nn.MaxPool2d):
                x = F.max_pool2d(x, 2)
        linears = [m for m in self.head if isinstance(m, nn.Linear)]
        if self.arch.head == "gap":
            return F.linear(x.mean(dim=(2, 3)), linears[0].weight, linears[0].bias)
        hidden = act(F.linear(x.flatten(1), linears[0].weight, linears[0].bias))
        return F.linear(hidden, linears[1].weight, linears[1].bias)

    def n_params(self) -> int:
        """Number of parameters (weights and biases; batch-norm statistics not counted)."""
        return sum(p.numel() for p in self.parameters())


def folded_conv(block: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """A block's conv weight ``(O, C, k, k)`` and bias with its batch norm (if any) folded in."""
    conv = block[0]  # type: ignore[index]
    assert isinstance(conv, nn.Conv2d)
    weight = conv.weight.detach()
    bias = conv.bias.detach() if conv.bias is not None else torch.zeros(weight.shape[0])
    bn = block[1]  # type: ignore[index]
    if isinstance(bn, nn.BatchNorm2d):
        assert bn.running_var is not None and bn.running_mean is not None
        gain = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
        weight = weight * gain[:, None, None, None]
        bias = (bias - bn.running_mean) * gain + bn.bias.detach()
    return weight, bias


def fold_batch_norm(net: CNN) -> CNN:
    """The serving form of a trained net: each batch norm folded into its convolution.

    The result computes the same function (up to float rounding) with one operation less per block,
    and fewer bytes. Its :class:`Arch` says ``batch_norm=False``.
    """
    if not net.arch.batch_norm:
        return net
    served = CNN(replace(net.arch, batch_norm=False))
    with torch.no_grad():
        for old, new in zip(net.blocks, served.blocks, strict=True):
            weight, bias = folded_conv(old)
            conv = new[0]  # type: ignore[index]
            assert isinstance(conv, nn.Conv2d) and conv.bias is not None
            conv.weight.copy_(weight)
            conv.bias.copy_(bias)
        served.head.load_state_dict(net.head.state_dict())
    return served.eval()


def observe(net: nn.Module, images: torch.Tensor, handles: list[Any], batch: int = 512) -> None:
    """Run ``net`` over ``images`` in evaluation mode for the recording hooks ``handles``, then remove them."""
    try:
        net.eval()
        with torch.inference_mode():
            for start in range(0, len(images), batch):
                net(images[start : start + batch])
    finally:
        for handle in handles:
            handle.remove()
