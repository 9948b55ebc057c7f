"""A run resumes only its own settings (issue 20, item 3; issue 22, item 4): a checkpoint
stores what produced it, and a call with other settings trains afresh after one line that
names the difference, never resumes silently and never fails inside torch."""
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from book_utils import train
from book_utils.train import settings as run_settings


@pytest.fixture
def ckpt(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_BOOK_CHECKPOINTS", str(tmp_path / "ckpts"))
    monkeypatch.setenv("TQDM_DISABLE", "1")
    monkeypatch.delenv("CNN_BOOK_FRESH", raising=False)
    return train.checkpoint_path("tiny", "quick")


def _loader(n=32, batch=8):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(n, 1, 4, 4, generator=g)
    y = (x.mean((1, 2, 3)) > 0).long() + 2 * (x[:, 0, 0, 0] > 0).long()
    return DataLoader(TensorDataset(x, y), batch_size=batch, shuffle=True,
                      generator=torch.Generator())


def _run(path, epochs=2, opt="adam", lr=1e-2, schedule=None, hidden=8, stop_after=None,
         extra=None, batch=8, **kwargs):
    """A page's training cell, as in a fresh kernel."""
    train.seed_everything(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, hidden), nn.ReLU(), nn.Linear(hidden, 4))
    optimizer = (torch.optim.Adam(model.parameters(), lr=lr) if opt == "adam"
                 else torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9))
    loader = _loader(batch=batch)
    scheduler, step = None, "epoch"
    if schedule == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)
    elif schedule == "onecycle":
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, lr, epochs=epochs,
                                                        steps_per_epoch=len(loader))
        step = "batch"

    def stop(history):
        if stop_after is not None and len(history.epochs) == stop_after:
            raise KeyboardInterrupt

    history = train.fit(model, loader, optimizer, epochs, scheduler=scheduler,
                        scheduler_step=step, checkpoint=path, on_epoch_end=stop,
                        settings=extra, **kwargs)
    return model, history


def _lines(out):
    return [line for line in out.splitlines() if line.startswith("settings changed")]


def _strip(history):
    return [{k: v for k, v in e.items() if k != "time_s"} for e in history.epochs]


def test_same_settings_resume_and_equal_an_uninterrupted_run(ckpt, tmp_path, capsys):
    with pytest.raises(KeyboardInterrupt):
        _run(ckpt, epochs=3, schedule="cosine", stop_after=1)
    model, resumed = _run(ckpt, epochs=3, schedule="cosine")
    out = capsys.readouterr().out
    assert "resumed after epoch 1/3" in out and not _lines(out)
    _, whole = _run(tmp_path / "other.pt", epochs=3, schedule="cosine")
    assert _strip(resumed) == _strip(whole)


@pytest.mark.parametrize("schedule", ["cosine", "onecycle"])
def test_more_epochs_after_a_finished_schedule_train_afresh(ckpt, tmp_path, capsys, schedule):
    _run(ckpt, epochs=2, schedule=schedule)
    capsys.readouterr()
    _, longer = _run(ckpt, epochs=3, schedule=schedule)     # onecycle: torch would raise
    out = capsys.readouterr().out
    [line] = _lines(out)
    assert "epochs 2 -> 3" in line and "training afresh" in line
    assert "resumed" not in out and [e["epoch"] for e in longer.epochs] == [1, 2, 3]
    _, fresh = _run(tmp_path / "fresh.pt", epochs=3, schedule=schedule)
    assert _strip(longer) == _strip(fresh)       # the schedule did not restart halfway
    assert train.load_checkpoint(ckpt, nn.Sequential(
        nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 4)))["settings"]["epochs"] == 3


def test_without_a_schedule_more_epochs_continue_the_run(ckpt, capsys):
    _run(ckpt, epochs=1)
    _, history = _run(ckpt, epochs=2)
    out = capsys.readouterr().out
    assert "resumed after epoch 1/2" in out and not _lines(out)
    assert [e["epoch"] for e in history.epochs] == [1, 2]


@pytest.mark.parametrize("change, says", [
    (dict(opt="sgd"), "optimizer Adam -> SGD"),
    (dict(lr=2e-2), "optimizer.lr 0.01 -> 0.02"),
    (dict(hidden=6), "model Sequential, 172 parameters -> Sequential, 130 parameters"),
    (dict(batch=16), "batch_size 8 -> 16"),
    (dict(seed=3), "seed 0 -> 3"),
    (dict(loss_fn=nn.CrossEntropyLoss(label_smoothing=0.1)), "loss.label_smoothing 0 -> 0.1"),
    (dict(extra={"recipe": {"lr": 0.002}}), "recipe - -> "),
])
def test_a_changed_setting_trains_afresh_and_says_which(ckpt, capsys, change, says):
    _run(ckpt, epochs=2)
    before = ckpt.read_bytes()
    capsys.readouterr()
    model, history = _run(ckpt, epochs=2, **change)      # never a torch error
    out = capsys.readouterr().out
    [line] = _lines(out)
    assert says in line, line
    assert [e["epoch"] for e in history.epochs] == [1, 2] and ckpt.read_bytes() != before


