"""Sliding-window pictures: one helper for every convolution and pooling animation in the book.

A convolution or pooling layer slides a window over its input and computes one number per
window position. This module draws that, step by step, for

* 1D convolution (a signal, a kernel, padding and stride),
* 2D convolution (one channel, padding and stride),
* multi-channel convolution (one kernel slice per input channel, summed, plus a bias),
* several kernels applied to one input (one output map per kernel),
* max and average pooling (one output map per input channel),

in three ways that share the same drawing code:

:func:`animate`
    a ``matplotlib.animation.FuncAnimation`` that a page shows with
    ``IPython.display.HTML(ani.to_jshtml())``; it plays in the static HTML book. The figure is
    *not* registered with pyplot, so no extra static copy of it appears below the cell.
:func:`controls`
    an ``ipywidgets`` panel (sliders for position, padding, stride, window size and a kernel
    choice) that redraws the same picture; it needs a running kernel.
:func:`render_frame`
    one frame as PNG bytes (used by :func:`controls`; handy for tests and for saving).

The geometry and numbers live in :class:`SlidingWindow`, which can be used without drawing.

Example::

    from IPython.display import HTML
    from book_utils import anim
    ani = anim.animate([3, 6, 5, 4, 8, 9, 1, 7, 9, 6], [-1, 0, 1], padding=1)
    HTML(ani.to_jshtml())

    # max pooling, 2x2 windows, stride 2, on a (4, 4) grid:
    ani = anim.animate(grid, op="max", window=2, stride=2)

Shapes accepted for ``x`` and ``kernel`` (``C`` input channels, ``K`` kernels):

=================  ==================================  ==============================
``x``              ``kernel`` (``op="sum"``)           output maps
=================  ==================================  ==============================
``(d,)``           ``(f,)``                            1 (drawn as a row)
``(H, W)``         ``(fh, fw)`` or ``(K, fh, fw)``     1 or ``K``
``(C, H, W)``      ``(C, fh, fw)`` or ``(K, C, fh, fw)``  1 or ``K`` (summed over channels)
=================  ==================================  ==============================

For ``op="max"`` or ``op="mean"`` there is no kernel: give ``window`` (an int or a pair) and
each input channel is pooled on its own, giving ``C`` output maps. Padding cells count as
zeros for ``"sum"`` and ``"mean"`` (``count_include_pad=True`` in ``nn.AvgPool2d``) and are
ignored by ``"max"`` (like ``nn.MaxPool2d``, which pads with minus infinity).
"""
from __future__ import annotations

import io
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from .. import ops

__all__ = ["SlidingWindow", "SlidingWindowFigure", "animate", "render_frame", "controls",
           "controls_spec", "default_title",
           "format_value", "OPS"]

OPS = ("sum", "max", "mean")
IntOrPair = Union[int, Tuple[int, int]]

# Colours shared by every picture.
_HIGHLIGHT = "#d62728"      # window, current output cell
_PAD_FACE = "#e6e6e6"
_PAD_TEXT = "#8c8c8c"
_EMPTY_FACE = "white"
_GRID_EDGE = "#5f5f5f"


def format_value(v: float) -> str:
    """Short text for a number in a cell: integers without decimals, others with at most two.

    ``3.0 -> "3"``, ``-0.0 -> "0"``, ``1/9 -> "0.11"``, ``3.25 -> "3.25"``, ``0.5 -> "0.5"``.
    """
    v = float(v)
    if not np.isfinite(v):
        return "-inf" if v < 0 else ("inf" if v > 0 else "nan")
    if abs(v - round(v)) < 1e-9:
        return str(int(round(v))) if round(v) != 0 else "0"
    text = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "0") else text


# =========================================================================== geometry

