"""The drawing pad as HTML: one self-contained ``<div>`` for the book page and the notebook.

:func:`pad_html` returns the pad's markup with everything inlined: the style sheet
(``web/pad.css``), the shipped weights (``results/lenet_weights.json``), a few MNIST test
digits, the forward pass (``web/lenet.js``) and the pad's script (``web/pad.js``). No fetch,
no CDN, no WebAssembly: the same HTML works in the built book (myst-nb renders a cell's
``text/html`` output), opened from ``file://``, and in Jupyter or Colab through
:func:`show_pad` (``IPython.display.HTML``). :func:`standalone_page` wraps it in a minimal
HTML document (for the browser tests and for readers who want the pad on its own).

Not here: the weights themselves (``weights``), the Python reference of the digit's
preparation (``prepare``).
"""
from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Optional, Sequence

import torch

from .weights import PathLike, read_weights_file

WEB_DIR = Path(__file__).resolve().parent / "web"
#: Shown until the pad's script has run (e.g. where scripts are not allowed).
STATUS_NO_SCRIPT = "（这个画板在浏览器里运行，需要 JavaScript；若只看到这行字，说明脚本没有运行。）"
_STAGES = [("c1", "C1：卷积 + ReLU"), ("s2", "S2：最大池化"),
           ("c3", "C3：卷积 + ReLU"), ("s4", "S4：最大池化")]


def web_asset(name: str) -> str:
    """The text of a file in ``book_utils/digit_pad/web`` (``lenet.js``, ``pad.js``, ``pad.css``).

    Raises:
        FileNotFoundError: for a name that is not shipped there.
    """
    path = WEB_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"{name} is not one of the pad's files in {WEB_DIR}: "
                                f"{sorted(p.name for p in WEB_DIR.iterdir())}")
    return path.read_text(encoding="utf-8")


def first_of_each_class(labels: torch.Tensor, classes: int = 10) -> list:
    """Index of the first image of each class ``0..classes-1`` in ``labels``.

    Raises:
        ValueError: if a class does not occur.
    """
    labels = torch.as_tensor(labels)
    found = []
    for c in range(classes):
        hits = torch.nonzero(labels == c).flatten()
        if hits.numel() == 0:
            raise ValueError(f"class {c} does not occur in labels")
        found.append(int(hits[0]))
    return found


def sample_spec(images: torch.Tensor, labels: Sequence[int], indices: Sequence[int]) -> dict:
    """The sample digits as the pad's JSON: ``{"digits": [{index, label, pixels}]}``.

    Args:
        images: ``(N, 28, 28)`` uint8 MNIST images (white digit on black).
        labels: ``N`` class labels; indices: ``N`` positions in the test set (shown as tips).

    Raises:
        ValueError: unless ``images`` is uint8 of shape ``(N, 28, 28)`` with ``N`` labels and
            indices.
    """
    images = torch.as_tensor(images)
    if images.dtype != torch.uint8 or images.dim() != 3 or tuple(images.shape[1:]) != (28, 28):
        raise ValueError(f"images must be uint8 (N, 28, 28) MNIST digits, got "
                         f"{images.dtype} {tuple(images.shape)}")
    if not len(labels) == len(indices) == images.shape[0]:
        raise ValueError(f"{images.shape[0]} images need as many labels and indices, got "
                         f"{len(labels)} and {len(indices)}")
    return {"digits": [{"index": int(i), "label": int(y),
                        "pixels": base64.b64encode(img.contiguous().numpy().tobytes()).decode()}
                       for img, y, i in zip(images, labels, indices)]}


def mnist_samples() -> dict:
    """:func:`sample_spec` of the first MNIST test image of each digit (needs the data)."""
    from .. import data
    test = data.load_mnist("test")
    picks = first_of_each_class(test.labels)
    return sample_spec(test.images[picks].reshape(-1, 28, 28), test.labels[picks].tolist(), picks)


def _json_script(css_class: str, content) -> str:
    text = json.dumps(content, indent=0, ensure_ascii=False, separators=(",", ":"))
    # "</" would end the <script> element early; "<\/" reads the same in JSON
    text = text.replace("</", "<\\/")
    return f'<script type="application/json" class="{css_class}">\n{text}\n</script>'


