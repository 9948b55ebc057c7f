"""Evaluation that was quietly wrong (issue 22, class 3): modules the caller froze in eval
mode keep their mode through evaluate, predict and fit; a loss with class weights (or an
ignore_index) gives the mean torch gives over the whole set, whatever the batch size."""
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from book_utils import train


def _bn_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                         nn.Linear(16, 3))


def _data(n=24):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 1, 4, 4, generator=g)
    y = torch.arange(n) % 3
    return x, y


@pytest.mark.parametrize("call", [lambda m, l: train.evaluate(m, l),
                                  lambda m, l: train.predict(m, l)])
def test_evaluate_and_predict_restore_each_modules_own_mode(call):
    model = _bn_model()
    model.train()
    model[1].eval()                               # a frozen batch-norm layer
    x, y = _data()
    call(model, DataLoader(TensorDataset(x, y), batch_size=8))
    assert model.training and model[0].training and not model[1].training
    model.eval()
    call(model, DataLoader(TensorDataset(x, y), batch_size=8))
    assert not any(m.training for m in model.modules())


def test_fit_keeps_a_frozen_batch_norm_frozen():
    model = _bn_model()
    model[1].eval()
    stats = model[1].running_mean.clone()
    x, y = _data()
    loader = DataLoader(TensorDataset(x, y), batch_size=8)
    train.fit(model, loader, torch.optim.SGD(model.parameters(), lr=0.1), 2, progress=False,
              val_loader=loader)
    assert torch.equal(model[1].running_mean, stats) and not model[1].training
    assert model[0].training
    # a model put wholly in eval mode is trained in train mode, as before
    model.eval()
    train.fit(model, loader, torch.optim.SGD(model.parameters(), lr=0.1), 1, progress=False)
    assert not torch.equal(model[1].running_mean, stats)


@pytest.mark.parametrize("loss", [
    nn.CrossEntropyLoss(weight=torch.tensor([1.0, 5.0, 0.2])),
    nn.CrossEntropyLoss(weight=torch.tensor([1.0, 5.0, 0.2]), label_smoothing=0.1),
    nn.CrossEntropyLoss(ignore_index=2),
])
def test_a_weighted_loss_does_not_depend_on_the_batch_size(loss):
    model = _bn_model().eval()
    x, y = _data(30)
    with torch.no_grad():
        whole = float(loss(model(x), y))        # torch's own mean over the whole set
    for batch in (1, 7, 30):
        loader = DataLoader(TensorDataset(x, y), batch_size=batch)
        assert train.evaluate(model, loader, loss_fn=loss)["loss"] == pytest.approx(whole, rel=1e-5)
        res = train.evaluate(model, loader, loss_fn=loss, per_image=True)
        assert res["loss"] == pytest.approx(whole, rel=1e-5)


def test_fit_records_the_weighted_training_loss():
    loss = nn.CrossEntropyLoss(weight=torch.tensor([1.0, 5.0, 0.2]))
    model = _bn_model()
    model[1].eval()                 # no batch statistics: the loss of a batch is the model's
    x, y = _data(30)
    with torch.no_grad():
        whole = float(loss(model(x), y))
    opt = torch.optim.SGD(model.parameters(), lr=1e-12)    # the weights barely move
    hist = train.fit(model, DataLoader(TensorDataset(x, y), batch_size=7), opt, 1,
                     loss_fn=loss, progress=False)
    assert hist.epochs[0]["train_loss"] == pytest.approx(whole, rel=1e-5)
