"""Where datasets are looked for and where the cache goes.

``root`` argument, else ``CNN_BOOK_DATA`` (folders joined with ``os.pathsep``), then the
writable default ``<cache>/data``; the cache is ``CNN_BOOK_CACHE`` (default
``~/.cache/cnn_book``). Also the wording shared by every "not found" error (how to provide a
dataset offline, one line of a failed download) and a context that silences torchvision's
download chatter.

Not here: reading any file (:mod:`.mnist`, :mod:`.cifar10_files`), the per-process memo
(:mod:`.splits`).
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import List, Optional, Union

DATA_ENV = "CNN_BOOK_DATA"
CACHE_ENV = "CNN_BOOK_CACHE"
DEFAULT_HOME = Path("~/.cache/cnn_book")

PathLike = Union[str, os.PathLike]


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
        NotADirectoryError: if a given root is a file (e.g. an archive: pass the folder that
            holds it) or a link that leads nowhere (a link loop or a missing target); the
            message names it and where it came from (``root`` or ``CNN_BOOK_DATA``).
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
    origin = "root" if root is not None else DATA_ENV
    for p in paths:
        _check_root(p, origin)
    paths.append(default_data_dir())
    seen, out = set(), []
    for p in paths:
        key = str(p.resolve()) if p.exists() else str(p.absolute())
        if key not in seen:
            seen.add(key)
            out.append(Path(key))
    return out


def _check_root(path: Path, origin: str) -> None:
    """Raise ``NotADirectoryError`` for a data root that exists but cannot be a folder."""
    if path.is_symlink() and not path.exists():
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        raise NotADirectoryError(
            f"the data folder {path} (from {origin}) is a link to {target} that leads nowhere "
            f"(a link loop or a missing target); point {origin} at the real folder")
    if path.exists() and not path.is_dir():
        hint = path.parent if path.name.endswith((".tar.gz", ".tgz", ".gz", ".zip")) else None
        fix = (f"pass the folder that holds it, {hint}" if hint is not None
               else "pass the folder that holds the dataset folders (MNIST/, cifar10/ ...)")
        raise NotADirectoryError(f"the data folder {path} (from {origin}) is a file, not a "
                                 f"folder; {fix}")


def _how_to_provide(name: str) -> str:
    if name == "MNIST":
        layout = ("<folder>/MNIST/raw/ with the four IDX files "
                  "(train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
                  "t10k-labels-idx1-ubyte; or the same names with .gz)")
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


@contextlib.contextmanager
def _quiet():
    """Silence torchvision's download chatter (printed to stdout/stderr)."""
    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null), contextlib.redirect_stderr(null):
        yield
