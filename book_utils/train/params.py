"""Seeds and parameter counts: the two one-liners every training page calls first.

* :func:`seed_everything` -- one call for Python's ``random``, NumPy and torch (CPU, GPUs).
* :func:`count_parameters` -- (trainable) parameters of a module.

Not here: per-epoch seeding of a loader's shuffling (:mod:`.loop`), per-layer parameter
tables (:mod:`book_utils.summary`).
"""
from __future__ import annotations

import random

import numpy as np
import torch
from torch import nn

from ..ops import check_int

#: Largest seed NumPy accepts (``np.random.seed`` takes 32-bit unsigned integers).
MAX_SEED = 2 ** 32 - 1


def seed_everything(seed: int = 0) -> None:
    """Seed Python's ``random``, NumPy and torch (CPU and all GPUs).

    Args:
        seed: an integer in ``[0, 2**32 - 1]`` (NumPy's range).

    Raises:
        TypeError: if ``seed`` is not an integer.
        ValueError: if it is negative or above ``2**32 - 1``.
    """
    seed = check_int("seed", seed, 0)
    if seed > MAX_SEED:
        raise ValueError(f"seed must be <= 2**32 - 1 = {MAX_SEED} (NumPy's range), got {seed}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters of ``model``.

    Raises:
        TypeError: if ``model`` is not a ``torch.nn.Module``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}; "
                        f"pass the network itself, e.g. count_parameters(net)")
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