class SlidingWindow:
    """The positions and values of one sliding-window operation, without any drawing.

    Args:
        x: input, shape ``(d,)``, ``(H, W)`` or ``(C, H, W)`` (see the module docstring).
        kernel: the kernel(s) for ``op="sum"``; must be ``None`` for ``"max"``/``"mean"``.
        stride: int or ``(sh, sw)`` (a 1D input takes an int), each >= 1.
        padding: int or ``(ph, pw)`` (a 1D input takes an int), each >= 0.
        op: ``"sum"`` (weighted sum = convolution as in ``nn.Conv1d``/``nn.Conv2d``),
            ``"max"`` (max pooling) or ``"mean"`` (average pooling).
        window: window size for pooling (int or pair); ignored when a kernel is given
            (the kernel's shape is the window) unless it disagrees with it.
        bias: ``None``, a number, or one number per kernel (``op="sum"`` only).

    Attributes:
        kind: ``"1d"`` or ``"2d"``.
        op: the operation.
        x: input as ``float64`` of shape ``(C, H, W)`` (a 1D signal is ``(1, 1, d)``).
        kernels: ``(K, C, fh, fw)`` ``float64`` for ``op="sum"``, else ``None``.
        bias: ``(K,)`` ``float64`` (zeros when no bias was given), or ``None`` for pooling.
        window, stride, padding: ``(rows, cols)`` pairs.
        out_shape: ``(maps, H', W')``; ``maps`` is ``K`` for ``"sum"`` and ``C`` for pooling.
        n_frames: number of window positions, ``H' * W'`` (one frame each, in raster order).

    Raises:
        ValueError: unknown ``op``; a kernel given for pooling or missing for ``"sum"``; ranks
            or channel counts that do not fit together; a window larger than the padded input;
            stride < 1 or padding < 0; a bias of the wrong length.
        TypeError: non-integer stride, padding or window; non-numeric input.
    """

    def __init__(self, x, kernel=None, *, stride: IntOrPair = 1, padding: IntOrPair = 0,
                 op: str = "sum", window: Optional[IntOrPair] = None, bias=None):
        if op not in OPS:
            raise ValueError(f"op must be one of {OPS}, got {op!r}")
        self.op = op
        x_arr = ops._as_array("x (input)", x, (1, 2, 3))
        self.kind = "1d" if x_arr.ndim == 1 else "2d"
        if self.kind == "1d":
            for name, value in (("stride", stride), ("padding", padding)):
                if isinstance(value, (tuple, list)):
                    raise ValueError(f"a 1D input takes an integer {name}, got {value!r}")
            self.x = x_arr[None, None, :]
        else:
            self.x = x_arr[None] if x_arr.ndim == 2 else x_arr
        n_channels = self.x.shape[0]
        self.stride = ops.as_pair("stride", stride, 1)
        self.padding = ops.as_pair("padding", padding, 0)
        if self.kind == "1d":
            self.padding = (0, self.padding[1])
            self.stride = (1, self.stride[1])

        if op == "sum":
            if kernel is None:
                raise ValueError('op="sum" needs a kernel; for pooling use op="max" or op="mean" '
                                 "with window=<size>")
            self.kernels = self._kernels_4d(x_arr, kernel)
            n_maps = self.kernels.shape[0]
            fh, fw = self.kernels.shape[2:]
            if window is not None:
                wanted = ops.as_pair("window", window, 1) if self.kind == "2d" else (1, window)
                if tuple(wanted) != (fh, fw):
                    raise ValueError(f"window {window!r} disagrees with the kernel size "
                                     f"{(fh, fw) if self.kind == '2d' else fw}; leave window=None")
            if bias is None:
                self.bias = np.zeros(n_maps)
            else:
                self.bias = np.asarray(bias, dtype=np.float64).reshape(-1)
                if self.bias.shape[0] != n_maps:
                    raise ValueError(f"bias must hold one number per kernel ({n_maps}), "
                                     f"got shape {np.shape(bias)}")
        else:
            if kernel is not None:
                raise ValueError(f'op="{op}" (pooling) takes no kernel; pass window=<size> instead')
            if bias is not None:
                raise ValueError(f'op="{op}" (pooling) has no bias')
            if window is None:
                raise ValueError(f'op="{op}" needs window=<size> (an int or a pair)')
            if self.kind == "1d":
                if isinstance(window, (tuple, list)):
                    raise ValueError(f"a 1D input takes an integer window, got {window!r}")
                fh, fw = 1, ops.as_pair("window", window, 1)[1]
            else:
                fh, fw = ops.as_pair("window", window, 1)
            self.kernels, self.bias = None, None
            n_maps = n_channels

        self.window = (int(fh), int(fw))
        _, height, width = self.x.shape
        out_h = ops.output_size(height, fh, self.padding[0], self.stride[0])
        out_w = ops.output_size(width, fw, self.padding[1], self.stride[1])
        self.out_shape = (int(n_maps), out_h, out_w)
        self.n_frames = out_h * out_w
        fill = -np.inf if op == "max" else 0.0
        self._xp = ops.pad(self.x, self.padding, value=fill)

    def _kernels_4d(self, x_arr: np.ndarray, kernel) -> np.ndarray:
        """Bring ``kernel`` to ``(K, C, fh, fw)``, checking it fits ``x``."""
        if self.kind == "1d":
            w = ops._as_array("kernel", kernel, (1,))
            return w[None, None, None, :]
        n_channels = self.x.shape[0]
        w = ops._as_array("kernel", kernel, (2, 3, 4))
        if x_arr.ndim == 2:
            if w.ndim == 2:
                return w[None, None]
            if w.ndim == 3:
                return w[:, None]
            raise ValueError(f"a single-channel input (H, W) takes a kernel (fh, fw) or several "
                             f"kernels (K, fh, fw), got shape {w.shape}")
        if w.ndim == 2:
            raise ValueError(f"input has {n_channels} channels (shape {x_arr.shape}); give the "
                             f"kernel one slice per channel, shape ({n_channels}, fh, fw)")
        if w.ndim == 3:
            w = w[None]
        if w.shape[1] != n_channels:
            raise ValueError(f"channel mismatch: input has {n_channels} channels but the kernel "
                             f"has {w.shape[1]} (kernel shape {w.shape})")
        return w

    # ----------------------------------------------------------------- per-frame numbers

    @property
    def padded(self) -> np.ndarray:
        """The input with its padding, ``(C, H + 2ph, W + 2pw)``; padding cells are 0
        (minus infinity for ``op="max"``)."""
        return self._xp

    def is_padding(self) -> np.ndarray:
        """Boolean mask ``(H + 2ph, W + 2pw)``: ``True`` on padding cells."""
        ph, pw = self.padding
        mask = np.ones(self._xp.shape[1:], dtype=bool)
        mask[ph:ph + self.x.shape[1], pw:pw + self.x.shape[2]] = False
        return mask

    def position(self, t: int) -> Tuple[int, int]:
        """Output coordinates ``(i, j)`` computed at frame ``t`` (raster order)."""
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)):
            raise TypeError(f"frame must be an integer, got {t!r}")
        if not 0 <= t < self.n_frames:
            raise ValueError(f"frame {t} out of range: there are {self.n_frames} frames "
                             f"(0 to {self.n_frames - 1})")
        return divmod(int(t), self.out_shape[2])

    def origin(self, t: int) -> Tuple[int, int]:
        """Top-left corner ``(row, col)`` of the window at frame ``t``, in padded coordinates."""
        i, j = self.position(t)
        return i * self.stride[0], j * self.stride[1]

    def patch(self, t: int) -> np.ndarray:
        """Input values under the window at frame ``t``, ``(C, fh, fw)`` (padding included)."""
        r, c = self.origin(t)
        fh, fw = self.window
        return self._xp[:, r:r + fh, c:c + fw]

    def channel_terms(self, t: int) -> np.ndarray:
        """For ``op="sum"``: the per-channel sums ``(K, C)`` at frame ``t`` (before the bias)."""
        if self.op != "sum":
            raise ValueError("channel_terms is defined for op='sum' only")
        return np.einsum("cuv,kcuv->kc", self.patch(t), self.kernels)

    def values(self, t: int) -> np.ndarray:
        """The output value of every map at frame ``t``, shape ``(maps,)``."""
        patch = self.patch(t)
        if self.op == "sum":
            return self.channel_terms(t).sum(axis=1) + self.bias
        if self.op == "max":
            return patch.max(axis=(1, 2))
        return patch.mean(axis=(1, 2))

    def result(self) -> np.ndarray:
        """All outputs, ``(maps, H', W')``, computed one window at a time."""
        out = np.empty(self.out_shape)
        for t in range(self.n_frames):
            i, j = self.position(t)
            out[:, i, j] = self.values(t)
        return out

    def describe(self, t: int, kernel_names: Optional[Sequence[str]] = None) -> str:
        """One line saying what is computed at frame ``t`` (shown under the picture)."""
        i, j = self.position(t)
        vals = self.values(t)
        if self.kind == "1d":
            name = f"$z_{{{j + 1}}}$"
        else:
            name = f"$z_{{{i + 1},{j + 1}}}$"
        if self.op != "sum":
            word = "max" if self.op == "max" else "mean"
            if len(vals) == 1:
                return f"{name} = {word}(window) = {format_value(vals[0])}"
            return f"{name}: {word}(window) per channel = " + ", ".join(
                format_value(v) for v in vals)
        maps, channels = self.kernels.shape[:2]
        if self.kind == "1d":
            xs = self.patch(t)[0, 0]
            ws = self.kernels[0, 0, 0]
            terms = " + ".join(f"{_paren(a)}×{_paren(b)}" for a, b in zip(xs, ws))
            bias = f" + {_paren(self.bias[0])}" if self.bias[0] != 0 else ""
            return f"{name} = {terms}{bias} = {format_value(vals[0])}"
        if maps > 1:
            names = list(kernel_names) if kernel_names else [f"w{k + 1}" for k in range(maps)]
            return f"{name}: " + ",  ".join(f"{n}: {format_value(v)}" for n, v in zip(names, vals))
        bias = f" + b ({format_value(self.bias[0])})" if self.bias[0] != 0 else ""
        if channels == 1:
            count = self.window[0] * self.window[1]
            return (f"{name} = sum of the {count} products window × kernel{bias} = "
                    f"{format_value(vals[0])}")
        parts = " + ".join(_paren(v) for v in self.channel_terms(t)[0])
        return f"{name} = {parts} (one sum per channel){bias} = {format_value(vals[0])}"


