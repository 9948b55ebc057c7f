"""Plots shared by the pages: training curves, image grids, confusion matrices.

All labels are English so that no CJK font is needed. Every function returns the matplotlib
``Figure`` it drew (the notebook shows it).
"""
from __future__ import annotations

from typing import Optional, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch


def plot_history(history, title: Optional[str] = None, smooth: int = 20):
    """Loss per batch (with a moving average) and per-epoch accuracy.

    Args:
        history: a :class:`book_utils.train.History` (or anything with ``batch_loss`` and
            ``epochs``).
        title: optional figure title.
        smooth: window (in batches) of the moving average drawn over the raw batch losses.

    Returns:
        The ``matplotlib.figure.Figure``.

    Raises:
        ValueError: if the history holds no batches.
    """
    losses = np.asarray(history.batch_loss, dtype=float)
    if losses.size == 0:
        raise ValueError("the history has no recorded batches; train for at least one epoch first")
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.6))
    steps = np.arange(1, losses.size + 1)
    ax_loss.plot(steps, losses, color="tab:blue", alpha=0.3, lw=0.8, label="batch loss")
    w = max(1, min(smooth, losses.size))
    if w > 1:
        avg = np.convolve(losses, np.ones(w) / w, mode="valid")
        ax_loss.plot(steps[w - 1:], avg, color="tab:blue", lw=2, label=f"moving average ({w} batches)")
    epochs = history.epochs
    if epochs:
        ends = np.cumsum([history.batch_epoch.count(e["epoch"]) for e in epochs])
        if "val_loss" in epochs[0]:
            ax_loss.plot(ends, [e["val_loss"] for e in epochs], "o-", color="tab:orange",
                         label="test loss (per epoch)")
    ax_loss.set_xlabel("training step (batch)")
    ax_loss.set_ylabel("cross-entropy loss")
    ax_loss.legend(fontsize=8)
    ax_loss.grid(alpha=0.3)
    if epochs:
        xs = [e["epoch"] for e in epochs]
        ax_acc.plot(xs, [100 * e["train_acc"] for e in epochs], "o-", label="train")
        if "val_acc" in epochs[0]:
            ax_acc.plot(xs, [100 * e["val_acc"] for e in epochs], "s-", label="test")
        ax_acc.set_xticks(xs)
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy (%)")
    ax_acc.legend(fontsize=8)
    ax_acc.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


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
        ncols: images per row.

    Returns:
        The ``matplotlib.figure.Figure``.

    Raises:
        ValueError: if ``labels`` (or ``preds``) do not match the number of images, or there
            are no images.
    """
    n = len(images)
    if n == 0:
        raise ValueError("show_images() got no images")
    if len(labels) != n or (preds is not None and len(preds) != n):
        raise ValueError(f"got {n} images but {len(labels)} labels"
                         + ("" if preds is None else f" and {len(preds)} predictions"))
    name = (lambda k: str(classes[int(k)])) if classes is not None else (lambda k: str(int(k)))
    ncols = max(1, min(ncols, n))
    nrows = (n + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.3), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k >= n:
            continue
        img = _to_display(images[k], mean, std)
        ax.imshow(img, cmap="gray" if img.ndim == 2 else None, interpolation="nearest")
        if preds is None:
            ax.set_title(name(labels[k]), fontsize=8)
        else:
            ok = int(preds[k]) == int(labels[k])
            ax.set_title(f"{name(preds[k])}\n(true: {name(labels[k])})" if not ok else name(preds[k]),
                         fontsize=8, color="black" if ok else "tab:red")
    if title:
        fig.suptitle(title, fontsize=10)
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
        ValueError: if ``cm`` is not square or does not match ``classes``.
    """
    cm = np.asarray(torch.as_tensor(cm).cpu(), dtype=float)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] != len(classes):
        raise ValueError(f"cm must be ({len(classes)}, {len(classes)}) for {len(classes)} classes, "
                         f"got {cm.shape}")
    shown = cm / np.maximum(cm.sum(1, keepdims=True), 1) if normalize else cm
    k = len(classes)
    fig, ax = plt.subplots(figsize=(0.55 * k + 2, 0.5 * k + 1.5))
    im = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    ax.set_xticks(range(k), classes, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(k), classes, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(k):
        for j in range(k):
            v = shown[i, j]
            ax.text(j, i, f"{v:.2f}" if normalize else f"{int(v)}", ha="center", va="center",
                    fontsize=6.5, color="white" if (v > 0.5 * (shown.max() or 1)) else "black")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
