"""book_utils.cifar: recipes, batch transforms against torchvision, loaders on the real CIFAR-10
copy, the heads of AlexNet and ResNet-18, the cosine schedule, the test loss, results files."""
import json
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.transforms import v2

from book_utils import cifar, data, plot, profiles, results, train
from book_utils.models import AlexNet, resnet18


def _fake_cifar(n=40, seed=0, size=32):
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 3, size, size), generator=g, dtype=torch.uint8)
    labels = torch.arange(n) % 10
    return data.ImageTensors(images, labels, data.CIFAR10_CLASSES, "fake")


# --------------------------------------------------------------------------- real data

def test_cifar10_counts_per_split_and_class(real_data_root):
    # uses the normal cache (CNN_BOOK_CACHE): the 60,000 JPEGs are decoded once, not per test run
    tr = data.load_cifar10("train", root=real_data_root, download=False)
    te = data.load_cifar10("test", root=real_data_root, download=False)
    assert tr.images.shape == (50000, 3, 32, 32) and te.images.shape == (10000, 3, 32, 32)
    assert tr.labels.bincount().tolist() == [5000] * 10
    assert te.labels.bincount().tolist() == [1000] * 10
    assert tr.classes == ("airplane", "automobile", "bird", "cat", "deer",
                          "dog", "frog", "horse", "ship", "truck")
    assert results.short_source(tr.source) == "CIFAR-10 (JPEG copy)"
    # the published channel statistics match the JPEG copy to about 0.002
    x = tr.images[::10].float().div(255)
    assert torch.allclose(x.mean((0, 2, 3)), torch.tensor(data.CIFAR10_MEAN), atol=3e-3)
    assert torch.allclose(x.std((0, 2, 3)), torch.tensor(data.CIFAR10_STD), atol=3e-3)
    # a quick-profile subset keeps the classes balanced, and batches cover it exactly once
    idx = data.stratified_indices(tr.labels, 500, seed=0)
    batches = cifar.DeviceBatches(tr, 64, shuffle=True, indices=idx)
    ys = torch.cat([y for _, y in batches])
    assert ys.bincount().tolist() == [50] * 10 and len(batches) == 8


# --------------------------------------------------------------------------- the source's errors

def test_alexnet_classifier_input_is_256x6x6_after_a_6x6_pool():
    model = AlexNet(num_classes=10)
    feats = model.features(torch.zeros(1, 3, 227, 227))
    assert feats.shape == (1, 256, 6, 6)
    assert model.avgpool.output_size == (6, 6)
    assert model.classifier[1].in_features == 256 * 6 * 6 == 9216
    assert model(torch.zeros(2, 3, 227, 227)).shape == (2, 10)
    # the source pooled to 1x1 and then expected 256*6*6 numbers: that cannot run
    pooled_1x1 = torch.flatten(nn.AdaptiveAvgPool2d(1)(feats), 1)
    assert pooled_1x1.shape == (1, 256)
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        model.classifier.eval()(pooled_1x1)


def test_resnet18_head_takes_512_features():
    model = resnet18(num_classes=10).eval()
    x = torch.zeros(2, 3, 32, 32)
    stages = model.layer4(model.layer3(model.layer2(model.layer1(model.stem(x)))))
    assert stages.shape == (2, 512, 4, 4)
    pooled = torch.flatten(model.avgpool(stages), 1)
    assert pooled.shape == (2, 512) and model.fc.in_features == 512
    assert model(x).shape == (2, 10)
    # the source's head, Linear(512 * 4 * 4, 10), does not fit the pooled features
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        nn.Linear(512 * 4 * 4, 10)(pooled)
    assert train.count_parameters(model) == 11_173_962


