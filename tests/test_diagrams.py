"""book_utils.diagrams: the figures draw what the tables say (boxes, labels) and reject bad input."""
import functools

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from book_utils import diagrams  # noqa: E402
from book_utils.models import LeNet5  # noqa: E402
from book_utils.summary import layer_table  # noqa: E402


@pytest.fixture
def lenet_table():
    return layer_table(LeNet5(input_size=32), (1, 1, 32, 32),
                       names=["c1", "s2", "c3", "s4", "c5", "f6", "output"])


def test_stages_from_table(lenet_table):
    stages = diagrams.stages_from_table(lenet_table, labels=["C1", "S2", "C3", "S4", "C5", "F6", "out"])
    assert [s.label for s in stages] == ["input", "C1", "S2", "C3", "S4", "C5", "F6", "out"]
    assert stages[1].detail == "6 ch\n28x28" and stages[1].kind == "conv" and stages[1].size == 28
    assert stages[2].kind == "pool" and stages[6].kind == "fc" and stages[-1].kind == "output"
    assert stages[5].size is None                      # C5 is 120x1x1: drawn as a vector
    chosen = diagrams.stages_from_table(lenet_table, names=["c1", "f6"])
    assert [s.label for s in chosen] == ["input", "c1", "f6"]


def test_draw_pipeline_draws_one_box_per_stage(lenet_table):
    stages = diagrams.stages_from_table(lenet_table)
    fig, ax = plt.subplots()
    diagrams.draw_pipeline(ax, stages, title="LeNet-5")
    boxes = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(boxes) == len(stages)
    heights = [b.get_height() for b in boxes]
    assert heights[0] > heights[1] > heights[3] > heights[5]       # 32 > 28 > 10 > vector
    texts = [t.get_text() for t in ax.texts]
    assert "c1" in texts and "6 ch\n28x28" in texts
    plt.close(fig)


def test_other_figures_and_errors(lenet_table):
    fig, axes = plt.subplots(1, 3)
    diagrams.draw_residual_block(axes[0], projection=False)
    diagrams.draw_residual_block(axes[1], projection=True)
    diagrams.draw_depthwise_separable(axes[2], channels=3, out_channels=4)
    assert any("projection" in t.get_text() for t in axes[1].texts)
    assert any("identity" in t.get_text() for t in axes[0].texts)
    with pytest.raises(ValueError, match="empty"):
        diagrams.draw_pipeline(axes[0], [])
    with pytest.raises(ValueError, match="unknown stage kind"):
        diagrams.draw_pipeline(axes[0], [diagrams.Stage("x", kind="magic")])
    with pytest.raises(ValueError, match="labels"):
        diagrams.stages_from_table(lenet_table, labels=["only one"])
    with pytest.raises(ValueError, match="unknown row"):
        diagrams.stages_from_table(lenet_table, names=["c9"])
    plt.close(fig)


@functools.lru_cache(maxsize=1)
def _alexnet_stages():
    from book_utils.models import AlexNet

    table = layer_table(AlexNet(num_classes=1000), (1, 3, 227, 227))
    rows = [f"features.{i}" for i in (0, 3, 4, 7, 8, 10, 12, 14)] + [f"classifier.{i}" for i in (1, 4, 6)]
    labels = ["conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5", "pool5", "fc6", "fc7", "fc8"]
    return diagrams.stages_from_table(table, rows, labels)


@pytest.mark.parametrize("figsize, dpi", [((10, 3.0), 80), ((9, 3), 100), ((6.8, 2.4), 100), ((14, 3), 100)])
def test_figure_text_readable_in_the_column(lenet_table, figsize, dpi):
    """As the pages draw them (their figure sizes and dpi): no text under 9 px at 688 px."""
    from book_utils import plot

    fig, axes = plt.subplots(2, 1, figsize=(figsize[0], 2 * figsize[1]), dpi=dpi)
    diagrams.draw_pipeline(axes[0], diagrams.stages_from_table(lenet_table), title="LeNet-5", max_size=227)
    diagrams.draw_pipeline(axes[1], _alexnet_stages(), title="AlexNet", max_size=227)
    smallest, text = plot.figure_text_px(fig)[0]
    assert smallest >= plot.MIN_TEXT_PX, f"{text!r} shows at {smallest:.1f} px"
    plt.close(fig)
    for draw in (lambda ax: diagrams.draw_residual_block(ax, projection=True),
                 lambda ax: diagrams.draw_depthwise_separable(ax, channels=3, out_channels=4)):
        fig, ax = plt.subplots(figsize=figsize, dpi=dpi)
        draw(ax)
        smallest, text = plot.figure_text_px(fig)[0]
        assert smallest >= plot.MIN_TEXT_PX, f"{text!r} shows at {smallest:.1f} px"
        plt.close(fig)


def test_crowded_labels_do_not_overlap():
    """Many stages in a narrow figure: labels shrink to the minimum, then stagger; none overlap."""
    stages = [diagrams.Stage("input", "3 ch\n448x448", "input", 448)]
    stages += [diagrams.Stage(f"stage{i}", f"1024 ch\n{448 >> i}x{448 >> i}", "block", 448 >> i) for i in range(1, 9)]
    stages.append(diagrams.Stage("post-\nprocessing", "decode\n+ NMS", "output"))
    fig, ax = plt.subplots(figsize=(6.8, 2.6), dpi=100)
    diagrams.draw_pipeline(ax, stages)
    renderer = fig.canvas.get_renderer()
    labels = [t for t in ax.texts if t.get_text() in {s.label for s in stages}]
    assert len(labels) == len(stages)
    by_x = sorted(labels, key=lambda t: t.get_position()[0])
    boxes = [t.get_window_extent(renderer) for t in by_x]
    for a, b in zip(boxes, boxes[1:]):
        assert a.x1 <= b.x0 or a.y1 <= b.y0 or b.y1 <= a.y0, "neighbouring labels overlap"
    assert len({round(t.get_position()[1], 6) for t in by_x}) == 2        # staggered in two rows
    plt.close(fig)


def test_fontsize_argument():
    fig, ax = plt.subplots()
    diagrams.draw_pipeline(ax, [diagrams.Stage("a"), diagrams.Stage("b")], fontsize=12, legend=False)
    assert {t.get_fontsize() for t in ax.texts if t.get_text() in "ab"} == {12}
    with pytest.raises(ValueError, match="fontsize"):
        diagrams.draw_pipeline(ax, [diagrams.Stage("a")], fontsize=0)
    with pytest.raises(ValueError, match="fontsize"):
        diagrams.draw_residual_block(ax, fontsize=-1)
    plt.close(fig)
