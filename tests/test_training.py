"""Checkpoint and resume with the CIFAR pipeline: a run interrupted and restarted repeats an
uninterrupted one exactly and loses at most the epoch that was running."""
import pytest
import torch
from torch import nn

from book_utils import cifar, data, train

EPOCHS = 3


def _data(n=48, seed=0):
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 3, 32, 32), generator=g, dtype=torch.uint8)
    labels = torch.arange(n) % 10
    return data.ImageTensors(images, labels, data.CIFAR10_CLASSES, "synthetic")


def _tiny_model():
    # batch norm (running statistics) and dropout (random masks) are both state that must resume
    return nn.Sequential(nn.Conv2d(3, 4, 3, stride=2), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Dropout(0.3), nn.Linear(16, 10))


class Interrupt(Exception):
    pass


class _Breaking:
    """Wraps a loader and raises after ``after`` batches of epoch ``epoch`` (a crash mid-epoch)."""

    def __init__(self, loader, epoch, after):
        self.loader, self.epoch, self.after, self.calls = loader, epoch, after, 0
        self.generator = loader.generator

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        self.calls += 1
        for k, batch in enumerate(self.loader):
            if self.calls == self.epoch and k == self.after:
                raise Interrupt(f"simulated crash in epoch {self.epoch}")
            yield batch


def _run(recipe_name, epochs, checkpoint=None, crash=None):
    """Everything built fresh, as in a new Python process."""
    recipe = cifar.get_recipe(recipe_name)
    torch.manual_seed(0)
    model = _tiny_model()
    ds = _data()
    loader = cifar.DeviceBatches(ds, 8, shuffle=True, transform=recipe.train_transform())
    val = cifar.DeviceBatches(ds, 16, shuffle=False, transform=recipe.test_transform())
    optimizer = cifar.make_optimizer(model, recipe, batch_size=8)
    scheduler, step = cifar.make_scheduler(optimizer, recipe, EPOCHS, len(loader))
    if crash is not None:
        loader = _Breaking(loader, *crash)
    hist = train.fit(model, loader, optimizer, epochs, loss_fn=cifar.make_loss(recipe), scheduler=scheduler,
                     scheduler_step=step, val_loader=val, val_loss_fn=nn.CrossEntropyLoss(),
                     checkpoint=checkpoint, progress=False, seed=7)
    return model, optimizer, scheduler, hist


def _without_time(hist):
    return [{k: v for k, v in e.items() if k != "time_s"} for e in hist.epochs]


@pytest.mark.parametrize("recipe_name", ["resnet-source", "resnet-improved"])
def test_resumed_run_equals_uninterrupted_run(tmp_path, recipe_name):
    # resnet-source: Adam + cosine stepped per epoch; resnet-improved: SGD + one-cycle per batch,
    # label smoothing; both with random crop + flip augmentation
    ref_model, ref_opt, ref_sched, ref = _run(recipe_name, EPOCHS)
    ckpt = tmp_path / "run.pt"
    _run(recipe_name, 1, ckpt)                                   # stopped after epoch 1
    model, opt, sched, resumed = _run(recipe_name, EPOCHS, ckpt)  # restarted: epochs 2 and 3
    assert _without_time(resumed) == _without_time(ref)  # bit-for-bit equal numbers
    assert resumed.batch_loss == ref.batch_loss and resumed.batch_epoch == ref.batch_epoch
    for (name, a), b in zip(model.state_dict().items(), ref_model.state_dict().values()):
        assert torch.equal(a, b), name
    assert sched.state_dict()["last_epoch"] == ref_sched.state_dict()["last_epoch"]
    assert opt.param_groups[0]["lr"] == ref_opt.param_groups[0]["lr"]


def test_crash_mid_epoch_loses_at_most_that_epoch(tmp_path):
    ref_model, _, _, ref = _run("resnet-improved", EPOCHS)
    ckpt = tmp_path / "run.pt"
    with pytest.raises(Interrupt):
        _run("resnet-improved", EPOCHS, ckpt, crash=(3, 2))      # dies in batch 3 of epoch 3
    saved = torch.load(ckpt, weights_only=True)
    assert saved["epoch"] == 2                                   # epochs 1 and 2 are safe
    assert len(saved["history"]["epochs"]) == 2
    model, _, _, resumed = _run("resnet-improved", EPOCHS, ckpt)
    assert _without_time(resumed) == _without_time(ref)
    for a, b in zip(model.parameters(), ref_model.parameters()):
        assert torch.equal(a, b)


def test_finished_run_is_not_trained_again(tmp_path):
    ckpt = tmp_path / "run.pt"
    model, _, _, first = _run("resnet-source", EPOCHS, ckpt)
    again_model, _, _, again = _run("resnet-source", EPOCHS, ckpt)
    assert again.epochs == first.epochs  # loaded, time_s included: no epoch ran
    for a, b in zip(again_model.parameters(), model.parameters()):
        assert torch.equal(a, b)


def test_val_loss_fn_measures_plain_cross_entropy():
    recipe = cifar.get_recipe("resnet-improved")  # trains with label smoothing 0.1
    model, _, _, hist = _run("resnet-improved", 1)
    val = cifar.DeviceBatches(_data(), 16, shuffle=False, transform=recipe.test_transform())
    plain = train.evaluate(model, val)["loss"]
    smoothed = train.evaluate(model, val, loss_fn=cifar.make_loss(recipe))["loss"]
    assert hist.epochs[0]["val_loss"] == pytest.approx(plain, rel=1e-6)
    assert hist.epochs[0]["val_loss"] != pytest.approx(smoothed, rel=1e-6)
