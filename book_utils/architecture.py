"""Arithmetic of CNN layers: parameter counts, receptive fields and an output-size calculator.

* :func:`conv2d_param_count` and :func:`linear_param_count` – how many numbers a convolution
  layer and a fully connected layer learn (the same counts as ``nn.Conv2d`` / ``nn.Linear``).
* :func:`receptive_field` – how many input pixels (per side) one output of a stack of
  convolution / pooling layers depends on, and how far apart neighbouring outputs look.
* :func:`output_size_calculator` – an ``ipywidgets`` panel for ``floor((d + 2p - f) / s) + 1``
  (the formula itself is :func:`book_utils.ops.output_size`), checked live against ``nn.Conv2d``;
  :func:`calculator_spec` is its static view for the HTML book (:mod:`book_utils.static_controls`).

Used by the page "卷积神经网络" (chapters/03_cnn_architecture.ipynb).
"""
from __future__ import annotations

import numbers
from typing import Iterable, Sequence, Tuple, Union

from .ops import check_int, output_size

__all__ = ["conv2d_param_count", "linear_param_count", "receptive_field",
           "output_size_calculator", "calculator_spec", "torch_output_widths",
           "CALCULATOR_RANGES"]


def _check_bias(bias) -> None:
    """``bias`` must be a real bool: ``bias="no"`` would otherwise count as True."""
    if not isinstance(bias, bool):
        raise TypeError(f"bias must be True or False, got {type(bias).__name__} {bias!r}")


def conv2d_param_count(in_channels: int, out_channels: int, kernel_size: Union[int, Tuple[int, int]],
                       bias: bool = True) -> int:
    """Learnable numbers of a 2D convolution layer: ``(fH * fW * C_in + 1) * C_out``.

    Each of the ``C_out`` kernels has one ``fH x fW`` slice per input channel and one bias.
    The count does not depend on the image size. A single-channel layer with one ``f x f``
    kernel has ``f * f + 1``. Same as ``sum(p.numel() for p in nn.Conv2d(...).parameters())``
    (``groups=1``).

    Raises:
        TypeError, ValueError: a size that is not an integer >= 1, or ``bias`` not a bool.
    """
    _check_bias(bias)
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
        TypeError, ValueError: a size that is not an integer >= 1, or ``bias`` not a bool.
    """
    _check_bias(bias)
    n_in = check_int("in_features", in_features, 1)
    n_out = check_int("out_features", out_features, 1)
    return (n_in + (1 if bias else 0)) * n_out


def _window_layers(layers) -> Iterable[Tuple[int, int]]:
    """Yield ``(kernel, stride)`` of each layer; modules without a window are skipped."""
    import torch.nn as nn

    if isinstance(layers, nn.Module):
        layers = list(layers.modules())
    for index, layer in enumerate(layers):
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
        yield (check_int(f"kernel of layer {index}", layer[0], 1),
               check_int(f"stride of layer {index}", layer[1], 1))


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


#: Slider ranges of the output-size calculator (besides ``d``, whose maximum is ``max_d``).
CALCULATOR_RANGES = {"f": (1, 11), "p": (0, 5), "s": (1, 5)}


def _calculator_arguments(d, f, p, s, max_d):
    """Check the calculator's starting values against its slider ranges."""
    max_d = check_int("max_d", max_d, 1)
    ranges = {"d": (1, max_d), **CALCULATOR_RANGES}
    values = {}
    for name, v in (("d", d), ("f", f), ("p", p), ("s", s)):
        lo, hi = ranges[name]
        v = check_int(name, v, lo)
        if v > hi:
            hint = "raise max_d" if name == "d" else f"the slider offers {lo}..{hi}"
            raise ValueError(f"{name}={v} is larger than the slider allows ({hi}); {hint}")
        values[name] = v
    return values, ranges


