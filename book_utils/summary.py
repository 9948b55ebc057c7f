"""Per-layer tables of a model: output shape, parameters and multiply-accumulates (MACs).

:func:`layer_table` runs one forward pass with forward hooks on the chosen modules and counts
operations with PyTorch's own counter, :class:`torch.utils.flop_counter.FlopCounterMode`.

Units. The counter reports floating-point operations (FLOPs) and counts one multiply-accumulate
of a convolution or matrix product as 2 FLOPs. The tables here show **MACs = FLOPs / 2**, the unit
papers such as MobileNet call "Mult-Adds". Only convolutions and matrix products are counted:
bias additions, activations, pooling and normalisation are left out (they are small next to the
convolutions, and papers usually leave them out too).

Example::

    >>> from book_utils.models import LeNet5
    >>> table = layer_table(LeNet5(), (1, 1, 28, 28))
    >>> print(table)                       # one row per called module
    >>> table.total_params, table.total_macs
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

__all__ = ["LayerRow", "LayerTable", "layer_table", "describe_module", "count_macs", "TEXT_WIDTH",
           "TYPE_ABBREVIATIONS"]

#: Characters per line of a printed table: what one line of a code or output block of the HTML
#: book shows at a 1280-px window without scrolling (see ``_static/cnn-book.css``).
TEXT_WIDTH = 80
#: Short names used for long module class names when a table must be narrowed to fit.
TYPE_ABBREVIATIONS: Dict[str, str] = {
    "LocalResponseNorm": "LRN",
    "DepthwiseSeparableConv2d": "DWSepConv",
    "AdaptiveAvgPool2d": "AdaptAvg",
    "AdaptiveMaxPool2d": "AdaptMax",
    "BatchNorm2d": "BN2d",
    "Sequential": "Seq",
    "BasicBlock": "Block",
    "PlainBlock": "Plain",
    "LeakyReLU": "LReLU",
}


def _shape(shape: Sequence[int]) -> str:
    """``(96, 55, 55)`` -> ``"96x55x55"`` (the notation of the config column)."""
    return "x".join(str(s) for s in shape)


@dataclass(frozen=True)
class LayerRow:
    """One call of one module during the traced forward pass.

    Attributes:
        name: qualified module name inside the model, e.g. ``"features.0"``.
        kind: the module's class name, e.g. ``"Conv2d"``.
        config: short description of its hyper-parameters (see :func:`describe_module`).
        output_shape: output shape without the batch dimension, e.g. ``(6, 28, 28)``.
        params: parameters owned by the module (0 on the second and later calls of a reused module).
        macs: multiply-accumulates of this call for the whole traced batch.
    """

    name: str
    kind: str
    config: str
    output_shape: Tuple[int, ...]
    params: int
    macs: int


@dataclass
class LayerTable:
    """The result of :func:`layer_table`; ``print(table)`` gives a fixed-width text table.

    Attributes:
        model_name: class name of the model.
        input_shape: shape of the traced input, batch included.
        rows: one :class:`LayerRow` per module call, in call order.
        total_params: all parameters of the model (counted once, whether or not a row shows them).
        total_macs: multiply-accumulates of the whole forward pass (batch included).
        output_shape: the model's output shape, batch included.
    """

    model_name: str
    input_shape: Tuple[int, ...]
    rows: List[LayerRow] = field(default_factory=list)
    total_params: int = 0
    total_macs: int = 0
    output_shape: Tuple[int, ...] = ()

    def row(self, name: str) -> LayerRow:
        """The first row of the module called ``name``; ``KeyError`` lists the names if missing."""
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(f"no row named {name!r}; rows: {[r.name for r in self.rows]}")

    def to_text(self, show_type: bool = True, show_config: bool = True, skip: Sequence = (),
                width: Optional[int] = TEXT_WIDTH) -> str:
        """Fixed-width table: layer, [type,] [config,] output, params, MACs, then the totals.

        The table is made to fit ``width`` characters (80 by default: one line of a code or
        output block of the HTML book). Shapes are written ``96x55x55``. When the full table is
        wider, it is narrowed one step at a time until it fits: long module class names are
        abbreviated (a key line below the table expands them), then MACs are given in millions
        (``105.4M``), then the type column and finally the config column are left out. Layer
        names and parameter counts are never shortened.

        Args:
            show_type: include the module class name column.
            show_config: include the hyper-parameter column (:func:`describe_module`).
            skip: module classes (or class names) whose rows are left out, e.g.
                ``(nn.ReLU, nn.Dropout)``; the totals still count the whole model.
            width: the widest line allowed; ``None`` keeps every column in full.

        Raises:
            ValueError: if ``width`` is not a positive int.
        """
        if width is not None and (isinstance(width, bool) or not isinstance(width, int) or width < 1):
            raise ValueError(f"width must be a positive int (characters per line) or None, got {width!r}")
        skipped = {c if isinstance(c, str) else c.__name__ for c in skip}
        rows = [r for r in self.rows if r.kind not in skipped]
        steps = [dict(abbreviate=False, millions=False, show_type=show_type, show_config=show_config)]
        if width is not None:
            for change in (dict(abbreviate=True), dict(millions=True), dict(show_type=False),
                           dict(show_config=False)):
                steps.append({**steps[-1], **change})
        for step in steps:
            text = self._format(rows, note_width=width or TEXT_WIDTH, **step)
            if width is None or max(len(line) for line in text.splitlines()) <= width:
                break
        return text

    def _format(self, rows: Sequence[LayerRow], abbreviate: bool, millions: bool, show_type: bool,
                show_config: bool, note_width: int) -> str:
        used = {}

        def kind(name: str) -> str:
            short = TYPE_ABBREVIATIONS.get(name) if abbreviate else None
            if short:
                used[short] = name
            return short or name

        def macs(n: int) -> str:
            return f"{n / 1e6:,.1f}M" if millions else f"{n:,}"

        head = (["layer"] + (["type"] if show_type else []) + (["config"] if show_config else [])
                + ["output", "params", "MACs"])
        body = []
        for r in rows:
            body.append([r.name] + ([kind(r.kind)] if show_type else []) + ([r.config] if show_config else [])
                        + [_shape(r.output_shape), f"{r.params:,}", macs(r.macs)])
        body.append(["total"] + ([""] if show_type else []) + ([""] if show_config else [])
                    + [_shape(self.output_shape[1:]), f"{self.total_params:,}", macs(self.total_macs)])
        widths = [max(len(line[i]) for line in [head] + body) for i in range(len(head))]
        numeric = {len(head) - 1, len(head) - 2}

        def fmt(line):
            return "  ".join(cell.rjust(w) if i in numeric else cell.ljust(w)
                             for i, (cell, w) in enumerate(zip(line, widths))).rstrip()

        rule = "-" * len(fmt(head))
        lines = [fmt(head), rule] + [fmt(line) for line in body[:-1]] + [rule, fmt(body[-1])]
        notes = [f"{short} = {name}" for short, name in sorted(used.items())]
        if millions:
            notes.append("MACs in millions (M)")
        joined = "; ".join(notes)
        if notes:
            lines += [joined] if len(joined) <= note_width else notes
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()


def describe_module(module: nn.Module) -> str:
    """A short, human-readable hyper-parameter string for common layers.

    ``Conv2d(3, 96, 11, stride=4)`` -> ``"11x11/4, 3->96"``; a padded or grouped convolution adds
    ``", p2"`` or ``", g2"``; pooling -> ``"3x3/2 max"``; ``Linear(9216, 4096)`` -> ``"9216->4096"``;
    a depthwise separable block (``depthwise`` and ``pointwise`` convolutions, as in
    :class:`book_utils.models.mobilenet.DepthwiseSeparableConv2d`) -> ``"dw 3x3/2, 64->128"``.
    Other modules give ``""``.
    """
    def pair(v):
        return tuple(v) if isinstance(v, (tuple, list)) else (v, v)

    depthwise, pointwise = getattr(module, "depthwise", None), getattr(module, "pointwise", None)
    if isinstance(depthwise, nn.Conv2d) and isinstance(pointwise, nn.Conv2d):
        kh, kw = depthwise.kernel_size
        return f"dw {kh}x{kw}/{depthwise.stride[0]}, {depthwise.in_channels}->{pointwise.out_channels}"

    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        sh, sw = module.stride
        text = f"{kh}x{kw}/{sh if sh == sw else f'{sh}x{sw}'}, {module.in_channels}->{module.out_channels}"
        if isinstance(module.padding, str):
            text += f", p={module.padding}"
        elif any(module.padding):
            ph, pw = module.padding
            text += f", p{ph if ph == pw else f'{ph}x{pw}'}"
        if module.groups != 1:
            text += f", g{module.groups}"
        return text
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        kh, kw = pair(module.kernel_size)
        sh, _ = pair(module.stride)
        kind = "max" if isinstance(module, nn.MaxPool2d) else "avg"
        return f"{kh}x{kw}/{sh} {kind}"
    if isinstance(module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        size = pair(module.output_size)
        return f"to {size[0]}x{size[1]}"
    if isinstance(module, nn.Linear):
        return f"{module.in_features}->{module.out_features}"
    if isinstance(module, nn.Dropout):
        return f"p={module.p:g}"
    if isinstance(module, nn.LocalResponseNorm):
        return f"size={module.size}"
    return ""


def _select(model: nn.Module, depth: Optional[int], names: Optional[Sequence[str]]) -> Dict[str, nn.Module]:
    named = dict(model.named_modules())
    named.pop("", None)
    if names is not None:
        missing = [n for n in names if n not in named]
        if missing:
            raise ValueError(f"unknown module name(s) {missing}; the model has {sorted(named)}")
        return {n: named[n] for n in names}
    if depth is not None and (not isinstance(depth, int) or depth < 1):
        raise ValueError(f"depth must be a positive int (1 = the model's direct children) or None, got {depth!r}")
    chosen = {}
    for name, module in named.items():
        level = name.count(".") + 1
        is_leaf = next(module.children(), None) is None
        if depth is None:
            if is_leaf:
                chosen[name] = module
        elif level == depth or (level < depth and is_leaf):
            chosen[name] = module
    return chosen


def _first_tensor(out):
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
        return out[0]
    return None


def _check_input_size(input_size) -> Tuple[int, ...]:
    """``input_size`` as a tuple of ints; a string ('28' would read as (2, 8)) or floats are refused."""
    import numbers

    if isinstance(input_size, (str, bytes)) or not hasattr(input_size, "__iter__"):
        raise TypeError(f"input_size must be a shape such as (1, 3, 32, 32) (a tuple of ints) or "
                        f"a tensor, got {type(input_size).__name__} {input_size!r}")
    shape = tuple(input_size)
    bad = [v for v in shape if isinstance(v, bool) or not isinstance(v, numbers.Integral)]
    if bad:
        raise TypeError(f"input_size must hold ints, e.g. (1, 3, 32, 32), got {bad[0]!r} "
                        f"({type(bad[0]).__name__}) in {input_size!r}")
    return tuple(int(v) for v in shape)


def layer_table(model: nn.Module, input_size: Union[Sequence[int], torch.Tensor],
                depth: Optional[int] = None, names: Optional[Sequence[str]] = None,
                device: Optional[Union[str, torch.device]] = None) -> LayerTable:
    """Trace one forward pass of ``model`` and tabulate the modules it calls.

    Args:
        model: any ``nn.Module``. It is run in eval mode under ``torch.no_grad()``; its training
            flag is restored afterwards.
        input_size: the input shape with the batch dimension, e.g. ``(1, 3, 227, 227)``, or an
            input tensor. A shape is filled with zeros on the model's device (``"meta"`` works:
            shapes and counts without allocating memory).
        depth: rows for modules at this nesting level (1 = the model's direct children) plus
            shallower leaf modules; ``None`` (default) gives every leaf module.
        names: explicit list of qualified module names to show instead (overrides ``depth``).
        device: where to create the zero input; default: the device of the first parameter.

    Returns:
        :class:`LayerTable`. A module called several times gives one row per call; its
        parameters are shown on the first call only. ``macs`` is FLOPs / 2 as counted by
        :class:`torch.utils.flop_counter.FlopCounterMode` (convolutions and matrix products only).

    Raises:
        TypeError: if ``model`` is not an ``nn.Module``, or ``input_size`` is neither a tensor
            nor a sequence of ints (a string, floats).
        ValueError: for a malformed ``input_size``, an unknown module name or a bad ``depth``;
            or if the model cannot run on that input (torch's ``RuntimeError``, e.g. a shape
            mismatch, is re-raised naming ``input_size``). Errors raised by the model's own
            input checks (``ValueError``, ``TypeError``) propagate unchanged.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if isinstance(input_size, torch.Tensor):
        x = input_size
    else:
        shape = _check_input_size(input_size)
        if len(shape) < 2 or any(s < 1 for s in shape):
            raise ValueError(f"input_size must list the batch size and at least one more positive size, got {shape}")
        if device is None:
            p = next(model.parameters(), None)
            device = p.device if p is not None else torch.device("cpu")
        x = torch.zeros(shape, device=device)
    chosen = _select(model, depth, names)

    rows: List[LayerRow] = []
    seen = set()
    starts: Dict[int, List[int]] = {}
    counter = FlopCounterMode(display=False)
    handles = []

    def pre_hook(module, args):
        starts.setdefault(id(module), []).append(counter.get_total_flops())

    def make_post_hook(name):
        def post_hook(module, args, out):
            start = starts[id(module)].pop()
            tensor = _first_tensor(out)
            shape = tuple(tensor.shape[1:]) if tensor is not None else ()
            params = 0 if id(module) in seen else sum(p.numel() for p in module.parameters())
            seen.add(id(module))
            macs = (counter.get_total_flops() - start) // 2
            rows.append(LayerRow(name, type(module).__name__, describe_module(module), shape, params, macs))
        return post_hook

    for name, module in chosen.items():
        handles.append(module.register_forward_pre_hook(pre_hook))
        handles.append(module.register_forward_hook(make_post_hook(name)))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), counter:
            out = model(x)
    except RuntimeError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        given = tuple(x.shape) if x is not input_size else f"a {x.dtype} tensor {tuple(x.shape)}"
        raise ValueError(f"model cannot run on input_size={given}: {first}; pass the "
                         f"(B, C, H, W) it expects (a float tensor, if a tensor)") from err
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    out_tensor = _first_tensor(out)
    return LayerTable(
        model_name=type(model).__name__,
        input_shape=tuple(x.shape),
        rows=rows,
        total_params=sum(p.numel() for p in model.parameters()),
        total_macs=counter.get_total_flops() // 2,
        output_shape=tuple(out_tensor.shape) if out_tensor is not None else (),
    )


def count_macs(model: nn.Module, input_size: Union[Sequence[int], torch.Tensor]) -> int:
    """Multiply-accumulates of one forward pass (FLOPs / 2 from ``FlopCounterMode``).

    ``input_size`` as in :func:`layer_table`, which raises the same errors (a string or floats
    for ``input_size``: ``TypeError``; a model that cannot run on it: ``ValueError``).
    """
    return layer_table(model, input_size, names=[]).total_macs
