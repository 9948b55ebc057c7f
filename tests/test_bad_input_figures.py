"""Bad arguments to the figure and table helpers (plot, diagrams, summary): each raises a clear
error from book_utils itself that names the argument, instead of a blank figure, a silently
wrong one, or an exception from deep inside matplotlib or torch."""
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from book_utils import diagrams, plot, summary  # noqa: E402
from book_utils.models import LeNet5  # noqa: E402

CLASSES = ["cat", "dog", "bird"]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _history():
    return SimpleNamespace(batch_loss=[2.0, 1.5, 1.2, 1.0, 0.9], batch_epoch=[1] * 5,
                           epochs=[{"epoch": 1, "train_acc": 0.5, "val_acc": 0.4,
                                    "val_loss": 1.1}])


def _images(n=3, c=3):
    return torch.zeros(n, c, 8, 8, dtype=torch.uint8)


# --------------------------------------------------------------------------- plot

PLOT_CASES = [
    (lambda: plot.plot_recorded(None), TypeError, "results file with a 'runs' mapping"),
    (lambda: plot.plot_recorded({"runs": []}), TypeError, "'runs' mapping"),
    (lambda: plot.plot_recorded({"runs": {"x": {"epochs": []}}}), ValueError,
     "no per-epoch records"),
    (lambda: plot.plot_recorded({"runs": {"x": {"epochs": [{"epoch": 1}]}}}), ValueError,
     "run 'x': every epoch record needs"),
    (lambda: plot.plot_history({"batch_loss": [1.0]}), TypeError,
     "history must be a book_utils.train.History.*without batch_loss and epochs"),
    (lambda: plot.plot_history(SimpleNamespace(batch_loss=[1.0, 0.5])), TypeError,
     "without epochs"),
    (lambda: plot.plot_history(SimpleNamespace(batch_loss=[1.0, 0.5], epochs=[
        {"epoch": 1, "train_acc": 0.5, "val_loss": 1.0}])), TypeError, "no batch_epoch"),
    (lambda: plot.plot_history(SimpleNamespace(batch_loss=[], epochs=[])), ValueError,
     "no recorded batches"),
    (lambda: plot.plot_history(_history(), smooth=0), ValueError, "smooth"),
    (lambda: plot.show_images(_images(), [0, 1, 2], ncols=0), ValueError, "ncols must be >= 1"),
    (lambda: plot.show_images(_images(), [0, 1, 2], ncols=2.5), TypeError, "ncols must be an int"),
    (lambda: plot.show_images(_images(), [0, 1, 2], size=0), ValueError, "size must be a positive"),
    (lambda: plot.show_images(torch.zeros(3, 8, 8), [0, 1, 2]), ValueError,
     r"4-D batch \(N, C, H, W\).*got shape \(3, 8, 8\).*unsqueeze\(1\)"),
    (lambda: plot.show_images(torch.zeros(2, 2, 3, 8, 8), [0, 1]), ValueError,
     r"images must be a 4-D batch"),
    (lambda: plot.show_images(_images(c=4), [0, 1, 2]), ValueError,
     r"images\[0\] has shape \(4, 8, 8\).*C = 1 \(grey\) or 3 \(RGB\)"),
    (lambda: plot.show_images([torch.zeros(3, 8, 8), torch.zeros(8, 8)], [0, 1]), ValueError,
     r"images\[1\] has shape \(8, 8\)"),
    (lambda: plot.show_images(5, [0]), TypeError, "images must be a tensor"),
    (lambda: plot.show_images(_images(0), []), ValueError, "got no images"),
    (lambda: plot.show_images(_images(), [0, 1]), ValueError, "3 images but 2 labels"),
    (lambda: plot.show_images(_images(), [0, 1, 3], CLASSES), IndexError,
     r"labels holds 3, outside range\(len\(classes\)\) = range\(3\)"),
    (lambda: plot.show_images(_images(), [0, -1, 2], CLASSES), IndexError, "labels holds -1"),
    (lambda: plot.show_images(_images(), [0, 1, 2], CLASSES, preds=torch.tensor([0, 7, 1])),
     IndexError, "preds holds 7"),
    (lambda: plot.show_images(_images(), [0.0, 1.0, 2.0], CLASSES), TypeError,
     "labels must be integer class indices"),
    (lambda: plot.show_images(_images().float(), [0, 1, 2], mean=(0.5, 0.5), std=(0.2,) * 3),
     ValueError, r"mean must have one entry per channel \(3\), got 2"),
    (lambda: plot.plot_confusion_matrix(np.array([[3, 1, 0], [0, 0, 0], [1, 0, 4]]), CLASSES),
     ValueError, r"class 1 \(dog\) has no samples; use normalize=False"),
    (lambda: plot.plot_confusion_matrix(np.array([[3, -1], [0, 2]]), CLASSES[:2]), ValueError,
     "counts >= 0"),
    (lambda: plot.plot_confusion_matrix(np.array([[3, np.nan], [0, 2]]), CLASSES[:2]), ValueError,
     "no NaN"),
    (lambda: plot.plot_confusion_matrix(np.eye(3), CLASSES[:2]), ValueError, r"cm must be \(2, 2\)"),
]


