"""A tiny CNN trained end to end with the NumPy layers: its parameters
(:func:`tiny_cnn_init`), one forward and backward pass (:func:`tiny_cnn_loss_and_grads`), the
same network in torch (:func:`tiny_cnn_torch`) and a plain gradient-descent step.

Not here: the layers themselves (:mod:`.conv`, :mod:`.pool`, :mod:`.dense`).
"""
from __future__ import annotations

from typing import Dict, Tuple

import numpy as np
import torch

from .conv import conv2d_backward, conv2d_forward
from .dense import (linear_backward, linear_forward, relu, relu_backward,
                    softmax_cross_entropy)
from .pool import (avg_pool2d_backward, avg_pool2d_forward, max_pool2d_backward,
                   max_pool2d_forward)


def tiny_cnn_init(seed: int = 0, in_channels: int = 1) -> Dict[str, np.ndarray]:
    """Random parameters of the tiny CNN used by :func:`tiny_cnn_loss_and_grads`.

    Architecture (for 12x12 inputs): conv1 ``in_channels->4``, 3x3, padding 1 -> ReLU ->
    average pool 2 -> conv2 ``4->6``, 3x3, stride 2, padding 1 -> ReLU -> max pool 3 -> flatten
    -> linear ``6->3``. Weights are uniform in ``+-1/sqrt(fan_in)`` (the bound PyTorch uses).

    Raises:
        TypeError, ValueError: if ``seed`` is not an integer >= 0 or ``in_channels`` not >= 1.
    """
    from ..ops import check_int

    check_int("seed", seed, 0)
    check_int("in_channels", in_channels, 1)
    rng = np.random.default_rng(seed)

    def uniform(shape, fan_in):
        bound = 1 / np.sqrt(fan_in)
        return rng.uniform(-bound, bound, size=shape)

    return {
        "conv1.weight": uniform((4, in_channels, 3, 3), in_channels * 9),
        "conv1.bias": uniform((4,), in_channels * 9),
        "conv2.weight": uniform((6, 4, 3, 3), 4 * 9),
        "conv2.bias": uniform((6,), 4 * 9),
        "fc.weight": uniform((3, 6), 6),
        "fc.bias": uniform((3,), 6),
    }


def tiny_cnn_loss_and_grads(
        params: Dict[str, np.ndarray], x: np.ndarray, labels: np.ndarray,
) -> Tuple[float, Dict[str, np.ndarray]]:
    """Forward and backward pass of the tiny CNN of :func:`tiny_cnn_init`.

    Args:
        params: dict from :func:`tiny_cnn_init`.
        x: images ``(N, C, 12, 12)``.
        labels: ``(N,)`` ints in ``[0, 3)``.

    Returns:
        ``(loss, grads)``: mean cross-entropy and a dict with the same keys
        as ``params``.
    """
    p = _check_tiny_inputs(params, x, labels)
    # forward, keeping every intermediate the backward pass needs
    z1 = conv2d_forward(x, p["conv1.weight"], p["conv1.bias"],
                        stride=1, padding=1)
    a1 = relu(z1)
    m1 = avg_pool2d_forward(a1, 2)
    z2 = conv2d_forward(m1, p["conv2.weight"], p["conv2.bias"],
                        stride=2, padding=1)
    a2 = relu(z2)
    m2 = max_pool2d_forward(a2, 3)
    h = m2.reshape(m2.shape[0], -1)
    logits = linear_forward(h, p["fc.weight"], p["fc.bias"])
    loss, d_logits = softmax_cross_entropy(logits, labels)
    # backward, in reverse order
    grads = {}
    d_h, grads["fc.weight"], grads["fc.bias"] = linear_backward(
        d_logits, h, p["fc.weight"])
    d_a2 = max_pool2d_backward(d_h.reshape(m2.shape), a2, 3)
    d_z2 = relu_backward(d_a2, z2)                  # the sigma' factor
    d_m1, grads["conv2.weight"], grads["conv2.bias"] = conv2d_backward(
        d_z2, m1, p["conv2.weight"], stride=2, padding=1)
    d_a1 = avg_pool2d_backward(d_m1, a1, 2)
    d_z1 = relu_backward(d_a1, z1)                  # the sigma' factor
    _, grads["conv1.weight"], grads["conv1.bias"] = conv2d_backward(
        d_z1, x, p["conv1.weight"], stride=1, padding=1)
    return loss, grads


