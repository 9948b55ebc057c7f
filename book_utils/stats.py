"""Is one recipe really better than another? A paired test on the same test images.

Two models tested on the same ``N`` images are compared image by image: only the images that
one model gets right and the other wrong tell them apart. McNemar's test (McNemar, 1947;
recommended for comparing classifiers by Dietterich, 1998) asks how likely so lopsided a
split of those discordant images would be if both models were equally accurate; under that
hypothesis each discordant image is a fair coin flip, so the exact test is a binomial test
with probability 1/2, computed here with :func:`math.comb` (no SciPy needed).

* :func:`mcnemar_p_value` -- the two-sided exact p-value from the two discordant counts;
* :func:`mcnemar_exact` -- the counts and the p-value from two boolean "correct" tensors;
* :func:`paired_correct` -- those two tensors from two ``evaluate(..., per_image=True)``
  results, after checking that both saw the same images in the same order;
* :func:`paired_verdict` -- the Chinese sentence a page shows, written from those numbers.

Not here: accuracy, confusion matrices and per-image predictions
(:mod:`book_utils.train.evaluation`), per-class tables (:mod:`book_utils.cifar.report`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence, Tuple

import torch

__all__ = ["PairedTest", "mcnemar_exact", "mcnemar_p_value", "paired_correct",
           "paired_verdict"]


@dataclass(frozen=True)
class PairedTest:
    """Outcome of :func:`mcnemar_exact` on ``n`` images seen by models A and B.

    Attributes:
        n: number of images.
        both_right: images both models classify correctly.
        b: images A gets right and B gets wrong.
        c: images A gets wrong and B gets right.
        both_wrong: images both models get wrong.
        p_value: two-sided exact McNemar p-value (:func:`mcnemar_p_value` of ``b, c``).
    """

    n: int
    both_right: int
    b: int
    c: int
    both_wrong: int
    p_value: float

    @property
    def accuracy_a(self) -> float:
        """Accuracy of A, a fraction in [0, 1]."""
        return (self.both_right + self.b) / self.n

    @property
    def accuracy_b(self) -> float:
        """Accuracy of B, a fraction in [0, 1]."""
        return (self.both_right + self.c) / self.n

    @property
    def difference(self) -> float:
        """Accuracy of B minus accuracy of A, a fraction: ``(c - b) / n``."""
        return (self.c - self.b) / self.n


def _check_count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int (a number of images), got "
                        f"{type(value).__name__} {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0 (a number of images), got {value}")
    return value


def mcnemar_p_value(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts ``b`` and ``c``.

    With ``n = b + c`` discordant images and equally accurate models, the number that
    favour one model is Binomial(n, 1/2). The p-value is twice the probability of a split
    at least as lopsided as ``min(b, c)`` (capped at 1):
    ``min(1, 2 * sum_{i <= min(b, c)} C(n, i) / 2**n)``; ``1.0`` when ``n = 0``. For the
    symmetric binomial this equals SciPy's ``binomtest(min(b, c), n, 0.5).pvalue``.
    Exact integer arithmetic (binomial coefficients as Python ints), so a large ``n`` loses
    no precision.

    Args:
        b: images model A gets right and B gets wrong (int >= 0).
        c: images model A gets wrong and B gets right (int >= 0).

    Returns:
        A float in (0, 1].

    Raises:
        TypeError: if ``b`` or ``c`` is not an int (e.g. a tensor: use ``int(...)``).
        ValueError: if ``b`` or ``c`` is negative.
    """
    b, c = _check_count("b", b), _check_count("c", c)
    n = b + c
    if n == 0:
        return 1.0
    term = tail = math.comb(n, 0)
    for i in range(min(b, c)):           # C(n, i + 1) from C(n, i), exactly
        term = term * (n - i) // (i + 1)
        tail += term
    return min(1.0, 2 * tail / 2 ** n)


def _check_correct(name: str, value: Any) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a bool torch.Tensor of shape (N,), got "
                        f"{type(value).__name__}; build it as preds == targets")
    if value.dtype != torch.bool:
        raise TypeError(f"{name} must have dtype torch.bool (True = image classified "
                        f"correctly), got {value.dtype}; build it as preds == targets")
    if value.dim() != 1:
        raise ValueError(f"{name} must be 1-D (one entry per image), got shape "
                         f"{tuple(value.shape)}")
    return value