def test_an_edited_recipe_field_is_named(ckpt, capsys):
    _run(ckpt, extra={"recipe": {"lr": 0.001, "flip": True}, "profile": "quick"})
    capsys.readouterr()
    _run(ckpt, extra={"recipe": {"lr": 0.001, "flip": False}, "profile": "quick"})
    [line] = _lines(capsys.readouterr().out)
    assert "recipe.flip true -> false" in line


def test_a_checkpoint_without_settings_is_not_resumed(ckpt, capsys):
    model, _ = _run(ckpt, epochs=1)
    state = torch.load(ckpt, weights_only=True)
    del state["settings"]                      # as an older book_utils wrote it
    torch.save(state, ckpt)
    capsys.readouterr()
    _, history = _run(ckpt, epochs=1)
    [line] = _lines(capsys.readouterr().out)
    assert "no settings saved (older book_utils)" in line
    assert len(history.epochs) == 1


def test_the_old_checkpoint_stays_until_the_new_run_saves_an_epoch(ckpt, capsys):
    _run(ckpt, epochs=2)
    before = ckpt.read_bytes()

    class Broken:
        batch_size, dataset = 8, None

        def __len__(self):
            return 1

        def __iter__(self):
            raise KeyboardInterrupt
            yield

    train.seed_everything(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
    with pytest.raises(KeyboardInterrupt):
        train.fit(model, Broken(), torch.optim.SGD(model.parameters(), lr=0.1), 2,
                  checkpoint=ckpt)
    assert _lines(capsys.readouterr().out) and ckpt.read_bytes() == before


def test_settings_diff_and_run_settings_values():
    model = nn.Linear(3, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(opt, 2, gamma=0.5)
    a = run_settings.run_settings(model, opt, 4, scheduler=sched, seed=1)
    assert a["optimizer"]["class"] == "SGD" and a["optimizer"]["lr"] == 0.1
    assert a["scheduler"]["step_size"] == 2 and a["epochs"] == 4 and a["seed"] == 1
    assert "fused" not in a["optimizer"] and "last_epoch" not in a["scheduler"]
    for _ in range(3):                      # a running schedule is still the same setting
        opt.step()
        sched.step()
    assert run_settings.settings_diff(a, run_settings.run_settings(
        model, opt, 4, scheduler=sched, seed=1)) == []
    b = run_settings.run_settings(model, opt, 4, seed=1)
    assert run_settings.settings_diff(a, b)[0] == "epochs 4 -> -"
    assert run_settings.settings_diff(None, b) == ["no settings saved (older book_utils)"]
    with pytest.raises(TypeError, match="settings must be a dict with string keys"):
        run_settings.run_settings(model, opt, 4, extra=[("lr", 1)])


def test_a_run_recipe_checkpoint_of_another_recipe_is_not_resumed(ckpt, capsys):
    from dataclasses import replace

    from book_utils import cifar
    from book_utils.data import ImageTensors
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (20, 3, 32, 32), generator=g, dtype=torch.uint8)
    data = ImageTensors(images, torch.arange(20) % 10, tuple("abcdefghij"), "random")
    recipe = replace(cifar.get_recipe("resnet-source"), schedule="constant")
    path = ckpt.with_name("recipe.pt")
    kw = dict(device="cpu", checkpoint=path, val_each_epoch=False, profile="quick")
    first = cifar.run_recipe(recipe, data, data, 1, 10, **kw)
    capsys.readouterr()
    again = cifar.run_recipe(recipe, data, data, 1, 10, **kw)
    assert "resumed after epoch 1/1" in capsys.readouterr().out
    assert again.history.epochs == first.history.epochs
    cifar.run_recipe(replace(recipe, crop_padding=2), data, data, 1, 10, **kw)
    [line] = _lines(capsys.readouterr().out)
    assert "recipe.crop_padding 4 -> 2" in line


@pytest.mark.parametrize("schedule", [None, "onecycle"])
def test_the_same_objects_called_again_resume_the_finished_run(ckpt, capsys, schedule):
    """A page cell that calls fit again with the model, optimizer and schedule it just
    trained (page 07 does) reads the finished run back: nothing is trained."""
    train.seed_everything(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 4))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    loader = _loader()
    scheduler = None if schedule is None else torch.optim.lr_scheduler.OneCycleLR(
        optimizer, 1e-2, epochs=2, steps_per_epoch=len(loader))
    step = "batch" if scheduler is not None else "epoch"
    first = train.fit(model, loader, optimizer, 2, scheduler=scheduler, scheduler_step=step,
                      checkpoint=ckpt)
    weights = [p.clone() for p in model.parameters()]
    capsys.readouterr()
    again = train.fit(model, loader, optimizer, 2, scheduler=scheduler, scheduler_step=step,
                      checkpoint=ckpt)
    assert "resumed after epoch 2/2" in capsys.readouterr().out
    assert again.epochs == first.epochs
    assert all(torch.equal(a, b) for a, b in zip(weights, model.parameters()))
