"""The two errors the loaders raise: no copy of a dataset, or a copy that is damaged.

Not here: the checks that raise them (:mod:`.mnist`, :mod:`.cifar10_files`), the folders
searched (:mod:`.locations`).
"""
from __future__ import annotations


class DataNotFoundError(FileNotFoundError):
    """No usable copy of a dataset was found and downloading it failed.

    The message names every path that was tried and how to provide the data.
    """


class CorruptDataError(RuntimeError):
    """A local copy of a dataset exists but is not what it claims to be.

    Raised before the data are used: a truncated or corrupt IDX file, archive, pickle or image;
    wrong class folders; the wrong number of images in a split; images that are not 32x32 RGB
    (CIFAR-10). The message names the file or folder, what was expected, what was found, and
    what to do about it.
    """
