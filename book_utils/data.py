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
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tarfile
import tempfile
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, List, Optional, Sequence, Tuple, Union

import torch
from torch.utils.data import DataLoader, Dataset

DATA_ENV = "CNN_BOOK_DATA"
CACHE_ENV = "CNN_BOOK_CACHE"
DEFAULT_HOME = Path("~/.cache/cnn_book")

MNIST_RAW_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                   "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
MNIST_MEAN, MNIST_STD = (0.1307,), (0.3081,)
#: images (and labels) per MNIST split; an IDX file with another count is not MNIST
MNIST_SPLIT_SIZES = {"train": 60000, "test": 10000}
MNIST_IMAGE_SIZE = (28, 28)

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")
CIFAR10_FOLDER_NAMES = ("cifar10", "cifar10-jpg", "cifar-10", "CIFAR10", "CIFAR-10")
# Channel statistics of the CIFAR-10 training set (computed on the original images).
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
#: images per class in each CIFAR-10 split (5,000 x 10 = 50,000 train, 1,000 x 10 = 10,000 test)
CIFAR10_PER_CLASS = {"train": 5000, "test": 1000}
CIFAR10_IMAGE_SIZE = (32, 32)
#: file names ImageFolder would accept as images (lower case)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

PathLike = Union[str, os.PathLike]


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


# --------------------------------------------------------------------------- locations

def cache_dir() -> Path:
    """Writable folder for extracted archives and decoded tensors (created if missing).

    ``CNN_BOOK_CACHE`` if set, else ``~/.cache/cnn_book``.

    Raises:
        OSError: if the folder cannot be created (the message says to set ``CNN_BOOK_CACHE``).
    """
    path = Path(os.environ.get(CACHE_ENV) or DEFAULT_HOME).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(f"the cache folder {path} cannot be created ({exc.strerror or exc}); set "
                      f"{CACHE_ENV} to a writable folder") from None
    return path


def _cache_error(path: Path, exc: OSError) -> OSError:
    return OSError(f"cannot write into the cache folder {path} ({exc.strerror or exc}); set "
                   f"{CACHE_ENV} to a writable folder with a few hundred MB free")


def default_data_dir() -> Path:
    """The user-writable data folder used for downloads: ``<cache_dir>/data``."""
    return cache_dir() / "data"


def data_roots(root: Optional[PathLike] = None) -> List[Path]:
    """Folders searched for datasets, in order.

    Args:
        root: a folder (or several joined with ``os.pathsep``, or a list of folders); if
            ``None``, ``CNN_BOOK_DATA`` is used. The writable default is always appended.

    Returns:
        Distinct absolute paths; folders that do not exist are kept so that error messages
        can name them.

    Raises:
        TypeError: if ``root`` is not a path, a string or a list of them.
    """
    if isinstance(root, (list, tuple)):
        parts = list(root)
    else:
        parts = [root if root is not None else os.environ.get(DATA_ENV, "")]
    for part in parts:
        if not isinstance(part, (str, os.PathLike)):
            raise TypeError(f"root must be a folder path (str or pathlib.Path) or a list of them, "
                            f"got {type(part).__name__} {part!r}")
    given = os.pathsep.join(os.fspath(part) for part in parts)
    paths = [Path(p).expanduser() for p in given.split(os.pathsep) if p.strip()]
    paths.append(default_data_dir())
    seen, out = set(), []
    for p in paths:
        key = str(p.resolve()) if p.exists() else str(p.absolute())
        if key not in seen:
            seen.add(key)
            out.append(Path(key))
    return out


def _writable(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path):
            pass
        return True
    except OSError:
        return False


def _how_to_provide(name: str) -> str:
    if name == "MNIST":
        layout = ("<folder>/MNIST/raw/ with the four IDX files "
                  "(train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
                  "t10k-labels-idx1-ubyte)")
    else:
        layout = ("<folder>/cifar-10-batches-py/ (torchvision's files), or class folders "
                  "<folder>/cifar10/train/<class>/*.jpg and <folder>/cifar10/test/<class>/*, "
                  "or archives of them <folder>/cifar10-jpg/train.tar.gz and test.tar.gz")
    return (f"To provide {name} offline, put it in {layout} and set {DATA_ENV}=<folder> "
            f"(or pass root=<folder>). With internet access, download=True fetches it into "
            f"{default_data_dir()}.")


