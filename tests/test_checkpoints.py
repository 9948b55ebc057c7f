"""Persistent checkpoints (folder, names, fresh switch), a page run interrupted and resumed, and
the time estimate fit prints after its first epoch."""
import os
import re

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from book_utils import train
from book_utils.train import loop


@pytest.fixture
def ckpt_env(tmp_path, monkeypatch):
    folder = tmp_path / "ckpts"
    monkeypatch.setenv("CNN_BOOK_CHECKPOINTS", str(folder))
    monkeypatch.delenv("CNN_BOOK_FRESH", raising=False)
    return folder


def test_checkpoint_dir_env_var_and_default(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_BOOK_CHECKPOINTS", str(tmp_path / "drive" / "ckpt"))
    assert train.checkpoint_dir() == tmp_path / "drive" / "ckpt"
    assert (tmp_path / "drive" / "ckpt").is_dir()
    monkeypatch.delenv("CNN_BOOK_CHECKPOINTS")
    monkeypatch.setenv("CNN_BOOK_CACHE", str(tmp_path / "cache"))
    assert train.checkpoint_dir() == tmp_path / "cache" / "checkpoints"
    monkeypatch.delenv("CNN_BOOK_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert train.checkpoint_dir() == tmp_path / "home" / ".cache" / "cnn_book" / "checkpoints"


def test_checkpoint_path_names(ckpt_env):
    path = train.checkpoint_path("resnet18-improved", "quick", train_subset=20000, epochs=4)
    assert path == ckpt_env / "resnet18-improved-quick-train_subset20000-epochs4.pt"
    assert train.checkpoint_path("lenet5", "full", train_subset=None, epochs=10).name == \
        "lenet5-full-train_subsetall-epochs10.pt"
    assert train.checkpoint_path("alexnet_v1.2", "quick", size=128, lr=0.001).name == \
        "alexnet_v1.2-quick-size128-lr0.001.pt"
    assert train.checkpoint_path("lenet5", "quick").name == "lenet5-quick.pt"
    # other sizes, other file: a run never resumes from a different run's checkpoint
    assert train.checkpoint_path("lenet5", "quick", epochs=1) != train.checkpoint_path("lenet5", "quick", epochs=2)


@pytest.mark.parametrize("name", ["", "../lenet", "a/b", "/abs", "-lenet", "le--net", "lenet-", "le net",
                                  "..", 3, None])
def test_checkpoint_path_rejects_unsafe_names(ckpt_env, name):
    with pytest.raises(ValueError, match="checkpoint name"):
        train.checkpoint_path(name, "quick")


def test_checkpoint_path_rejects_bad_profile_and_sizes(ckpt_env):
    with pytest.raises(ValueError, match="profile must be one of"):
        train.checkpoint_path("lenet5", "gpu")
    for bad in (True, "a/b", float("nan"), [1]):
        with pytest.raises(ValueError, match="checkpoint size epochs="):
            train.checkpoint_path("lenet5", "quick", epochs=bad)
    with pytest.raises(ValueError, match="size name"):
        train.checkpoint_path("lenet5", "quick", **{"a b": 1})


def test_fresh_start_switch(monkeypatch):
    monkeypatch.delenv("CNN_BOOK_FRESH", raising=False)
    assert train.fresh_start() is False
    for value, expected in [("1", True), ("true", True), ("YES", True), ("0", False), ("", False),
                            ("no", False)]:
        monkeypatch.setenv("CNN_BOOK_FRESH", value)
        assert train.fresh_start() is expected
    monkeypatch.setenv("CNN_BOOK_FRESH", "maybe")
    with pytest.raises(ValueError, match="CNN_BOOK_FRESH='maybe'"):
        train.fresh_start()


# --------------------------------------------------------------------------- a page, in miniature

class Disconnect(Exception):
    """The kernel dies (Colab disconnect) right after an epoch's checkpoint was written."""


def _page_run(epochs=2, start_fresh=False, disconnect_after=None, eta_after=0.0):
    """What a training page does, built from scratch as in a fresh kernel."""
    train.seed_everything(0)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(96, 1, 6, 6, generator=g)
    data = TensorDataset(x, (x.mean((1, 2, 3)) > 0).long())
    loader = DataLoader(data, batch_size=16, shuffle=True, generator=torch.Generator())
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Dropout(0.2), nn.Flatten(),
                          nn.Linear(64, 2))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1, gamma=0.5)
    ckpt = train.checkpoint_path("tiny-page", "quick", epochs=epochs)

    def maybe_disconnect(history):
        if disconnect_after is not None and len(history.epochs) == disconnect_after:
            raise Disconnect()

    history = train.fit(model, loader, optimizer, epochs, scheduler=scheduler, checkpoint=ckpt,
                        resume=not (start_fresh or train.fresh_start()), on_epoch_end=maybe_disconnect,
                        val_loader=DataLoader(data, batch_size=48), eta_after=eta_after)
    return model, history


