"""Mini-batches of an in-memory CIFAR-10 split, cut and transformed on the training device.

* :class:`DeviceBatches` -- an iterable of ``(images, labels)`` batches that keeps the
  ``uint8`` images on the device (150 MB for the CIFAR-10 training set), so the data
  pipeline never starves a GPU.

Not here: the transforms applied to each batch (:mod:`.augment`), torch ``DataLoader``s over
datasets (:mod:`book_utils.data.loaders`).
"""
from __future__ import annotations

from typing import Callable, Iterator, Optional, Sequence, Tuple

import torch

from ..data import CIFAR10_CLASSES
from ..data.loaders import _check_indices
from ._checks import check_image_tensors, check_int
from .augment import BatchTransform

__all__ = ["DeviceBatches"]


class DeviceBatches:
    """Mini-batches of an in-memory ``uint8`` image set, transformed on the training device.

    The ``uint8`` images are copied to ``device`` once (50,000 CIFAR-10 images are 150 MB), so
    each batch is an index into device memory followed by a :class:`BatchTransform`: no
    worker processes, no per-image Python, no host-to-device copy per batch.

    Args:
        data: an :class:`~book_utils.data.ImageTensors` (``images`` uint8 ``(N, 3, H, W)``,
            ``labels`` int64 ``(N,)``).
        batch_size: images per batch (positive).
        shuffle: new random order every epoch, drawn from :attr:`generator` (``fit`` reseeds it
            at the start of each epoch, so an epoch's order depends only on its number).
        device: where the images live and the batches are produced (default CPU).
        transform: a :class:`BatchTransform` (default: scale to ``[0, 1]`` only).
        indices: optional subset of sample indices (e.g. from ``stratified_indices``).
        drop_last: drop a last, smaller batch.
        seed: initial seed of :attr:`generator`.

    Iterating yields ``(images float32 (B, 3, S, S), labels int64 (B,))`` on ``device``.

    Raises:
        TypeError / ValueError: for a batch size that is not a positive integer, ``data``
            that is not an :class:`~book_utils.data.ImageTensors` of ``uint8 (N, 3, H, W)``
            images with as many integer labels, indices that are not integers in
            ``[0, N)``, an empty selection, or a ``transform`` that is not callable.
    """

    def __init__(self, data, batch_size: int, shuffle: bool, device: Optional[torch.device] = None,
                 transform: Optional[Callable] = None, indices: Optional[Sequence[int]] = None,
                 drop_last: bool = False, seed: int = 0):
        batch_size = check_int("batch_size", batch_size, 1)
        check_image_tensors(data)
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable (e.g. a BatchTransform), got "
                            f"{type(transform).__name__}")
        images, labels = data.images, data.labels
        if indices is not None:
            idx = _check_indices(indices, images.shape[0])
            if idx.numel() == 0:
                raise ValueError("indices selects no image; pass at least one index, or None "
                                 "for all of them")
            images, labels = images.index_select(0, idx), labels.index_select(0, idx)
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.images = images.to(self.device)
        self.labels = labels.to(torch.int64).to(self.device)
        self.classes = tuple(getattr(data, "classes", CIFAR10_CLASSES))
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.transform = transform if transform is not None else BatchTransform(
            images.shape[-1], (0, 0, 0), (1, 1, 1))
        self.generator = torch.Generator().manual_seed(seed)

    @property
    def num_samples(self) -> int:
        """Number of images per epoch (before ``drop_last``)."""
        return int(self.labels.shape[0])

    def __len__(self) -> int:
        n, b = self.num_samples, self.batch_size
        return n // b if self.drop_last else (n + b - 1) // b

    def __iter__(self) -> Iterator[Tuple[torch.Tensor, torch.Tensor]]:
        n = self.num_samples
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        order = order.to(self.device)
        for k in range(len(self)):
            idx = order[k * self.batch_size:(k + 1) * self.batch_size]
            yield self.transform(self.images.index_select(0, idx)), self.labels.index_select(0, idx)