def test_cosine_schedule_reaches_eta_min_on_the_last_epoch():
    recipe = cifar.get_recipe("resnet-source")
    assert recipe.schedule == "cosine" and recipe.lr == 1e-3
    epochs = 10
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=recipe.lr)
    sched, step = cifar.make_scheduler(opt, recipe, epochs, steps_per_epoch=5)
    assert step == "epoch" and sched.T_max == epochs
    lrs = []
    for _ in range(epochs):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    final = opt.param_groups[0]["lr"]
    # the formula with pi, epoch by epoch, and eta_min after the last step
    expected = [recipe.eta_min + 0.5 * (recipe.lr - recipe.eta_min) * (1 + math.cos(math.pi * t / epochs))
                for t in range(epochs)]
    assert lrs == pytest.approx(expected, rel=1e-9, abs=1e-15)
    assert [cifar.cosine_lr(t, epochs, recipe.lr) for t in range(epochs)] == pytest.approx(expected)
    assert final == pytest.approx(recipe.eta_min, abs=1e-15)
    # the source: T_max=200 for a 100-epoch run ends at half the initial rate
    assert cifar.cosine_lr(100, 200, 1e-3) == pytest.approx(0.5e-3)
    # without the pi the "cosine" barely moves: cos(1) at the end, not cos(pi)
    assert 0.5 * 1e-3 * (1 + math.cos(1.0)) == pytest.approx(7.70e-4, rel=1e-3)
    with pytest.raises(ValueError, match="t_max"):
        cifar.cosine_lr(1, 0, 1e-3)


def test_test_loss_is_the_mean_per_sample():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))
    ds = _fake_cifar(100)
    batches = cifar.DeviceBatches(ds, 32, shuffle=False)
    got = train.evaluate(model, batches, per_image=True)
    x = torch.cat([x for x, _ in batches])
    with torch.no_grad():
        per_sample = F.cross_entropy(model(x), ds.labels, reduction="none")
    assert got["loss"] == pytest.approx(per_sample.mean().item(), rel=1e-5)
    torch.testing.assert_close(got["losses"], per_sample)
    assert got["n"] == 100
    # equal to the lead's evaluate(), independent of the batch size
    for b in (7, 100):
        other = train.evaluate(model, cifar.DeviceBatches(ds, b, shuffle=False))
        assert other["loss"] == pytest.approx(got["loss"], rel=1e-5)
        assert other["accuracy"] == pytest.approx(got["accuracy"])
    # the source summed the batch means and divided by the number of samples: about 1/32 of it
    with torch.no_grad():
        source_style = sum(F.cross_entropy(model(xb), yb).item() for xb, yb in batches) / 100
    assert source_style < got["loss"] / 20
    with pytest.raises(ValueError, match="empty loader"):
        train.evaluate(model, [], per_image=True)


# --------------------------------------------------------------------------- transforms

def test_random_crop_and_flip_match_torchvision():
    imgs = _fake_cifar(6).images
    offsets = torch.tensor([[0, 0], [8, 8], [3, 5], [4, 4], [8, 0], [1, 7]])
    got = cifar.random_crop(imgs, 4, offsets)
    for k in range(6):
        padded = v2.functional.pad(imgs[k], [4, 4, 4, 4], fill=0)
        want = v2.functional.crop(padded, int(offsets[k, 0]), int(offsets[k, 1]), 32, 32)
        assert torch.equal(got[k], want)
    assert torch.equal(cifar.random_crop(imgs, 4, torch.full((6, 2), 4)), imgs)  # centre window
    mask = torch.tensor([True, False, True, False, False, True])
    flipped = cifar.random_flip(imgs, mask=mask)
    for k in range(6):
        want = v2.functional.horizontal_flip(imgs[k]) if mask[k] else imgs[k]
        assert torch.equal(flipped[k], want)
    with pytest.raises(ValueError, match="offsets"):
        cifar.random_crop(imgs, 4, torch.full((6, 2), 9))
    with pytest.raises(ValueError, match="padding"):
        cifar.random_crop(imgs, -1)


