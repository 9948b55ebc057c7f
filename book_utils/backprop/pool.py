"""Max and average pooling without padding: forward passes, the arg-max with PyTorch's rule
for ties and NaNs, and the backward passes.

Not here: convolution (:mod:`.conv`); the torch ``autograd.Function`` wrappers
(:mod:`.autograd`).
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..ops import as_pair
from ._checks import IntPair, _as_float, _check_grad_shape, _check_window_fits


def _pool_windows(x: np.ndarray, kernel_size: IntPair, stride: Optional[IntPair]):
    x = _as_float(x, "x", 4)
    k = as_pair("kernel_size", kernel_size, 1)
    s = k if stride is None else as_pair("stride", stride, 1)
    _check_window_fits(x.shape, k, (0, 0), "pooling window")
    windows = sliding_window_view(x, k, axis=(2, 3))[:, :, ::s[0], ::s[1]]
    return x, k, s, windows


def max_pool2d_forward(x: np.ndarray, kernel_size: IntPair, stride: Optional[IntPair] = None) -> np.ndarray:
    """Max pooling without padding (``F.max_pool2d(x, kernel_size, stride)``).

    Args:
        x: ``(N, C, H, W)`` float array.
        kernel_size: window ``f`` or ``(fH, fW)``.
        stride: default ``kernel_size`` (non-overlapping windows, the usual convention).

    Returns:
        ``(N, C, floor((H - fH) / sH) + 1, floor((W - fW) / sW) + 1)``; NaN if a window holds a NaN.
    """
    _, _, _, windows = _pool_windows(x, kernel_size, stride)
    return windows.max(axis=(-2, -1))                           # NaN propagates


def max_pool2d_argmax(x: np.ndarray, kernel_size: IntPair, stride: Optional[IntPair] = None) -> np.ndarray:
    """Row-major index (``k * fW + l``) of the element each max-pooling window selects.

    Tie rule, the same as PyTorch's CPU and CUDA kernels: among equal maxima the FIRST in
    row-major order wins; if a window holds NaNs, the LAST NaN wins (NaN propagates).

    Returns:
        int64 array ``(N, C, H', W')``.
    """
    _, _, _, windows = _pool_windows(x, kernel_size, stride)
    flat = windows.reshape(windows.shape[:4] + (-1,))
    first_max = np.argmax(flat, axis=-1)                       # np.argmax: first occurrence
    nan = np.isnan(flat)
    last_nan = flat.shape[-1] - 1 - np.argmax(nan[..., ::-1], axis=-1)
    return np.where(nan.any(axis=-1), last_nan, first_max).astype(np.int64)


def max_pool2d_backward(dz: np.ndarray, x: np.ndarray, kernel_size: IntPair,
                        stride: Optional[IntPair] = None) -> np.ndarray:
    """``dL/dX`` of max pooling: each window sends its whole gradient to its arg-max.

    The selected element is the one :func:`max_pool2d_argmax` names (ties: first in row-major
    order). An input element chosen by several overlapping windows receives the sum of their
    gradients; every other element receives 0.

    Args:
        dz: ``(N, C, H', W')``.
        x: the forward input ``(N, C, H, W)``.

    Returns:
        ``(N, C, H, W)``.
    """
    x, (fh, fw), (sh, sw), _ = _pool_windows(x, kernel_size, stride)
    dz = _as_float(dz, "dz", 4)
    idx = max_pool2d_argmax(x, (fh, fw), (sh, sw))
    _check_grad_shape(dz, idx.shape)
    oh, ow = idx.shape[2:]
    dx = np.zeros(x.shape)
    # For one offset (k, l) inside the window, the positions s*i + k of different windows are
    # distinct, so a strided slice can be updated with += without collisions.
    for k in range(fh):
        for l in range(fw):
            dx[:, :, k:k + sh * (oh - 1) + 1:sh, l:l + sw * (ow - 1) + 1:sw] += \
                dz * (idx == k * fw + l)
    return dx


def avg_pool2d_forward(x: np.ndarray, kernel_size: IntPair, stride: Optional[IntPair] = None) -> np.ndarray:
    """Average pooling without padding (``F.avg_pool2d(x, kernel_size, stride)``).

    Args and returns as :func:`max_pool2d_forward`; each output is the mean of its ``fH x fW`` window.
    """
    _, _, _, windows = _pool_windows(x, kernel_size, stride)
    return windows.mean(axis=(-2, -1))


def avg_pool2d_backward(dz: np.ndarray, x: np.ndarray, kernel_size: IntPair,
                        stride: Optional[IntPair] = None) -> np.ndarray:
    """``dL/dX`` of average pooling: each window spreads ``dz / (fH fW)`` over its elements.

    Args:
        dz: ``(N, C, H', W')``.
        x: the forward input ``(N, C, H, W)`` (only its shape is used).

    Returns:
        ``(N, C, H, W)``; elements that no window covers (cut off by the floor) get 0.
    """
    x, (fh, fw), (sh, sw), windows = _pool_windows(x, kernel_size, stride)
    dz = _as_float(dz, "dz", 4)
    _check_grad_shape(dz, windows.shape[:4])
    oh, ow = dz.shape[2:]
    dx = np.zeros(x.shape)
    share = dz / (fh * fw)
    for k in range(fh):
        for l in range(fw):
            dx[:, :, k:k + sh * (oh - 1) + 1:sh, l:l + sw * (ow - 1) + 1:sw] += share
    return dx
