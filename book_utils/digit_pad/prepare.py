"""A drawn digit made to look like an MNIST digit, the way MNIST's digits were made.

LeCun, Cortes and Burges (the MNIST page, 1998): each digit was scaled, keeping its aspect
ratio, to fit a 20x20 box (anti-aliased, hence grey levels), then placed in a 28x28 field so
that its centre of mass is at the centre of the field. :func:`prepare_drawing` does this to a
drawing (white ink on black, any size): bounding box of the ink, area-averaging resample so
the longer side is 20 pixels, whole-pixel shift that brings the centre of mass nearest to the
field's centre (14, 14). It is the reference for ``prepare`` in
``book_utils/digit_pad/web/lenet.js``, which does the same steps in the same order (the browser
tests compare the two).

Not here: the network (``weights``), the page (``page``).
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

#: Ink: pixels brighter than this (0-1) count for the bounding box.
INK_THRESHOLD = 0.1
BOX = 20
FIELD = 28


def _round_half_up(x: float) -> int:
    # JavaScript's Math.round for the values used here (Python's round() rounds half to even)
    return int(math.floor(x + 0.5))


def area_matrix(n_in: int, n_out: int) -> np.ndarray:
    """``(n_out, n_in)`` weights of area-averaging resampling of ``n_in`` pixels to ``n_out``.

    Output pixel ``i`` covers ``[i * n_in / n_out, (i + 1) * n_in / n_out)`` of the input; each
    input pixel ``p`` (covering ``[p, p + 1)``) counts with its overlap, rows sum to 1.

    Raises:
        ValueError: unless both sizes are positive integers.
    """
    if min(n_in, n_out) < 1:
        raise ValueError(f"sizes must be positive, got n_in={n_in}, n_out={n_out}")
    step = n_in / n_out
    m = np.zeros((n_out, n_in))
    for i in range(n_out):
        lo, hi = i * step, (i + 1) * step
        for p in range(int(math.floor(lo)), min(n_in, int(math.ceil(hi)))):
            m[i, p] = max(0.0, min(hi, p + 1) - max(lo, p))
    return m / m.sum(1, keepdims=True)


def prepare_drawing(gray) -> Optional[np.ndarray]:
    """A drawing -> the ``(28, 28)`` float64 MNIST-style input in [0, 1], or None if blank.

    Args:
        gray: ``(H, W)`` array-like of floats in [0, 1], white ink on black (e.g. a canvas's
            red channel / 255). H and W >= 1.

    Returns:
        ``(28, 28)`` float64 array: the ink's bounding box scaled (aspect kept, area average)
        so its longer side is 20 pixels, shifted by whole pixels so that its centre of mass
        lands nearest to (14, 14) (pixel ``i`` spans ``[i, i + 1)``); ink shifted past the
        border is dropped. ``None`` when no pixel exceeds :data:`INK_THRESHOLD`.

    Raises:
        ValueError: if ``gray`` is not 2-D, is empty, or has values outside [0, 1] or NaN.
    """
    img = np.asarray(gray, dtype=np.float64)
    if img.ndim != 2 or img.size == 0:
        raise ValueError(f"gray must be a non-empty (H, W) array, got shape {img.shape}")
    if not np.isfinite(img).all() or img.min() < 0 or img.max() > 1:
        raise ValueError("gray must hold values in [0, 1] (ink / 255), without NaN")
    rows = np.nonzero((img > INK_THRESHOLD).any(1))[0]
    cols = np.nonzero((img > INK_THRESHOLD).any(0))[0]
    if rows.size == 0:
        return None
    crop = img[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    bh, bw = crop.shape
    scale = BOX / max(bh, bw)
    oh, ow = max(1, _round_half_up(bh * scale)), max(1, _round_half_up(bw * scale))
    small = area_matrix(bh, oh) @ crop @ area_matrix(bw, ow).T
    total = small.sum()
    cy = (small.sum(1) * (np.arange(oh) + 0.5)).sum() / total
    cx = (small.sum(0) * (np.arange(ow) + 0.5)).sum() / total
    oy, ox = _round_half_up(FIELD / 2 - cy), _round_half_up(FIELD / 2 - cx)
    out = np.zeros((FIELD, FIELD))
    for i in range(oh):
        for j in range(ow):
            y, x = i + oy, j + ox
            if 0 <= y < FIELD and 0 <= x < FIELD:
                out[y, x] = small[i, j]
    return np.clip(out, 0.0, 1.0)
