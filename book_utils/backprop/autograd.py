"""The NumPy layers inside ``torch.autograd``: ``autograd.Function`` wrappers that let
``torch.autograd.gradcheck`` test the backward passes against finite differences, and
:func:`max_abs_error` for comparing any result with torch's.

Not here: the NumPy forward and backward passes (:mod:`.conv`, :mod:`.pool`).
"""
from __future__ import annotations

import numpy as np
import torch

from .conv import conv2d_forward, conv2d_input_grad, conv2d_weight_grad
from .pool import (avg_pool2d_backward, avg_pool2d_forward, max_pool2d_backward,
                   max_pool2d_forward)


def max_abs_error(a, b) -> float:
    """Largest absolute elementwise difference of two arrays or tensors of the same shape."""
    a = a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
    b = b.detach().cpu().numpy() if isinstance(b, torch.Tensor) else np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    return float(np.max(np.abs(a - b))) if a.size else 0.0


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def _check_tensors(what: str, **tensors) -> None:
    for name, t in tensors.items():
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{what}.apply needs torch tensors; {name} is a {type(t).__name__} "
                            f"(use torch.as_tensor({name}, dtype=torch.float64))")
        if not t.is_floating_point():
            raise TypeError(f"{what}.apply needs floating-point tensors; {name} has dtype {t.dtype} "
                            f"(use {name}.double() for gradcheck)")


class Conv2dNumpyFunction(torch.autograd.Function):
    """``conv2d`` whose forward and backward are this package's NumPy code.

    ``Conv2dNumpyFunction.apply(x, w, b, stride, padding)`` with tensors ``x (N, C_in, H, W)``,
    ``w (C_out, C_in, kH, kW)``, ``b (C_out,)``. Lets ``torch.autograd.gradcheck`` compare
    :func:`conv2d_backward` with finite differences (use float64). A sixth positional argument
    ``rotate=False`` switches to the deliberately wrong input gradient of
    :func:`conv2d_input_grad` (for demonstrating that the checks catch it).
    """

    @staticmethod
    def forward(ctx, x, w, b, stride=1, padding=0, rotate=True):
        _check_tensors("Conv2dNumpyFunction", x=x, w=w, b=b)
        ctx.save_for_backward(x, w)
        ctx.conf = (stride, padding, rotate)
        z = conv2d_forward(_np(x), _np(w), _np(b), stride, padding)
        return torch.from_numpy(np.ascontiguousarray(z)).to(x.device)

    @staticmethod
    def backward(ctx, dz):
        x, w = ctx.saved_tensors
        stride, padding, rotate = ctx.conf
        g, xn, wn = _np(dz), _np(x), _np(w)
        grads = (conv2d_input_grad(g, wn, xn.shape, stride, padding, rotate=rotate),
                 conv2d_weight_grad(g, xn, wn.shape[2:], stride, padding),
                 g.sum(axis=(0, 2, 3)))
        return (*(torch.from_numpy(np.ascontiguousarray(t)).to(x.device) for t in grads),
                None, None, None)


class MaxPool2dNumpyFunction(torch.autograd.Function):
    """``max_pool2d`` with this package's NumPy forward and backward: ``.apply(x, kernel_size, stride)``."""

    @staticmethod
    def forward(ctx, x, kernel_size, stride=None):
        _check_tensors("MaxPool2dNumpyFunction", x=x)
        ctx.save_for_backward(x)
        ctx.conf = (kernel_size, stride)
        return torch.from_numpy(max_pool2d_forward(_np(x), kernel_size, stride)).to(x.device)

    @staticmethod
    def backward(ctx, dz):
        (x,) = ctx.saved_tensors
        dx = max_pool2d_backward(_np(dz), _np(x), *ctx.conf)
        return torch.from_numpy(dx).to(x.device), None, None


class AvgPool2dNumpyFunction(torch.autograd.Function):
    """``avg_pool2d`` with this package's NumPy forward and backward: ``.apply(x, kernel_size, stride)``."""

    @staticmethod
    def forward(ctx, x, kernel_size, stride=None):
        _check_tensors("AvgPool2dNumpyFunction", x=x)
        ctx.save_for_backward(x)
        ctx.conf = (kernel_size, stride)
        return torch.from_numpy(np.ascontiguousarray(
            avg_pool2d_forward(_np(x), kernel_size, stride))).to(x.device)

    @staticmethod
    def backward(ctx, dz):
        (x,) = ctx.saved_tensors
        dx = avg_pool2d_backward(_np(dz), _np(x), *ctx.conf)
        return torch.from_numpy(dx).to(x.device), None, None
