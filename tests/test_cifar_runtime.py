"""book_utils.cifar at run time: mixed precision through book_utils.train, cached batch-transform
statistics, persistent checkpoints and resuming a page-level run, schedules as they really run,
tables narrow enough for the page."""
import inspect

import pytest
import torch

from book_utils import cifar, data, train


def _fake(n=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 3, 32, 32), generator=g, dtype=torch.uint8)
    return data.ImageTensors(images, torch.arange(n) % 10, data.CIFAR10_CLASSES, "fake")


# --------------------------------------------------------------------------- batch transform

def test_batch_transform_builds_its_statistics_once_per_device(monkeypatch):
    t = cifar.BatchTransform(32, data.CIFAR10_MEAN, data.CIFAR10_STD, crop_padding=4, flip=True)
    batch = _fake(8).images
    first = t(batch)
    mean, std = t.stats_on("cpu")
    assert mean.shape == std.shape == (1, 3, 1, 1) and mean.dtype == torch.float32
    torch.testing.assert_close(std.flatten(), torch.tensor(data.CIFAR10_STD))
    made = []
    real_tensor = torch.tensor

    def counting(*args, **kwargs):
        made.append(args)
        return real_tensor(*args, **kwargs)

    monkeypatch.setattr(torch, "tensor", counting)
    for _ in range(5):
        out = t(batch)
    assert made == []                                  # no new tensors per batch
    assert t.stats_on(torch.device("cpu"))[0] is mean  # the cached objects themselves
    assert len(t._stats) == 1 and out.shape == first.shape == (8, 3, 32, 32)
    # the values are the plain formula (x / 255 - mean) / std
    plain = cifar.BatchTransform(32, data.CIFAR10_MEAN, data.CIFAR10_STD)(batch)
    ref = (batch.float() / 255 - real_tensor(data.CIFAR10_MEAN).view(1, 3, 1, 1)) \
        / real_tensor(data.CIFAR10_STD).view(1, 3, 1, 1)
    torch.testing.assert_close(plain, ref)


# --------------------------------------------------------------------------- mixed precision

def test_runtime_options_follow_train_amp_dtype(monkeypatch):
    monkeypatch.setattr(train, "amp_dtype", lambda device: torch.bfloat16)
    assert cifar.runtime_options("cpu") == {"amp": torch.bfloat16, "channels_last": True}
    monkeypatch.setattr(train, "amp_dtype", lambda device: None)
    assert cifar.runtime_options("cpu") == {"amp": None, "channels_last": False}


def test_evaluation_uses_train_autocast_and_no_autocast_of_its_own(monkeypatch):
    assert "torch.autocast" not in inspect.getsource(cifar)
    calls = []
    real = train.autocast

    def recording(device, dtype):
        calls.append((torch.device(device).type, dtype))
        return real(device, dtype)

    monkeypatch.setattr(train, "autocast", recording)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 10))
    batches = cifar.DeviceBatches(_fake(20), 10, shuffle=False,
                                  transform=cifar.BatchTransform(32, data.CIFAR10_MEAN, data.CIFAR10_STD))
    plain = cifar.evaluate_model(model, batches)
    assert calls == [("cpu", None)] * 2
    calls.clear()
    low = cifar.evaluate_model(model, batches, tta_flip=True, amp=torch.bfloat16)
    assert calls == [("cpu", torch.bfloat16)] * 4      # 2 batches x (image, mirror image)
    assert low["n"] == plain["n"] == 20 and low["losses"].dtype == torch.float32
    with pytest.raises(ValueError, match="amp must be"):
        cifar.evaluate_model(model, batches, amp="bf16")


# --------------------------------------------------------------------------- checkpoints

