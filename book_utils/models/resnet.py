"""ResNet for CIFAR-sized images (He, Zhang, Ren, Sun, "Deep Residual Learning for Image
Recognition", CVPR 2016).

The stem is the usual CIFAR variant: one 3x3 convolution with stride 1 and no max pooling, so
a 32x32 image keeps 32x32 feature maps in the first stage (ImageNet ResNets start with a 7x7
stride-2 convolution and a max pool, which would leave only 8x8 after the stem).

Not here: the plain (shortcut-free) twins (:mod:`.plain`), the shared argument and input
checks (:mod:`._checks`), the CIFAR-10 recipes (:mod:`book_utils.cifar`).
"""
from __future__ import annotations

import numbers
from typing import List, Sequence, Type

import torch
from torch import nn

from ._checks import (CheckedModule, check_batch_norm_batch, check_float_batch,
                      check_positive_int)

__all__ = ["BasicBlock", "ResNet", "resnet18"]


def _check_block_input(block: nn.Module, x) -> None:
    """Cheap entry check for a residual block called on its own (type, rank, channels)."""
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1] != block.conv1.in_channels:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{type(block).__name__} expects x of shape (B, {block.conv1.in_channels}, H, W) "
                         f"(in_planes={block.conv1.in_channels}), got {shape}")


class BasicBlock(CheckedModule):
    """Two 3x3 convolutions with batch norm and a residual shortcut: ``relu(F(x) + shortcut(x))``.

    The shortcut is the identity when the shape is unchanged, otherwise a 1x1 convolution with
    the block's stride plus batch norm (the paper's "projection shortcut", option B).

    Args:
        in_planes: input channels.
        planes: channels of both 3x3 convolutions; the block outputs ``planes * expansion``.
        stride: stride of the first convolution (2 halves height and width: ``ceil(H / 2)``).

    Shapes: ``(B, in_planes, H, W)`` -> ``(B, planes, floor((H - 1) / stride) + 1, ...)``.
    """

    #: output channels = planes * expansion (4 in the Bottleneck block of deeper ResNets)
    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1,
                               bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1,
                               bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        out_planes = planes * self.expansion
        if stride != 1 or in_planes != out_planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, out_planes, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_planes))
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))

    # The checks run before __init__ and forward (CheckedModule), out of the code above.
    @staticmethod
    def check_args(in_planes, planes, stride) -> None:
        """Raise for channel counts below 1 or a stride other than 1 or 2."""
        check_positive_int("in_planes", in_planes)
        check_positive_int("planes", planes)
        if isinstance(stride, bool) or stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride!r}")

    def check_input(self, x, *args, **kwargs) -> None:
        """Raise unless ``x`` is a ``(B, in_planes, H, W)`` tensor (cheap: blocks run often)."""
        _check_block_input(self, x)


class ResNet(CheckedModule):
    """A CIFAR-style ResNet: 3x3 stem, four stages of residual blocks, global average pool, linear head.

    Args:
        block: the residual block class (e.g. :class:`BasicBlock`); must define ``expansion``.
        layers: number of blocks in each of the four stages, e.g. ``[2, 2, 2, 2]`` for ResNet-18.
        num_classes: number of output logits.
        in_channels: channels of the input images (3 for RGB).
        width: channels of the first stage (stages use width, 2x, 4x, 8x).

    Shapes for a ``(B, 3, 32, 32)`` input: stem ``(B, 64, 32, 32)``, stages
    ``(B, 64, 32, 32)``, ``(B, 128, 16, 16)``, ``(B, 256, 8, 8)``, ``(B, 512, 4, 4)``, global
    average pool ``(B, 512)``, head ``(B, num_classes)``. Any input size >= 1 works because
    the pool is adaptive.
    """

    def __init__(self, block: Type[BasicBlock], layers: Sequence[int],
                 num_classes: int = 10, in_channels: int = 3, width: int = 64):
        super().__init__()
        self.in_planes = width
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, stride=1, padding=1,
                      bias=False),
            nn.BatchNorm2d(width), nn.ReLU(inplace=True))
        self.layer1 = self._make_layer(block, width, layers[0], stride=1)
        self.layer2 = self._make_layer(block, width * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(block, width * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(block, width * 8, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        # after global average pooling the head sees width*8*expansion
        # numbers (512 for ResNet-18), not 512*4*4
        self.fc = nn.Linear(width * 8 * block.expansion, num_classes)

    def _make_layer(self, block: Type[BasicBlock], planes: int, blocks: int,
                    stride: int) -> nn.Sequential:
        strides = [stride] + [1] * (blocks - 1)
        stage: List[nn.Module] = []
        for s in strides:
            stage.append(block(self.in_planes, planes, s))
            self.in_planes = planes * block.expansion
        return nn.Sequential(*stage)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, in_channels, H, W)`` float -> logits ``(B, num_classes)``."""
        x = self.stem(x)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))

    # The checks run before __init__ and forward (CheckedModule), out of the code above.
    @staticmethod
    def check_args(block, layers, num_classes, in_channels, width) -> None:
        """Raise for a block that is not a residual block class, ``layers`` that are not four
        positive counts, or sizes below 1."""
        for name, value in (("num_classes", num_classes), ("in_channels", in_channels),
                            ("width", width)):
            check_positive_int(name, value)
        if not (isinstance(block, type) and issubclass(block, nn.Module)
                and hasattr(block, "expansion")):
            raise TypeError(f"block must be a residual block class such as BasicBlock (an "
                            f"nn.Module subclass with an 'expansion' attribute), got {block!r}")
        if isinstance(layers, (str, bytes)) or not hasattr(layers, "__len__"):
            raise ValueError(f"layers must list four positive block counts, got {layers!r}")
        if len(layers) != 4 or any(isinstance(n, bool) or not isinstance(n, numbers.Integral)
                                   or n < 1 for n in layers):
            raise ValueError(f"layers must list four positive block counts, got {list(layers)}")

    def check_input(self, x, *args, **kwargs) -> None:
        """Raise unless ``x`` is a float ``(B, in_channels, H, W)`` batch that batch
        normalisation can handle in the current mode."""
        check_float_batch(x, self, "ResNet")
        if x.dim() != 4 or x.shape[1] != self.stem[0].in_channels:
            raise ValueError(f"ResNet expects (B, {self.stem[0].in_channels}, H, W), "
                             f"got {tuple(x.shape)}")
        check_batch_norm_batch(x, self, "ResNet", 3)   # stages 2-4 halve the size


def resnet18(num_classes: int = 10, in_channels: int = 3) -> ResNet:
    """ResNet-18 for CIFAR: :class:`BasicBlock` x [2, 2, 2, 2]; 11,173,962 parameters for 10 classes."""
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes=num_classes, in_channels=in_channels)
