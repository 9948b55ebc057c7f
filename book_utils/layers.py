"""Hand-written 2D convolution and max pooling layers (``nn.Module``s).

Two versions of each, so a reader can see the idea first and the speed-up second:

* ``Conv2dLoop`` / ``MaxPool2dLoop`` – a Python loop over output positions; at each position
  one window (receptive field) of the input is combined with the kernel (``torch.einsum``) or
  reduced with ``max``. Easy to read, slow.
* ``Conv2dIm2col`` / ``MaxPool2dWindows`` – all windows at once: ``F.unfold`` (im2col) turns
  every window into a column, so the convolution becomes one matrix product; pooling takes the
  maximum over a strided window view (``Tensor.unfold``).

Supported: square kernels, stride, zero padding (convolution) / implicit ``-inf`` padding
(pooling, like ``F.max_pool2d``). Not supported: dilation, groups, non-square kernels.
Weights are ``nn.Parameter`` initialised exactly like ``nn.Conv2d`` (Kaiming-uniform with
``a=sqrt(5)``, bias uniform in ``±1/sqrt(fan_in)``), so with the same seed the hand-written
layer starts from the same numbers as ``nn.Conv2d``. Autograd provides the backward pass.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .ops import check_int, output_size

__all__ = ["Conv2dLoop", "Conv2dIm2col", "MaxPool2dLoop", "MaxPool2dWindows"]


def _check_input(x: torch.Tensor, channels: int, kernel_size: int, padding: int, what: str):
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{what} expects a torch.Tensor x, got {type(x).__name__}; convert with "
                        f"torch.as_tensor(x, dtype=torch.float32)")
    if not x.is_floating_point():
        raise ValueError(f"{what} expects a floating-point batch, got dtype {x.dtype} for x; convert raw "
                         f"pixels with x.float() / 255")
    if x.dim() != 4:
        raise ValueError(f"{what} expects a 4-D batch (B, C, H, W), got x of shape {tuple(x.shape)}; "
                         f"add a batch dimension with x.unsqueeze(0) for a single image")
    if channels is not None and x.shape[1] != channels:
        raise ValueError(f"{what} was built for {channels} input channels, got {x.shape[1]} "
                         f"(x has shape {tuple(x.shape)}); check in_channels or the input")
    h, w = x.shape[-2:]
    if kernel_size > min(h, w) + 2 * padding:
        raise ValueError(f"{what}: kernel_size={kernel_size} is larger than the padded input "
                         f"{h + 2 * padding}x{w + 2 * padding} (x is {h}x{w}, padding={padding}); "
                         f"use a larger input, more padding or a smaller kernel")


class _Conv2dBase(nn.Module):
    """Parameters, initialisation and checks shared by both hand-written convolutions."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, bias: bool = True):
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, 1)
        self.out_channels = check_int("out_channels", out_channels, 1)
        self.kernel_size = check_int("kernel_size", kernel_size, 1)
        self.stride = check_int("stride", stride, 1)
        self.padding = check_int("padding", padding, 0)
        if not isinstance(bias, bool):
            raise TypeError(f"bias must be True or False (whether to learn a bias), got {bias!r}")
        # nn.Parameter: registered, so model.parameters() returns it and the optimizer trains it.
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """The same initialisation (and order of random draws) as ``nn.Conv2d``."""
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_channels * self.kernel_size ** 2
            bound = 1 / math.sqrt(fan_in)
            nn.init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None}")

    def _prepare(self, x: torch.Tensor):
        _check_input(x, self.in_channels, self.kernel_size, self.padding, type(self).__name__)
        if x.dtype != self.weight.dtype:
            raise ValueError(f"{type(self).__name__} has {self.weight.dtype} weights but got a {x.dtype} "
                             f"input; use x.to({self.weight.dtype}) or layer.to({x.dtype})")
        if x.device != self.weight.device:
            raise ValueError(f"{type(self).__name__} has its weights on {self.weight.device} but the "
                             f"input x is on {x.device}; move one of them, e.g. "
                             f"x.to('{self.weight.device}') or layer.to('{x.device}')")
        h, w = x.shape[-2:]
        return (output_size(h, self.kernel_size, self.padding, self.stride),
                output_size(w, self.kernel_size, self.padding, self.stride))


