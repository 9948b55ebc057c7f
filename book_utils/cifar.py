"""CIFAR-10 training recipes for the AlexNet and ResNet-18 pages.

What lives here:

* :class:`Recipe` and :data:`RECIPES` – the source chapter's two recipes and an improved
  recipe for each model, as plain settings (optimizer, schedule, augmentation, ...).
* :class:`BatchTransform` – augmentation, normalisation and resizing of a whole ``uint8``
  batch at once on the training device (GPU-side on CUDA), and :func:`sample_transform`,
  the equivalent per-image ``torchvision.transforms.v2`` pipeline of the source.
* :class:`DeviceBatches` – an iterable of batches that keeps the ``uint8`` images on the
  device (150 MB for the CIFAR-10 training set) so the data pipeline never starves a GPU.
* :func:`make_model`, :func:`make_optimizer`, :func:`make_scheduler`, :func:`make_loss`,
  :func:`evaluate_model` (with flip test-time augmentation), :func:`run_recipe`.
* :class:`RunResult` (one trained recipe), :func:`comparison_table` (this run beside the
  recorded full run, read with :mod:`book_utils.results`), :func:`plot_recorded` and
  :class:`LiveHistoryPlot`.
"""
from __future__ import annotations

import math
import os
import textwrap
from pathlib import Path
from dataclasses import asdict, dataclass, replace
from typing import Any, Callable, Dict, Iterator, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from .data import CIFAR10_CLASSES, CIFAR10_MEAN, CIFAR10_STD, IMAGENET_MEAN, IMAGENET_STD
from .results import NOT_RECORDED, recorded_status

PathLike = Union[str, os.PathLike]


# --------------------------------------------------------------------------- recipes

