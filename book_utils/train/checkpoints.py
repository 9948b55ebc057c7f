"""Checkpoints: where they live, what they are called, and saving/loading one.

* :func:`checkpoint_dir` -- a persistent folder (``CNN_BOOK_CHECKPOINTS`` or the cache);
* :func:`checkpoint_path` -- one file per recipe, profile and sizes, so a re-run page resumes
  only its own run; :func:`fresh_start` -- the ``CNN_BOOK_FRESH`` switch;
* :func:`save_checkpoint` (atomic: a failed write names the file, the cause and the fix, and
  leaves the previous checkpoint as it was), :func:`check_writable` (the same error before
  an epoch of work), :func:`read_checkpoint` and :func:`load_checkpoint`
  (``weights_only=True``, with clear errors for a damaged file or one of another run).

Not here: the resume logic of a training run (:func:`~book_utils.train.fit` in
:mod:`.loop`), what a run's settings are (:mod:`.settings`), recorded results of full runs
(:mod:`book_utils.results`).
"""
from __future__ import annotations

import errno
import json
import math
import os
import pickle
import re
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Optional, Union

import torch
from torch import nn

from .history import History

PathLike = Union[str, os.PathLike]

#: Folder for checkpoints (default ``<cache>/checkpoints``, see :func:`checkpoint_dir`).
CHECKPOINTS_ENV = "CNN_BOOK_CHECKPOINTS"
#: Set to 1 to make every page train from scratch instead of resuming (:func:`fresh_start`).
FRESH_ENV = "CNN_BOOK_FRESH"


def checkpoint_dir() -> Path:
    """Folder for training checkpoints (created if missing).

    ``$CNN_BOOK_CHECKPOINTS`` if set, else ``<cache>/checkpoints`` where the cache is
    ``$CNN_BOOK_CACHE`` or ``~/.cache/cnn_book`` (:func:`book_utils.data.cache_dir`). On Colab,
    point it at Google Drive so a disconnect loses nothing::

        from google.colab import drive; drive.mount("/content/drive")
        os.environ["CNN_BOOK_CHECKPOINTS"] = "/content/drive/MyDrive/cnn_book_checkpoints"

    Raises:
        OSError: if the folder cannot be created (a file where the folder should be, no
            permission, a full disk); the message names it and says what to set.
    """
    path = _checkpoint_folder()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _write_error(path, exc, "create the checkpoint folder") from None
    return path


def _checkpoint_folder() -> Path:
    """Where :func:`checkpoint_dir` puts checkpoints, without creating anything."""
    value = os.environ.get(CHECKPOINTS_ENV, "").strip()
    if value:
        return Path(value).expanduser()
    from ..data import locations
    return Path(os.environ.get(locations.CACHE_ENV) or locations.DEFAULT_HOME).expanduser() \
        / "checkpoints"


def _blocking_file(path: Path) -> Optional[Path]:
    """The first existing non-folder on the way to folder ``path`` (a file where a folder
    should be), or ``None``."""
    for part in [path, *path.parents][::-1]:
        if part.exists() and not part.is_dir():
            return part
    return None


def _write_error(path: Path, exc: BaseException, what: str = "write the checkpoint") -> OSError:
    """An ``OSError`` naming ``path``, the cause of ``exc`` in words and the fix."""
    path = Path(path)
    folder = path if what.startswith("create") else path.parent
    code = getattr(exc, "errno", None)
    blocker = _blocking_file(folder)
    if blocker is not None:
        cause = f"{blocker} is a file where a folder should be"
        code = errno.ENOTDIR
    elif code in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)) or "write failed" in str(exc) \
            or "unexpected pos" in str(exc):
        try:
            free = shutil.disk_usage(next(p for p in [folder, *folder.parents] if p.exists())).free
            cause = f"the disk is full ({free / 1e6:.0f} MB free)"
        except (OSError, StopIteration):
            cause = "the disk is full"
        code = errno.ENOSPC
    elif code in (errno.EACCES, errno.EPERM):
        cause = "no permission to write there"
    elif code == errno.EROFS:
        cause = "the file system is read-only"
    else:
        cause = f"{type(exc).__name__}: {getattr(exc, 'strerror', None) or exc}"
    fix = (f"free some space, or set {CHECKPOINTS_ENV} to another folder" if code == errno.ENOSPC
           else f"set {CHECKPOINTS_ENV} to a writable folder (or pass checkpoint=None)")
    kept = " Any earlier checkpoint there is unchanged." if what == "write the checkpoint" else ""
    err = OSError(f"cannot {what} {path}: {cause}; {fix}.{kept}")
    err.errno = code
    return err


