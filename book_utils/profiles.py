"""Run profiles: the one place that says how much work each chapter does.

Two profiles exist:

``quick``
    Runs every notebook in minutes on the reader's device: real data, smaller subsets or fewer
    epochs. On the CIFAR-10 pages the sizes follow the measured training speed (a ladder of
    ``(train images, epochs)`` steps and a time budget below; the rule is
    :func:`book_utils.cifar.plan.plan_quick_run`), so a laptop CPU, a server CPU with bf16
    and a GPU each get a few minutes of work. Accuracies are lower than a full run and the
    pages say so.
``full``
    The source chapter's recipe (or better): hours on a CPU, an explicit choice.

The default profile is ``quick`` on every device, CUDA included; ``CNN_BOOK_PROFILE=full``
(or ``PROFILE = "full"`` on a page) asks for the full one.
A page lets its reader override that default in its first code cells::

    PROFILE = profiles.active_profile()  # or "quick" / "full"
    config = profiles.chapter_config("lenet", profile=PROFILE)

(``profile=None`` means the same default as :func:`active_profile`.)
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any, Dict, Mapping, Optional


PROFILE_ENV = "CNN_BOOK_PROFILE"
PROFILE_NAMES = ("quick", "full")


@dataclass(frozen=True)
class RunConfig:
    """How one chapter trains under one profile.

    Attributes:
        chapter: chapter key, e.g. ``"lenet"``.
        profile: ``"quick"`` or ``"full"``.
        epochs: number of passes over the (possibly subset) training set.
        batch_size: training mini-batch size.
        train_subset: number of training images used, or ``None`` for all of them.
        test_subset: number of test images used, or ``None`` for all of them.
        extra: chapter-specific settings (learning rate, image size, ...).
    """

    chapter: str
    profile: str
    epochs: int
    batch_size: int
    train_subset: Optional[int] = None
    test_subset: Optional[int] = None
    extra: Dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        """Look up a chapter-specific setting from :attr:`extra`."""
        return self.extra[key]

    def describe(self) -> str:
        """One line a page can print: which profile and what it means."""
        train = "all" if self.train_subset is None else f"{self.train_subset:,}"
        test = "all" if self.test_subset is None else f"{self.test_subset:,}"
        return (f"profile={self.profile} chapter={self.chapter}: epochs={self.epochs}, "
                f"batch_size={self.batch_size}, train images={train}, test images={test}"
                + (f", {self.extra}" if self.extra else ""))


# Each chapter's settings per profile. Keys of ``extra`` are read by that chapter only.
_CONFIGS: Dict[str, Dict[str, Dict[str, Any]]] = {
    "lenet": {
        # Both profiles: Adam at lr, batch 64, random crops after padding by crop_padding px,
        # the learning rate annealed to 0 along a cosine over all batches (schedule="cosine").
        # Quick: the full 60,000 training images for one epoch reach >= 97% on a CPU in ~20 s.
        "quick": dict(epochs=1, batch_size=64, train_subset=None, test_subset=None,
                      extra=dict(lr=1e-3, crop_padding=2, schedule="cosine",
                                 val_each_epoch=False)),
        # Full: the source's recipe (Adam 1e-3, batch 64, 5 epochs) trained for 10 epochs with
        # the cosine schedule, tested after every epoch (curves); goal >= 99.2% test accuracy.
        "full": dict(epochs=10, batch_size=64, train_subset=None, test_subset=None,
                     extra=dict(lr=1e-3, crop_padding=2, schedule="cosine",
                                val_each_epoch=True)),
    },
    "alexnet": {
        # Quick: the CPU forces changes on the recipes, named on the page:
        # - image_size=72 instead of 227 (10x fewer pixels). There the last feature map is
        #   1x1, so pool_size=1: the classifier takes the 256 values once instead of 36
        #   copies from a 6x6 pool (the same functions, 36.7 M fewer weights; on a 2-core
        #   float32 CPU a step is about twice as fast: 7,500 x 2 trained in 117 s, not 245 s).
        # - batches of 24. The improved recipe's one-cycle warm-up stays at its own 30% of the
        #   steps (`warmup` below), which beat 10% on validation at this size.
        # All were chosen on validation splits of the training images, never on the test set:
        # - scripts/choose_warmup.py (record: results/alexnet_warmup_val.json; 15,000 x 2,
        #   2,000 held-out images, 2-core float32 CPU): improved with warm-up 30% 37.4%,
        #   10% 34.4%; source 36.1%. So 30% stays, and a page with time for one recipe keeps
        #   the improved one. (At 7,500 x 2 with a 6x6 pool the same script had found 10%
        #   28.2% vs 30% 26.1%, source 24.6%.)
        # - trials on that split, improved recipe, 7,500 x 2, 6x6 pool (2-core float32 CPU):
        #   lr 5e-4 28.2% (the recipe's), 2e-4 23.8%, 1e-3 21.9%; dropout 0.2 instead of 0.5
        #   21.0%; no augmentation 26.8%; no LRN 23.6%; 1x1 pool 25.5% in half the time.
        #   The spread between seeds is as large as these gaps (source recipe, 7,500 x 2:
        #   24.6% and 31.1% on two splits), so only the pool's speed-up is a clear gain:
        #   with it the same time trains 15,000 x 2, 34-36% (two inits).
        # - earlier, source recipe, 1,000 held-out images, 5,000 x 2 at 72 px: batch 16 21.0%,
        #   24 25.1%, 48 20.6%; 3,500 x 3 at batch 24 21.0%; 6,000 x 2 24.1%.
        # How many images and epochs: the largest step of `ladder` whose training fits
        # `budget_s` seconds for all recipes at the measured speed (cifar.plan); both recipes
        # train only when each gets at least `min_passes_all` image-passes (15,000 x 2), else
        # only `keep_when_short` trains, with the whole budget (its step-by-step section
        # then trains that recipe).
        # The budget is 7.5 min, not ResNet's 4: AlexNet needs about 30,000 image-passes to
        # learn (about 25% at 7,500 x 2, 34% and more at 15,000 x 2 on the split above). A
        # 2-core float32 CPU trains the quick AlexNet at about 100 images/s, but the page's
        # short probe measured 83-125 there, and 30,000 passes need 78 at this budget (0.85 x
        # speed x budget). The page then trains ~5 min (30,000 / 100) and runs ~6 min.
        # epochs/train_subset below are only the fallback of a page that applies no plan.
        "quick": dict(epochs=2, batch_size=24, train_subset=7500, test_subset=1000,
                      extra=dict(recipes=("alexnet-source", "alexnet-improved"), image_size=72,
                                 pool_size=1, warmup=0.3, eval_batch_size=200,
                                 val_each_epoch=False, budget_s=450.0, min_passes_all=30000,
                                 keep_when_short="alexnet-improved",
                                 ladder=((2500, 2), (3500, 2), (5000, 2), (6000, 2),
                                         (7500, 2), (10000, 2), (15000, 2), (25000, 2),
                                         (None, 2), (None, 3), (None, 5)))),
        # Full: the source's 25 epochs on all 50,000 / 10,000 images at the recipes' 227x227
        # (recipes in book_utils.cifar; image_size None keeps the recipe's own size).
        "full": dict(epochs=25, batch_size=128, train_subset=None, test_subset=None,
                     extra=dict(recipes=("alexnet-source", "alexnet-improved"), image_size=None,
                                eval_batch_size=500, val_each_epoch=True)),
    },
    "resnet": {
        # Quick: batch 64, tested once, on 1,000 images, at the end; images and epochs from
        # `ladder` and `budget_s` at the measured speed, as for AlexNet. Measured on 2-core
        # CPUs: ~190 training images/s with bf16 autocast + channels_last (AVX512-BF16),
        # 26 in float32 without it.
        "quick": dict(epochs=3, batch_size=64, train_subset=10000, test_subset=1000,
                      extra=dict(recipes=("resnet-source", "resnet-improved"),
                                 eval_batch_size=200, val_each_epoch=False,
                                 budget_s=240.0, min_passes_all=5000,
                                 keep_when_short="resnet-source",
                                 ladder=((2000, 2), (2500, 2), (3500, 2), (5000, 2),
                                         (7500, 2), (7500, 3), (10000, 3), (20000, 3),
                                         (None, 2), (None, 3), (None, 5)))),
        # Full: the source's 100 epochs on all the data (recipes in book_utils.cifar).
        "full": dict(epochs=100, batch_size=128, train_subset=None, test_subset=None,
                     extra=dict(recipes=("resnet-source", "resnet-improved"),
                                eval_batch_size=500, val_each_epoch=True)),
    },
}


def active_profile() -> str:
    """Return the active profile name, ``"quick"`` or ``"full"``.

    Reads ``CNN_BOOK_PROFILE``; when unset or empty, returns ``"quick"`` on every device
    (``full`` takes hours on a CPU and one to two hours even on a GPU: an explicit choice).

    Raises:
        ValueError: if ``CNN_BOOK_PROFILE`` holds anything other than ``quick`` or ``full``.
    """
    value = os.environ.get(PROFILE_ENV, "").strip().lower()
    if not value:
        return "quick"
    if value not in PROFILE_NAMES:
        raise ValueError(
            f"{PROFILE_ENV}={os.environ[PROFILE_ENV]!r} is not a known profile; "
            f"set it to one of {PROFILE_NAMES} or unset it to choose automatically.")
    return value


def chapter_config(chapter: str, profile: Optional[str] = None, **overrides: Any) -> RunConfig:
    """Return the :class:`RunConfig` of ``chapter`` under ``profile``.

    Args:
        chapter: one of the keys of the profile table (``"lenet"``, ``"alexnet"``, ``"resnet"``).
        profile: ``"quick"`` or ``"full"``; ``None`` (default): :func:`active_profile`, i.e.
            ``CNN_BOOK_PROFILE`` or ``quick``. Pages pass their ``PROFILE`` variable.
        **overrides: fields of :class:`RunConfig` to replace (e.g. ``epochs=2``), for experiments;
            ``extra={...}`` updates the chapter settings key by key.

    Raises:
        KeyError: for an unknown chapter (the message lists the known ones).
        ValueError: for an unknown profile, an unknown field, or a size that is not a
            positive integer.
        TypeError: if ``extra`` is not a mapping (dict) of chapter settings.
    """
    if chapter not in _CONFIGS:
        raise KeyError(f"unknown chapter {chapter!r}; known chapters: {sorted(_CONFIGS)}")
    profile = active_profile() if profile is None else profile
    if profile not in PROFILE_NAMES:
        raise ValueError(f"unknown profile {profile!r}; use one of {PROFILE_NAMES}")
    settings = dict(_CONFIGS[chapter][profile])
    settings["extra"] = dict(settings.get("extra", {}))
    config = RunConfig(chapter=chapter, profile=profile, **settings)
    if not overrides:
        return config
    fields = {"epochs", "batch_size", "train_subset", "test_subset", "extra"}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(f"cannot override {unknown}; RunConfig fields are {sorted(fields)} "
                         f"(chapter settings such as lr go in extra={{...}})")
    for name in ("epochs", "batch_size", "train_subset", "test_subset"):
        if name in overrides:
            value = overrides[name]
            optional = name.endswith("subset")
            if not (optional and value is None) and (isinstance(value, bool) or not isinstance(value, int)
                                                     or value < (0 if name == "epochs" else 1)):
                kind = "an integer >= 0" if name == "epochs" else "a positive integer"
                raise ValueError(f"{name} must be {kind}{' or None' if optional else ''}, got {value!r}")
    if "extra" in overrides:
        if not isinstance(overrides["extra"], Mapping):
            raise TypeError(f"extra must be a dict of chapter settings, e.g. extra={{'lr': 1e-3}}, "
                            f"got {type(overrides['extra']).__name__}")
        overrides = dict(overrides, extra={**config.extra, **dict(overrides["extra"])})
    return replace(config, **overrides)


def known_chapters() -> tuple:
    """Names of the chapters that have profile settings."""
    return tuple(sorted(_CONFIGS))