def mcnemar_exact(correct_a: torch.Tensor, correct_b: torch.Tensor) -> PairedTest:
    """McNemar's exact test for two models tested on the same images.

    Args:
        correct_a: ``torch.bool`` tensor ``(N,)``: ``True`` where model A is right.
        correct_b: ``torch.bool`` tensor ``(N,)``, the same images in the same order, for B.

    Returns:
        A :class:`PairedTest` with the four counts and the two-sided p-value.

    Raises:
        TypeError: if either input is not a bool tensor.
        ValueError: if either is not 1-D, they differ in length, or they are empty.
    """
    a = _check_correct("correct_a", correct_a)
    b = _check_correct("correct_b", correct_b)
    if a.shape != b.shape:
        raise ValueError(f"correct_a and correct_b must hold the same images: got "
                         f"{a.numel()} and {b.numel()} entries")
    if a.numel() == 0:
        raise ValueError("correct_a and correct_b are empty: test on at least one image")
    a, b = a.cpu(), b.cpu()
    only_a = int((a & ~b).sum())
    only_b = int((~a & b).sum())
    both_right = int((a & b).sum())
    n = a.numel()
    return PairedTest(n=n, both_right=both_right, b=only_a, c=only_b,
                      both_wrong=n - both_right - only_a - only_b,
                      p_value=mcnemar_p_value(only_a, only_b))


def paired_correct(result_a: Mapping[str, Any], result_b: Mapping[str, Any]
                   ) -> Tuple[torch.Tensor, torch.Tensor]:
    """The two "correct" tensors of two ``evaluate(..., per_image=True)`` results.

    Args:
        result_a, result_b: dicts with ``"preds"`` and ``"targets"`` int64 tensors ``(N,)``
            (what :func:`book_utils.train.evaluate` returns with ``per_image=True``).

    Returns:
        ``(preds_a == targets, preds_b == targets)``, two bool tensors ``(N,)``.

    Raises:
        KeyError: if a result has no ``"preds"``/``"targets"`` (evaluate without
            ``per_image=True``).
        ValueError: if the two results' targets differ (not the same images in the same
            order) or their shapes disagree.
    """
    for name, res in (("result_a", result_a), ("result_b", result_b)):
        if not isinstance(res, Mapping) or "preds" not in res or "targets" not in res:
            raise KeyError(f"{name} has no 'preds'/'targets': evaluate the model with "
                           f"evaluate(..., per_image=True)")
        if res["preds"].shape != res["targets"].shape:
            raise ValueError(f"{name}: preds {tuple(res['preds'].shape)} and targets "
                             f"{tuple(res['targets'].shape)} differ in shape")
    ta, tb = result_a["targets"].cpu(), result_b["targets"].cpu()
    if ta.shape != tb.shape or not torch.equal(ta, tb):
        raise ValueError("the two results were not tested on the same images in the same "
                         "order (their targets differ); a paired test needs both models "
                         "evaluated on one shuffle=False loader")
    return (result_a["preds"].cpu() == ta), (result_b["preds"].cpu() == tb)


def _p_text(p: float) -> str:
    return "小于 0.001" if p < 0.001 else f"为 {p:.3f}"


def paired_verdict(test: PairedTest, names: Sequence[str] = ("A", "B"),
                   alpha: float = 0.05) -> str:
    """The sentence (Simplified Chinese) a page shows for a :class:`PairedTest`.

    Every number in it comes from ``test``: the discordant counts, the p-value, and the
    threshold ``alpha``; the conclusion follows from ``p_value < alpha``.

    Args:
        test: the result of :func:`mcnemar_exact`.
        names: how to call model A and model B in the sentence.
        alpha: the significance threshold, 0 < alpha < 1.

    Raises:
        TypeError: if ``test`` is not a :class:`PairedTest`.
        ValueError: if ``names`` is not two non-empty strings or ``alpha`` is not in (0, 1).
    """
    if not isinstance(test, PairedTest):
        raise TypeError(f"test must be the PairedTest of mcnemar_exact, got "
                        f"{type(test).__name__}")
    if (isinstance(names, str) or len(names) != 2
            or not all(isinstance(s, str) and s for s in names)):
        raise ValueError(f"names must be two non-empty strings (A, B), got {names!r}")
    if (isinstance(alpha, bool) or not isinstance(alpha, (int, float))
            or not 0 < alpha < 1):
        raise ValueError(f"alpha must be a number between 0 and 1, got {alpha!r}")
    name_a, name_b = names
    counts = (f"在同样的 {test.n:,} 张图像上，只有{name_a}认对的有 {test.b:,} 张，"
              f"只有{name_b}认对的有 {test.c:,} 张")
    test_text = f"McNemar 精确检验的双侧 p 值{_p_text(test.p_value)}"
    if test.b == test.c:
        return (f"{counts}，两者一样多：在这些图像上两个模型的准确率相同"
                f"（{test_text}）。")
    better, worse = (name_b, name_a) if test.c > test.b else (name_a, name_b)
    points = 100 * abs(test.difference)
    if test.p_value < alpha:
        return (f"{counts}；{test_text}，小于 {alpha:g}。如果两个模型其实一样准，"
                f"这么一边倒的分法很少出现，所以可以认为{better}在这类图像上"
                f"比{worse}更准（高 {points:.1f} 个百分点）。")
    return (f"{counts}；{test_text}，不小于 {alpha:g}。两个一样准的模型在这么多张"
            f"图像上也常常分出这样的差别，所以 {points:.1f} 个百分点的差距"
            f"不足以说明{better}更好。")
