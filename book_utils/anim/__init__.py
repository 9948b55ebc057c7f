"""Sliding-window pictures: one helper for every convolution and pooling animation in the book.

A convolution or pooling layer slides a window over its input and computes one number per
window position. This package draws that, step by step, for

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
    choice) that redraws the same picture in a running kernel; displayed, it also carries a
    static view (data from :func:`controls_spec`) that the HTML book draws without a kernel.
:func:`render_frame`
    one frame as PNG bytes (handy for tests and for saving).

The geometry and numbers live in :class:`SlidingWindow`, which can be used without drawing.

Example::

    from IPython.display import HTML
    from book_utils import anim
    ani = anim.animate([3, 6, 5, 4, 8, 9, 1, 7, 9, 6], [-1, 0, 1], padding=1)
    HTML(ani.to_jshtml())

    # max pooling, 2x2 windows, stride 2, on a (4, 4) grid:
    ani = anim.animate(grid, op="max", window=2, stride=2)

Shapes accepted for ``x`` and ``kernel`` (``C`` input channels, ``K`` kernels):

=================  =====================================  ==============================
``x``              ``kernel`` (``op="sum"``)              output maps
=================  =====================================  ==============================
``(d,)``           ``(f,)``                               1 (drawn as a row)
``(H, W)``         ``(fh, fw)`` or ``(K, fh, fw)``        1 or ``K``
``(C, H, W)``      ``(C, fh, fw)`` or ``(K, C, fh, fw)``  1 or ``K`` (summed over channels)
=================  =====================================  ==============================

For ``op="max"`` or ``op="mean"`` there is no kernel: give ``window`` (an int or a pair) and
each input channel is pooled on its own, giving ``C`` output maps. Padding cells count as
zeros for ``"sum"`` and ``"mean"`` (``count_include_pad=True`` in ``nn.AvgPool2d``) and are
ignored by ``"max"`` (like ``nn.MaxPool2d``, which pads with minus infinity).

Modules, each readable on its own (a module imports only those above it):

=================  ===========================================================================
module             what it holds
=================  ===========================================================================
``captions``       the texts: numbers in cells, the title, the line under each frame
``window``         :class:`SlidingWindow`: positions and values of one operation, no drawing
``_drawing``       matplotlib building blocks: colours, blocks of cells, palette PNG figures
``figure``         :class:`SlidingWindowFigure`: draws a SlidingWindow, one frame at a time
``animation``      :func:`animate` (a ``FuncAnimation``) and :func:`render_frame` (PNG bytes)
``control_spec``   checks a control's choices; :func:`controls_spec`, its static view's data
``panel``          :func:`controls`: the ipywidgets panel, carrying that static view
=================  ===========================================================================

Importing this package imports NumPy only; matplotlib and ipywidgets are imported when a
picture or a panel is made.
"""
from .animation import animate, render_frame
from .captions import default_title, format_value
from .control_spec import controls_spec
from .figure import SlidingWindowFigure
from .panel import controls
from .window import OPS, SlidingWindow

__all__ = ["SlidingWindow", "SlidingWindowFigure", "animate", "render_frame", "controls",
           "controls_spec", "default_title", "format_value", "OPS"]
