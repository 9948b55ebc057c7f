"""What a sliding-window control offers, checked, and every result it can show, as data.

:func:`controls_spec` computes, for every kernel (or pooling window), padding and stride a
control offers, the output maps and the caption of each window position, as the texts the
picture shows; the static HTML book draws the control from it
(:mod:`book_utils.static_controls`). :func:`_control_options` checks and normalises the
arguments that :func:`~book_utils.anim.controls` and :func:`controls_spec` share.
Pure data: no matplotlib, no ipywidgets.

Not here: the ipywidgets panel (:mod:`.panel`), the geometry (:mod:`.window`), the way a
number is written (:mod:`.captions`).
"""
from __future__ import annotations

from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .. import ops
from .captions import cell_texts, default_title, input_texts
from .window import OPS, SlidingWindow

__all__ = ["controls_spec"]


def _choices(name: str, values, minimum: int) -> List[int]:
    """The sorted distinct integers of ``values``, each >= ``minimum`` (a slider's range)."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a sequence of integers such as (0, 1, 2), "
                        f"got {values!r}")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
            raise ValueError(f"{name} choices must be integers >= {minimum}, got {v!r}")
        out.append(int(v))
    if not out:
        raise ValueError(f"{name} needs at least one choice")
    return sorted(set(out))


def _initial(name: str, value: Optional[int], choices: List[int]) -> int:
    """The slider's first value: ``value`` if given (inside the choices' range), else the
    smallest choice."""
    if value is None:
        return choices[0]
    v = ops.check_int(name, value, 0)
    if not choices[0] <= v <= choices[-1]:
        raise ValueError(f"{name}={v} is outside the choices {choices[0]}..{choices[-1]}; "
                         f"pick a value in that range or widen the choices")
    return v


def _control_options(x, kernels, op, paddings, strides, windows, several, padding, stride,
                     channel_names):
    """Check the arguments of :func:`~book_utils.anim.controls` and bring them to
    one form (shared with :func:`controls_spec`).

    Returns:
        ``(kernels, paddings, strides, window_choices, init_p, init_s, channel_names)``:
        kernels as ``name -> float64 array`` (``None`` for pooling), the sorted choices,
        the window sizes (``None`` for ``"sum"``), the sliders' first values, the names as
        ``str`` (or ``None``).

    Raises:
        ValueError, TypeError: see :func:`~book_utils.anim.controls`.
    """
    if op not in OPS:
        raise ValueError(f"op must be one of {OPS}, got {op!r}")
    if not isinstance(several, bool):
        raise TypeError(f"several must be True or False, got {several!r}")
    paddings = _choices("paddings", paddings, 0)
    strides = _choices("strides", strides, 1)
    if op == "sum":
        if kernels is None:
            raise ValueError('op="sum" needs kernels: a mapping name -> kernel array')
        if not isinstance(kernels, Mapping):
            kernels = {"kernel": kernels}
        if not kernels:
            raise ValueError("kernels is empty: give at least one name -> kernel array")
        kernels = {str(k): ops._as_array(f"kernels[{k!r}]", v, (1, 2, 3, 4))
                   for k, v in kernels.items()}
        for name, w in kernels.items():   # each kernel must make sense with x on its own
            SlidingWindow(x, w, padding=max(paddings))
        window_choices = None
    else:
        if kernels is not None:
            raise ValueError(f'op="{op}" (pooling) takes no kernels; use windows=(...)')
        if several:
            raise ValueError(f'several=True chooses kernels; op="{op}" (pooling) has none')
        window_choices = _choices("windows", windows, 1)
    n_channels = SlidingWindow(x, op="max", window=1).x.shape[0]
    if channel_names is not None:
        channel_names = [str(n) for n in channel_names]
        if len(channel_names) != n_channels:
            raise ValueError(f"channel_names needs {n_channels} entries (one per input channel),"
                             f" got {len(channel_names)}")
    init_p = _initial("padding", padding, paddings)
    init_s = _initial("stride", stride, strides)
    return kernels, paddings, strides, window_choices, init_p, init_s, channel_names


def _several_default(kernels: Mapping[str, np.ndarray]) -> Tuple[str, ...]:
    """The kernels selected at first with ``several=True``: up to three of the first one's shape."""
    names = list(kernels)
    return tuple([n for n in names if kernels[n].shape == kernels[names[0]].shape][:3])


def _texts(values: np.ndarray) -> list:
    """Nested lists of the cell texts of ``values`` (non-finite entries written as ``"0"``,
    since JSON holds no infinity)."""
    values = np.asarray(values, dtype=np.float64)
    return cell_texts(np.where(np.isfinite(values), values, 0.0)).tolist()


def _caption_text(text: str) -> str:
    """``describe`` writes the output name as mathtext (``$z_{1,2}$``); the page's script reads
    ``z_{1,2}`` and writes the index as a subscript."""
    return text.replace("$", "")


