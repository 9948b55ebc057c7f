"""YOLOv1 (Redmon, Divvala, Girshick, Farhadi, "You Only Look Once: Unified, Real-Time Object
Detection", CVPR 2016; Figure 3 of the paper).

A 24-layer convolutional *backbone* (7x7/2 stem, then 3x3 convolutions alternating with 1x1
"reduction" convolutions, four 2x2 max pools and one stride-2 convolution: total stride 64) and
a fully connected *detection head* (4096 units, then ``S * S * (B * 5 + C)`` outputs) that is
reshaped to the ``(S, S, B * 5 + C)`` grid. Leaky ReLU (slope 0.1) everywhere except the last
layer, which is linear; dropout 0.5 after the first fully connected layer. The paper has no
batch normalisation (YOLOv2 added it). Decoding and NMS live in :mod:`book_utils.detection`.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import List, Sequence, Tuple, Union

import torch
from torch import nn

from ._checks import check_float_batch, check_positive_int, check_probability

__all__ = ["YOLOv1", "YOLO_V1_BACKBONE"]

# A stage is a list of layers: (kernel, out_channels, stride) for a convolution, "M" for a 2x2 max pool.
Layer = Union[Tuple[int, int, int], str]

#: The six stages of Figure 3 of the paper (24 convolutions in all).
YOLO_V1_BACKBONE: Tuple[Tuple[Layer, ...], ...] = (
    ((7, 64, 2), "M"),
    ((3, 192, 1), "M"),
    ((1, 128, 1), (3, 256, 1), (1, 256, 1), (3, 512, 1), "M"),
    ((1, 256, 1), (3, 512, 1)) * 4 + ((1, 512, 1), (3, 1024, 1), "M"),
    ((1, 512, 1), (3, 1024, 1)) * 2 + ((3, 1024, 1), (3, 1024, 2)),
    ((3, 1024, 1), (3, 1024, 1)),
)


def _stage(layers: Sequence[Layer], in_channels: int) -> Tuple[nn.Sequential, int]:
    modules: List[nn.Module] = []
    for layer in layers:
        if layer == "M":
            modules.append(nn.MaxPool2d(2, 2))
            continue
        k, out_channels, stride = layer
        modules += [nn.Conv2d(in_channels, out_channels, k, stride=stride, padding=k // 2),
                    nn.LeakyReLU(0.1, inplace=True)]
        in_channels = out_channels
    return nn.Sequential(*modules), in_channels


class YOLOv1(nn.Module):
    """YOLOv1 detector: backbone + fully connected head, output ``(B, S, S, num_boxes * 5 + num_classes)``.

    Args:
        num_classes: ``C``, the number of object classes (20 for PASCAL VOC).
        grid_size: ``S``, the grid side (7 in the paper). The input side must be ``64 * S``
            (448 for ``S = 7``) because the head is fully connected.
        num_boxes: ``B``, boxes predicted per cell (2 in the paper).
        in_channels: image channels.
        hidden: units of the first fully connected layer (4096).
        dropout: dropout after it (0.5).

    The raw output follows the layout of :func:`book_utils.detection.decode_yolo_v1`.

    Raises:
        ValueError: for non-positive sizes; the forward pass raises ``ValueError`` for an input
            that is not ``(B, in_channels, 64 * S, 64 * S)``.
    """

    def __init__(self, num_classes: int = 20, grid_size: int = 7, num_boxes: int = 2, in_channels: int = 3,
                 hidden: int = 4096, dropout: float = 0.5):
        super().__init__()
        for label, value in (("num_classes", num_classes), ("grid_size", grid_size), ("num_boxes", num_boxes)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{label} must be a positive int, got {value!r}")
        check_positive_int("in_channels", in_channels)
        check_positive_int("hidden", hidden)
        check_probability("dropout", dropout)
        self.num_classes, self.grid_size, self.num_boxes = num_classes, grid_size, num_boxes
        self.in_channels = in_channels
        stages = OrderedDict()
        channels = in_channels
        for i, layers in enumerate(YOLO_V1_BACKBONE, start=1):
            stages[f"stage{i}"], channels = _stage(layers, channels)
        self.backbone = nn.Sequential(stages)
        depth = num_boxes * 5 + num_classes
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(channels * grid_size * grid_size, hidden), nn.LeakyReLU(0.1, inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, grid_size * grid_size * depth),
        )

    @property
    def input_size(self) -> int:
        """The required image side, ``64 * grid_size``."""
        return 64 * self.grid_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, in_channels, 64 S, 64 S)`` float -> ``(B, S, S, num_boxes * 5 + num_classes)``."""
        check_float_batch(x, self, "YOLOv1")
        side = self.input_size
        if x.dim() != 4 or x.shape[1] != self.in_channels or tuple(x.shape[-2:]) != (side, side):
            raise ValueError(f"YOLOv1(grid_size={self.grid_size}) expects (B, {self.in_channels}, {side}, {side}) "
                             f"images (the fully connected head fixes the size), got {tuple(x.shape)}")
        out = self.head(self.backbone(x))
        s = self.grid_size
        return out.view(x.shape[0], s, s, self.num_boxes * 5 + self.num_classes)
