"""What a CIFAR-10 copy must hold, and the reading of each kind of local copy.

torchvision's pickled batches, class folders (with a decoded-image cache) and ``.tar.gz``
archives of class folders; every file is checked before use (class names, images per class,
32x32 RGB, archives read through to their checksum) and a damaged decoded-image cache is
rebuilt, not trusted.

Not here: the search order and the download (:mod:`.cifar10`), folder and cache locations
(:mod:`.locations`).
"""
from __future__ import annotations

import errno
import hashlib
import os
import shutil
import tarfile
import tempfile
import zlib
from pathlib import Path
from typing import List, Sequence, Tuple

import torch

from .errors import CorruptDataError
from .locations import CACHE_ENV, _cache_error, cache_dir
from .splits import ImageTensors

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
        CorruptDataError: the sub-folders are not exactly the ten CIFAR-10 classes, a class
            does not hold :data:`CIFAR10_PER_CLASS` ``[split]`` images, or a link leads back
            to a folder already read (a link loop, which would count images many times).
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
    per_class: List[List[str]] = []
    for name in CIFAR10_CLASSES:
        walked = []
        seen = {os.path.realpath(class_dir / name)}
        for top, dirs, fnames in os.walk(class_dir / name, followlinks=True):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            here = os.path.realpath(top)
            for d in dirs:
                real = os.path.realpath(os.path.join(top, d))
                if real in seen or here == real or here.startswith(real + os.sep):
                    raise CorruptDataError(
                        f"{os.path.join(top, d)} is a link back to {real}, a folder already "
                        f"read (a link loop): its images would be counted again and again. "
                        f"Remove the link.")
                seen.add(real)
            walked.append((top, fnames))
        files = [os.path.join(top, f) for top, fnames in sorted(walked) for f in sorted(fnames)
                 if not f.startswith(".") and f.lower().endswith(IMAGE_EXTENSIONS)]
        per_class.append(files)
    for name, files in zip(CIFAR10_CLASSES, per_class):   # counted once no link loops
        if len(files) != expected:
            raise CorruptDataError(
                f"{class_dir / name} holds {len(files)} images, expected {expected} (CIFAR-10 has "
                f"{expected:,} {split} images per class). The copy is incomplete or mixed with "
                f"other files: copy the '{split}' folder again.")
    for label, files in enumerate(per_class):
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
            blob = torch.load(cached, map_location="cpu", weights_only=True)
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
        if _is_write_fault(exc, tmp):      # the cache failed, not the archive
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
    try:
        shutil.rmtree(dest, ignore_errors=True)
        tmp.replace(dest)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _cache_error(dest.parent, exc) from None


#: errors of writing (permission, full disk or quota, read-only, a file in the way), never of
#: reading an archive
_WRITE_ERRNOS = {errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EROFS, errno.ENOTDIR,
                 errno.EISDIR, errno.EEXIST, errno.ENAMETOOLONG, getattr(errno, "EDQUOT", -1),
                 errno.EFBIG}


def _is_write_fault(exc: OSError, tmp: Path) -> bool:
    """Whether ``exc``, raised while extracting into ``tmp``, is the cache's fault: a write
    error code, or an error about a file inside ``tmp``."""
    name = getattr(exc, "filename", None)
    inside = name is not None and str(name).startswith(str(tmp))
    return exc.errno in _WRITE_ERRNOS or inside


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
