"""The three building blocks of every convolution gradient: :func:`dilate2d` (zeros between
gradient entries for a stride), :func:`rot180` (flipped kernels) and :func:`correlate2d`
(valid multi-channel cross-correlation).

Not here: the layer's forward and backward passes built from them (:mod:`.conv`).
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..ops import as_pair
from ._checks import IntPair, _as_float, _check_window_fits


def dilate2d(g: np.ndarray, stride: IntPair) -> np.ndarray:
    """Insert ``stride - 1`` zeros between neighbouring entries of the last two axes.

    A stride-``s`` layer only looks at every ``s``-th window position; dilating its output
    gradient puts each gradient entry back at the position of the window it came from, so the
    stride-1 formulas apply. ``(..., H', W')`` -> ``(..., s(H'-1)+1, s(W'-1)+1)``.
    """
    sh, sw = as_pair("stride", stride, 1)
    g = _as_float(g, "g")
    if g.ndim < 2:
        raise ValueError(f"g must have at least 2 dimensions (..., H, W), got shape {g.shape}")
    h, w = g.shape[-2:]
    out = np.zeros(g.shape[:-2] + (sh * (h - 1) + 1, sw * (w - 1) + 1), dtype=g.dtype)
    out[..., ::sh, ::sw] = g
    return out


def rot180(w: np.ndarray) -> np.ndarray:
    """Rotate every kernel by 180 degrees: flip the last two axes (rows and columns).

    Raises:
        ValueError: if ``w`` has fewer than 2 dimensions.
    """
    w = _as_float(w, "w")
    if w.ndim < 2:
        raise ValueError(f"w must have at least 2 dimensions (..., kH, kW), got shape {w.shape}")
    return w[..., ::-1, ::-1]


def correlate2d(x: np.ndarray, w: np.ndarray, stride: IntPair = 1) -> np.ndarray:
    """Valid multi-channel cross-correlation, no bias, no padding.

    ``z[n, o, i, j] = sum_{c, k, l} x[n, c, s_h i + k, s_w j + l] * w[o, c, k, l]``

    Args:
        x: ``(N, C, H, W)`` float array.
        w: ``(K, C, kH, kW)`` float array.
        stride: int or ``(sH, sW)``, >= 1.

    Returns:
        ``(N, K, floor((H - kH) / sH) + 1, floor((W - kW) / sW) + 1)``.

    Raises:
        ValueError: wrong ranks, channel mismatch, or a kernel larger than the input.
    """
    x = _as_float(x, "x", 4)
    w = _as_float(w, "w", 4)
    if x.shape[1] != w.shape[1]:
        raise ValueError(f"x has {x.shape[1]} channels but the kernels expect {w.shape[1]} "
                         f"(w has shape {w.shape} = (C_out, C_in, kH, kW))")
    kh, kw = w.shape[2:]
    sh, sw = as_pair("stride", stride, 1)
    _check_window_fits(x.shape, (kh, kw), (0, 0), "kernel")
    windows = sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    return np.einsum("nchwkl,ockl->nohw", windows, w, optimize=True)