def _text_width_pt(text: str, size: float, bold: bool = False) -> float:
    """Printed width of ``text`` (mathtext allowed) at font ``size``, in points."""
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties

    prop = FontProperties(size=size, weight="bold" if bold else "normal")
    renderer = RendererAgg(8, 8, 72)     # at 72 dpi one pixel is one point
    width, _, _ = renderer.get_text_width_height_descent(text, prop, ismath="$" in text)
    return float(width)


def _paren(v: float) -> str:
    text = format_value(v)
    return f"({text})" if text.startswith("-") else text


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


# =========================================================================== drawing

class _Grid:
    """A block of unit cells drawn at ``(x0, y0)`` (y grows downwards), with optional text."""

    def __init__(self, ax, x0: float, y0: float, nrows: int, ncols: int, fontsize: float,
                 show_text: bool, edgecolor: str = _GRID_EDGE, zorder: int = 1):
        from matplotlib.collections import PatchCollection
        from matplotlib.patches import Rectangle

        self.ax, self.x0, self.y0 = ax, x0, y0
        self.nrows, self.ncols = nrows, ncols
        rects = [Rectangle((x0 + j, y0 + i), 1, 1) for i in range(nrows) for j in range(ncols)]
        self.cells = PatchCollection(rects, facecolors=_EMPTY_FACE, edgecolors=edgecolor,
                                     linewidths=0.6, zorder=zorder)
        ax.add_collection(self.cells)
        self.texts = None
        if show_text:
            self.texts = [ax.text(x0 + j + 0.5, y0 + i + 0.52, "", ha="center", va="center",
                                  fontsize=fontsize, zorder=zorder + 2)
                          for i in range(nrows) for j in range(ncols)]

    def set(self, colors: np.ndarray, labels: Optional[np.ndarray] = None,
            text_colors: Optional[np.ndarray] = None) -> None:
        """Set every cell's colour ``(nrows, ncols, 4)`` and text ``(nrows, ncols)``."""
        self.cells.set_facecolors(colors.reshape(-1, 4))
        if self.texts is not None and labels is not None:
            flat = labels.reshape(-1)
            tcol = None if text_colors is None else text_colors.reshape(-1)
            for k, (txt, s) in enumerate(zip(self.texts, flat)):
                txt.set_text(s)
                if tcol is not None:
                    txt.set_color(tcol[k])

    def move(self, x0: float, y0: float) -> None:
        """Shift the whole grid (cells and texts) so its top-left corner is ``(x0, y0)``."""
        dx, dy = x0 - self.x0, y0 - self.y0
        for path_patch in self.cells.get_paths():
            path_patch.vertices[:, 0] += dx
            path_patch.vertices[:, 1] += dy
        self.cells.stale = True
        if self.texts is not None:
            for txt in self.texts:
                px, py = txt.get_position()
                txt.set_position((px + dx, py + dy))
        self.x0, self.y0 = x0, y0

    @property
    def artists(self) -> list:
        return [self.cells] + (self.texts or [])


def _colors(values: np.ndarray, light: bool, vmin: float, vmax: float) -> np.ndarray:
    """RGBA colours for ``values``: a blue ramp for non-negative ranges, red-blue otherwise.
    ``light`` keeps colours pale so black numbers stay readable."""
    import matplotlib

    if vmin >= 0:
        cmap = matplotlib.colormaps["Blues"] if light else matplotlib.colormaps["gray"]
        lo, hi = (0.03, 0.45) if light else (0.0, 1.0)
        span = vmax - vmin if vmax > vmin else 1.0
        u = (values - vmin) / span
    else:
        cmap = matplotlib.colormaps["RdBu_r"]
        lo, hi = (0.22, 0.78) if light else (0.0, 1.0)
        m = max(abs(vmin), abs(vmax)) or 1.0
        u = (values / m + 1) / 2
    u = np.nan_to_num(np.clip(u, 0.0, 1.0))
    return cmap(lo + (hi - lo) * u)


def _range(values: np.ndarray) -> Tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 1.0
    return float(finite.min()), float(finite.max())


