"""Structure figures of networks, drawn with matplotlib (English labels, no CJK font needed).

* :func:`draw_pipeline` – a left-to-right chain of layer boxes; box height follows the spatial
  size of the feature map, colour follows the layer kind. :func:`stages_from_table` turns a
  :class:`~book_utils.summary.LayerTable` into such a chain, so the figure shows exactly the
  shapes the code computed.
* :func:`draw_residual_block` – the residual block with an identity or 1x1 projection shortcut.
* :func:`draw_depthwise_separable` – standard vs depthwise + pointwise convolution.

Every function draws on a given ``matplotlib`` axis and returns it; nothing is shown or saved.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence

__all__ = ["Stage", "KIND_COLORS", "draw_pipeline", "stages_from_table", "draw_residual_block",
           "draw_depthwise_separable"]

#: fill colour of each layer kind
KIND_COLORS: Dict[str, str] = {
    "input": "#d9d9d9", "conv": "#8fb8de", "pool": "#f4b183", "norm": "#c5b0d5", "fc": "#a9d18e",
    "block": "#9dc3e6", "head": "#ffd966", "output": "#f8a5a5", "other": "#eeeeee",
}


@dataclass(frozen=True)
class Stage:
    """One box of a pipeline figure.

    Attributes:
        label: the name written under the box (e.g. ``"C1"``).
        detail: second line, usually the output shape (e.g. ``"6@28x28"``).
        kind: a key of :data:`KIND_COLORS`.
        size: spatial side of the feature map (sets the box height); ``None`` for vectors.
    """

    label: str
    detail: str = ""
    kind: str = "conv"
    size: Optional[int] = None

    def __post_init__(self):
        from .ops import check_int

        if not isinstance(self.label, str) or not isinstance(self.detail, str):
            raise TypeError(f"Stage label and detail must be strings, got "
                            f"{type(self.label).__name__} and {type(self.detail).__name__}")
        if self.size is not None:
            check_int("Stage.size (the feature map's side; None for a vector)", self.size, 1)


def _check_ax(ax) -> None:
    if not hasattr(ax, "add_patch") or not hasattr(ax, "figure"):
        raise TypeError(f"ax must be a matplotlib Axes (e.g. fig, ax = plt.subplots()), got "
                        f"{type(ax).__name__}")


def _kind_of(module_type: str) -> str:
    t = module_type.lower()
    if "conv" in t:
        return "conv"
    if "pool" in t:
        return "pool"
    if "norm" in t:
        return "norm"
    if "linear" in t:
        return "fc"
    if t in ("sequential", "basicblock", "plainblock", "depthwiseseparableconv2d"):
        return "block"
    return "other"


def _shape_text(shape: Sequence[int]) -> str:
    """``(C, H, W)`` -> ``"C ch\nHxW"`` (two short lines fit under a box); vectors -> ``"N"``."""
    if len(shape) == 3:
        return f"{shape[0]} ch\n{shape[1]}x{shape[2]}"
    return "x".join(str(s) for s in shape)


def stages_from_table(table, names: Optional[Sequence[str]] = None, labels: Optional[Sequence[str]] = None,
                      input_label: str = "input", output_kind: str = "output") -> List[Stage]:
    """Pipeline stages from a :class:`~book_utils.summary.LayerTable`.

    Args:
        table: the traced table.
        names: module names to show, in table order (default: every row that has parameters or
            changes the shape, i.e. activations and dropout are skipped).
        labels: display labels for those rows (default: the module names).
        input_label: label of the first box, which shows the table's input shape.
        output_kind: kind (colour) of the last box.

    Raises:
        TypeError: if ``table`` is not a :class:`~book_utils.summary.LayerTable`.
        ValueError: if ``labels`` and the chosen rows differ in number, or a name is unknown.
    """
    from .summary import LayerTable

    if not isinstance(table, LayerTable):
        raise TypeError(f"table must be a summary.LayerTable (from summary.layer_table(model, "
                        f"input_size)), got {type(table).__name__}")
    rows = table.rows
    if names is not None:
        known = {r.name for r in rows}
        missing = [n for n in names if n not in known]
        if missing:
            raise ValueError(f"unknown row name(s) {missing}; the table has {[r.name for r in rows]}")
        chosen, wanted = [], list(names)
        for r in rows:
            if wanted and r.name == wanted[0]:
                chosen.append(r)
                wanted.pop(0)
    else:
        chosen, previous = [], tuple(table.input_shape[1:])
        for r in rows:
            if r.params or r.output_shape != previous:
                chosen.append(r)
            previous = r.output_shape
    if labels is not None and len(labels) != len(chosen):
        raise ValueError(f"got {len(labels)} labels for {len(chosen)} rows ({[r.name for r in chosen]})")
    in_shape = tuple(table.input_shape[1:])
    stages = [Stage(input_label, _shape_text(in_shape), "input", in_shape[-1] if len(in_shape) == 3 else None)]
    for i, r in enumerate(chosen):
        spatial = r.output_shape[-1] if len(r.output_shape) == 3 and r.output_shape[-1] > 1 else None
        kind = output_kind if i == len(chosen) - 1 else _kind_of(r.kind)
        stages.append(Stage(labels[i] if labels is not None else r.name, _shape_text(r.output_shape), kind, spatial))
    return stages


def draw_pipeline(ax, stages: Iterable[Stage], title: Optional[str] = None, fontsize: Optional[float] = None,
                  max_size: Optional[int] = None, box_width: float = 1.0, gap: float = 0.45,
                  legend: bool = True):
    """Draw ``stages`` left to right as boxes joined by arrows.

    Box height grows with the square root of the feature-map side (vectors get a thin box),
    so shrinking maps are visible at a glance. ``max_size`` fixes the side that gets the
    tallest box (default: the largest in ``stages``), to draw several pipelines to one scale.
    ``legend`` adds a colour key of the layer kinds used.

    Text stays readable in the book: with ``fontsize=None`` (the default) the sizes are chosen
    so that the smallest text (shapes, legend) shows at :data:`book_utils.plot.SMALL_TEXT_PX`
    CSS pixels once the figure is scaled to the book's column. When neighbouring labels would
    then overlap, the text shrinks to just above :data:`book_utils.plot.MIN_TEXT_PX`, and if
    they still overlap, every other stage's labels move one text block lower (staggered).

    Returns:
        the axis.

    Raises:
        TypeError: if ``ax`` is not a matplotlib Axes or a stage is not a :class:`Stage`.
        ValueError: for an empty ``stages``, an unknown kind, a non-positive ``fontsize``,
            ``box_width`` or ``max_size``, or a negative ``gap``.
    """
    from .ops import check_int

    _check_ax(ax)
    stages = list(stages)
    bad = [type(st).__name__ for st in stages if not isinstance(st, Stage)]
    if bad:
        raise TypeError(f"stages must be Stage objects (e.g. from stages_from_table), got {bad[0]}")
    if max_size is not None:
        check_int("max_size", max_size, 1)
    if not box_width > 0 or not gap >= 0:
        raise ValueError(f"box_width must be > 0 and gap >= 0 (axis units), got {box_width!r} "
                         f"and {gap!r}")
    if not stages:
        raise ValueError("stages is empty: nothing to draw")
    for st in stages:
        if st.kind not in KIND_COLORS:
            raise ValueError(f"unknown stage kind {st.kind!r}; use one of {sorted(KIND_COLORS)}")
    if fontsize is not None and not fontsize > 0:
        raise ValueError(f"fontsize must be a positive number of points or None (automatic), got {fontsize!r}")
    auto = fontsize is None
    size = fontsize if fontsize is not None else _readable_pt(ax.figure)
    artists = _pipeline_artists(ax, stages, title, size, max_size, box_width, gap, legend, stagger=False)
    if auto:
        # the figure's final crop decides how much the book shrinks it: measure, then resize
        from .plot import MIN_TEXT_PX, SMALL_TEXT_PX, display_scale

        scale = display_scale(ax.figure)
        size = SMALL_TEXT_PX * 72 / (ax.figure.dpi * scale) / _DETAIL_SCALE
        artists = _redraw(ax, artists, stages, title, size, max_size, box_width, gap, legend, False)
        if _labels_overlap(ax, artists["labels"]):
            # crowded: first the smallest readable size, then staggered labels
            size *= (MIN_TEXT_PX + 0.5) / SMALL_TEXT_PX
            artists = _redraw(ax, artists, stages, title, size, max_size, box_width, gap, legend, False)
    if _labels_overlap(ax, artists["labels"]):
        _redraw(ax, artists, stages, title, size, max_size, box_width, gap, legend, True)
    return ax


#: Shapes under a box and the legend are drawn at this fraction of the label size.
_DETAIL_SCALE = 0.9


def _readable_pt(fig) -> float:
    from .plot import SMALL_TEXT_PX, readable_fontsize

    return readable_fontsize(fig, SMALL_TEXT_PX) / _DETAIL_SCALE


def _redraw(ax, artists, *args):
    for artist in artists["all"]:
        artist.remove()
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    return _pipeline_artists(ax, *args)


def _labels_overlap(ax, columns) -> bool:
    """True when the text under two neighbouring boxes would touch (measured as drawn)."""
    renderer = ax.figure.canvas.get_renderer()
    ax.figure.canvas.draw()
    spans = []
    for texts in columns:
        boxes = [t.get_window_extent(renderer) for t in texts]
        spans.append((min(b.x0 for b in boxes), max(b.x1 for b in boxes)) if boxes else None)
    gap_px = 2 * ax.figure.dpi / 72
    return any(a and b and a[1] + gap_px > b[0] for a, b in zip(spans, spans[1:]))


def _pipeline_artists(ax, stages, title, fontsize, max_size, box_width, gap, legend, stagger):
    from matplotlib.patches import FancyArrowPatch, Patch, Rectangle

    sizes = [s.size for s in stages if s.size]
    top = max_size or (max(sizes) if sizes else 1)
    label_lines = max(st.label.count("\n") + 1 for st in stages)
    detail_lines = max(st.detail.count("\n") + 1 if st.detail else 0 for st in stages)
    # height of one text line in data units (the axis is width-limited: x spans the whole axis)
    x_span = len(stages) * (box_width + gap) - gap + 0.4
    axis_width_pt = ax.get_position().width * ax.figure.get_figwidth() * 72
    line = 1.3 * fontsize * x_span / axis_width_pt
    block = line * (label_lines + detail_lines) + 0.15
    label_y = -1.4
    bottom = label_y - block - (block if stagger else 0) + 0.05
    made, labels = [], []
    x = 0.0
    for i, st in enumerate(stages):
        height = 0.5 + 2.0 * math.sqrt(st.size / top) if st.size else 0.35
        made.append(ax.add_patch(Rectangle((x, -height / 2), box_width, height, facecolor=KIND_COLORS[st.kind],
                                           edgecolor="#333333", linewidth=0.8)))
        y = label_y - (block if stagger and i % 2 else 0)
        column = [ax.text(x + box_width / 2, y, st.label, ha="center", va="top", fontsize=fontsize,
                          fontweight="bold", linespacing=1.1)]
        if st.detail:
            column.append(ax.text(x + box_width / 2, y - line * label_lines - 0.05, st.detail, ha="center",
                                  va="top", fontsize=fontsize * _DETAIL_SCALE, linespacing=1.1))
        if stagger and i % 2:
            made.append(ax.plot([x + box_width / 2] * 2, [-0.3, y + 0.05], color="#999999", lw=0.6)[0])
        labels.append(column)
        made += column
        if i:
            made.append(ax.add_patch(FancyArrowPatch((x - gap + 0.03, 0), (x - 0.03, 0), arrowstyle="-|>",
                                                     mutation_scale=8, color="#333333", linewidth=0.8)))
        x += box_width + gap
    ax.set_xlim(-0.2, x - gap + 0.2)
    ax.set_ylim(bottom, 1.35)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=fontsize + 2, loc="left")
    if legend:
        kinds = list(dict.fromkeys(st.kind for st in stages))
        ax.legend(handles=[Patch(facecolor=KIND_COLORS[k], edgecolor="#333333", label=k) for k in kinds],
                  loc="upper center", bbox_to_anchor=(0.5, 0.0), fontsize=fontsize * _DETAIL_SCALE,
                  ncol=len(kinds), frameon=False, handlelength=1.2, columnspacing=1.2)
    return {"all": made, "labels": labels}


def _fixed_layout_pt(ax, fontsize: Optional[float], px: float = 10.0) -> float:
    """The caller's font size, or one that shows ``px`` CSS pixels high in the book (smallest text
    of these figures is drawn at 0.9 of it)."""
    if fontsize is not None:
        if not fontsize > 0:
            raise ValueError(f"fontsize must be a positive number of points or None (automatic), got {fontsize!r}")
        return fontsize
    from .plot import readable_fontsize

    return readable_fontsize(ax.figure, px / 0.9)


def _box(ax, x, y, w, h, text, kind, fontsize):
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02",
                                facecolor=KIND_COLORS[kind], edgecolor="#333333", linewidth=0.8))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def _arrow(ax, start, end, **kwargs):
    from matplotlib.patches import FancyArrowPatch

    style = dict(arrowstyle="-|>", mutation_scale=9, color="#333333", linewidth=0.9)
    style.update(kwargs)
    ax.add_patch(FancyArrowPatch(start, end, **style))


def draw_residual_block(ax, projection: bool = False, fontsize: Optional[float] = None):
    """The basic residual block, bottom to top: ``relu(BN(conv(relu(BN(conv(x))))) + shortcut(x))``.

    Args:
        projection: draw the 1x1 convolution (+ BN) shortcut used when the block changes the
            number of channels or the resolution (stride 2); otherwise the identity shortcut.
        fontsize: points; ``None`` picks the size at which the smallest text shows at about
            10 CSS pixels in the book's column (see :func:`book_utils.plot.readable_fontsize`).
    """
    _check_ax(ax)
    fontsize = _fixed_layout_pt(ax, fontsize)
    w, h = (2.7 if projection else 2.1), 0.5
    ys = [0.0, 0.8, 1.6, 2.4, 3.2]
    texts = ["x", "3x3 conv" + (", stride 2" if projection else "") + "\n+ BN + ReLU", "3x3 conv + BN", "+", "ReLU"]
    kinds = ["input", "conv", "conv", "other", "other"]
    for y, text, kind in zip(ys, texts, kinds):
        if text == "+":
            from matplotlib.patches import Circle
            ax.add_patch(Circle((0, y), 0.18, facecolor="white", edgecolor="#333333", linewidth=0.9))
            ax.text(0, y, "+", ha="center", va="center", fontsize=fontsize + 3)
        else:
            _box(ax, 0, y, w if text != "x" else 0.7, h, text, kind, fontsize)
    for a, b in zip(ys[:-1], ys[1:]):
        top = a + (0.18 if a == ys[3] else h / 2)
        bottom = b - (0.18 if b == ys[3] else h / 2)
        _arrow(ax, (0, top), (0, bottom))
    _arrow(ax, (0, ys[-1] + h / 2), (0, ys[-1] + 0.75))
    ax.text(0, ys[-1] + 0.85, "out", ha="center", va="bottom", fontsize=fontsize)
    # shortcut: leaves x to the right, runs up, enters the "+" from the right
    side = 2.45 if projection else 1.55
    _arrow(ax, (0.35, ys[0]), (side, ys[0]), arrowstyle="-")
    _arrow(ax, (side, ys[0]), (side, ys[3]), arrowstyle="-")
    _arrow(ax, (side, ys[3]), (0.18, ys[3]))
    if projection:
        _box(ax, side, (ys[0] + ys[3]) / 2, 1.35, 0.75, "1x1 conv\nstride 2\n+ BN", "norm", fontsize * 0.9)
        ax.text(side, ys[3] + 0.12, "projection shortcut", fontsize=fontsize * 0.9, va="bottom", ha="center")
    else:
        ax.text(side + 0.08, (ys[0] + ys[3]) / 2, "identity\nshortcut", fontsize=fontsize * 0.9, va="center")
    ax.text(-w / 2 - 0.1, 1.2, "F(x)", fontsize=fontsize + 1, style="italic", ha="right")
    ax.set_xlim(-w / 2 - 0.8, side + 0.95)
    ax.set_ylim(-0.5, 4.4)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title("projection shortcut (shape changes)" if projection else "identity shortcut (same shape)",
                 fontsize=fontsize + 1)
    return ax


def _stack(ax, x, y, n, color, size=0.55, step=0.16, label=None, fontsize=7):
    """``n`` overlapping squares (a multi-channel tensor or kernel), the front one at (x, y)."""
    from matplotlib.patches import Rectangle

    colors = color if isinstance(color, (list, tuple)) else [color] * n
    for i in reversed(range(n)):
        ax.add_patch(Rectangle((x + i * step, y + i * step), size, size, facecolor=colors[i],
                               edgecolor="#333333", linewidth=0.7))
    if label:
        ax.text(x + size / 2 + (n - 1) * step / 2, y - 0.12, label, ha="center", va="top", fontsize=fontsize)


def draw_depthwise_separable(ax, channels: int = 3, out_channels: int = 4, fontsize: Optional[float] = None):
    """Standard convolution (top) vs depthwise + pointwise convolution (bottom) for ``channels`` inputs.

    Top: each of ``out_channels`` kernels spans all input channels (k x k x C_in).
    Bottom: one k x k kernel per input channel gives ``channels`` maps (no mixing), then
    ``out_channels`` 1x1 x C_in kernels mix them. ``fontsize`` (points) defaults to the size
    that shows at about 10 CSS pixels in the book's column.

    Raises:
        TypeError: if ``ax`` is not a matplotlib Axes, or the channel counts are not integers.
        ValueError: if ``channels`` or ``out_channels`` is < 1.
    """
    from .ops import check_int

    _check_ax(ax)
    channels = check_int("channels", channels, 1)
    out_channels = check_int("out_channels", out_channels, 1)
    fontsize = _fixed_layout_pt(ax, fontsize)
    palette = ["#e15759", "#59a14f", "#4e79a7", "#f28e2b", "#b07aa1", "#76b7b2"]
    cin = [palette[i % len(palette)] for i in range(channels)]
    grey = "#bbbbbb"
    # standard convolution
    ax.text(0, 3.55, "standard convolution", fontsize=fontsize + 2, fontweight="bold")
    _stack(ax, 0.1, 2.2, channels, cin, size=1.0, label=f"input\n{channels} channels", fontsize=fontsize)
    _stack(ax, 2.6, 2.5, channels, cin, size=0.45, label=f"{out_channels} kernels\nk x k x {channels}", fontsize=fontsize)
    ax.text(3.4, 3.15, f"x {out_channels}", fontsize=fontsize + 1)
    _stack(ax, 5.1, 2.2, out_channels, grey, size=1.0, step=0.12, label=f"output\n{out_channels} channels",
           fontsize=fontsize)
    _arrow(ax, (1.7, 2.75), (2.5, 2.75))
    _arrow(ax, (4.1, 2.75), (5.0, 2.75))
    # depthwise separable
    ax.text(0, 1.05, "depthwise separable convolution", fontsize=fontsize + 2, fontweight="bold")
    _stack(ax, 0.1, -0.3, channels, cin, size=1.0, label=f"input\n{channels} channels", fontsize=fontsize)
    for i in range(channels):
        _stack(ax, 2.3 + i * 0.55, 0.05, 1, cin[i], size=0.4)
    ax.text(2.3 + channels * 0.275, -0.15, "depthwise: one\nk x k kernel each", ha="center", va="top",
            fontsize=fontsize)
    _stack(ax, 4.3, -0.3, channels, cin, size=1.0, label=f"{channels} maps\n(not mixed)", fontsize=fontsize)
    _stack(ax, 6.3, 0.1, channels, cin, size=0.2, step=0.1)
    ax.text(6.65, 0.55, f"x {out_channels}", fontsize=fontsize + 1)
    ax.text(6.55, -0.15, f"pointwise:\n1 x 1 x {channels}", ha="center", va="top", fontsize=fontsize)
    _stack(ax, 7.7, -0.3, out_channels, grey, size=1.0, step=0.12, label=f"output\n{out_channels} channels",
           fontsize=fontsize)
    _arrow(ax, (1.7, 0.25), (2.2, 0.25))
    _arrow(ax, (2.3 + channels * 0.55, 0.25), (4.2, 0.25))
    _arrow(ax, (5.8, 0.25), (6.2, 0.25))
    _arrow(ax, (7.0, 0.25), (7.6, 0.25))
    ax.set_xlim(-0.2, 9.4)
    ax.set_ylim(-1.1, 3.9)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax
