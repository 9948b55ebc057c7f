"""The drawing pad of page 06 (issue 23) in headless Chromium, from file://, network cut off.

Two pages are opened: a standalone page written by ``book_utils.digit_pad.standalone_page``
(the same HTML as the book's cell output; needs only the shipped weights and the MNIST copy)
and, when the book has been built, page 06 itself. Checked: ``cnnBook.lenet.predict`` agrees
with PyTorch running the same shipped float16 weights on 256 MNIST test images (same argmax,
logits within 1e-4); the page's preparation of a drawing equals the Python reference
``digit_pad.prepare_drawing`` on the canvas's own pixels; mouse strokes and touch strokes
(real touch events through the DevTools protocol) produce a prediction; the sample buttons
load MNIST digits; the pad fits at 1280 and 390 px. Speed is measured in
``benchmarks/bench_digit_pad.py``, not here.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
PAGE06 = "chapters/06_lenet_mnist.html"
N_COMPARED = 256


def _built_page06() -> Path:
    html = Path(os.environ.get("CNN_BOOK_HTML") or REPO / "_build" / "html")
    return html / PAGE06


@pytest.fixture(scope="module")
def mnist_test(real_data_root):
    os.environ.setdefault("CNN_BOOK_DATA", str(real_data_root))
    from book_utils import data
    return data.load_mnist("test")


@pytest.fixture(scope="module")
def pad_file(tmp_path_factory, mnist_test):
    from book_utils import digit_pad
    if not digit_pad.WEIGHTS_PATH.is_file():
        pytest.skip(f"no shipped weights at {digit_pad.WEIGHTS_PATH} "
                    f"(scripts/record_lenet.py makes them)")
    return digit_pad.standalone_page(tmp_path_factory.mktemp("pad") / "pad.html")


class Opened:
    """A page in its own context; only file:// is reachable; errors are collected."""

    def __init__(self, browser, url, width=1280, touch=False):
        self.errors, self.external = [], []
        self.context = browser.new_context(viewport={"width": width, "height": 900},
                                           has_touch=touch, locale="zh-CN")
        self.context.route(re.compile(r"^(https?|wss?)://"),
                           lambda route: (self.external.append(route.request.url), route.abort()))
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        self.page.goto(url, wait_until="load")
        self.page.wait_for_selector('div.cnn-digit-pad[data-ready="1"]', timeout=10_000)
        self.pad = self.page.locator("div.cnn-digit-pad").first

    def state(self):
        return self.pad.evaluate("p => ({prediction: p.dataset.prediction, source: p.dataset.source,"
                                 " updates: Number(p.dataset.updates), state: p.cnnPadState,"
                                 " gray: p.cnnPadGray ? Array.from(p.cnnPadGray) : null})")

    def close(self):
        self.context.close()


@pytest.fixture
def opened(browser, pad_file):
    page = Opened(browser, pad_file.as_uri())
    yield page
    page.close()
    assert page.errors == [] and page.external == []


def _torch_logits(images: torch.Tensor, dtype=torch.float32) -> torch.Tensor:
    from book_utils import data, digit_pad
    x = (images.to(dtype).div(255).unsqueeze(1) - data.MNIST_MEAN[0]) / data.MNIST_STD[0]
    with torch.no_grad():
        return digit_pad.shipped_model(dtype=dtype)(x)


def _stroke_points(box, shape):
    """Points (page pixels) of a digit-like stroke inside the canvas ``box``."""
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    if shape == "1":
        return [(x + 0.52 * w, y + h * (0.15 + 0.7 * k / 24)) for k in range(25)]
    t = np.linspace(0, 2 * np.pi, 40)          # "0": an upright ellipse
    return [(x + w * (0.5 + 0.22 * np.sin(a)), y + h * (0.5 - 0.33 * np.cos(a))) for a in t]


def _mouse_stroke(page, points):
    page.mouse.move(*points[0])
    page.mouse.down()
    for p in points[1:]:
        page.mouse.move(*p)
    page.mouse.up()
    page.wait_for_timeout(100)


def test_js_logits_match_pytorch_on_mnist_test_images(opened, mnist_test):
    images = mnist_test.images[:N_COMPARED].reshape(-1, 28, 28)
    pixels = (images.double() / 255).reshape(N_COMPARED, 784).tolist()
    js = torch.tensor(opened.page.evaluate(
        "imgs => imgs.map(p => cnnBook.lenet.predict(p))", pixels), dtype=torch.float64)
    ref32 = _torch_logits(images).double()
    ref64 = _torch_logits(images, torch.float64)
    assert js.shape == (N_COMPARED, 10)
    assert torch.equal(js.argmax(1), ref32.argmax(1))
    assert float((js - ref32).abs().max()) < 1e-4
    assert float((js - ref64).abs().max()) < 1e-9          # same numbers, both in float64
    assert float((js.argmax(1) == mnist_test.labels[:N_COMPARED]).double().mean()) > 0.97


def test_predict_refuses_bad_pixels(opened):
    for bad, message in [("new Array(10).fill(0)", "expected 784 pixels"),
                         ("new Array(784).fill(255)", "pixels must be numbers in \\[0, 1\\]")]:
        text = opened.page.evaluate(
            f"() => {{ try {{ cnnBook.lenet.predict({bad}); return 'no error'; }}"
            f" catch (e) {{ return e.message; }} }}")
        assert re.search(message, text), text


