"""The texts of a sliding-window picture: numbers in cells, the title, the line under a frame.

Pure functions from numbers, or from a :class:`~book_utils.anim.window.SlidingWindow`, to
``str`` (or arrays of ``str``). The figure, the animation and the static view of the controls
all write their texts with these, so the book shows a number the same way everywhere.

Not here: where the window is and what it computes (:mod:`.window`), and any drawing
(:mod:`.figure`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Sequence

import numpy as np

if TYPE_CHECKING:                     # only for annotations: window imports this module
    from .window import SlidingWindow

__all__ = ["format_value", "cell_texts", "input_texts", "frame_caption", "default_title"]


def format_value(v: float) -> str:
    """Short text for a number in a cell: integers without decimals, others with at most two.

    ``3.0 -> "3"``, ``-0.0 -> "0"``, ``1/9 -> "0.11"``, ``3.25 -> "3.25"``, ``0.5 -> "0.5"``;
    infinities and NaN are written ``"inf"``, ``"-inf"``, ``"nan"``.
    """
    v = float(v)
    if not np.isfinite(v):
        return "-inf" if v < 0 else ("inf" if v > 0 else "nan")
    if abs(v - round(v)) < 1e-9:
        return str(int(round(v))) if round(v) != 0 else "0"
    text = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "0") else text


def cell_texts(values, blank: Optional[np.ndarray] = None) -> np.ndarray:
    """:func:`format_value` of every entry of ``values``, as an ``object`` array of ``str``.

    Args:
        values: array-like of numbers, any shape.
        blank: optional boolean array broadcastable to ``values``' shape; its ``True`` cells
            get ``""`` (a cell drawn without a number).

    Returns:
        ``np.ndarray`` of dtype ``object`` and the shape of ``values``.
    """
    values = np.asarray(values, dtype=np.float64)
    texts = np.array([format_value(v) for v in values.ravel()], dtype=object)
    texts = texts.reshape(values.shape)
    if blank is not None:
        texts[np.broadcast_to(np.asarray(blank, dtype=bool), values.shape)] = ""
    return texts


def input_texts(sw: "SlidingWindow") -> np.ndarray:
    """The texts of the padded input's cells, ``(C, H + 2ph, W + 2pw)`` ``object`` array.

    Padding cells read ``"0"``, except for max pooling, which ignores them (they hold minus
    infinity there): those are ``""``.
    """
    values = sw.padded
    blank = sw.is_padding() if sw.op == "max" else None
    return cell_texts(np.where(np.isfinite(values), values, 0.0), blank)


def _paren(v: float) -> str:
    """:func:`format_value`, in parentheses when negative (for terms of a written sum)."""
    text = format_value(v)
    return f"({text})" if text.startswith("-") else text


def frame_caption(sw: "SlidingWindow", t: int,
                  kernel_names: Optional[Sequence[str]] = None) -> str:
    """One line saying what is computed at frame ``t`` (shown under the picture).

    The output's name is mathtext (``$z_{1,2}$``), as matplotlib draws it. A 1D convolution
    writes every product, a single 2D kernel says how many products it sums, a multi-channel
    kernel lists the per-channel sums, several kernels list one value each (named by
    ``kernel_names``, default ``w1``, ``w2``, ...), and pooling names its operation.

    Raises:
        TypeError, ValueError: ``t`` is not a frame number of ``sw``.
    """
    i, j = sw.position(t)
    vals = sw.values(t)
    if sw.kind == "1d":
        name = f"$z_{{{j + 1}}}$"
    else:
        name = f"$z_{{{i + 1},{j + 1}}}$"
    if sw.op != "sum":
        word = "max" if sw.op == "max" else "mean"
        if len(vals) == 1:
            return f"{name} = {word}(window) = {format_value(vals[0])}"
        return f"{name}: {word}(window) per channel = " + ", ".join(
            format_value(v) for v in vals)
    maps, channels = sw.kernels.shape[:2]
    if sw.kind == "1d":
        xs = sw.patch(t)[0, 0]
        ws = sw.kernels[0, 0, 0]
        terms = " + ".join(f"{_paren(a)}×{_paren(b)}" for a, b in zip(xs, ws))
        bias = f" + {_paren(sw.bias[0])}" if sw.bias[0] != 0 else ""
        return f"{name} = {terms}{bias} = {format_value(vals[0])}"
    if maps > 1:
        names = list(kernel_names) if kernel_names else [f"w{k + 1}" for k in range(maps)]
        return f"{name}: " + ",  ".join(f"{n}: {format_value(v)}" for n, v in zip(names, vals))
    bias = f" + b ({format_value(sw.bias[0])})" if sw.bias[0] != 0 else ""
    if channels == 1:
        count = sw.window[0] * sw.window[1]
        return (f"{name} = sum of the {count} products window × kernel{bias} = "
                f"{format_value(vals[0])}")
    parts = " + ".join(_paren(v) for v in sw.channel_terms(t)[0])
    return f"{name} = {parts} (one sum per channel){bias} = {format_value(vals[0])}"


def default_title(sw: "SlidingWindow") -> str:
    """The one-line summary above a picture: operation, sizes, padding, stride, output size.

    E.g. ``"2D convolution: input 5x5, 3x3, p=1, s=2  ->  output 3x3"`` or
    ``"1D convolution: d=10, f=3, p=0, s=1  ->  8 outputs"``.
    """
    fh, fw = sw.window
    what = {"sum": "convolution", "max": "max pooling", "mean": "average pooling"}[sw.op]
    if sw.kind == "1d":
        return (f"1D {what}: d={sw.x.shape[2]}, f={fw}, p={sw.padding[1]}, "
                f"s={sw.stride[1]}  ->  {sw.out_shape[2]} outputs")
    c, h, w = sw.x.shape
    pad = sw.padding if sw.padding[0] != sw.padding[1] else sw.padding[0]
    stride = sw.stride if sw.stride[0] != sw.stride[1] else sw.stride[0]
    maps, oh, ow = sw.out_shape
    shape = f"{c}x{h}x{w}" if c > 1 else f"{h}x{w}"
    kern = f"{fh}x{fw}"
    if sw.op == "sum" and sw.kernels.shape[0] > 1:
        kern = f"{sw.kernels.shape[0]} kernels {fh}x{fw}"
    out = f"{maps}x{oh}x{ow}" if maps > 1 else f"{oh}x{ow}"
    return f"2D {what}: input {shape}, {kern}, p={pad}, s={stride}  ->  output {out}"