@pytest.mark.parametrize("call, error, match", PLOT_CASES)
def test_plot(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_good_figures_still_draw():
    fig = plot.show_images([torch.zeros(1, 8, 8), torch.ones(1, 8, 8)], torch.tensor([2, 0]),
                           CLASSES, preds=np.array([2, 1]), ncols=2)
    assert [ax.get_title() for ax in fig.axes] == ["bird", "dog\n(true: cat)"]
    # normalised rows of a matrix where every class has samples: recall on the diagonal
    cm = np.array([[3, 1, 0], [0, 2, 2], [1, 0, 4]])
    fig = plot.plot_confusion_matrix(cm, CLASSES)
    shown = fig.axes[0].images[0].get_array()
    np.testing.assert_allclose(np.diag(shown), [0.75, 0.5, 0.8])
    # an empty row is fine when the counts themselves are shown
    counts = plot.plot_confusion_matrix(np.array([[3, 1], [0, 0]]), CLASSES[:2], normalize=False)
    assert counts.axes[0].images[0].get_array()[1].tolist() == [0, 0]


def test_show_images_titles_name_wrong_predictions():
    fig = plot.show_images(_images(2), [0, 1], CLASSES, preds=[0, 2])
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["cat", "bird\n(true: dog)"]


# --------------------------------------------------------------------------- diagrams

def _ax():
    return plt.subplots(figsize=(6, 2))[1]


def _lenet_table():
    return summary.layer_table(LeNet5(), (1, 1, 28, 28))


DIAGRAM_CASES = [
    (lambda: diagrams.draw_pipeline("ax", [diagrams.Stage("x")]), TypeError,
     "ax must be a matplotlib Axes"),
    (lambda: diagrams.draw_pipeline(plt.figure(), [diagrams.Stage("x")]), TypeError,
     "ax must be a matplotlib Axes.*got Figure"),
    (lambda: diagrams.draw_residual_block(None), TypeError, "ax must be a matplotlib Axes"),
    (lambda: diagrams.draw_depthwise_separable(np.zeros(2)), TypeError,
     "ax must be a matplotlib Axes"),
    (lambda: diagrams.Stage("C1", size=0), ValueError, r"Stage.size .* must be >= 1"),
    (lambda: diagrams.Stage("C1", size=2.5), TypeError, r"Stage.size .* must be an integer"),
    (lambda: diagrams.Stage("C1", size=True), TypeError, r"Stage.size"),
    (lambda: diagrams.Stage(3), TypeError, "label and detail must be strings"),
    (lambda: diagrams.draw_pipeline(_ax(), [("C1", "6@28x28")]), TypeError,
     "stages must be Stage objects"),
    (lambda: diagrams.draw_pipeline(_ax(), [diagrams.Stage("x", size=4)], max_size=0), ValueError,
     "max_size must be >= 1"),
    (lambda: diagrams.draw_pipeline(_ax(), [diagrams.Stage("x")], box_width=0), ValueError,
     "box_width must be > 0"),
    (lambda: diagrams.stages_from_table(str(_lenet_table())), TypeError,
     "table must be a summary.LayerTable.*got str"),
    (lambda: diagrams.stages_from_table(_lenet_table().rows), TypeError,
     "table must be a summary.LayerTable"),
    (lambda: diagrams.draw_depthwise_separable(_ax(), channels=0), ValueError,
     "channels must be >= 1"),
    (lambda: diagrams.draw_depthwise_separable(_ax(), out_channels=-2), ValueError,
     "out_channels must be >= 1"),
    (lambda: diagrams.draw_depthwise_separable(_ax(), channels=2.0), TypeError,
     "channels must be an integer"),
]


@pytest.mark.parametrize("call, error, match", DIAGRAM_CASES)
def test_diagrams(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_good_diagrams_still_draw():
    stages = diagrams.stages_from_table(_lenet_table())
    assert stages[0] == diagrams.Stage("input", "1 ch\n28x28", "input", 28)
    ax = diagrams.draw_pipeline(_ax(), stages)
    assert len([p for p in ax.patches if type(p).__name__ == "Rectangle"]) == len(stages)
    ax = diagrams.draw_depthwise_separable(_ax(), channels=1, out_channels=1)
    assert ax.patches


# --------------------------------------------------------------------------- summary

SUMMARY_CASES = [
    (lambda: summary.layer_table(LeNet5(), "28"), TypeError,
     r"input_size must be a shape such as \(1, 3, 32, 32\).*got str '28'"),
    (lambda: summary.layer_table(LeNet5(), (1, 1, 28.0, 28.0)), TypeError,
     r"input_size must hold ints.*got 28.0 \(float\)"),
    (lambda: summary.layer_table(LeNet5(), (1, True, 28, 28)), TypeError,
     "input_size must hold ints"),
    (lambda: summary.layer_table(LeNet5(), 28), TypeError, "input_size must be a shape"),
    (lambda: summary.count_macs(LeNet5(), "1x1x28x28"), TypeError, "input_size must be a shape"),
    (lambda: summary.layer_table(LeNet5(), (1, 0, 28, 28)), ValueError, "input_size"),
    (lambda: summary.layer_table(nn.Linear(4, 2), (1, 5)), ValueError,
     r"model cannot run on input_size=\(1, 5\): mat1 and mat2 .*pass the \(B, C, H, W\) it "
     r"expects"),
    (lambda: summary.count_macs(nn.Conv2d(3, 8, 3), (1, 1, 8, 8)), ValueError,
     r"model cannot run on input_size=\(1, 1, 8, 8\): .*channels"),
    (lambda: summary.layer_table(nn.Conv2d(3, 8, 3), torch.zeros(1, 3, 2, 2)), ValueError,
     r"model cannot run on input_size=a torch.float32 tensor \(1, 3, 2, 2\)"),
    (lambda: summary.layer_table(nn.Conv2d(3, 4, 3), torch.zeros(1, 3, 8, 8, dtype=torch.int64)),
     ValueError, r"input_size=a torch.int64 tensor \(1, 3, 8, 8\): .*a float tensor"),
]


@pytest.mark.parametrize("call, error, match", SUMMARY_CASES)
def test_summary(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_summary_accepts_every_form_of_a_good_shape():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten())
    expected = 4 * 6 * 6 * 27
    for size in [(1, 3, 8, 8), [1, 3, 8, 8], torch.Size([1, 3, 8, 8]),
                 tuple(np.array([1, 3, 8, 8])), torch.zeros(1, 3, 8, 8)]:
        assert summary.count_macs(model, size) == expected
    # the failing model is left as it was: training flag restored, no hooks left behind
    model.train()
    with pytest.raises(ValueError, match="cannot run"):
        summary.layer_table(model, (1, 2, 8, 8))
    assert model.training
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