def _download_error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return text[:200]


# --------------------------------------------------------------------------- MNIST

_MEMO: dict = {}
_MEMO_LOCK = threading.Lock()


def load_mnist(split: str = "train", root: Optional[PathLike] = None,
               download: bool = True) -> ImageTensors:
    """Load an MNIST split as uint8 tensors.

    Args:
        split: ``"train"`` (60,000 images) or ``"test"`` (10,000 images).
        root: data folder(s); see :func:`data_roots`.
        download: try torchvision's download into the writable default if no local copy exists.

    Returns:
        :class:`ImageTensors` with ``images`` of shape ``(N, 1, 28, 28)``, dtype ``uint8``.

    Raises:
        ValueError: for an unknown ``split``.
        DataNotFoundError: no local copy and the download failed or was disabled; the
            message lists every folder tried.
        CorruptDataError: an IDX file is truncated, has the wrong header (magic number,
            dimensions, count) or holds labels outside 0-9; the message names the file.
    """
    from torchvision import datasets

    train = _check_split(split)
    roots = data_roots(root)
    tried = []
    for folder in roots:
        raw = folder / "MNIST" / "raw"
        tried.append(str(raw))
        present = [f for f in MNIST_RAW_FILES if (raw / f).exists()]
        if present and folder.resolve() != default_data_dir().resolve() and any(
                not (raw / f).is_file() for f in MNIST_RAW_FILES):
            # a partial copy the user pointed at (the download folder may be mid-download)
            bad = [f for f in MNIST_RAW_FILES if not (raw / f).is_file()]
            raise CorruptDataError(
                f"{raw} holds an incomplete copy of MNIST: {', '.join(bad)} "
                f"{'is' if len(bad) == 1 else 'are'} missing or not a regular file. All four IDX "
                f"files are needed ({', '.join(MNIST_RAW_FILES)}); copy the missing ones.")
        if all((raw / f).is_file() for f in MNIST_RAW_FILES):
            key = ("mnist", split, str(raw))
            with _MEMO_LOCK:
                if key not in _MEMO:
                    _MEMO[key] = _mnist_from_idx(raw, split)
                return _MEMO[key]
    reason = "download=False"
    if download:
        target = default_data_dir()
        try:
            with _quiet():
                datasets.MNIST(str(target), train=train, download=True)
            return load_mnist(split, root=target, download=False)
        except DataNotFoundError:
            raise
        except Exception as exc:  # network errors come in many types
            reason = f"download into {target} failed ({_download_error_text(exc)})"
    raise DataNotFoundError(
        "MNIST was not found. Looked for the IDX files in:\n  " + "\n  ".join(tried)
        + f"\nand {reason}.\n" + _how_to_provide("MNIST")) from None


