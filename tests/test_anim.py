"""Tests for book_utils.anim: frames, the numbers each frame shows, widgets, bad input."""
import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from book_utils import anim, ops

pytestmark = pytest.mark.filterwarnings("ignore:Animation was deleted")

X1 = [3, 6, 5, 4, 8, 9, 1, 7, 9, 6]
W1 = [-1, 0, 1]
RNG = np.random.default_rng(0)
IMG = RNG.integers(-3, 6, size=(5, 5)).astype(float)
IMG3 = RNG.integers(0, 5, size=(3, 5, 5)).astype(float)
K2 = RNG.integers(-2, 3, size=(3, 3)).astype(float)
K3 = RNG.integers(-2, 3, size=(3, 3, 3)).astype(float)        # one multi-channel kernel
KK = RNG.integers(-2, 3, size=(4, 3, 3)).astype(float)        # four single-channel kernels


def torch_conv2d(x, w, stride, padding, bias=None):
    xt = torch.tensor(np.asarray(x), dtype=torch.float64)
    wt = torch.tensor(np.asarray(w), dtype=torch.float64)
    bt = None if bias is None else torch.tensor(np.asarray(bias), dtype=torch.float64)
    return F.conv2d(xt[None], wt, bt, stride=stride, padding=padding)[0].numpy()


# ----------------------------------------------------------------------- frame counts

@pytest.mark.parametrize("kwargs, expected_frames", [
    (dict(x=X1, kernel=W1), 8),
    (dict(x=X1, kernel=W1, padding=1), 10),
    (dict(x=X1, kernel=W1, stride=2), 4),
    (dict(x=IMG, kernel=K2, padding=1, stride=2), 9),
    (dict(x=IMG3, kernel=K3), 9),
    (dict(x=IMG, kernel=KK[:3]), 9),
    (dict(x=IMG3, op="max", window=2, stride=2), 4),
    (dict(x=IMG, op="mean", window=3, stride=1, padding=1), 25),
])
def test_frame_count_matches_output_size(kwargs, expected_frames):
    sw = anim.SlidingWindow(**kwargs)
    assert sw.n_frames == expected_frames
    _, oh, ow = sw.out_shape
    assert oh * ow == expected_frames


def test_jshtml_embeds_one_png_per_frame_and_no_pyplot_figure():
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    ani = anim.animate(X1, W1, stride=2)
    html = ani.to_jshtml()
    assert html.count("data:image/png;base64") == 4
    assert plt.get_fignums() == before          # nothing for the inline backend to show twice
    assert len(ani.frame_numbers) == 4


def test_frames_are_palette_pngs():
    from PIL import Image

    png = anim.render_frame(IMG, K2, t=3, padding=1)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(png))
    assert image.mode == "P"                     # quantised: small embedded frames


# ----------------------------------------------------------------------- values per frame

def test_worked_example_values_per_frame():
    sw = anim.SlidingWindow(X1, W1)
    per_frame = [sw.values(t)[0] for t in range(sw.n_frames)]
    np.testing.assert_allclose(per_frame, ops.conv1d(X1, W1))
    assert per_frame == [2, -2, 3, 5, -7, -2, 8, -1]
    assert sw.describe(7) == "$z_{8}$ = 7×(-1) + 9×0 + 6×1 = -1"


@pytest.mark.parametrize("padding, stride", [(0, 1), (1, 1), (2, 3), (1, 2)])
def test_1d_values_match_ops_and_torch(padding, stride):
    sw = anim.SlidingWindow(X1, W1, padding=padding, stride=stride, bias=0.5)
    got = sw.result()[0, 0]
    np.testing.assert_allclose(got, ops.conv1d(X1, W1, stride, padding, bias=0.5))
    ref = F.conv1d(torch.tensor(X1, dtype=torch.float64)[None, None],
                   torch.tensor(W1, dtype=torch.float64)[None, None],
                   torch.tensor([0.5], dtype=torch.float64), stride=stride, padding=padding)
    np.testing.assert_allclose(got, ref[0, 0].numpy())


