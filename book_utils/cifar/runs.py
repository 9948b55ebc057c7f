"""One CIFAR-10 training run of a recipe, end to end, and what it returns.

* :func:`run_recipe` -- seed, build, train with :func:`book_utils.train.fit` (checkpointed,
  resumable), test with :func:`book_utils.train.evaluate` (the recipe's flip TTA);
* :class:`RunResult` -- the recipe, its history, test metrics, confusion matrix, timings;
* :func:`checkpoint_file` -- the persistent checkpoint of a run, named by its settings;
  :func:`recipe_settings` -- the settings stored in it (a run resumes only its own settings).

Not here: the pieces a run is built from (:mod:`.recipes`, :mod:`.augment`, :mod:`.batches`,
:mod:`.factories`, :mod:`.schedules`), the tables that report it (:mod:`.report`), the
evaluation itself (:mod:`book_utils.train.evaluation`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Union

import torch
from torch import nn

from ..data import PathLike
from ._checks import check_device, check_image_tensors, check_int
from .batches import DeviceBatches
from .factories import make_loss, make_model, make_optimizer, runtime_options
from .recipes import Recipe, check_recipe
from .report import per_class_accuracy
from .schedules import make_scheduler

__all__ = ["RunResult", "checkpoint_file", "run_recipe"]


@dataclass
class RunResult:
    """What :func:`run_recipe` returns: the recipe, its history, test metrics and timings."""

    recipe: Recipe
    history: Any
    test: Dict[str, Any]
    confusion: torch.Tensor
    model: Optional[nn.Module] = None
    train_images: int = 0

    @property
    def seconds_per_epoch(self) -> float:
        """Mean wall time of the training passes (evaluation not included)."""
        times = self.history.column("time_s")
        return sum(times) / len(times) if times else float("nan")

    @property
    def images_per_second(self) -> float:
        """Training throughput: images per second of training pass."""
        s = self.seconds_per_epoch
        return self.train_images / s if s > 0 else float("nan")

    def summary(self) -> Dict[str, Any]:
        """JSON-ready numbers of this run (used in results files)."""
        acc = per_class_accuracy(self.confusion)
        return {
            "recipe": self.recipe.summary(),
            "test_accuracy": self.test["accuracy"],
            "test_loss": self.test["loss"],
            "test_images": self.test["n"],
            "per_class_accuracy": [round(float(a), 6) for a in acc],
            "confusion": self.confusion.tolist(),
            "seconds_per_epoch": self.seconds_per_epoch,
            "train_images_per_second": self.images_per_second,
            "train_images": self.train_images,
            "epochs": [{k: (round(v, 6) if isinstance(v, float) else v) for k, v in e.items()}
                       for e in self.history.epochs],
        }


def checkpoint_file(recipe: Recipe, profile: str, epochs: int, batch_size: int, train_images: int,
                    seed: int = 0) -> Path:
    """The persistent checkpoint file of one run of ``recipe``.

    The name holds everything that changes what is trained (recipe, profile, image size,
    AlexNet's pool size when it is not the paper's 6, epochs, batch size, number of training
    images, seed), so a re-run of the same page
    cell finds its own checkpoint and resumes, and a run with other settings never picks up
    a wrong one. The folder is :func:`book_utils.train.checkpoint_dir`
    (``$CNN_BOOK_CHECKPOINTS``, default under the cache folder).

    Returns:
        ``train.checkpoint_path(recipe.name, profile, size=..., [pool=...,] epochs=...,
        batch=..., train=..., seed=...)``.

    Raises:
        ValueError: for a profile other than ``quick``/``full`` or sizes that are not
            positive integers (from :func:`book_utils.train.checkpoint_path`).
    """
    from .. import train
    check_recipe(recipe)
    pool = ({"pool": recipe.pool_size}
            if recipe.model == "alexnet" and recipe.pool_size != 6 else {})
    return Path(train.checkpoint_path(recipe.name, profile, size=recipe.image_size, **pool,
                                      epochs=epochs, batch=batch_size, train=train_images,
                                      seed=seed))


def recipe_settings(recipe: Recipe, profile: str, batch_size: int, train_batches: DeviceBatches,
                 test_batches: DeviceBatches, train_indices, num_classes: int) -> Dict[str, Any]:
    """What :func:`run_recipe` stores in its checkpoint beyond what ``fit`` sees itself:
    every field of the recipe, the profile, the batch size, the numbers of training and test
    images, a digest of the chosen training images and the number of classes. A checkpoint
    whose settings differ is not resumed (``fit`` names the difference and trains afresh).
    """
    import hashlib
    chosen = "all"
    if train_indices is not None:
        idx = torch.as_tensor(train_indices).to(torch.int64).cpu().contiguous()
        chosen = hashlib.sha1(idx.numpy().tobytes()).hexdigest()[:12]
    return {"recipe": recipe.summary(), "profile": profile, "batch_size": int(batch_size),
            "train_images": train_batches.num_samples, "train_indices": chosen,
            "test_images": test_batches.num_samples, "num_classes": int(num_classes)}


def run_recipe(recipe: Recipe, train_data, test_data, epochs: int, batch_size: int,
               device: Optional[torch.device] = None, train_indices=None, test_indices=None,
               checkpoint: Union[bool, PathLike, None] = True, profile: Optional[str] = None,
               resume: bool = True, seed: int = 0, eval_batch_size: int = 256,
               val_each_epoch: bool = True, on_epoch_end: Optional[Callable] = None,
               progress: Optional[bool] = None, keep_model: bool = True,
               eta_after: float = 0.0) -> RunResult:
    """Train and test one recipe end to end (what the pages do step by step).

    Seeds torch, builds the model, optimizer, schedule and :class:`DeviceBatches`, trains with
    :func:`book_utils.train.fit` (checkpoint after every epoch, resumed if the file exists),
    then evaluates on the test images with the recipe's test-time augmentation. Mixed
    precision and ``channels_last`` follow :func:`runtime_options`.

    Args:
        recipe: what to train.
        train_data, test_data: :class:`~book_utils.data.ImageTensors` (uint8 32x32).
        epochs, batch_size: how much to train.
        device: default :func:`book_utils.train.choose_device`.
        train_indices, test_indices: optional subsets.
        checkpoint: ``True`` (default): the persistent file :func:`checkpoint_file` names,
            so re-running after an interruption resumes; a path: that file; ``False`` or
            ``None``: no checkpoints.
        profile: the profile named in the checkpoint file (default: the active one).
        resume: continue from an existing checkpoint of the same settings (every recipe
            field, profile, sizes, seed, model; :func:`recipe_settings`); one whose settings
            differ is not resumed: a line names the difference and the run starts afresh.
            ``False``: train afresh and overwrite it.
        seed: seeds the weights and, per epoch, the order and augmentation.
        val_each_epoch: also measure test loss/accuracy after every epoch (for curves).
        eta_after: work still planned after this run, in epochs of this run; ``fit`` adds it
            to the time it predicts after the first epoch.

    Returns:
        A :class:`RunResult`.

    Raises:
        TypeError: if ``recipe`` is not a :class:`Recipe` or ``train_data``/``test_data``
            is not an :class:`~book_utils.data.ImageTensors` of ``uint8`` images.
        ValueError: for sizes that are not positive integers, an unknown device, the two sets with different class lists, or indices
            out of range (from :class:`DeviceBatches`).
    """
    from ..profiles import active_profile
    from ..train import choose_device, confusion_matrix, evaluate, fit, seed_everything

    check_recipe(recipe)
    check_image_tensors(train_data, "train_data")
    check_image_tensors(test_data, "test_data")
    classes = tuple(getattr(train_data, "classes", ()))
    if classes != tuple(getattr(test_data, "classes", ())):
        raise ValueError("train_data and test_data have different class lists; load both "
                         "with book_utils.data.load_cifar10")
    epochs = check_int("epochs", epochs, 1)
    batch_size = check_int("batch_size", batch_size, 1)
    eval_batch_size = check_int("eval_batch_size", eval_batch_size, 1)
    device = choose_device() if device is None else check_device(device)
    opts = runtime_options(device)
    seed_everything(seed)
    model = make_model(recipe, num_classes=len(train_data.classes)).to(device)
    if opts["channels_last"]:
        model = model.to(memory_format=torch.channels_last)
    train_batches = DeviceBatches(train_data, batch_size, shuffle=True, device=device,
                                  transform=recipe.train_transform(), indices=train_indices, seed=seed)
    test_batches = DeviceBatches(test_data, eval_batch_size, shuffle=False, device=device,
                                 transform=recipe.test_transform(), indices=test_indices)
    if checkpoint is True:
        checkpoint = checkpoint_file(recipe, profile or active_profile(), epochs, batch_size,
                                     train_batches.num_samples, seed)
    elif checkpoint is False:
        checkpoint = None
    optimizer = make_optimizer(model, recipe, batch_size)
    scheduler, step = make_scheduler(optimizer, recipe, epochs, len(train_batches))
    settings = recipe_settings(recipe, profile or active_profile(), batch_size, train_batches,
                            test_batches, train_indices, len(train_data.classes))
    history = fit(model, train_batches, optimizer, epochs, loss_fn=make_loss(recipe), device=device,
                  scheduler=scheduler, scheduler_step=step,
                  val_loader=test_batches if val_each_epoch else None, val_loss_fn=nn.CrossEntropyLoss(),
                  amp=opts["amp"], channels_last=opts["channels_last"], checkpoint=checkpoint,
                  resume=resume, progress=progress, on_epoch_end=on_epoch_end, seed=seed,
                  eta_after=eta_after, settings=settings)
    test = evaluate(model, test_batches, tta_flip=recipe.tta_flip, per_image=True, **opts)
    cm = confusion_matrix(test["preds"], test["targets"], len(train_data.classes))
    return RunResult(recipe, history, test, cm, model if keep_model else None,
                     train_images=train_batches.num_samples)