def torch_output_widths(max_d: int = 64) -> list:
    """Output width of ``nn.Conv2d(1, 1, (1, f), stride=(1, s), padding=(0, p))`` on a
    ``1 x d`` image, for every setting the calculator offers.

    Returns:
        A flat list of ints, index ``(((d - 1) * 11 + (f - 1)) * 6 + p) * 5 + (s - 1)`` for
        ``d`` in ``1..max_d``, ``f`` in ``1..11``, ``p`` in ``0..5``, ``s`` in ``1..5``;
        ``0`` where the kernel is larger than the padded input (torch refuses to run).

    Raises:
        TypeError, ValueError: ``max_d`` is not an integer >= 1.
    """
    import torch

    max_d = check_int("max_d", max_d, 1)
    (f_lo, f_hi), (p_lo, p_hi), (s_lo, s_hi) = (CALCULATOR_RANGES[k] for k in "fps")
    images = [torch.zeros(1, 1, 1, d) for d in range(1, max_d + 1)]
    widths = [0] * (max_d * f_hi * (p_hi + 1) * s_hi)
    with torch.no_grad():
        for f in range(f_lo, f_hi + 1):
            for p in range(p_lo, p_hi + 1):
                for s in range(s_lo, s_hi + 1):
                    conv = torch.nn.Conv2d(1, 1, (1, f), stride=(1, s), padding=(0, p),
                                           bias=False)
                    for d in range(1, max_d + 1):
                        if f <= d + 2 * p:
                            index = (((d - 1) * f_hi + (f - 1)) * (p_hi + 1) + p) * s_hi + s - 1
                            widths[index] = int(conv(images[d - 1]).shape[-1])
    return widths


def calculator_spec(d: int = 28, f: int = 5, p: int = 0, s: int = 1, max_d: int = 64) -> dict:
    """The static view of :func:`output_size_calculator` (``kind="output-size"``).

    The page computes ``floor((d + 2p - f) / s) + 1`` itself (the formula of
    :func:`book_utils.ops.output_size`) and compares it with ``nn.Conv2d``'s answer for the
    same setting, taken from ``torch`` (:func:`torch_output_widths`, run when the page is
    executed).

    Returns:
        ``{"kind": "output-size", "sliders": {name: {"min", "max", "value"}} for d, f, p, s,
        "torch": [...]}``.

    Raises:
        TypeError, ValueError: as :func:`output_size_calculator`.
    """
    values, ranges = _calculator_arguments(d, f, p, s, max_d)
    if values["f"] > values["d"] + 2 * values["p"]:
        raise ValueError(f"the starting kernel f={values['f']} is larger than the padded input "
                         f"d + 2p = {values['d'] + 2 * values['p']}; start with a smaller f "
                         f"or a larger d or p")
    sliders = {k: {"min": ranges[k][0], "max": ranges[k][1], "value": values[k]}
               for k in ("d", "f", "p", "s")}
    return {"kind": "output-size", "sliders": sliders,
            "torch": torch_output_widths(ranges["d"][1])}


def output_size_calculator(d: int = 28, f: int = 5, p: int = 0, s: int = 1, max_d: int = 64):
    """An ipywidgets panel: sliders for ``d, f, p, s`` and the output size, checked by torch.

    Shows ``floor((d + 2p - f) / s) + 1`` with the numbers filled in, the value of
    :func:`book_utils.ops.output_size`, and the width of the output of
    ``nn.Conv2d(1, 1, f, stride=s, padding=p)`` applied to a ``1 x d`` image. When the kernel
    is larger than the padded input it says so instead. The sliders offer ``d`` in
    ``1..max_d``, ``f`` in ``1..11``, ``p`` in ``0..5`` and ``s`` in ``1..5``.

    In a running kernel this is the widget; displayed, it also carries a static view
    (:func:`calculator_spec`, :mod:`book_utils.static_controls`) that the HTML book shows.

    Returns:
        A ``ControlPanel`` (an ``ipywidgets.VBox``); attributes ``d``, ``f``, ``p``, ``s``
        (the sliders), ``result`` (the ``HTML`` widget with the answer), ``value()`` (the
        current output size or ``None``) and ``static_spec()``.

    Raises:
        TypeError: a value that is not an integer.
        ValueError: a value below its slider's minimum (``d, f, s >= 1``, ``p >= 0``) or
            above its maximum (``d <= max_d``, ``f <= 11``, ``p <= 5``, ``s <= 5``).
    """
    import ipywidgets as widgets
    import torch

    from . import static_controls

    values, ranges = _calculator_arguments(d, f, p, s, max_d)
    style = {"description_width": "150px"}
    layout = widgets.Layout(width="420px")
    labels = {"d": "input size d", "f": "kernel size f", "p": "padding p", "s": "stride s"}
    d_w, f_w, p_w, s_w = (
        widgets.IntSlider(value=values[k], min=ranges[k][0], max=ranges[k][1],
                          description=labels[k], style=style, layout=layout)
        for k in ("d", "f", "p", "s"))
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
    box = static_controls.panel(
        [d_w, f_w, p_w, s_w, result],
        lambda: calculator_spec(values["d"], values["f"], values["p"], values["s"],
                                ranges["d"][1]))
    box.d, box.f, box.p, box.s, box.result = d_w, f_w, p_w, s_w, result
    box.value = lambda: state["value"]
    return box
