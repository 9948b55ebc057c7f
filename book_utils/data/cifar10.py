"""CIFAR-10: :func:`load_cifar10`, which looks for a local copy in a fixed order and
downloads one as a last resort; and ImageNet's channel statistics, used when CIFAR-10 is fed
to a network with an ImageNet recipe (the AlexNet page).

Not here: reading and checking each kind of copy (:mod:`.cifar10_files`).
"""
from __future__ import annotations

from typing import Optional

from .cifar10_files import (CIFAR10_FOLDER_NAMES, _cifar_from_archive, _cifar_from_folders,
                            _cifar_from_torchvision, _looks_like_class_folders)
from .errors import CorruptDataError, DataNotFoundError
from .locations import (PathLike, _download_error_text, _how_to_provide, _quiet, data_roots,
                        default_data_dir)
from .splits import ImageTensors, _check_split, _memo

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def load_cifar10(split: str = "train", root: Optional[PathLike] = None,
                 download: bool = True) -> ImageTensors:
    """Load a CIFAR-10 split as uint8 tensors.

    Looks, in each folder of :func:`data_roots`, for torchvision's ``cifar-10-batches-py``,
    then for class folders, then for ``<split>.tar.gz`` archives of class folders; finally
    downloads with torchvision if ``download`` is true.

    Args:
        split: ``"train"`` (50,000 images) or ``"test"`` (10,000 images).
        root: data folder(s); see :func:`data_roots`.
        download: try torchvision's download into the writable default as a last resort.

    Returns:
        :class:`ImageTensors` with ``images`` of shape ``(N, 3, 32, 32)``, dtype ``uint8``;
        labels follow CIFAR-10's order (airplane=0 ... truck=9).

    Raises:
        ValueError: for an unknown ``split``.
        CorruptDataError: naming the file or folder, checked before use: an archive or
            pickle that is truncated or corrupt, class folders other than the ten CIFAR-10
            classes, a class without :data:`CIFAR10_PER_CLASS` images, an image that cannot be
            decoded or is not 32x32 RGB.
        DataNotFoundError: nothing usable found and the download failed or was disabled.
    """
    _check_split(split)
    tried = []
    for folder in data_roots(root):
        pickles = folder / "cifar-10-batches-py"
        tried.append(str(pickles))
        if (pickles / "batches.meta").is_file():
            return _memo(("cifar-pickle", split, str(pickles)),
                         lambda: _cifar_from_torchvision(folder, split))
        for sub in ("",) + CIFAR10_FOLDER_NAMES:
            base = folder / sub if sub else folder
            class_dir = base / split
            tried.append(str(class_dir))
            if _looks_like_class_folders(class_dir):
                return _memo(("cifar-folder", split, str(class_dir)),
                             lambda: _cifar_from_folders(class_dir, split))
        for sub in ("",) + CIFAR10_FOLDER_NAMES:
            base = folder / sub if sub else folder
            archive = base / f"{split}.tar.gz"
            tried.append(str(archive))
            if archive.is_file():
                return _memo(("cifar-archive", split, str(archive)),
                             lambda: _cifar_from_archive(archive, split))
    reason = "download=False"
    if download:
        target = default_data_dir()
        try:
            from torchvision import datasets
            with _quiet():
                datasets.CIFAR10(str(target), train=(split == "train"), download=True)
            return load_cifar10(split, root=target, download=False)
        except (DataNotFoundError, CorruptDataError):
            raise
        except Exception as exc:
            reason = f"download into {target} failed ({_download_error_text(exc)})"
    raise DataNotFoundError(
        "CIFAR-10 was not found. Looked in:\n  " + "\n  ".join(tried)
        + f"\nand {reason}.\n" + _how_to_provide("CIFAR-10")) from None
