"""MobileNet (v1) (Howard, Zhu, Chen, Kalenichenko, Wang, Weyand, Andreetto, Adam, "MobileNets:
Efficient Convolutional Neural Networks for Mobile Vision Applications", arXiv:1704.04861, 2017).

The building block is the *depthwise separable convolution*: a depthwise k x k convolution
(``groups = in_channels``: one kernel per input channel, no mixing between channels) followed by
a pointwise 1x1 convolution that mixes the channels. For ``C_in`` inputs, ``C_out`` outputs and
an ``H x W`` output map it costs ``H W C_in k^2 + H W C_in C_out`` multiply-accumulates instead
of ``H W C_in C_out k^2``: a ratio of ``1 / C_out + 1 / k^2`` (the same ratio holds for the
weights).
"""
from __future__ import annotations

import math
import numbers
from typing import List, Sequence, Tuple

import torch
from torch import nn

from ._checks import (check_batch_norm_batch, check_bool, check_float_batch, check_positive_int,
                      check_probability)

__all__ = ["DepthwiseSeparableConv2d", "MobileNetV1", "MOBILENET_V1_BLOCKS", "separable_cost", "standard_conv_cost"]

#: (output channels, stride) of the 13 depthwise separable blocks of Table 1 of the paper. The
#: paper's table prints stride 2 for the last depthwise layer although its input and output are
#: both 7x7; like the reference implementations we use stride 1 there.
MOBILENET_V1_BLOCKS: Tuple[Tuple[int, int], ...] = (
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1),
    (1024, 2), (1024, 1),
)


def standard_conv_cost(c_in: int, c_out: int, k: int, h_out: int = 1, w_out: int = 1) -> Tuple[int, int]:
    """``(weights, MACs)`` of a k x k convolution ``c_in -> c_out`` without bias on an ``h_out x w_out`` output."""
    weights = c_out * c_in * k * k
    return weights, weights * h_out * w_out


def separable_cost(c_in: int, c_out: int, k: int, h_out: int = 1, w_out: int = 1) -> Tuple[int, int]:
    """``(weights, MACs)`` of a depthwise k x k + pointwise 1x1 convolution without biases.

    Depthwise: ``c_in * k * k`` weights; pointwise: ``c_in * c_out``. MACs are weights times
    ``h_out * w_out`` for both parts. Dividing by :func:`standard_conv_cost` gives
    ``1 / c_out + 1 / k**2``.
    """
    weights = c_in * k * k + c_in * c_out
    return weights, weights * h_out * w_out


class DepthwiseSeparableConv2d(nn.Module):
    """Depthwise k x k convolution + pointwise 1x1 convolution, each optionally followed by BN and ReLU.

    Args:
        in_channels, out_channels: channel counts.
        stride: stride of the depthwise convolution (the pointwise one always has stride 1).
        kernel_size: odd side of the depthwise kernel (3 in MobileNet); padding ``k // 2`` keeps
            the size for stride 1.
        norm_act: add ``BatchNorm2d`` + ``ReLU`` after both convolutions, as in MobileNet
            (convolutions then have no bias). ``False`` gives the two bare convolutions with
            bias, which is what the cost comparison with a single ``nn.Conv2d`` needs.

    Shapes: ``(B, in_channels, H, W)`` -> ``(B, out_channels, floor((H - 1) / stride) + 1, ...)``.

    Raises:
        ValueError: for non-positive channel counts, an even kernel size or a stride other than 1 or 2.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, kernel_size: int = 3,
                 norm_act: bool = True):
        super().__init__()
        check_positive_int("in_channels", in_channels)
        check_positive_int("out_channels", out_channels)
        check_positive_int("kernel_size", kernel_size)
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be a positive odd int, got {kernel_size}")
        if isinstance(stride, bool) or stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride!r}")
        check_bool("norm_act", norm_act)
        bias = not norm_act
        self.depthwise = nn.Conv2d(in_channels, in_channels, kernel_size, stride=stride,
                                   padding=kernel_size // 2, groups=in_channels, bias=bias)
        self.bn1 = nn.BatchNorm2d(in_channels) if norm_act else nn.Identity()
        self.relu1 = nn.ReLU(inplace=True) if norm_act else nn.Identity()
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=bias)
        self.bn2 = nn.BatchNorm2d(out_channels) if norm_act else nn.Identity()
        self.relu2 = nn.ReLU(inplace=True) if norm_act else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, in_channels, H, W)`` -> ``(B, out_channels, H', W')``."""
        check_float_batch(x, self, "DepthwiseSeparableConv2d")
        if x.dim() != 4 or x.shape[1] != self.depthwise.in_channels:
            raise ValueError(f"DepthwiseSeparableConv2d expects (B, {self.depthwise.in_channels}, H, W), "
                             f"got {tuple(x.shape)}")
        x = self.relu1(self.bn1(self.depthwise(x)))
        return self.relu2(self.bn2(self.pointwise(x)))


