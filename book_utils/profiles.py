"""Run profiles: the one place that says how much work each chapter does.

Two profiles exist:

``quick``
    Runs every notebook on a 2-core CPU in a few minutes: real data, smaller subsets or fewer
    epochs. Accuracies are lower than a full run and the pages say so.
``full``
    The source chapter's recipe (or better), meant for a GPU.

The default profile comes from the environment variable ``CNN_BOOK_PROFILE`` (``quick`` or
``full``); when it is unset, ``full`` is chosen if CUDA is available and ``quick`` otherwise.
A page lets its reader override that default in its first code cells::

    PROFILE = profiles.active_profile()  # or "quick" / "full"
    config = profiles.chapter_config("lenet", profile=PROFILE)

(``profile=None`` means the same default as :func:`active_profile`.)
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any, Dict, Mapping, Optional

import torch

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
        # Quick: the CPU forces four changes on the recipes, named on the page: the input is
        # resized to image_size=96 instead of 227 (5.6x fewer pixels; the features before
        # the 6x6 pool are 256x1x1 instead of 256x2x2 at 128 px), a stratified
        # 10,000-image subset for 2 epochs (20,000 image-passes per recipe) with batches of
        # 48, and the improved recipe's one-cycle warm-up is 10% of its 418 steps instead of
        # 30%. Measured on an idle 2-core AMD EPYC (bf16 autocast + channels_last, fused
        # Adam/AdamW): about 145 training images/s, 141 s per recipe; with the 30% warm-up
        # the improved recipe reached 27.2% (6 of 10 classes recalled), with 10% 33.7%;
        # batches of 64 left it at 29.3%, 16,000 image-passes at 26.3%.
        "quick": dict(epochs=2, batch_size=48, train_subset=10000, test_subset=1000,
                      extra=dict(recipes=("alexnet-source", "alexnet-improved"), image_size=96,
                                 warmup=0.1, eval_batch_size=200, val_each_epoch=False)),
        # Full: the source's 25 epochs on all 50,000 / 10,000 images at the recipes' 227x227
        # (recipes in book_utils.cifar; image_size None keeps the recipe's own size).
        "full": dict(epochs=25, batch_size=128, train_subset=None, test_subset=None,
                     extra=dict(recipes=("alexnet-source", "alexnet-improved"), image_size=None,
                                eval_batch_size=500, val_each_epoch=True)),
    },
    "resnet": {
        # Quick: with bf16 autocast + channels_last an idle 2-core AVX512-BF16 CPU trains
        # ResNet-18 at ~200 images/s: per recipe 3 epochs over a stratified 10,000-image
        # subset (30,000 image-passes, ~150 s), batch 64, tested once, on 1,000 images, at the
        # end. Two epochs left the source recipe at 40.4%, 2 x 15,000 images at 52.2%,
        # 3 x 10,000 at 55.1%.
        "quick": dict(epochs=3, batch_size=64, train_subset=10000, test_subset=1000,
                      extra=dict(recipes=("resnet-source", "resnet-improved"),
                                 eval_batch_size=200, val_each_epoch=False)),
        # Full: the source's 100 epochs on all the data (recipes in book_utils.cifar).
        "full": dict(epochs=100, batch_size=128, train_subset=None, test_subset=None,
                     extra=dict(recipes=("resnet-source", "resnet-improved"),
                                eval_batch_size=500, val_each_epoch=True)),
    },
}


def active_profile() -> str:
    """Return the active profile name, ``"quick"`` or ``"full"``.

    Reads ``CNN_BOOK_PROFILE``; when unset or empty, returns ``"full"`` if
    ``torch.cuda.is_available()`` else ``"quick"``.

    Raises:
        ValueError: if ``CNN_BOOK_PROFILE`` holds anything other than ``quick`` or ``full``.
    """
    value = os.environ.get(PROFILE_ENV, "").strip().lower()
    if not value:
        return "full" if torch.cuda.is_available() else "quick"
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
            ``CNN_BOOK_PROFILE`` or the automatic choice. Pages pass their ``PROFILE`` variable.
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
