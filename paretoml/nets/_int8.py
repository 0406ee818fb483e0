"""Static int8 quantization of a trained CNN, computed with integer matrix products on the CPU.

Why not a library flow: in the installed PyTorch, eager ``torch.ao.quantization`` and the quantized
tensor dtypes (``torch.quint8``...) are deprecated and warn; torchao's eager ``quantize_`` converts
``nn.Linear`` layers only (the convolutions, where a CNN spends its time, stay float), and its PT2E flow
needs ``torch.export`` plus an inductor compile per model (minutes per trial on two cores), with a
saved form that is not a plain tensor file. So this module does the textbook scheme itself:

* batch norm is folded into the convolution before quantizing;
* weights: symmetric int8 per output channel (scale = max |w| / 127);
* activations: symmetric int8 per layer input, the scale calibrated as max |x| / 127 over training rows;
* each convolution quantizes its input map, unfolds it (im2col) and runs an int8 × int8 → int32 matrix
  product (``torch._int_mm``, the kernel torchao itself uses), rescaled to float and followed by the
  float activation and pooling.

Everything is a plain tensor (int8 weights, float scales), so the model saves with safetensors and
reloads without pickle.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from paretoml.nets._arch import CNN, Arch, activation, folded_conv, map_sizes, observe

__all__ = ["Int8CNN", "quantize_int8"]

_QMAX = 127.0


def _int_mm(q: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    if hasattr(torch, "_int_mm"):
        return torch._int_mm(q, w)
    return q.to(torch.int32) @ w.to(torch.int32)  # older torch: the same integers, slower


def _quantize(x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return torch.clamp(torch.round(x / scale), -_QMAX, _QMAX).to(torch.int8)


def _linear_int8(x: torch.Tensor, prefix: str, net: Int8CNN) -> torch.Tensor:
    w, ws, b, s = (getattr(net, f"{prefix}_{k}") for k in ("w", "ws", "b", "s"))
    return _int_mm(_quantize(x, s), w).to(torch.float32).mul_(s * ws).add_(b)


def _conv_int8(x: torch.Tensor, i: int, k: int, net: Int8CNN) -> torch.Tensor:
    """Conv ``i`` on float input ``(n, C, H, W)``: output ``(n, H, W, O)`` (channels last)."""
    w, ws, b, s = (getattr(net, f"conv{i}_{name}") for name in ("w", "ws", "b", "s"))
    n, _, h, width = x.shape
    levels = torch.clamp(torch.round(x / s), -_QMAX, _QMAX)  # quantize the map once, then unfold it
    cols = F.unfold(levels, k, padding=k // 2).transpose(1, 2).to(torch.int8).reshape(n * h * width, -1)
    return _int_mm(cols, w).to(torch.float32).mul_(s * ws).add_(b).view(n, h, width, -1)


class Int8CNN(nn.Module):
    """A CNN whose convolutions and linear layers run on int8 weights and int8 activations.

    Build one with :func:`quantize_int8`; or construct it empty from an :class:`Arch` and load a
    state dict saved from one (all buffers, no parameters).
    """

    def __init__(self, arch: Arch) -> None:
        super().__init__()
        self.arch = arch
        self.act = activation(arch.activation)
        self.mean, self.scale = float(arch.mean), 1.0 / float(arch.std)
        k, in_ch = arch.kernel_size, arch.in_shape[0]
        for i, out_ch in enumerate(arch.channels):
            self._buffers_for(f"conv{i}", in_ch * k * k, out_ch)
            in_ch = out_ch
        h, w, _ = map_sizes(arch)[-1]
        if arch.head == "gap":
            self._buffers_for("fc0", in_ch, arch.n_outputs)
        else:
            self._buffers_for("fc0", in_ch * h * w, arch.dense_units)
            self._buffers_for("fc1", arch.dense_units, arch.n_outputs)

    def _buffers_for(self, prefix: str, fan_in: int, fan_out: int) -> None:
        self.register_buffer(f"{prefix}_w", torch.zeros(fan_in, fan_out, dtype=torch.int8))
        self.register_buffer(f"{prefix}_ws", torch.ones(fan_out))
        self.register_buffer(f"{prefix}_b", torch.zeros(fan_out))
        self.register_buffer(f"{prefix}_s", torch.ones(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of raw images ``(n, C, H, W)``."""
        arch = self.arch
        k = arch.kernel_size
        x = (x - self.mean) * self.scale
        for i, (_, _, pool) in enumerate(map_sizes(arch)):
            x = self.act(_conv_int8(x, i, k, self).permute(0, 3, 1, 2))
            if pool:
                x = F.max_pool2d(x, 2)
        if arch.head == "gap":
            return _linear_int8(x.mean(dim=(2, 3)), "fc0", self)
        return _linear_int8(self.act(_linear_int8(x.flatten(1), "fc0", self)), "fc1", self)


def _input_scales(net: CNN, images: torch.Tensor) -> list[torch.Tensor]:
    """max |input| / 127 of every conv and linear layer, in forward order, over ``images``."""
    layers = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    peaks = [torch.zeros(()) for _ in layers]

    def hook(index: int):  # type: ignore[no-untyped-def]
        def record(_module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
            peaks[index] = torch.maximum(peaks[index], inputs[0].detach().abs().max())

        return record

    observe(net, images, [m.register_forward_pre_hook(hook(i)) for i, m in enumerate(layers)])
    return [torch.clamp(p, min=1e-8) / _QMAX for p in peaks]


def quantize_int8(net: CNN, calibration: torch.Tensor) -> Int8CNN:
    """An :class:`Int8CNN` equivalent to ``net``, with activation scales calibrated on ``calibration``.

    Args:
        net: The trained float net.
        calibration: Images ``(n, C, H, W)`` from the training split (a few hundred suffice).

    Returns:
        The int8 net, in evaluation mode.
    """
    qnet = Int8CNN(net.arch)
    scales = iter(_input_scales(net, calibration))
    linears = [m for m in net.head if isinstance(m, nn.Linear)]
    layers: list[tuple[str, torch.Tensor, torch.Tensor]] = []
    for i, block in enumerate(net.blocks):
        weight, bias = folded_conv(block)
        layers.append((f"conv{i}", weight.reshape(weight.shape[0], -1), bias))
    for j, lin in enumerate(linears):
        layers.append((f"fc{j}", lin.weight.detach(), lin.bias.detach()))
    with torch.no_grad():
        for prefix, weight, bias in layers:  # weight: (out, fan_in)
            ws = torch.clamp(weight.abs().amax(dim=1), min=1e-12) / _QMAX
            getattr(qnet, f"{prefix}_w").copy_(_quantize(weight, ws[:, None]).t())
            getattr(qnet, f"{prefix}_ws").copy_(ws)
            getattr(qnet, f"{prefix}_b").copy_(bias)
            getattr(qnet, f"{prefix}_s").copy_(next(scales))
    return qnet.eval()
