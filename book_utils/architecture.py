"""Arithmetic of CNN layers: parameter counts, receptive fields and an output-size calculator.

* :func:`conv2d_param_count` and :func:`linear_param_count` – how many numbers a convolution
  layer and a fully connected layer learn (the same counts as ``nn.Conv2d`` / ``nn.Linear``).
* :func:`receptive_field` – how many input pixels (per side) one output of a stack of
  convolution / pooling layers depends on, and how far apart neighbouring outputs look.
* :func:`output_size_calculator` – an ``ipywidgets`` panel for ``floor((d + 2p - f) / s) + 1``
  (the formula itself is :func:`book_utils.ops.output_size`), checked live against ``nn.Conv2d``.

Used by the page "卷积神经网络" (chapters/03_cnn_architecture.ipynb).
"""
from __future__ import annotations

import numbers
from typing import Iterable, Sequence, Tuple, Union

from .ops import check_int, output_size

__all__ = ["conv2d_param_count", "linear_param_count", "receptive_field",
           "output_size_calculator"]


def conv2d_param_count(in_channels: int, out_channels: int, kernel_size: Union[int, Tuple[int, int]],
                       bias: bool = True) -> int:
    """Learnable numbers of a 2D convolution layer: ``(fH * fW * C_in + 1) * C_out``.

    Each of the ``C_out`` kernels has one ``fH x fW`` slice per input channel and one bias.
    The count does not depend on the image size. A single-channel layer with one ``f x f``
    kernel has ``f * f + 1``. Same as ``sum(p.numel() for p in nn.Conv2d(...).parameters())``
    (``groups=1``).

    Raises:
        TypeError, ValueError: a size that is not an integer >= 1.
    """
    c_in = check_int("in_channels", in_channels, 1)
    c_out = check_int("out_channels", out_channels, 1)
    if isinstance(kernel_size, (tuple, list)):
        if len(kernel_size) != 2:
            raise ValueError(f"kernel_size must be an int or a pair, got {kernel_size!r}")
        fh, fw = (check_int("kernel_size", k, 1) for k in kernel_size)
    else:
        fh = fw = check_int("kernel_size", kernel_size, 1)
    return (fh * fw * c_in + (1 if bias else 0)) * c_out


def linear_param_count(in_features: int, out_features: int, bias: bool = True) -> int:
    """Learnable numbers of a fully connected layer: ``(in_features + 1) * out_features``.

    Same as ``sum(p.numel() for p in nn.Linear(in_features, out_features).parameters())``.

    Raises:
        TypeError, ValueError: a size that is not an integer >= 1.
    """
    n_in = check_int("in_features", in_features, 1)
    n_out = check_int("out_features", out_features, 1)
    return (n_in + (1 if bias else 0)) * n_out