def check_writable(path: PathLike) -> None:
    """Check, before any training, that a checkpoint can be written at ``path``: its folder
    exists or can be created and a file can be created in it (a small probe, removed again).

    Raises:
        OSError: naming the path, the cause (a file where a folder should be, no permission,
            a read-only or full disk) and the fix, as :func:`save_checkpoint` would after an
            epoch of work.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"checkpoint {path} is a folder; pass a file path such as "
                                f"{path / 'run.pt'} (e.g. from train.checkpoint_path)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=path.name + ".", suffix=".probe", dir=path.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise _write_error(path, exc) from None


_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.]*(?:-[A-Za-z0-9_.]+)*")
_KEY_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def _size_text(key: str, value) -> str:
    if value is None:
        return "all"
    if isinstance(value, bool):
        raise ValueError(f"checkpoint size {key}={value!r}: use an integer, a number, None or a word")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return format(value, "g")
    if isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9_.]+", value):
        return value
    raise ValueError(f"checkpoint size {key}={value!r}: use an integer, a finite number, None "
                     f"(all) or a word of letters, digits, '_' and '.'")


def checkpoint_path(name: str, profile: str, **sizes) -> Path:
    """File of the checkpoint of one run, in :func:`checkpoint_dir`.

    ``checkpoint_path("resnet18-improved", "quick", train_subset=20000, epochs=4)`` is
    ``<dir>/resnet18-improved-quick-train_subset20000-epochs4.pt``: a run with other sizes gets
    another file, so it never resumes from a checkpoint of a different run. ``None`` is written
    ``all`` (``train_subset=None`` -> ``train_subsetall``).

    Args:
        name: recipe name: letters, digits, ``_``, ``.``, single ``-`` between them.
        profile: ``"quick"`` or ``"full"``.
        **sizes: what else tells runs apart, in the order given (integers, numbers, ``None``
            or plain words).

    Raises:
        ValueError: for an unsafe or empty name (e.g. a path), an unknown profile, or a size
            key/value that cannot be part of a file name.
    """
    from ..profiles import PROFILE_NAMES
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name) or ".." in name:
        raise ValueError(f"checkpoint name {name!r} must be letters, digits, '_' or '.', "
                         f"with single '-' between words, e.g. 'resnet18-improved' (no paths)")
    if profile not in PROFILE_NAMES:
        raise ValueError(f"profile must be one of {PROFILE_NAMES}, got {profile!r}")
    parts = [name, profile]
    for key, value in sizes.items():
        if not _KEY_RE.fullmatch(key):
            raise ValueError(f"checkpoint size name {key!r} must be an identifier such as 'epochs'")
        parts.append(f"{key}{_size_text(key, value)}")
    return checkpoint_dir() / ("-".join(parts) + ".pt")


def fresh_start() -> bool:
    """Whether ``CNN_BOOK_FRESH`` asks every page to train from scratch.

    ``1``/``true``/``yes`` -> ``True``; unset, empty, ``0``/``false``/``no`` -> ``False``.
    Pages combine it with their own switch: ``resume=not (START_FRESH or train.fresh_start())``.

    Raises:
        ValueError: for any other value (the message names the variable).
    """
    value = os.environ.get(FRESH_ENV, "").strip().lower()
    if value in ("", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise ValueError(f"{FRESH_ENV}={os.environ[FRESH_ENV]!r}: set it to 1 (train from scratch) "
                     f"or 0 / unset it (resume from checkpoints)")


def _shown_path(path: Path) -> str:
    """``path`` relative to :func:`checkpoint_dir` when inside it, else its file name only."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(_checkpoint_folder().resolve()))
    except (ValueError, OSError):
        return path.name

