"""Structured channel pruning: a smaller dense net with the least important channels removed.

Which channels: a channel's importance is the standard deviation of its output over calibration
images (training rows) times the L1 norm of the weights that read it in the next layer. A channel
that barely varies, or that the next layer barely reads, matters little. Each block keeps its
``ceil((1 - fraction) * channels)`` most important channels (at least one).

What replaces a removed channel: its mean output. The next layer's bias absorbs what the removed
channel contributed on average (mean replacement), so pruning removes the channel's variation only.
Without it a ReLU net loses the constant part of every removed channel, which costs far more.

The kept weights are copied into a net built with the smaller channel counts, so the result is
faster and smaller, not merely sparser.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from paretoml.nets._arch import CNN, map_sizes, observe

__all__ = ["block_outputs", "channel_importance", "prune_channels"]


def _parts(block: nn.Module) -> tuple[nn.Conv2d, nn.BatchNorm2d | None]:
    conv, second = block[0], block[1]  # type: ignore[index]
    assert isinstance(conv, nn.Conv2d)
    return conv, second if isinstance(second, nn.BatchNorm2d) else None


def block_outputs(net: CNN, images: torch.Tensor) -> list[torch.Tensor]:
    """Each block's output (after activation and pooling) on ``images``."""
    outs: list[list[torch.Tensor]] = [[] for _ in net.blocks]
    handles = [
        block.register_forward_hook(lambda _m, _i, out, k=k: outs[k].append(out.detach()))
        for k, block in enumerate(net.blocks)
    ]
    observe(net, images, handles)
    return [torch.cat(o) for o in outs]


def _readers(net: CNN) -> list[torch.Tensor]:
    """Per block: the next layer's weights grouped by the channel they read, ``(channels, -1)``."""
    convs = [_parts(b)[0] for b in net.blocks]
    out = [c.weight.detach().transpose(0, 1).reshape(c.weight.shape[1], -1) for c in convs[1:]]
    first = next(m for m in net.head if isinstance(m, nn.Linear)).weight.detach()
    channels = net.arch.channels[-1]
    out.append(first.reshape(first.shape[0], channels, -1).transpose(0, 1).reshape(channels, -1))
    return out


def channel_importance(net: CNN, images: torch.Tensor) -> list[torch.Tensor]:
    """Per block, one importance score per output channel (see the module docstring)."""
    outs = block_outputs(net, images)
    return [
        o.transpose(0, 1).reshape(o.shape[1], -1).std(dim=1) * r.abs().sum(dim=1)
        for o, r in zip(outs, _readers(net), strict=True)
    ]


def prune_channels(net: CNN, fraction: float, images: torch.Tensor, *, mean_replacement: bool = True) -> CNN:
    """A new net keeping the ``1 - fraction`` most important channels of every block.

    Args:
        net: The trained float net (left unchanged).
        fraction: Share of each block's channels to remove, in ``[0, 1)``.
        images: Calibration images ``(n, C, H, W)`` from the training split.
        mean_replacement: Fold the removed channels' mean contributions into the next layer's bias
            (False: drop them, for comparison).

    Returns:
        The smaller net, in evaluation mode, with the kept weights copied over and the removed
        channels' mean contributions folded into the next layer's bias.
    """
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"`prune_fraction` must be in [0, 1); got {fraction!r}.")
    outs = block_outputs(net, images)
    keep = []
    for score in channel_importance(net, images):
        k = max(1, math.ceil((1.0 - fraction) * len(score)))
        keep.append(torch.sort(torch.topk(score, k).indices).values)
    small = CNN(net.arch.with_channels(tuple(len(k) for k in keep)))
    with torch.no_grad():
        prev: torch.Tensor | None = None
        for i, (old_block, new_block, idx) in enumerate(zip(net.blocks, small.blocks, keep, strict=True)):
            old_conv, old_bn = _parts(old_block)
            new_conv, new_bn = _parts(new_block)
            weight = old_conv.weight[idx]
            new_conv.weight.copy_(weight if prev is None else weight[:, prev])
            shift = torch.zeros(len(idx))
            if prev is not None and mean_replacement:  # removed inputs: their mean output (padding ignored)
                gone = _removed(outs[i - 1].shape[1], prev)
                means = outs[i - 1][:, gone].mean(dim=(0, 2, 3))
                shift = torch.einsum("oc,c->o", weight[:, gone].sum(dim=(2, 3)), means)
            if old_conv.bias is not None and new_conv.bias is not None:
                new_conv.bias.copy_(old_conv.bias[idx] + shift)
            if old_bn is not None and new_bn is not None:
                for name in ("weight", "bias", "running_mean", "running_var"):
                    getattr(new_bn, name).copy_(getattr(old_bn, name)[idx])
                assert new_bn.running_mean is not None
                new_bn.running_mean.sub_(shift)
            prev = idx
        assert prev is not None
        _prune_head(net, small, prev, outs[-1] if mean_replacement else None)
    return small.eval()


def _removed(n: int, kept: torch.Tensor) -> torch.Tensor:
    mask = torch.ones(n, dtype=torch.bool)
    mask[kept] = False
    return torch.nonzero(mask).reshape(-1)


def _prune_head(net: CNN, small: CNN, kept: torch.Tensor, last: torch.Tensor | None) -> None:
    old_linears = [m for m in net.head if isinstance(m, nn.Linear)]
    new_linears = [m for m in small.head if isinstance(m, nn.Linear)]
    first_old, first_new = old_linears[0], new_linears[0]
    gone = _removed(net.arch.channels[-1], kept)
    if net.arch.head == "gap":
        columns, gone_columns = kept, gone
    else:  # flatten: channel c covers positions c*h*w .. (c+1)*h*w - 1
        h, w, _ = map_sizes(net.arch)[-1]
        spread = torch.arange(h * w)[None, :]
        columns = (kept[:, None] * (h * w) + spread).reshape(-1)
        gone_columns = (gone[:, None] * (h * w) + spread).reshape(-1)
    first_new.weight.copy_(first_old.weight[:, columns])
    first_new.bias.copy_(first_old.bias)
    if last is not None:  # what the linear layer read from the removed channels, on average
        features = last.mean(dim=(2, 3)) if net.arch.head == "gap" else last.flatten(1)
        first_new.bias.add_(first_old.weight[:, gone_columns] @ features[:, gone_columns].mean(dim=0))
    for old, new in zip(old_linears[1:], new_linears[1:], strict=True):
        new.load_state_dict(old.state_dict())
