"""Augmentation, normalisation and resizing of CIFAR-10 images, batch-wise on their device.

The functional core first, then the class that chains it (as in
``torchvision.transforms.v2``):

* :func:`random_crop`, :func:`random_flip` -- one random window / mirror per image of a
  batch, the batched forms of ``v2.RandomCrop(padding=...)`` and ``v2.RandomHorizontalFlip``;
* :class:`BatchTransform` -- crop, flip, scale to ``[0, 1]``, normalise, resize: a whole
  ``uint8`` batch in one go (GPU-side on CUDA);
* :func:`sample_transform` -- the equivalent per-image ``v2`` pipeline of the source, and
  :func:`resize_cost` -- how much bigger a resized image is.

Not here: which recipe uses which settings (:mod:`.recipes`), batching a dataset
(:mod:`.batches`).
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F

from ..data import CIFAR10_MEAN, CIFAR10_STD
from ._checks import check_int, check_number, check_uint8_batch

__all__ = ["random_crop", "random_flip", "BatchTransform", "sample_transform", "resize_cost"]


def _check_batch4(images) -> None:
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images must be a torch.Tensor batch (B, C, H, W), got "
                        f"{type(images).__name__}")
    if images.dim() != 4:
        raise ValueError(f"expected a batch (B, C, H, W), got shape {tuple(images.shape)}; "
                         f"add a batch dimension with images.unsqueeze(0)")


def _check_mask(mask, b: int) -> torch.Tensor:
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        raise TypeError(f"mask must be a bool tensor of shape ({b},), e.g. "
                        f"torch.rand({b}) < 0.5, got {getattr(mask, 'dtype', type(mask).__name__)}")
    if tuple(mask.shape) != (b,):
        raise ValueError(f"mask must have shape ({b},), one entry per image, got "
                         f"{tuple(mask.shape)}")
    return mask


def _check_offsets(offsets, b: int, padding: int) -> torch.Tensor:
    if not isinstance(offsets, torch.Tensor) or offsets.is_floating_point() \
            or offsets.dtype == torch.bool:
        raise TypeError(f"offsets must be an integer tensor (B, 2) of window corners (top, "
                        f"left), got {getattr(offsets, 'dtype', type(offsets).__name__)}")
    if tuple(offsets.shape) != (b, 2) or int(offsets.min()) < 0 \
            or int(offsets.max()) > 2 * padding:
        raise ValueError(f"offsets must be (B, 2) = ({b}, 2) with values in [0, {2 * padding}], "
                         f"got shape {tuple(offsets.shape)}"
                         + (f" and values {int(offsets.min())}..{int(offsets.max())}"
                            if offsets.numel() else ""))
    return offsets.to(torch.int64)


def random_crop(images: torch.Tensor, padding: int, offsets: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Pad a batch with zeros and cut one window of the original size out of each image.

    The batched form of ``torchvision.transforms.v2.RandomCrop(size, padding=padding)``
    (constant zero fill): every image gets its own window.

    Args:
        images: ``(B, C, H, W)`` tensor of any dtype.
        padding: zero pixels added on each side (``>= 0``).
        offsets: optional ``int64 (B, 2)`` window corners ``(top, left)`` in the padded image,
            each in ``[0, 2 * padding]``; default: uniformly random (torch's RNG on the
            device of ``images``).

    Returns:
        A tensor shaped and typed like ``images``.

    Raises:
        TypeError: for a non-tensor batch, a non-integer padding or non-integer offsets.
        ValueError: for a negative padding, a non-4D batch or offsets of the wrong shape/range.
    """
    _check_batch4(images)
    padding = check_int("padding", padding, 0)
    b, _, h, w = images.shape
    if offsets is not None:
        offsets = _check_offsets(offsets, b, padding)
    if padding == 0:
        return images
    if offsets is None:
        offsets = torch.randint(0, 2 * padding + 1, (b, 2), device=images.device)
    offsets = offsets.to(images.device)
    c = images.shape[1]
    padded = F.pad(images, (padding, padding, padding, padding))            # (B, C, H+2p, W+2p)
    rows = offsets[:, 0:1] + torch.arange(h, device=images.device)          # (B, H)
    cols = offsets[:, 1:2] + torch.arange(w, device=images.device)          # (B, W)
    # flat position of output pixel (i, j) of image b inside its padded image, the same for
    # every channel; one gather then copies all windows at once
    flat = rows[:, :, None] * (w + 2 * padding) + cols[:, None, :]          # (B, H, W)
    flat = flat.view(b, 1, h * w).expand(b, c, h * w)
    return padded.flatten(2).gather(2, flat).view(b, c, h, w)


