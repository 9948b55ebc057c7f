"""Checks of what the training and evaluation functions are given, with errors that name the
argument and say what to do.

* :func:`check_model`, :func:`check_optimizer` -- the types :func:`~book_utils.train.fit`
  needs;
* :func:`check_batch` -- a loader's first batch: an ``(inputs, targets)`` pair, float inputs,
  integer class targets;
* :func:`model_device` -- where a model lives (``device`` or the CPU when it has no
  parameters); :func:`empty_loader` -- the one error for a loader that yields nothing.

Not here: checks of training settings (epochs, schedules: :mod:`.loop`), of checkpoint names
(:mod:`.checkpoints`).
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn


def check_model(model) -> None:
    """Raise ``TypeError`` unless ``model`` is a ``torch.nn.Module``."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}; "
                        f"pass the network, e.g. models.LeNet5()")


def check_optimizer(optimizer) -> None:
    """Raise ``TypeError`` unless ``optimizer`` is a ``torch.optim.Optimizer``."""
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got "
                        f"{type(optimizer).__name__}; build one from the model, e.g. "
                        f"torch.optim.Adam(model.parameters())")


def check_batch(batch, loader_name: str, targets: bool = True) -> None:
    """Check one batch of ``loader_name``: a pair of tensors, float inputs, int targets.

    Raises:
        TypeError: if the batch is not an ``(inputs, targets)`` pair of tensors, the inputs
            are not floating point (``uint8`` images: use ``x.float() / 255``), or, with
            ``targets=True``, the targets are not integer class indices (use ``.long()``).
    """
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise TypeError(f"{loader_name} must yield (inputs, targets) pairs, got "
                        f"{type(batch).__name__}; wrap tensors in a TensorDataset")
    x, y = batch
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{loader_name}: inputs must be a tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{loader_name}: inputs are {str(x.dtype).replace('torch.', '')}; "
                        f"use x.float()/255 (images scaled to [0, 1])")
    if targets:
        y = torch.as_tensor(y)
        if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
            raise TypeError(f"{loader_name}: targets must be int64 class indices, got "
                            f"{str(y.dtype).replace('torch.', '')}; use .long()")


def model_device(model: nn.Module, device: Optional[torch.device]) -> torch.device:
    """``device`` if given, else the device of the model's first parameter (CPU if none)."""
    if device is not None:
        return torch.device(device)
    first = next(iter(model.parameters()), None)
    return first.device if first is not None else torch.device("cpu")


def empty_loader(function: str) -> ValueError:
    """The error for a loader that yields no sample (raised by the caller)."""
    return ValueError(f"{function}() got an empty loader: there is nothing to measure; "
                      f"check the dataset size and drop_last")
