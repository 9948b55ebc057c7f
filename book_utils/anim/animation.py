"""Frames of a sliding window as an animation or a single image.

:func:`animate` builds a ``matplotlib.animation.FuncAnimation`` (one frame per window
position) that a page shows with ``IPython.display.HTML(ani.to_jshtml())``, so it plays in the
static HTML book; :func:`render_frame` gives one frame as PNG bytes.

Not here: the numbers (:mod:`.window`), the drawing of a frame (:mod:`.figure`), the live
ipywidgets panel (:mod:`.panel`).
"""
from __future__ import annotations

from typing import Optional, Sequence

from ..ops import check_int
from .figure import SlidingWindowFigure
from .window import IntOrPair, SlidingWindow

__all__ = ["animate", "render_frame"]

#: Options of :func:`render_frame` that go to :class:`SlidingWindowFigure` (the rest describe
#: the operation and go to :class:`SlidingWindow`).
FIGURE_OPTIONS = ("title", "channel_names", "kernel_names", "show_values", "dpi",
                  "max_width_in", "max_height_in")


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
            and the table of shapes in :mod:`book_utils.anim`.
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
            ``frames``, more frames than ``max_frames``, or ``interval`` < 1 ms.
        TypeError: ``interval`` not an integer.
    """
    from matplotlib.animation import FuncAnimation

    interval = check_int("interval", interval, 1)
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
    """PNG bytes of frame ``t`` of the picture :func:`animate` would make (same options).

    Raises:
        ValueError, TypeError: as :class:`SlidingWindow` for the operation, as
            :meth:`SlidingWindowFigure.update` for ``t``.
    """
    figure_options = {k: options.pop(k) for k in FIGURE_OPTIONS if k in options}
    sw = SlidingWindow(x, kernel, **options)
    scene = SlidingWindowFigure(sw, **figure_options)
    scene.update(t)
    return scene.to_png()