def test_random_crop_offsets_cover_the_whole_range():
    torch.manual_seed(0)
    img = torch.zeros(2000, 1, 4, 4, dtype=torch.uint8)
    img[:, :, 0, 0] = 1  # a marked pixel that moves with the window
    out = cifar.random_crop(img, 2)
    visible = out[:, 0].flatten(1).sum(1) == 1
    # window corner (top, left) uniform in 0..4: the marker stays visible iff both are <= 2
    assert visible.float().mean().item() == pytest.approx(9 / 25, abs=0.04)
    pos = out[visible, 0].flatten(1).argmax(1)
    assert {int(p) // 4 for p in pos} == {0, 1, 2} and {int(p) % 4 for p in pos} == {0, 1, 2}


def test_batch_transform_equals_the_per_image_torchvision_pipeline():
    recipe = cifar.get_recipe("alexnet-source")
    imgs = _fake_cifar(4).images
    batch = recipe.test_transform()(imgs)
    assert batch.shape == (4, 3, 227, 227) and batch.dtype == torch.float32
    # same steps per image in torchvision, on float pixels: equal up to float rounding
    exact = v2.Compose([v2.ToDtype(torch.float32, scale=True), v2.Normalize(list(recipe.mean), list(recipe.std)),
                        v2.Resize((227, 227), antialias=True)])
    for k in range(4):
        torch.testing.assert_close(batch[k], exact(imgs[k]), atol=1e-5, rtol=1e-5)
    # the source's order resizes uint8 pixels (fixed-point, rounded to whole grey levels):
    # within about one grey level
    source = cifar.sample_transform(recipe, train=False)
    diff = (torch.stack([source(im) for im in imgs]) - batch).abs().max()
    assert diff <= 1.01 / 255 / min(recipe.std)
    # 32x32 recipes do not resize at all
    res = cifar.get_recipe("resnet-source")
    out = res.test_transform()(imgs)
    want = (imgs.float() / 255 - torch.tensor(res.mean).view(1, 3, 1, 1)) / torch.tensor(res.std).view(1, 3, 1, 1)
    torch.testing.assert_close(out, want)


def test_train_transform_augments_and_channels_last():
    res = cifar.get_recipe("resnet-source")
    imgs = _fake_cifar(8).images
    torch.manual_seed(1)
    a = res.train_transform()(imgs)
    torch.manual_seed(1)
    b = res.train_transform()(imgs)
    torch.testing.assert_close(a, b)  # seeded: reproducible
    assert not torch.equal(a, res.test_transform()(imgs))  # and different from no augmentation
    cl = res.train_transform(channels_last=True)(imgs)
    assert cl.is_contiguous(memory_format=torch.channels_last)


def test_bad_input_is_rejected_clearly():
    t = cifar.get_recipe("resnet-source").test_transform()
    with pytest.raises(TypeError, match="uint8"):
        t(torch.zeros(2, 3, 32, 32))
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        t(torch.zeros(3, 32, 32, dtype=torch.uint8))
    with pytest.raises(TypeError, match="torch.Tensor"):
        t([1, 2, 3])
    with pytest.raises(ValueError, match="three values"):
        cifar.BatchTransform(32, (0.5,), (0.5,))
    with pytest.raises(ValueError, match="batch_size"):
        cifar.DeviceBatches(_fake_cifar(4), 0, shuffle=False)
    with pytest.raises(ValueError, match="optimizer"):
        cifar.Recipe(name="x", model="resnet18", title="x", image_size=32, mean=(0,) * 3, std=(1,) * 3,
                     lr=0.1, optimizer="rmsprop")
    with pytest.raises(KeyError, match="known recipes"):
        cifar.get_recipe("vgg-source")
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        cifar.make_scheduler(torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1),
                             cifar.get_recipe("resnet-source"), 0, 10)


# --------------------------------------------------------------------------- batches

