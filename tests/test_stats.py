"""book_utils.stats: McNemar's exact test against hand-computed values, an independent
binomial computation (and SciPy where installed), the counts of two "correct" tensors,
the verdict sentence, and the errors for bad input."""
import math
import random

import pytest
import torch

from book_utils import stats
from book_utils.stats import (PairedTest, mcnemar_exact, mcnemar_p_value, paired_correct,
                              paired_verdict)


def _two_sided_by_pmf(k: int, n: int) -> float:
    """SciPy's definition, computed independently: the total probability of every outcome
    of Binomial(n, 1/2) no more likely than the observed one (via lgamma, in floats)."""
    def logpmf(i):
        return (math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
                - n * math.log(2))
    ref = logpmf(k)
    return min(1.0, sum(math.exp(logpmf(i)) for i in range(n + 1)
                        if logpmf(i) <= ref + 1e-9))


@pytest.mark.parametrize("b, c, expected", [
    (0, 0, 1.0),                        # no discordant image: nothing to tell them apart
    (1, 0, 1.0),                        # one coin flip: 2 * 1/2
    (0, 5, 2 / 32),                     # 2 * C(5,0) / 2^5
    (0, 6, 2 / 64),
    (2, 10, 2 * (1 + 12 + 66) / 4096),  # 2 * (C(12,0)+C(12,1)+C(12,2)) / 2^12
    (7, 7, 1.0),                        # equal split
    (3, 4, 1.0),                        # 2 * P(X <= 3) for n = 7 is exactly 1
])
def test_p_value_by_hand(b, c, expected):
    assert mcnemar_p_value(b, c) == pytest.approx(expected, rel=1e-12)
    assert mcnemar_p_value(c, b) == pytest.approx(expected, rel=1e-12)


def test_p_value_matches_the_binomial_definition():
    rng = random.Random(0)
    for _ in range(40):
        b, c = rng.randint(0, 120), rng.randint(0, 120)
        assert mcnemar_p_value(b, c) == pytest.approx(_two_sided_by_pmf(min(b, c), b + c),
                                                      rel=1e-9, abs=1e-300)


def test_p_value_matches_scipy_where_installed():
    scipy_stats = pytest.importorskip("scipy.stats")
    for b, c in [(0, 3), (5, 17), (40, 58), (120, 90), (13, 13)]:
        expected = scipy_stats.binomtest(min(b, c), b + c, 0.5).pvalue
        assert mcnemar_p_value(b, c) == pytest.approx(expected, rel=1e-9)


def test_large_counts_agree_with_the_normal_approximation():
    # b + c = 900, |b - c| = 100: continuity-corrected chi-square p = erfc(sqrt(chi2 / 2))
    b, c = 400, 500
    chi2 = (abs(b - c) - 1) ** 2 / (b + c)
    approx = math.erfc(math.sqrt(chi2 / 2))
    exact = mcnemar_p_value(b, c)
    assert 0 < exact < 0.01
    assert exact == pytest.approx(approx, rel=0.15)
    # a huge n does not overflow: the exact integers are divided once
    assert 0 <= mcnemar_p_value(20_000, 21_000) < 1e-5


def test_p_value_shrinks_as_the_split_gets_lopsided():
    ps = [mcnemar_p_value(b, 40 - b) for b in range(0, 21)]
    assert all(x < y for x, y in zip(ps, ps[1:]))
    assert ps[-1] == 1.0


def test_counts_from_two_correct_tensors():
    # 3 both right, 2 only A, 5 only B, 4 both wrong
    a = torch.tensor([1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0], dtype=torch.bool)
    b = torch.tensor([1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0], dtype=torch.bool)
    t = mcnemar_exact(a, b)
    assert (t.n, t.both_right, t.b, t.c, t.both_wrong) == (14, 3, 2, 5, 4)
    assert t.p_value == pytest.approx(mcnemar_p_value(2, 5))
    assert t.accuracy_a == pytest.approx(a.float().mean().item())
    assert t.accuracy_b == pytest.approx(b.float().mean().item())
    assert t.difference == pytest.approx(t.accuracy_b - t.accuracy_a)
    swapped = mcnemar_exact(b, a)
    assert (swapped.b, swapped.c, swapped.p_value) == (t.c, t.b, t.p_value)


def test_random_tensors_counts_add_up():
    g = torch.Generator().manual_seed(0)
    a = torch.rand(1000, generator=g) < 0.6
    b = torch.rand(1000, generator=g) < 0.7
    t = mcnemar_exact(a, b)
    assert t.both_right + t.b + t.c + t.both_wrong == 1000
    assert t.b == int((a & ~b).sum()) and t.c == int((b & ~a).sum())


