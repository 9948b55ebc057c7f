"""scripts/choose_warmup.py: the warm-up is chosen on a validation split of training images."""
import json

import pytest
import torch

from book_utils import data, profiles


@pytest.fixture
def script(load_script):
    """scripts/choose_warmup.py, imported as a module."""
    return load_script("choose_warmup")


def test_validation_split_is_disjoint_and_stratified(script):
    labels = torch.arange(500) % 10
    train_idx, val_idx = script.validation_split(labels, 200, 100, seed=0)
    assert len(train_idx) == 200 and len(val_idx) == 100
    assert not set(train_idx.tolist()) & set(val_idx.tolist())
    assert torch.bincount(labels[val_idx], minlength=10).tolist() == [10] * 10
    assert torch.bincount(labels[train_idx], minlength=10).tolist() == [20] * 10


def test_default_size_is_the_smallest_step_that_trains_the_improved_recipe(script):
    quick = profiles.chapter_config("alexnet", "quick")
    images, epochs = script.smallest_step_with_both_recipes(quick)
    floor = quick.extra.get("min_passes_all", 0)
    assert images * epochs >= floor
    smaller = [(n, e) for n, e in quick["ladder"] if n is not None and n * e < images * epochs]
    assert all(n * e < floor for n, e in smaller)
    args = script.parse_args([])
    assert (args.train_images, args.epochs) == (images, epochs)


def test_record_compares_warmups_on_training_images_only(tmp_path, script):
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (60, 3, 32, 32), generator=g, dtype=torch.uint8)
    fake = data.ImageTensors(images, torch.arange(60) % 10, data.CIFAR10_CLASSES, "fake")
    out = tmp_path / "warmup.json"
    record = script.main(["--warmups", "0.1", "0.3", "--train-images", "20", "--val-images",
                          "20", "--epochs", "1", "--batch-size", "10", "--device", "cpu",
                          "--out", str(out)], train_set=fake)
    assert json.loads(out.read_text()) == record
    assert record["split"] == {"from": "train", "train_images": 20, "val_images": 20,
                               "seed": 0, "disjoint": True}
    assert set(record["runs"]) == {"0.1", "0.3"}
    accs = {k: r["val_accuracy"] for k, r in record["runs"].items()}
    assert all(0.0 <= a <= 1.0 for a in accs.values())
    assert record["chosen_warmup"] == max(record["runs"].values(),
                                          key=lambda r: r["val_accuracy"])["warmup"]
    quick = profiles.chapter_config("alexnet", "quick")
    assert record["settings"]["image_size"] == quick["image_size"]
    # the source recipe on the same split says which recipe a short page keeps
    assert record["source"]["recipe"] == "alexnet-source"
    best = max(record["runs"].values(), key=lambda r: r["val_accuracy"])
    expected = ("alexnet-improved" if best["val_accuracy"] >= record["source"]["val_accuracy"]
                else "alexnet-source")
    assert record["keep_when_short"] == expected

    # a second call with the same split and settings keeps every recorded run
    def no_training(*args, **kwargs):
        raise AssertionError("trained a run that the record already holds")

    script._train = no_training
    again = script.main(["--warmups", "0.1", "0.3", "--train-images", "20", "--val-images",
                         "20", "--epochs", "1", "--batch-size", "10", "--device", "cpu",
                         "--out", str(out)], train_set=fake)
    assert again["runs"] == record["runs"] and again["source"] == record["source"]