def test_device_batches_order_and_reseeding():
    ds = _fake_cifar(50)
    b = cifar.DeviceBatches(ds, 16, shuffle=True)
    assert len(b) == 4 and b.num_samples == 50
    first = torch.cat([y for _, y in b])
    assert sorted(first.tolist()) == sorted(ds.labels.tolist())
    b.generator.manual_seed(123)
    x1 = [x for x, _ in b]
    b.generator.manual_seed(123)
    x2 = [x for x, _ in b]
    assert all(torch.equal(p, q) for p, q in zip(x1, x2))
    assert len(cifar.DeviceBatches(ds, 16, shuffle=False, drop_last=True)) == 3
    plain = next(iter(cifar.DeviceBatches(ds, 50, shuffle=False)))[0]
    torch.testing.assert_close(plain, ds.images.float() / 255)


# --------------------------------------------------------------------------- recipes

def test_recipes_build_what_they_say():
    src, imp = cifar.get_recipe("alexnet-source"), cifar.get_recipe("alexnet-improved")
    assert (src.image_size, src.lr, src.optimizer, src.mean) == (227, 5e-4, "adam", data.IMAGENET_MEAN)
    res_src, res_imp = cifar.get_recipe("resnet-source"), cifar.get_recipe("resnet-improved")
    assert (res_src.crop_padding, res_src.flip, res_src.mean, res_src.std) == (4, True, data.CIFAR10_MEAN,
                                                                             data.CIFAR10_STD)
    model = nn.Linear(2, 2)
    opt = cifar.make_optimizer(model, res_imp, batch_size=128)
    assert isinstance(opt, torch.optim.SGD)
    g = opt.param_groups[0]
    assert (g["lr"], g["momentum"], g["nesterov"], g["weight_decay"]) == (0.1, 0.9, True, 5e-4)
    # linear scaling with the batch size for the SGD recipe only
    assert cifar.make_optimizer(model, res_imp, batch_size=32).param_groups[0]["lr"] == pytest.approx(0.025)
    assert res_imp.lr_for(256) == pytest.approx(0.2) and res_imp.lr_for() == 0.1
    assert cifar.make_optimizer(model, res_src, batch_size=32).param_groups[0]["lr"] == 1e-3
    assert src.lr_for(32) == src.lr_for(128) == 5e-4
    assert isinstance(cifar.make_optimizer(model, imp), torch.optim.AdamW)
    sched, step = cifar.make_scheduler(opt, res_imp, epochs=10, steps_per_epoch=10)
    assert step == "batch" and isinstance(sched, torch.optim.lr_scheduler.OneCycleLR)
    lrs = []
    for _ in range(100):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    # warm-up from max_lr / 25 to max_lr at 30% of the steps, then cosine decay to ~0
    assert lrs[0] == pytest.approx(0.1 / 25) and lrs[29] == pytest.approx(0.1) == max(lrs)
    assert lrs[-1] < 1e-4
    small = cifar.make_optimizer(model, res_imp, batch_size=32)  # one-cycle peaks at the scaled rate
    sched, _ = cifar.make_scheduler(small, res_imp, epochs=10, steps_per_epoch=10)
    peak = 0.0
    for _ in range(100):
        peak = max(peak, small.param_groups[0]["lr"])
        small.step()
        sched.step()
    assert peak == pytest.approx(0.025)
    assert cifar.make_scheduler(opt, src, 3, 4) == (None, "epoch")
    assert cifar.make_loss(imp).label_smoothing == 0.1 and cifar.make_loss(src).label_smoothing == 0.0
    assert isinstance(cifar.make_model(src), AlexNet)
    assert cifar.make_model(res_src).fc.in_features == 512