def test_paired_correct_from_evaluate_results():
    targets = torch.tensor([0, 1, 2, 3, 4])
    ra = {"preds": torch.tensor([0, 1, 0, 3, 0]), "targets": targets}
    rb = {"preds": torch.tensor([0, 0, 2, 3, 4]), "targets": targets.clone()}
    ca, cb = paired_correct(ra, rb)
    assert ca.tolist() == [True, True, False, True, False]
    assert cb.tolist() == [True, False, True, True, True]
    t = mcnemar_exact(ca, cb)
    assert (t.b, t.c) == (1, 2)


def test_paired_correct_refuses_different_images():
    ra = {"preds": torch.tensor([0, 1]), "targets": torch.tensor([0, 1])}
    rb = {"preds": torch.tensor([0, 1]), "targets": torch.tensor([1, 0])}
    with pytest.raises(ValueError, match="same images"):
        paired_correct(ra, rb)
    with pytest.raises(KeyError, match="per_image=True"):
        paired_correct({"accuracy": 0.5}, rb)
    with pytest.raises(ValueError, match="same images"):
        paired_correct(ra, {"preds": torch.tensor([0]), "targets": torch.tensor([0])})


@pytest.mark.parametrize("a, b, error, match", [
    (torch.ones(3, dtype=torch.bool), torch.ones(4, dtype=torch.bool), ValueError, "same images"),
    (torch.ones(3, dtype=torch.int64), torch.ones(3, dtype=torch.bool), TypeError, "torch.bool"),
    ([True, False], torch.ones(2, dtype=torch.bool), TypeError, "preds == targets"),
    (torch.ones(0, dtype=torch.bool), torch.ones(0, dtype=torch.bool), ValueError, "empty"),
    (torch.ones(2, 2, dtype=torch.bool), torch.ones(2, 2, dtype=torch.bool), ValueError, "1-D"),
])
def test_bad_tensors_get_clear_errors(a, b, error, match):
    with pytest.raises(error, match=match):
        mcnemar_exact(a, b)


@pytest.mark.parametrize("b, c, error", [(-1, 3, ValueError), (2.0, 3, TypeError),
                                         (True, 3, TypeError), (torch.tensor(2), 3, TypeError)])
def test_bad_counts_get_clear_errors(b, c, error):
    with pytest.raises(error):
        mcnemar_p_value(b, c)


def _test(b, c, both_right=50, both_wrong=20):
    n = both_right + b + c + both_wrong
    return PairedTest(n, both_right, b, c, both_wrong, mcnemar_p_value(b, c))


def test_verdict_states_its_numbers_and_follows_the_p_value():
    clear = _test(5, 25)                       # p = 2 * P(X <= 5), n = 30: about 3e-4
    assert clear.p_value < 0.05
    text = paired_verdict(clear, ("source", "improved"))
    assert "5 张" in text and "25 张" in text and "小于 0.001" in text
    assert "improved在这类图像上比source更准" in text
    assert f"{100 * clear.difference:.1f}" in text

    noisy = _test(20, 28)
    assert noisy.p_value >= 0.05
    text = paired_verdict(noisy, ("source", "improved"))
    assert f"{noisy.p_value:.3f}" in text and "不足以说明improved更好" in text

    # the same counts flip with the threshold
    assert "不足以" in paired_verdict(_test(10, 22), alpha=0.01)
    assert "更准" in paired_verdict(_test(10, 22), alpha=0.1)
    assert "准确率相同" in paired_verdict(_test(9, 9))


@pytest.mark.parametrize("kwargs, error", [
    (dict(names=("a",)), ValueError), (dict(names="ab"), ValueError),
    (dict(names=("a", "")), ValueError), (dict(alpha=0), ValueError),
    (dict(alpha=1.5), ValueError), (dict(alpha=True), ValueError)])
def test_verdict_bad_arguments(kwargs, error):
    with pytest.raises(error):
        paired_verdict(_test(1, 2), **kwargs)
    with pytest.raises(TypeError):
        paired_verdict({"b": 1, "c": 2})


def test_module_says_what_it_does_not_hold():
    assert "Not here" in stats.__doc__
    assert set(stats.__all__) == {"PairedTest", "mcnemar_exact", "mcnemar_p_value",
                                  "paired_correct", "paired_verdict"}