class SlidingWindowFigure:
    """Draws a :class:`SlidingWindow` on a matplotlib figure; :meth:`update` shows frame ``t``.

    Layout (one unit = one cell): the input channels in a row at the top left; for ``"sum"``
    the kernels and output maps beside them (one column per kernel for a single-channel
    input, one row of kernel slices under the channels for a multi-channel input); for pooling
    each output map under its channel. A 1D signal is drawn as three rows: padded input, the
    kernel (moving under its window) and the output. The window and the current output cell
    are outlined in red; outputs appear as they are computed; a line of text under the
    picture says what was computed.

    Args:
        sw: the operation to draw.
        title: text above the picture (default: a summary of sizes, padding and stride).
        channel_names: a label per input channel (default ``x[0]``, ``x[1]``, ...).
        kernel_names: a label per kernel (default ``w1``, ``w2``, ...).
        show_values: write the numbers in the cells (default: when every grid is small).
        dpi: resolution of the figure.
        max_width_in: largest figure width in inches; cells shrink to fit.

    Attributes:
        figure: the ``matplotlib.figure.Figure`` (not managed by pyplot).
        frame: the frame shown last (``None`` before the first :meth:`update`).
    """

    def __init__(self, sw: SlidingWindow, *, title: Optional[str] = None,
                 channel_names: Optional[Sequence[str]] = None,
                 kernel_names: Optional[Sequence[str]] = None,
                 show_values: Optional[bool] = None, dpi: int = 80,
                 max_width_in: float = 7.0, max_height_in: float = 4.2):
        self.sw = sw
        n_maps, out_h, out_w = sw.out_shape
        n_channels = sw.x.shape[0]
        n_kernels = 0 if sw.kernels is None else sw.kernels.shape[0]
        self.channel_names = self._names(channel_names, n_channels,
                                         "x[{}]" if n_channels > 1 else "x", "channel_names")
        self.kernel_names = self._names(kernel_names, max(n_kernels, 1),
                                        "w{}" if n_kernels > 1 else "w", "kernel_names", start=1)
        if show_values is None:
            biggest = max(sw.padded.shape[1] * sw.padded.shape[2], out_h * out_w)
            show_values = biggest <= 144
        self.show_values = bool(show_values)
        self.frame: Optional[int] = None

        blocks = self._layout()
        right = max(b[0] + b[3] for b in blocks.values())
        bottom = max(b[1] + b[2] for b in blocks.values())
        left, top = (-1.4 if sw.kind == "1d" else -0.3), -1.9
        text_h = 1.5
        width_u, height_u = right - left + 0.3, bottom - top + text_h
        cell_in = min(0.4, max_width_in / width_u, max_height_in / height_u)
        cell_pt = cell_in * 72
        self._label_fs = float(np.clip(0.42 * cell_pt, 6.5, 10))
        if self.show_values and cell_pt < 11:
            self.show_values = False

        # The title and the longest caption must fit: widen the figure, else shrink the font.
        if title is None:
            title = self._default_title()
        kn = self.kernel_names if n_kernels > 1 else None
        captions = [sw.describe(t, kn) for t in range(sw.n_frames)]
        # Measuring text is slow (mathtext): measure the few longest captions only.
        captions.sort(key=lambda c: len(c.replace("$", "").replace("_", "")), reverse=True)
        widest_pt = max([_text_width_pt(title, self._label_fs + 0.5, bold=True)]
                        + [_text_width_pt(c, self._label_fs) for c in captions[:3]])
        text_in = widest_pt / 72 + 0.2
        if text_in > width_u * cell_in:
            if text_in > max_width_in:
                self._label_fs *= max_width_in / text_in
                text_in = max_width_in
            width_u = text_in / cell_in
        self.figure = _CompactFigure(figsize=(width_u * cell_in, height_u * cell_in), dpi=dpi)
        ax = self.figure.add_axes((0, 0, 1, 1))
        ax.set_xlim(left, left + width_u)
        ax.set_ylim(bottom + text_h, top)
        ax.axis("off")
        self.ax = ax

        # ---- static content: title, input grids, kernels
        ax.text(left + 0.1, top + 0.15, title, ha="left", va="top",
                fontsize=self._label_fs + 0.5, weight="bold")
        self._inputs: List[_Grid] = []
        for c in range(n_channels):
            x0, y0, _, _ = blocks[("x", c)]
            grid = self._value_grid(x0, y0, sw.padded[c], cell_pt)
            self._paint_input(grid, c)
            self._inputs.append(grid)
            if sw.kind == "2d":
                self._label(x0, y0, self.channel_names[c] + self._pad_note())
        if sw.kind == "1d":
            self._row_label(blocks[("x", 0)], "x")
        self._kernels: Dict[Tuple[int, int], _Grid] = {}
        if sw.kernels is not None:
            kmin, kmax = _range(sw.kernels)
            for key, (x0, y0, _, _) in blocks.items():
                if key[0] != "w":
                    continue
                _, k, c = key
                w = sw.kernels[k, c]
                grid = self._value_grid(x0, y0, w, cell_pt, edgecolor=_HIGHLIGHT, zorder=4)
                grid.set(_colors(w, self.show_values, kmin, kmax), self._labels(w))
                self._kernels[(k, c)] = grid
                if sw.kind == "2d":
                    label = self.kernel_names[k]
                    if n_channels > 1 and sw.kind == "2d":
                        label += f"[{c}]"
                    self._label(x0, y0, label)
            if sw.kind == "1d":
                self._row_label(blocks[("w", 0, 0)], "w")

        # ---- outputs (filled frame by frame)
        self._result = sw.result()
        omin, omax = _range(self._result)
        self._out_colors = [_colors(self._result[m], self.show_values, omin, omax)
                            for m in range(n_maps)]
        self._outputs: List[_Grid] = []
        for m in range(n_maps):
            x0, y0, _, _ = blocks[("z", m)]
            grid = self._value_grid(x0, y0, self._result[m], cell_pt)
            self._outputs.append(grid)
            if sw.kind == "2d":
                self._label(x0, y0, self._output_label(m))
        if sw.kind == "1d":
            self._row_label(blocks[("z", 0)], "z")

        # ---- dynamic outlines, weight hints and the caption line
        from matplotlib.patches import FancyArrowPatch, Rectangle

        fh, fw = sw.window
        self._window_boxes = [ax.add_patch(Rectangle((0, 0), fw, fh, fill=False, lw=2.2,
                                                     edgecolor=_HIGHLIGHT, zorder=6))
                              for _ in range(n_channels)]
        self._out_boxes = [ax.add_patch(Rectangle((0, 0), 1, 1, fill=False, lw=2.2,
                                                  edgecolor=_HIGHLIGHT, zorder=6))
                           for _ in range(n_maps)]
        self._arrow = None
        if sw.kind == "1d":
            self._arrow = FancyArrowPatch((0, 0), (0, 1), arrowstyle="-|>", mutation_scale=9,
                                          color=_HIGHLIGHT, lw=1.2, zorder=5)
            ax.add_patch(self._arrow)
        self._caption = ax.text(left + 0.1, bottom + 0.45, "", ha="left", va="top",
                                fontsize=self._label_fs)
        self._blocks = blocks

    # ----------------------------------------------------------------- helpers

    @staticmethod
    def _names(names, n, pattern, what, start=0):
        if names is None:
            return [pattern.format(i + start) for i in range(n)]
        names = [str(s) for s in names]
        if len(names) != n:
            raise ValueError(f"{what} needs {n} entries, got {len(names)}")
        return names

    def _pad_note(self) -> str:
        return " (padded)" if any(self.sw.padding) else ""

    def _default_title(self) -> str:
        return default_title(self.sw)

    def _output_label(self, m: int) -> str:
        if self.sw.op == "sum":
            if self.sw.kernels.shape[0] > 1:
                return f"z ({self.kernel_names[m]})"
            return "z"
        return f"z[{m}]" if self.sw.x.shape[0] > 1 else "z"

    def _label(self, x0: float, y0: float, text: str) -> None:
        self.ax.text(x0, y0 - 0.18, text, ha="left", va="bottom", fontsize=self._label_fs)

    def _row_label(self, block, text: str) -> None:
        x0, y0, h, _ = block
        self.ax.text(-0.35, y0 + h / 2, text, ha="right", va="center",
                     fontsize=self._label_fs + 1, style="italic")

    def _value_grid(self, x0, y0, values, cell_pt, edgecolor=_GRID_EDGE, zorder=1) -> _Grid:
        longest = max(len(format_value(v)) for v in np.ravel(values)) if np.size(values) else 1
        longest = max(longest, 4 if self.sw.kind == "2d" else 2)
        fs = min(0.42 * cell_pt, 1.45 * cell_pt / longest)
        self._value_fs = max(getattr(self, "_value_fs", 0.0), fs)
        return _Grid(self.ax, x0, y0, values.shape[0], values.shape[1], fs, self.show_values,
                     edgecolor=edgecolor, zorder=zorder)

    @staticmethod
    def _labels(values: np.ndarray) -> np.ndarray:
        return np.vectorize(format_value, otypes=[object])(values)

    def _paint_input(self, grid: _Grid, c: int) -> None:
        sw = self.sw
        values = sw.padded[c]
        mask = sw.is_padding()
        vmin, vmax = _range(sw.x)
        colors = _colors(np.where(mask, vmin, values), self.show_values, vmin, vmax)
        colors[mask] = matplotlib_rgba(_PAD_FACE)
        labels = self._labels(np.where(np.isfinite(values), values, 0.0))
        if sw.op == "max":
            labels[mask] = ""
        tcol = np.where(mask, _PAD_TEXT, "black").astype(object)
        grid.set(colors, labels, tcol)

    def _layout(self) -> Dict[tuple, Tuple[float, float, int, int]]:
        """Top-left corner and size ``(x0, y0, rows, cols)`` of every grid, in cell units."""
        sw = self.sw
        n_channels, hp, wp = sw.padded.shape
        fh, fw = sw.window
        n_maps, oh, ow = sw.out_shape
        gap, lab = 1.2, 0.9
        blocks: Dict[tuple, Tuple[float, float, int, int]] = {}
        if sw.kind == "1d":
            blocks[("x", 0)] = (0.0, 0.0, 1, wp)
            if sw.kernels is not None:
                blocks[("w", 0, 0)] = (0.0, 1.35, 1, fw)
            y_out = 1.35 + 1 + 1.0
            blocks[("z", 0)] = ((wp - ow) / 2, y_out, 1, ow)
            return blocks
        for c in range(n_channels):
            blocks[("x", c)] = (c * (wp + gap), 0.0, hp, wp)
        inputs_right = n_channels * (wp + gap) - gap
        if sw.op != "sum":
            for c in range(n_channels):
                blocks[("z", c)] = (c * (wp + gap) + (wp - ow) / 2, hp + 1.6, oh, ow)
            return blocks
        n_kernels = sw.kernels.shape[0]
        if n_channels == 1:
            col_w = max(fw, ow)
            for k in range(n_kernels):
                x0 = inputs_right + gap + 0.4 + k * (col_w + gap)
                blocks[("w", k, 0)] = (x0 + (col_w - fw) / 2, 0.0, fh, fw)
                blocks[("z", k)] = (x0 + (col_w - ow) / 2, fh + gap + lab * 0.6, oh, ow)
            return blocks
        row_h = max(fh, oh) + gap + lab * 0.6
        x_out = inputs_right + gap + 0.6
        for k in range(n_kernels):
            y0 = hp + gap + lab * 0.6 + k * row_h
            for c in range(n_channels):
                blocks[("w", k, c)] = (c * (wp + gap) + (wp - fw) / 2, y0, fh, fw)
            blocks[("z", k)] = (x_out, y0, oh, ow)
        if n_kernels == 1:
            total = hp + gap + lab * 0.6 + fh
            blocks[("z", 0)] = (x_out, max(0.0, (total - oh) / 2), oh, ow)
        return blocks

    # ----------------------------------------------------------------- frames

    def update(self, t: int) -> list:
        """Show frame ``t``: window position, outputs computed so far, the caption line.

        Returns the artists that changed (as ``FuncAnimation`` expects).

        Raises:
            ValueError: if ``t`` is not a valid frame number.
        """
        sw = self.sw
        i, j = sw.position(t)
        r0, c0 = sw.origin(t)
        fh, fw = sw.window
        changed = []
        for c, box in enumerate(self._window_boxes):
            x0, y0, _, _ = self._blocks[("x", c)]
            box.set_xy((x0 + c0, y0 + r0))
            changed.append(box)
        if sw.kind == "1d" and sw.kernels is not None:
            grid = self._kernels[(0, 0)]
            _, ky, _, _ = self._blocks[("w", 0, 0)]
            grid.move(c0, ky)
            changed += grid.artists
        done = t + 1
        n_maps, oh, ow = sw.out_shape
        filled = (np.arange(oh * ow) < done).reshape(oh, ow)
        for m, grid in enumerate(self._outputs):
            colors = self._out_colors[m].copy()
            colors[~filled] = matplotlib_rgba(_EMPTY_FACE)
            labels = np.where(filled, self._labels(self._result[m]), "").astype(object)
            grid.set(colors, labels)
            x0, y0, _, _ = self._blocks[("z", m)]
            self._out_boxes[m].set_xy((x0 + j, y0 + i))
            changed += grid.artists + [self._out_boxes[m]]
        if self._arrow is not None:
            _, ky, _, _ = self._blocks[("w", 0, 0)] if sw.kernels is not None else \
                self._blocks[("x", 0)]
            zx, zy, _, _ = self._blocks[("z", 0)]
            self._arrow.set_positions((c0 + fw / 2, ky + 1.02), (zx + j + 0.5, zy - 0.02))
            changed.append(self._arrow)
        self._caption.set_text(sw.describe(t, self.kernel_names if sw.kernels is not None
                                           and sw.kernels.shape[0] > 1 else None))
        changed.append(self._caption)
        self.frame = t
        return changed

    def shown_outputs(self) -> np.ndarray:
        """Texts currently written in the output cells, ``(maps, H', W')`` of ``str``
        (``""`` for cells not computed yet). Requires ``show_values``."""
        if not self.show_values:
            raise ValueError("numbers are not drawn (show_values=False)")
        n_maps, oh, ow = self.sw.out_shape
        return np.array([[t.get_text() for t in grid.texts] for grid in self._outputs],
                        dtype=object).reshape(n_maps, oh, ow)

    def to_png(self) -> bytes:
        """The current picture as PNG bytes."""
        buf = io.BytesIO()
        self.figure.savefig(buf, format="png", dpi=self.figure.dpi)
        return buf.getvalue()