def test_tta_flip_averages_probabilities():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))
    batches = cifar.DeviceBatches(_fake_cifar(30), 8, shuffle=False)
    got = train.evaluate(model, batches, tta_flip=True, per_image=True)
    x = torch.cat([x for x, _ in batches])
    y = torch.cat([y for _, y in batches])
    with torch.no_grad():
        p = (F.softmax(model(x), 1) + F.softmax(model(x.flip(-1)), 1)) / 2
    assert got["loss"] == pytest.approx(F.nll_loss(p.log(), y).item(), rel=1e-5)
    assert torch.equal(got["preds"], p.argmax(1))
    # a mirror-symmetric model gains nothing from TTA
    sym = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 10))
    a = train.evaluate(sym, batches, per_image=True)
    b = train.evaluate(sym, batches, tta_flip=True, per_image=True)
    assert a["loss"] == pytest.approx(b["loss"], rel=1e-6) and torch.equal(a["preds"], b["preds"])


def test_per_class_accuracy_and_resize_cost():
    cm = torch.tensor([[3, 1], [0, 4]])
    assert cifar.per_class_accuracy(cm).tolist() == [0.75, 1.0]
    with pytest.raises(ValueError, match="square"):
        cifar.per_class_accuracy(torch.zeros(2, 3))
    cost = cifar.resize_cost(32, 227)
    assert cost["pixel_factor"] == pytest.approx(50.32, abs=0.01)
    assert cost["bytes_src"] == 3072 and cost["bytes_dst_float32"] == 4 * 3 * 227 * 227


# --------------------------------------------------------------------------- results files

def _tiny_run(tmp_path):
    recipe = cifar.get_recipe("resnet-source")
    cfg = profiles.chapter_config("resnet", "full", epochs=1, train_subset=20, test_subset=20)
    tiny = _fake_cifar(20)
    torch.manual_seed(0)
    result = cifar.RunResult(recipe, train.History(epochs=[{"epoch": 1, "train_loss": 2.3, "train_acc": 0.1,
                                                            "lr": 0.0, "time_s": 2.0}],
                                                  batch_loss=[2.3], batch_epoch=[1]),
                             {"loss": 2.31, "accuracy": 0.15, "n": 20, "preds": tiny.labels, "targets": tiny.labels},
                             torch.eye(10, dtype=torch.int64) * 2, train_images=20)
    return cfg, result


def test_run_summary_in_a_results_file_and_the_comparison_table(tmp_path):
    cfg, result = _tiny_run(tmp_path)
    assert results.load_recorded("resnet", tmp_path) is None
    table = cifar.comparison_table([result], None, "quick", "CIFAR-10 (JPEG copy)")
    assert "none" in table and results.NOT_RECORDED in table
    assert "15.00%" in table and max(map(len, table.splitlines())) <= 80
    # a run summary is a valid results-file entry, and reads back as a history
    full = profiles.chapter_config("resnet", "full")
    path = results.results_path("resnet", tmp_path, kind="cpu")
    results.save_results(path, "resnet", full, {"resnet-source": result.summary()}, torch.device("cpu"),
                         "CIFAR-10 (JPEG copy, from /x/train.tar.gz)")
    recorded = results.load_recorded("resnet", tmp_path)
    run = recorded["runs"]["resnet-source"]
    assert run["test_accuracy"] == 0.15 and run["per_class_accuracy"] == [1.0] * 10
    assert run["recipe"]["lr"] == 1e-3 and run["train_images"] == 20
    assert recorded["data"] == "CIFAR-10 (JPEG copy)"
    import matplotlib.pyplot as plt
    fig = plot.plot_recorded(recorded)
    assert [ax.get_xlabel() for ax in fig.axes] == ["epoch", "epoch"]
    assert fig.axes[0].lines[0].get_ydata().tolist() == [2.3]
    plt.close(fig)
    table = cifar.comparison_table([result], recorded, "quick", "CIFAR-10 (JPEG copy)")
    assert "none" not in table and table.count("15.00%") == 2 and "Recorded full run" in table
    assert max(map(len, table.splitlines())) <= 80
