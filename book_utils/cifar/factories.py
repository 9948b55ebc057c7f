"""What a recipe builds: its network, optimizer and loss, and the speed settings of a device.

* :func:`make_model`, :func:`make_optimizer`, :func:`make_loss` -- the recipe's AlexNet or
  ResNet-18, its Adam/AdamW/SGD optimizer and its (label-smoothed) cross-entropy;
* :func:`runtime_options` -- mixed precision and memory format for a device;
* :func:`training_speed` -- measured training images per second, for the estimates a page
  prints before a long run.

Not here: the learning-rate schedules (:mod:`.schedules`), training and testing a recipe
(:mod:`.runs`), the autocast context itself (:mod:`book_utils.train.precision`).
"""
from __future__ import annotations

import time
from typing import Any, Dict, Optional, Union

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import check_device, check_int
from .recipes import Recipe, check_recipe

__all__ = ["make_model", "make_optimizer", "make_loss", "runtime_options", "training_speed"]


def make_model(recipe: Recipe, num_classes: int = 10) -> nn.Module:
    """The network of ``recipe`` (fresh weights from torch's current RNG state).

    Returns:
        :class:`book_utils.models.AlexNet` (with the recipe's ``lrn`` and ``pool_size``) or
        :func:`book_utils.models.resnet18`, with ``num_classes`` outputs.

    Raises:
        TypeError: if ``recipe`` is not a :class:`Recipe`; TypeError / ValueError: for a
            class count that is not an integer >= 2.
    """
    from ..models import AlexNet, resnet18
    check_recipe(recipe)
    num_classes = check_int("num_classes", num_classes, 2)
    if recipe.model == "alexnet":
        return AlexNet(num_classes=num_classes, lrn=recipe.lrn, pool_size=recipe.pool_size)
    return resnet18(num_classes=num_classes)


def make_optimizer(model: nn.Module, recipe: Recipe,
                   batch_size: Optional[int] = None) -> torch.optim.Optimizer:
    """The optimizer of ``recipe`` over all parameters of ``model``, in torch's fused
    implementation where the device and torch version have one (same update, fewer passes
    over memory).

    Args:
        batch_size: the training batch size; sets the learning rate through
            :meth:`Recipe.lr_for` (it matters only for recipes with a ``reference_batch``).

    Raises:
        TypeError: if ``model`` is not an ``nn.Module`` or ``recipe`` not a :class:`Recipe`;
        ValueError: for a model without parameters or a bad batch size.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_recipe(recipe)
    params = list(model.parameters())
    if not params:
        raise ValueError(f"{type(model).__name__} has no parameters to optimise")
    lr = recipe.lr_for(batch_size)
    if recipe.optimizer == "adam":
        kind, settings = torch.optim.Adam, dict(lr=lr, weight_decay=recipe.weight_decay)
    elif recipe.optimizer == "adamw":
        kind, settings = torch.optim.AdamW, dict(lr=lr, weight_decay=recipe.weight_decay)
    else:
        kind, settings = torch.optim.SGD, dict(lr=lr, momentum=recipe.momentum,
                                               nesterov=recipe.nesterov,
                                               weight_decay=recipe.weight_decay)
    # The fused implementation does the same update in one pass over each parameter
    # instead of several; on a CPU it makes AlexNet's Adam step (57 M parameters) about
    # 9x faster. Older torch (fused CPU optimizers came in 2.4) or another device: the
    # default implementation.
    try:
        return kind(params, fused=True, **settings)
    except (RuntimeError, TypeError, ValueError):
        return kind(params, **settings)

def make_loss(recipe: Recipe) -> nn.Module:
    """Training loss of ``recipe``: cross-entropy, with label smoothing if the recipe has it.

    Raises:
        TypeError: if ``recipe`` is not a :class:`Recipe`.
    """
    check_recipe(recipe)
    return nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)


def runtime_options(device: Union[str, torch.device]) -> Dict[str, Any]:
    """Speed settings for training and testing on ``device``.

    Returns:
        ``{"amp": torch.dtype or None, "channels_last": bool}``: ``amp`` is the autocast
        dtype of :func:`book_utils.train.amp_dtype` (bf16 on CUDA with compute capability
        >= 8 and on a CPU with native bf16, fp16 on 7.x GPUs, ``None`` elsewhere);
        ``channels_last`` is switched on wherever mixed precision is (cuDNN's tensor-core
        kernels and oneDNN's bf16 convolutions both prefer NHWC), never in plain fp32 on a
        CPU, where it does not pay.

    Raises:
        ValueError: for a device name torch does not know (e.g. ``"gpu"``).
    """
    from .. import train
    dtype = train.amp_dtype(check_device(device))
    return {"amp": dtype, "channels_last": dtype is not None}


def training_speed(recipe: Recipe, device: Union[str, torch.device], batch_size: int,
                   steps: int = 3) -> float:
    """Measured training throughput of ``recipe``'s model on ``device``, in images per second.

    Times ``steps`` optimizer steps (forward, backward, update) on random batches of
    ``batch_size`` images of ``recipe.image_size`` pixels, after one untimed warm-up step,
    with the settings of :func:`runtime_options`. A page uses it to say how long a run will
    take before starting it. The model is built from a private generator (seed 0), so the
    caller's random state is left as it was.

    Returns:
        Images per second (float).

    Raises:
        TypeError: if ``recipe`` is not a :class:`Recipe`; TypeError / ValueError: if
            ``batch_size`` or ``steps`` is not a positive integer or ``device`` is unknown.
    """
    from .. import train
    check_recipe(recipe)
    batch_size, steps = check_int("batch_size", batch_size, 1), check_int("steps", steps, 1)
    device = check_device(device)
    opts = runtime_options(device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda *_: None)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(0)
        model = make_model(recipe).to(device)
        if opts["channels_last"]:
            model = model.to(memory_format=torch.channels_last)
        optimizer = make_optimizer(model, recipe, batch_size)
        size = recipe.image_size
        x = torch.randn(batch_size, 3, size, size, device=device)
        if opts["channels_last"]:
            x = x.contiguous(memory_format=torch.channels_last)
        y = torch.randint(0, 10, (batch_size,), device=device)
        for k in range(steps + 1):          # step 0 is an untimed warm-up
            if k == 1:
                sync(device)
                start = time.perf_counter()
            with train.autocast(device, opts["amp"]):
                loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        sync(device)
        return batch_size * steps / (time.perf_counter() - start)