def _idx_header(path: Path, magic: int, dims: Tuple[Optional[int], ...]) -> Tuple[int, ...]:
    """Read and check the header of an uncompressed IDX file of ``uint8`` values.

    An IDX file starts with the 4-byte magic number (two zero bytes, the type code 0x08 for
    ``uint8`` and the number of dimensions), then one big-endian ``int32`` per dimension; the
    values follow. ``dims`` gives the expected sizes (``None``: any). The file's byte length
    must be exactly header + product of the sizes.

    Raises:
        CorruptDataError: naming ``path``, for a wrong magic number, wrong sizes, or a byte
            length that does not match the header (a truncated or padded copy).
    """
    import struct

    redo = (f"Copy {path.name} again from the original MNIST files (compare with SHA256SUMS "
            f"where the copy has one) and retry.")
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(4 + 4 * len(dims))
    except OSError as exc:
        raise CorruptDataError(f"cannot read the MNIST file {path} ({type(exc).__name__}: "
                               f"{exc}). Check that it is a readable file.") from None
    if len(head) < 4:
        raise CorruptDataError(f"the MNIST file {path} is {size} bytes long, too short for an "
                               f"IDX header. {redo}")
    found = struct.unpack(">I", head[:4])[0]
    if found != magic:
        raise CorruptDataError(
            f"the MNIST file {path} does not start with the IDX magic number {magic} "
            f"(0x{magic:08x}: uint8 values in {len(dims)} dimensions), found {found} "
            f"(0x{found:08x}). It is not an uncompressed IDX file of this kind (a .gz file "
            f"must be decompressed first). {redo}")
    if len(head) < 4 + 4 * len(dims):
        raise CorruptDataError(f"the MNIST file {path} is {size} bytes long and ends inside its "
                               f"IDX header. {redo}")
    sizes = struct.unpack(f">{len(dims)}I", head[4:])
    if any(want is not None and got != want for got, want in zip(sizes, dims)):
        want = tuple("N" if d is None else d for d in dims)
        raise CorruptDataError(f"the MNIST file {path} has sizes {sizes} in its header, expected "
                               f"{want}. {redo}")
    expected = 4 + 4 * len(dims) + int(_prod(sizes))
    if size != expected:
        what = "truncated" if size < expected else "longer than its header says"
        raise CorruptDataError(
            f"the MNIST file {path} is {what}: its header announces {sizes} values, i.e. "
            f"{expected:,} bytes, but the file has {size:,} bytes. {redo}")
    return sizes


def _prod(values: Iterable[int]) -> int:
    out = 1
    for v in values:
        out *= int(v)
    return out


def _read_idx(path: Path, magic: int, dims: Tuple[Optional[int], ...]) -> torch.Tensor:
    """The values of a checked IDX file as a ``uint8`` tensor of the header's shape."""
    import numpy as np

    sizes = _idx_header(path, magic, dims)
    try:
        values = np.fromfile(path, dtype=np.uint8, offset=4 + 4 * len(dims))
    except OSError as exc:
        raise CorruptDataError(f"cannot read the MNIST file {path} ({exc})") from None
    if values.size != _prod(sizes):  # the file changed while it was read
        raise CorruptDataError(f"the MNIST file {path} changed size while it was read; retry")
    return torch.from_numpy(values.reshape(sizes))


def _mnist_from_idx(raw: Path, split: str) -> ImageTensors:
    """Read one MNIST split from its two IDX files, checking both against their headers."""
    prefix = "train" if split == "train" else "t10k"
    n = MNIST_SPLIT_SIZES[split]
    image_file, label_file = raw / f"{prefix}-images-idx3-ubyte", raw / f"{prefix}-labels-idx1-ubyte"
    images = _read_idx(image_file, 2051, (n,) + MNIST_IMAGE_SIZE)
    labels = _read_idx(label_file, 2049, (n,))
    if int(labels.max()) > 9:
        bad = int((labels > 9).nonzero()[0])
        raise CorruptDataError(f"the MNIST label file {label_file} holds label {int(labels[bad])} at "
                               f"index {bad}; MNIST labels are digits 0-9. Copy the file again.")
    return ImageTensors(images.unsqueeze(1).contiguous(), labels.to(torch.int64),
                        tuple(str(i) for i in range(10)), f"MNIST (IDX files in {raw})")


# --------------------------------------------------------------------------- CIFAR-10

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


def _memo(key, make: Callable[[], ImageTensors]) -> ImageTensors:
    with _MEMO_LOCK:
        if key not in _MEMO:
            _MEMO[key] = make()
        return _MEMO[key]


def _check_split(split: str) -> bool:
    if not isinstance(split, str) or split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    return split == "train"


