"""train.evaluate is the one evaluation: flip test-time augmentation and per-image losses are
options, its default result is unchanged, and the CIFAR-10 runs use it."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from book_utils import train


def _model_and_loader(n=40, batch=16):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 6 * 6, 4))
    g = torch.Generator().manual_seed(1)
    x = torch.randn(n, 3, 6, 6, generator=g)
    y = torch.randint(0, 4, (n,), generator=g)
    return model, DataLoader(TensorDataset(x, y), batch_size=batch), x, y


def test_default_result_keeps_its_keys_and_values():
    model, loader, x, y = _model_and_loader()
    got = train.evaluate(model, loader)
    assert set(got) == {"loss", "accuracy", "correct", "n"}
    with torch.no_grad():
        logits = model(x)
    assert got["loss"] == pytest.approx(F.cross_entropy(logits, y).item(), rel=1e-6)
    assert got["correct"] == int((logits.argmax(1) == y).sum()) and got["n"] == 40


def test_tta_is_the_average_probability_of_image_and_mirror():
    model, loader, x, y = _model_and_loader()
    got = train.evaluate(model, loader, tta_flip=True, per_image=True)
    with torch.no_grad():
        lp = torch.stack([F.log_softmax(model(x), 1), F.log_softmax(model(x.flip(-1)), 1)])
    by_hand = torch.log(lp.exp().mean(0))                  # log of the mean probability
    per_image = -by_hand.gather(1, y[:, None]).squeeze(1)
    torch.testing.assert_close(got["losses"], per_image, rtol=1e-5, atol=1e-6)
    assert got["loss"] == pytest.approx(per_image.mean().item(), rel=1e-5)
    assert torch.equal(got["preds"], by_hand.argmax(1))
    assert got["accuracy"] == pytest.approx((by_hand.argmax(1) == y).float().mean().item())
    # TTA really changes the numbers for this (not mirror-symmetric) model
    assert got["loss"] != pytest.approx(train.evaluate(model, loader)["loss"], rel=1e-4)
    # and the mean-reduced path gives the same loss as the per-image path
    assert train.evaluate(model, loader, tta_flip=True)["loss"] == pytest.approx(got["loss"],
                                                                                 rel=1e-5)


def test_per_image_losses_average_to_the_loss_and_keep_loader_order():
    model, loader, x, y = _model_and_loader(n=37, batch=5)
    got = train.evaluate(model, loader, per_image=True)
    assert got["losses"].dtype == torch.float32 and got["losses"].shape == (37,)
    assert got["losses"].mean().item() == pytest.approx(got["loss"], rel=1e-5)
    assert got["loss"] == pytest.approx(train.evaluate(model, loader)["loss"], rel=1e-5)
    assert torch.equal(got["targets"], y) and got["preds"].dtype == torch.int64
    assert got["correct"] == int((got["preds"] == y).sum())


def test_label_smoothing_loss_per_image_is_that_loss():
    model, loader, x, y = _model_and_loader()
    loss = nn.CrossEntropyLoss(label_smoothing=0.1)
    got = train.evaluate(model, loader, loss_fn=loss, per_image=True)
    with torch.no_grad():
        expected = F.cross_entropy(model(x), y, label_smoothing=0.1, reduction="none")
    torch.testing.assert_close(got["losses"], expected)
    assert loss.reduction == "mean"      # the caller's loss is left as it was


def test_channels_last_and_mode_restored():
    model, loader, _, _ = _model_and_loader()
    model.train()
    a = train.evaluate(model, loader, tta_flip=True, channels_last=True)
    assert model.training
    assert a["loss"] == pytest.approx(train.evaluate(model, loader, tta_flip=True)["loss"],
                                      rel=1e-6)
    assert math.isfinite(a["loss"])
