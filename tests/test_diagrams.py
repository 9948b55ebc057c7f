"""book_utils.diagrams: the figures draw what the tables say (boxes, labels) and reject bad input."""
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
