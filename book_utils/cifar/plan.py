"""How much a quick CIFAR-10 page trains: sized by the measured speed of the reader's device.

A quick page has a time budget (``budget_s`` in :mod:`book_utils.profiles`, four to seven and
a half minutes of training for all its recipes together). :func:`plan_quick_run` turns a training speed
(images per second) into the largest step of the chapter's ladder of ``(train images,
epochs)`` that fits that budget: every recipe when each can have at least the profile's
``min_passes_all`` image-passes, else only one (the profile's ``keep_when_short``) with the
whole budget. The steps are coarse (each about 1.5-2x the one below), so a
speed that wobbles by a few percent from run to run keeps the same choice on one machine.

:func:`quick_plan` is what a page calls: it takes the speed from ``CNN_BOOK_SPEED`` when set
(so anybody can see the choice a slow laptop or a GPU would get), else from a measurement,
and stores the plan in the cache folder, so that a later run on the same device (the book
build after the notebook tests in CI) trains exactly the same sizes and resumes their
checkpoints. :func:`t4_estimate_s` gives the time a Colab T4 would need for a plan, from the
model's FLOPs.

Not here: the measurement itself (:func:`.factories.training_speed`,
:func:`book_utils.timing.fastest_threads`), the ladders and budgets
(:mod:`book_utils.profiles`), the run (:mod:`.runs`).
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable, Dict, Optional, Sequence, Tuple

from ._checks import check_number

__all__ = ["SPEED_ENV", "QuickPlan", "plan_quick_run", "speed_override", "quick_plan",
           "apply_plan", "run_time_estimate", "t4_estimate_s"]

#: Environment variable: a training speed in images/s that replaces the measurement.
SPEED_ENV = "CNN_BOOK_SPEED"
#: File in the cache folder that keeps each device's plans.
PLANS_FILE = "quick_plans.json"
#: Real training (data transforms, logging, the odd slow step) runs at about this fraction
#: of the speed that ``training_speed`` measures on random tensors (measured on a 2-core CPU:
#: 0.85-0.95), so the rule plans with the lower figure.
EFFICIENCY = 0.85
#: NVIDIA T4 peak float16 tensor-core throughput, FLOP/s (NVIDIA T4 datasheet: 65 TFLOPS).
T4_PEAK_FLOPS = 65e12


@dataclass(frozen=True)
class QuickPlan:
    """The sizes one quick page trains with, and why.

    Attributes:
        chapter: ``"alexnet"`` or ``"resnet"``.
        speed: training speed the plan was sized with, images/s (> 0).
        speed_source: where the speed came from (``"measured"``, ``"from CNN_BOOK_SPEED"``,
            ``"stored, measured earlier"``).
        budget_s: training time the page allows, seconds, all recipes together.
        train_images: training images per recipe (``None``: all of them).
        epochs: passes over them per recipe.
        recipes: names of the recipes trained, in order.
        skipped: recipes left out for lack of time (the profiles keep the source recipe, so
            this is the improved one).
        test_images: test images evaluated (``None``: all of them).
    """

    chapter: str
    speed: float
    speed_source: str
    budget_s: float
    train_images: Optional[int]
    epochs: int
    recipes: Tuple[str, ...]
    skipped: Tuple[str, ...] = ()
    test_images: Optional[int] = 1000

    def passes(self, n_train: int = 50_000) -> int:
        """Image-passes per recipe (``n_train``: size of the whole training set)."""
        return (self.train_images or n_train) * self.epochs

    def training_s(self, n_train: int = 50_000) -> float:
        """Expected training time of all recipes, seconds, at :data:`EFFICIENCY` x speed."""
        return len(self.recipes) * self.passes(n_train) / (EFFICIENCY * self.speed)

    def describe(self) -> str:
        """Four lines (each under 80 columns) for the page: speed, sizes, expected time."""
        images = "all" if self.train_images is None else f"{self.train_images:,}"
        which = ("both recipes" if len(self.recipes) == 2 else
                 f"{len(self.recipes)} recipe(s)" if not self.skipped else
                 f"only {', '.join(self.recipes)} ({', '.join(self.skipped)} skipped)")
        return (f"{self.speed:,.0f} images/s ({self.speed_source})\n"
                f"-> {images} images x {self.epochs} epoch(s) per recipe\n"
                f"-> {which}\n"
                f"-> ~{self.training_s() / 60:.1f} min of training "
                f"(budget {self.budget_s / 60:g} min)")

    def to_json(self) -> Dict:
        """A JSON-ready dict (what :func:`quick_plan` stores)."""
        return {**asdict(self), "recipes": list(self.recipes), "skipped": list(self.skipped)}


def _check_ladder(ladder) -> Tuple[Tuple[Optional[int], int], ...]:
    steps = tuple(tuple(step) for step in ladder)
    if not steps or any(len(s) != 2 for s in steps):
        raise ValueError(f"ladder must be a non-empty sequence of (train_images, epochs) "
                         f"pairs, got {ladder!r}")
    for images, epochs in steps:
        if images is not None and (isinstance(images, bool) or not isinstance(images, int)
                                   or images < 10):
            raise ValueError(f"ladder train_images must be an integer >= 10 or None, "
                             f"got {images!r}")
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"ladder epochs must be a positive integer, got {epochs!r}")
    return steps


def plan_quick_run(chapter: str, speed: float, budget_s: float, ladder: Sequence,
                   recipes: Sequence[str], n_train: int = 50_000,
                   speed_source: str = "measured", keep: Optional[str] = None,
                   min_passes_all: int = 0) -> QuickPlan:
    """The rule: the largest ladder step whose training fits ``budget_s`` at ``speed``.

    Every recipe trains the same step. When no step of at least ``min_passes_all``
    image-passes fits for all recipes, only the recipe ``keep`` trains (default: the last
    one), at the largest step that fits for it alone, or at the smallest step when none does:
    one run that learns is worth more than two that barely start. A plan on all training images
    (``train_images=None`` in the ladder, which a GPU's speed reaches) tests on all test
    images; smaller plans test on 1,000.

    Args:
        chapter: the chapter key, stored in the plan.
        speed: training images per second on the device (> 0); planned at
            :data:`EFFICIENCY` times it.
        budget_s: seconds of training for all recipes together (> 0).
        ladder: ``(train_images, epochs)`` steps, smallest first (``None``: all images).
        recipes: recipe names, source first, improved last.
        n_train: size of the whole training set (for ``None`` steps).
        speed_source: words for where ``speed`` came from.
        keep: the recipe that trains when there is time for one only (one of ``recipes``).
        min_passes_all: the fewest image-passes per recipe worth training every recipe for.

    Returns:
        A :class:`QuickPlan`.

    Raises:
        TypeError: if ``speed`` or ``budget_s`` is not a number.
        ValueError: for a speed or budget that is not finite and > 0, a malformed ladder,
            no recipes, or a ladder that is not in increasing order of image-passes.
    """
    speed = check_number("speed (images/s)", speed, 0, low_open=True)
    budget_s = check_number("budget_s", budget_s, 0, low_open=True)
    steps = _check_ladder(ladder)
    recipes = tuple(recipes)
    if not recipes or not all(isinstance(r, str) for r in recipes):
        raise ValueError(f"recipes must be a non-empty sequence of recipe names, got {recipes!r}")
    keep = recipes[-1] if keep is None else keep
    if keep not in recipes:
        raise ValueError(f"keep={keep!r} is not one of the recipes {recipes}")
    passes = [(images or n_train) * epochs for images, epochs in steps]
    if passes != sorted(passes):
        raise ValueError(f"ladder steps must grow in image-passes, got {passes}")
    affordable = EFFICIENCY * speed * budget_s          # image-passes the budget buys
    chosen, trained, skipped = None, recipes, ()
    for k, p in enumerate(passes):
        if p * len(recipes) <= affordable and p >= min_passes_all:
            chosen = k
    if chosen is None and len(recipes) > 1:
        trained, skipped = (keep,), tuple(r for r in recipes if r != keep)
        chosen = max((k for k, p in enumerate(passes) if p <= affordable), default=0)
    elif chosen is None:
        chosen = 0
    images, epochs = steps[chosen]
    return QuickPlan(chapter=chapter, speed=speed, speed_source=speed_source,
                     budget_s=budget_s, train_images=images, epochs=epochs,
                     recipes=trained, skipped=skipped,
                     test_images=None if images is None else 1000)


def speed_override() -> Optional[float]:
    """The speed in ``CNN_BOOK_SPEED`` (images/s), or ``None`` when it is unset or empty.

    Raises:
        ValueError: if it holds anything but a finite number > 0 (the message names it).
    """
    value = os.environ.get(SPEED_ENV, "").strip()
    if not value:
        return None
    try:
        speed = float(value)
    except ValueError:
        speed = float("nan")
    if not (math.isfinite(speed) and speed > 0):
        raise ValueError(f"{SPEED_ENV}={value!r} is not a speed; set it to training images "
                         f"per second (e.g. {SPEED_ENV}=27 for a laptop CPU) or unset it")
    return speed


def _plans_path() -> Path:
    from ..data import cache_dir
    return cache_dir() / PLANS_FILE


def _read_plans(path: Path) -> Dict:
    try:
        plans = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return plans if isinstance(plans, dict) else {}


def quick_plan(chapter: str, device_label: str, measure: Callable[[], float],
               reuse: bool = True) -> QuickPlan:
    """The quick page's plan on this device: overridden, stored, or measured now.

    In this order: ``CNN_BOOK_SPEED`` when set (never stored); else, when ``reuse`` is true,
    the plan stored for ``chapter`` on ``device_label`` in ``<cache>/quick_plans.json``
    when its ladder, budget and recipes are still those of the profile; else ``measure()``
    is called and the plan made from its speed is stored for the next run. Pages pass
    ``reuse=resume``, so a fresh start measures again.

    Args:
        chapter: ``"alexnet"`` or ``"resnet"``.
        device_label: names the device (:func:`book_utils.train.device_name`).
        measure: returns training images per second on this device.
        reuse: use a stored plan when there is one.

    Raises:
        KeyError: for a chapter without a quick ladder; ValueError: for a bad
            ``CNN_BOOK_SPEED`` or a measured speed that is not a finite number > 0.
        TypeError: if ``measure`` is not callable.
    """
    from ..profiles import chapter_config
    config = chapter_config(chapter, "quick")
    if "ladder" not in config.extra:
        raise KeyError(f"chapter {chapter!r} has no quick ladder; chapters with one: "
                       f"'alexnet', 'resnet'")
    if not callable(measure):
        raise TypeError(f"measure must be a callable returning images/s, got "
                        f"{type(measure).__name__}")
    rule = dict(budget_s=config["budget_s"], ladder=config["ladder"],
                recipes=config["recipes"], keep=config.extra.get("keep_when_short"),
                min_passes_all=config.extra.get("min_passes_all", 0))
    override = speed_override()
    if override is not None:
        return plan_quick_run(chapter, override, speed_source=f"from {SPEED_ENV}", **rule)
    key = f"{chapter} | {device_label}"
    path = _plans_path()
    stored = _read_plans(path).get(key)
    if reuse and isinstance(stored, dict) and stored.get("rule") == json.loads(
            json.dumps(rule)):
        try:
            return plan_quick_run(chapter, stored["speed"], speed_source="stored, measured earlier",
                                  **rule)
        except (KeyError, TypeError, ValueError):
            pass                                    # a damaged entry: measure again
    speed = measure()
    plan = plan_quick_run(chapter, speed, speed_source="measured", **rule)
    plans = _read_plans(path)
    plans[key] = {"speed": plan.speed, "rule": rule, "plan": plan.to_json()}
    try:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(plans, indent=1))
        os.replace(tmp, path)
    except OSError as err:                          # a read-only cache only costs reuse
        print(f"note: could not store the plan in {path} ({err}); the next run measures again")
    return plan


def apply_plan(config, plan: QuickPlan):
    """``config`` (a quick :class:`~book_utils.profiles.RunConfig`) with the plan's sizes:
    epochs, training and test subsets, and the recipes it trains.

    Raises:
        TypeError: if ``plan`` is not a :class:`QuickPlan`; ValueError: if ``config`` is not
            the quick profile of ``plan.chapter``.
    """
    if not isinstance(plan, QuickPlan):
        raise TypeError(f"plan must be a QuickPlan from cifar.quick_plan(...), got "
                        f"{type(plan).__name__}")
    if getattr(config, "profile", None) != "quick" or config.chapter != plan.chapter:
        raise ValueError(f"a {plan.chapter!r} plan applies to chapter_config("
                         f"{plan.chapter!r}, 'quick'), got {getattr(config, 'chapter', config)!r}"
                         f" / {getattr(config, 'profile', None)!r}")
    return replace(config, epochs=plan.epochs, train_subset=plan.train_images,
                   test_subset=plan.test_images,
                   extra={**config.extra, "recipes": plan.recipes})


def run_time_estimate(speed: float, passes: int, test_images: int, runs: int = 1,
                      tta_flip: bool = True) -> Dict[str, float]:
    """Seconds a page's runs should take at ``speed``: training and testing.

    Training runs at :data:`EFFICIENCY` x ``speed``; testing costs a forward pass per image
    (about a third of a training step: forward, backward for activations and for weights),
    two with flip test-time augmentation.

    Args:
        speed: measured training images per second (> 0).
        passes: training image-passes of one run; test_images: test images of one run.
        runs: how many runs (recipes) the page trains.
        tta_flip: count two forward passes per test image.

    Returns:
        ``{"train_s": ..., "test_s": ..., "total_s": ...}`` for all runs together.

    Raises:
        TypeError / ValueError: for a speed that is not a finite number > 0, or counts that
            are negative or not integers.
    """
    from ._checks import check_int
    speed = check_number("speed (images/s)", speed, 0, low_open=True)
    passes, test_images = check_int("passes", passes, 0), check_int("test_images", test_images, 0)
    runs = check_int("runs", runs, 1)
    rate = EFFICIENCY * speed
    train_s = runs * passes / rate
    test_s = runs * test_images * (2 if tta_flip else 1) / (3 * rate)
    return {"train_s": train_s, "test_s": test_s, "total_s": train_s + test_s}


def t4_estimate_s(forward_flops: float, passes: int, utilization: float = 0.25) -> float:
    """Seconds a Colab T4 would need for ``passes`` training image-passes: an estimate.

    Training costs about 3x the forward pass (forward, and backward for activations and
    weights); the T4 is assumed to sustain ``utilization`` of its float16 tensor-core peak
    (:data:`T4_PEAK_FLOPS`).

    Args:
        forward_flops: FLOPs of one image's forward pass (e.g. from
            ``torch.utils.flop_counter.FlopCounterMode``).
        passes: training image-passes.
        utilization: fraction of peak sustained, in (0, 1].

    Raises:
        TypeError / ValueError: for arguments that are not positive finite numbers.
    """
    forward_flops = check_number("forward_flops", forward_flops, 0, low_open=True)
    passes = check_number("passes", passes, 0, low_open=True)
    utilization = check_number("utilization", utilization, 0, 1, low_open=True)
    return 3 * forward_flops * passes / (utilization * T4_PEAK_FLOPS)
