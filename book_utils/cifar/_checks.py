"""Argument checks shared by the CIFAR-10 modules: whole numbers, finite numbers, uint8
image batches and in-memory datasets, each failing with a message that names the argument
and says what to pass instead.

Not here: the checks of the training loop (:mod:`book_utils.train._checks`) or of the data
files on disk (:mod:`book_utils.data`).
"""
from __future__ import annotations

import math
import numbers

import torch

from ..ops import check_int

__all__ = ["check_int", "check_number", "check_device", "check_uint8_batch",
           "check_image_tensors"]


def check_number(name: str, value, minimum: float = None, maximum: float = None,
                 low_open: bool = False) -> float:
    """Return ``value`` as a float if it is a finite real number in the given range.

    Args:
        minimum, maximum: inclusive bounds (``None``: unbounded); ``low_open`` makes the
            lower bound exclusive (``value > minimum``).

    Raises:
        TypeError: for a non-number (``bool`` included); ValueError: for NaN, infinity or a
            value out of range.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    if minimum is not None and (value <= minimum if low_open else value < minimum):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {minimum:g}, got {value:g}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum:g}, got {value:g}")
    return value


def check_device(device, name: str = "device") -> torch.device:
    """Return ``torch.device(device)``, or raise ``ValueError`` naming ``name`` for a string
    or object torch cannot read as a device (e.g. ``"gpu"``)."""
    if isinstance(device, torch.device):
        return device
    try:
        return torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f"{name} must be a torch.device or a name such as 'cpu', 'cuda' or "
                         f"'cuda:0', got {device!r}; book_utils.train.choose_device() picks "
                         f"one") from None


def check_uint8_batch(images, name: str = "images") -> None:
    """Raise unless ``images`` is a ``uint8 (B, 3, H, W)`` tensor with ``B >= 1``.

    Raises:
        TypeError: for a non-tensor or another dtype; ValueError: for another shape.
    """
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor of images, got {type(images).__name__}")
    if images.dim() != 4 or images.shape[1] != 3 or images.shape[0] == 0:
        raise ValueError(f"{name}: expected a batch of RGB images (B, 3, H, W) with B >= 1, "
                         f"got shape {tuple(images.shape)}")
    if images.dtype != torch.uint8:
        raise TypeError(f"{name}: expected uint8 pixel values 0-255, got {images.dtype}; "
                        f"pass the images as stored by book_utils.data.load_cifar10")


def check_image_tensors(data, name: str = "data") -> None:
    """Raise unless ``data`` looks like :class:`book_utils.data.ImageTensors`: ``images``
    ``uint8 (N, 3, H, W)`` and integer ``labels`` ``(N,)`` (``classes`` optional).

    Raises:
        TypeError: for an object without ``images``/``labels`` tensors or with float labels;
        ValueError: for mismatched lengths or an empty set.
    """
    if not (isinstance(getattr(data, "images", None), torch.Tensor)
            and isinstance(getattr(data, "labels", None), torch.Tensor)):
        raise TypeError(f"{name} must be an ImageTensors (images and labels tensors) as "
                        f"book_utils.data.load_cifar10 returns, got {type(data).__name__}")
    check_uint8_batch(data.images, f"{name}.images")
    labels = data.labels
    if labels.is_floating_point() or labels.dtype == torch.bool or labels.dim() != 1:
        raise TypeError(f"{name}.labels must be a 1-D tensor of integer class labels, got "
                        f"{labels.dtype} of shape {tuple(labels.shape)}")
    if labels.shape[0] != data.images.shape[0]:
        raise ValueError(f"{name} has {data.images.shape[0]} images but {labels.shape[0]} labels")
