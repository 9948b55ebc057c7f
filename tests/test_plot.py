"""book_utils.plot: figures readable at the book's column width, short runs drawn sensibly."""
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from book_utils import plot  # noqa: E402

CIFAR = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _history(n_epochs, per_epoch=40, val=True):
    n = n_epochs * per_epoch
    epochs = []
    for e in range(n_epochs):
        rec = {"epoch": e + 1, "train_acc": 0.5 + 0.05 * e}
        if val:
            rec.update(val_acc=0.55 + 0.05 * e, val_loss=1.0 - 0.1 * e)
        epochs.append(rec)
    return SimpleNamespace(batch_loss=list(np.linspace(2.3, 0.4, n)), epochs=epochs,
                           batch_epoch=[e + 1 for e in range(n_epochs) for _ in range(per_epoch)])


def _legend_lines(ax):
    """Legend labels, and for each the data points of the line it names."""
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    legend = ax.get_legend()
    return {t.get_text(): len(lines[t.get_text()].get_xdata()) for t in legend.get_texts()} if legend else {}


def test_one_epoch_run_drawn_as_bars_not_a_dot():
    fig = plot.plot_history(_history(1))
    ax_loss, ax_acc = fig.axes
    assert [round(p.get_height(), 6) for p in ax_acc.patches] == [50.0, 55.0]   # train, test bars
    assert ax_acc.get_xlabel() == "after one epoch"
    assert not ax_acc.get_lines()                                               # no lone dot
    assert {t.get_text() for t in ax_acc.texts} == {"50.0%", "55.0%"}
    plt.close(fig)


def test_several_epochs_drawn_as_lines():
    fig = plot.plot_history(_history(4))
    ax_acc = fig.axes[1]
    assert [len(ln.get_xdata()) for ln in ax_acc.get_lines()] == [4, 4]
    assert list(ax_acc.get_lines()[1].get_ydata()) == pytest.approx([55, 60, 65, 70])
    plt.close(fig)


def test_legend_names_only_drawn_lines():
    for n_batches in (1, 3, 7, 200):
        history = SimpleNamespace(batch_loss=list(np.linspace(2, 1, n_batches)), batch_epoch=[1] * n_batches,
                                  epochs=[{"epoch": 1, "train_acc": 0.3}])
        fig = plot.plot_history(history, smooth=20)
        entries = _legend_lines(fig.axes[0])
        assert "batch loss" in entries
        for label, points in entries.items():
            line = next(ln for ln in fig.axes[0].get_lines() if ln.get_label() == label)
            assert points >= 2 or line.get_marker() not in (None, "None", ""), (n_batches, label)
        averaged = [label for label in entries if label.startswith("mean of")]
        assert averaged == ([] if n_batches < 4 else [f"mean of {min(20, n_batches // 2)} batches"])
        plt.close(fig)


def test_text_readable_at_column_width():
    figs = {
        "history": plot.plot_history(_history(3), title="LeNet-5 (hand-written layers) on MNIST, profile: quick"),
        "one epoch": plot.plot_history(_history(1)),
        "grid": plot.show_images(torch.zeros(16, 3, 32, 32, dtype=torch.uint8), [1] * 16, CIFAR,
                                 preds=[0] * 8 + [1] * 8, ncols=8, title="misclassified"),
        "digits": plot.show_images(torch.zeros(16, 1, 28, 28), list(range(10)) + [0] * 6, ncols=8),
        "confusion": plot.plot_confusion_matrix(np.eye(10) * 90 + 1, CIFAR, title="confusion"),
        "counts": plot.plot_confusion_matrix(np.eye(10) * 900 + 3, CIFAR, normalize=False),
    }
    for name, fig in figs.items():
        smallest, text = plot.figure_text_px(fig)[0]
        assert smallest >= plot.MIN_TEXT_PX, f"{name}: {text!r} is {smallest:.1f} px"
        assert fig.get_figwidth() <= plot.COLUMN_INCHES + 1e-9, name
        plt.close(fig)


def test_figure_text_px_accounts_for_scaling():
    fig = plt.figure(figsize=(13.76, 2), dpi=100)       # twice the column: shown at about half size
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.text(0.0, 0.5, "left", fontsize=10)
    ax.text(1.0, 0.5, "right", fontsize=10, ha="right")
    sizes = plot.figure_text_px(fig)
    assert [t for _, t in sizes] == ["left", "right"]            # hidden axis: no tick labels
    scale = plot.display_scale(fig)
    assert 0.4 < scale < 0.6
    assert sizes[0][0] == pytest.approx(10 * 100 / 72 * scale)
    assert plot.readable_fontsize(fig, px=11) == pytest.approx(11 * 72 / (100 * 688 / 1376))
    plt.close(fig)


def test_show_images_fewer_columns_for_long_titles():
    images = torch.zeros(16, 3, 32, 32, dtype=torch.uint8)
    short = plot.show_images(images, [0] * 16, ["a"], ncols=8)
    long = plot.show_images(images, [1] * 16, CIFAR, preds=[0] * 16, ncols=8)
    cols = lambda f: len({round(ax.get_position().x0, 3) for ax in f.axes})  # noqa: E731
    assert cols(short) == 8 and cols(long) < 8
    assert len(long.axes) % cols(long) == 0 or len(long.axes) >= 16
    plt.close("all")


def test_numbers_white_on_dark_cells():
    assert plot.contrast_text_color(plt.get_cmap("Blues")(1.0)) == "white"
    assert plot.contrast_text_color(plt.get_cmap("Blues")(0.0)) == "black"
    assert plot.contrast_text_color(plt.get_cmap("coolwarm")(1.0)) == "white"     # dark red
    assert plot.contrast_text_color(plt.get_cmap("coolwarm")(0.5)) == "black"     # light grey
    fig = plot.plot_confusion_matrix(np.eye(3) * 98 + 1, ["a", "b", "c"])
    ax = fig.axes[0]
    colors = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_color() for t in ax.texts}
    assert colors[(0, 0)] == "white" and colors[(0, 1)] == "black"
    plt.close(fig)


def test_annotate_cells():
    fig, ax = plt.subplots(figsize=(3, 3))
    values = np.array([[-3.0, 0.0], [1.5, 3.0]])
    im = ax.imshow(values, cmap="coolwarm", vmin=-3, vmax=3)
    texts = plot.annotate_cells(ax, im)
    assert [t.get_text() for t in texts] == ["-3", "0", "1.5", "3"]
    assert [t.get_color() for t in texts] == ["white", "black", "black", "white"]
    with pytest.raises(ValueError, match="values must be 2-D"):
        plot.annotate_cells(ax, im, np.zeros(3))
    plt.close(fig)


def test_errors():
    with pytest.raises(ValueError, match="no recorded batches"):
        plot.plot_history(SimpleNamespace(batch_loss=[], batch_epoch=[], epochs=[]))
    with pytest.raises(ValueError, match="smooth"):
        plot.plot_history(_history(1), smooth=0)
    with pytest.raises(ValueError, match="labels"):
        plot.show_images(torch.zeros(2, 1, 4, 4), [0])
    with pytest.raises(ValueError, match="cm must be"):
        plot.plot_confusion_matrix(np.zeros((2, 3)), ["a", "b"])
