"""Matplotlib building blocks of the sliding-window figure (internal to :mod:`book_utils.anim`).

Holds the colours every picture shares, a block of unit cells with optional numbers
(:class:`CellGrid`), the colour ramps of the cells, the printed width of a text, and a
``Figure`` whose PNGs use a small palette (animations embed one PNG per frame).

Not here: the layout of a whole picture and its frames (:mod:`.figure`), and the texts
themselves (:mod:`.captions`). Matplotlib and Pillow are imported inside the functions, so
importing this module costs nothing.
"""
from __future__ import annotations

import io
from typing import Optional, Tuple

import numpy as np

HIGHLIGHT = "#d62728"      #: the window, the current output cell, error messages
PAD_FACE = "#e6e6e6"       #: padding cells
PAD_TEXT = "#8c8c8c"       #: the zeros written in padding cells
EMPTY_FACE = "white"       #: output cells not computed yet
GRID_EDGE = "#5f5f5f"      #: cell borders


def rgba(color: str) -> np.ndarray:
    """An RGBA array ``(4,)`` of floats in [0, 1] for a matplotlib colour name."""
    from matplotlib.colors import to_rgba

    return np.array(to_rgba(color))


class CellGrid:
    """A block of unit cells drawn at ``(x0, y0)`` (y grows downwards), with optional text.

    Args:
        ax: the ``matplotlib.axes.Axes`` to draw on (data units = cells).
        x0, y0: top-left corner, in cells.
        nrows, ncols: size of the block.
        fontsize: size of the numbers, in points.
        show_text: write a (settable) text in every cell.
        edgecolor, zorder: border colour and drawing order of the cells.
    """

    def __init__(self, ax, x0: float, y0: float, nrows: int, ncols: int, fontsize: float,
                 show_text: bool, edgecolor: str = GRID_EDGE, zorder: int = 1):
        from matplotlib.collections import PatchCollection
        from matplotlib.patches import Rectangle

        self.ax, self.x0, self.y0 = ax, x0, y0
        self.nrows, self.ncols = nrows, ncols
        rects = [Rectangle((x0 + j, y0 + i), 1, 1) for i in range(nrows) for j in range(ncols)]
        self.cells = PatchCollection(rects, facecolors=EMPTY_FACE, edgecolors=edgecolor,
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
        """The matplotlib artists of the grid (cells, then texts)."""
        return [self.cells] + (self.texts or [])


def cell_colors(values: np.ndarray, light: bool, vmin: float, vmax: float) -> np.ndarray:
    """RGBA colours ``values.shape + (4,)`` for ``values``.

    A blue ramp (grey when not ``light``) for a non-negative range ``vmin..vmax``, red-blue
    centred on zero otherwise. ``light`` keeps colours pale so black numbers stay readable.
    Values outside the range are clipped; NaN gets the lowest colour.
    """
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


def finite_range(values: np.ndarray) -> Tuple[float, float]:
    """``(min, max)`` of the finite entries of ``values``; ``(0.0, 1.0)`` when there are none."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 1.0
    return float(finite.min()), float(finite.max())


def text_width_pt(text: str, size: float, bold: bool = False) -> float:
    """Printed width of ``text`` (mathtext allowed) at font ``size`` (points), in points."""
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties

    prop = FontProperties(size=size, weight="bold" if bold else "normal")
    renderer = RendererAgg(8, 8, 72)     # at 72 dpi one pixel is one point
    width, _, _ = renderer.get_text_width_height_descent(text, prop, ismath="$" in text)
    return float(width)


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


_COMPACT = None


def compact_figure(*args, **kwargs):
    """A new ``CompactFigure`` (a ``matplotlib.figure.Figure`` that saves palette PNGs), not
    managed by pyplot; arguments as for ``Figure``. The class is built on first use so that
    importing this module does not import matplotlib."""
    global _COMPACT
    if _COMPACT is None:
        _COMPACT = _compact_figure_class()
    return _COMPACT(*args, **kwargs)