@pytest.mark.parametrize("x, w, bias", [
    (IMG, K2, None),
    (IMG3, K3, 2.0),
    (IMG, KK, [1.0, -1.0, 0.0, 0.5]),
    (IMG3, np.stack([K3, -K3]), [0.0, 1.0]),
])
@pytest.mark.parametrize("padding, stride", [(0, 1), (1, 2), (2, 3), ((1, 0), (2, 1))])
def test_2d_values_match_ops_and_torch(x, w, bias, padding, stride):
    sw = anim.SlidingWindow(x, w, padding=padding, stride=stride, bias=bias)
    got = sw.result()
    x3 = np.asarray(x)[None] if np.ndim(x) == 2 else np.asarray(x)
    w4 = np.asarray(w)
    if w4.ndim == 2:
        w4 = w4[None, None]
    elif w4.ndim == 3 and np.ndim(x) == 2:
        w4 = w4[:, None]
    elif w4.ndim == 3:
        w4 = w4[None]
    b = None if bias is None else np.asarray(bias, dtype=float).reshape(-1)
    np.testing.assert_allclose(got, ops.conv2d(x3, w4, stride=stride, padding=padding, bias=b))
    np.testing.assert_allclose(got, torch_conv2d(x3, w4, stride, padding, b))


@pytest.mark.parametrize("padding, stride, window", [(0, 2, 2), (1, 2, 3), (1, 1, 2)])
def test_pooling_values_match_torch(padding, stride, window):
    xt = torch.tensor(IMG3)[None]
    mx = anim.SlidingWindow(IMG3, op="max", window=window, stride=stride, padding=padding)
    np.testing.assert_allclose(mx.result(), F.max_pool2d(xt, window, stride, padding)[0].numpy())
    av = anim.SlidingWindow(IMG3, op="mean", window=window, stride=stride, padding=padding)
    np.testing.assert_allclose(av.result(), F.avg_pool2d(xt, window, stride, padding)[0].numpy())


def test_figure_shows_outputs_computed_so_far():
    ani = anim.animate(IMG, KK[:3], padding=1, stride=2)
    scene = ani.scene
    expected = np.vectorize(anim.format_value, otypes=[object])(
        ops.conv2d(IMG[None], KK[:3, None], stride=2, padding=1))
    for t in range(scene.sw.n_frames):
        scene.update(t)
        shown = scene.shown_outputs()
        filled = (np.arange(9) <= t).reshape(3, 3)
        assert (shown[:, filled] == expected[:, filled]).all()
        assert (shown[:, ~filled] == "").all()


def test_1d_figure_caption_and_kernel_follow_the_window():
    ani = anim.animate(X1, W1, padding=1)
    scene = ani.scene
    scene.update(4)
    assert scene._caption.get_text() == "$z_{5}$ = 4×(-1) + 8×0 + 9×1 = 5"
    kernel_grid = scene._kernels[(0, 0)]
    assert kernel_grid.x0 == scene.sw.origin(4)[1] == 4
    shown = scene.shown_outputs()[0, 0]
    assert list(shown[:5]) == ["6", "2", "-2", "3", "5"] and list(shown[5:]) == [""] * 5


def test_format_value():
    assert [anim.format_value(v) for v in (3.0, -0.0, 1 / 9, 3.25, 0.5, -2.0)] == \
        ["3", "0", "0.11", "3.25", "0.5", "-2"]


# ----------------------------------------------------------------------- widgets

def test_controls_update_geometry_and_report_invalid_settings():
    kern = {"edge": np.array([[1, 0, -1]] * 3, float), "big": np.ones((5, 5)) / 25}
    box = anim.controls(IMG, kern, dpi=30)             # low dpi: these tests check logic
    assert box.position.max == 8 and box.image.value[:4] == b"\x89PNG"
    box.padding.value = 2
    assert box.state().out_shape == (1, 7, 7) and box.position.max == 48
    box.position.value = 48
    box.stride.value = 3
    assert box.state().out_shape == (1, 3, 3) and box.position.value == 8
    box.padding.value = 0
    box.kernel.value = "big"
    assert box.state().out_shape == (1, 1, 1)
    box.stride.value = 1
    box.kernel.value = "edge"
    assert box.message.value == "" and box.state().n_frames == 9