def save_checkpoint(path: PathLike, model: nn.Module, optimizer=None, scheduler=None,
                    epoch: int = 0, history: Optional[History] = None, scaler=None,
                    settings: Optional[dict] = None) -> None:
    """Save model/optimizer/scheduler/GradScaler state, the epoch number, history and the
    run's settings (:func:`~book_utils.train.settings.run_settings`) to ``path``.

    Written to a temporary file in the same folder first and renamed over ``path``
    (``os.replace``, atomic), so an interrupted or failed save never leaves a half-written
    checkpoint and never damages the previous one.

    Raises:
        OSError: if the file cannot be written (a file where the folder should be, no
            permission, a full disk): the message names the path, the cause and the fix;
            the previous checkpoint at ``path`` is left as it was.
    """
    path = Path(path)
    state = {"model": model.state_dict(), "epoch": int(epoch),
             "history": (history or History()).state_dict()}
    if optimizer is not None:
        state["optimizer"] = optimizer.state_dict()
    if scheduler is not None:
        state["scheduler"] = scheduler.state_dict()
    if scaler is not None:
        state["scaler"] = scaler.state_dict()
    if settings is not None:
        state["settings"] = json.dumps(settings, sort_keys=True)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        os.close(fd)
        torch.save(state, tmp)
        os.replace(tmp, path)
    except (OSError, RuntimeError) as exc:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        raise _write_error(path, exc) from None


def read_checkpoint(path: PathLike) -> dict:
    """The raw state of a checkpoint written by :func:`save_checkpoint`, checked but not yet
    put into any model (``weights_only=True``); ``"settings"`` is a dict (or ``None`` for a
    checkpoint of an older ``book_utils``).

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: if the file is truncated or not a torch checkpoint, or holds no
            ``"model"`` state; the message names the file and says to delete it or set
            ``CNN_BOOK_FRESH=1``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    fix = f"delete it or set {FRESH_ENV}=1"
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, pickle.UnpicklingError,
            zipfile.BadZipFile) as exc:
        raise ValueError(f"checkpoint {_shown_path(path)} is truncated or not a checkpoint; "
                         f"{fix} ({type(exc).__name__})") from None
    if not isinstance(state, dict) or "model" not in state:
        raise ValueError(f"checkpoint {_shown_path(path)} was not written by save_checkpoint "
                         f"(no 'model' state); {fix}")
    try:
        state["settings"] = json.loads(state["settings"]) if "settings" in state else None
    except (TypeError, ValueError):
        state["settings"] = None
    return state


def load_checkpoint(path: PathLike, model: nn.Module, optimizer=None, scheduler=None,
                    scaler=None) -> dict:
    """Load a checkpoint written by :func:`save_checkpoint` (``weights_only=True``).

    Restores the model (and optimizer/scheduler/GradScaler if given) in place and returns the
    raw state (with ``"epoch"``, ``"history"`` and ``"settings"``).

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: if the file is truncated or not a torch checkpoint, holds no ``"model"``
            state (not written by :func:`save_checkpoint`), or its optimizer state does not
            fit ``optimizer``; the message names the file and says what to do.
        RuntimeError: if the checkpoint does not match the model (message from torch, with the
            file named).
    """
    state = read_checkpoint(path)
    restore_checkpoint(state, path, model, optimizer, scheduler, scaler)
    return state


def restore_checkpoint(state: dict, path: PathLike, model: nn.Module, optimizer=None,
                       scheduler=None, scaler=None) -> None:
    """Put a state from :func:`read_checkpoint` (of file ``path``) into the given objects.

    Raises:
        RuntimeError: if the model's layers differ from the checkpoint's (names the file);
        ValueError: if the optimizer's parameter groups differ from the checkpoint's.
    """
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as exc:
        raise RuntimeError(f"checkpoint {path} does not fit this model: {exc}") from None
    try:
        if optimizer is not None and "optimizer" in state:
            optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and "scheduler" in state:
            scheduler.load_state_dict(state["scheduler"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"checkpoint {_shown_path(Path(path))} holds the state of another "
                         f"optimizer or schedule ({exc}); delete it or set {FRESH_ENV}=1") from None
    if scaler is not None and "scaler" in state:
        scaler.load_state_dict(state["scaler"])
