"""Text reports of CIFAR-10 runs: per-class accuracy and the tables the pages print.

* :func:`per_class_accuracy` -- each class's accuracy from a confusion matrix;
* :func:`per_class_table` -- those accuracies for up to five runs, one row per class;
* :func:`comparison_table` -- this run's accuracy per recipe beside the recorded full run;
* :func:`confusion_sentence` -- one sentence that reads a confusion matrix for the page.

Not here: the figures of the same numbers (:mod:`book_utils.plot`), reading and writing
results files (:mod:`book_utils.results`), the runs themselves (:mod:`.runs`).
"""
from __future__ import annotations

import textwrap
from typing import Any, Dict, Optional, Sequence

import torch

from ..results import NOT_RECORDED, recorded_status

__all__ = ["per_class_accuracy", "per_class_table", "comparison_table",
           "confusion_sentence"]


def per_class_accuracy(cm) -> torch.Tensor:
    """Accuracy of each true class from a confusion matrix ``cm[true, predicted]``.

    Args:
        cm: ``(K, K)`` counts (a tensor, array or nested list of non-negative integers),
            e.g. from :func:`book_utils.train.confusion_matrix`.

    Returns:
        ``float64 (K,)``: diagonal divided by row sums (NaN for a class with no samples).

    Raises:
        TypeError: for a matrix that is not numeric; ValueError: for one that is not square
            or holds negative, fractional, NaN or infinite counts.
    """
    try:
        cm = torch.as_tensor(cm, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"cm must be a (K, K) matrix of counts, got {type(cm).__name__}") from None
    if cm.dim() != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] == 0:
        raise ValueError(f"cm must be a square (K, K) matrix with K >= 1, got shape "
                         f"{tuple(cm.shape)}")
    if not bool(torch.isfinite(cm).all()) or bool((cm < 0).any()) \
            or bool((cm != cm.round()).any()):
        raise ValueError("cm must hold counts (non-negative whole numbers); pass "
                         "train.confusion_matrix(preds, targets, K), not a normalised matrix")
    return cm.diagonal() / cm.sum(1)