def test_controls_several_kernels_and_pooling():
    kern = {"a": K2, "b": -K2, "c": np.ones((2, 2))}
    box = anim.controls(IMG, kern, several=True, dpi=30)
    assert box.kernel.value == ("a", "b") and box.state().out_shape[0] == 2
    box.kernel.value = ("a", "c")
    assert box.state() is None and "different shapes" in box.message.value
    pool = anim.controls(IMG3, op="max", windows=(2, 3), strides=(1, 2), dpi=30)
    pool.window.value = 3
    assert pool.state().out_shape == (3, 3, 3)
    pool.padding.value = 0
    pool.window.value = 2
    pool.stride.value = 2
    np.testing.assert_allclose(pool.state().result(),
                               F.max_pool2d(torch.tensor(IMG3)[None], 2, 2)[0].numpy())


# ----------------------------------------------------------------------- bad input

@pytest.mark.parametrize("kwargs, error, match", [
    (dict(x=X1, kernel=W1, op="median"), ValueError, "op must be one of"),
    (dict(x=X1), ValueError, "needs a kernel"),
    (dict(x=IMG, kernel=K2, op="max", window=2), ValueError, "takes no kernel"),
    (dict(x=IMG, op="max"), ValueError, "needs window"),
    (dict(x=IMG, op="mean", window=2, bias=1.0), ValueError, "has no bias"),
    (dict(x=IMG3, kernel=K2), ValueError, "one slice per channel"),
    (dict(x=IMG3, kernel=np.ones((2, 3, 3))), ValueError, "channel mismatch"),
    (dict(x=IMG, kernel=np.ones((1, 2, 3, 3))), ValueError, "single-channel input"),
    (dict(x=IMG, kernel=np.ones((7, 7))), ValueError, "larger than the padded input"),
    (dict(x=X1, kernel=W1, stride=0), ValueError, "stride"),
    (dict(x=X1, kernel=W1, padding=-1), ValueError, "padding"),
    (dict(x=X1, kernel=W1, stride=(1, 2)), ValueError, "integer stride"),
    (dict(x=X1, kernel=W1, stride=1.5), TypeError, "integer"),
    (dict(x=IMG, kernel=KK, bias=[1.0, 2.0]), ValueError, "one number per kernel"),
    (dict(x=IMG, kernel=K2, window=2), ValueError, "disagrees with the kernel"),
    (dict(x=np.ones((2, 2, 2, 2)), kernel=K2), ValueError, "dimensions"),
    (dict(x=[], kernel=W1), ValueError, "empty"),
    (dict(x=["a", "b"], kernel=W1), TypeError, "numeric"),
])
def test_bad_input_raises_clear_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        anim.SlidingWindow(**kwargs)


def test_bad_frames_and_names():
    with pytest.raises(ValueError, match="max_frames"):
        anim.animate(np.zeros((8, 8)), K2, max_frames=20)
    with pytest.raises(ValueError, match="out of range"):
        anim.animate(X1, W1, frames=[0, 8])
    with pytest.raises(ValueError, match="empty"):
        anim.animate(X1, W1, frames=[])
    with pytest.raises(ValueError, match="kernel_names needs 4"):
        anim.animate(IMG, KK, kernel_names=["a"])
    sw = anim.SlidingWindow(X1, W1)
    with pytest.raises(ValueError, match="out of range"):
        sw.position(8)
    with pytest.raises(TypeError, match="integer"):
        sw.position(1.0)


