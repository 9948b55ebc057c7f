"""The convolution layer: :func:`conv2d_forward` and its gradients with respect to the weights,
the input and the bias (:func:`conv2d_backward` returns all three).

Not here: pooling (:mod:`.pool`); the building blocks dilate/rotate/correlate
(:mod:`.correlate`); the torch ``autograd.Function`` wrapper (:mod:`.autograd`).
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np

from ..ops import as_pair, pad
from ._checks import (IntPair, _as_float, _check_grad_shape, _check_shape4, _check_window_fits,
                      _out_hw)
from .correlate import correlate2d, dilate2d, rot180


def conv2d_forward(x: np.ndarray, w: np.ndarray, b: Optional[np.ndarray] = None,
                   stride: IntPair = 1, padding: IntPair = 0) -> np.ndarray:
    """Linear output ``Z`` of a convolution layer (what ``torch.nn.functional.conv2d`` computes).

    ``Z[n, o, i, j] = b[o] + sum_{c, k, l} Xp[n, c, s i + k, s j + l] W[o, c, k, l]`` where ``Xp``
    is ``x`` zero-padded by ``padding``.

    Args:
        x: input ``(N, C_in, H, W)``, numbers (converted to float64).
        w: kernels ``(C_out, C_in, kH, kW)``.
        b: biases ``(C_out,)`` or ``None``.
        stride: int or pair, >= 1.
        padding: int or pair, >= 0 (zeros).

    Returns:
        ``(N, C_out, H', W')`` with ``H' = floor((H + 2p - kH) / s) + 1`` (same for W).

    Raises:
        TypeError: non-numeric input, a torch tensor instead of an array, or a non-integer
            stride/padding.
        ValueError: wrong ranks, channel mismatch, bias of the wrong length, kernel larger than
            the padded input, stride < 1 or padding < 0.
    """
    x = _as_float(x, "x", 4)
    w = _as_float(w, "w", 4)
    pd = as_pair("padding", padding, 0)
    _check_window_fits(x.shape, w.shape[2:], pd, "kernel")
    z = correlate2d(pad(x, pd), w, stride)
    if b is not None:
        b = _as_float(b, "b", 1)
        if b.shape[0] != w.shape[0]:
            raise ValueError(f"b has {b.shape[0]} entries but there are {w.shape[0]} kernels")
        z = z + b[None, :, None, None]
    return z


def conv2d_weight_grad(dz: np.ndarray, x: np.ndarray, kernel_size: IntPair,
                       stride: IntPair = 1, padding: IntPair = 0) -> np.ndarray:
    """``dL/dW`` of a convolution layer: correlate the padded input with the output gradient.

    ``dW[o, c, k, l] = sum_{n, i, j} dz[n, o, i, j] Xp[n, c, s i + k, s j + l]``. For stride 1
    this is the valid correlation ``Xp[n, c] * dz[n, o]`` summed over ``n``; for stride ``s`` the
    gradient is first dilated (:func:`dilate2d`) and the result cut to ``kH x kW`` (input rows
    that no window reached because of the floor get no gradient).

    Args:
        dz: ``dL/dZ``, shape ``(N, C_out, H', W')``.
        x: the layer's input ``(N, C_in, H, W)``.
        kernel_size: ``kH`` or ``(kH, kW)``.

    Returns:
        ``(C_out, C_in, kH, kW)``.
    """
    x = _as_float(x, "x", 4)
    dz = _as_float(dz, "dz", 4)
    kh, kw = as_pair("kernel_size", kernel_size, 1)
    pd = as_pair("padding", padding, 0)
    st = as_pair("stride", stride, 1)
    _check_window_fits(x.shape, (kh, kw), pd, "kernel")
    out_hw = _out_hw(x.shape, (kh, kw), pd, st)
    if dz.shape[0] != x.shape[0] or dz.shape[2:] != out_hw:
        raise ValueError(f"dz has shape {dz.shape} but this layer's output is "
                         f"(N={x.shape[0]}, C_out, {out_hw[0]}, {out_hw[1]})")
    xp = pad(x, pd)
    g = dilate2d(dz, st)
    # Swap the roles of batch and channels so that the sum over n becomes the channel sum
    # of an ordinary multi-channel correlation: (C_in, N, ...) correlated with (C_out, N, ...).
    dw = correlate2d(xp.transpose(1, 0, 2, 3), g.transpose(1, 0, 2, 3))[:, :, :kh, :kw]
    return dw.transpose(1, 0, 2, 3)


def conv2d_input_grad(dz: np.ndarray, w: np.ndarray,
                      input_shape: Sequence[int], stride: IntPair = 1,
                      padding: IntPair = 0, rotate: bool = True) -> np.ndarray:
    """``dL/dX`` of a conv layer: "full" correlation of ``dz`` with rotated kernels.

    ``dXp[n, c] = sum_o full_correlate(dilate(dz[n, o]), rot180(W[o, c]))``;
    the full correlation zero-pads its input by ``kH - 1`` rows and ``kW - 1``
    columns on each side. Rows/columns of the padded input beyond the last
    window get zero gradient; finally the padding is cropped off.

    Args:
        dz: ``dL/dZ``, shape ``(N, C_out, H', W')``.
        w: kernels ``(C_out, C_in, kH, kW)``.
        input_shape: ``(N, C_in, H, W)`` of the layer's input.
        rotate: ``True`` (correct). ``False`` skips the 180-degree rotation,
            which is WRONG; it exists only so that the book and the tests can
            show the gradient check failing.

    Returns:
        ``(N, C_in, H, W)``.
    """
    dz = _as_float(dz, "dz", 4)
    w = _as_float(w, "w", 4)
    n, c_in, h, wd = _check_shape4("input_shape", input_shape)
    c_out, c_w, kh, kw = w.shape
    if c_w != c_in:
        raise ValueError(f"input has {c_in} channels but the kernels "
                         f"expect {c_w}")
    pd = as_pair("padding", padding, 0)
    st = as_pair("stride", stride, 1)
    _check_window_fits((h, wd), (kh, kw), pd, "kernel")
    _check_grad_shape(dz, (n, c_out) + _out_hw((h, wd), (kh, kw), pd, st))
    # dilate, then the "full" zero padding
    g = pad(dilate2d(dz, st), (kh - 1, kw - 1))
    kernels = rot180(w) if rotate else w
    # (N, C_in, s(H'-1)+kH, s(W'-1)+kW)
    reached = correlate2d(g, kernels.transpose(1, 0, 2, 3))
    dxp = np.zeros((n, c_in, h + 2 * pd[0], wd + 2 * pd[1]))
    dxp[:, :, :reached.shape[2], :reached.shape[3]] = reached
    return dxp[:, :, pd[0]:pd[0] + h, pd[1]:pd[1] + wd]


def conv2d_backward(dz: np.ndarray, x: np.ndarray, w: np.ndarray, stride: IntPair = 1,
                    padding: IntPair = 0) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All three gradients of a convolution layer from ``dL/dZ``.

    Args:
        dz: ``(N, C_out, H', W')``, the gradient of the loss w.r.t. :func:`conv2d_forward`'s output.
        x: the input ``(N, C_in, H, W)`` given to the forward pass.
        w: the kernels ``(C_out, C_in, kH, kW)``.

    Returns:
        ``(dx, dw, db)`` with the shapes of ``x``, ``w`` and ``(C_out,)``.
    """
    x = _as_float(x, "x", 4)
    w = _as_float(w, "w", 4)
    dz = _as_float(dz, "dz", 4)
    if x.shape[1] != w.shape[1]:
        raise ValueError(f"x has {x.shape[1]} channels but the kernels w expect {w.shape[1]} "
                         f"(w has shape {w.shape} = (C_out, C_in, kH, kW))")
    if dz.shape[1] != w.shape[0]:
        raise ValueError(f"dz has {dz.shape[1]} channels but there are {w.shape[0]} kernels in w")
    dx = conv2d_input_grad(dz, w, x.shape, stride, padding)
    dw = conv2d_weight_grad(dz, x, w.shape[2:], stride, padding)
    db = dz.sum(axis=(0, 2, 3))
    return dx, dw, db