def controls_spec(x, kernels=None, *, op: str = "sum", paddings: Sequence[int] = (0, 1, 2),
                  strides: Sequence[int] = (1, 2, 3), windows: Sequence[int] = (2, 3),
                  several: bool = False, padding: Optional[int] = None,
                  stride: Optional[int] = None, bias=None,
                  channel_names: Optional[Sequence[str]] = None,
                  title: Optional[str] = None) -> Dict[str, object]:
    """Every result the panel of :func:`~book_utils.anim.controls` can show, as JSON-ready data.

    This is what the static HTML book draws in place of the widget
    (``kind="sliding-window"``, see :mod:`book_utils.static_controls`). For each kernel (or
    pooling window) and each padding and stride in the sliders' ranges it holds the output
    map(s) and, per window position, the caption line, all as the texts the picture shows
    (:func:`~book_utils.anim.captions.format_value`).

    Args:
        same as :func:`~book_utils.anim.controls` (without the drawing options).

    Returns:
        A dict with

        * ``kind``, ``dim`` (``"1d"``/``"2d"``), ``op``, ``x`` (the input as given, nested
          lists of floats), ``channel_names``, ``title`` (``None``: each state has its own);
        * ``select``: the kernel or window chooser: ``name``, ``multiple`` (``several``),
          ``options``, ``value`` (initial choice, a list);
        * ``padding``, ``stride``: ``{"min", "max", "value"}`` of the sliders;
        * ``kernels``: ``name -> {"w": weights as given, "shape": [fh, fw],
          "labels": (C, fh, fw) texts}`` (``op="sum"`` only);
        * ``inputs``: ``str(p) -> (C, H + 2p, W + 2p)`` texts of the padded input (1D:
          ``(1, 1, d + 2p)``; padding cells are ``""`` for max pooling, which ignores them);
        * ``states``: ``"<choice>|<p>|<s>" -> {"z": (maps, H', W') texts, "window",
          "stride", "padding": [rows, cols], "title", "captions": one per position}``, or
          ``{"error": text}`` for a setting with no valid window. With ``several=True`` there
          is one state per single kernel; the page stacks the selected ones.

    Raises:
        ValueError, TypeError: as :func:`~book_utils.anim.controls`.
    """
    kernels, paddings, strides, window_choices, init_p, init_s, channel_names = \
        _control_options(x, kernels, op, paddings, strides, windows, several, padding, stride,
                         channel_names)
    x_arr = np.asarray(x, dtype=np.float64)
    spec: Dict[str, object] = {
        "kind": "sliding-window", "op": op, "x": x_arr.tolist(),
        "dim": "1d" if x_arr.ndim == 1 else "2d", "several": several,
        "channel_names": channel_names, "title": title,
        "bias": None if bias is None else np.asarray(bias, dtype=np.float64).tolist(),
        "padding": {"min": paddings[0], "max": paddings[-1], "value": init_p},
        "stride": {"min": strides[0], "max": strides[-1], "value": init_s},
    }
    if op == "sum":
        names = list(kernels)
        value = list(_several_default(kernels)) if several else [names[0]]
        spec["select"] = {"name": "kernels" if several else "kernel", "multiple": several,
                          "options": names, "value": value}
        spec["kernels"] = {}
        for name, w in kernels.items():
            w4 = SlidingWindow(x, w, padding=max(paddings)).kernels[0]
            spec["kernels"][name] = {"w": w.tolist(), "shape": list(w4.shape[1:]),
                                     "labels": _texts(w4)}
        choices = names
    else:
        spec["select"] = {"name": "window", "multiple": False,
                          "options": [str(f) for f in window_choices],
                          "value": [str(window_choices[0])]}
        choices = [str(f) for f in window_choices]
    inputs: Dict[str, list] = {}
    states: Dict[str, dict] = {}
    for p in range(paddings[0], paddings[-1] + 1):
        for s in range(strides[0], strides[-1] + 1):
            for choice in choices:
                key = f"{choice}|{p}|{s}"
                try:
                    if op == "sum":
                        if several and kernels[choice].ndim == 1:
                            raise ValueError("several kernels need a 2D input")
                        sw = SlidingWindow(x, kernels[choice], stride=s, padding=p, bias=bias)
                    else:
                        sw = SlidingWindow(x, op=op, window=int(choice), stride=s, padding=p)
                except (ValueError, TypeError) as exc:
                    states[key] = {"error": f"No valid window: {exc}"}
                    continue
                if str(p) not in inputs:
                    inputs[str(p)] = input_texts(sw).tolist()
                names = [choice] if (several and op == "sum") else None
                states[key] = {
                    "z": _texts(sw.result()),
                    "window": list(sw.window), "stride": list(sw.stride),
                    "padding": list(sw.padding),
                    "title": default_title(sw) if title is None else title,
                    "captions": [_caption_text(sw.describe(t, names))
                                 for t in range(sw.n_frames)],
                }
    spec["inputs"] = inputs
    spec["states"] = states
    return spec

