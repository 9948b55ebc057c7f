"""One dataset split in memory (:class:`ImageTensors`), split names, and the memo that decodes
each split once per process.

The memo's store is the package attribute ``book_utils.data._MEMO`` (looked up at each call),
so that assigning a new dict there, as the tests do, empties it for every loader at once.

Not here: where the files are (:mod:`.locations`), how they are read (:mod:`.mnist`,
:mod:`.cifar10_files`), per-sample datasets and loaders (:mod:`.loaders`).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Tuple

import torch

_MEMO_LOCK = threading.Lock()


@dataclass
class ImageTensors:
    """A whole dataset split held in memory.

    Attributes:
        images: ``uint8`` tensor of shape ``(N, C, H, W)``, values 0-255.
        labels: ``int64`` tensor of shape ``(N,)``.
        classes: class names; ``classes[k]`` is the name of label ``k``.
        source: where the data came from, in words (shown on the pages).
    """

    images: torch.Tensor
    labels: torch.Tensor
    classes: Tuple[str, ...]
    source: str

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def _check_split(split: str) -> bool:
    if not isinstance(split, str) or split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    return split == "train"


def _memo(key, make: Callable[[], ImageTensors]) -> ImageTensors:
    """``make()`` the first time ``key`` is asked for in this process, the same object after."""
    from . import _MEMO   # the package's store, which tests may replace

    with _MEMO_LOCK:
        if key not in _MEMO:
            _MEMO[key] = make()
        return _MEMO[key]