def _cifar_from_torchvision(folder: Path, split: str) -> ImageTensors:
    """Read torchvision's pickled batches (``cifar-10-batches-py``), checking every file.

    Read here rather than through ``torchvision.datasets.CIFAR10`` so that a damaged file
    gives a :class:`CorruptDataError` naming it (torchvision reports only "Dataset not found or
    corrupted", or fails inside ``numpy.reshape``).
    """
    import pickle

    import numpy as np

    pickles = folder / "cifar-10-batches-py"
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    redo = "Download or copy cifar-10-batches-py again (torchvision's MD5 sums identify good files)."

    def unpickle(path: Path) -> dict:
        try:
            with open(path, "rb") as fh:
                blob = pickle.load(fh, encoding="latin1")
        except FileNotFoundError:
            raise CorruptDataError(f"{pickles} is missing {path.name}; it should hold "
                                   f"data_batch_1 ... data_batch_5, test_batch and batches.meta. "
                                   f"{redo}") from None
        except Exception as exc:  # truncated pickles raise EOFError, UnpicklingError, ...
            raise CorruptDataError(f"cannot read the CIFAR-10 file {path} ({type(exc).__name__}: "
                                   f"{exc}); it is truncated or corrupt. {redo}") from None
        if not isinstance(blob, dict):
            raise CorruptDataError(f"the CIFAR-10 file {path} holds a {type(blob).__name__}, "
                                   f"expected a dict. {redo}")
        return blob

    meta = unpickle(pickles / "batches.meta")
    classes = tuple(meta.get("label_names", ()))
    if classes != CIFAR10_CLASSES:
        raise CorruptDataError(f"{pickles / 'batches.meta'} names the classes {classes}, "
                               f"expected CIFAR-10's {CIFAR10_CLASSES}. {redo}")
    per_file = 10000
    images, labels = [], []
    for name in names:
        path = pickles / name
        blob = unpickle(path)
        data, targets = blob.get("data"), blob.get("labels")
        if (not isinstance(data, np.ndarray) or data.dtype != np.uint8
                or data.shape != (per_file, 3 * 32 * 32)):
            found = (f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray)
                     else type(data).__name__)
            raise CorruptDataError(f"the CIFAR-10 file {path} should hold 'data' as a uint8 array "
                                   f"of shape ({per_file}, 3072), found {found}. {redo}")
        targets = np.asarray(targets if targets is not None else [])
        if targets.shape != (per_file,) or not np.issubdtype(targets.dtype, np.integer) or (
                targets.min() < 0 or targets.max() > 9):
            raise CorruptDataError(f"the CIFAR-10 file {path} should hold {per_file} 'labels' in "
                                   f"0-9, found {targets.dtype} of shape {targets.shape}. {redo}")
        images.append(data.reshape(per_file, 3, 32, 32))
        labels.append(targets)
    return ImageTensors(torch.from_numpy(np.concatenate(images)).contiguous(),
                        torch.from_numpy(np.concatenate(labels).astype(np.int64)),
                        CIFAR10_CLASSES, f"CIFAR-10 (torchvision files in {folder})")


def _looks_like_class_folders(path: Path) -> bool:
    return path.is_dir() and any((path / c).is_dir() for c in CIFAR10_CLASSES)


def _list_class_folders(class_dir: Path, split: str) -> Tuple[List[str], torch.Tensor]:
    """Image paths and labels of a ``<split>/<class>/*`` tree, in ``ImageFolder``'s order.

    Hidden files and folders (names starting with ".", e.g. macOS ``._x.jpg`` forks) and files
    without an image extension are skipped, as ``ImageFolder`` would skip the latter.

    Raises:
        CorruptDataError: the sub-folders are not exactly the ten CIFAR-10 classes, or a class
            does not hold :data:`CIFAR10_PER_CLASS` ``[split]`` images.
    """
    try:
        found = tuple(sorted(e.name for e in os.scandir(class_dir)
                             if e.is_dir() and not e.name.startswith(".")))
    except OSError as exc:
        raise CorruptDataError(f"cannot list {class_dir} ({exc}); check its permissions") from None
    if found != CIFAR10_CLASSES:
        missing = sorted(set(CIFAR10_CLASSES) - set(found))
        extra = sorted(set(found) - set(CIFAR10_CLASSES))
        raise CorruptDataError(
            f"{class_dir} should hold the ten CIFAR-10 class folders {CIFAR10_CLASSES}, "
            f"found {found} (missing: {missing or 'none'}; unexpected: {extra or 'none'}). "
            f"Copy the whole '{split}' folder again, with one sub-folder per class.")
    expected = CIFAR10_PER_CLASS[split]
    paths: List[str] = []
    labels: List[int] = []
    for label, name in enumerate(CIFAR10_CLASSES):
        files = []
        for top, dirs, fnames in sorted(os.walk(class_dir / name, followlinks=True)):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            files += [os.path.join(top, f) for f in sorted(fnames)
                      if not f.startswith(".") and f.lower().endswith(IMAGE_EXTENSIONS)]
        if len(files) != expected:
            raise CorruptDataError(
                f"{class_dir / name} holds {len(files)} images, expected {expected} (CIFAR-10 has "
                f"{expected:,} {split} images per class). The copy is incomplete or mixed with "
                f"other files: copy the '{split}' folder again.")
        paths += files
        labels += [label] * len(files)
    return paths, torch.tensor(labels, dtype=torch.int64)


