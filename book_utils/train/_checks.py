"""Checks of what the training and evaluation functions are given, with errors that name the
argument and say what to do.

* :func:`check_model`, :func:`check_optimizer` -- the types :func:`~book_utils.train.fit`
  needs;
* :func:`check_batch` -- a loader's first batch: an ``(inputs, targets)`` pair, float inputs,
  integer class targets;
* :func:`model_device` -- where a model lives (``device`` or the CPU when it has no
  parameters), checked against ``device``; :func:`empty_loader` -- the one error for a
  loader that yields nothing;
* :func:`check_trainable` -- a model with something to train and learning rates that can
  train it (``fit`` only: evaluating a frozen model is fine);
* :func:`check_inputs_dtype`, :func:`check_labels` -- a batch against the model: inputs in
  the parameters' dtype, class labels within the model's outputs.

All of them look only at parameters' devices and dtypes and at the batch: no extra forward
pass.

Not here: checks of training settings (epochs, schedules: :mod:`.loop`), of checkpoint names
(:mod:`.checkpoints`).
"""
from __future__ import annotations

import math
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


def _same_device(a: torch.device, b: torch.device) -> bool:
    if a.type != b.type:
        return False
    if a.index is None or b.index is None:
        current = torch.cuda.current_device() if a.type == "cuda" and torch.cuda.is_available() \
            else 0
        return (a.index if a.index is not None else current) == \
            (b.index if b.index is not None else current)
    return a.index == b.index


def model_device(model: nn.Module, device: Optional[torch.device]) -> torch.device:
    """``device`` if given, else the device of the model's first parameter (CPU if none).

    Raises:
        ValueError: if ``device`` is not a device name torch knows, or the model's parameters
            and buffers are not all on that device (the message says where they are and to
            call ``model.to(device)``).
    """
    tensors = list(model.parameters()) + list(model.buffers())
    if device is None:
        where = tensors[0].device if tensors else torch.device("cpu")
    else:
        try:
            where = torch.device(device)
        except (RuntimeError, TypeError, ValueError):
            raise ValueError(f"device must be a torch.device or a name such as 'cpu' or "
                             f"'cuda', got {device!r}; train.choose_device() picks one") from None
    places = sorted({str(t.device) for t in tensors if not _same_device(t.device, where)})
    if places:
        what = (f"device={str(where)!r}" if device is not None
                else f"its first parameter is on {where}")
        raise ValueError(f"the model has parameters or buffers on {', '.join(places)} but "
                         f"{what}; move the whole model with model.to({str(where)!r}) "
                         f"(the batches follow it)")
    return where


def check_trainable(model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
    """Check that ``fit`` would change some weight: the optimizer holds parameters of
    ``model`` that require gradients, and every group's learning rate is a finite number
    > 0 (its starting rate, ``initial_lr``, when a scheduler manages it).

    Raises:
        ValueError: naming what is wrong: no parameter of the model in the optimizer, all of
            them frozen (``requires_grad=False``), or a learning rate of 0, below 0, NaN or
            infinite.
    """
    model_params = {id(p): p for p in model.parameters()}
    held = [p for group in optimizer.param_groups for p in group["params"]
            if id(p) in model_params]
    if not held:
        raise ValueError("the optimizer holds none of this model's parameters, so fit() would "
                         "train nothing; build it from this model, e.g. "
                         "torch.optim.Adam(model.parameters())")
    if not any(p.requires_grad for p in held):
        frozen = "the model has no trainable parameter" if not any(
            p.requires_grad for p in model_params.values()) else \
            "every parameter the optimizer holds is frozen"
        raise ValueError(f"{frozen} (requires_grad=False), so fit() would train nothing; "
                         f"unfreeze what should learn, e.g. for p in model.fc.parameters(): "
                         f"p.requires_grad_(True), and build the optimizer over those")
    for k, group in enumerate(optimizer.param_groups):
        lr = group.get("initial_lr", group.get("lr"))
        try:
            value = float(lr)
        except (TypeError, ValueError):
            raise ValueError(f"param group {k} has learning rate {lr!r}; it must be a number "
                             f"> 0") from None
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"param group {k} has learning rate {value!r}: with a learning rate "
                             f"that is 0, negative, NaN or infinite no weight can learn; pass a "
                             f"finite lr > 0, e.g. torch.optim.SGD(params, lr=0.01)")


def check_inputs_dtype(model: nn.Module, inputs: torch.Tensor, loader_name: str,
                       amp: bool) -> None:
    """Raise ``TypeError`` when the inputs' floating dtype differs from the model's
    parameters' (e.g. ``float64`` images into a ``float32`` model); under autocast
    (``amp``) torch casts between them, so nothing is checked."""
    if amp:
        return
    first = next((p for p in model.parameters() if p.is_floating_point()), None)
    if first is not None and first.dtype != inputs.dtype:
        have = str(inputs.dtype).replace("torch.", "")
        want = str(first.dtype).replace("torch.", "")
        raise TypeError(f"{loader_name}: inputs are {have} but the model's parameters are "
                        f"{want}; convert one to the other, e.g. x.to(torch.{want}) or "
                        f"model.to(torch.{have})")


def check_labels(logits: torch.Tensor, targets: torch.Tensor, loader_name: str,
                 ignore_index: Optional[int] = None) -> None:
    """Raise ``ValueError`` when class labels lie outside the model's ``C`` outputs
    (``logits (B, C)``, ``targets (B,)``), which would fail inside the loss (or, on CUDA,
    stop the kernel with a device-side assert). ``ignore_index`` labels are allowed."""
    if logits.dim() != 2 or targets.dim() != 1 or targets.numel() == 0:
        return
    keep = targets if ignore_index is None else targets[targets != ignore_index]
    if keep.numel() == 0:
        return
    low, high = int(keep.min()), int(keep.max())
    classes = logits.shape[1]
    if low < 0 or high >= classes:
        raise ValueError(f"{loader_name}: class labels run from {low} to {high} but the model "
                         f"has {classes} outputs (classes 0..{classes - 1}); give the model "
                         f"num_classes={max(high + 1, classes)} or fix the labels")


def empty_loader(function: str) -> ValueError:
    """The error for a loader that yields no sample (raised by the caller)."""
    return ValueError(f"{function}() got an empty loader: there is nothing to measure; "
                      f"check the dataset size and drop_last")
