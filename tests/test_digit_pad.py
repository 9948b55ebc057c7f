"""book_utils.digit_pad: the shipped LeNet-5 weights, the digit preparation, the pad's HTML.

The JavaScript itself (forward pass, preparation, drawing) is checked in a real browser by
tests/browser/test_digit_pad.py; here the Python side: float16 weights written and read back,
the PyTorch model with those weights, the MNIST-style preparation against hand-computed
values and against MNIST itself, the HTML's contents and size.
"""
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from book_utils import digit_pad
from book_utils.models import LeNet5


@pytest.fixture
def state():
    torch.manual_seed(0)
    return LeNet5().state_dict()


@pytest.fixture
def samples():
    images = torch.arange(10 * 784, dtype=torch.int64).remainder(256).to(torch.uint8)
    return digit_pad.sample_spec(images.view(10, 28, 28), list(range(10)), list(range(10, 20)))


def test_weights_round_trip_is_float16_rounding(tmp_path, state):
    path = tmp_path / "w.json"
    content = digit_pad.save_weights(state, path, source="test")
    loaded = digit_pad.load_weights(path)
    assert list(loaded) == list(digit_pad.TENSOR_SHAPES)
    for name, tensor in state.items():
        assert loaded[name].dtype == torch.float32
        assert torch.equal(loaded[name], tensor.half().float())
        assert 0 < (loaded[name] - tensor).abs().max() <= tensor.abs().max() * 2 ** -11
    assert content["model"] == digit_pad.MODEL_VARIANT and content["source"] == "test"
    n_params = sum(t.numel() for t in state.values())
    assert n_params == 61_706
    # 2 bytes a value, base64 (4/3) and short lines: well under the page budget
    assert path.stat().st_size < 2 * n_params * 4 / 3 * 1.15 + 2000
    assert max(len(line) for line in path.read_text().splitlines()) <= 100


def test_shipped_model_holds_the_rounded_numbers(tmp_path, state):
    path = tmp_path / "w.json"
    digit_pad.save_weights(state, path)
    model = digit_pad.shipped_model(path)
    assert not model.training
    x = torch.rand(3, 1, 28, 28)
    reference = LeNet5()
    reference.load_state_dict(digit_pad.round_state_dict(state))
    assert torch.equal(model(x), reference.eval()(x))
    assert digit_pad.shipped_model(path, torch.float64).c1.weight.dtype == torch.float64


def test_bad_state_dicts_are_refused(state):
    with pytest.raises(TypeError, match="dict of tensors"):
        digit_pad.check_state_dict([1, 2])
    missing = {k: v for k, v in state.items() if k != "f6.bias"}
    with pytest.raises(ValueError, match=r"missing \['f6.bias'\]"):
        digit_pad.check_state_dict(missing)
    with pytest.raises(ValueError, match=r"c1.weight has shape \(6, 1, 3, 3\)"):
        digit_pad.check_state_dict({**state, "c1.weight": torch.zeros(6, 1, 3, 3)})
    nan = state["c3.bias"].clone()
    nan[0] = float("nan")
    with pytest.raises(ValueError, match="c3.bias holds NaN"):
        digit_pad.check_state_dict({**state, "c3.bias": nan})
    with pytest.raises(ValueError, match="float16's range"):
        digit_pad.round_state_dict({**state, "c5.bias": torch.full((120,), 1e5)})