def _valid_cache(blob, n: int, labels: torch.Tensor) -> bool:
    """True if a decoded-image cache holds exactly the expected tensors (else it is rebuilt)."""
    if not isinstance(blob, dict):
        return False
    images, cached_labels = blob.get("images"), blob.get("labels")
    return (isinstance(images, torch.Tensor) and isinstance(cached_labels, torch.Tensor)
            and images.dtype == torch.uint8 and images.shape == (n, 3) + CIFAR10_IMAGE_SIZE
            and cached_labels.dtype == torch.int64 and torch.equal(cached_labels, labels))


def _cifar_from_folders(class_dir: Path, split: str) -> ImageTensors:
    """Decode a ``<split>/<class>/*`` tree, using a decoded-tensor cache keyed on the tree.

    A cache file that cannot be read, or holds tensors of the wrong shape, dtype or labels, is
    decoded again and overwritten.
    """
    paths, labels = _list_class_folders(class_dir, split)
    lossy = any(p.lower().endswith((".jpg", ".jpeg")) for p in paths[:10])
    source = f"CIFAR-10 ({'JPEG copy' if lossy else 'image folders'}, {class_dir})"
    stamp = hashlib.sha1("|".join(["pillow-rgb32-checked", str(class_dir), str(len(paths)),
                                   paths[0], paths[-1], str(os.path.getsize(paths[-1]))]
                                  ).encode()).hexdigest()[:16]
    cached = cache_dir() / "decoded" / f"cifar10-{class_dir.name}-{stamp}.pt"
    if cached.is_file():
        try:
            blob = torch.load(cached, weights_only=True)
        except Exception:
            blob = None  # truncated or unreadable: rebuilt below
        if _valid_cache(blob, len(paths), labels):
            return ImageTensors(blob["images"], blob["labels"], CIFAR10_CLASSES, source)
    images = _decode_images(paths)
    tmp = cached.with_suffix(f".{os.getpid()}.tmp")
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"images": images, "labels": labels}, tmp)
        tmp.replace(cached)
    except (OSError, RuntimeError) as exc:  # full or read-only cache: the data are still good
        import warnings
        if tmp.parent.is_dir():
            tmp.unlink(missing_ok=True)
        warnings.warn(f"could not write the decoded-image cache {cached} ({exc}); the images "
                      f"will be decoded again next time. Set {CACHE_ENV} to a writable folder.")
    return ImageTensors(images, labels, CIFAR10_CLASSES, source)


def _decode_images(paths: Sequence[str]) -> torch.Tensor:
    """Decode 32x32 RGB image files with Pillow into one ``uint8`` tensor ``(N, 3, 32, 32)``.

    Raises:
        CorruptDataError: naming the file, if it cannot be decoded or is not a 32x32 RGB image
            (a grayscale or RGBA image, or another size, is not a CIFAR-10 image).
    """
    import numpy as np
    from PIL import Image

    h, w = CIFAR10_IMAGE_SIZE
    out = torch.empty((len(paths), 3, h, w), dtype=torch.uint8)
    for i, p in enumerate(paths):
        try:
            with Image.open(p) as im:
                mode, size = im.mode, im.size
                if mode == "RGB" and size == (w, h):
                    arr = np.array(im)   # decodes the whole file: truncation shows here
        except Exception as exc:
            raise CorruptDataError(f"cannot decode the image {p} ({type(exc).__name__}: {exc}); "
                                   f"the file is truncated or not an image. Copy it again.") from None
        if mode != "RGB" or size != (w, h):
            raise CorruptDataError(
                f"{p} is a {size[0]}x{size[1]} {mode} image; CIFAR-10 images are {w}x{h} RGB. "
                f"This folder is not (an unmodified copy of) CIFAR-10: copy the original images "
                f"again rather than resized or converted ones.")
        if arr.shape != (h, w, 3):
            raise CorruptDataError(f"{p} decoded to an array of shape {arr.shape}, expected "
                                   f"({h}, {w}, 3). Copy it again.")
        out[i] = torch.from_numpy(arr).permute(2, 0, 1)
    return out