def _compact_figure_class():
    from matplotlib.figure import Figure

    class CompactFigure(Figure):
        """A Figure whose PNG output uses a small adaptive palette (no dithering).

        The pictures here are flat colours, lines and text, so 64 colours look the same as
        full RGBA while the files are about four times smaller; animations embed one PNG
        per frame, so this keeps pages light.
        """

        palette_size = 64

        def savefig(self, fname, **kwargs):
            import matplotlib
            from PIL import Image

            fmt = kwargs.get("format")
            if fmt is None:
                suffix = str(getattr(fname, "name", fname)).rsplit(".", 1)
                fmt = suffix[1] if isinstance(fname, (str, bytes)) and len(suffix) == 2 \
                    else matplotlib.rcParams["savefig.format"]
            if str(fmt).lower() != "png" or not self.palette_size:
                return super().savefig(fname, **kwargs)
            buf = io.BytesIO()
            super().savefig(buf, **kwargs)
            buf.seek(0)
            image = Image.open(buf).convert("RGB").quantize(
                self.palette_size, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
            image.save(fname, format="PNG", optimize=True)

    return CompactFigure


def _CompactFigure(*args, **kwargs):
    """Create a :class:`CompactFigure` (the class is built lazily to keep imports light)."""
    global _COMPACT
    if _COMPACT is None:
        _COMPACT = _compact_figure_class()
    return _COMPACT(*args, **kwargs)


_COMPACT = None


def matplotlib_rgba(color: str) -> np.ndarray:
    """An RGBA array for a matplotlib colour name."""
    from matplotlib.colors import to_rgba

    return np.array(to_rgba(color))


# =========================================================================== public API

def animate(x, kernel=None, *, stride: IntOrPair = 1, padding: IntOrPair = 0,
            op: str = "sum", window: Optional[IntOrPair] = None, bias=None,
            frames: Optional[Sequence[int]] = None, interval: int = 900,
            title: Optional[str] = None, channel_names: Optional[Sequence[str]] = None,
            kernel_names: Optional[Sequence[str]] = None, show_values: Optional[bool] = None,
            dpi: int = 80, max_width_in: float = 7.0, max_height_in: float = 4.2,
            max_frames: int = 36):
    """A ``FuncAnimation`` of a window sliding over ``x``: one frame per output position.

    Show it with ``IPython.display.HTML(ani.to_jshtml())``: the frames are embedded as PNG
    images with play/step controls and need no running kernel. The figure is not managed by
    pyplot, so no static copy of it is printed under the cell.

    Args:
        x, kernel, stride, padding, op, window, bias: the operation; see :class:`SlidingWindow`
            and the table in the module docstring.
        frames: which window positions to show (default: all, in raster order).
        interval: milliseconds between frames when playing.
        title, channel_names, kernel_names, show_values, dpi, max_width_in, max_height_in:
            passed to :class:`SlidingWindowFigure`.
        max_frames: refuse to build more frames than this (each frame is an embedded image
            that makes the page heavier); pass ``frames=range(n)`` to show only the first ones.

    Returns:
        ``matplotlib.animation.FuncAnimation``; its ``scene`` attribute is the
        :class:`SlidingWindowFigure` it draws on and ``frame_numbers`` the frames it shows.

    Raises:
        ValueError: invalid operation (see :class:`SlidingWindow`), an empty or out-of-range
            ``frames``, or more frames than ``max_frames``.
    """
    from matplotlib.animation import FuncAnimation

    sw = SlidingWindow(x, kernel, stride=stride, padding=padding, op=op, window=window,
                       bias=bias)
    frame_numbers = list(range(sw.n_frames)) if frames is None else [int(f) for f in frames]
    if not frame_numbers:
        raise ValueError("frames is empty: give at least one frame number")
    for f in frame_numbers:
        if not 0 <= f < sw.n_frames:
            raise ValueError(f"frame {f} out of range: this operation has {sw.n_frames} "
                             f"window positions (0 to {sw.n_frames - 1})")
    if len(frame_numbers) > max_frames:
        raise ValueError(f"{len(frame_numbers)} frames is more than max_frames={max_frames}; "
                         f"use a smaller input, a larger stride, frames=range({max_frames}), "
                         f"or raise max_frames")
    scene = SlidingWindowFigure(sw, title=title, channel_names=channel_names,
                                kernel_names=kernel_names, show_values=show_values, dpi=dpi,
                                max_width_in=max_width_in, max_height_in=max_height_in)
    scene.update(frame_numbers[0])
    ani = FuncAnimation(scene.figure, scene.update, frames=frame_numbers, interval=interval,
                        blit=False, repeat=True)
    ani.scene = scene
    ani.frame_numbers = frame_numbers
    return ani


def render_frame(x, kernel=None, t: int = 0, **options) -> bytes:
    """PNG bytes of frame ``t`` of the picture :func:`animate` would make (same options)."""
    figure_options = {k: options.pop(k) for k in ("title", "channel_names", "kernel_names",
                                                  "show_values", "dpi", "max_width_in",
                                                  "max_height_in") if k in options}
    sw = SlidingWindow(x, kernel, **options)
    scene = SlidingWindowFigure(sw, **figure_options)
    scene.update(t)
    return scene.to_png()


def _choices(name: str, values, minimum: int) -> List[int]:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a sequence of integers such as (0, 1, 2), "
                        f"got {values!r}")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
            raise ValueError(f"{name} choices must be integers >= {minimum}, got {v!r}")
        out.append(int(v))
    if not out:
        raise ValueError(f"{name} needs at least one choice")
    return sorted(set(out))