def _scaled(channels: int, width_mult: float) -> int:
    return max(8, int(round(channels * width_mult)))


class MobileNetV1(nn.Module):
    """MobileNet v1: a 3x3 stride-2 convolution, 13 depthwise separable blocks, global average pool, linear head.

    Args:
        num_classes: number of output logits (1000 for ImageNet).
        width_mult: the paper's width multiplier alpha (1.0, 0.75, 0.5, 0.25); every layer's
            channel count is multiplied by it (at least 8 channels are kept).
        in_channels: channels of the input images (3 for RGB).
        blocks: ``(out_channels, stride)`` of each separable block; default :data:`MOBILENET_V1_BLOCKS`.
        dropout: dropout before the classifier (0 disables it; not part of the paper's table).

    Input: ``(B, in_channels, 224, 224)`` as in the paper (the five stride-2 layers give 7x7 at
    the end); any size >= 1 works because the final pool is adaptive. For 1.0 MobileNet-224 the
    paper reports 4.2 million parameters and 569 million Mult-Adds.

    Raises:
        ValueError: for a non-positive ``width_mult``; the forward pass raises ``ValueError``
            for a wrong input rank or channel count.
    """

    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0, in_channels: int = 3,
                 blocks: Sequence[Tuple[int, int]] = MOBILENET_V1_BLOCKS, dropout: float = 0.0):
        super().__init__()
        check_positive_int("num_classes", num_classes)
        check_positive_int("in_channels", in_channels)
        if isinstance(width_mult, bool) or not isinstance(width_mult, numbers.Real):
            raise TypeError(f"width_mult must be a number such as 1.0, 0.75, 0.5 or 0.25, got {width_mult!r}")
        if not math.isfinite(width_mult) or width_mult <= 0:
            raise ValueError(f"width_mult must be positive and finite, got {width_mult}")
        check_probability("dropout", dropout)
        blocks = tuple(blocks)
        if not blocks or any(not isinstance(b, (tuple, list)) or len(b) != 2 for b in blocks):
            raise ValueError(f"blocks must be a non-empty list of (out_channels, stride) pairs, got {blocks!r}")
        self.in_channels = in_channels
        channels = _scaled(32, width_mult)
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, channels, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(channels), nn.ReLU(inplace=True))
        layers: List[nn.Module] = []
        for out_channels, stride in blocks:
            out_channels = _scaled(out_channels, width_mult)
            layers.append(DepthwiseSeparableConv2d(channels, out_channels, stride=stride))
            channels = out_channels
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, in_channels, H, W)`` float (224x224 intended) -> logits ``(B, num_classes)``."""
        check_float_batch(x, self, "MobileNetV1")
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"MobileNetV1 expects (B, {self.in_channels}, H, W), got {tuple(x.shape)}")
        check_batch_norm_batch(x, self, "MobileNetV1", 1 + sum(1 for m in self.features
                                                                if m.depthwise.stride[0] == 2))
        x = self.avgpool(self.features(self.stem(x)))
        return self.fc(self.dropout(torch.flatten(x, 1)))