def test_bad_controls():
    with pytest.raises(ValueError, match="needs kernels"):
        anim.controls(IMG)
    with pytest.raises(ValueError, match="takes no kernels"):
        anim.controls(IMG, {"k": K2}, op="max")
    with pytest.raises(ValueError, match="paddings choices"):
        anim.controls(IMG, {"k": K2}, paddings=(-1, 0))
    with pytest.raises(ValueError, match="strides choices"):
        anim.controls(IMG, {"k": K2}, strides=(0,))
    with pytest.raises(ValueError, match="initial setting is invalid"):
        anim.controls(np.ones((2, 2)), {"k": K2}, paddings=(0, 1))
    with pytest.raises(ValueError, match="channel mismatch"):
        anim.controls(IMG3, {"k": np.ones((2, 3, 3))})


# ----------------------------------------------------------------------- static view (issue 14)

def _floats(labels):
    return np.array(labels, dtype=object).astype(float)


def _torch_reference(x, kernel, op, window, p, s, bias=None):
    """The output computed by torch alone, for one setting of a control."""
    xt = torch.tensor(np.asarray(x, dtype=float))
    if xt.ndim == 1:
        wt = torch.tensor(np.asarray(kernel, dtype=float)).view(1, 1, -1)
        return F.conv1d(xt.view(1, 1, -1), wt, stride=s, padding=p)[0].numpy()
    if xt.ndim == 2:
        xt = xt[None]
    if op == "max":
        return F.max_pool2d(xt[None], window, s, padding=p)[0].numpy()
    if op == "mean":
        return F.avg_pool2d(xt[None], window, s, padding=p)[0].numpy()
    w = np.asarray(kernel, dtype=float)
    w = w.reshape((1,) * (4 - w.ndim) + w.shape) if w.ndim < 4 else w
    b = None if bias is None else np.full(w.shape[0], float(bias))
    return torch_conv2d(xt.numpy(), w, s, p, b)


def test_static_spec_grid_equals_torch_for_every_choice():
    kern = {"edge": [-1, 0, 1], "wide": [1] * 5, "third": [1 / 3] * 3}
    spec = anim.controls_spec(X1, kern, paddings=(0, 1, 2), strides=(1, 2, 3))
    assert spec["kind"] == "sliding-window" and spec["dim"] == "1d"
    assert len(spec["states"]) == 3 * 3 * 3
    for key, state in spec["states"].items():
        name, p, s = key.split("|")
        want = _torch_reference(X1, kern[name], "sum", None, int(p), int(s))
        np.testing.assert_allclose(_floats(state["z"])[0], want, atol=0.006)  # 2 decimals
        sw = anim.SlidingWindow(X1, kern[name], padding=int(p), stride=int(s))
        assert state["z"] == [[[anim.format_value(v) for v in sw.result()[0, 0]]]]
        assert state["captions"] == [sw.describe(t).replace("$", "") for t in range(sw.n_frames)]
        assert state["title"] == anim.default_title(sw) and state["stride"] == [1, int(s)]
    assert spec["inputs"]["2"] == [[["0", "0"] + [str(v) for v in X1] + ["0", "0"]]]


def test_static_spec_multichannel_bias_and_initial_values():
    kern = {"k3": K3, "other": -K3}
    spec = anim.controls_spec(IMG3, kern, bias=1.0, channel_names=["R", "G", "B"],
                              paddings=(0, 1), strides=(1, 2), padding=1, stride=2)
    assert spec["padding"] == {"min": 0, "max": 1, "value": 1}
    assert spec["stride"] == {"min": 1, "max": 2, "value": 2}
    assert spec["select"] == {"name": "kernel", "multiple": False, "options": ["k3", "other"],
                              "value": ["k3"]}
    assert np.array(spec["kernels"]["k3"]["labels"]).shape == (3, 3, 3)
    for key, state in spec["states"].items():
        name, p, s = key.split("|")
        want = _torch_reference(IMG3, kern[name], "sum", None, int(p), int(s), bias=1.0)
        np.testing.assert_allclose(_floats(state["z"]), want)
    assert np.array(spec["inputs"]["1"]).shape == (3, 7, 7)


