"""Plots shared by the pages: training curves, image grids, confusion matrices.

All labels are English so that no CJK font is needed. Every function returns the matplotlib
``Figure`` it drew (the notebook shows it).

Readable in the book. The HTML book shows a figure at most :data:`COLUMN_PX` CSS pixels wide
(the text column at a 1280-px window, measured in Chromium); a wider image is scaled down, and
its text with it. The figures here are sized to that column (:data:`COLUMN_INCHES` at the
inline backend's 100 dpi) with fonts that come out at least :data:`MIN_TEXT_PX` pixels high.
:func:`figure_text_px` measures that for any figure (the tests use it), and
:func:`readable_fontsize` gives the font size in points that reaches it. Numbers written on a
colour map (:func:`annotate_cells`) are white on dark cells and black on light ones.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import matplotlib.pyplot as plt
import numpy as np
import torch

#: Width in CSS pixels of an output image in the HTML book at a 1280-px window (Chromium).
COLUMN_PX = 688
#: Smallest text height (CSS pixels, the font's em size) a figure may show at that width.
MIN_TEXT_PX = 9.0
#: Size the figures here aim at for their small text (tick labels, legends, numbers in cells).
SMALL_TEXT_PX = 11.0
#: Figure width that fills the column at the inline backend's 100 dpi (with its 0.1 in padding).
COLUMN_INCHES = 6.8
#: Padding the inline backend adds around a tight bounding box (``savefig.pad_inches``).
_PAD_INCHES = 0.1


def display_scale(fig, column_px: float = COLUMN_PX) -> float:
    """How much the book shrinks ``fig``'s PNG: ``min(1, column_px / image width in px)``.

    The image width is that of the tight bounding box the inline backend saves
    (``bbox_inches="tight"``), padding included.
    """
    fig.canvas.draw()
    box = fig.get_tightbbox(fig.canvas.get_renderer())
    width_px = (box.width + 2 * _PAD_INCHES) * fig.dpi
    return min(1.0, column_px / width_px) if width_px > 0 else 1.0


def figure_text_px(fig, column_px: float = COLUMN_PX) -> List[Tuple[float, str]]:
    """Every text ``fig`` draws, with its size in CSS pixels as the book shows it, smallest first.

    Args:
        fig: a ``matplotlib.figure.Figure``.
        column_px: width available to the image (default :data:`COLUMN_PX`).

    Returns:
        ``[(px, text), ...]``: px is the font size (em) in points x dpi / 72, times
        :func:`display_scale`. Only what is actually drawn counts (hidden axes and ticks do not).
    """
    from matplotlib.backends.backend_agg import RendererAgg

    sizes: List[Tuple[float, str]] = []

    class _Recorder(RendererAgg):
        def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
            if str(s).strip():
                sizes.append((prop.get_size_in_points(), str(s)))
            return super().draw_text(gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)

    scale = display_scale(fig, column_px)
    width, height = fig.canvas.get_width_height()
    fig.draw(_Recorder(width, height, fig.dpi))
    return sorted((pt * fig.dpi / 72 * scale, text) for pt, text in sizes)


def readable_fontsize(fig, px: float = SMALL_TEXT_PX, column_px: float = COLUMN_PX) -> float:
    """Font size in points at which text on ``fig`` shows ``px`` CSS pixels high in the book.

    Uses the figure's full width (a tight crop can only make the image narrower, and so its
    text larger), so the result errs on the readable side.
    """
    width_px = fig.get_figwidth() * fig.dpi
    scale = min(1.0, column_px / width_px) if width_px > 0 else 1.0
    return px * 72 / (fig.dpi * scale)


def contrast_text_color(rgba) -> str:
    """``"white"`` on a dark colour, ``"black"`` on a light one (WCAG relative luminance < 0.4)."""
    r, g, b = [float(c) for c in tuple(rgba)[:3]]

    def linear(c):
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    return "white" if luminance < 0.4 else "black"


def annotate_cells(ax, image, values=None, fmt: str = "{:g}", fontsize: Optional[float] = None):
    """Write each value on its cell of a heat map, white on dark cells and black on light ones.

    Args:
        ax: the axis holding ``image``.
        image: the ``AxesImage`` returned by ``ax.imshow(values, cmap=...)`` (its colour map
            and norm decide each cell's colour).
        values: ``(rows, cols)`` numbers to write (default: the image's own array).
        fmt: ``str.format`` pattern of one value.
        fontsize: points (default: :func:`readable_fontsize` of the figure).

    Returns:
        The list of ``Text`` artists, row by row.

    Raises:
        ValueError: if ``values`` is not 2-D or its shape differs from the image's.
    """
    data = np.asarray(image.get_array())
    shown = data if values is None else np.asarray(values)
    if shown.ndim != 2 or shown.shape != data.shape[:2]:
        raise ValueError(f"values must be 2-D with the image's shape {data.shape[:2]}, got {shown.shape}")
    size = fontsize if fontsize is not None else readable_fontsize(ax.figure)
    texts = []
    for (r, c), v in np.ndenumerate(shown):
        color = contrast_text_color(image.cmap(image.norm(data[r, c])))
        texts.append(ax.text(c, r, fmt.format(v), ha="center", va="center", fontsize=size, color=color))
    return texts


def plot_history(history, title: Optional[str] = None, smooth: int = 20):
    """Loss per batch (with a moving average) and accuracy per epoch, sized to the book's column.

    Args:
        history: a :class:`book_utils.train.History` (or anything with ``batch_loss``,
            ``batch_epoch`` and ``epochs``).
        title: optional figure title.
        smooth: window (in batches) of the moving average drawn over the raw batch losses. It is
            narrowed to half the number of batches on short runs, and left out (with its legend
            entry) when fewer than 4 batches were recorded.

    A run of one epoch has one accuracy value per split: it is drawn as labelled bars
    ("after one epoch") instead of a lone dot on an epoch axis.

    Returns:
        The ``matplotlib.figure.Figure``.

    Raises:
        TypeError: if ``history`` lacks ``batch_loss`` or ``epochs`` (pass the ``History`` that
            ``train.fit`` returns), or its epochs lack ``batch_epoch`` for their test loss.
        ValueError: if the history holds no batches, or ``smooth`` is not a positive int.
    """
    missing = [a for a in ("batch_loss", "epochs") if not hasattr(history, a)]
    if missing:
        raise TypeError(f"history must be a book_utils.train.History (with batch_loss and "
                        f"epochs), got {type(history).__name__} without {' and '.join(missing)}; "
                        f"pass the History that train.fit returns")
    losses = np.asarray(history.batch_loss, dtype=float)
    if losses.size == 0:
        raise ValueError("the history has no recorded batches; train for at least one epoch first")
    if isinstance(smooth, bool) or not isinstance(smooth, (int, np.integer)) or smooth < 1:
        raise ValueError(f"smooth must be a positive int (batches), got {smooth!r}")
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(COLUMN_INCHES, 2.9),
                                          gridspec_kw={"width_ratios": [3, 2]})
    small = readable_fontsize(fig)
    steps = np.arange(1, losses.size + 1)
    # a handful of batches would be an invisible line: draw them as points
    style = "o-" if losses.size < 4 else "-"
    ax_loss.plot(steps, losses, style, color="tab:blue", alpha=0.35 if losses.size >= 4 else 0.8,
                 lw=0.8, label="batch loss")
    w = min(int(smooth), losses.size // 2)
    if w >= 2:
        avg = np.convolve(losses, np.ones(w) / w, mode="valid")
        ax_loss.plot(steps[w - 1:], avg, color="tab:blue", lw=2, label=f"mean of {w} batches")
    epochs = list(history.epochs)
    if epochs and "val_loss" in epochs[0] and not hasattr(history, "batch_epoch"):
        raise TypeError("history has a test loss per epoch but no batch_epoch (the epoch of "
                        "each batch) to place it; pass the History that train.fit returns")
    if epochs and "val_loss" in epochs[0]:
        ends = np.cumsum([list(history.batch_epoch).count(e["epoch"]) for e in epochs])
        ax_loss.plot(ends, [e["val_loss"] for e in epochs], "o-", color="tab:orange",
                     label="test loss (epoch end)")
    ax_loss.set_xlabel("training step (batch)")
    ax_loss.set_ylabel("cross-entropy loss")
    ax_loss.legend(fontsize=small, frameon=False)
    ax_loss.grid(alpha=0.3)
    if len(epochs) == 1:
        _one_epoch_bars(ax_acc, epochs[0], small)
    elif epochs:
        xs = [e["epoch"] for e in epochs]
        ax_acc.plot(xs, [100 * e["train_acc"] for e in epochs], "o-", label="train")
        if "val_acc" in epochs[0]:
            ax_acc.plot(xs, [100 * e["val_acc"] for e in epochs], "s-", label="test")
        ax_acc.set_xticks(xs if len(xs) <= 10 else xs[:: int(np.ceil(len(xs) / 10))])
        ax_acc.set_xlabel("epoch")
        ax_acc.legend(fontsize=small, frameon=False)
    ax_acc.set_ylabel("accuracy (%)")
    ax_acc.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=small + 1)
    fig.tight_layout()
    return fig


def _one_epoch_bars(ax, epoch: dict, fontsize: float) -> None:
    """Accuracy of a one-epoch run: one labelled bar per split."""
    names = ["train"] + (["test"] if "val_acc" in epoch else [])
    values = [100 * epoch["train_acc"]] + ([100 * epoch["val_acc"]] if "val_acc" in epoch else [])
    bars = ax.bar(names, values, color=["tab:blue", "tab:orange"][: len(names)], width=0.55)
    for bar, v in zip(bars, values):
        ax.text(bar.get_x() + bar.get_width() / 2, v, f"{v:.1f}%", ha="center", va="bottom",
                fontsize=fontsize)
    ax.set_ylim(0, 105)
    ax.set_xlabel("after one epoch")


def _to_display(img: torch.Tensor, mean=None, std=None) -> np.ndarray:
    img = torch.as_tensor(img).detach().cpu()
    if img.dtype == torch.uint8:
        img = img.float() / 255
    elif mean is not None and std is not None:
        m = torch.tensor(mean).view(-1, 1, 1)
        s = torch.tensor(std).view(-1, 1, 1)
        img = img * s + m
    img = img.clamp(0, 1)
    if img.dim() == 3 and img.shape[0] in (1, 3):
        img = img.permute(1, 2, 0)
    return img.squeeze(-1).numpy()


def _check_images(images) -> Tuple[int, int]:
    """``(N, C)`` of ``images``, checking they are ``(N, C, H, W)`` with C = 1 or 3."""
    if isinstance(images, (torch.Tensor, np.ndarray)):
        if images.ndim != 4:
            hint = (" (a batch without its channel axis? use images.unsqueeze(1) for "
                    "(N, 1, H, W))" if images.ndim == 3 else "")
            raise ValueError(f"images must be a 4-D batch (N, C, H, W) or a sequence of "
                             f"(C, H, W) images, got shape {tuple(images.shape)}{hint}")
        shapes = [tuple(images.shape[1:])] * len(images)
    else:
        try:
            shapes = [tuple(np.shape(im)) for im in images]
        except TypeError:
            raise TypeError(f"images must be a tensor (N, C, H, W) or a sequence of (C, H, W) "
                            f"images, got {type(images).__name__}") from None
    if not shapes:
        raise ValueError("show_images() got no images")
    for k, shape in enumerate(shapes):
        if len(shape) != 3 or shape[0] not in (1, 3):
            raise ValueError(f"images[{k}] has shape {shape}; each image must be (C, H, W) with "
                             f"C = 1 (grey) or 3 (RGB)")
    return len(shapes), shapes[0][0]


def _check_labels(name: str, values, classes) -> None:
    """``values`` must be integers and, when ``classes`` is given, in ``range(len(classes))``."""
    arr = np.asarray(torch.as_tensor(values).cpu()) if isinstance(values, torch.Tensor) \
        else np.asarray(values)
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must be integer class indices, got dtype {arr.dtype}")
    if classes is not None and arr.size and (arr.min() < 0 or arr.max() >= len(classes)):
        bad = int(arr[(arr < 0) | (arr >= len(classes))].flat[0])
        raise IndexError(f"{name} holds {bad}, outside range(len(classes)) = "
                         f"range({len(classes)}); pass the class names of these labels")


def show_images(images, labels: Sequence[int], classes: Optional[Sequence[str]] = None,
                preds: Optional[Sequence[int]] = None, ncols: int = 8, mean=None, std=None,
                title: Optional[str] = None, size: float = 1.3):
    """A grid of images titled with their labels (and predictions, red when wrong).

    Args:
        images: tensor ``(N, C, H, W)`` (uint8 0-255, or float; float images are
            un-normalised with ``mean``/``std`` when given) or a list of such ``(C, H, W)``.
        labels: true labels, length ``N``.
        classes: class names indexed by label (default: the label numbers).
        preds: optional predicted labels, length ``N``.
        ncols: images per row at most; fewer when the titles are too long for the column
            (the grid is sized to the book's text column, :data:`COLUMN_INCHES`).
        size: side of one image in inches at most.

    Returns:
        The ``matplotlib.figure.Figure``.

    Raises:
        TypeError: if ``ncols`` is not an integer, or labels/predictions are not integers.
        ValueError: if there are no images, ``images`` is not ``(N, C, H, W)`` (or a sequence
            of ``(C, H, W)``) with 1 or 3 channels, ``labels`` (or ``preds``) do not match the
            number of images, ``ncols`` < 1, ``size`` is not positive, or ``mean``/``std``
            do not have one entry per channel.
        IndexError: if a label or prediction is outside ``range(len(classes))``.
    """
    from .ops import check_int

    ncols = check_int("ncols", ncols, 1)
    if isinstance(size, bool) or not isinstance(size, (int, float)) or not size > 0:
        raise ValueError(f"size must be a positive number (inches), got {size!r}")
    n, channels = _check_images(images)
    if len(labels) != n or (preds is not None and len(preds) != n):
        raise ValueError(f"got {n} images but {len(labels)} labels"
                         + ("" if preds is None else f" and {len(preds)} predictions"))
    _check_labels("labels", labels, classes)
    if preds is not None:
        _check_labels("preds", preds, classes)
    for arg, stats in (("mean", mean), ("std", std)):
        if stats is not None and len(stats) not in (1, channels):
            raise ValueError(f"{arg} must have one entry per channel ({channels}), got "
                             f"{len(stats)}: {tuple(stats)}")
    name = (lambda k: str(classes[int(k)])) if classes is not None else (lambda k: str(int(k)))
    titles = []
    for k in range(n):
        if preds is None or int(preds[k]) == int(labels[k]):
            titles.append(name(labels[k] if preds is None else preds[k]))
        else:
            titles.append(f"{name(preds[k])}\n(true: {name(labels[k])})")
    # Fonts at the column's scale; as many panels per row as the longest title allows.
    fontsize = SMALL_TEXT_PX * 72 / 100
    widest = max(len(line) for t in titles for line in t.split("\n"))
    panel_in = max(0.6, 0.62 * widest * fontsize / 72 + 0.12)
    ncols = max(1, min(ncols, n, int(COLUMN_INCHES // panel_in)))
    nrows = (n + ncols - 1) // ncols
    ncols = (n + nrows - 1) // nrows            # same number of rows, more evenly filled
    side = min(size, COLUMN_INCHES / ncols)
    title_lines = max(t.count("\n") + 1 for t in titles)
    fig, axes = plt.subplots(nrows, ncols, squeeze=False,
                             figsize=(side * ncols, (side + 0.17 * title_lines) * nrows + (0.3 if title else 0)))
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k >= n:
            continue
        img = _to_display(images[k], mean, std)
        ax.imshow(img, cmap="gray" if img.ndim == 2 else None, interpolation="nearest")
        wrong = preds is not None and int(preds[k]) != int(labels[k])
        ax.set_title(titles[k], fontsize=fontsize, color="tab:red" if wrong else "black")
    if title:
        fig.suptitle(title, fontsize=fontsize + 1.5)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(cm, classes: Sequence[str], normalize: bool = True, title: Optional[str] = None):
    """Heat map of a confusion matrix ``cm[true, predicted]``.

    Args:
        cm: ``(K, K)`` counts (tensor or array), e.g. from :func:`book_utils.train.confusion_matrix`.
        classes: the ``K`` class names.
        normalize: show each row as fractions of that class (recall per class on the diagonal).

    Returns:
        The ``matplotlib.figure.Figure``.

    Raises:
        ValueError: if ``cm`` is not square, does not match ``classes``, holds negative or
            non-finite counts, or (with ``normalize=True``) a class has no samples (its row
            would be 0/0: use ``normalize=False`` to show the counts).
    """
    cm = np.asarray(torch.as_tensor(cm).cpu(), dtype=float)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] != len(classes):
        raise ValueError(f"cm must be ({len(classes)}, {len(classes)}) for {len(classes)} classes, "
                         f"got {cm.shape}")
    if not np.isfinite(cm).all() or (cm < 0).any():
        raise ValueError("cm must hold counts >= 0 (no NaN or inf); pass the matrix from "
                         "train.confusion_matrix")
    if normalize:
        empty = np.flatnonzero(cm.sum(1) == 0)
        if empty.size:
            k = int(empty[0])
            raise ValueError(f"class {k} ({classes[k]}) has no samples; use normalize=False "
                             f"(a row of fractions would be 0/0)")
    shown = cm / cm.sum(1, keepdims=True) if normalize else cm
    k = len(classes)
    fig, ax = plt.subplots(figsize=(min(COLUMN_INCHES, 0.5 * k + 1.9), min(COLUMN_INCHES, 0.5 * k + 1.1)))
    small = readable_fontsize(fig)
    im = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    ax.set_xticks(range(k), classes, rotation=45, ha="right", fontsize=small + 0.5)
    ax.set_yticks(range(k), classes, fontsize=small + 0.5)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    annotate_cells(ax, im, shown, "{:.2f}" if normalize else "{:.0f}", fontsize=small)
    bar = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    bar.ax.tick_params(labelsize=small + 0.5)
    if title:
        ax.set_title(title, fontsize=small + 2)
    fig.tight_layout()
    return fig


def plot_recorded(recorded: dict, title: Optional[str] = None):
    """Per-epoch curves of every run in a results file: training loss and accuracies.

    Args:
        recorded: content of a results file (:func:`book_utils.results.load_recorded`):
            ``{"runs": {name: {"epochs": [{"epoch", "train_loss", "train_acc",
            "val_acc"?}, ...]}}, "environment": {"device": ...}, "data": ...}``.
        title: optional figure title (default: the recorded device and data).

    Returns:
        The ``matplotlib.figure.Figure`` (x axis: epoch; the file holds epoch means only).

    Raises:
        TypeError: if ``recorded`` is not a results dict.
        ValueError: if no run in it has any epochs, or an epoch lacks the numbers drawn.
    """
    runs_in = recorded.get("runs") if isinstance(recorded, dict) else None
    if not isinstance(runs_in, dict):
        raise TypeError("recorded must be the dict of a results file with a 'runs' mapping "
                        "(book_utils.results.load_recorded)")
    runs = {name: run.get("epochs") for name, run in runs_in.items()
            if isinstance(run, dict) and run.get("epochs")}
    if not runs:
        raise ValueError("the results file holds no per-epoch records to plot")
    needed = ("epoch", "train_loss", "train_acc")
    for name, epochs in runs.items():
        if not all(isinstance(e, dict) and all(k in e for k in needed) for e in epochs):
            raise ValueError(f"run {name!r}: every epoch record needs {needed}; the results "
                             f"file is malformed (re-record it)")
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.4))
    for name, epochs in runs.items():
        xs = [e["epoch"] for e in epochs]
        ax_loss.plot(xs, [e["train_loss"] for e in epochs], label=f"{name} (train)")
        if all("val_acc" in e for e in epochs):
            ax_acc.plot(xs, [100 * e["val_acc"] for e in epochs], label=f"{name} (test)")
        ax_acc.plot(xs, [100 * e["train_acc"] for e in epochs], "--", alpha=0.6,
                    label=f"{name} (train)")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("training loss (epoch mean)")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy (%)")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    env = recorded.get("environment") or {}
    fig.suptitle(title or f"Recorded full run on {env.get('device', '?')} "
                          f"({recorded.get('data', '?')})")
    fig.tight_layout()
    return fig


class LiveHistoryPlot:
    """An ``on_epoch_end`` callback for :func:`~book_utils.train.fit` that redraws
    :func:`plot_history` in one notebook output after every epoch.

    Outside a notebook (no IPython display) it does nothing.
    """

    def __init__(self, title: Optional[str] = None):
        self.title = title
        self._handle = None

    def __call__(self, history) -> None:
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:  # pragma: no cover - IPython comes with Jupyter
            return
        if get_ipython() is None:
            return
        fig = plot_history(history, title=self.title)
        if self._handle is None:
            self._handle = display(fig, display_id=True)
        else:
            self._handle.update(fig)
        plt.close(fig)
