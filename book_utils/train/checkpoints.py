"""Checkpoints: where they live, what they are called, and saving/loading one.

* :func:`checkpoint_dir` -- a persistent folder (``CNN_BOOK_CHECKPOINTS`` or the cache);
* :func:`checkpoint_path` -- one file per recipe, profile and sizes, so a re-run page resumes
  only its own run; :func:`fresh_start` -- the ``CNN_BOOK_FRESH`` switch;
* :func:`save_checkpoint` (atomic) and :func:`load_checkpoint` (``weights_only=True``, with
  clear errors for a damaged file).

Not here: the resume logic of a training run (:func:`~book_utils.train.fit` in
:mod:`.loop`), recorded results of full runs (:mod:`book_utils.results`).
"""
from __future__ import annotations

import math
import os
import pickle
import re
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
    """
    value = os.environ.get(CHECKPOINTS_ENV, "").strip()
    if value:
        path = Path(value).expanduser()
    else:
        from ..data import cache_dir
        path = cache_dir() / "checkpoints"
    path.mkdir(parents=True, exist_ok=True)
    return path


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
        return str(path.resolve().relative_to(checkpoint_dir().resolve()))
    except ValueError:
        return path.name

def save_checkpoint(path: PathLike, model: nn.Module, optimizer=None, scheduler=None,
                    epoch: int = 0, history: Optional[History] = None, scaler=None) -> None:
    """Save model/optimizer/scheduler/GradScaler state, the epoch number and history to ``path``.

    Written to a temporary file first and renamed, so an interrupted save never leaves a
    half-written checkpoint.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"model": model.state_dict(), "epoch": int(epoch),
             "history": (history or History()).state_dict()}
    if optimizer is not None:
        state["optimizer"] = optimizer.state_dict()
    if scheduler is not None:
        state["scheduler"] = scheduler.state_dict()
    if scaler is not None:
        state["scaler"] = scaler.state_dict()
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def load_checkpoint(path: PathLike, model: nn.Module, optimizer=None, scheduler=None,
                    scaler=None) -> dict:
    """Load a checkpoint written by :func:`save_checkpoint` (``weights_only=True``).

    Restores the model (and optimizer/scheduler/GradScaler if given) in place and returns the raw state
    (with ``"epoch"`` and ``"history"``).

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: if the file is truncated or not a torch checkpoint, or holds no ``"model"``
            state (not written by :func:`save_checkpoint`); the message names the file and
            says to delete it or set ``CNN_BOOK_FRESH=1``.
        RuntimeError: if the checkpoint does not match the model (message from torch, with the
            file named).
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
        model.load_state_dict(state["model"])
    except RuntimeError as exc:
        raise RuntimeError(f"checkpoint {path} does not fit this model: {exc}") from None
    if optimizer is not None and "optimizer" in state:
        optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and "scheduler" in state:
        scheduler.load_state_dict(state["scheduler"])
    if scaler is not None and "scaler" in state:
        scaler.load_state_dict(state["scaler"])
    return state

