"""Input checks shared by the models: a clear message instead of a deep error from torch."""
from __future__ import annotations

import torch
from torch import nn

from ..ops import check_int


def check_float_batch(x, module: nn.Module, name: str) -> None:
    """Raise a clear error unless ``x`` is a floating-point tensor of the module's dtype.

    Raises:
        TypeError: ``x`` is not a ``torch.Tensor`` (e.g. a NumPy array or a list).
        ValueError: ``x`` holds integers (e.g. raw ``uint8`` pixels) or a different float
            dtype than the module's weights.
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


def check_positive_int(name: str, value) -> int:
    """Return ``value`` as an ``int`` if it is an integer >= 1.

    Raises:
        TypeError: for a non-integer (``bool`` included); ValueError: for a value below 1.
    """
    return check_int(name, value, 1)
