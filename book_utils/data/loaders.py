"""From a split in memory to batches: :class:`TensorImageDataset`, :func:`stratified_indices`
(balanced subsets) and :func:`make_loader` (a ``DataLoader`` suited to the device).

Not here: loading the splits (:mod:`.mnist`, :mod:`.cifar10`); batch augmentation on the
device (``book_utils.cifar``).
"""
from __future__ import annotations

import os
from typing import Callable, Optional, Sequence

import torch
from torch.utils.data import DataLoader, Dataset

from .splits import ImageTensors


class TensorImageDataset(Dataset):
    """A map-style dataset over in-memory uint8 images with an optional per-sample transform.

    Args:
        data: an :class:`ImageTensors` (or anything with ``images`` and ``labels``).
        transform: callable applied to each ``uint8`` image tensor ``(C, H, W)``, e.g. a
            ``torchvision.transforms.v2.Compose``; it must return a float tensor. Default:
            scale to ``float32`` in ``[0, 1]``.
        indices: optional subset of sample indices (e.g. from :func:`stratified_indices`).

    Items are ``(image, label)`` with ``label`` a Python ``int``.

    Raises:
        TypeError: ``data`` has no ``images``/``labels`` tensors, ``transform`` is not
            callable, or ``indices`` are not integers.
        ValueError: images and labels of different lengths, or indices outside the data.
    """

    def __init__(self, data: ImageTensors, transform: Optional[Callable] = None,
                 indices: Optional[Sequence[int]] = None):
        images, labels = getattr(data, "images", None), getattr(data, "labels", None)
        if not isinstance(images, torch.Tensor) or not isinstance(labels, torch.Tensor):
            raise TypeError(f"data must have 'images' and 'labels' tensors (an ImageTensors from "
                            f"load_mnist/load_cifar10), got {type(data).__name__}")
        if images.dim() != 4 or labels.dim() != 1 or images.shape[0] != labels.shape[0]:
            raise ValueError(f"data.images must be (N, C, H, W) and data.labels (N,) with the same N, "
                             f"got {tuple(images.shape)} and {tuple(labels.shape)}")
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable (e.g. a transforms.v2.Compose) or None, "
                            f"got {type(transform).__name__}")
        self.images = images
        self.labels = labels
        self.classes = tuple(getattr(data, "classes", ()))
        self.transform = transform
        self.indices = None if indices is None else _check_indices(indices, labels.shape[0])

    def __len__(self) -> int:
        return int(self.labels.shape[0] if self.indices is None else self.indices.shape[0])

    def __getitem__(self, i: int):
        j = int(i if self.indices is None else self.indices[i])
        img = self.images[j]
        img = self.transform(img) if self.transform is not None else img.float().div_(255)
        return img, int(self.labels[j])

    @property
    def targets(self) -> torch.Tensor:
        """Labels of the samples in this dataset, ``int64`` of shape ``(len(self),)``."""
        return self.labels if self.indices is None else self.labels[self.indices]


def _check_indices(indices, n: int) -> torch.Tensor:
    try:
        idx = torch.as_tensor(indices)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise TypeError(f"indices must be a sequence of integers, got {type(indices).__name__} "
                        f"({exc})") from None
    if idx.numel() == 0:
        idx = idx.to(torch.int64)   # an empty list becomes float32; it selects nothing
    if idx.dtype.is_floating_point or idx.dtype == torch.bool or idx.dim() != 1:
        raise TypeError(f"indices must be a 1-D sequence of integers, got {idx.dtype} of shape "
                        f"{tuple(idx.shape)}; use stratified_indices() or a list of ints")
    idx = idx.to(torch.int64)
    if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= n):
        raise ValueError(f"indices must lie in [0, {n}) for data of {n} samples, got "
                         f"{int(idx.min())}..{int(idx.max())}")
    return idx


def stratified_indices(labels: torch.Tensor, n: Optional[int], seed: int = 0) -> Optional[torch.Tensor]:
    """Pick ``n`` indices with (as nearly as possible) equal counts per class.

    Args:
        labels: ``int64`` tensor ``(N,)``.
        n: how many to pick; ``None`` or ``n >= N`` returns ``None`` (meaning "all").
        seed: seed of the random choice (the same seed gives the same subset).

    Raises:
        TypeError: ``labels`` is not an integer tensor, or ``n``/``seed`` not integers.
        ValueError: ``labels`` is not 1-D or empty, or ``n`` is not positive.
    """
    from ..ops import check_int

    if not isinstance(labels, torch.Tensor) or labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise TypeError(f"labels must be an integer torch.Tensor (N,), got "
                        f"{getattr(labels, 'dtype', type(labels).__name__)}")
    if labels.dim() != 1 or labels.numel() == 0:
        raise ValueError(f"labels must be a non-empty 1-D tensor, got shape {tuple(labels.shape)}")
    check_int("seed", seed, 0)
    if n is None:
        return None
    n = check_int("n (subset size)", n, 1)
    if n >= labels.shape[0]:
        return None
    g = torch.Generator().manual_seed(seed)
    classes = torch.unique(labels)
    per_class = [torch.nonzero(labels == c).flatten() for c in classes]
    per_class = [idx[torch.randperm(idx.numel(), generator=g)] for idx in per_class]
    quota = [n // len(classes) + (1 if k < n % len(classes) else 0) for k in range(len(classes))]
    chosen = torch.cat([idx[:q] for idx, q in zip(per_class, quota)])
    return chosen[torch.randperm(chosen.numel(), generator=g)]


def make_loader(dataset: Dataset, batch_size: int, shuffle: bool, device: Optional[torch.device] = None,
                seed: int = 0, num_workers: Optional[int] = None, drop_last: bool = False) -> DataLoader:
    """A ``DataLoader`` with settings suited to ``device``.

    On CUDA: pinned memory and worker processes (``num_workers`` default: up to 8, one per
    two CPU cores) so the GPU is not left waiting. On CPU: loading in the main process,
    which is fastest for in-memory tensors on a small machine.

    Args:
        dataset: any map-style dataset.
        batch_size: samples per batch (positive).
        shuffle: reshuffle each epoch, with a generator seeded by ``seed`` (reproducible).
        device: where training runs; default CPU.

    Raises:
        TypeError: ``dataset`` has no length, or ``batch_size``/``num_workers`` are not integers.
        ValueError: if ``batch_size`` is not positive, ``num_workers`` is negative, or the
            dataset is empty.
    """
    from ..ops import check_int

    batch_size = check_int("batch_size", batch_size, 1)
    if num_workers is not None:
        num_workers = check_int("num_workers", num_workers, 0)
    try:
        size = len(dataset)
    except TypeError:
        raise TypeError(f"dataset must be a map-style dataset with a length (e.g. "
                        f"TensorImageDataset), got {type(dataset).__name__}") from None
    if size == 0:
        raise ValueError("dataset is empty: a loader over it would yield no batches; check the "
                         "subset size or indices")
    cuda = device is not None and torch.device(device).type == "cuda"
    if num_workers is None:
        num_workers = min(8, (os.cpu_count() or 2) // 2) if cuda else 0
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last,
                      num_workers=num_workers, pin_memory=cuda, generator=generator,
                      persistent_workers=num_workers > 0)
