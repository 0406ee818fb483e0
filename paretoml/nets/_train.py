"""Seeded mini-batch training with early stopping on the validation split, and optional distillation."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from paretoml.exceptions import TrialTimeoutError

__all__ = ["TrainSettings", "as_images", "logits_of", "train"]


@dataclass(frozen=True)
class TrainSettings:
    """How to train one net.

    Attributes:
        optimizer: ``"adam"``, ``"adamw"`` or ``"sgd"`` (momentum 0.9, Nesterov).
        learning_rate: Peak learning rate (cosine-annealed over ``max_epochs``).
        weight_decay: L2 penalty (decoupled for AdamW).
        batch_size: Rows per step.
        max_epochs: Most passes over the training rows.
        patience: Epochs without a better validation loss before stopping; the best epoch is kept.
        temperature: Distillation temperature (used when soft targets are given).
        alpha: Weight of the true-label loss when distilling; ``1 - alpha`` goes to the teacher.
    """

    optimizer: str = "adam"
    learning_rate: float = 3e-3
    weight_decay: float = 0.0
    batch_size: int = 64
    max_epochs: int = 30
    patience: int = 5
    temperature: float = 4.0
    alpha: float = 0.5


def as_images(X: np.ndarray, in_shape: tuple[int, int, int]) -> torch.Tensor:
    """Flattened pixel rows ``(n, C*H*W)`` as a float32 image tensor ``(n, C, H, W)``."""
    arr = np.ascontiguousarray(X, dtype=np.float32)
    return torch.from_numpy(arr).reshape(arr.shape[0], *in_shape)


def logits_of(net: nn.Module, images: torch.Tensor, batch: int = 2048) -> torch.Tensor:
    """The net's logits in evaluation mode, in batches."""
    net.eval()
    with torch.inference_mode():
        return torch.cat([net(images[i : i + batch]) for i in range(0, len(images), batch)])


def _optimizer(net: nn.Module, s: TrainSettings) -> torch.optim.Optimizer:
    params = net.parameters()
    if s.optimizer == "adam":
        return torch.optim.Adam(params, lr=s.learning_rate, weight_decay=s.weight_decay)
    if s.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=s.learning_rate, weight_decay=s.weight_decay)
    if s.optimizer == "sgd":
        return torch.optim.SGD(params, lr=s.learning_rate, momentum=0.9, nesterov=True, weight_decay=s.weight_decay)
    raise ValueError(f"`optimizer` must be 'adam', 'adamw' or 'sgd'; got {s.optimizer!r}.")


def _loss(logits: torch.Tensor, y: torch.Tensor, soft: torch.Tensor | None, s: TrainSettings) -> torch.Tensor:
    hard = F.cross_entropy(logits, y)
    if soft is None:
        return hard
    t = s.temperature
    kd = F.kl_div(F.log_softmax(logits / t, dim=1), F.log_softmax(soft / t, dim=1), log_target=True,
                  reduction="batchmean")  # fmt: skip
    return s.alpha * hard + (1.0 - s.alpha) * (t * t) * kd


def train(
    net: nn.Module,
    X: torch.Tensor,
    y: np.ndarray,
    X_valid: torch.Tensor,
    y_valid: np.ndarray,
    settings: TrainSettings,
    *,
    seed: int,
    soft_targets: np.ndarray | None = None,
    deadline: float | None = None,
) -> int:
    """Train ``net`` in place and leave it at its best validation epoch, in evaluation mode.

    Args:
        net: The network (its current weights are the starting point, e.g. after pruning).
        X: Training images ``(n, C, H, W)``.
        y: Class indices of the training rows.
        X_valid: Validation images, for early stopping.
        y_valid: Validation class indices.
        settings: Optimiser, batch size, epochs, patience and distillation weights.
        seed: Seeds the weight updates' shuffling and dropout.
        soft_targets: Teacher logits per training row; when given the loss mixes in distillation.
        deadline: ``time.monotonic()`` value past which training stops with :class:`TrialTimeoutError`.

    Returns:
        The number of epochs run.
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    targets = torch.as_tensor(y, dtype=torch.long)
    valid_targets = torch.as_tensor(y_valid, dtype=torch.long)
    soft = None if soft_targets is None else torch.as_tensor(soft_targets, dtype=torch.float32)
    opt = _optimizer(net, settings)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(settings.max_epochs, 1))
    best_loss = float(F.cross_entropy(logits_of(net, X_valid), valid_targets))  # the starting weights count too
    best_state, stale, epoch = copy.deepcopy(net.state_dict()), 0, 0
    if not np.isfinite(best_loss):
        best_loss = float("inf")
    n = len(targets)
    for epoch in range(1, settings.max_epochs + 1):
        net.train()
        order = torch.randperm(n, generator=gen)
        for start in range(0, n, settings.batch_size):
            idx = order[start : start + settings.batch_size]
            if len(idx) < 2 and n >= 2:  # batch norm needs two rows
                continue
            opt.zero_grad(set_to_none=True)
            loss = _loss(net(X[idx]), targets[idx], None if soft is None else soft[idx], settings)
            loss.backward()
            opt.step()
        sched.step()
        valid_loss = float(F.cross_entropy(logits_of(net, X_valid), valid_targets))
        if not np.isfinite(valid_loss):
            raise FloatingPointError(
                f"training diverged at epoch {epoch} (validation loss {valid_loss}); "
                f"the learning rate {settings.learning_rate:g} is too high for this net."
            )
        if valid_loss < best_loss - 1e-4:
            best_loss, best_state, stale = valid_loss, copy.deepcopy(net.state_dict()), 0
        else:
            stale += 1
        if stale >= settings.patience:
            break
        if deadline is not None and time.monotonic() > deadline:
            raise TrialTimeoutError(
                f"the trial ran past its time limit while training a CNN (stopped after {epoch} epochs). "
                "Raise `trial_timeout`, or narrow the CNN search space (fewer epochs or channels)."
            )
    net.load_state_dict(best_state)
    net.eval()
    return epoch