@dataclass(frozen=True)
class Recipe:
    """One way of training a model on CIFAR-10.

    Attributes:
        name: key in :data:`RECIPES`, e.g. ``"alexnet-source"``.
        model: ``"alexnet"`` or ``"resnet18"``.
        title: short English label for plots and tables.
        image_size: side of the square images the model sees (32: no resizing).
        mean, std: per-channel normalisation applied to pixel values in ``[0, 1]``.
        crop_padding: training augmentation: pad by this many zero pixels on every side and
            crop a random 32x32 window (0 switches it off).
        flip: training augmentation: mirror left-right with probability 0.5.
        optimizer: ``"adam"``, ``"adamw"`` or ``"sgd"``.
        lr: learning rate (the peak learning rate for ``schedule="onecycle"``).
        reference_batch: if set, ``lr`` is the rate for batches of this size and other batch
            sizes scale it linearly (:meth:`lr_for`; Goyal et al., "Accurate, Large Minibatch
            SGD", 2017); ``None`` keeps ``lr`` for every batch size.
        momentum, nesterov: SGD momentum settings.
        weight_decay: L2 penalty (``adam``/``sgd``) or decoupled weight decay (``adamw``).
        schedule: ``"constant"``, ``"cosine"`` (``CosineAnnealingLR`` stepped once per
            epoch with ``T_max`` = number of epochs) or ``"onecycle"`` (``OneCycleLR``,
            stepped once per batch).
        eta_min: final learning rate of the cosine schedule.
        label_smoothing: of the training loss (0: plain cross-entropy).
        tta_flip: test-time augmentation: average the predicted probabilities of each test
            image and its mirror image.
        lrn: AlexNet only: local response normalisation after conv1 and conv2.
    """

    name: str
    model: str
    title: str
    image_size: int
    mean: Tuple[float, float, float]
    std: Tuple[float, float, float]
    lr: float
    reference_batch: Optional[int] = None
    optimizer: str = "adam"
    crop_padding: int = 0
    flip: bool = False
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    schedule: str = "constant"
    eta_min: float = 0.0
    label_smoothing: float = 0.0
    tta_flip: bool = False
    lrn: bool = True

    def __post_init__(self):
        if self.model not in ("alexnet", "resnet18"):
            raise ValueError(f"model must be 'alexnet' or 'resnet18', got {self.model!r}")
        if self.optimizer not in ("adam", "adamw", "sgd"):
            raise ValueError(f"optimizer must be 'adam', 'adamw' or 'sgd', got {self.optimizer!r}")
        if self.schedule not in ("constant", "cosine", "onecycle"):
            raise ValueError(f"schedule must be 'constant', 'cosine' or 'onecycle', got {self.schedule!r}")
        if self.image_size < 32:
            raise ValueError(f"image_size must be >= 32 (CIFAR-10 images are 32x32), got {self.image_size}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        if self.crop_padding < 0:
            raise ValueError(f"crop_padding must be >= 0, got {self.crop_padding}")
        if self.lr <= 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if self.reference_batch is not None and self.reference_batch <= 0:
            raise ValueError(f"reference_batch must be positive or None, got {self.reference_batch}")

    def lr_for(self, batch_size: Optional[int] = None) -> float:
        """The learning rate for ``batch_size``: ``lr * batch_size / reference_batch`` when the
        recipe has a reference batch size, else ``lr``."""
        if self.reference_batch is None or batch_size is None:
            return self.lr
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        return self.lr * batch_size / self.reference_batch

    def summary(self) -> Dict[str, Any]:
        """The settings as a plain dict (for tables and results files); ``lrn`` only for AlexNet."""
        settings = asdict(self)
        if self.model != "alexnet":
            settings.pop("lrn")
        return settings

    def train_transform(self, channels_last: bool = False) -> "BatchTransform":
        """The batch transform used for training (augmentation switched on)."""
        return BatchTransform(self.image_size, self.mean, self.std, self.crop_padding, self.flip,
                              channels_last=channels_last)

    def test_transform(self, channels_last: bool = False) -> "BatchTransform":
        """The batch transform used for testing (no augmentation)."""
        return BatchTransform(self.image_size, self.mean, self.std, channels_last=channels_last)


def _recipes() -> Dict[str, Recipe]:
    alex = dict(model="alexnet", image_size=227, mean=IMAGENET_MEAN, std=IMAGENET_STD)
    res = dict(model="resnet18", image_size=32, mean=CIFAR10_MEAN, std=CIFAR10_STD)
    items = [
        # The source chapter: resize to 227, ImageNet statistics, Adam 5e-4, no augmentation.
        Recipe(name="alexnet-source", title="AlexNet, source recipe (Adam 5e-4)", lr=5e-4, **alex),
        # Same network and optimizer family; adds augmentation, decoupled weight decay, a
        # warm-up + cosine one-cycle schedule, label smoothing and flip TTA.
        Recipe(name="alexnet-improved", title="AlexNet, improved (AdamW one-cycle, aug, LS, TTA)",
               lr=5e-4, optimizer="adamw", weight_decay=0.05, crop_padding=4, flip=True,
               schedule="onecycle", label_smoothing=0.1, tta_flip=True, **alex),
        # The source chapter: crop + flip, CIFAR statistics, Adam 1e-3, cosine annealing.
        Recipe(name="resnet-source", title="ResNet-18, source recipe (Adam 1e-3, cosine)", lr=1e-3,
               crop_padding=4, flip=True, schedule="cosine", **res),
        # SGD with Nesterov momentum and weight decay, one-cycle, label smoothing, flip TTA;
        # peak rate 0.1 for batches of 128, scaled linearly for other batch sizes.
        Recipe(name="resnet-improved", title="ResNet-18, improved (SGD one-cycle, LS, TTA)", lr=0.1,
               reference_batch=128, optimizer="sgd", momentum=0.9, nesterov=True, weight_decay=5e-4, crop_padding=4,
               flip=True, schedule="onecycle", label_smoothing=0.1, tta_flip=True, **res),
    ]
    return {r.name: r for r in items}


#: the four recipes of the two pages, by name
RECIPES: Dict[str, Recipe] = _recipes()


def replace_size(recipe: Recipe, image_size: Optional[int]) -> Recipe:
    """``recipe`` with another input size (e.g. the smaller AlexNet input of the quick
    profile on a CPU); everything else, the name included, stays as it is.

    Args:
        image_size: side in pixels (``>= 32``); ``None`` or the recipe's own size returns
            ``recipe`` unchanged.

    Raises:
        ValueError: for a size below 32 (from :class:`Recipe`), or for AlexNet below
            :data:`book_utils.models.alexnet.MIN_INPUT_SIZE`.
    """
    if image_size is None or image_size == recipe.image_size:
        return recipe
    from .models.alexnet import MIN_INPUT_SIZE
    if recipe.model == "alexnet" and image_size < MIN_INPUT_SIZE:
        raise ValueError(f"AlexNet needs image_size >= {MIN_INPUT_SIZE}, got {image_size}")
    return replace(recipe, image_size=int(image_size))


def get_recipe(name: str) -> Recipe:
    """Look up a recipe by name.

    Raises:
        KeyError: for an unknown name (the message lists the known ones).
    """
    if name not in RECIPES:
        raise KeyError(f"unknown recipe {name!r}; known recipes: {sorted(RECIPES)}")
    return RECIPES[name]


# --------------------------------------------------------------------------- transforms

def _check_uint8_batch(images: torch.Tensor) -> None:
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor of images, got {type(images).__name__}")
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"expected a batch of RGB images (B, 3, H, W), got shape {tuple(images.shape)}")
    if images.dtype != torch.uint8:
        raise TypeError(f"expected uint8 pixel values 0-255, got {images.dtype}; "
                        f"pass the images as stored by book_utils.data.load_cifar10")