def comparison_table(runs: Sequence[Any], recorded: Optional[Dict[str, Any]], profile: str,
                     data_label: str) -> str:
    """A text table (at most 80 columns): this run's test accuracy per recipe beside the
    recorded full run.

    Args:
        runs: this run's results (:class:`~book_utils.cifar.RunResult`).
        recorded: content of the results file (:func:`book_utils.results.load_recorded`) or
            ``None``; recorded numbers are only shown when there is one, otherwise the column
            says ``not recorded``.
        profile: the profile of ``runs``; data_label: e.g. ``"CIFAR-10 (JPEG copy)"``.

    Returns:
        The table as one string: a data line, a header, one line per run and a last line
        that names the recorded run's device (or says that none is recorded).

    Raises:
        TypeError: if ``runs`` is not a sequence of run results, ``recorded`` not a dict or
            ``None``, or ``profile``/``data_label`` not strings.
    """
    if isinstance(runs, (str, bytes)) or not isinstance(runs, Sequence) or not all(
            hasattr(r, "recipe") and hasattr(r, "test") for r in runs):
        raise TypeError("runs must be a list of RunResult objects (from run_recipe)")
    if recorded is not None and not isinstance(recorded, dict):
        raise TypeError(f"recorded must be a results dict (results.load_recorded) or None, got "
                        f"{type(recorded).__name__}")
    for name, value in (("profile", profile), ("data_label", data_label)):
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a string, got {type(value).__name__}")
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
        TypeError: if ``classes`` is not a sequence of strings or ``accuracies`` not a dict.
        ValueError: for more than five columns or a column whose length is not ``len(classes)``.
    """
    if isinstance(classes, (str, bytes)) or not isinstance(classes, Sequence) \
            or not all(isinstance(c, str) for c in classes):
        raise TypeError("classes must be a sequence of class names (strings), e.g. "
                        "train_set.classes")
    if not isinstance(accuracies, dict):
        raise TypeError(f"accuracies must be a dict label -> (K,) accuracies, got "
                        f"{type(accuracies).__name__}")
    if not 1 <= len(accuracies) <= 5:
        raise ValueError(f"accuracies needs one to five columns, got {len(accuracies)}")
    cols = {label: torch.as_tensor(acc, dtype=torch.float64) for label, acc in accuracies.items()}
    for label, acc in cols.items():
        if acc.shape != (len(classes),):
            raise ValueError(f"column {label!r} has shape {tuple(acc.shape)}, expected "
                             f"({len(classes)},)")
        known = acc[~torch.isnan(acc)]
        if bool(((known < 0) | (known > 1)).any()):
            raise ValueError(f"column {label!r} must hold fractions in [0, 1] (NaN: no "
                             f"samples), got {float(known.min()):g}..{float(known.max()):g}; "
                             f"pass per_class_accuracy(cm), not percentages")
    width = max(12, *(len(label) + 2 for label in cols))
    lines = [f"{'class':<12}" + "".join(f"{label:>{width}}" for label in cols)]
    for k, name in enumerate(classes):
        lines.append(f"{name:<12}" + "".join(f"{100 * float(acc[k]):>{width - 1}.1f}%" for acc in cols.values()))
    lines.append(f"{'above 0%':<12}" + "".join(f"{int((acc > 0).sum()):>{width - 3}} of {len(classes)}"[-width:]
                                               for acc in cols.values()))
    return "\n".join(lines)


def confusion_sentence(cm: torch.Tensor, classes: Sequence[str]) -> str:
    """One sentence (Simplified Chinese) that reads a confusion matrix for the page.

    Names the most frequent confusion (true class -> predicted class, its count and its
    share of that class's images), the best and worst recalled classes, and the classes the
    model never predicts (or says that every class is predicted at least once).

    Args:
        cm: integer tensor ``(K, K)``; ``cm[i, j]`` = images of class ``i`` predicted ``j``
            (:func:`book_utils.train.confusion_matrix`).
        classes: the ``K`` class names.

    Returns:
        The sentence, ending with "。"; shares are whole percentages.

    Raises:
        TypeError: if ``cm`` is not an integer tensor.
        ValueError: if ``cm`` is not square, does not match ``classes``, or is empty.
    """
    if (not isinstance(cm, torch.Tensor) or cm.dtype.is_floating_point
            or cm.dtype.is_complex or cm.dtype == torch.bool):
        raise TypeError("cm must be an integer tensor (K, K) from train.confusion_matrix, "
                        f"got {getattr(cm, 'dtype', type(cm).__name__)}")
    if cm.dim() != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] != len(classes):
        raise ValueError(f"cm must be ({len(classes)}, {len(classes)}) for {len(classes)} "
                         f"classes, got {tuple(cm.shape)}")
    rows = cm.sum(dim=1)
    if int(rows.sum()) == 0:
        raise ValueError("cm counts no image: evaluate on at least one image")
    off = cm.clone()
    off.fill_diagonal_(0)
    i, j = divmod(int(off.argmax()), cm.shape[0])
    recall = cm.diag().double() / rows.clamp(min=1).double()
    best, worst = int(recall.argmax()), int(recall.argmin())
    parts = []
    if int(off[i, j]) > 0:
        parts.append(f"最常见的错误是把{classes[i]}认成{classes[j]}（{int(off[i, j])} 张，"
                     f"占{classes[i]}的 {100 * int(off[i, j]) / max(int(rows[i]), 1):.0f}%）")
    else:
        parts.append("没有一张图被认错")
    parts.append(f"认得最准的是{classes[best]}（{100 * recall[best]:.0f}%），"
                 f"最差的是{classes[worst]}（{100 * recall[worst]:.0f}%）")
    never = [classes[k] for k in range(cm.shape[0]) if int(cm[:, k].sum()) == 0]
    parts.append(f"模型从来没有预测过{'、'.join(never)}" if never
                 else "每个类别都至少被预测过一次")
    return "；".join(parts) + "。"