class Conv2dLoop(_Conv2dBase):
    """2D convolution (cross-correlation, as in ``nn.Conv2d``) computed position by position.

    Input ``(B, in_channels, H, W)`` float -> output ``(B, out_channels, H_out, W_out)`` with
    ``H_out = floor((H + 2*padding - kernel_size) / stride) + 1`` (same for W).

    Raises:
        ValueError: bad constructor arguments (non-positive sizes, negative padding), or an
            input of the wrong rank, channel count, or smaller than the kernel.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h_out, w_out = self._prepare(x)
        k, s = self.kernel_size, self.stride
        x = F.pad(x, (self.padding,) * 4)
        out = x.new_empty(x.shape[0], self.out_channels, h_out, w_out)
        for i in range(h_out):
            for j in range(w_out):
                # (B, C_in, k, k)
                window = x[:, :, i * s:i * s + k, j * s:j * s + k]
                # sum over input channel c and kernel rows/cols h, w,
                # for every (batch b, filter o)
                out[:, :, i, j] = torch.einsum("bchw,ochw->bo", window,
                                               self.weight)
        if self.bias is not None:
            out = out + self.bias.view(1, -1, 1, 1)
        return out


class Conv2dIm2col(_Conv2dBase):
    """2D convolution as one matrix product over im2col columns (``F.unfold``).

    ``F.unfold`` copies every ``kernel_size x kernel_size`` window of every input channel into
    a column: ``(B, in_channels*k*k, L)`` with ``L = H_out * W_out``. The kernels reshaped to
    ``(out_channels, in_channels*k*k)`` multiply those columns, giving ``(B, out_channels, L)``.
    Same shapes, arguments and errors as :class:`Conv2dLoop`.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h_out, w_out = self._prepare(x)
        cols = F.unfold(x, self.kernel_size, padding=self.padding,
                        stride=self.stride)
        out = self.weight.flatten(1) @ cols                 # (B, C_out, L)
        if self.bias is not None:
            out = out + self.bias.view(1, -1, 1)
        return out.view(x.shape[0], self.out_channels, h_out, w_out)


class _MaxPoolBase(nn.Module):
    def __init__(self, kernel_size: int, stride=None, padding: int = 0):
        super().__init__()
        self.kernel_size = check_int("kernel_size", kernel_size, 1)
        # the usual convention: without an explicit stride, windows do not overlap
        self.stride = self.kernel_size if stride is None else check_int("stride", stride, 1)
        self.padding = check_int("padding", padding, 0)
        if 2 * self.padding > self.kernel_size:
            raise ValueError(f"padding={padding} must be at most half of kernel_size={kernel_size} "
                             f"(the same rule as F.max_pool2d), otherwise a window could hold only padding")

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def _padded(self, x: torch.Tensor):
        _check_input(x, None, self.kernel_size, self.padding, type(self).__name__)
        h, w = x.shape[-2:]
        h_out = output_size(h, self.kernel_size, self.padding, self.stride)
        w_out = output_size(w, self.kernel_size, self.padding, self.stride)
        # pad with -inf, not 0: a zero border would beat all-negative windows
        return F.pad(x, (self.padding,) * 4, value=float("-inf")), h_out, w_out


class MaxPool2dLoop(_MaxPoolBase):
    """2D max pooling computed window by window. No parameters.

    Input ``(B, C, H, W)`` -> ``(B, C, H_out, W_out)``; ``stride`` defaults to ``kernel_size``.

    Raises:
        ValueError: non-positive kernel/stride, negative padding, padding above half the
            kernel, wrong input rank, or an input smaller than the window.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, h_out, w_out = self._padded(x)
        k, s = self.kernel_size, self.stride
        out = x.new_empty(x.shape[0], x.shape[1], h_out, w_out)
        for i in range(h_out):
            for j in range(w_out):
                window = x[:, :, i * s:i * s + k, j * s:j * s + k]
                out[:, :, i, j] = window.flatten(2).max(dim=2).values
        return out


class MaxPool2dWindows(_MaxPoolBase):
    """2D max pooling over a strided view of all windows at once (``Tensor.unfold``).

    ``x.unfold(2, k, s).unfold(3, k, s)`` is a view of shape ``(B, C, H_out, W_out, k, k)``
    (no copy); the maximum over its last two axes is the pooled map. Same arguments, shapes
    and errors as :class:`MaxPool2dLoop`.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, h_out, w_out = self._padded(x)
        k, s = self.kernel_size, self.stride
        windows = x.unfold(2, k, s).unfold(3, k, s)
        return windows.flatten(-2).max(dim=-1).values