def _extract(archive: Path, split: str, dest: Path) -> None:
    """Read ``archive`` through and extract it into ``dest`` atomically (nothing left on failure)."""
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=dest.name + ".", dir=dest.parent))
    except OSError as exc:
        raise _cache_error(dest.parent, exc) from None
    try:
        tar = tarfile.open(archive, "r:gz")
    except PermissionError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise CorruptDataError(f"cannot read the archive {archive} ({exc.strerror}); check its "
                               f"permissions") from None
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise CorruptDataError(
            f"the archive {archive} is truncated or corrupt ({type(exc).__name__}: {exc}). "
            f"Copy it again (compare with its SHA256SUMS if it has one) and retry.") from None
    try:
        with tar:
            tar.extractall(tmp, filter="data")
            # tarfile stops at the end-of-archive blocks; read the gzip stream to its end too,
            # so that its CRC-32 and length trailer are checked (a damaged copy fails here)
            while tar.fileobj.read(1 << 20):
                pass
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if exc.errno in (13, 28, 30):  # EACCES, ENOSPC, EROFS: the cache, not the archive
            raise _cache_error(dest.parent, exc) from None
        raise CorruptDataError(
            f"the archive {archive} is truncated or corrupt ({type(exc).__name__}: {exc}). "
            f"Copy it again (compare with its SHA256SUMS if it has one) and retry.") from None
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise CorruptDataError(
            f"the archive {archive} is truncated or corrupt ({type(exc).__name__}: {exc}). "
            f"Copy it again (compare with its SHA256SUMS if it has one) and retry.") from None
    if not _looks_like_class_folders(tmp / split):
        shutil.rmtree(tmp, ignore_errors=True)
        raise CorruptDataError(f"{archive} does not contain a '{split}/<class>/' tree of CIFAR-10 "
                               f"images; use the archive made for the '{split}' split.")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.replace(dest)


def _cifar_from_archive(archive: Path, split: str) -> ImageTensors:
    """Extract ``<split>.tar.gz`` once into the cache (atomically), then read the folders.

    An earlier extraction that no longer checks out (files deleted or damaged in the cache) is
    extracted again once; a fault that remains is reported against the archive.
    """
    st = archive.stat()
    stamp = hashlib.sha1(f"{archive.resolve()}|{st.st_size}|{int(st.st_mtime)}".encode()).hexdigest()[:16]
    dest = cache_dir() / "extracted" / f"cifar10-{split}-{stamp}"
    fresh = not _looks_like_class_folders(dest / split)
    if fresh:
        _extract(archive, split, dest)
    try:
        data = _cifar_from_folders(dest / split, split)
    except CorruptDataError as exc:
        if fresh:
            raise CorruptDataError(f"the archive {archive} holds bad data: {exc}") from None
        _extract(archive, split, dest)   # the cached extraction may be what is damaged
        try:
            data = _cifar_from_folders(dest / split, split)
        except CorruptDataError as exc:
            raise CorruptDataError(f"the archive {archive} holds bad data: {exc}") from None
    data.source = f"CIFAR-10 (JPEG copy, from {archive})"
    return data


@contextlib.contextmanager
def _quiet():
    """Silence torchvision's download chatter (printed to stdout/stderr)."""
    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null), contextlib.redirect_stderr(null):
        yield


# --------------------------------------------------------------------------- datasets and loaders

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
    from .ops import check_int

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
    from .ops import check_int

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