@pytest.mark.parametrize("shape", ["1", "0"])
def test_mouse_stroke_gives_prediction_and_python_preparation(opened, shape):
    from book_utils import digit_pad
    before = opened.state()
    assert before["prediction"] is None and before["updates"] == 1      # the blank pad
    _mouse_stroke(opened.page, _stroke_points(opened.page.locator("canvas.cdp-canvas")
                                              .bounding_box(), shape))
    after = opened.state()
    assert after["source"] == "drawing" and after["updates"] > before["updates"]
    assert after["prediction"] == shape
    gray = np.asarray(after["gray"]).reshape(280, 280)
    expected = digit_pad.prepare_drawing(gray)
    assert np.abs(np.asarray(after["state"]["input"]).reshape(28, 28) - expected).max() < 1e-9
    # the page shows what the network saw and every stage's maps with their shapes
    shapes = [opened.pad.locator(f'[data-role="shape-{k}"]').inner_text()
              for k in ("c1", "s2", "c3", "s4")]
    assert shapes == ["6×28×28", "6×14×14", "16×10×10", "16×5×5"]
    counts = [opened.pad.locator(f'[data-role="maps-{k}"] canvas').count()
              for k in ("c1", "s2", "c3", "s4")]
    assert counts == [6, 6, 16, 16]
    assert opened.pad.locator('[data-role="digit"]').inner_text() == shape
    # clear: back to no prediction
    opened.pad.locator('[data-role="clear"]').click()
    assert opened.state()["prediction"] is None


def test_touch_stroke_gives_prediction(browser, pad_file):
    opened = Opened(browser, pad_file.as_uri(), width=390, touch=True)
    try:
        points = _stroke_points(opened.page.locator("canvas.cdp-canvas").bounding_box(), "1")
        cdp = opened.context.new_cdp_session(opened.page)
        touch = lambda kind, p: cdp.send("Input.dispatchTouchEvent", {
            "type": kind, "touchPoints": [] if p is None else [{"x": p[0], "y": p[1]}]})
        touch("touchStart", points[0])
        for p in points[1:]:
            touch("touchMove", p)
        touch("touchEnd", None)
        opened.page.wait_for_timeout(100)
        state = opened.state()
        assert state["source"] == "drawing" and state["prediction"] == "1"
        # the page did not scroll under the finger
        assert opened.page.evaluate("() => window.scrollY") == 0
    finally:
        opened.close()
    assert opened.errors == []


def test_sample_buttons_load_mnist_digits(opened, mnist_test):
    from book_utils import digit_pad
    picks = digit_pad.first_of_each_class(mnist_test.labels)
    expected = _torch_logits(mnist_test.images[picks].reshape(-1, 28, 28)).argmax(1).tolist()
    buttons = opened.pad.locator("button.cdp-sample")
    assert buttons.count() == 10
    for d in range(10):
        buttons.nth(d).click()
        state = opened.state()
        assert state["source"] == "sample" and state["prediction"] == str(expected[d])
        shown = np.asarray(state["state"]["input"]).reshape(28, 28)
        assert np.abs(shown - mnist_test.images[picks[d]].numpy() / 255).max() < 1e-12


@pytest.mark.parametrize("width", [1280, 390])
def test_pad_fits_the_window(browser, pad_file, width):
    opened = Opened(browser, pad_file.as_uri(), width=width)
    try:
        opened.pad.locator("button.cdp-sample").nth(3).click()
        overflow = opened.page.evaluate("""(w) => {
          const pad = document.querySelector('.cnn-digit-pad');
          const right = Math.max(...[...pad.querySelectorAll('*')]
                                 .map(e => e.getBoundingClientRect().right));
          return {scroll: document.documentElement.scrollWidth, right: right,
                  canvas: pad.querySelector('canvas.cdp-canvas').getBoundingClientRect().width};
        }""", width)
        assert overflow["scroll"] <= width and overflow["right"] <= width
        assert overflow["canvas"] >= 250
    finally:
        opened.close()
    assert opened.errors == []


def test_built_page06_has_a_working_pad(browser, mnist_test):
    page_file = _built_page06()
    if not page_file.is_file():
        pytest.skip(f"page 06 is not built ({page_file} is missing): run `make book` or set "
                    f"CNN_BOOK_HTML to a built book's html folder")
    opened = Opened(browser, page_file.as_uri())
    try:
        assert opened.page.locator("div.cnn-digit-pad").count() == 1
        images = mnist_test.images[:N_COMPARED].reshape(-1, 28, 28)
        pixels = (images.double() / 255).reshape(N_COMPARED, 784).tolist()
        js = torch.tensor(opened.page.evaluate(
            "imgs => imgs.map(p => cnnBook.lenet.predict(p))", pixels), dtype=torch.float64)
        ref = _torch_logits(images).double()
        assert torch.equal(js.argmax(1), ref.argmax(1))
        assert float((js - ref).abs().max()) < 1e-4
        opened.pad.scroll_into_view_if_needed()
        _mouse_stroke(opened.page, _stroke_points(opened.page.locator("canvas.cdp-canvas")
                                                  .bounding_box(), "1"))
        state = opened.state()
        assert state["prediction"] == "1"
        assert opened.page.locator(".cnn-digit-pad canvas.cdp-map").count() == 44
        size = opened.pad.evaluate("p => p.outerHTML.length")
        assert size < 400_000
    finally:
        opened.close()
    assert opened.errors == [] and opened.external == []
