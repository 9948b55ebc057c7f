"""Input checks shared by the models: a clear message instead of a deep error from torch."""
from __future__ import annotations

import math
import numbers

import torch
from torch import nn

from ..ops import check_int


def check_float_batch(x, module: nn.Module, name: str) -> None:
    """Raise a clear error unless ``x`` is a floating-point tensor of the module's dtype.

    Raises:
        TypeError: ``x`` is not a ``torch.Tensor`` (e.g. a NumPy array or a list).
        ValueError: ``x`` holds integers (e.g. raw ``uint8`` pixels), a different float
            dtype than the module's weights, lies on another device than the weights, or is an
            empty batch.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} expects a torch.Tensor, got {type(x).__name__}; "
                        f"convert with torch.as_tensor(x, dtype=torch.float32)")
    if not x.is_floating_point():
        raise ValueError(f"{name} expects floating-point images, got dtype {x.dtype}; convert raw pixels "
                         f"with x.float() / 255 (or use book_utils.data.TensorImageDataset)")
    weight = next(module.parameters(), None)
    if weight is not None and weight.dtype != x.dtype:
        raise ValueError(f"{name} has {weight.dtype} weights but got a {x.dtype} input; convert one of "
                         f"them, e.g. x.to({weight.dtype}) or model.to({x.dtype})")
    if weight is not None and weight.device != x.device:
        raise ValueError(f"{name} has its weights on {weight.device} but the input x is on {x.device}; "
                         f"move one of them, e.g. x.to('{weight.device}') or model.to('{x.device}')")
    if x.dim() >= 1 and x.shape[0] == 0:
        raise ValueError(f"{name} got an empty batch x of shape {tuple(x.shape)}; pass at least one image")


def check_batch_norm_batch(x: torch.Tensor, module: nn.Module, name: str, halvings: int) -> None:
    """Refuse one image in training mode when the last feature map is 1x1 (clear error first).

    Batch normalisation in training mode needs more than one value per channel; after
    ``halvings`` stride-2 layers (each ``H -> ceil(H / 2)``) a single small image leaves one.

    Raises:
        ValueError: naming the batch size and the fix (``model.eval()`` or a larger batch).
    """
    if not module.training or x.shape[0] != 1:
        return
    h, w = x.shape[-2:]
    for _ in range(halvings):
        h, w = (h + 1) // 2, (w + 1) // 2
    if h * w == 1:
        raise ValueError(f"{name} is in training mode and got a batch x of one {tuple(x.shape[-2:])} "
                         f"image: its last feature map is 1x1, so batch normalisation has one value "
                         f"per channel and cannot normalise. Call model.eval() to run one image, or "
                         f"pass a batch of at least 2")


def check_positive_int(name: str, value) -> int:
    """Return ``value`` as an ``int`` if it is an integer >= 1.

    Raises:
        TypeError: for a non-integer (``bool`` included); ValueError: for a value below 1.
    """
    return check_int(name, value, 1)


def check_probability(name: str, value) -> float:
    """Return ``value`` as a float if it is a number in ``[0, 1)`` (a dropout probability).

    Raises:
        TypeError: for a non-number; ValueError: outside ``[0, 1)`` or NaN.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number in [0, 1), got {type(value).__name__} {value!r}")
    if math.isnan(value) or not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value}")
    return float(value)


def check_bool(name: str, value) -> bool:
    """Return ``value`` if it is ``True`` or ``False``, else raise ``TypeError`` naming ``name``."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value
