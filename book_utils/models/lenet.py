"""LeNet-5 (LeCun, Bottou, Bengio, Haffner, "Gradient-based learning applied to document
recognition", Proc. IEEE 86(11), 1998).

The original network expects 32x32 inputs. MNIST images are 28x28; this implementation
keeps the paper's feature-map sizes by giving C1 ``padding=2`` (28 + 2*2 = 32), which is the
same as padding the image to 32x32 with zeros.
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
from torch import nn

from ._checks import CheckedModule, check_float_batch, check_positive_int

__all__ = ["LeNet5"]

_ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}
_POOLS = {"avg": nn.AvgPool2d, "max": nn.MaxPool2d}


class LeNet5(CheckedModule):
    """LeNet-5: C1-S2-C3-S4-C5-F6-output with 6/16/120/84/``num_classes`` units.

    Shapes for a ``(B, 1, 28, 28)`` input (C1 pads by 2, as if the image were 32x32):
    C1 ``(B, 6, 28, 28)`` -> S2 ``(B, 6, 14, 14)`` -> C3 ``(B, 16, 10, 10)`` ->
    S4 ``(B, 16, 5, 5)`` -> C5 ``(B, 120, 1, 1)`` -> F6 ``(B, 84)`` -> ``(B, num_classes)``.
    With ``input_size=32`` C1 has no padding and takes ``(B, 1, 32, 32)``.

    Args:
        num_classes: number of output logits.
        activation: ``"sigmoid"``, ``"tanh"`` or ``"relu"`` (the modern choice). The 1998
            paper used a scaled tanh, ``1.7159 * tanh(2a / 3)``; ``"tanh"`` is the closest
            choice here (without the scale).
        pooling: ``"avg"`` (as in 1998, S2/S4 are 2x2 average pooling) or ``"max"``.
        input_size: 28 (MNIST, C1 uses ``padding=2``) or 32 (the paper's input).
        conv: constructor used for the convolution layers, called as
            ``conv(in_channels, out_channels, kernel_size, stride=1, padding=p)``; default
            ``nn.Conv2d``. Pass ``book_utils.layers.Conv2d`` to use the hand-written layer.
        pool: constructor used for pooling, called as ``pool(kernel_size, stride)``; default
            from ``pooling``.

    Raises:
        ValueError: for an unknown activation, pooling or input size.

    The forward pass raises ``ValueError`` for inputs that are not ``(B, 1, input_size, input_size)``.
    """

    def __init__(self, num_classes: int = 10, activation: str = "relu",
                 pooling: str = "max", input_size: int = 28,
                 conv: Optional[Callable[..., nn.Module]] = None,
                 pool: Optional[Callable[..., nn.Module]] = None):
        super().__init__()
        conv = conv or nn.Conv2d
        pool = pool or _POOLS[pooling]
        act = _ACTIVATIONS[activation]
        self.input_size = int(input_size)
        self.c1 = conv(1, 6, 5, stride=1, padding=2 if input_size == 28 else 0)
        self.s2 = pool(2, 2)
        self.c3 = conv(6, 16, 5, stride=1, padding=0)
        self.s4 = pool(2, 2)
        self.c5 = conv(16, 120, 5, stride=1, padding=0)
        self.f6 = nn.Linear(120, 84)
        self.output = nn.Linear(84, num_classes)
        self.act = act()

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """C1..C5: ``(B, 1, H, W)`` -> ``(B, 120)``."""
        x = self.s2(self.act(self.c1(x)))
        x = self.s4(self.act(self.c3(x)))
        x = self.act(self.c5(x))
        return torch.flatten(x, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 1, input_size, input_size)`` float -> ``(B, num_classes)``."""
        return self.output(self.act(self.f6(self.features(x))))

    # The checks run before __init__ and forward (CheckedModule), out of the code above.
    @staticmethod
    def check_args(num_classes, activation, pooling, input_size, conv, pool) -> None:
        """Raise for an unknown activation, pooling or input size, or a layer factory that
        cannot be called."""
        check_positive_int("num_classes", num_classes)
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
        if pooling not in _POOLS:
            raise ValueError(f"pooling must be one of {sorted(_POOLS)}, got {pooling!r}")
        if isinstance(input_size, bool) or input_size not in (28, 32):
            raise ValueError(f"input_size must be 28 (MNIST, padded in C1) or 32, got {input_size!r}")
        for label, factory in (("conv", conv), ("pool", pool)):
            if factory is not None and not callable(factory):
                raise TypeError(f"{label} must be a layer class or factory (e.g. nn.Conv2d) or None, "
                                f"got {type(factory).__name__}")

    def check_input(self, x, *args, **kwargs) -> None:
        """Raise unless ``x`` is a float ``(B, 1, input_size, input_size)`` batch."""
        check_float_batch(x, self, "LeNet5")
        if x.dim() != 4 or x.shape[1] != 1 or tuple(x.shape[-2:]) != (self.input_size,) * 2:
            raise ValueError(f"LeNet5(input_size={self.input_size}) expects a batch of shape "
                             f"(B, 1, {self.input_size}, {self.input_size}), got {tuple(x.shape)}")
