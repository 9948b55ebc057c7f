"""The CIFAR-10 training recipes of the AlexNet and ResNet-18 pages, as plain settings.

* :class:`Recipe` -- one way of training a model: input size, normalisation, augmentation,
  optimizer, schedule, loss, test-time augmentation;
* :data:`RECIPES`, :func:`get_recipe` -- the source chapter's recipe and an improved one for
  each of the two models;
* :func:`replace_size` -- a recipe with another input size; :func:`profile_recipe` -- the
  recipe with the changes a run profile makes (the quick profile's AlexNet on a CPU).

Not here: the transforms a recipe builds (:mod:`.augment`), the model, optimizer and
schedule built from it (:mod:`.factories`, :mod:`.schedules`), a run (:mod:`.runs`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Dict, Optional, Tuple

from ..data import CIFAR10_MEAN, CIFAR10_STD, IMAGENET_MEAN, IMAGENET_STD
from ._checks import check_int, check_number
from .augment import BatchTransform

__all__ = ["Recipe", "RECIPES", "check_recipe", "get_recipe", "profile_recipe", "replace_size"]


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
        warmup: one-cycle only: the fraction of the steps over which the rate rises to its
            peak (``OneCycleLR``'s ``pct_start``; 0.3 is PyTorch's default).
        label_smoothing: of the training loss (0: plain cross-entropy).
        tta_flip: test-time augmentation: average the predicted probabilities of each test
            image and its mirror image.
        lrn: AlexNet only: local response normalisation after conv1 and conv2.
        pool_size: AlexNet only: side of the average pool before the classifier (6: the
            paper's 256x6x6 inputs; 1 for inputs small enough that the last feature map is
            1x1, where a 6x6 pool would only copy values; see ``models.AlexNet``).
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
    warmup: float = 0.3
    label_smoothing: float = 0.0
    tta_flip: bool = False
    lrn: bool = True
    pool_size: int = 6

    def __post_init__(self):
        if self.model not in ("alexnet", "resnet18"):
            raise ValueError(f"model must be 'alexnet' or 'resnet18', got {self.model!r}")
        if self.optimizer not in ("adam", "adamw", "sgd"):
            raise ValueError(f"optimizer must be 'adam', 'adamw' or 'sgd', got {self.optimizer!r}")
        if self.schedule not in ("constant", "cosine", "onecycle"):
            raise ValueError(f"schedule must be 'constant', 'cosine' or 'onecycle', "
                             f"got {self.schedule!r}")
        check_int("image_size", self.image_size, 32)   # CIFAR-10 images are 32x32
        check_int("crop_padding", self.crop_padding, 0)
        check_int("pool_size", self.pool_size, 1)
        if self.reference_batch is not None:
            check_int("reference_batch", self.reference_batch, 1)
        check_number("lr", self.lr, 0.0, low_open=True)
        check_number("label_smoothing", self.label_smoothing, 0.0, 0.999999)
        check_number("warmup", self.warmup, 0.0, 1.0, low_open=True)
        if self.warmup == 1.0:
            raise ValueError("warmup must be < 1: the rate has to come down again")
        for name in ("momentum", "weight_decay", "eta_min"):
            check_number(name, getattr(self, name), 0.0)
        for name, values in (("mean", self.mean), ("std", self.std)):
            if len(values) != 3:
                raise ValueError(f"{name} needs three values (R, G, B), got {values!r}")
            for k, v in enumerate(values):
                check_number(f"{name}[{k}]", v, 0.0, low_open=name == "std")

    def lr_for(self, batch_size: Optional[int] = None) -> float:
        """The learning rate for ``batch_size``: ``lr * batch_size / reference_batch`` when the
        recipe has a reference batch size, else ``lr``.

        Raises:
            TypeError / ValueError: for a batch size that is not a positive integer.
        """
        if batch_size is None:
            return self.lr
        batch_size = check_int("batch_size", batch_size, 1)
        if self.reference_batch is None:
            return self.lr
        return self.lr * batch_size / self.reference_batch

    def summary(self) -> Dict[str, Any]:
        """The settings as a plain dict (for tables and results files); ``lrn`` and
        ``pool_size`` only for AlexNet, ``warmup`` only for the one-cycle schedule."""
        settings = asdict(self)
        if self.model != "alexnet":
            settings.pop("lrn")
            settings.pop("pool_size")
        if self.schedule != "onecycle":
            settings.pop("warmup")
        return settings

    def train_transform(self, channels_last: bool = False) -> BatchTransform:
        """The batch transform used for training (augmentation switched on)."""
        return BatchTransform(self.image_size, self.mean, self.std, self.crop_padding, self.flip,
                              channels_last=channels_last)

    def test_transform(self, channels_last: bool = False) -> BatchTransform:
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


def check_recipe(recipe) -> Recipe:
    """Return ``recipe`` if it is a :class:`Recipe`, else raise ``TypeError`` saying how to
    get one."""
    if not isinstance(recipe, Recipe):
        raise TypeError(f"recipe must be a Recipe, e.g. cifar.get_recipe('resnet-source'), got "
                        f"{type(recipe).__name__}")
    return recipe


def replace_size(recipe: Recipe, image_size: Optional[int]) -> Recipe:
    """``recipe`` with another input size (e.g. the smaller AlexNet input of the quick
    profile on a CPU); everything else, the name included, stays as it is.

    Args:
        image_size: side in pixels (``>= 32``); ``None`` or the recipe's own size returns
            ``recipe`` unchanged.

    Raises:
        TypeError: if ``recipe`` is not a :class:`Recipe` or the size is not an integer.
        ValueError: for a size below 32, or for AlexNet below
            :data:`book_utils.models.alexnet.MIN_INPUT_SIZE`.
    """
    check_recipe(recipe)
    if image_size is None or image_size == recipe.image_size:
        return recipe
    image_size = check_int("image_size", image_size, 32)
    from ..models.alexnet import MIN_INPUT_SIZE
    if recipe.model == "alexnet" and image_size < MIN_INPUT_SIZE:
        raise ValueError(f"AlexNet needs image_size >= {MIN_INPUT_SIZE}, got {image_size}")
    return replace(recipe, image_size=image_size)


def profile_recipe(recipe: Recipe, config) -> Recipe:
    """The recipe a run profile trains: ``recipe`` with the profile's input size
    (``config["image_size"]``), one-cycle warm-up (``config["warmup"]``, one-cycle recipes
    only) and AlexNet pool size (``config["pool_size"]``, AlexNet only) where the profile
    sets them; the full profiles set none and get ``recipe`` itself.

    Args:
        recipe: a :class:`Recipe`.
        config: a :class:`book_utils.profiles.RunConfig` (``chapter_config(...)``).

    Raises:
        TypeError: if ``config`` is not a ``RunConfig``; errors of :func:`replace_size` and
            of :class:`Recipe` for a bad size or warm-up.
    """
    from ..profiles import RunConfig
    if not isinstance(config, RunConfig):
        raise TypeError(f"config must be a RunConfig from profiles.chapter_config(...), got "
                        f"{type(config).__name__}")
    recipe = replace_size(recipe, config.extra.get("image_size"))
    changes = {}
    warmup = config.extra.get("warmup")
    if warmup is not None and recipe.schedule == "onecycle" and warmup != recipe.warmup:
        changes["warmup"] = warmup
    pool_size = config.extra.get("pool_size")
    if pool_size is not None and recipe.model == "alexnet" and pool_size != recipe.pool_size:
        changes["pool_size"] = pool_size
    return replace(recipe, **changes) if changes else recipe


def get_recipe(name: str) -> Recipe:
    """Look up a recipe by name.

    Raises:
        KeyError: for an unknown name (the message lists the known ones).
    """
    if not isinstance(name, str) or name not in RECIPES:
        raise KeyError(f"unknown recipe {name!r}; known recipes: {sorted(RECIPES)}")
    return RECIPES[name]