def _same(h1, h2):
    strip = lambda h: [{k: v for k, v in e.items() if k != "time_s"} for e in h.epochs]
    return strip(h1) == strip(h2) and h1.batch_loss == h2.batch_loss


def test_interrupted_page_run_resumes_and_equals_uninterrupted(ckpt_env, monkeypatch, capsys):
    monkeypatch.setenv("TQDM_DISABLE", "1")
    with pytest.raises(Disconnect):
        _page_run(disconnect_after=1)
    capsys.readouterr()
    assert (ckpt_env / "tiny-page-quick-epochs2.pt").is_file()
    resumed_model, resumed = _page_run()
    out = capsys.readouterr().out
    assert "resumed after epoch 1/2 from tiny-page-quick-epochs2.pt" in out
    assert str(ckpt_env) not in out and "epoch 1/2:" not in out and "epoch 2/2:" in out
    assert [e["epoch"] for e in resumed.epochs] == [1, 2]
    # the same page run without a disconnect, in another checkpoint folder
    monkeypatch.setenv("CNN_BOOK_CHECKPOINTS", str(ckpt_env.parent / "other"))
    whole_model, whole = _page_run()
    assert _same(resumed, whole)
    for a, b in zip(resumed_model.state_dict().values(), whole_model.state_dict().values()):
        assert torch.equal(a, b)


def test_fresh_switches_ignore_the_checkpoint(ckpt_env, monkeypatch, capsys):
    monkeypatch.setenv("TQDM_DISABLE", "1")
    _, first = _page_run(epochs=2)
    capsys.readouterr()
    _, again = _page_run(epochs=2)          # finished: resumes at the end, trains nothing
    assert "resumed after epoch 2/2" in capsys.readouterr().out and _same(first, again)
    for kwargs, env in [({"start_fresh": True}, None), ({}, "1")]:
        if env:
            monkeypatch.setenv("CNN_BOOK_FRESH", env)
        _, fresh = _page_run(epochs=2, **kwargs)
        out = capsys.readouterr().out
        assert "starting afresh; will overwrite tiny-page-quick-epochs2.pt" in out
        assert "epoch 1/2:" in out and "resumed" not in out
        assert _same(first, fresh)


def _eta_lines(out):
    return [line for line in out.splitlines() if line.startswith("time: ")]


def test_eta_line_printed_once_after_the_first_epoch(ckpt_env, monkeypatch, capsys):
    monkeypatch.setenv("TQDM_DISABLE", "1")
    with pytest.raises(Disconnect):
        _page_run(epochs=3, disconnect_after=1, eta_after=1.5)
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(_eta_lines(out)) == 1
    assert lines.index(_eta_lines(out)[0]) == 1            # right after the first epoch line
    assert re.fullmatch(r"time: \d+\.\d s/epoch; rest of run ~\d+ s; rest of page ~\d+ s",
                        _eta_lines(out)[0])
    _page_run(epochs=3)                                     # resumed: again once, no page part
    out = capsys.readouterr().out
    assert len(_eta_lines(out)) == 1 and "rest of page" not in out
    assert all(len(line) <= 80 for line in out.splitlines())


def test_eta_line_values_and_width():
    line = train.eta_line(17.6, 9, 2.0)
    assert line == "time: 17.6 s/epoch; rest of run ~2 min 38 s; rest of page ~3 min 14 s"
    assert train.eta_line(5.0, 0) == "time: 5.0 s/epoch; rest of run ~0 s"
    assert len(train.eta_line(9999.9, 99, 300)) <= 80
    with pytest.raises(ValueError, match="eta_after"):
        train.fit(nn.Linear(2, 2), [], torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1), 1,
                  eta_after=-1)


def test_quiet_fit_prints_nothing(ckpt_env, capsys):
    model = nn.Linear(4, 2)
    data = TensorDataset(torch.randn(8, 4), torch.zeros(8, dtype=torch.long))
    train.fit(model, DataLoader(data, batch_size=4), torch.optim.SGD(model.parameters(), lr=0.1), 2,
              progress=False, checkpoint=train.checkpoint_path("quiet", "quick"))
    train.fit(model, DataLoader(data, batch_size=4), torch.optim.SGD(model.parameters(), lr=0.1), 2,
              progress=False, checkpoint=train.checkpoint_path("quiet", "quick"))
    assert capsys.readouterr().out == ""


def test_epoch_lines_fit_80_columns():
    worst = {"epoch": 100, "train_loss": 12.3456, "train_acc": 1.0, "lr": 1.23e-4, "time_s": 12345.6,
             "val_loss": 12.3456, "val_acc": 1.0}
    line = loop._epoch_line(worst, 100)
    assert line == "epoch 100/100: loss 12.3456 (test 12.3456), acc 100.00% (test 100.00%), 12346 s"
    assert len(line) <= 80
    no_val = {k: v for k, v in worst.items() if not k.startswith("val")}
    assert len(loop._epoch_line(no_val, 100)) <= 80 and "lr 1.23e-04" in loop._epoch_line(no_val, 100)
