"""The matplotlib drawing of a sliding window: :class:`SlidingWindowFigure`.

One figure shows the (padded) input channels, the kernels, the output maps and a caption
line; :meth:`SlidingWindowFigure.update` moves the window to frame ``t`` and fills in the
outputs computed so far. The animation and the live controls both draw with it.

Not here: the geometry and the numbers (:mod:`.window`), the texts (:mod:`.captions`), the
cell blocks and colours it is built from (:mod:`._drawing`), turning frames into an
animation (:mod:`.animation`) or a widget (:mod:`.panel`).
"""
from __future__ import annotations

import io
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ._drawing import (EMPTY_FACE, GRID_EDGE, HIGHLIGHT, PAD_FACE, PAD_TEXT, CellGrid,
                       cell_colors, compact_figure, finite_range, rgba, text_width_pt)
from .captions import cell_texts, default_title, format_value, input_texts
from .window import SlidingWindow

__all__ = ["SlidingWindowFigure"]

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
        dpi: resolution of the figure (dots per inch).
        max_width_in, max_height_in: largest figure size in inches; cells shrink to fit.

    Raises:
        ValueError: ``channel_names`` or ``kernel_names`` of the wrong length.

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
        widest_pt = max([text_width_pt(title, self._label_fs + 0.5, bold=True)]
                        + [text_width_pt(c, self._label_fs) for c in captions[:3]])
        text_in = widest_pt / 72 + 0.2
        if text_in > width_u * cell_in:
            if text_in > max_width_in:
                self._label_fs *= max_width_in / text_in
                text_in = max_width_in
            width_u = text_in / cell_in
        self.figure = compact_figure(figsize=(width_u * cell_in, height_u * cell_in), dpi=dpi)
        ax = self.figure.add_axes((0, 0, 1, 1))
        ax.set_xlim(left, left + width_u)
        ax.set_ylim(bottom + text_h, top)
        ax.axis("off")
        self.ax = ax

        # ---- static content: title, input grids, kernels
        ax.text(left + 0.1, top + 0.15, title, ha="left", va="top",
                fontsize=self._label_fs + 0.5, weight="bold")
        self._inputs: List[CellGrid] = []
        texts = input_texts(sw)
        for c in range(n_channels):
            x0, y0, _, _ = blocks[("x", c)]
            grid = self._value_grid(x0, y0, sw.padded[c], cell_pt)
            self._paint_input(grid, c, texts)
            self._inputs.append(grid)
            if sw.kind == "2d":
                self._label(x0, y0, self.channel_names[c] + self._pad_note())
        if sw.kind == "1d":
            self._row_label(blocks[("x", 0)], "x")
        self._kernels: Dict[Tuple[int, int], CellGrid] = {}
        if sw.kernels is not None:
            kmin, kmax = finite_range(sw.kernels)
            for key, (x0, y0, _, _) in blocks.items():
                if key[0] != "w":
                    continue
                _, k, c = key
                w = sw.kernels[k, c]
                grid = self._value_grid(x0, y0, w, cell_pt, edgecolor=HIGHLIGHT, zorder=4)
                grid.set(cell_colors(w, self.show_values, kmin, kmax), cell_texts(w))
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
        omin, omax = finite_range(self._result)
        self._out_colors = [cell_colors(self._result[m], self.show_values, omin, omax)
                            for m in range(n_maps)]
        self._outputs: List[CellGrid] = []
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
                                                     edgecolor=HIGHLIGHT, zorder=6))
                              for _ in range(n_channels)]
        self._out_boxes = [ax.add_patch(Rectangle((0, 0), 1, 1, fill=False, lw=2.2,
                                                  edgecolor=HIGHLIGHT, zorder=6))
                           for _ in range(n_maps)]
        self._arrow = None
        if sw.kind == "1d":
            self._arrow = FancyArrowPatch((0, 0), (0, 1), arrowstyle="-|>", mutation_scale=9,
                                          color=HIGHLIGHT, lw=1.2, zorder=5)
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

    def _value_grid(self, x0, y0, values, cell_pt, edgecolor=GRID_EDGE, zorder=1) -> CellGrid:
        longest = max(len(format_value(v)) for v in np.ravel(values)) if np.size(values) else 1
        longest = max(longest, 4 if self.sw.kind == "2d" else 2)
        fs = min(0.42 * cell_pt, 1.45 * cell_pt / longest)
        self._value_fs = max(getattr(self, "_value_fs", 0.0), fs)
        return CellGrid(self.ax, x0, y0, values.shape[0], values.shape[1], fs,
                        self.show_values, edgecolor=edgecolor, zorder=zorder)

    def _paint_input(self, grid: CellGrid, c: int, texts: np.ndarray) -> None:
        """Colour channel ``c`` of the padded input (padding cells grey) and write
        ``texts[c]`` in it (``texts`` from :func:`.captions.input_texts`)."""
        sw = self.sw
        values = sw.padded[c]
        mask = sw.is_padding()
        vmin, vmax = finite_range(sw.x)
        colors = cell_colors(np.where(mask, vmin, values), self.show_values, vmin, vmax)
        colors[mask] = rgba(PAD_FACE)
        tcol = np.where(mask, PAD_TEXT, "black").astype(object)
        grid.set(colors, texts[c], tcol)

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
            colors[~filled] = rgba(EMPTY_FACE)
            labels = cell_texts(self._result[m], blank=~filled)
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

