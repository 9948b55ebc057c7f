"""book_utils.cifar at run time: mixed precision through book_utils.train, cached batch-transform
statistics, persistent checkpoints and resuming a page-level run, schedules as they really run,
tables narrow enough for the page."""
import inspect
from dataclasses import replace

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
    from pathlib import Path
    from book_utils.train import evaluation
    for path in Path(cifar.__file__).parent.glob("*.py"):
        assert "torch.autocast" not in path.read_text(encoding="utf8"), path.name
    assert not hasattr(cifar, "evaluate_model")       # one evaluation: train.evaluate
    calls = []
    real = evaluation.autocast

    def recording(device, dtype):
        calls.append((torch.device(device).type, dtype))
        return real(device, dtype)

    monkeypatch.setattr(evaluation, "autocast", recording)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 10))
    batches = cifar.DeviceBatches(_fake(20), 10, shuffle=False,
                                  transform=cifar.BatchTransform(32, data.CIFAR10_MEAN, data.CIFAR10_STD))
    plain = train.evaluate(model, batches, per_image=True)
    assert calls == [("cpu", None)] * 2
    calls.clear()
    low = train.evaluate(model, batches, tta_flip=True, per_image=True, amp=torch.bfloat16)
    assert calls == [("cpu", torch.bfloat16)] * 4      # 2 batches x (image, mirror image)
    assert low["n"] == plain["n"] == 20 and low["losses"].dtype == torch.float32
    with pytest.raises(ValueError, match="amp must be"):
        train.evaluate(model, batches, amp="bf16")


def test_run_recipe_tests_with_train_evaluate_and_the_recipes_tta(monkeypatch):
    from book_utils.train import evaluation
    seen = []
    real = evaluation.evaluate

    def recording(*args, **kwargs):
        seen.append({k: kwargs.get(k) for k in ("tta_flip", "per_image")})
        return real(*args, **kwargs)

    monkeypatch.setattr(train, "evaluate", recording)
    recipe = cifar.get_recipe("resnet-improved")
    tr, te = _fake(20), _fake(10, seed=1)
    result = cifar.run_recipe(recipe, tr, te, epochs=1, batch_size=10, device="cpu",
                              eval_batch_size=5, checkpoint=False, val_each_epoch=False,
                              progress=False)
    assert seen == [{"tta_flip": True, "per_image": True}]
    again = real(result.model, cifar.DeviceBatches(te, 5, shuffle=False,
                                                   transform=recipe.test_transform()),
                 tta_flip=True, per_image=True, **cifar.runtime_options("cpu"))
    assert again["accuracy"] == result.test["accuracy"] and again["n"] == 10
    torch.testing.assert_close(again["losses"], result.test["losses"])


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


# --------------------------------------------------------------------------- profile changes

def test_profile_recipe_applies_the_quick_size_and_warmup_and_leaves_full_alone():
    from book_utils import profiles
    imp, src = cifar.get_recipe("alexnet-improved"), cifar.get_recipe("alexnet-source")
    quick = profiles.chapter_config("alexnet", "quick")
    full = profiles.chapter_config("alexnet", "full")
    q = cifar.profile_recipe(imp, quick)
    assert (q.image_size, q.warmup, q.name) == (quick["image_size"], quick["warmup"], imp.name)
    assert cifar.profile_recipe(imp, full) is imp
    # the warm-up only concerns one-cycle recipes; the source recipe keeps its constant rate
    assert cifar.profile_recipe(src, quick).warmup == src.warmup == 0.3
    assert "warmup" not in src.summary() and imp.summary()["warmup"] == 0.3
    # the quick AlexNet's pool size reaches both recipes and their models; ResNet has none
    for r in (imp, src):
        assert cifar.profile_recipe(r, quick).pool_size == quick["pool_size"]
        model = cifar.make_model(cifar.profile_recipe(r, quick))
        assert model.classifier[1].in_features == 256 * quick["pool_size"] ** 2
    assert imp.pool_size == 6 and cifar.make_model(imp).classifier[1].in_features == 9216
    # a run with the other pool never resumes the other's checkpoint
    names = {cifar.checkpoint_file(r, "quick", 2, 24, 1000).name
             for r in (imp, replace(imp, pool_size=1))}
    assert len(names) == 2 and any("-pool1-" in n for n in names)
    res = cifar.get_recipe("resnet-source")
    assert "pool_size" not in res.summary()
    assert cifar.profile_recipe(res, profiles.chapter_config("resnet", "quick")) is res
    with pytest.raises(ValueError, match="pool_size must be >= 1"):
        replace(imp, pool_size=0)
    with pytest.raises(TypeError, match="RunConfig"):
        cifar.profile_recipe(imp, {"image_size": 96})


@pytest.mark.parametrize("warmup", [0.1, 0.3])
def test_one_cycle_peaks_after_the_recipes_warmup_fraction(warmup):
    import dataclasses
    recipe = dataclasses.replace(cifar.get_recipe("alexnet-improved"), warmup=warmup)
    trace = cifar.schedule_trace(recipe, epochs=2, steps_per_epoch=50, batch_size=32)
    lr = trace["lr"]
    peak = max(range(len(lr)), key=lr.__getitem__)
    # OneCycleLR reaches max_lr at step pct_start * total - 1 (0-based)
    assert peak == round(warmup * 100) - 1
    assert lr[peak] == pytest.approx(recipe.lr) and lr[0] == pytest.approx(recipe.lr / 25)
    assert trace["momentum"][peak] == pytest.approx(0.85)


def test_fused_optimizer_where_torch_has_one_gives_the_same_update():
    for name in ("alexnet-improved", "resnet-source", "resnet-improved"):
        recipe = cifar.get_recipe(name)
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
        twin = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
        twin.load_state_dict(model.state_dict())
        fused = cifar.make_optimizer(model, recipe, 64)
        import inspect as _inspect
        accepted = _inspect.signature(type(fused).__init__).parameters
        plain = type(fused)(twin.parameters(), **{k: v for k, v in fused.defaults.items()
                                                  if k in accepted and k not in ("fused", "foreach")})
        x, y = torch.randn(16, 6), torch.randint(0, 3, (16,))
        for _ in range(3):
            for net, opt in ((model, fused), (twin, plain)):
                opt.zero_grad()
                torch.nn.functional.cross_entropy(net(x), y).backward()
                opt.step()
        for a, b in zip(model.parameters(), twin.parameters()):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
        if tuple(int(v) for v in torch.__version__.split(".")[:2]) >= (2, 4):
            assert fused.defaults["fused"] is True, name
