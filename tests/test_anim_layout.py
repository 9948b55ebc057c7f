"""The layout of the book_utils.anim package: small modules in one documented order, a light
import, one public API; and the shared text helpers (captions.cell_texts, input_texts)."""
import inspect
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from book_utils import anim
from book_utils.anim import captions

import test_package_layout as _layout   # the shared layout checks (tests/ is on sys.path)

PACKAGE = Path(anim.__file__).resolve().parent


def _relative_imports(name):
    """Sibling modules that module ``name`` imports at its top level."""
    return _layout._relative_imports(anim, name)


def test_anim_import_order_follows_the_concepts():
    # the generic checks (module table, import order, size, docstrings, no name defined
    # twice) run for every package in tests/test_package_layout.py
    assert _relative_imports("window") == {"captions"}
    assert _relative_imports("panel") >= {"figure", "control_spec"}


def test_public_api_is_the_one_the_pages_use():
    assert set(anim.__all__) == {"SlidingWindow", "SlidingWindowFigure", "animate",
                                 "render_frame", "controls", "controls_spec", "default_title",
                                 "format_value", "OPS"}
    for name in anim.__all__:
        assert getattr(anim, name) is not None
    # the function, not a submodule of the same name
    assert inspect.isfunction(anim.controls) and inspect.isfunction(anim.animate)
    assert anim.OPS == ("sum", "max", "mean")
    params = inspect.signature(anim.controls).parameters
    assert list(params)[:2] == ["x", "kernels"] and params["several"].default is False
    assert list(inspect.signature(anim.SlidingWindow).parameters)[:2] == ["x", "kernel"]


def test_import_is_light():
    code = ("import sys, book_utils.anim; "
            "print(sorted(m for m in ('matplotlib', 'ipywidgets', 'torch', 'PIL') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=PACKAGE.parents[1], check=True)
    assert out.stdout.strip() == "[]"


# ----------------------------------------------------------------------- shared text helpers

def test_cell_texts_formats_every_entry_and_blanks_a_broadcast_mask():
    values = np.array([[[3.0, 1 / 9], [-0.0, -np.inf]], [[0.5, 2.0], [-2.25, 7.0]]])
    texts = captions.cell_texts(values, blank=np.array([[False, True], [False, False]]))
    assert texts.dtype == object and texts.shape == (2, 2, 2)
    assert texts.tolist() == [[["3", ""], ["0", "-inf"]], [["0.5", ""], ["-2.25", "7"]]]
    assert captions.cell_texts(values[0, 0]).tolist() == ["3", "0.11"]


@pytest.mark.parametrize("op, pad_text", [("sum", "0"), ("mean", "0"), ("max", "")])
def test_input_texts_show_padding_as_zero_except_for_max_pooling(op, pad_text):
    x = np.arange(6.0).reshape(2, 3) - 2
    kwargs = dict(kernel=np.ones((2, 2))) if op == "sum" else dict(op=op, window=2)
    sw = anim.SlidingWindow(x, padding=1, **kwargs)
    texts = captions.input_texts(sw)
    assert texts.shape == (1, 4, 5)
    assert texts[0, 1:3, 1:4].tolist() == [["-2", "-1", "0"], ["1", "2", "3"]]
    assert set(texts[0][sw.is_padding()]) == {pad_text}


def test_describe_is_the_frame_caption():
    sw = anim.SlidingWindow(np.arange(9.0).reshape(3, 3), np.eye(2), bias=0.5)
    assert [sw.describe(t) for t in range(sw.n_frames)] == \
        [captions.frame_caption(sw, t) for t in range(sw.n_frames)]
    assert sw.describe(3) == "$z_{2,2}$ = sum of the 4 products window × kernel + b (0.5) = 12.5"
