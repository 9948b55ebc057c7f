"""Input checks shared by the NumPy layers: arrays as float64 of the right rank, shapes that
fit, windows that fit the padded input, and the output size of a sliding window.

Not here: any forward or backward pass; the checks of stride and padding values themselves
(``book_utils.ops.as_pair``, ``check_int``).
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch

from ..ops import output_size

IntPair = Union[int, Tuple[int, int]]


def _as_float(a, name: str, ndim: Optional[int] = None) -> np.ndarray:
    """Return ``a`` as a float64 NumPy array, checking its rank."""
    if isinstance(a, torch.Tensor):
        raise TypeError(f"{name} is a torch.Tensor; these NumPy functions need an array: "
                        f"pass {name}.detach().cpu().numpy()")
    arr = np.asarray(a)
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(f"{name} must hold numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if ndim is not None and arr.ndim != ndim:
        layout = {4: "(N, C, H, W)", 2: "(N, D)", 1: "(C_out,)"}.get(ndim, f"{ndim} dims")
        raise ValueError(f"{name} must have {ndim} dimensions {layout}, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); every axis needs at least one entry")
    return arr


def _check_shape4(name: str, shape) -> Tuple[int, int, int, int]:
    """``shape`` as four positive ints ``(N, C, H, W)``, or a clear error naming ``name``."""
    from ..ops import check_int

    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__len__") or len(shape) != 4:
        raise ValueError(f"{name} must be the 4 sizes (N, C, H, W) of the layer's input, e.g. "
                         f"x.shape, got {shape!r}")
    return tuple(check_int(f"{name}[{i}]", int(v) if hasattr(v, "__index__") else v, 1)
                 for i, v in enumerate(shape))


def _check_same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{name_a} has shape {a.shape} but {name_b} has shape {b.shape}; "
                         f"they must match (pass the gradient of the output computed from {name_b})")


def _check_window_fits(shape: Sequence[int], kernel: Tuple[int, int], padding: Tuple[int, int],
                       what: str) -> None:
    h, w = shape[-2:]
    if kernel[0] > h + 2 * padding[0] or kernel[1] > w + 2 * padding[1]:
        raise ValueError(
            f"{what} {kernel[0]}x{kernel[1]} is larger than the padded input "
            f"{h + 2 * padding[0]}x{w + 2 * padding[1]} (input {h}x{w}, padding {padding}); "
            f"use a smaller window or more padding")


def _check_grad_shape(dz: np.ndarray, expected: Tuple[int, ...], name: str = "dz") -> None:
    if dz.shape != tuple(expected):
        raise ValueError(f"{name} has shape {dz.shape} but the forward output has shape "
                         f"{tuple(expected)}; pass the gradient of the loss w.r.t. that output")


def _out_hw(shape: Sequence[int], kernel: Tuple[int, int], padding: Tuple[int, int],
            stride: Tuple[int, int]) -> Tuple[int, int]:
    """Output height and width of a window sliding over the last two axes of ``shape``."""
    return (output_size(int(shape[-2]), kernel[0], padding[0], stride[0]),
            output_size(int(shape[-1]), kernel[1], padding[1], stride[1]))
