"""NumPy reference implementations of the convolution operations taught in the book.

Everything here is *cross-correlation*, the operation deep-learning libraries call
"convolution": the kernel is slid over the input without being flipped, exactly like
``torch.nn.functional.conv1d`` / ``conv2d``. (A textbook convolution flips the kernel first;
``np.convolve`` does that.)

Conventions
-----------
* ``d`` is an input length, ``f`` a kernel size, ``p`` the zero padding added on *each* side and
  ``s`` the stride. Along one dimension the output has ``output_size(d, f, p, s)`` =
  ``floor((d + 2p - f) / s) + 1`` entries.
* Padding is added once, to the input. The output length is then computed from the *padded*
  length without adding ``2p`` again (the chapter's source does count it twice; see the tests).
* Inputs are converted to ``float64`` arrays; outputs are ``float64``.

Functions
---------
:func:`output_size`, :func:`pad`, :func:`conv1d`, :func:`conv2d`.
"""
from __future__ import annotations

import numbers
from typing import Optional, Sequence, Tuple, Union

import numpy as np

__all__ = ["output_size", "pad", "conv1d", "conv2d", "as_pair"]

IntOrPair = Union[int, Tuple[int, int]]


# --------------------------------------------------------------------------- checks

def check_int(name: str, value, minimum: int) -> int:
    """Return ``value`` as a Python int, or raise if it is not an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def as_pair(name: str, value: IntOrPair, minimum: int) -> Tuple[int, int]:
    """Turn an int or a pair of ints into ``(rows, cols)``, checking each is ``>= minimum``.

    Raises:
        TypeError: if ``value`` is neither an integer nor a pair of integers.
        ValueError: if an entry is below ``minimum`` or the pair does not have two entries.
    """
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair (rows, cols), got {value!r}")
        return (check_int(f"{name}[0]", value[0], minimum),
                check_int(f"{name}[1]", value[1], minimum))
    v = check_int(name, value, minimum)
    return v, v


def _to_numpy(name: str, value) -> np.ndarray:
    """``value`` as a float64 array; torch tensors (any device, with or without grad) are copied."""
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be numeric array-like, got the string {value!r}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be numeric array-like (a list, NumPy array or tensor of "
                        f"numbers); could not convert it ({exc})") from None
    return arr


def _as_array(name: str, value, ndims: Sequence[int]) -> np.ndarray:
    """Convert to a float64 array and check its rank is one of ``ndims`` and it is not empty."""
    arr = _to_numpy(name, value)
    if arr.ndim not in ndims:
        wanted = " or ".join(str(n) for n in ndims)
        raise ValueError(f"{name} must have {wanted} dimensions, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    return arr


# --------------------------------------------------------------------------- sizes

def output_size(d: int, f: int, p: int = 0, s: int = 1) -> int:
    """Number of positions a window of size ``f`` takes along one dimension.

    Implements ``floor((d + 2p - f) / s) + 1``: the input of length ``d`` is padded with ``p``
    zeros on each side, and a window of size ``f`` moves ``s`` steps at a time while it still
    fits entirely inside the padded input. The same formula gives the output height and width
    of ``nn.Conv2d`` / ``nn.MaxPool2d`` (dilation 1, ``ceil_mode=False``), one dimension at a time.

    Args:
        d: input length (>= 1).
        f: kernel (window) size (>= 1).
        p: zero padding on each side (>= 0).
        s: stride (>= 1).

    Returns:
        The output length, an ``int`` >= 1.

    Raises:
        TypeError: if an argument is not an integer.
        ValueError: if ``d < 1``, ``f < 1``, ``p < 0``, ``s < 1``, or the kernel is larger
            than the padded input (``f > d + 2p``), in which case there is no valid position.
    """
    d = check_int("d (input size)", d, 1)
    f = check_int("f (kernel size)", f, 1)
    p = check_int("p (padding)", p, 0)
    s = check_int("s (stride)", s, 1)
    if f > d + 2 * p:
        raise ValueError(
            f"kernel size f={f} is larger than the padded input d+2p={d}+2*{p}={d + 2 * p}; "
            f"use a smaller kernel or more padding")
    return (d + 2 * p - f) // s + 1


def pad(x, padding: IntOrPair, value: float = 0.0) -> np.ndarray:
    """Pad the last one or two dimensions of ``x`` with a constant (zero by default).

    Args:
        x: array of shape ``(d,)`` (padded by ``padding`` on both ends), or ``(..., H, W)``
            (rows padded by ``padding[0]``, columns by ``padding[1]``, on both sides).
        padding: int or ``(pad_rows, pad_cols)``, each >= 0.
        value: the fill value.

    Returns:
        A new ``float64`` array.

    Raises:
        TypeError: ``x`` is not numeric, ``padding`` is not an int or pair of ints, or
            ``value`` is not a number.
        ValueError: ``x`` is a scalar, negative padding, or two paddings for a 1D signal.
    """
    arr = _to_numpy("x", x)
    ph, pw = as_pair("padding", padding, 0)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"value (the fill value) must be a number, got {type(value).__name__}")
    if arr.ndim == 1:
        if ph != pw:
            raise ValueError(f"a 1D signal takes a single padding, got {padding!r}")
        return np.pad(arr, ph, constant_values=value)
    if arr.ndim < 2:
        raise ValueError(f"x must have at least 1 dimension, got shape {arr.shape}")
    widths = [(0, 0)] * (arr.ndim - 2) + [(ph, ph), (pw, pw)]
    return np.pad(arr, widths, constant_values=value)


# --------------------------------------------------------------------------- 1D

def conv1d(x, w, stride: int = 1, padding: int = 0, bias: float = 0.0) -> np.ndarray:
    """One-dimensional cross-correlation ("convolution" in deep learning).

    ``z[i] = bias + sum_k w[k] * xp[i*stride + k]`` where ``xp`` is ``x`` with ``padding``
    zeros added at each end. Same result as
    ``torch.nn.functional.conv1d(x[None, None], w[None, None], bias, stride, padding)[0, 0]``.

    Args:
        x: signal, shape ``(d,)``.
        w: kernel, shape ``(f,)``.
        stride: step between neighbouring windows (>= 1).
        padding: zeros added at each end of ``x`` (>= 0).
        bias: a number added to every output.

    Returns:
        ``float64`` array of shape ``(output_size(d, f, padding, stride),)``.

    Raises:
        ValueError: if ``x`` or ``w`` is not one-dimensional (or empty), if the kernel is longer
            than the padded signal, or stride/padding are out of range.
        TypeError: if stride/padding are not integers or the inputs are not numeric.
    """
    x = _as_array("x (signal)", x, (1,))
    w = _as_array("w (kernel)", w, (1,))
    if isinstance(bias, bool) or not isinstance(bias, numbers.Real):
        raise TypeError(f"bias must be a single number for a 1D convolution, got "
                        f"{type(bias).__name__} {bias!r}")
    n_out = output_size(x.shape[0], w.shape[0], padding, stride)   # validates everything
    xp = np.pad(x, padding)                                          # pad once ...
    f = w.shape[0]
    z = np.empty(n_out)
    for i in range(n_out):                                           # ... and never again
        start = i * stride
        z[i] = np.dot(xp[start:start + f], w)
    return z + float(bias)


# --------------------------------------------------------------------------- 2D

def conv2d(x, w, stride: IntOrPair = 1, padding: IntOrPair = 0, bias=None) -> np.ndarray:
    """Two-dimensional cross-correlation, single- or multi-channel, with stride and padding.

    Accepted shapes (``C`` input channels, ``K`` kernels / output channels):

    ==================  ========================  =====================
    ``x``               ``w``                     result
    ==================  ========================  =====================
    ``(H, W)``          ``(fh, fw)``              ``(H', W')``
    ``(C, H, W)``       ``(C, fh, fw)``           ``(H', W')``  (sum over channels)
    ``(C, H, W)``       ``(K, C, fh, fw)``        ``(K, H', W')``
    ==================  ========================  =====================

    with ``H' = output_size(H, fh, ph, sh)`` and ``W' = output_size(W, fw, pw, sw)``.
    Multi-channel: ``z[k, i, j] = b[k] + sum_{c, u, v} w[k, c, u, v] * xp[c, i*sh + u, j*sw + v]``,
    i.e. one 2D cross-correlation per channel, summed over channels, plus **one** bias per
    kernel. Matches ``torch.nn.functional.conv2d`` (and ``nn.Conv2d`` with the same weights).

    Args:
        x: input image(s), see the table.
        w: kernel(s), see the table.
        stride: int or ``(sh, sw)``, each >= 1.
        padding: int or ``(ph, pw)``, zeros added on each side, each >= 0.
        bias: ``None`` (no bias), a number (for a single kernel), or an array of shape ``(K,)``
            for a ``(K, C, fh, fw)`` kernel.

    Returns:
        ``float64`` array with the shape given in the table.

    Raises:
        ValueError: wrong ranks, channel counts that differ between ``x`` and ``w``, a kernel
            larger than the padded input, a bias of the wrong length, or stride/padding out of
            range.
        TypeError: non-integer stride/padding or non-numeric inputs.
    """
    x = _as_array("x (image)", x, (2, 3))
    w = _as_array("w (kernel)", w, (2, 3, 4))
    sh, sw = as_pair("stride", stride, 1)
    ph, pw = as_pair("padding", padding, 0)

    if x.ndim == 2 and w.ndim == 2:
        x3, w4, squeeze = x[None], w[None, None], "both"
    elif x.ndim == 3 and w.ndim == 3:
        if w.shape[0] != x.shape[0]:
            raise ValueError(
                f"channel mismatch: x has {x.shape[0]} channels (shape {x.shape}) but the kernel "
                f"has {w.shape[0]} (shape {w.shape}); a multi-channel kernel needs one slice per "
                f"input channel")
        x3, w4, squeeze = x, w[None], "kernel"
    elif x.ndim == 3 and w.ndim == 4:
        if w.shape[1] != x.shape[0]:
            raise ValueError(
                f"channel mismatch: x has {x.shape[0]} channels (shape {x.shape}) but the kernels "
                f"expect {w.shape[1]} (shape {w.shape} = (K, C, fh, fw))")
        x3, w4, squeeze = x, w, None
    else:
        raise ValueError(
            f"unsupported shapes x {x.shape} and w {w.shape}; use (H, W) with (fh, fw), "
            f"(C, H, W) with (C, fh, fw), or (C, H, W) with (K, C, fh, fw)")

    n_kernels, _, fh, fw = w4.shape
    out_h = output_size(x3.shape[1], fh, ph, sh)   # validates sizes, stride and padding
    out_w = output_size(x3.shape[2], fw, pw, sw)

    if bias is None:
        b = np.zeros(n_kernels)
    else:
        b = _to_numpy("bias", bias)
        if b.ndim > 1:
            raise ValueError(f"bias must be a number or a 1-D array of {n_kernels} values, got "
                             f"shape {b.shape}")
        b = b.reshape(-1)
        if b.shape[0] != n_kernels:
            raise ValueError(f"bias must hold one value per kernel ({n_kernels}), got shape "
                             f"{np.shape(bias)}")

    xp = pad(x3, (ph, pw))
    # windows[c, i, j, u, v] = xp[c, i + u, j + v]; keep every stride-th window position.
    windows = np.lib.stride_tricks.sliding_window_view(xp, (fh, fw), axis=(1, 2))
    windows = windows[:, ::sh, ::sw][:, :out_h, :out_w]
    z = np.einsum("cijuv,kcuv->kij", windows, w4) + b[:, None, None]
    if squeeze is not None:
        return z[0]
    return z