def test_checkpoint_file_names_recipe_profile_and_sizes(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_BOOK_CHECKPOINTS", str(tmp_path / "ck"))
    r = cifar.get_recipe("alexnet-source")
    a = cifar.checkpoint_file(r, "quick", epochs=2, batch_size=32, train_images=8000)
    assert a.parent == train.checkpoint_dir() == tmp_path / "ck"
    assert "alexnet-source" in a.name and "quick" in a.name and a.suffix == ".pt"
    small = cifar.replace_size(r, 112)
    others = {cifar.checkpoint_file(r, "full", 2, 32, 8000), cifar.checkpoint_file(r, "quick", 3, 32, 8000),
              cifar.checkpoint_file(r, "quick", 2, 64, 8000), cifar.checkpoint_file(r, "quick", 2, 32, 4000),
              cifar.checkpoint_file(small, "quick", 2, 32, 8000),
              cifar.checkpoint_file(r, "quick", 2, 32, 8000, seed=1)}
    assert a not in others and len(others) == 6
    assert cifar.checkpoint_file(r, "quick", 2, 32, 8000) == a   # the same run finds the same file


class _Stop(Exception):
    pass


def _tiny_run(recipe, **kwargs):
    tr, te = _fake(20, seed=1), _fake(10, seed=2)
    return cifar.run_recipe(recipe, tr, te, epochs=2, batch_size=10, device="cpu", eval_batch_size=10,
                            val_each_epoch=False, profile="quick", **kwargs)


def test_a_page_level_run_interrupted_after_one_epoch_resumes(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CNN_BOOK_CHECKPOINTS", str(tmp_path / "ck"))
    monkeypatch.setenv("TQDM_DISABLE", "1")            # fit prints its lines, as in the built book
    recipe = cifar.get_recipe("resnet-improved")

    def stop_after_first(history):
        if len(history.epochs) == 1:
            raise _Stop  # the kernel dies (e.g. Colab disconnects) right after epoch 1

    with pytest.raises(_Stop):
        _tiny_run(recipe, on_epoch_end=stop_after_first)
    [saved] = list((tmp_path / "ck").glob("*.pt"))
    assert saved == cifar.checkpoint_file(recipe, "quick", 2, 10, 20)
    assert torch.load(saved, weights_only=False)["epoch"] == 1
    capsys.readouterr()
    resumed = _tiny_run(recipe)                          # the same cell, run again
    assert "resumed" in capsys.readouterr().out
    assert [e["epoch"] for e in resumed.history.epochs] == [1, 2]
    # the resumed run ends exactly where an uninterrupted one does
    fresh = _tiny_run(recipe, checkpoint=tmp_path / "other.pt")
    assert fresh.history.epochs[1]["train_loss"] == pytest.approx(resumed.history.epochs[1]["train_loss"])
    assert torch.equal(fresh.test["preds"], resumed.test["preds"])
    # resume=False (START_FRESH on a page) trains both epochs again
    again = _tiny_run(recipe, resume=False)
    assert "resumed" not in capsys.readouterr().out and len(again.history.epochs) == 2


# --------------------------------------------------------------------------- schedules, tables, speed

def test_one_cycle_cycles_momentum_as_the_pages_say():
    r = cifar.get_recipe("resnet-improved")
    trace = cifar.schedule_trace(r, epochs=2, steps_per_epoch=50, batch_size=64)
    lr, mom = trace["lr"], trace["momentum"]
    assert len(lr) == len(mom) == 100
    peak = max(range(100), key=lr.__getitem__)
    assert lr[peak] == pytest.approx(r.lr_for(64)) and lr[0] == pytest.approx(r.lr_for(64) / 25)
    assert peak == 29                                  # 30% of 100 steps, counted from 0
    # momentum is not the recipe's 0.9: it falls 0.95 -> 0.85 while the rate rises, then climbs back
    assert mom[0] == pytest.approx(0.95) and mom[peak] == pytest.approx(0.85)
    assert mom[-1] == pytest.approx(0.95, abs=1e-3) and r.momentum == 0.9
    adamw = cifar.schedule_trace(cifar.get_recipe("alexnet-improved"), 1, 10)
    assert adamw["momentum"][0] == pytest.approx(0.95) and min(adamw["momentum"]) == pytest.approx(0.85)
    cosine = cifar.schedule_trace(cifar.get_recipe("resnet-source"), epochs=4, steps_per_epoch=2)
    assert cosine["lr"][::2] == pytest.approx([cifar.cosine_lr(t, 4, 1e-3) for t in range(4)])
    assert set(cosine["momentum"]) == {0.9}           # Adam's beta1, untouched by the cosine schedule


def test_tables_fit_in_80_columns():
    accs = {"source": torch.linspace(0, 1, 10), "improved": torch.full((10,), 0.5)}
    table = cifar.per_class_table(data.CIFAR10_CLASSES, accs)
    lines = table.splitlines()
    assert len(lines) == 12 and max(map(len, lines)) <= 80
    assert lines[1].split() == ["airplane", "0.0%", "50.0%"]
    assert lines[-1].split() == ["above", "0%", "9", "of", "10", "10", "of", "10"]
    with pytest.raises(ValueError, match="shape"):
        cifar.per_class_table(data.CIFAR10_CLASSES, {"x": torch.zeros(3)})


def test_training_speed_measures_and_leaves_the_random_state_alone():
    recipe = cifar.replace_size(cifar.get_recipe("alexnet-source"), 67)
    torch.manual_seed(5)
    before = torch.get_rng_state()
    ips = cifar.training_speed(recipe, "cpu", batch_size=2, steps=1)
    assert ips > 0 and torch.equal(torch.get_rng_state(), before)
    with pytest.raises(ValueError, match="steps"):
        cifar.training_speed(recipe, "cpu", batch_size=2, steps=0)
