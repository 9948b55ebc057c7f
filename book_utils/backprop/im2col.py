"""The matrix view of a convolution layer in NumPy: :func:`im2col` lays every window of the
padded input out as one column, :func:`col2im` folds columns back, adding overlaps.

With ``cols = im2col(x)`` and the kernels flattened to ``W_mat`` of shape
``(C_out, C_in*kH*kW)``, the forward pass is ``Z = W_mat @ cols`` (plus the bias), the input
gradient is ``col2im(W_mat.T @ dZ)`` and the weight gradient is ``dZ @ cols.T`` summed over the
batch. ``torch.nn.functional.unfold`` / ``fold`` are the library versions of these two
functions (the tests compare them).

Not here: the loop-free correlation formulas of the gradients (:mod:`.conv`); a torch layer
built on ``F.unfold`` (``book_utils.layers.Conv2dIm2col``, the LeNet page).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..ops import as_pair
from ._checks import IntPair, _as_float, _check_shape4, _check_window_fits, _out_hw


def im2col(x: np.ndarray, kernel_size: IntPair, stride: IntPair = 1,
           padding: IntPair = 0) -> np.ndarray:
    """Every ``kH x kW`` window of the zero-padded input as one column.

    Column ``l = i * W' + j`` holds the window whose top-left corner is at ``(s*i, s*j)`` of
    the padded input, flattened channel-major then row-major, the order of
    ``torch.nn.functional.unfold`` (and of ``weight.reshape(C_out, -1)``).

    Args:
        x: input ``(N, C, H, W)``, converted to float64.
        kernel_size, stride, padding: ints or ``(rows, cols)`` pairs, as in ``nn.Conv2d``.

    Returns:
        float64 array ``(N, C*kH*kW, H'*W')`` with ``H' = floor((H + 2p - kH)/s) + 1``.

    Raises:
        ValueError: if ``x`` is not 4-D, a size is not a positive int (padding >= 0), or the
            window is larger than the padded input.
        TypeError: if ``x`` is a torch tensor (pass ``x.numpy()``).
    """
    k, s, p = (as_pair("kernel_size", kernel_size, 1), as_pair("stride", stride, 1),
               as_pair("padding", padding, 0))
    x = _as_float(x, "x", ndim=4)
    _check_window_fits(x.shape, k, p, "kernel")
    n, c = x.shape[:2]
    oh, ow = _out_hw(x.shape, k, p, s)
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    # (N, C, H'', W'', kH, kW) -> keep every s-th window -> (N, C, kH, kW, H', W')
    win = sliding_window_view(xp, k, axis=(2, 3))[:, :, ::s[0], ::s[1]][:, :, :oh, :ow]
    return win.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * k[0] * k[1], oh * ow).copy()


def col2im(cols: np.ndarray, input_shape: Sequence[int], kernel_size: IntPair,
           stride: IntPair = 1, padding: IntPair = 0) -> np.ndarray:
    """Fold columns back onto an input-sized array, adding entries where windows overlap.

    The adjoint of :func:`im2col`: for any ``cols`` and ``x``,
    ``sum(im2col(x) * cols) == sum(x * col2im(cols))``. That is why
    ``col2im(W_mat.T @ dZ)`` is ``dL/dX``. Entries that fall on the padding are dropped;
    input pixels that no window covers get 0. Same result as
    ``torch.nn.functional.fold(cols, (H, W), kernel_size, padding=..., stride=...)``.

    Args:
        cols: ``(N, C*kH*kW, H'*W')``, e.g. ``W_mat.T @ dZ`` reshaped per sample.
        input_shape: ``(N, C, H, W)`` of the layer's input.
        kernel_size, stride, padding: as for :func:`im2col`.

    Returns:
        float64 array of ``input_shape``.

    Raises:
        ValueError: if ``input_shape`` is not four positive ints, the window does not fit,
            or ``cols`` does not have the shape :func:`im2col` gives for ``input_shape``.
    """
    k, s, p = (as_pair("kernel_size", kernel_size, 1), as_pair("stride", stride, 1),
               as_pair("padding", padding, 0))
    n, c, h, w = _check_shape4("input_shape", input_shape)
    _check_window_fits((h, w), k, p, "kernel")
    oh, ow = _out_hw((h, w), k, p, s)
    cols = _as_float(cols, "cols", ndim=3)
    expected = (n, c * k[0] * k[1], oh * ow)
    if cols.shape != expected:
        raise ValueError(f"cols has shape {cols.shape}, but im2col of an input {tuple(input_shape)} "
                         f"with kernel {k}, stride {s}, padding {p} gives {expected}")
    win = cols.reshape(n, c, k[0], k[1], oh, ow)
    out = np.zeros((n, c, h + 2 * p[0], w + 2 * p[1]))
    for u in range(k[0]):              # kH * kW slice additions, not one per window
        for v in range(k[1]):
            out[:, :, u:u + s[0] * oh:s[0], v:v + s[1] * ow:s[1]] += win[:, :, u, v]
    return out[:, :, p[0]:p[0] + h, p[1]:p[1] + w]