def _initial(name: str, value: Optional[int], choices: List[int]) -> int:
    """The slider's first value: ``value`` if given (inside the choices' range), else the
    smallest choice."""
    if value is None:
        return choices[0]
    v = ops.check_int(name, value, 0)
    if not choices[0] <= v <= choices[-1]:
        raise ValueError(f"{name}={v} is outside the choices {choices[0]}..{choices[-1]}; "
                         f"pick a value in that range or widen the choices")
    return v


def _control_options(x, kernels, op, paddings, strides, windows, several, padding, stride,
                     channel_names):
    """Check the arguments of :func:`controls` and bring them to one form (shared with
    :func:`controls_spec`)."""
    if op not in OPS:
        raise ValueError(f"op must be one of {OPS}, got {op!r}")
    if not isinstance(several, bool):
        raise TypeError(f"several must be True or False, got {several!r}")
    paddings = _choices("paddings", paddings, 0)
    strides = _choices("strides", strides, 1)
    if op == "sum":
        if kernels is None:
            raise ValueError('op="sum" needs kernels: a mapping name -> kernel array')
        if not isinstance(kernels, Mapping):
            kernels = {"kernel": kernels}
        if not kernels:
            raise ValueError("kernels is empty: give at least one name -> kernel array")
        kernels = {str(k): ops._as_array(f"kernels[{k!r}]", v, (1, 2, 3, 4))
                   for k, v in kernels.items()}
        for name, w in kernels.items():   # each kernel must make sense with x on its own
            SlidingWindow(x, w, padding=max(paddings))
        window_choices = None
    else:
        if kernels is not None:
            raise ValueError(f'op="{op}" (pooling) takes no kernels; use windows=(...)')
        if several:
            raise ValueError(f'several=True chooses kernels; op="{op}" (pooling) has none')
        window_choices = _choices("windows", windows, 1)
    n_channels = SlidingWindow(x, op="max", window=1).x.shape[0]
    if channel_names is not None:
        channel_names = [str(n) for n in channel_names]
        if len(channel_names) != n_channels:
            raise ValueError(f"channel_names needs {n_channels} entries (one per input channel),"
                             f" got {len(channel_names)}")
    init_p = _initial("padding", padding, paddings)
    init_s = _initial("stride", stride, strides)
    return kernels, paddings, strides, window_choices, init_p, init_s, channel_names