def random_crop(images: torch.Tensor, padding: int, offsets: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Pad a batch with zeros and cut one window of the original size out of each image.

    The batched form of ``torchvision.transforms.v2.RandomCrop(size, padding=padding)``
    (constant zero fill): every image gets its own window.

    Args:
        images: ``(B, C, H, W)`` tensor of any dtype.
        padding: zero pixels added on each side (``>= 0``).
        offsets: optional ``int64 (B, 2)`` window corners ``(top, left)`` in the padded image,
            each in ``[0, 2 * padding]``; default: uniformly random (torch's RNG on the
            device of ``images``).

    Returns:
        A tensor shaped and typed like ``images``.

    Raises:
        ValueError: for a negative padding, a non-4D batch or offsets of the wrong shape/range.
    """
    if images.dim() != 4:
        raise ValueError(f"expected a batch (B, C, H, W), got shape {tuple(images.shape)}")
    if padding < 0:
        raise ValueError(f"padding must be >= 0, got {padding}")
    b, _, h, w = images.shape
    if padding == 0:
        return images
    if offsets is None:
        offsets = torch.randint(0, 2 * padding + 1, (b, 2), device=images.device)
    elif offsets.shape != (b, 2) or offsets.min() < 0 or offsets.max() > 2 * padding:
        raise ValueError(f"offsets must be (B, 2) = ({b}, 2) with values in [0, {2 * padding}], "
                         f"got shape {tuple(offsets.shape)}")
    offsets = offsets.to(images.device)
    c = images.shape[1]
    padded = F.pad(images, (padding, padding, padding, padding))            # (B, C, H+2p, W+2p)
    rows = offsets[:, 0:1] + torch.arange(h, device=images.device)          # (B, H)
    cols = offsets[:, 1:2] + torch.arange(w, device=images.device)          # (B, W)
    # flat position of output pixel (i, j) of image b inside its padded image, the same for
    # every channel; one gather then copies all windows at once
    flat = rows[:, :, None] * (w + 2 * padding) + cols[:, None, :]          # (B, H, W)
    flat = flat.view(b, 1, h * w).expand(b, c, h * w)
    return padded.flatten(2).gather(2, flat).view(b, c, h, w)


def random_flip(images: torch.Tensor, p: float = 0.5, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Mirror each image of a batch left-right with probability ``p``.

    Args:
        images: ``(B, C, H, W)``.
        p: flip probability.
        mask: optional ``bool (B,)``: which images to flip (default: random).

    Returns:
        A new tensor shaped like ``images``.
    """
    if images.dim() != 4:
        raise ValueError(f"expected a batch (B, C, H, W), got shape {tuple(images.shape)}")
    if mask is None:
        mask = torch.rand(images.shape[0], device=images.device) < p
    mask = mask.to(images.device).view(-1, 1, 1, 1)
    return torch.where(mask, images.flip(-1), images)


class BatchTransform:
    """Augment, normalise and resize a batch of ``uint8`` images in one go, on their device.

    Steps, in order: random crop with zero padding (optional), random horizontal flip
    (optional), conversion to ``float32`` in ``[0, 1]``, per-channel normalisation
    ``(x - mean) / std``, bilinear resize to ``image_size`` (``align_corners=False``, as
    ``torchvision``'s ``Resize``). Normalising before resizing gives the same result as after
    (bilinear weights sum to one) but touches 50x fewer pixels for 32 -> 227.

    Args:
        image_size: output side in pixels (32 keeps the CIFAR size).
        mean, std: three floats each.
        crop_padding: padding of the random crop (0: no crop).
        flip: random horizontal flip with probability 0.5.
        channels_last: return the batch in ``torch.channels_last`` memory format.

    Call with a ``uint8 (B, 3, H, W)`` tensor; returns ``float32 (B, 3, image_size,
    image_size)`` on the same device.

    Raises:
        ValueError / TypeError: for a batch that is not ``uint8 (B, 3, H, W)``.
    """

    def __init__(self, image_size: int = 32, mean: Sequence[float] = CIFAR10_MEAN,
                 std: Sequence[float] = CIFAR10_STD, crop_padding: int = 0, flip: bool = False,
                 channels_last: bool = False):
        if len(mean) != 3 or len(std) != 3:
            raise ValueError(f"mean and std need three values (R, G, B), got {mean} and {std}")
        if any(s <= 0 for s in std):
            raise ValueError(f"std values must be positive, got {std}")
        if crop_padding < 0:
            raise ValueError(f"crop_padding must be >= 0, got {crop_padding}")
        self.image_size = int(image_size)
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)
        self.crop_padding = int(crop_padding)
        self.flip = bool(flip)
        self.channels_last = bool(channels_last)
        # mean and std as (1, 3, 1, 1) tensors, made once per device and reused by every batch
        self._stats: Dict[torch.device, Tuple[torch.Tensor, torch.Tensor]] = {}

    def stats_on(self, device: Union[str, torch.device]) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(mean, std)`` as ``float32 (1, 3, 1, 1)`` tensors on ``device``.

        They are built on the first call for a device and cached: a training loop calls the
        transform once per batch, and a new device tensor per batch would mean a small
        host-to-device copy (and, on CUDA, a synchronisation) every time.
        """
        device = torch.device(device)
        if device not in self._stats:
            shape = (1, 3, 1, 1)
            self._stats[device] = (torch.tensor(self.mean, dtype=torch.float32).view(shape).to(device),
                                   torch.tensor(self.std, dtype=torch.float32).view(shape).to(device))
        return self._stats[device]

    def __repr__(self) -> str:
        return (f"BatchTransform(image_size={self.image_size}, crop_padding={self.crop_padding}, "
                f"flip={self.flip}, mean={self.mean}, std={self.std})")

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        _check_uint8_batch(images)
        if self.crop_padding:
            images = random_crop(images, self.crop_padding)
        if self.flip:
            images = random_flip(images)
        mean, std = self.stats_on(images.device)
        x = images.float().div_(255).sub_(mean).div_(std)
        if tuple(x.shape[-2:]) != (self.image_size, self.image_size):
            x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bilinear",
                              align_corners=False, antialias=False)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x


def sample_transform(recipe: Recipe, train: bool):
    """The per-image ``torchvision.transforms.v2`` pipeline of ``recipe`` (the source's way).

    It works on one ``uint8 (3, 32, 32)`` tensor at a time (in a ``DataLoader``), in the
    order crop, flip, resize, scale to ``[0, 1]``, normalise; ``Resize`` of a ``uint8``
    image rounds to whole grey levels, as the source's PIL pipeline does.

    Returns:
        A ``v2.Compose``; use it as ``TensorImageDataset(data, transform=...)``.
    """
    from torchvision.transforms import v2

    steps = []
    if train and recipe.crop_padding:
        steps.append(v2.RandomCrop(32, padding=recipe.crop_padding))
    if train and recipe.flip:
        steps.append(v2.RandomHorizontalFlip())
    if recipe.image_size != 32:
        steps.append(v2.Resize((recipe.image_size, recipe.image_size), antialias=True))
    steps += [v2.ToDtype(torch.float32, scale=True), v2.Normalize(list(recipe.mean), list(recipe.std))]
    return v2.Compose(steps)


def resize_cost(src: int = 32, dst: int = 227, channels: int = 3) -> Dict[str, float]:
    """How much bigger an image becomes when resized from ``src`` to ``dst`` pixels a side.

    Returns:
        ``{"pixel_factor": (dst/src)**2, "bytes_src": uint8 bytes, "bytes_dst_float32": bytes
        of the float32 image the model sees}``.
    """
    if src <= 0 or dst <= 0:
        raise ValueError(f"sizes must be positive, got src={src}, dst={dst}")
    return {"pixel_factor": (dst / src) ** 2,
            "bytes_src": channels * src * src,
            "bytes_dst_float32": 4 * channels * dst * dst}


# --------------------------------------------------------------------------- batches

class DeviceBatches:
    """Mini-batches of an in-memory ``uint8`` image set, transformed on the training device.

    The ``uint8`` images are copied to ``device`` once (50,000 CIFAR-10 images are 150 MB), so
    each batch is an index into device memory followed by a :class:`BatchTransform`: no
    worker processes, no per-image Python, no host-to-device copy per batch.

    Args:
        data: an :class:`~book_utils.data.ImageTensors` (``images`` uint8 ``(N, 3, H, W)``,
            ``labels`` int64 ``(N,)``).
        batch_size: images per batch (positive).
        shuffle: new random order every epoch, drawn from :attr:`generator` (``fit`` reseeds it
            at the start of each epoch, so an epoch's order depends only on its number).
        device: where the images live and the batches are produced (default CPU).
        transform: a :class:`BatchTransform` (default: scale to ``[0, 1]`` only).
        indices: optional subset of sample indices (e.g. from ``stratified_indices``).
        drop_last: drop a last, smaller batch.
        seed: initial seed of :attr:`generator`.

    Iterating yields ``(images float32 (B, 3, S, S), labels int64 (B,))`` on ``device``.

    Raises:
        ValueError / TypeError: for a non-positive batch size or images that are not
            ``uint8 (N, 3, H, W)``.
    """

    def __init__(self, data, batch_size: int, shuffle: bool, device: Optional[torch.device] = None,
                 transform: Optional[Callable] = None, indices: Optional[Sequence[int]] = None,
                 drop_last: bool = False, seed: int = 0):
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        images, labels = data.images, data.labels
        _check_uint8_batch(images)
        if labels.shape[0] != images.shape[0]:
            raise ValueError(f"{images.shape[0]} images but {labels.shape[0]} labels")
        if indices is not None:
            idx = torch.as_tensor(indices, dtype=torch.int64)
            images, labels = images.index_select(0, idx), labels.index_select(0, idx)
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.images = images.to(self.device)
        self.labels = labels.to(torch.int64).to(self.device)
        self.classes = tuple(getattr(data, "classes", CIFAR10_CLASSES))
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.transform = transform if transform is not None else BatchTransform(images.shape[-1], (0, 0, 0), (1, 1, 1))
        self.generator = torch.Generator().manual_seed(seed)

    @property
    def num_samples(self) -> int:
        """Number of images per epoch (before ``drop_last``)."""
        return int(self.labels.shape[0])

    def __len__(self) -> int:
        n, b = self.num_samples, self.batch_size
        return n // b if self.drop_last else (n + b - 1) // b

    def __iter__(self) -> Iterator[Tuple[torch.Tensor, torch.Tensor]]:
        n = self.num_samples
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        order = order.to(self.device)
        for k in range(len(self)):
            idx = order[k * self.batch_size:(k + 1) * self.batch_size]
            yield self.transform(self.images.index_select(0, idx)), self.labels.index_select(0, idx)


# --------------------------------------------------------------------------- model, optimizer, schedule

def make_model(recipe: Recipe, num_classes: int = 10) -> nn.Module:
    """The network of ``recipe`` (fresh weights from torch's current RNG state)."""
    from .models import AlexNet, resnet18
    if recipe.model == "alexnet":
        return AlexNet(num_classes=num_classes, lrn=recipe.lrn)
    return resnet18(num_classes=num_classes)


def make_optimizer(model: nn.Module, recipe: Recipe, batch_size: Optional[int] = None) -> torch.optim.Optimizer:
    """The optimizer of ``recipe`` over all parameters of ``model``.

    Args:
        batch_size: the training batch size; sets the learning rate through
            :meth:`Recipe.lr_for` (it matters only for recipes with a ``reference_batch``).
    """
    params = model.parameters()
    lr = recipe.lr_for(batch_size)
    if recipe.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=recipe.weight_decay)
    if recipe.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=recipe.weight_decay)
    return torch.optim.SGD(params, lr=lr, momentum=recipe.momentum, nesterov=recipe.nesterov,
                           weight_decay=recipe.weight_decay)


def make_scheduler(optimizer: torch.optim.Optimizer, recipe: Recipe, epochs: int,
                   steps_per_epoch: int):
    """The learning-rate schedule of ``recipe`` and how often :func:`~book_utils.train.fit` steps it.

    * ``"cosine"``: ``CosineAnnealingLR(T_max=epochs, eta_min=recipe.eta_min)``, stepped after
      every epoch, so the learning rate of epoch ``t`` (0-based) is
      ``eta_min + (lr - eta_min) * (1 + cos(pi * t / epochs)) / 2`` and reaches ``eta_min``
      after the last epoch (the source set ``T_max=200`` for 100 epochs and stopped halfway).
    * ``"onecycle"``: ``OneCycleLR(max_lr=<the optimizer's learning rate>, epochs,
      steps_per_epoch)`` with PyTorch's defaults: over the first 30% of the steps the rate
      rises from ``max_lr / 25`` to ``max_lr`` while the momentum (SGD's ``momentum``,
      Adam's ``beta1``) falls from 0.95 to 0.85; over the rest the rate decays along a
      cosine to ``max_lr / 25 / 1e4`` while the momentum climbs back to 0.95. The
      optimizer's own momentum setting is therefore replaced during the run (see
      :func:`schedule_trace`). Stepped after every batch (Smith & Topin,
      "Super-Convergence", 2017).
    * ``"constant"``: no scheduler.

    Returns:
        ``(scheduler or None, "epoch" | "batch")``.

    Raises:
        ValueError: if ``epochs`` or ``steps_per_epoch`` is not positive.
    """
    if epochs <= 0 or steps_per_epoch <= 0:
        raise ValueError(f"epochs and steps_per_epoch must be positive, got {epochs} and {steps_per_epoch}")
    if recipe.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs, eta_min=recipe.eta_min), "epoch"
    if recipe.schedule == "onecycle":
        peak = optimizer.param_groups[0]["lr"]  # recipe.lr_for(batch size), set by make_optimizer
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=peak, epochs=epochs,
                                                   steps_per_epoch=steps_per_epoch), "batch"
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
        ValueError: if ``epochs`` or ``steps_per_epoch`` is not positive.
    """
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
    """
    if t_max <= 0:
        raise ValueError(f"t_max must be positive, got {t_max}")
    return eta_min + 0.5 * (eta_max - eta_min) * (1.0 + math.cos(math.pi * t / t_max))


