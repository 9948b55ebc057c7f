""""Plain" networks: ResNets with the shortcuts taken out (He et al., "Deep Residual Learning for
Image Recognition", CVPR 2016, section 4.1 uses such plain-18 / plain-34 baselines).

:class:`PlainBlock` has exactly the layers of :class:`~book_utils.models.resnet.BasicBlock`
except the shortcut, so ``ResNet(PlainBlock, layers)`` and ``ResNet(BasicBlock, layers)`` have
the same depth and almost the same parameters; the only difference is ``+ x``. Comparing the
two shows the *degradation problem*: the deeper plain network trains worse, the residual one
does not.
"""
from __future__ import annotations

import torch

from .resnet import BasicBlock, ResNet

__all__ = ["PlainBlock", "plain_net", "residual_net"]


class PlainBlock(BasicBlock):
    """:class:`~book_utils.models.resnet.BasicBlock` with the shortcut taken out:
    ``relu(bn2(conv2(relu(bn1(conv1(x))))))``.

    Same arguments and shapes as ``BasicBlock``:
    ``(B, in_planes, H, W)`` -> ``(B, planes, floor((H - 1) / stride) + 1, ...)``.

    Raises:
        ValueError: for a stride other than 1 or 2.
    """

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__(in_planes, planes, stride)
        del self.shortcut  # the one difference: no identity or projection path

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)))


def _depth_to_layers(depth: int):
    # depth = 1 stem conv + 2 convs per block + 1 linear layer, blocks spread over four stages
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 10 or (depth - 2) % 8 != 0:
        raise ValueError(f"depth must be 8n + 2 with n >= 1 (10, 18, 26, 34, ...): one stem convolution, "
                         f"four stages of n two-convolution blocks and the linear head; got {depth!r}")
    n = (depth - 2) // 8
    return [n, n, n, n]


def plain_net(depth: int = 18, num_classes: int = 10, in_channels: int = 3, width: int = 64) -> ResNet:
    """A plain (shortcut-free) network of ``depth`` weighted layers built like a CIFAR ResNet.

    ``depth`` counts the stem convolution, the convolutions of the blocks and the linear head:
    it must be ``8n + 2`` (18 gives the plain twin of ResNet-18). See :class:`ResNet` for shapes.
    """
    return ResNet(PlainBlock, _depth_to_layers(depth), num_classes=num_classes,
                  in_channels=in_channels, width=width)


def residual_net(depth: int = 18, num_classes: int = 10, in_channels: int = 3, width: int = 64) -> ResNet:
    """The residual twin of :func:`plain_net`: same layers plus shortcuts (1x1 projections where shapes change)."""
    return ResNet(BasicBlock, _depth_to_layers(depth), num_classes=num_classes,
                  in_channels=in_channels, width=width)
