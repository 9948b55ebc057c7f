"""MNIST: :func:`load_mnist` and the reading of its IDX files, each checked by its header.

An IDX file's magic number, sizes and count are compared with its byte length before a single
value is used, so a truncated, padded or wrong file raises :class:`CorruptDataError` naming it.
MNIST present only as the original ``.gz`` files is read too: each is decompressed once into
the cache folder (a damaged ``.gz`` is reported as such, a cache that cannot be written as
that).

Not here: CIFAR-10 (:mod:`.cifar10`), per-sample datasets and loaders (:mod:`.loaders`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional, Tuple

import torch

from .errors import CorruptDataError, DataNotFoundError
from .locations import (PathLike, _cache_error, _download_error_text, _how_to_provide, _quiet,
                        cache_dir, data_roots, default_data_dir)
from .splits import ImageTensors, _check_split, _memo

MNIST_RAW_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                   "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
MNIST_MEAN, MNIST_STD = (0.1307,), (0.3081,)
#: images (and labels) per MNIST split; an IDX file with another count is not MNIST
MNIST_SPLIT_SIZES = {"train": 60000, "test": 10000}
MNIST_IMAGE_SIZE = (28, 28)


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
        CorruptDataError: an IDX file (or its ``.gz``) is truncated, has the wrong header
            (magic number, dimensions, count) or holds labels outside 0-9; the message names
            the file.
        NotADirectoryError: a given root is a file or a link that leads nowhere.
        OSError: a ``.gz`` file cannot be decompressed into the cache folder (full or not
            writable); the message names the folder and says to set ``CNN_BOOK_CACHE``.
    """
    from torchvision import datasets

    train = _check_split(split)
    roots = data_roots(root)
    tried = []
    for folder in roots:
        raw = folder / "MNIST" / "raw"
        tried.append(str(raw))
        files = _mnist_files(raw)
        present = [f for f in MNIST_RAW_FILES
                   if (raw / f).exists() or (raw / f"{f}.gz").exists()]
        if present and folder.resolve() != default_data_dir().resolve() and any(
                files[f] is None for f in MNIST_RAW_FILES):
            # a partial copy the user pointed at (the download folder may be mid-download)
            bad = [f for f in MNIST_RAW_FILES if files[f] is None]
            raise CorruptDataError(
                f"{raw} holds an incomplete copy of MNIST: {', '.join(bad)} "
                f"{'is' if len(bad) == 1 else 'are'} missing or not a regular file (with or "
                f"without .gz). All four IDX files are needed ({', '.join(MNIST_RAW_FILES)}); "
                f"copy the missing ones.")
        if all(files[f] is not None for f in MNIST_RAW_FILES):
            return _memo(("mnist", split, str(raw)), lambda: _mnist_from_idx(raw, split, files))
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


def _mnist_files(raw: Path) -> dict:
    """Each IDX file of ``raw``: the file itself, else its ``.gz``, else ``None``."""
    out = {}
    for name in MNIST_RAW_FILES:
        plain, packed = raw / name, raw / f"{name}.gz"
        out[name] = plain if plain.is_file() else packed if packed.is_file() else None
    return out


def _gunzipped(packed: Path) -> Path:
    """The decompressed copy of ``packed`` (an IDX ``.gz``) in the cache, made once.

    Raises:
        CorruptDataError: naming ``packed``, if it is not a complete gzip file.
        OSError: naming the cache folder, if the copy cannot be written there.
    """
    import gzip
    import hashlib
    import os
    import tempfile
    import zlib

    st = packed.stat()
    stamp = hashlib.sha1(f"{packed.resolve()}|{st.st_size}|{int(st.st_mtime)}".encode()
                         ).hexdigest()[:12]
    folder = cache_dir() / "decompressed" / f"mnist-{stamp}"
    target = folder / packed.name[:-3]
    if target.is_file():
        return target
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise _cache_error(folder, exc) from None
    try:
        with os.fdopen(fd, "wb") as out, gzip.open(packed, "rb") as src:
            while True:
                try:
                    chunk = src.read(1 << 20)
                except (OSError, EOFError, zlib.error) as exc:
                    raise CorruptDataError(
                        f"the MNIST file {packed} is not a complete gzip file "
                        f"({type(exc).__name__}: {exc}); copy it again, or put the "
                        f"decompressed {target.name} beside it") from None
                if not chunk:
                    break
                try:
                    out.write(chunk)
                except OSError as exc:
                    raise _cache_error(folder, exc) from None
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return target


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


def _mnist_from_idx(raw: Path, split: str, files: Optional[dict] = None) -> ImageTensors:
    """Read one MNIST split from its two IDX files (``files``: name -> path, a ``.gz`` path
    decompressed into the cache first), checking both against their headers."""
    prefix = "train" if split == "train" else "t10k"
    n = MNIST_SPLIT_SIZES[split]
    files = files or {}
    image_file, label_file = (
        Path(files.get(name) or raw / name)
        for name in (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"))
    image_file, label_file = (_gunzipped(f) if f.name.endswith(".gz") else f
                              for f in (image_file, label_file))
    images = _read_idx(image_file, 2051, (n,) + MNIST_IMAGE_SIZE)
    labels = _read_idx(label_file, 2049, (n,))
    if int(labels.max()) > 9:
        bad = int((labels > 9).nonzero()[0])
        raise CorruptDataError(f"the MNIST label file {label_file} holds label {int(labels[bad])} at "
                               f"index {bad}; MNIST labels are digits 0-9. Copy the file again.")
    return ImageTensors(images.unsqueeze(1).contiguous(), labels.to(torch.int64),
                        tuple(str(i) for i in range(10)), f"MNIST (IDX files in {raw})")