def _inline_script(source: str) -> str:
    if "</script" in source.lower():
        raise ValueError("an inlined script must not contain '</script'")
    return f"<script>\n{source}</script>"


def pad_html(weights_path: Optional[PathLike] = None, samples: Optional[dict] = None) -> str:
    """The drawing pad: a ``<div class="cnn-digit-pad">`` with its data and scripts inlined.

    Args:
        weights_path: the weights JSON; default the shipped ``results/lenet_weights.json``.
        samples: :func:`sample_spec` of the digits offered for one-click loading; default
            :func:`mnist_samples` (the first MNIST test image of each digit).

    Returns:
        HTML text (about 200 KB, most of it the float16 weights in base64). In the page,
        ``window.cnnBook.lenet.predict(pixels)`` is then defined (see ``web/lenet.js``).

    Raises:
        FileNotFoundError, ValueError: as :func:`book_utils.digit_pad.read_weights_file`.
    """
    weights = read_weights_file(weights_path)
    samples = mnist_samples() if samples is None else samples
    bars = "\n".join(
        f'<div class="cdp-bar-row"><span class="cdp-label">{d}</span><div class="cdp-bar">'
        f'<div class="cdp-fill"></div></div><span class="cdp-pct"></span></div>'
        for d in range(10))
    stages = "\n".join(
        f'<figure class="cdp-stage"><div class="cdp-maps" data-role="maps-{key}"></div>'
        f'<figcaption>{html.escape(name)}，<span data-role="shape-{key}"></span></figcaption>'
        f'</figure>' for key, name in _STAGES)
    return "\n".join([
        '<div class="cnn-digit-pad" data-ready="0">',
        f"<style>\n{web_asset('pad.css')}</style>",
        '<div class="cdp-top">',
        '<div class="cdp-draw">',
        '<canvas class="cdp-canvas" data-role="canvas" width="280" height="280" '
        'aria-label="画板：在这里写一个数字"></canvas>',
        '<div class="cdp-tools"><button type="button" data-role="clear">清除</button>'
        '<span>在黑色方框里用鼠标或手指写一个数字（0–9）。</span></div>',
        '<div>或者点一张 MNIST 测试图片：</div>',
        '<div class="cdp-samples" data-role="samples"></div>',
        '</div>',
        '<div class="cdp-result">',
        '<div class="cdp-pred">预测：<span data-role="digit">–</span>'
        '<span data-role="confidence"></span></div>',
        f'<div class="cdp-bars">\n{bars}\n</div>',
        '<div class="cdp-input"><canvas class="cdp-input-canvas" data-role="input" width="28" '
        'height="28"></canvas><div>网络实际看到的输入：28×28，数字的外框缩放到 20×20，'
        '按质心放在正中，与 MNIST 的做法相同。</div></div>',
        '</div>',
        '</div>',
        '<div class="cdp-stages">',
        stages,
        '</div>',
        '<div class="cdp-status" data-role="status">各层的特征图 (feature map) 每层按该层的最大值'
        '缩放灰度：白色是强的激活，黑色是 0。</div>',
        f'<noscript>{STATUS_NO_SCRIPT}</noscript>',
        _json_script("cdp-weights", weights),
        _json_script("cdp-sample-data", samples),
        _inline_script(web_asset("lenet.js")),
        _inline_script(web_asset("pad.js")),
        "</div>"])


def show_pad(weights_path: Optional[PathLike] = None, samples: Optional[dict] = None):
    """The pad as an ``IPython.display.HTML`` object (a notebook cell's output).

    Raises:
        FileNotFoundError, ValueError: as :func:`pad_html`.
    """
    from IPython.display import HTML
    return HTML(pad_html(weights_path, samples))


def standalone_page(path: PathLike, weights_path: Optional[PathLike] = None,
                    samples: Optional[dict] = None) -> Path:
    """Write a minimal HTML document holding only the pad; return its path.

    Raises:
        FileNotFoundError, ValueError: as :func:`pad_html`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<title>LeNet-5 画板</title></head>\n<body style="margin: 0 auto; max-width: 860px; '
        'padding: 8px; font-family: sans-serif">\n'
        f"{pad_html(weights_path, samples)}\n</body></html>\n", encoding="utf-8")
    return path
