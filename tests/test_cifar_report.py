"""cifar.confusion_sentence: the sentence the pages print under a confusion matrix."""
import pytest
import torch

from book_utils.cifar import confusion_sentence, per_class_accuracy


def test_reads_the_numbers():
    cm = torch.tensor([[8, 2, 0], [5, 5, 0], [1, 0, 9]])
    s = confusion_sentence(cm, ("cat", "dog", "ship"))
    assert "把dog认成cat（5 张，占dog的 50%）" in s
    assert "最准的是ship（90%）" in s and "最差的是dog（50%）" in s
    assert "每个类别都至少被预测过一次" in s
    assert s.endswith("。")


def test_best_and_worst_agree_with_per_class_accuracy():
    torch.manual_seed(0)
    cm = torch.randint(0, 50, (10, 10)) + torch.diag(torch.arange(10) * 20)
    names = [f"c{k}" for k in range(10)]
    acc = per_class_accuracy(cm)
    s = confusion_sentence(cm, names)
    best, worst = int(acc.argmax()), int(acc.argmin())
    assert f"最准的是c{best}（{100 * acc[best]:.0f}%）" in s
    assert f"最差的是c{worst}（{100 * acc[worst]:.0f}%）" in s


def test_never_predicted_and_perfect():
    cm = torch.tensor([[3, 0, 0], [2, 0, 0], [0, 0, 4]])
    assert "从来没有预测过b" in confusion_sentence(cm, "abc")
    perfect = torch.eye(3, dtype=torch.int64) * 2
    assert "没有一张图被认错" in confusion_sentence(perfect, "abc")


def test_errors():
    with pytest.raises(TypeError, match="integer tensor"):
        confusion_sentence(torch.ones(2, 2), "ab")
    with pytest.raises(TypeError, match="integer tensor"):
        confusion_sentence([[1, 0], [0, 1]], "ab")
    with pytest.raises(ValueError, match=r"\(2, 2\)"):
        confusion_sentence(torch.ones(2, 3, dtype=torch.int64), "ab")
    with pytest.raises(ValueError, match="no image"):
        confusion_sentence(torch.zeros(2, 2, dtype=torch.int64), "ab")