def _window_layers(layers) -> Iterable[Tuple[int, int]]:
    """Yield ``(kernel, stride)`` of each layer; modules without a window are skipped."""
    import torch.nn as nn

    if isinstance(layers, nn.Module):
        layers = list(layers.modules())
    for layer in layers:
        if isinstance(layer, nn.Module):
            if isinstance(layer, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
                k, s = layer.kernel_size, layer.stride
                k = k if isinstance(k, int) else k[0]
                s = s if isinstance(s, int) else s[0]
                dilation = getattr(layer, "dilation", 1)
                dilation = dilation if isinstance(dilation, int) else dilation[0]
                if dilation != 1:
                    raise ValueError(f"{layer} has dilation {dilation}; only dilation 1 is supported")
                yield int(k), int(s)
            continue              # containers (expanded by modules()), activations, ...
        if not isinstance(layer, (tuple, list)) or len(layer) != 2:
            raise TypeError(f"each layer must be an nn.Module or a (kernel, stride) pair, got {layer!r}")
        yield check_int("kernel", layer[0], 1), check_int("stride", layer[1], 1)


def receptive_field(layers: Union[Sequence[Tuple[int, int]], "torch.nn.Module"]) -> Tuple[int, int]:
    """Receptive field (per side, in input pixels) of one output of a stack of layers.

    Recursion over the layers (square windows, dilation 1), starting from ``r = 1, j = 1``:
    ``r <- r + (f - 1) * j`` and ``j <- j * s``, where ``j`` ("jump") is the distance in input
    pixels between neighbouring units of the current layer. Padding shifts where the window
    sits but not its size. The result is the full window; for an output near the border part
    of it lies in the padding.

    Args:
        layers: ``(kernel, stride)`` pairs in order, or an ``nn.Module`` whose ``Conv2d`` /
            ``MaxPool2d`` / ``AvgPool2d`` submodules (in registration order) are used;
            activations and other layers without a window are skipped.

    Returns:
        ``(r, j)``: receptive-field side and the jump of the last layer.

    Raises:
        TypeError: a layer that is neither a module nor a pair; ValueError: sizes < 1 or a
        dilated convolution.
    """
    r, j = 1, 1
    for f, s in _window_layers(layers):
        r += (f - 1) * j
        j *= s
    return r, j


def output_size_calculator(d: int = 28, f: int = 5, p: int = 0, s: int = 1, max_d: int = 64):
    """An ipywidgets panel: sliders for ``d, f, p, s`` and the output size, checked by torch.

    Shows ``floor((d + 2p - f) / s) + 1`` with the numbers filled in, the value of
    :func:`book_utils.ops.output_size`, and the width of the output of
    ``nn.Conv2d(1, 1, f, stride=s, padding=p)`` applied to a ``1 x d`` image. When the kernel
    is larger than the padded input it says so instead. Needs a running kernel.

    Returns:
        ``ipywidgets.VBox``; attributes ``d``, ``f``, ``p``, ``s`` (the sliders), ``result``
        (the ``HTML`` widget with the answer) and ``value()`` (the current output size or
        ``None``).
    """
    import ipywidgets as widgets
    import torch

    for name, v, lo in (("d", d, 1), ("f", f, 1), ("p", p, 0), ("s", s, 1), ("max_d", max_d, 1)):
        check_int(name, v, lo)
    style = {"description_width": "150px"}
    layout = widgets.Layout(width="420px")
    d_w = widgets.IntSlider(value=d, min=1, max=max_d, description="input size d", style=style, layout=layout)
    f_w = widgets.IntSlider(value=f, min=1, max=11, description="kernel size f", style=style, layout=layout)
    p_w = widgets.IntSlider(value=p, min=0, max=5, description="padding p", style=style, layout=layout)
    s_w = widgets.IntSlider(value=s, min=1, max=5, description="stride s", style=style, layout=layout)
    result = widgets.HTML()
    state = {"value": None}

    def update(*_):
        dv, fv, pv, sv = d_w.value, f_w.value, p_w.value, s_w.value
        if fv > dv + 2 * pv:
            state["value"] = None
            result.value = (f"<b>No output:</b> the kernel (f={fv}) is larger than the padded "
                            f"input (d+2p={dv + 2 * pv}).")
            return
        n = output_size(dv, fv, pv, sv)
        conv = torch.nn.Conv2d(1, 1, (1, fv), stride=(1, sv), padding=(0, pv), bias=False)
        with torch.no_grad():
            torch_n = conv(torch.zeros(1, 1, 1, dv)).shape[-1]
        rest = (dv + 2 * pv - fv) % sv
        note = (f" (the floor drops {rest} input column{'s' if rest > 1 else ''} at the end)"
                if rest else "")
        state["value"] = n
        result.value = (f"floor(({dv} + 2·{pv} − {fv}) / {sv}) + 1 = floor({dv + 2 * pv - fv}/{sv}) + 1 "
                        f"= <b>{n}</b>{note}<br>nn.Conv2d gives {torch_n}: "
                        f"{'agrees' if torch_n == n else 'DISAGREES'}")

    for w in (d_w, f_w, p_w, s_w):
        w.observe(update, names="value")
    update()
    box = widgets.VBox([d_w, f_w, p_w, s_w, result])
    box.d, box.f, box.p, box.s, box.result = d_w, f_w, p_w, s_w, result
    box.value = lambda: state["value"]
    return box