def _several_default(kernels: Mapping[str, np.ndarray]) -> Tuple[str, ...]:
    """The kernels selected at first with ``several=True``: up to three of the first one's shape."""
    names = list(kernels)
    return tuple([n for n in names if kernels[n].shape == kernels[names[0]].shape][:3])


def _labels_list(values: np.ndarray, blank: Optional[np.ndarray] = None) -> list:
    """Nested lists of :func:`format_value` texts (``""`` where ``blank`` is True)."""
    flat = [format_value(v) if np.isfinite(v) else format_value(0.0) for v in values.ravel()]
    if blank is not None:
        flat = ["" if b else t for t, b in zip(flat, np.broadcast_to(blank, values.shape).ravel())]
    return np.array(flat, dtype=object).reshape(values.shape).tolist()


def _caption_text(text: str) -> str:
    """``describe`` writes the output name as mathtext (``$z_{1,2}$``); the page's script reads
    ``z_{1,2}`` and writes the index as a subscript."""
    return text.replace("$", "")


def controls_spec(x, kernels=None, *, op: str = "sum", paddings: Sequence[int] = (0, 1, 2),
                  strides: Sequence[int] = (1, 2, 3), windows: Sequence[int] = (2, 3),
                  several: bool = False, padding: Optional[int] = None,
                  stride: Optional[int] = None, bias=None,
                  channel_names: Optional[Sequence[str]] = None,
                  title: Optional[str] = None) -> Dict[str, object]:
    """Every result the panel of :func:`controls` can show, as JSON-ready data.

    This is what the static HTML book draws in place of the widget
    (``kind="sliding-window"``, see :mod:`book_utils.static_controls`). For each kernel (or
    pooling window) and each padding and stride in the sliders' ranges it holds the output
    map(s) and, per window position, the caption line, all as the texts the picture shows
    (:func:`format_value`).

    Args:
        same as :func:`controls` (without the drawing options).

    Returns:
        A dict with

        * ``kind``, ``dim`` (``"1d"``/``"2d"``), ``op``, ``x`` (the input as given, nested
          lists of floats), ``channel_names``, ``title`` (``None``: each state has its own);
        * ``select``: the kernel or window chooser: ``name``, ``multiple`` (``several``),
          ``options``, ``value`` (initial choice, a list);
        * ``padding``, ``stride``: ``{"min", "max", "value"}`` of the sliders;
        * ``kernels``: ``name -> {"w": weights as given, "shape": [fh, fw],
          "labels": (C, fh, fw) texts}`` (``op="sum"`` only);
        * ``inputs``: ``str(p) -> (C, H + 2p, W + 2p)`` texts of the padded input (1D:
          ``(1, 1, d + 2p)``; padding cells are ``""`` for max pooling, which ignores them);
        * ``states``: ``"<choice>|<p>|<s>" -> {"z": (maps, H', W') texts, "window",
          "stride", "padding": [rows, cols], "title", "captions": one per position}``, or
          ``{"error": text}`` for a setting with no valid window. With ``several=True`` there
          is one state per single kernel; the page stacks the selected ones.

    Raises:
        ValueError, TypeError: as :func:`controls`.
    """
    kernels, paddings, strides, window_choices, init_p, init_s, channel_names = \
        _control_options(x, kernels, op, paddings, strides, windows, several, padding, stride,
                         channel_names)
    x_arr = np.asarray(x, dtype=np.float64)
    spec: Dict[str, object] = {
        "kind": "sliding-window", "op": op, "x": x_arr.tolist(),
        "dim": "1d" if x_arr.ndim == 1 else "2d", "several": several,
        "channel_names": channel_names, "title": title,
        "bias": None if bias is None else np.asarray(bias, dtype=np.float64).tolist(),
        "padding": {"min": paddings[0], "max": paddings[-1], "value": init_p},
        "stride": {"min": strides[0], "max": strides[-1], "value": init_s},
    }
    if op == "sum":
        names = list(kernels)
        value = list(_several_default(kernels)) if several else [names[0]]
        spec["select"] = {"name": "kernels" if several else "kernel", "multiple": several,
                          "options": names, "value": value}
        spec["kernels"] = {}
        for name, w in kernels.items():
            w4 = SlidingWindow(x, w, padding=max(paddings)).kernels[0]
            spec["kernels"][name] = {"w": w.tolist(), "shape": list(w4.shape[1:]),
                                     "labels": _labels_list(w4)}
        choices = names
    else:
        spec["select"] = {"name": "window", "multiple": False,
                          "options": [str(f) for f in window_choices],
                          "value": [str(window_choices[0])]}
        choices = [str(f) for f in window_choices]
    inputs: Dict[str, list] = {}
    states: Dict[str, dict] = {}
    for p in range(paddings[0], paddings[-1] + 1):
        for s in range(strides[0], strides[-1] + 1):
            for choice in choices:
                key = f"{choice}|{p}|{s}"
                try:
                    if op == "sum":
                        if several and kernels[choice].ndim == 1:
                            raise ValueError("several kernels need a 2D input")
                        sw = SlidingWindow(x, kernels[choice], stride=s, padding=p, bias=bias)
                    else:
                        sw = SlidingWindow(x, op=op, window=int(choice), stride=s, padding=p)
                except (ValueError, TypeError) as exc:
                    states[key] = {"error": f"No valid window: {exc}"}
                    continue
                if str(p) not in inputs:
                    blank = sw.is_padding() if op == "max" else None
                    inputs[str(p)] = _labels_list(sw.padded, blank)
                names = [choice] if (several and op == "sum") else None
                states[key] = {
                    "z": _labels_list(sw.result()),
                    "window": list(sw.window), "stride": list(sw.stride),
                    "padding": list(sw.padding),
                    "title": default_title(sw) if title is None else title,
                    "captions": [_caption_text(sw.describe(t, names))
                                 for t in range(sw.n_frames)],
                }
    spec["inputs"] = inputs
    spec["states"] = states
    return spec