def _check_params(params, where: str) -> None:
    if not isinstance(params, dict):
        raise TypeError(f"params must be the dict from tiny_cnn_init(), got {type(params).__name__}")
    missing = [k for k in _TINY_SHAPES if k not in params]
    if missing:
        raise ValueError(f"params lacks {missing} ({where} needs the dict from tiny_cnn_init())")
    c_in = np.shape(params["conv1.weight"])[1] if np.ndim(params["conv1.weight"]) == 4 else None
    for k, shape in _TINY_SHAPES.items():
        want = tuple(c_in if d == "C" else d for d in shape)
        if np.shape(params[k]) != want:
            raise ValueError(f"params[{k!r}] has shape {np.shape(params[k])}, expected {want}")


_TINY_SHAPES = {"conv1.weight": (4, "C", 3, 3), "conv1.bias": (4,), "conv2.weight": (6, 4, 3, 3),
                "conv2.bias": (6,), "fc.weight": (3, 6), "fc.bias": (3,)}


def _check_tiny_inputs(params, x, labels) -> Dict[str, np.ndarray]:
    _check_params(params, "tiny_cnn_loss_and_grads")
    shape = np.shape(x)
    c_in = np.shape(params["conv1.weight"])[1]
    if len(shape) != 4 or shape[1] != c_in or shape[2:] != (12, 12):
        raise ValueError(f"x must be images (N, {c_in}, 12, 12) for the tiny CNN, got shape {shape}")
    return params


def tiny_cnn_torch(params: Dict[str, np.ndarray]) -> torch.nn.Sequential:
    """The same tiny CNN as a float64 ``nn.Sequential`` whose parameters are copies of ``params``.

    Raises:
        TypeError, ValueError: if ``params`` is not a dict from :func:`tiny_cnn_init`.
    """
    from torch import nn

    _check_params(params, "tiny_cnn_torch")
    c_in = params["conv1.weight"].shape[1]
    model = nn.Sequential()
    model.add_module("conv1", nn.Conv2d(c_in, 4, 3, padding=1))
    model.add_module("act1", nn.ReLU())
    model.add_module("pool1", nn.AvgPool2d(2))
    model.add_module("conv2", nn.Conv2d(4, 6, 3, stride=2, padding=1))
    model.add_module("act2", nn.ReLU())
    model.add_module("pool2", nn.MaxPool2d(3))
    model.add_module("flatten", nn.Flatten())
    model.add_module("fc", nn.Linear(6, 3))
    model.to(torch.float64)
    with torch.no_grad():
        for name, tensor in model.named_parameters():
            tensor.copy_(torch.from_numpy(params[name]))
    return model


def sgd_step(params: Dict[str, np.ndarray], grads: Dict[str, np.ndarray],
             lr: float) -> Dict[str, np.ndarray]:
    """Plain gradient descent: a new dict with ``params[k] - lr * grads[k]``.

    Raises:
        TypeError: ``lr`` is not a number, or ``params``/``grads`` are not dicts.
        ValueError: ``lr`` is negative or not finite, a key of ``params`` has no gradient, or a
            gradient's shape differs from its parameter's (NumPy would broadcast it silently).
    """
    import math
    import numbers

    if isinstance(lr, bool) or not isinstance(lr, numbers.Real):
        raise TypeError(f"lr must be a number, got {type(lr).__name__} {lr!r}")
    if not math.isfinite(lr) or lr < 0:
        raise ValueError(f"lr must be a finite number >= 0, got {lr}")
    if not isinstance(params, dict) or not isinstance(grads, dict):
        raise TypeError("params and grads must be dicts of arrays (as from tiny_cnn_init and "
                        "tiny_cnn_loss_and_grads)")
    for k in params:
        if k not in grads:
            raise ValueError(f"grads has no entry for parameter {k!r}; pass the grads returned "
                             f"for these params")
        if np.shape(grads[k]) != np.shape(params[k]):
            raise ValueError(f"grads[{k!r}] has shape {np.shape(grads[k])} but params[{k!r}] has "
                             f"shape {np.shape(params[k])}")
    return {k: params[k] - lr * grads[k] for k in params}
