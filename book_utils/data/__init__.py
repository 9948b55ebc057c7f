"""Datasets for the book: MNIST and CIFAR-10 as in-memory uint8 tensors.

The normal path is ``torchvision.datasets`` with ``download=True``. For machines without
internet the loaders also accept:

* torchvision's own files already in a data folder (``MNIST/raw/*-ubyte``,
  ``cifar-10-batches-py/``), read in place, so the folder may be read-only;
* CIFAR-10 as one folder per class (``train/<class>/*.jpg|png``, ``test/<class>/*``), either
  directly or under ``cifar10/``, ``cifar10-jpg/``, ``cifar-10/`` or ``CIFAR10/``;
* CIFAR-10 as ``train.tar.gz`` / ``test.tar.gz`` archives of those class folders (extracted once
  into the writable cache, never beside the archive).

Where to look: the ``root`` argument, else the environment variable ``CNN_BOOK_DATA`` (one or
more folders separated by ``os.pathsep``), then the writable default ``~/.cache/cnn_book/data``.
Extracted archives and decoded tensors go to ``CNN_BOOK_CACHE`` (default ``~/.cache/cnn_book``).

Each dataset is decoded once per process (and CIFAR-10 folders once per cache), not once per
epoch: training then indexes tensors in memory.

Every file is checked for what it claims to be before it is used, and any fault raises
:class:`CorruptDataError` naming the file, what was expected, what was found and what to do:
IDX files by their header (magic number, sizes, count) against their byte length; archives by
reading them through; pickles by their arrays; class folders by their class names, the number
of images per class and every image's size and mode (32x32 RGB). A damaged decoded-image cache
is rebuilt rather than trusted.

Modules (each imports only those above it in this table):

=================  ===========================================================================
module             what it holds
=================  ===========================================================================
``errors``         :class:`DataNotFoundError`, :class:`CorruptDataError`
``locations``      the folders searched, the cache folder, the wording of "not found" errors
``splits``         :class:`ImageTensors` (one split in memory), split names, the memo
``mnist``          :func:`load_mnist` and the checked reading of MNIST's IDX files
``cifar10_files``  CIFAR-10's classes and sizes; checked reading of pickles, folders, archives
``cifar10``        :func:`load_cifar10`: where it looks, in which order, and the download
``loaders``        :class:`TensorImageDataset`, :func:`stratified_indices`, :func:`make_loader`
=================  ===========================================================================

Importing this package imports torch (the datasets are tensors); torchvision, NumPy and
Pillow are imported when a file is read.
"""
from .cifar10 import IMAGENET_MEAN, IMAGENET_STD, load_cifar10
from .cifar10_files import (CIFAR10_CLASSES, CIFAR10_FOLDER_NAMES, CIFAR10_IMAGE_SIZE,
                            CIFAR10_MEAN, CIFAR10_PER_CLASS, CIFAR10_STD, IMAGE_EXTENSIONS)
from .errors import CorruptDataError, DataNotFoundError
from .loaders import TensorImageDataset, make_loader, stratified_indices
from .locations import (CACHE_ENV, DATA_ENV, DEFAULT_HOME, PathLike, cache_dir, data_roots,
                        default_data_dir)
from .mnist import (MNIST_IMAGE_SIZE, MNIST_MEAN, MNIST_RAW_FILES, MNIST_SPLIT_SIZES, MNIST_STD,
                    load_mnist)
from .splits import ImageTensors

#: decoded splits of this process, keyed by (kind, split, path); see :mod:`.splits`
_MEMO: dict = {}

__all__ = ["load_mnist", "load_cifar10", "ImageTensors", "TensorImageDataset",
           "stratified_indices", "make_loader", "data_roots", "cache_dir", "default_data_dir",
           "DataNotFoundError", "CorruptDataError",
           "MNIST_MEAN", "MNIST_STD", "MNIST_RAW_FILES", "MNIST_SPLIT_SIZES", "MNIST_IMAGE_SIZE",
           "CIFAR10_CLASSES", "CIFAR10_MEAN", "CIFAR10_STD", "CIFAR10_PER_CLASS",
           "CIFAR10_IMAGE_SIZE", "CIFAR10_FOLDER_NAMES", "IMAGE_EXTENSIONS",
           "IMAGENET_MEAN", "IMAGENET_STD", "DATA_ENV", "CACHE_ENV", "DEFAULT_HOME", "PathLike"]
