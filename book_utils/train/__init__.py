"""Training and evaluation used by every hands-on page: ``from book_utils import train``.

* :func:`choose_device` -- CUDA, then Apple MPS, then CPU; :func:`device_name` names it.
* :func:`seed_everything` -- one call for Python, NumPy and torch seeds.
* :func:`amp_dtype` -- which mixed-precision dtype pays on a device (bf16, fp16 or none);
  :func:`autocast` -- the one place in ``book_utils`` that builds an autocast context.
* :func:`fit` -- the training loop: tqdm progress bars, per-epoch history, optional mixed
  precision, a checkpoint after every epoch and resume from it, a time estimate after the
  first epoch.
* :func:`checkpoint_dir`, :func:`checkpoint_path`, :func:`fresh_start` -- checkpoints in a
  persistent folder, named by recipe, profile and sizes, so a re-run page resumes;
  :mod:`.settings` (``train.settings.run_settings``) -- what produced a run, stored in its
  checkpoint: a checkpoint of other settings is never resumed (fit says what changed and
  trains afresh).
* :func:`evaluate` -- THE evaluation: mean loss per sample and exact accuracy, independent of
  batch size; flip test-time augmentation and per-image losses/predictions as options.
* :func:`predict` -- all predictions and targets of a loader (for confusion matrices).

The page idiom for resuming (first code cells)::

    START_FRESH = False   # True: ignore saved checkpoints and train from scratch
    ...
    ckpt = train.checkpoint_path("lenet5", config.profile, epochs=config.epochs)
    train.fit(..., checkpoint=ckpt, resume=not (START_FRESH or train.fresh_start()))

Modules (in import order; each imports only those above it)

===============  ===========================================================================
module           what it holds
===============  ===========================================================================
``devices``      choose_device, device_name, CPU model name and instruction flags
``precision``    amp_dtype, resolve_amp, autocast (the one autocast context)
``params``       seed_everything, count_parameters
``history``      History: what a training run records
``settings``     run_settings, settings_diff: what produced a run (the rule for changed settings)
``checkpoints``  checkpoint folder, file names, CNN_BOOK_FRESH, save/read/load a checkpoint
``_checks``      argument and first-batch checks shared by fit, evaluate and predict
``evaluation``   evaluate (TTA, per-image losses), predict, confusion_matrix
``loop``         fit, its progress bars, epoch lines and eta_line
===============  ===========================================================================
"""
from __future__ import annotations

import torch  # noqa: F401  (kept: ``train.torch`` as before the split)

from .checkpoints import (CHECKPOINTS_ENV, FRESH_ENV, PathLike, checkpoint_dir,
                          checkpoint_path, fresh_start, load_checkpoint, save_checkpoint)
from .devices import (choose_device, cpu_flags, cpu_has_native_bf16, cpu_model_name,
                      device_name)
from .evaluation import confusion_matrix, evaluate, predict
from .history import History
from .loop import STATIC_ENV, eta_line, fit
from .params import MAX_SEED, count_parameters, seed_everything
from .precision import AmpSpec, amp_dtype, autocast, resolve_amp

__all__ = ["AmpSpec", "CHECKPOINTS_ENV", "FRESH_ENV", "History", "MAX_SEED", "PathLike",
           "STATIC_ENV", "amp_dtype", "autocast", "checkpoint_dir", "checkpoint_path",
           "choose_device", "confusion_matrix", "count_parameters", "cpu_flags",
           "cpu_has_native_bf16", "cpu_model_name", "device_name", "eta_line", "evaluate",
           "fit", "fresh_start", "load_checkpoint", "predict", "resolve_amp", "save_checkpoint",
           "seed_everything"]
