"""VGG (Simonyan and Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", ICLR 2015, arXiv:1409.1556).

A VGG network is a stack of *blocks*; each block is a few 3x3 convolutions (padding 1, so the
size is kept) with ReLU, closed by a 2x2 max pool with stride 2 (the size is halved). The five
blocks of every configuration double the channels 64 -> 128 -> 256 -> 512 -> 512, so a
224x224 image leaves the last block as 512x7x7. The classifier is 4096-4096-``num_classes``.

Layer names and order match ``torchvision.models.vgg*`` (``features``, ``avgpool``,
``classifier``), so parameter counts and state dicts line up with torchvision's models.
"""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import torch
from torch import nn

from ._checks import check_bool, check_float_batch, check_positive_int, check_probability

__all__ = ["VGG", "VGG_CONFIGS", "vgg_block", "vgg11", "vgg16"]

#: (number of 3x3 convolutions, output channels) of each block, from Table 1 of the paper.
#: "A" = VGG-11, "B" = VGG-13, "D" = VGG-16, "E" = VGG-19.
VGG_CONFIGS: Dict[str, Tuple[Tuple[int, int], ...]] = {
    "vgg11": ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512)),
    "vgg13": ((2, 64), (2, 128), (2, 256), (2, 512), (2, 512)),
    "vgg16": ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512)),
    "vgg19": ((2, 64), (2, 128), (4, 256), (4, 512), (4, 512)),
}


def vgg_block(num_convs: int, in_channels: int, out_channels: int, batch_norm: bool = False) -> List[nn.Module]:
    """One VGG block as a list of layers: ``num_convs`` x (3x3 conv, p=1 [+ BN] + ReLU), then 2x2 max pool.

    Shapes: ``(B, in_channels, H, W)`` -> ``(B, out_channels, H // 2, W // 2)``.

    A list (not an ``nn.Sequential``) is returned so that :class:`VGG` can lay all blocks out in
    one flat ``features`` sequence, exactly like torchvision; wrap it in ``nn.Sequential(*...)``
    to use a block on its own.

    Raises:
        ValueError: if ``num_convs`` or a channel count is not a positive int.
    """
    for label, value in (("num_convs", num_convs), ("in_channels", in_channels), ("out_channels", out_channels)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{label} must be a positive int, got {value!r}")
    check_bool("batch_norm", batch_norm)
    layers: List[nn.Module] = []
    for i in range(num_convs):
        layers.append(nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(out_channels))
        layers.append(nn.ReLU(inplace=True))
    layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return layers


class VGG(nn.Module):
    """A VGG network built from a block configuration.

    Args:
        config: a key of :data:`VGG_CONFIGS` (``"vgg11"``, ``"vgg13"``, ``"vgg16"``, ``"vgg19"``)
            or a sequence of ``(num_convs, out_channels)`` pairs, one per block.
        num_classes: number of output logits (1000 for ImageNet).
        in_channels: channels of the input images (3 for RGB).
        batch_norm: add batch normalisation after every convolution (the later "vgg*_bn" variant;
            the paper has none).
        dropout: dropout probability before the two hidden fully connected layers (paper: 0.5).
        hidden: width of the two hidden fully connected layers (paper: 4096).
        pool_size: side of the adaptive average pool before the classifier (7 as in torchvision,
            so a 224x224 input is passed through unchanged).

    Input: ``(B, in_channels, 224, 224)`` as in the paper; any size whose side is at least
    ``2 ** len(config)`` (32 for five blocks) works because of the adaptive pool.

    Raises:
        ValueError: for an unknown configuration name or a malformed configuration; the forward
            pass raises ``ValueError`` for a wrong channel count or a too small image.
    """

    def __init__(self, config="vgg16", num_classes: int = 1000, in_channels: int = 3,
                 batch_norm: bool = False, dropout: float = 0.5, hidden: int = 4096, pool_size: int = 7):
        super().__init__()
        check_positive_int("num_classes", num_classes)
        for label, value in (("in_channels", in_channels), ("hidden", hidden), ("pool_size", pool_size)):
            check_positive_int(label, value)
        if isinstance(config, str):
            if config not in VGG_CONFIGS:
                raise ValueError(f"unknown VGG configuration {config!r}; use one of {sorted(VGG_CONFIGS)} "
                                 "or a list of (num_convs, out_channels) pairs")
            config = VGG_CONFIGS[config]
        if not hasattr(config, "__iter__") or any(not hasattr(b, "__len__") for b in config):
            raise ValueError(f"config must be a configuration name or a list of (num_convs, "
                             f"out_channels) pairs, got {config!r}")
        config = [tuple(block) for block in config]
        if not config or any(len(block) != 2 for block in config):
            raise ValueError(f"config must be a non-empty list of (num_convs, out_channels) pairs, got {config}")
        check_probability("dropout", dropout)
        self.config: Tuple[Tuple[int, int], ...] = tuple(config)
        self.in_channels = in_channels
        layers: List[nn.Module] = []
        channels = in_channels
        for num_convs, out_channels in self.config:
            layers += vgg_block(num_convs, channels, out_channels, batch_norm)
            channels = out_channels
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((pool_size, pool_size))
        self.classifier = nn.Sequential(
            nn.Linear(channels * pool_size * pool_size, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )

    @property
    def min_input_size(self) -> int:
        """Smallest image side that survives all max pools (one pixel after the last block)."""
        return 2 ** len(self.config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, in_channels, H, W)`` float, ``H, W >= min_input_size`` (224 intended) -> ``(B, num_classes)``."""
        check_float_batch(x, self, "VGG")
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"VGG expects (B, {self.in_channels}, H, W), got {tuple(x.shape)}")
        if min(x.shape[-2:]) < self.min_input_size:
            raise ValueError(f"VGG with {len(self.config)} blocks halves the image {len(self.config)} times and "
                             f"needs at least {self.min_input_size}x{self.min_input_size} inputs, "
                             f"got {tuple(x.shape[-2:])}; resize the images (the paper uses 224x224)")
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def vgg11(num_classes: int = 1000, **kwargs) -> VGG:
    """VGG-11 (configuration "A"): 8 convolutions + 3 fully connected layers; 132,863,336 parameters for 1000 classes."""
    return VGG("vgg11", num_classes=num_classes, **kwargs)


def vgg16(num_classes: int = 1000, **kwargs) -> VGG:
    """VGG-16 (configuration "D"): 13 convolutions + 3 fully connected layers; 138,357,544 parameters for 1000 classes."""
    return VGG("vgg16", num_classes=num_classes, **kwargs)