def test_static_spec_several_kernels_one_state_per_kernel():
    kern = {"a": K2, "b": -K2, "big": np.ones((5, 5))}
    spec = anim.controls_spec(IMG, kern, several=True, paddings=(0, 1), strides=(1, 2))
    assert spec["several"] and spec["select"]["multiple"] and spec["select"]["value"] == ["a", "b"]
    assert spec["kernels"]["big"]["shape"] == [5, 5]
    state = spec["states"]["b|1|2"]
    np.testing.assert_allclose(_floats(state["z"]), _torch_reference(IMG, -K2, "sum", None, 1, 2))
    # one kernel alone reads like the single-kernel panel; the page joins several
    assert state["captions"][0].startswith("z_{1,1} = sum of the 9 products")


def test_static_spec_pooling_and_invalid_settings():
    spec = anim.controls_spec(IMG3, op="max", windows=(2, 3), strides=(1, 2, 3), paddings=(0, 1))
    assert spec["select"]["options"] == ["2", "3"] and "kernels" not in spec
    for key, state in spec["states"].items():
        f, p, s = (int(v) for v in key.split("|"))
        if 2 * p > f:                     # torch refuses padding above half the window
            continue
        np.testing.assert_allclose(_floats(state["z"]), _torch_reference(IMG3, None, "max", f, p, s))
    assert spec["inputs"]["1"][0][0] == [""] * 7           # max pooling ignores padding cells
    mean = anim.controls_spec(IMG, op="mean", windows=(2,), strides=(2,), paddings=(0,))
    np.testing.assert_allclose(_floats(mean["states"]["2|0|2"]["z"]),
                               _torch_reference(IMG, None, "mean", 2, 0, 2), atol=0.006)
    small = anim.controls_spec(np.ones((2, 2)), {"k": K2}, paddings=(0, 1), strides=(1,))
    assert "larger than the padded input" in small["states"]["k|0|1"]["error"]
    assert "z" in small["states"]["k|1|1"]


def test_controls_display_carries_the_static_view():
    pytest.importorskip("ipywidgets")
    import json
    import re

    box = anim.controls(X1, {"edge": W1}, paddings=(0, 1), strides=(1, 2), dpi=30)
    bundle = box._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    data = re.search(r'class="cnn-control-data">(.*?)</script>', bundle["text/html"],
                     re.S).group(1)
    assert max(len(line) for line in bundle["text/html"].splitlines()) <= 80
    assert json.loads(data) == box.static_spec() == json.loads(json.dumps(
        anim.controls_spec(X1, {"edge": W1}, paddings=(0, 1), strides=(1, 2))))


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(paddings=3), TypeError, "sequence of integers"),
    (dict(strides="12"), TypeError, "sequence of integers"),
    (dict(padding=5), ValueError, "outside the choices"),
    (dict(stride=0), ValueError, "stride must be >= 0|outside the choices"),
    (dict(channel_names=["a", "b"]), ValueError, "channel_names needs 1"),
    (dict(several="yes"), TypeError, "True or False"),
    (dict(kernels={}), ValueError, "kernels is empty"),
    (dict(kernels={"k": [["a"]]}), TypeError, "numeric"),
])
def test_static_spec_bad_arguments(kwargs, error, match):
    args = dict(x=IMG, kernels={"k": K2})
    args.update(kwargs)
    with pytest.raises(error, match=match):
        anim.controls_spec(args.pop("x"), args.pop("kernels"), **args)
    with pytest.raises(ValueError, match="pooling"):
        anim.controls_spec(IMG, op="max", several=True)


@pytest.mark.parametrize("interval, err", [(0, ValueError), (2.5, TypeError), ("fast", TypeError)])
def test_animate_refuses_bad_interval(interval, err):
    with pytest.raises(err, match="interval"):
        anim.animate(np.arange(5.0), np.ones(3), interval=interval)
