"""CIFAR-10 training for the AlexNet and ResNet-18 pages: ``from book_utils import cifar``.

* :class:`Recipe`, :data:`RECIPES`, :func:`get_recipe` -- the source chapter's two recipes
  and an improved one for each model, as plain settings;
* :class:`BatchTransform` -- crop, flip, normalise and resize a whole ``uint8`` batch on its
  device; :func:`sample_transform` -- the same, per image, with ``torchvision.transforms.v2``;
* :class:`DeviceBatches` -- batches cut from images kept in device memory;
* :func:`make_model`, :func:`make_optimizer`, :func:`make_scheduler`, :func:`make_loss` --
  what a recipe builds; :func:`run_recipe` -- all of it end to end, checkpointed;
* :func:`comparison_table`, :func:`per_class_table` -- the tables the pages print;
  :func:`confusion_sentence` -- a sentence that reads a confusion matrix;
* :func:`quick_plan`, :func:`plan_quick_run`, :func:`apply_plan` -- how much a quick page
  trains, sized by the measured speed of the device (or ``CNN_BOOK_SPEED``).

Evaluation is :func:`book_utils.train.evaluate` (``tta_flip=True, per_image=True`` for the
recipes' test-time augmentation); the figures of recorded runs and the live training curve
are :func:`book_utils.plot.plot_recorded` and :class:`book_utils.plot.LiveHistoryPlot`.

Modules (in import order; each imports only those above it)

==============  ============================================================================
module          what it holds
==============  ============================================================================
``_checks``     argument checks: integers, finite numbers, devices, uint8 batches, datasets
``augment``     random_crop, random_flip, BatchTransform, sample_transform, resize_cost
``recipes``     Recipe, RECIPES, get_recipe, replace_size, profile_recipe
``batches``     DeviceBatches
``factories``   make_model, make_optimizer, make_loss, runtime_options, training_speed
``schedules``   make_scheduler, schedule_trace, cosine_lr
``report``      per_class_accuracy, per_class_table, comparison_table, confusion_sentence
``runs``        RunResult, checkpoint_file, run_recipe
``plan``        QuickPlan, plan_quick_run, speed_override, quick_plan, apply_plan,
                run_time_estimate, t4_estimate_s
==============  ============================================================================
"""
from __future__ import annotations

from .augment import BatchTransform, random_crop, random_flip, resize_cost, sample_transform
from .batches import DeviceBatches
from .factories import make_loss, make_model, make_optimizer, runtime_options, training_speed
from .recipes import RECIPES, Recipe, get_recipe, profile_recipe, replace_size
from .report import (comparison_table, confusion_sentence, per_class_accuracy,
                     per_class_table)
from .runs import RunResult, checkpoint_file, run_recipe
from .schedules import cosine_lr, make_scheduler, schedule_trace
from .plan import (QuickPlan, apply_plan, plan_quick_run, quick_plan, run_time_estimate,
                   speed_override, t4_estimate_s)

__all__ = ["BatchTransform", "DeviceBatches", "QuickPlan", "RECIPES", "Recipe", "RunResult",
           "apply_plan", "plan_quick_run", "quick_plan", "run_time_estimate", "speed_override", "t4_estimate_s",
           "checkpoint_file", "comparison_table", "confusion_sentence", "cosine_lr", "get_recipe", "make_loss",
           "make_model", "make_optimizer", "make_scheduler", "per_class_accuracy",
           "per_class_table", "profile_recipe", "random_crop", "random_flip", "replace_size", "resize_cost",
           "run_recipe", "runtime_options", "sample_transform", "schedule_trace",
           "training_speed"]
