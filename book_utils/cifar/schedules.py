"""Learning-rate schedules of the recipes, and what they do step by step.

* :func:`make_scheduler` -- the recipe's ``CosineAnnealingLR`` (per epoch), ``OneCycleLR``
  (per batch) or none;
* :func:`schedule_trace` -- the learning rate and momentum at every optimizer step, without
  training;
* :func:`cosine_lr` -- the cosine-annealing formula itself, to check the scheduler against.

Not here: the optimizer the schedules drive (:mod:`.factories`), the loop that steps them
(:func:`book_utils.train.fit`).
"""
from __future__ import annotations

import math
from typing import Dict, Optional

import torch
from torch import nn

from ._checks import check_int, check_number
from .factories import make_optimizer
from .recipes import Recipe, check_recipe

__all__ = ["make_scheduler", "schedule_trace", "cosine_lr"]


def make_scheduler(optimizer: torch.optim.Optimizer, recipe: Recipe, epochs: int,
                   steps_per_epoch: int):
    """The learning-rate schedule of ``recipe`` and how often :func:`~book_utils.train.fit` steps it.

    * ``"cosine"``: ``CosineAnnealingLR(T_max=epochs, eta_min=recipe.eta_min)``, stepped after
      every epoch, so the learning rate of epoch ``t`` (0-based) is
      ``eta_min + (lr - eta_min) * (1 + cos(pi * t / epochs)) / 2`` and reaches ``eta_min``
      after the last epoch (the source set ``T_max=200`` for 100 epochs and stopped halfway).
    * ``"onecycle"``: ``OneCycleLR(max_lr=<the optimizer's learning rate>, epochs,
      steps_per_epoch, pct_start=recipe.warmup)`` with PyTorch's other defaults: over the
      first ``recipe.warmup`` of the steps (30% unless a profile shortens it) the rate
      rises from ``max_lr / 25`` to ``max_lr`` while the momentum (SGD's ``momentum``,
      Adam's ``beta1``) falls from 0.95 to 0.85; over the rest the rate decays along a
      cosine to ``max_lr / 25 / 1e4`` while the momentum climbs back to 0.95. The
      optimizer's own momentum setting is therefore replaced during the run (see
      :func:`schedule_trace`). Stepped after every batch (Smith & Topin,
      "Super-Convergence", 2017).
    * ``"constant"``: no scheduler.

    Both schedules are laid out over ``epochs``: a finished run asked for more epochs would
    restart (cosine) or overrun (one-cycle) them, so :func:`~book_utils.train.fit` stores
    the schedule's settings with its checkpoint and, when they differ, says so in one line
    and trains afresh instead of resuming (the book's one rule for changed settings).

    Returns:
        ``(scheduler or None, "epoch" | "batch")``.

    Raises:
        TypeError: if ``optimizer`` is not a torch optimizer or ``recipe`` not a
            :class:`Recipe`; TypeError / ValueError: if ``epochs`` or ``steps_per_epoch``
            is not a positive integer.
    """
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer (from make_optimizer), "
                        f"got {type(optimizer).__name__}")
    check_recipe(recipe)
    epochs = check_int("epochs", epochs, 1)
    steps_per_epoch = check_int("steps_per_epoch", steps_per_epoch, 1)
    if recipe.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs, eta_min=recipe.eta_min), "epoch"
    if recipe.schedule == "onecycle":
        peak = optimizer.param_groups[0]["lr"]  # recipe.lr_for(batch size), set by make_optimizer
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=peak, epochs=epochs,
                                                   steps_per_epoch=steps_per_epoch,
                                                   pct_start=recipe.warmup), "batch"
    return None, "epoch"


def schedule_trace(recipe: Recipe, epochs: int, steps_per_epoch: int,
                   batch_size: Optional[int] = None) -> Dict[str, list]:
    """Learning rate and momentum of every optimizer step under ``recipe``'s schedule.

    Builds the recipe's optimizer on a single dummy parameter and its scheduler, and records
    what the optimizer really uses at each step, without training anything.

    Args:
        recipe: the recipe (its optimizer, learning rate and schedule matter).
        epochs, steps_per_epoch: the length of the run (positive).
        batch_size: the training batch size (sets the peak rate through :meth:`Recipe.lr_for`).

    Returns:
        ``{"lr": [...], "momentum": [...]}``, one float per optimizer step
        (``epochs * steps_per_epoch`` of them). ``momentum`` is SGD's ``momentum`` or
        Adam/AdamW's ``beta1``.

    Raises:
        TypeError / ValueError: if ``epochs`` or ``steps_per_epoch`` is not a positive
            integer, or ``recipe`` is not a :class:`Recipe`.
    """
    epochs = check_int("epochs", epochs, 1)
    steps_per_epoch = check_int("steps_per_epoch", steps_per_epoch, 1)
    dummy = nn.Linear(1, 1, bias=False)
    optimizer = make_optimizer(dummy, recipe, batch_size)
    scheduler, every = make_scheduler(optimizer, recipe, epochs, steps_per_epoch)
    lrs, moms = [], []
    group = optimizer.param_groups[0]
    for _ in range(epochs):
        for _ in range(steps_per_epoch):
            lrs.append(float(group["lr"]))
            moms.append(float(group["betas"][0] if "betas" in group else group.get("momentum", 0.0)))
            optimizer.step()  # no gradients: nothing changes; keeps the scheduler's order check quiet
            if scheduler is not None and every == "batch":
                scheduler.step()
        if scheduler is not None and every == "epoch":
            scheduler.step()
    return {"lr": lrs, "momentum": moms}


def cosine_lr(t: float, t_max: float, eta_max: float, eta_min: float = 0.0) -> float:
    """Cosine annealing: ``eta_min + (eta_max - eta_min) * (1 + cos(pi * t / t_max)) / 2``.

    (Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm Restarts", 2017.)

    Args:
        t: the step or epoch (``>= 0``; past ``t_max`` the curve climbs again, as the
            formula does); t_max: half a period (``> 0``); eta_max, eta_min: the highest
            and lowest rates (``>= 0``).

    Raises:
        TypeError / ValueError: for a non-number, NaN or infinity, a negative ``t`` or
            rate, or ``t_max <= 0``.
    """
    t = check_number("t", t, 0.0)
    t_max = check_number("t_max", t_max, 0.0, low_open=True)
    eta_max, eta_min = check_number("eta_max", eta_max, 0.0), check_number("eta_min", eta_min, 0.0)
    return eta_min + 0.5 * (eta_max - eta_min) * (1.0 + math.cos(math.pi * t / t_max))