def test_bad_weight_files_are_refused(tmp_path, state):
    with pytest.raises(FileNotFoundError, match="record_lenet.py"):
        digit_pad.load_weights(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        digit_pad.load_weights(bad)
    bad.write_text(json.dumps({"schema": 99}))
    with pytest.raises(ValueError, match="not a LeNet-5 weights file"):
        digit_pad.load_weights(bad)
    good = tmp_path / "w.json"
    content = digit_pad.save_weights(state, good)
    content["tensors"][2]["shape"] = [16, 6, 3, 3]
    bad.write_text(json.dumps(content))
    with pytest.raises(ValueError, match="c3.weight has shape"):
        digit_pad.load_weights(bad)
    content["tensors"] = content["tensors"][:-1]
    bad.write_text(json.dumps(content))
    with pytest.raises(ValueError, match="holds tensors"):
        digit_pad.load_weights(bad)


def test_area_matrix_values():
    # 3 pixels -> 2: each output covers 1.5 input pixels
    m = digit_pad.area_matrix(3, 2)
    assert np.allclose(m, [[2 / 3, 1 / 3, 0], [0, 1 / 3, 2 / 3]])
    assert np.allclose(digit_pad.area_matrix(5, 5), np.eye(5))
    assert np.allclose(digit_pad.area_matrix(7, 3).sum(1), 1)
    # whole-number ratios: the same as average pooling
    x = torch.rand(40, 60, dtype=torch.float64)
    ours = digit_pad.area_matrix(40, 20) @ x.numpy() @ digit_pad.area_matrix(60, 20).T
    ref = F.avg_pool2d(x[None, None], (2, 3))[0, 0].numpy()
    assert np.allclose(ours, ref)
    with pytest.raises(ValueError, match="positive"):
        digit_pad.area_matrix(0, 3)


def test_prepare_a_rectangle():
    gray = np.zeros((200, 300))
    gray[20:120, 40:90] = 1.0                       # 100 tall, 50 wide
    out = digit_pad.prepare_drawing(gray)
    assert out.shape == (28, 28)
    rows, cols = np.nonzero(out > 0)
    assert rows.max() - rows.min() + 1 == 20 and cols.max() - cols.min() + 1 == 10
    assert out.sum() == pytest.approx(200) and out.max() == pytest.approx(1)
    cy = (out.sum(1) * (np.arange(28) + 0.5)).sum() / out.sum()
    cx = (out.sum(0) * (np.arange(28) + 0.5)).sum() / out.sum()
    assert (cy, cx) == (pytest.approx(14), pytest.approx(14))


def test_prepare_blank_and_bad_input():
    assert digit_pad.prepare_drawing(np.zeros((50, 50))) is None
    assert digit_pad.prepare_drawing(np.full((50, 50), digit_pad.INK_THRESHOLD)) is None
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        digit_pad.prepare_drawing(np.zeros((2, 5, 5)))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        digit_pad.prepare_drawing(np.full((5, 5), 255.0))


def test_shipped_weights_score_as_recorded(real_data_root, monkeypatch):
    """The shipped file: the recorded run's model, its float16 accuracy as the file says."""
    from book_utils import data, results
    monkeypatch.setenv("CNN_BOOK_DATA", str(real_data_root))
    content = digit_pad.read_weights_file()
    record = results.load_recorded("lenet")["runs"]["lenet5-relu-max"]
    assert content["model"] == digit_pad.MODEL_VARIANT == record["weights"]["model"]
    assert content["test_accuracy_float32"] == record["test_accuracy"]
    test = data.load_mnist("test")
    x = (test.images.float().div(255).view(-1, 1, 28, 28) - data.MNIST_MEAN[0]) / data.MNIST_STD[0]
    with torch.no_grad():
        preds = digit_pad.shipped_model()(x).argmax(1)
    accuracy = float((preds == test.labels).double().mean())
    assert accuracy == pytest.approx(content["test_accuracy_float16"], abs=1e-6)
    assert abs(accuracy - record["test_accuracy"]) <= 0.001     # rounding costs < 0.1 point


def test_mnist_digits_drawn_large_are_prepared_back(real_data_root, monkeypatch):
    """An MNIST digit blown up 10x (a 'drawing') comes back centred and still recognised."""
    from book_utils import data
    monkeypatch.setenv("CNN_BOOK_DATA", str(real_data_root))
    test = data.load_mnist("test")
    images, labels = test.images[:200, 0].double() / 255, test.labels[:200]
    prepared = []
    for img in images:
        big = img.repeat_interleave(10, 0).repeat_interleave(10, 1).numpy()
        out = digit_pad.prepare_drawing(big)
        rows = np.nonzero(out.max(1) > digit_pad.INK_THRESHOLD)[0]
        cols = np.nonzero(out.max(0) > digit_pad.INK_THRESHOLD)[0]
        assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 in (19, 20, 21)
        cy = (out.sum(1) * (np.arange(28) + 0.5)).sum() / out.sum()
        assert abs(cy - 14) <= 0.5
        prepared.append(torch.from_numpy(out))
    x = (torch.stack(prepared).float().unsqueeze(1) - data.MNIST_MEAN[0]) / data.MNIST_STD[0]
    with torch.no_grad():
        preds = digit_pad.shipped_model()(x).argmax(1)
    assert float((preds == labels).double().mean()) >= 0.97


def test_sample_spec_and_first_of_each_class(samples):
    assert [d["label"] for d in samples["digits"]] == list(range(10))
    assert samples["digits"][3]["index"] == 13
    raw = np.frombuffer(__import__("base64").b64decode(samples["digits"][1]["pixels"]), np.uint8)
    assert raw.shape == (784,) and raw[0] == 784 % 256
    assert digit_pad.first_of_each_class(torch.tensor([3, 1, 0, 2, 1]), 4) == [2, 1, 3, 0]
    with pytest.raises(ValueError, match="class 2 does not occur"):
        digit_pad.first_of_each_class(torch.tensor([0, 1, 1]), 3)
    with pytest.raises(ValueError, match=r"uint8 \(N, 28, 28\)"):
        digit_pad.sample_spec(torch.zeros(2, 28, 28), [0, 1], [0, 1])
    with pytest.raises(ValueError, match="as many labels"):
        digit_pad.sample_spec(torch.zeros(2, 28, 28, dtype=torch.uint8), [0], [0, 1])


def test_pad_html_holds_everything_inline(tmp_path, state, samples):
    weights = tmp_path / "w.json"
    digit_pad.save_weights(state, weights)
    text = digit_pad.pad_html(weights, samples)
    assert text.startswith('<div class="cnn-digit-pad" data-ready="0">')
    assert text.count("<script") == 4 and text.count("</script>") == 4
    assert digit_pad.web_asset("lenet.js") in text and digit_pad.web_asset("pad.js") in text
    assert "http://" not in text and "https://" not in text and "fetch(" not in text
    assert "清除" in text and "MNIST" in text
    start = text.index('class="cdp-weights">') + len('class="cdp-weights">')
    shipped = json.loads(text[start:text.index("</script>", start)])
    assert shipped == json.loads(weights.read_text())
    assert len(text.encode()) < 400_000
    page = digit_pad.standalone_page(tmp_path / "pad.html", weights, samples)
    assert text in page.read_text(encoding="utf-8")
    with pytest.raises(FileNotFoundError, match="pad.css"):
        digit_pad.web_asset("missing.js")
    from IPython.display import HTML
    shown = digit_pad.show_pad(weights, samples)
    assert isinstance(shown, HTML) and shown.data == text