def make_loss(recipe: Recipe) -> nn.Module:
    """Training loss of ``recipe``: cross-entropy, with label smoothing if the recipe has it."""
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
    """
    from . import train
    device = torch.device(device)
    dtype = train.amp_dtype(device)
    return {"amp": dtype, "channels_last": dtype is not None}


def training_speed(recipe: Recipe, device: Union[str, torch.device], batch_size: int,
                   steps: int = 3) -> float:
    """Measured training throughput of ``recipe``'s model on ``device``, in images per second.

    Times ``steps`` optimizer steps (forward, backward, update) on random batches of
    ``batch_size`` images of ``recipe.image_size`` pixels, after one untimed warm-up step,
    with the settings of :func:`runtime_options`. A page uses it to say how long a run will
    take before starting it. The model is built from a private generator (seed 0), so the
    caller's random state is left as it was.

    Raises:
        ValueError: if ``batch_size`` or ``steps`` is not a positive integer.
    """
    import time
    from . import train
    for name, value in (("batch_size", batch_size), ("steps", steps)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    device = torch.device(device)
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


# --------------------------------------------------------------------------- evaluation

@torch.no_grad()
def evaluate_model(model: nn.Module, loader, tta_flip: bool = False,
                   amp: Union[bool, None, str, torch.dtype] = None,
                   channels_last: bool = False) -> Dict[str, Any]:
    """Test loss, accuracy and predictions, optionally with flip test-time augmentation.

    Without TTA the numbers equal :func:`book_utils.train.evaluate`. With ``tta_flip`` the
    class probabilities of each image and of its mirror image are averaged; the loss is then
    the negative log of the averaged probability of the true class.

    Args:
        model: the trained network (its train/eval mode is restored afterwards).
        loader: yields ``(images float (B, 3, H, W), labels int64 (B,))``.
        tta_flip: also predict the mirror image of every test image and average.
        amp: mixed precision of the forward passes, as :func:`book_utils.train.resolve_amp`
            reads it: a dtype (e.g. ``runtime_options(device)["amp"]``), ``None``/``False``
            for float32, ``True``/``"auto"`` for :func:`book_utils.train.amp_dtype` of the
            model's device. The context comes from :func:`book_utils.train.autocast`;
            log-probabilities are always computed in float32.
        channels_last: convert each batch to ``torch.channels_last``.

    Returns:
        ``{"loss": mean cross-entropy per test image (plain, without label smoothing),
        "accuracy": fraction in [0, 1], "n": images, "preds": int64 (N,), "targets": int64
        (N,), "losses": float32 (N,) loss of each image}`` (tensors on the CPU, in loader order).

    Raises:
        ValueError: if the loader yields no images.
    """
    from . import train
    device = next(model.parameters()).device
    dtype = train.resolve_amp(amp, device)
    was_training = model.training
    model.eval()
    losses, preds, targets = [], [], []
    try:
        for x, y in loader:
            x, y = x.to(device), torch.as_tensor(y).to(device)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            views = [x, x.flip(-1)] if tta_flip else [x]
            log_probs = []
            for v in views:
                with train.autocast(device, dtype):
                    logits = model(v)
                log_probs.append(F.log_softmax(logits.float(), dim=1))
            if len(log_probs) == 1:
                lp = log_probs[0]
            else:  # log of the mean probability, computed stably
                lp = torch.logsumexp(torch.stack(log_probs), dim=0) - math.log(len(log_probs))
            losses.append(F.nll_loss(lp, y, reduction="none").cpu())
            preds.append(lp.argmax(1).cpu())
            targets.append(y.cpu())
    finally:
        model.train(was_training)
    if not preds:
        raise ValueError("evaluate_model() got an empty loader: there is nothing to measure")
    preds_t, targets_t, losses_t = torch.cat(preds), torch.cat(targets), torch.cat(losses)
    n = int(targets_t.numel())
    return {"loss": float(losses_t.double().sum()) / n, "accuracy": float((preds_t == targets_t).float().mean()),
            "n": n, "preds": preds_t, "targets": targets_t, "losses": losses_t}


def per_class_accuracy(cm: torch.Tensor) -> torch.Tensor:
    """Accuracy of each true class from a confusion matrix ``cm[true, predicted]``.

    Returns:
        ``float64 (K,)``: diagonal divided by row sums (NaN for a class with no samples).
    """
    cm = torch.as_tensor(cm, dtype=torch.float64)
    if cm.dim() != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"cm must be a square (K, K) matrix, got shape {tuple(cm.shape)}")
    return cm.diagonal() / cm.sum(1)


# --------------------------------------------------------------------------- one run

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
    epochs, batch size, number of training images, seed), so a re-run of the same page
    cell finds its own checkpoint and resumes, and a run with other settings never picks up
    a wrong one. The folder is :func:`book_utils.train.checkpoint_dir`
    (``$CNN_BOOK_CHECKPOINTS``, default under the cache folder).

    Returns:
        ``train.checkpoint_path(recipe.name, profile, size=..., epochs=..., batch=...,
        train=..., seed=...)``.

    Raises:
        ValueError: for a profile other than ``quick``/``full`` or sizes that are not
            positive integers (from :func:`book_utils.train.checkpoint_path`).
    """
    from . import train
    return Path(train.checkpoint_path(recipe.name, profile, size=recipe.image_size, epochs=epochs,
                                      batch=batch_size, train=train_images, seed=seed))


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
        resume: continue from an existing checkpoint (``False``: train afresh and overwrite it).
        seed: seeds the weights and, per epoch, the order and augmentation.
        val_each_epoch: also measure test loss/accuracy after every epoch (for curves).
        eta_after: work still planned after this run, in epochs of this run; ``fit`` adds it
            to the time it predicts after the first epoch.

    Returns:
        A :class:`RunResult`.
    """
    from .profiles import active_profile
    from .train import choose_device, confusion_matrix, fit, seed_everything

    device = choose_device() if device is None else torch.device(device)
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
    history = fit(model, train_batches, optimizer, epochs, loss_fn=make_loss(recipe), device=device,
                  scheduler=scheduler, scheduler_step=step,
                  val_loader=test_batches if val_each_epoch else None, val_loss_fn=nn.CrossEntropyLoss(),
                  amp=opts["amp"], channels_last=opts["channels_last"], checkpoint=checkpoint,
                  resume=resume, progress=progress, on_epoch_end=on_epoch_end, seed=seed,
                  eta_after=eta_after)
    test = evaluate_model(model, test_batches, tta_flip=recipe.tta_flip, **opts)
    cm = confusion_matrix(test["preds"], test["targets"], len(train_data.classes))
    return RunResult(recipe, history, test, cm, model if keep_model else None,
                     train_images=train_batches.num_samples)


# --------------------------------------------------------------------------- recorded results
# Reading and writing results files lives in book_utils.results (shared with the LeNet page);
# here only what is specific to the two CIFAR-10 pages.

def plot_recorded(recorded: Dict[str, Any], title: Optional[str] = None):
    """Per-epoch curves of every recipe in a results file: training loss and test accuracy.

    Args:
        recorded: content of a results file (:func:`book_utils.results.load_recorded`).
        title: optional figure title.

    Returns:
        The ``matplotlib.figure.Figure`` (x axis: epoch; the file holds epoch means only).

    Raises:
        ValueError: if no run in the file has any epochs.
    """
    import matplotlib.pyplot as plt

    runs = {name: run["epochs"] for name, run in recorded["runs"].items() if run["epochs"]}
    if not runs:
        raise ValueError("the results file holds no per-epoch records to plot")
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.4))
    for name, epochs in runs.items():
        xs = [e["epoch"] for e in epochs]
        ax_loss.plot(xs, [e["train_loss"] for e in epochs], label=f"{name} (train)")
        if "val_acc" in epochs[0]:
            ax_acc.plot(xs, [100 * e["val_acc"] for e in epochs], label=f"{name} (test)")
        ax_acc.plot(xs, [100 * e["train_acc"] for e in epochs], "--", alpha=0.6, label=f"{name} (train)")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("training loss (epoch mean)")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy (%)")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    env = recorded.get("environment", {})
    fig.suptitle(title or f"Recorded full run on {env.get('device', '?')} ({recorded.get('data', '?')})")
    fig.tight_layout()
    return fig


def comparison_table(runs: Sequence[RunResult], recorded: Optional[Dict[str, Any]], profile: str,
                     data_label: str) -> str:
    """A text table (at most 80 columns): this run's test accuracy per recipe beside the
    recorded full run.

    Args:
        runs: this run's results.
        recorded: content of the results file (:func:`book_utils.results.load_recorded`) or
            ``None``; recorded numbers are only shown when there is one, otherwise the column
            says ``not recorded``.
        profile: the profile of ``runs``; data_label: e.g. ``"CIFAR-10 (JPEG copy)"``.

    Returns:
        The table as one string: a data line, a header, one line per run and a last line
        that names the recorded run's device (or says that none is recorded).
    """
    head = (f"{'recipe':<17}{'this run':>9}{'test imgs':>10}{'s/epoch':>9}"
            f"{'recorded':>10}{'rec. s/ep':>10}")
    lines = [f"data: {data_label}; this run: {profile} profile", head, "-" * len(head)]
    for r in runs:
        rec = (recorded or {}).get("runs", {}).get(r.recipe.name)
        rec_acc = f"{100 * rec['test_accuracy']:.2f}%" if rec else "none"
        rec_t = f"{rec['seconds_per_epoch']:.1f}" if rec else "-"
        lines.append(f"{r.recipe.name:<17}{100 * r.test['accuracy']:>8.2f}%{r.test['n']:>10,}"
                     f"{r.seconds_per_epoch:>9.1f}{rec_acc:>10}{rec_t:>10}")
    status = NOT_RECORDED if recorded is None else recorded_status(recorded)
    lines += textwrap.wrap(status, 80, break_on_hyphens=False)
    return "\n".join(lines)


def per_class_table(classes: Sequence[str], accuracies: Dict[str, torch.Tensor]) -> str:
    """Per-class test accuracy of one or more runs as a narrow text table.

    Args:
        classes: the class names (one row each).
        accuracies: column label -> ``(K,)`` accuracies in ``[0, 1]`` (e.g. from
            :func:`per_class_accuracy`), at most five columns so a line stays within 80
            characters.

    Returns:
        The table, plus a last line that counts, per column, the classes recalled above 0%.

    Raises:
        ValueError: for more than five columns or a column whose length is not ``len(classes)``.
    """
    if not 1 <= len(accuracies) <= 5:
        raise ValueError(f"accuracies needs one to five columns, got {len(accuracies)}")
    cols = {label: torch.as_tensor(acc, dtype=torch.float64) for label, acc in accuracies.items()}
    for label, acc in cols.items():
        if acc.shape != (len(classes),):
            raise ValueError(f"column {label!r} has shape {tuple(acc.shape)}, expected ({len(classes)},)")
    width = max(12, *(len(label) + 2 for label in cols))
    lines = [f"{'class':<12}" + "".join(f"{label:>{width}}" for label in cols)]
    for k, name in enumerate(classes):
        lines.append(f"{name:<12}" + "".join(f"{100 * float(acc[k]):>{width - 1}.1f}%" for acc in cols.values()))
    lines.append(f"{'above 0%':<12}" + "".join(f"{int((acc > 0).sum()):>{width - 3}} of {len(classes)}"[-width:]
                                               for acc in cols.values()))
    return "\n".join(lines)


# --------------------------------------------------------------------------- live curve

class LiveHistoryPlot:
    """An ``on_epoch_end`` callback for :func:`~book_utils.train.fit` that redraws
    :func:`book_utils.plot.plot_history` in one notebook output after every epoch.

    Outside a notebook (no IPython display) it does nothing.
    """

    def __init__(self, title: Optional[str] = None):
        self.title = title
        self._handle = None

    def __call__(self, history) -> None:
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:  # pragma: no cover - IPython is a dependency of the book
            return
        if get_ipython() is None:
            return
        import matplotlib.pyplot as plt
        from .plot import plot_history
        fig = plot_history(history, title=self.title)
        if self._handle is None:
            self._handle = display(fig, display_id=True)
        else:
            self._handle.update(fig)
        plt.close(fig)
