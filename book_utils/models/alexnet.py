"""AlexNet (Krizhevsky, Sutskever, Hinton, "ImageNet Classification with Deep Convolutional
Neural Networks", NeurIPS 2012), merged onto one device.

The layer sizes follow the paper (96-256-384-384-256 kernels, 4096-4096 fully connected) with
the paddings that make a 227x227 input give 256x6x6 feature maps before the classifier:
227 -conv11/4-> 55 -pool3/2-> 27 -conv5,p2-> 27 -pool-> 13 -conv3,p1 (x3)-> 13 -pool-> 6.

Not here: the CIFAR-10 recipes that train it (:mod:`book_utils.cifar`), the shared argument
and input checks (:mod:`._checks`).
"""
from __future__ import annotations

import torch
from torch import nn

from ._checks import (CheckedModule, check_float_batch, check_positive_int,
                      check_probability)

__all__ = ["AlexNet", "LocalResponseNorm", "MIN_INPUT_SIZE", "feature_map_size"]

#: smallest square input for which every layer still has a positive output size
MIN_INPUT_SIZE = 67


def feature_map_size(image_size: int) -> int:
    """Side of AlexNet's last feature map (``features``' output) for square inputs.

    Follows the layer arithmetic in the module docstring: 227 -> 6, 72 -> 1.

    Args:
        image_size: side of the square input in pixels (an integer >= :data:`MIN_INPUT_SIZE`).

    Raises:
        ValueError: for a side that is not an integer >= :data:`MIN_INPUT_SIZE`.
    """
    if isinstance(image_size, bool) or not isinstance(image_size, int) \
            or image_size < MIN_INPUT_SIZE:
        raise ValueError(f"image_size must be an integer >= {MIN_INPUT_SIZE} (AlexNet's "
                         f"smallest input), got {image_size!r}")
    side = (image_size - 11) // 4 + 1            # conv1: 11x11, stride 4
    for _ in range(3):                           # the three 3x3/2 max pools (convs keep size)
        side = (side - 3) // 2 + 1
    return side


class LocalResponseNorm(nn.LocalResponseNorm):
    """``nn.LocalResponseNorm`` computed in float32 whatever the input dtype.

    Under float16 autocast (GPUs of compute capability 7.x, e.g. T4, V100) the convolution
    before it outputs float16, and torch squares that input in float16: an activation above
    256 gives ``x * x > 65504 = inf`` and the output silently becomes 0. This layer squares,
    sums and divides in float32 and returns the input's dtype, so float16 matches float32
    up to float16 rounding. Same arguments, formula and (empty) ``state_dict`` as
    ``nn.LocalResponseNorm``: ``(B, C, H, W)`` -> ``(B, C, H, W)``.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # LRN's ops (mul, avg_pool3d, add, pow, div) are never lowered by autocast, so with a
        # float32 input they all run in float32
        return super().forward(x.float()).to(x.dtype)


class AlexNet(CheckedModule):
    """AlexNet for ``(B, 3, 227, 227)`` images.

    Args:
        num_classes: number of output logits (10 for CIFAR-10, 1000 for ImageNet).
        lrn: use local response normalisation after the first two convolutions with the
            paper's constants n=5, alpha=1e-4, beta=0.75, k=2 (:class:`LocalResponseNorm`,
            computed in float32 so that float16 autocast cannot overflow). PyTorch's
            ``nn.LocalResponseNorm`` divides ``alpha`` by ``size`` before use, so the paper's
            formula needs ``alpha = 5 * 1e-4``.
        dropout: dropout probability in the classifier (paper: 0.5).
        groups: 1 for the merged single-device network, 2 to mimic the paper's two-GPU split
            (conv2, conv4 and conv5 only see the half of the channels on "their" GPU).
        pool_size: side of the adaptive average pool before the classifier, whose first
            layer then takes ``256 * pool_size**2`` inputs. 6 (the paper's 256x6x6 = 9216)
            for 227x227 inputs. For small inputs whose last feature map is 1x1 (e.g. 72x72,
            :func:`feature_map_size`) a 6x6 pool only copies each value 36 times; 1 keeps
            the 256 values once (the same functions, 36.7 M fewer weights).

    ``features`` maps ``(B, 3, 227, 227)`` to ``(B, 256, 6, 6)``; ``avgpool`` is an adaptive
    ``pool_size`` x ``pool_size`` average pool, so other sizes >= :data:`MIN_INPUT_SIZE` also
    work (the pool then averages or repeats cells). Smaller inputs raise ``ValueError``.

    Raises:
        ValueError: for ``groups`` other than 1 or 2, or a dropout outside [0, 1)
            (:meth:`check_args`, run before ``__init__``); the forward pass raises
            ``ValueError`` for an input that is not a float ``(B, 3, H, W)`` batch with
            ``H, W >= 67`` (:meth:`check_input`, run by a forward pre-hook).
        TypeError or ValueError: for a ``pool_size`` that is not an integer >= 1.
    """

    def __init__(self, num_classes: int = 10, lrn: bool = True,
                 dropout: float = 0.5, groups: int = 1, pool_size: int = 6):
        super().__init__()

        def norm() -> nn.Module:
            if not lrn:
                return nn.Identity()
            return LocalResponseNorm(size=5, alpha=5 * 1e-4, beta=0.75, k=2.0)

        def conv(c_in, c_out, k, **kw) -> nn.Module:
            return nn.Conv2d(c_in, c_out, kernel_size=k, **kw)

        self.features = nn.Sequential(
            conv(3, 96, 11, stride=4), nn.ReLU(inplace=True), norm(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            conv(96, 256, 5, padding=2, groups=groups), nn.ReLU(inplace=True),
            norm(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            conv(256, 384, 3, padding=1), nn.ReLU(inplace=True),
            conv(384, 384, 3, padding=1, groups=groups), nn.ReLU(inplace=True),
            conv(384, 256, 3, padding=1, groups=groups), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((pool_size, pool_size))
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(256 * pool_size * pool_size, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` float, ``H, W >= 67`` (227 intended) -> logits."""
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))

    # The checks run before __init__ and forward (CheckedModule), out of the code above.
    @staticmethod
    def check_args(num_classes, lrn, dropout, groups, pool_size=6) -> None:
        """Raise for a bad constructor argument (see the class docstring)."""
        check_positive_int("num_classes", num_classes)
        check_positive_int("pool_size", pool_size)
        if not isinstance(lrn, bool):
            raise ValueError(f"lrn must be True or False, got {lrn!r}")
        if isinstance(groups, bool) or groups not in (1, 2):
            raise ValueError("groups must be 1 (one device) or 2 (the paper's "
                             f"two-GPU split), got {groups}")
        check_probability("dropout", dropout)

    def check_input(self, x, *args, **kwargs) -> None:
        """Raise unless ``x`` is a float ``(B, 3, H, W)`` batch with ``H, W >= 67``."""
        check_float_batch(x, self, "AlexNet")
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError("AlexNet expects a batch of RGB images "
                             f"(B, 3, H, W), got {tuple(x.shape)}")
        if min(x.shape[-2:]) < MIN_INPUT_SIZE:
            raise ValueError(
                f"AlexNet needs images of at least {MIN_INPUT_SIZE}x"
                f"{MIN_INPUT_SIZE} (it was designed for 227x227), got "
                f"{tuple(x.shape[-2:])}; resize the inputs, e.g. "
                f"torchvision.transforms.v2.Resize(227)")