def controls(x, kernels=None, *, op: str = "sum", paddings: Sequence[int] = (0, 1, 2),
             strides: Sequence[int] = (1, 2, 3), windows: Sequence[int] = (2, 3),
             several: bool = False, padding: Optional[int] = None, stride: Optional[int] = None,
             bias=None, channel_names: Optional[Sequence[str]] = None,
             title: Optional[str] = None, dpi: int = 80, max_width_in: float = 7.0,
             max_height_in: float = 4.2):
    """An ipywidgets panel to explore one sliding-window operation by hand.

    Sliders choose the window position, the padding and the stride; a dropdown chooses the
    kernel (or, with ``several=True``, a multi-select chooses which kernels to apply at once);
    for pooling a dropdown chooses the window size. The picture is the same as
    :func:`animate`'s, redrawn as a PNG image on every change. A setting that has no valid
    window (e.g. a kernel larger than the padded input) shows a message instead of a picture.

    In a running kernel this is the widget. Displayed, the panel also carries a static view
    (:mod:`book_utils.static_controls`, data from :func:`controls_spec`): the HTML book shows
    that one, with the same choices switching between results computed when the page ran.

    Args:
        x: the input, as for :class:`SlidingWindow`.
        kernels: for ``op="sum"``: a mapping ``name -> kernel`` (or one kernel array). Each
            kernel must fit ``x`` on its own; with ``several=True`` the selected ones are
            stacked into ``K`` kernels (they must then have the same shape).
        op: ``"sum"``, ``"max"`` or ``"mean"``.
        paddings, strides: the values the sliders offer (their min and max are used; every
            integer in between is a choice).
        windows: window sizes offered for pooling.
        several: let the user pick several kernels at once (one output map each).
        padding, stride: initial values (default: the smallest choice).
        bias, channel_names, title, dpi, max_width_in, max_height_in: as for :func:`animate`.

    Returns:
        A ``ControlPanel`` (an :class:`ipywidgets.VBox`); its attributes ``position``,
        ``padding``, ``stride``, ``kernel`` (``None`` for pooling), ``window`` (``None`` for
        ``"sum"``), ``image`` and ``message`` are the widgets, ``state()`` returns the current
        :class:`SlidingWindow` (or ``None`` when the setting is invalid), and
        ``static_spec()`` the data of the static view.

    Raises:
        ValueError: bad choices, a missing kernel for ``"sum"`` or kernels given for pooling,
            an initial padding/stride outside the choices, ``channel_names`` of the wrong
            length, or an initial setting that is invalid.
        TypeError: choices that are not a sequence of integers, a non-boolean ``several``.
    """
    import ipywidgets as widgets

    from .. import static_controls

    kernels, paddings, strides, window_choices, init_p, init_s, channel_names = \
        _control_options(x, kernels, op, paddings, strides, windows, several, padding, stride,
                         channel_names)
    style = {"description_width": "70px"}
    pad_w = widgets.IntSlider(value=init_p, min=paddings[0], max=paddings[-1],
                              description="padding p", style=style)
    stride_w = widgets.IntSlider(value=init_s, min=strides[0], max=strides[-1],
                                 description="stride s", style=style)
    pos_w = widgets.IntSlider(value=0, min=0, max=0, description="position", style=style)
    kernel_w = window_w = None
    if op == "sum":
        names = list(kernels)
        if several:
            kernel_w = widgets.SelectMultiple(options=names, value=_several_default(kernels),
                                              rows=min(6, len(names)), description="kernels",
                                              style=style)
        else:
            kernel_w = widgets.Dropdown(options=names, value=names[0], description="kernel",
                                        style=style)
    else:
        window_w = widgets.Dropdown(options=window_choices, value=window_choices[0],
                                    description="window f", style=style)
    image = widgets.Image(format="png")
    message = widgets.HTML("")
    current: Dict[str, object] = {"sw": None, "busy": False}

    def build():
        """The SlidingWindow for the widgets' values and the kernel names to show."""
        kernel_names = None
        if op == "sum":
            if several:
                chosen = list(kernel_w.value)
                if not chosen:
                    raise ValueError("select at least one kernel")
                shapes = {kernels[n].shape for n in chosen}
                if len(shapes) > 1:
                    raise ValueError(f"the selected kernels have different shapes {sorted(shapes)}")
                kern = np.stack([kernels[n] for n in chosen])
                if kern.ndim == 2:     # 1D kernels cannot be stacked for a 1D input
                    raise ValueError("several kernels need a 2D input")
                kernel_names = chosen
            else:
                kern = kernels[kernel_w.value]
            return SlidingWindow(x, kern, stride=stride_w.value, padding=pad_w.value,
                                 bias=bias), kernel_names
        return SlidingWindow(x, op=op, window=window_w.value, stride=stride_w.value,
                             padding=pad_w.value), None

    def redraw(*_):
        if current["busy"]:          # changing the position slider's range below re-enters
            return
        try:
            sw, kernel_names = build()
        except (ValueError, TypeError) as exc:
            current["sw"] = None
            message.value = f"<span style='color:{_HIGHLIGHT}'>No valid window: {exc}</span>"
            return
        current["sw"] = sw
        current["busy"] = True
        try:
            pos_w.max = sw.n_frames - 1
            pos_w.value = min(pos_w.value, sw.n_frames - 1)
        finally:
            current["busy"] = False
        scene = SlidingWindowFigure(sw, title=title, channel_names=channel_names,
                                    kernel_names=kernel_names, dpi=dpi,
                                    max_width_in=max_width_in, max_height_in=max_height_in)
        scene.update(pos_w.value)
        image.value = scene.to_png()
        message.value = ""

    watched = [pad_w, stride_w, pos_w] + [w for w in (kernel_w, window_w) if w is not None]
    redraw()
    if current["sw"] is None:
        raise ValueError(f"the initial setting is invalid: {message.value}")
    for w in watched:
        w.observe(redraw, names="value")
    top = [w for w in (kernel_w, window_w) if w is not None]

    def spec():
        return controls_spec(x, kernels, op=op, paddings=paddings, strides=strides,
                             windows=windows, several=several, padding=init_p, stride=init_s,
                             bias=bias, channel_names=channel_names, title=title)

    box = static_controls.panel([widgets.HBox(top + [pad_w, stride_w]), pos_w, message, image],
                                spec)
    box.position, box.padding, box.stride = pos_w, pad_w, stride_w
    box.kernel, box.window, box.image, box.message = kernel_w, window_w, image, message
    box.state = lambda: current["sw"]
    return box
