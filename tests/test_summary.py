"""book_utils.summary: per-layer shapes, parameters and MACs of the traced forward pass."""
import pytest
import torch
from torch import nn

from book_utils.models import LeNet5
from book_utils.summary import count_macs, describe_module, layer_table


def test_lenet_rows_and_totals():
    model = LeNet5(activation="tanh", pooling="avg", input_size=32)
    table = layer_table(model, (2, 1, 32, 32))
    c1 = table.row("c1")
    assert c1.kind == "Conv2d" and c1.output_shape == (6, 28, 28) and c1.params == 156
    assert c1.macs == 2 * 6 * 28 * 28 * 1 * 5 * 5              # batch of 2, bias not counted
    assert table.row("f6").macs == 2 * 120 * 84
    assert table.total_params == sum(p.numel() for p in model.parameters()) == 61706
    assert table.total_macs == sum(r.macs for r in table.rows)
    assert table.output_shape == (2, 10)
    # the shared activation module is called four times: four rows, parameters shown once
    assert [r.name for r in table.rows].count("act") == 4
    text = str(table)
    assert text.splitlines()[-1].startswith("total") and "61,706" in text and "5x5/1, 1->6" in text
    short = table.to_text(show_type=False, skip=(nn.Tanh,))
    assert "Tanh" not in short and "Conv2d" not in short
    assert len(short.splitlines()) == len(text.splitlines()) - 4       # four activation rows left out


def test_depth_selection_and_meta_device():
    with torch.device("meta"):
        model = nn.Sequential(nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU()), nn.Flatten(), nn.Linear(8 * 30 * 30, 5))
    table = layer_table(model, (1, 3, 32, 32), depth=1)
    assert [r.name for r in table.rows] == ["0", "1", "2"]
    assert table.rows[0].macs == 8 * 30 * 30 * 27
    assert [r.name for r in layer_table(model, (1, 3, 32, 32)).rows] == ["0.0", "0.1", "1", "2"]
    assert count_macs(model, (1, 3, 32, 32)) == 8 * 30 * 30 * 27 + 8 * 30 * 30 * 5


def test_training_flag_is_restored():
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    model.train()
    layer_table(model, (1, 4))
    assert model.training


def test_describe_module():
    assert describe_module(nn.Conv2d(96, 256, 5, padding=2, groups=2)) == "5x5/1, 96->256, p2, g2"
    assert describe_module(nn.MaxPool2d(3, 2)) == "3x3/2 max"
    assert describe_module(nn.Linear(9216, 4096)) == "9216->4096"
    assert describe_module(nn.ReLU()) == ""


def test_errors():
    with pytest.raises(TypeError, match="nn.Module"):
        layer_table("LeNet", (1, 1, 28, 28))
    with pytest.raises(ValueError, match="input_size"):
        layer_table(LeNet5(), (28,))
    with pytest.raises(ValueError, match="unknown module name"):
        layer_table(LeNet5(), (1, 1, 28, 28), names=["c9"])
    with pytest.raises(ValueError, match="depth"):
        layer_table(LeNet5(), (1, 1, 28, 28), depth=0)
    with pytest.raises(ValueError, match="expects a batch"):           # the model's own check
        layer_table(LeNet5(), (1, 1, 32, 32))


def _widest(text):
    return max(len(line) for line in text.splitlines())


def test_tables_fit_80_columns_and_keep_params_and_macs():
    from book_utils.models import AlexNet, MobileNetV1, YOLOv1

    alexnet = layer_table(AlexNet(num_classes=1000), (1, 3, 227, 227))
    with torch.device("meta"):
        yolo = layer_table(YOLOv1(num_classes=20, grid_size=7, num_boxes=2), (1, 3, 448, 448), depth=2)
    mobile = layer_table(MobileNetV1(num_classes=1000), (1, 3, 224, 224), depth=2)
    for table, text in [(alexnet, alexnet.to_text(skip=(nn.ReLU, nn.Dropout))), (yolo, str(yolo)),
                        (mobile, str(mobile))]:
        assert _widest(text) <= 80, text
        head = text.splitlines()[0].split()
        assert head[-2:] == ["params", "MACs"]
        assert any(line.startswith("total") and f"{table.total_params:,}" in line
                   for line in text.splitlines())
        for row in table.rows:
            if row.params:
                assert f"{row.params:,}" in text         # parameter counts are never shortened
    # AlexNet needs abbreviations and MACs in millions; the key lines say so
    text = alexnet.to_text(skip=(nn.ReLU, nn.Dropout))
    assert "LRN = LocalResponseNorm" in text and "MACs in millions (M)" in text
    conv1 = alexnet.row("features.0")
    assert conv1.macs == 96 * 55 * 55 * 3 * 11 * 11
    assert "105.4M" in text
    # MobileNet keeps exact MACs: abbreviated type names are enough to fit
    assert "568,740,352" in str(mobile) and "DWSepConv = DepthwiseSeparableConv2d" in str(mobile)
    assert "dw 3x3/2, 64->128" in str(mobile)


def test_full_width_table_and_width_errors():
    from book_utils.models import AlexNet

    table = layer_table(AlexNet(num_classes=1000), (1, 3, 227, 227))
    full = table.to_text(width=None)
    assert "LocalResponseNorm" in full and "105,415,200" in full and _widest(full) > 80
    assert "96x55x55" in full                           # shapes in the notation of the config
    narrow = table.to_text(width=60)
    assert _widest(narrow) <= 60
    assert narrow.splitlines()[0].split() == ["layer", "output", "params", "MACs"]   # type, config left out
    for bad in (0, -3, 2.5, True, "80"):
        with pytest.raises(ValueError, match="width"):
            table.to_text(width=bad)
