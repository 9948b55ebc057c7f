"""Batch normalization written out by hand, to check ``torch.nn.BatchNorm2d`` in both modes.

Ioffe and Szegedy, "Batch Normalization: Accelerating Deep Network Training by Reducing
Internal Covariate Shift", ICML 2015. Per channel ``c``, over the batch and both spatial axes:

* training mode (:func:`batch_norm_train`): normalise with the batch's own mean and biased
  variance, ``y = gamma * (x - mean) / sqrt(var + eps) + beta``, and move the running
  statistics towards the batch's: ``running = (1 - momentum) * running + momentum * batch``
  (the variance that goes into the running estimate is the unbiased one, as in PyTorch);
* evaluation mode (:func:`batch_norm_eval`): the same formula with the running statistics,
  so each image's output no longer depends on the rest of its batch.

Not here: the layer itself (use ``torch.nn.BatchNorm2d``); re-estimating the running
statistics of a trained network (``torch.optim.swa_utils.update_bn``).
"""
from __future__ import annotations

from typing import Tuple

import torch

__all__ = ["batch_norm_train", "batch_norm_eval"]


def _check(x, gamma, beta, running_mean, running_var, eps) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or not x.is_floating_point():
        got = f"{type(x).__name__} of shape {tuple(x.shape)}" if isinstance(x, torch.Tensor) \
            else type(x).__name__
        raise ValueError(f"x must be a float tensor (N, C, H, W), got {got}")
    channels = x.shape[1]
    for name, t in (("gamma", gamma), ("beta", beta), ("running_mean", running_mean),
                    ("running_var", running_var)):
        if not isinstance(t, torch.Tensor) or tuple(t.shape) != (channels,):
            shape = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
            raise ValueError(f"{name} must be a tensor of shape ({channels},), one value per "
                             f"channel of x, got {shape}")
    if not (isinstance(eps, (int, float)) and eps > 0):
        raise ValueError(f"eps must be a positive number (PyTorch's default is 1e-5), got {eps!r}")


def _per_channel(v: torch.Tensor) -> torch.Tensor:
    return v.reshape(1, -1, 1, 1)


def batch_norm_train(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor,
                     running_mean: torch.Tensor, running_var: torch.Tensor,
                     momentum: float = 0.1, eps: float = 1e-5
                     ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Batch normalization in training mode, as ``nn.BatchNorm2d`` computes it.

    Args:
        x: float tensor ``(N, C, H, W)``.
        gamma, beta: learnable scale and shift, ``(C,)``.
        running_mean, running_var: the running estimates before this batch, ``(C,)``
            (not modified).
        momentum: weight of this batch in the new running estimates, in ``(0, 1]``
            (PyTorch's default 0.1).
        eps: added to the variance before the square root.

    Returns:
        ``(y, new_running_mean, new_running_var)``: ``y`` has the shape of ``x``; the
        statistics are ``(C,)``. The mean and variance are taken over ``N*H*W`` values per
        channel; ``y`` uses the biased variance, the running estimate the unbiased one.

    Raises:
        ValueError: for a wrongly shaped argument, ``N*H*W < 2`` (no variance to estimate),
            a momentum outside ``(0, 1]`` or a non-positive ``eps``.
    """
    _check(x, gamma, beta, running_mean, running_var, eps)
    if not (isinstance(momentum, (int, float)) and 0 < momentum <= 1):
        raise ValueError(f"momentum must be in (0, 1] (PyTorch's default is 0.1), got {momentum!r}")
    count = x.shape[0] * x.shape[2] * x.shape[3]
    if count < 2:
        raise ValueError(f"training mode needs at least 2 values per channel (N*H*W), got x of "
                         f"shape {tuple(x.shape)}; use a larger batch or batch_norm_eval")
    mean = x.mean(dim=(0, 2, 3))
    var = x.var(dim=(0, 2, 3), unbiased=False)
    y = _per_channel(gamma) * (x - _per_channel(mean)) / torch.sqrt(_per_channel(var) + eps) \
        + _per_channel(beta)
    unbiased = var * count / (count - 1)
    new_mean = (1 - momentum) * running_mean + momentum * mean
    new_var = (1 - momentum) * running_var + momentum * unbiased
    return y, new_mean, new_var


def batch_norm_eval(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor,
                    running_mean: torch.Tensor, running_var: torch.Tensor,
                    eps: float = 1e-5) -> torch.Tensor:
    """Batch normalization in evaluation mode: the running statistics replace the batch's.

    Args:
        x: float tensor ``(N, C, H, W)``; any ``N``, including 1.
        gamma, beta, running_mean, running_var: ``(C,)``.
        eps: added to the variance before the square root.

    Returns:
        ``gamma * (x - running_mean) / sqrt(running_var + eps) + beta``, shape of ``x``.

    Raises:
        ValueError: for a wrongly shaped argument or a non-positive ``eps``.
    """
    _check(x, gamma, beta, running_mean, running_var, eps)
    scale = _per_channel(gamma) / torch.sqrt(_per_channel(running_var) + eps)
    return (x - _per_channel(running_mean)) * scale + _per_channel(beta)
