"""The live ipywidgets panel of a sliding window: :func:`controls`.

Sliders and dropdowns redraw the picture of :mod:`.figure` on every change; displayed, the
panel also carries the static view of :mod:`book_utils.static_controls`, built from
:func:`~.control_spec.controls_spec`, so the HTML book shows a working control without a
kernel. ipywidgets is imported when a panel is made, not with this module.

Not here: checking the choices and computing the static view's data (:mod:`.control_spec`),
the drawing (:mod:`.figure`), the geometry (:mod:`.window`).
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence

import numpy as np

from .. import static_controls
from ._drawing import HIGHLIGHT
from .control_spec import _control_options, _several_default, controls_spec
from .figure import SlidingWindowFigure
from .window import SlidingWindow

__all__ = ["controls"]


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
    :func:`~book_utils.anim.animate`'s, redrawn as a PNG image on every change. A setting
    that has no valid window (e.g. a kernel larger than the padded input) shows a message
    instead of a picture.

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
        bias, channel_names, title, dpi, max_width_in, max_height_in: as for
            :func:`~book_utils.anim.animate`.

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
            message.value = f"<span style='color:{HIGHLIGHT}'>No valid window: {exc}</span>"
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