def random_flip(images: torch.Tensor, p: float = 0.5, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Mirror each image of a batch left-right with probability ``p``.

    Args:
        images: ``(B, C, H, W)``.
        p: flip probability in ``[0, 1]``.
        mask: optional ``bool (B,)``: which images to flip (default: random, drawn from
            torch's RNG on the device of ``images``).

    Returns:
        A new tensor shaped like ``images``.

    Raises:
        TypeError: for a non-tensor batch, a non-number ``p`` or a mask that is not bool.
        ValueError: for a non-4D batch, ``p`` outside ``[0, 1]`` or a mask that is not
            ``(B,)`` (a length-1 mask is not broadcast to the batch).
    """
    _check_batch4(images)
    p = check_number("p", p, 0.0, 1.0)
    if mask is None:
        mask = torch.rand(images.shape[0], device=images.device) < p
    else:
        mask = _check_mask(mask, images.shape[0])
    mask = mask.to(images.device).view(-1, 1, 1, 1)
    return torch.where(mask, images.flip(-1), images)


class BatchTransform:
    """Augment, normalise and resize a batch of ``uint8`` images in one go, on their device.

    Steps, in order: random crop with zero padding (optional), random horizontal flip
    (optional), conversion to ``float32`` in ``[0, 1]``, per-channel normalisation
    ``(x - mean) / std``, bilinear resize to ``image_size`` (``align_corners=False``, as
    ``torchvision``'s ``Resize``). Normalising before resizing gives the same result as after
    (bilinear weights sum to one) but touches 50x fewer pixels for 32 -> 227.

    Args:
        image_size: output side in pixels (32 keeps the CIFAR size).
        mean, std: three floats each.
        crop_padding: padding of the random crop (0: no crop).
        flip: random horizontal flip with probability 0.5.
        channels_last: return the batch in ``torch.channels_last`` memory format.

    Call with a ``uint8 (B, 3, H, W)`` tensor; returns ``float32 (B, 3, image_size,
    image_size)`` on the same device.

    Raises:
        TypeError / ValueError: for a size or padding that is not an integer in range,
            ``mean``/``std`` that are not three finite numbers (``std`` positive),
            ``flip``/``channels_last`` that are not bool; when called, for a batch that is
            not ``uint8 (B, 3, H, W)``.
    """

    def __init__(self, image_size: int = 32, mean: Sequence[float] = CIFAR10_MEAN,
                 std: Sequence[float] = CIFAR10_STD, crop_padding: int = 0, flip: bool = False,
                 channels_last: bool = False):
        self.image_size = check_int("image_size", image_size, 1)
        for name, values in (("mean", mean), ("std", std)):
            if isinstance(values, (str, bytes)) or not hasattr(values, "__len__") \
                    or len(values) != 3:
                raise ValueError(f"{name} needs three values (R, G, B), got {values!r}")
        self.mean = tuple(check_number(f"mean[{k}]", m) for k, m in enumerate(mean))
        self.std = tuple(check_number(f"std[{k}]", v, 0.0, low_open=True)
                         for k, v in enumerate(std))
        self.crop_padding = check_int("crop_padding", crop_padding, 0)
        for name, value in (("flip", flip), ("channels_last", channels_last)):
            if not isinstance(value, bool):
                raise TypeError(f"{name} must be True or False, got {value!r}")
        self.flip = flip
        self.channels_last = channels_last
        # mean and std as (1, 3, 1, 1) tensors, made once per device and reused by every batch
        self._stats: Dict[torch.device, Tuple[torch.Tensor, torch.Tensor]] = {}

    def stats_on(self, device: Union[str, torch.device]) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(mean, std)`` as ``float32 (1, 3, 1, 1)`` tensors on ``device``.

        They are built on the first call for a device and cached: a training loop calls the
        transform once per batch, and a new device tensor per batch would mean a small
        host-to-device copy (and, on CUDA, a synchronisation) every time.
        """
        device = torch.device(device)
        if device not in self._stats:
            shape = (1, 3, 1, 1)
            self._stats[device] = (torch.tensor(self.mean, dtype=torch.float32).view(shape).to(device),
                                   torch.tensor(self.std, dtype=torch.float32).view(shape).to(device))
        return self._stats[device]

    def __repr__(self) -> str:
        return (f"BatchTransform(image_size={self.image_size}, crop_padding={self.crop_padding}, "
                f"flip={self.flip}, mean={self.mean}, std={self.std})")

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        check_uint8_batch(images)
        if self.crop_padding:
            images = random_crop(images, self.crop_padding)
        if self.flip:
            images = random_flip(images)
        mean, std = self.stats_on(images.device)
        x = images.float().div_(255).sub_(mean).div_(std)
        if tuple(x.shape[-2:]) != (self.image_size, self.image_size):
            x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bilinear",
                              align_corners=False, antialias=False)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x


def sample_transform(recipe, train: bool):
    """The per-image ``torchvision.transforms.v2`` pipeline of ``recipe`` (the source's way).

    It works on one ``uint8 (3, 32, 32)`` tensor at a time (in a ``DataLoader``), in the
    order crop, flip, resize, scale to ``[0, 1]``, normalise; ``Resize`` of a ``uint8``
    image rounds to whole grey levels, as the source's PIL pipeline does.

    Args:
        recipe: a :class:`~book_utils.cifar.Recipe` (its size, statistics, augmentation).
        train: ``True``: with the recipe's training augmentation; ``False``: without.

    Returns:
        A ``v2.Compose``; use it as ``TensorImageDataset(data, transform=...)``.

    Raises:
        TypeError: if ``recipe`` lacks a recipe's settings or ``train`` is not a bool.
    """
    needed = ("image_size", "mean", "std", "crop_padding", "flip")
    if not all(hasattr(recipe, a) for a in needed):
        raise TypeError(f"recipe must be a Recipe, e.g. get_recipe('alexnet-source'), got "
                        f"{type(recipe).__name__}")
    if not isinstance(train, bool):
        raise TypeError(f"train must be True or False, got {train!r}")
    from torchvision.transforms import v2

    steps = []
    if train and recipe.crop_padding:
        steps.append(v2.RandomCrop(32, padding=recipe.crop_padding))
    if train and recipe.flip:
        steps.append(v2.RandomHorizontalFlip())
    if recipe.image_size != 32:
        steps.append(v2.Resize((recipe.image_size, recipe.image_size), antialias=True))
    steps += [v2.ToDtype(torch.float32, scale=True), v2.Normalize(list(recipe.mean), list(recipe.std))]
    return v2.Compose(steps)


def resize_cost(src: int = 32, dst: int = 227, channels: int = 3) -> Dict[str, float]:
    """How much bigger an image becomes when resized from ``src`` to ``dst`` pixels a side.

    Returns:
        ``{"pixel_factor": (dst/src)**2, "bytes_src": uint8 bytes, "bytes_dst_float32": bytes
        of the float32 image the model sees}``.

    Raises:
        TypeError / ValueError: for a size or channel count that is not a positive integer.
    """
    src, dst = check_int("src", src, 1), check_int("dst", dst, 1)
    channels = check_int("channels", channels, 1)
    return {"pixel_factor": (dst / src) ** 2,
            "bytes_src": channels * src * src,
            "bytes_dst_float32": 4 * channels * dst * dst}

