"""Bad arguments to the public functions of book_utils.cifar: each one is refused by
book_utils itself, with a message that names the argument, never a traceback from inside
torch and never a silently wrong result."""
import math

import pytest
import torch
from torch import nn

from book_utils import cifar, data

SRC = cifar.get_recipe("resnet-source")
ALEX = cifar.get_recipe("alexnet-source")


def _fake(n=8, size=32, labels=None):
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 3, size, size), generator=g, dtype=torch.uint8)
    labels = torch.arange(n) % 10 if labels is None else labels
    return data.ImageTensors(images, labels, data.CIFAR10_CLASSES, "fake")


def _opt():
    return torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)


def _recipe(**changes):
    settings = dict(name="x", model="resnet18", title="x", image_size=32, mean=(0.5,) * 3,
                    std=(0.25,) * 3, lr=0.1)
    settings.update(changes)
    return cifar.Recipe(**settings)


BATCH = torch.zeros(4, 3, 8, 8, dtype=torch.uint8)

# (module, call, exception, words the message must contain)
CASES = [
    # augment
    ("augment", lambda: cifar.random_crop(BATCH[0], 2), ValueError, "(B, C, H, W)"),
    ("augment", lambda: cifar.random_crop(BATCH.numpy(), 2), TypeError, "torch.Tensor"),
    ("augment", lambda: cifar.random_crop(BATCH, -1), ValueError, "padding must be >= 0"),
    ("augment", lambda: cifar.random_crop(BATCH, 1.5), TypeError, "padding must be an integer"),
    ("augment", lambda: cifar.random_crop(BATCH, 2, torch.zeros(4, 2)), TypeError, "offsets"),
    ("augment", lambda: cifar.random_crop(BATCH, 2, torch.zeros(3, 2, dtype=torch.long)),
     ValueError, "(4, 2)"),
    ("augment", lambda: cifar.random_crop(BATCH, 2, torch.full((4, 2), 5)), ValueError,
     "values in [0, 4]"),
    ("augment", lambda: cifar.random_flip(BATCH, p=1.5), ValueError, "p must be <= 1"),
    ("augment", lambda: cifar.random_flip(BATCH, p=float("nan")), ValueError, "finite"),
    ("augment", lambda: cifar.random_flip(BATCH, p="0.5"), TypeError, "p must be a number"),
    ("augment", lambda: cifar.random_flip(BATCH, mask=torch.tensor([True])), ValueError,
     "shape (4,)"),
    ("augment", lambda: cifar.random_flip(BATCH, mask=torch.ones(4)), TypeError, "bool"),
    ("augment", lambda: cifar.BatchTransform(0), ValueError, "image_size must be >= 1"),
    ("augment", lambda: cifar.BatchTransform(32.5), TypeError, "image_size"),
    ("augment", lambda: cifar.BatchTransform(32, std=(1, 0, 1)), ValueError, "std[1] must be > 0"),
    ("augment", lambda: cifar.BatchTransform(32, mean=(0, math.nan, 0)), ValueError, "mean[1]"),
    ("augment", lambda: cifar.BatchTransform(32, mean="rgb"), ValueError, "three values"),
    ("augment", lambda: cifar.BatchTransform(32, crop_padding=-2), ValueError, "crop_padding"),
    ("augment", lambda: cifar.BatchTransform(32, flip="yes"), TypeError, "flip must be True"),
    ("augment", lambda: cifar.BatchTransform(32)(torch.zeros(0, 3, 32, 32, dtype=torch.uint8)),
     ValueError, "B >= 1"),
    ("augment", lambda: cifar.sample_transform("resnet-source", True), TypeError,
     "recipe must be a Recipe"),
    ("augment", lambda: cifar.sample_transform(SRC, "train"), TypeError, "train must be"),
    ("augment", lambda: cifar.resize_cost(0, 227), ValueError, "src must be >= 1"),
    ("augment", lambda: cifar.resize_cost(32, 227.5), TypeError, "dst must be an integer"),
    ("augment", lambda: cifar.resize_cost(32, 227, channels=0), ValueError, "channels"),
    # recipes
    ("recipes", lambda: _recipe(lr=math.nan), ValueError, "lr must be a finite number"),
    ("recipes", lambda: _recipe(lr=0), ValueError, "lr must be > 0"),
    ("recipes", lambda: _recipe(image_size=16), ValueError, "image_size must be >= 32"),
    ("recipes", lambda: _recipe(image_size=32.0), TypeError, "image_size must be an integer"),
    ("recipes", lambda: _recipe(label_smoothing=1.0), ValueError, "label_smoothing"),
    ("recipes", lambda: _recipe(momentum=-0.9), ValueError, "momentum must be >= 0"),
    ("recipes", lambda: _recipe(weight_decay=math.inf), ValueError, "weight_decay"),
    ("recipes", lambda: _recipe(std=(0.2, 0.0, 0.2)), ValueError, "std[1] must be > 0"),
    ("recipes", lambda: _recipe(mean=(0.5, 0.5)), ValueError, "three values"),
    ("recipes", lambda: _recipe(reference_batch=0), ValueError, "reference_batch"),
    ("recipes", lambda: _recipe(schedule="step"), ValueError, "schedule must be"),
    ("recipes", lambda: _recipe(model="vgg"), ValueError, "model must be"),
    ("recipes", lambda: cifar.get_recipe("vgg-source"), KeyError, "known recipes"),
    ("recipes", lambda: cifar.get_recipe(None), KeyError, "known recipes"),
    ("recipes", lambda: cifar.replace_size(ALEX, 64), ValueError, "AlexNet needs image_size"),
    ("recipes", lambda: cifar.replace_size(ALEX, 100.5), TypeError, "image_size"),
    ("recipes", lambda: cifar.replace_size("alexnet-source", 128), TypeError, "Recipe"),
    ("recipes", lambda: cifar.get_recipe("resnet-improved").lr_for(0), ValueError,
     "batch_size must be >= 1"),
    ("recipes", lambda: cifar.get_recipe("resnet-improved").lr_for(64.0), TypeError,
     "batch_size"),
    # batches
    ("batches", lambda: cifar.DeviceBatches(_fake(), 0, shuffle=False), ValueError,
     "batch_size must be >= 1"),
    ("batches", lambda: cifar.DeviceBatches(_fake(), 2.5, shuffle=False), TypeError,
     "batch_size must be an integer"),
    ("batches", lambda: cifar.DeviceBatches((BATCH, torch.zeros(4)), 2, shuffle=False),
     TypeError, "ImageTensors"),
    ("batches", lambda: cifar.DeviceBatches(_fake(labels=torch.zeros(8)), 2, shuffle=False),
     TypeError, "integer class labels"),
    ("batches", lambda: cifar.DeviceBatches(_fake(labels=torch.zeros(7, dtype=torch.long)), 2,
                                            shuffle=False), ValueError, "8 images but 7"),
    ("batches", lambda: cifar.DeviceBatches(_fake(), 2, shuffle=False, indices=[0, 8]),
     ValueError, "[0, 8)"),
    ("batches", lambda: cifar.DeviceBatches(_fake(), 2, shuffle=False, indices=[]),
     ValueError, "selects no image"),
    ("batches", lambda: cifar.DeviceBatches(_fake(), 2, shuffle=False, indices=[0.5]),
     TypeError, "integers"),
    ("batches", lambda: cifar.DeviceBatches(_fake(), 2, shuffle=False, transform="flip"),
     TypeError, "transform must be callable"),
    # factories
    ("factories", lambda: cifar.make_model("resnet-source"), TypeError, "Recipe"),
    ("factories", lambda: cifar.make_model(SRC, num_classes=1), ValueError, "num_classes"),
    ("factories", lambda: cifar.make_optimizer([nn.Parameter(torch.zeros(1))], SRC), TypeError,
     "nn.Module"),
    ("factories", lambda: cifar.make_optimizer(nn.ReLU(), SRC), ValueError, "no parameters"),
    ("factories", lambda: cifar.make_optimizer(nn.Linear(1, 1), SRC, 0), ValueError,
     "batch_size"),
    ("factories", lambda: cifar.make_loss(None), TypeError, "Recipe"),
    ("factories", lambda: cifar.runtime_options("gpu"), ValueError, "'cpu', 'cuda'"),
    ("factories", lambda: cifar.training_speed(SRC, "cpu", 0), ValueError, "batch_size"),
    ("factories", lambda: cifar.training_speed(SRC, "cpu", 2, steps=True), TypeError, "steps"),
    ("factories", lambda: cifar.training_speed(SRC, "tpu", 2), ValueError, "device"),
    # schedules
    ("schedules", lambda: cifar.make_scheduler(_opt(), SRC, 0, 10), ValueError,
     "epochs must be >= 1"),
    ("schedules", lambda: cifar.make_scheduler(_opt(), SRC, 2, 2.5), TypeError,
     "steps_per_epoch"),
    ("schedules", lambda: cifar.make_scheduler(object(), SRC, 2, 10), TypeError, "optimizer"),
    ("schedules", lambda: cifar.make_scheduler(_opt(), "resnet-source", 2, 10), TypeError,
     "Recipe"),
    ("schedules", lambda: cifar.schedule_trace(SRC, 2, 0), ValueError, "steps_per_epoch"),
    ("schedules", lambda: cifar.schedule_trace(SRC, 1.5, 3), TypeError, "epochs"),
    ("schedules", lambda: cifar.cosine_lr(1, 0, 1e-3), ValueError, "t_max must be > 0"),
    ("schedules", lambda: cifar.cosine_lr(math.nan, 10, 1e-3), ValueError, "t must be"),
    ("schedules", lambda: cifar.cosine_lr(-1, 10, 1e-3), ValueError, "t must be >= 0"),
    ("schedules", lambda: cifar.cosine_lr(1, 10, "1e-3"), TypeError, "eta_max"),
    # report
    ("report", lambda: cifar.per_class_accuracy(torch.zeros(2, 3)), ValueError, "square"),
    ("report", lambda: cifar.per_class_accuracy([[3, -1], [0, 4]]), ValueError, "counts"),
    ("report", lambda: cifar.per_class_accuracy([[0.5, 0.5], [0, 1]]), ValueError, "counts"),
    ("report", lambda: cifar.per_class_accuracy("cm"), TypeError, "matrix of counts"),
    ("report", lambda: cifar.per_class_table("abc", {"x": torch.zeros(3)}), TypeError,
     "class names"),
    ("report", lambda: cifar.per_class_table(["a", "b"], [torch.zeros(2)]), TypeError,
     "dict"),
    ("report", lambda: cifar.per_class_table(["a", "b"], {"x": torch.tensor([50.0, 30.0])}),
     ValueError, "fractions in [0, 1]"),
    ("report", lambda: cifar.per_class_table(["a", "b"], {"x": torch.zeros(3)}), ValueError,
     "expected (2,)"),
    ("report", lambda: cifar.comparison_table("run", None, "quick", "x"), TypeError,
     "RunResult"),
    ("report", lambda: cifar.comparison_table([], "recorded", "quick", "x"), TypeError,
     "recorded"),
    # runs
    ("runs", lambda: cifar.run_recipe("resnet-source", _fake(), _fake(), 1, 4), TypeError,
     "Recipe"),
    ("runs", lambda: cifar.run_recipe(SRC, (BATCH, torch.zeros(4)), _fake(), 1, 4), TypeError,
     "train_data must be an ImageTensors"),
    ("runs", lambda: cifar.run_recipe(SRC, _fake(), _fake(n=4, size=16).images, 1, 4),
     TypeError, "test_data"),
    ("runs", lambda: cifar.run_recipe(SRC, _fake(), _fake(), 0, 4, checkpoint=False),
     ValueError, "epochs must be >= 1"),
    ("runs", lambda: cifar.run_recipe(SRC, _fake(), _fake(), 1, 4.0, checkpoint=False),
     TypeError, "batch_size"),
    ("runs", lambda: cifar.run_recipe(SRC, _fake(), _fake(), 1, 4, device="gpu",
                                      checkpoint=False), ValueError, "'cpu', 'cuda'"),
    ("runs", lambda: cifar.run_recipe(SRC, _fake(), _fake(), 1, 4, train_indices=[99],
                                      checkpoint=False), ValueError, "[0, 8)"),
    ("runs", lambda: cifar.checkpoint_file("resnet-source", "quick", 1, 4, 8), TypeError,
     "Recipe"),
    ("runs", lambda: cifar.checkpoint_file(SRC, "fast", 1, 4, 8), ValueError, "profile"),
]


@pytest.mark.parametrize("module, call, error, words", CASES,
                         ids=[f"{c[0]}-{k}" for k, c in enumerate(CASES)])
def test_bad_argument_is_refused_by_book_utils_with_a_clear_message(module, call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)
    # raised by book_utils itself, not from deep inside torch or torchvision
    frames = [tb.tb_frame.f_code.co_filename for tb in _walk(info.tb)]
    assert "book_utils" in frames[-1].replace("\\", "/"), frames[-1]


def _walk(tb):
    while tb is not None:
        yield tb
        tb = tb.tb_next


def test_every_module_of_the_package_is_tried():
    assert {c[0] for c in CASES} == {"augment", "recipes", "batches", "factories", "schedules",
                                     "report", "runs"}


def test_good_input_still_works_after_the_checks():
    mask = torch.tensor([True, False, False, True])
    x = torch.arange(4 * 3 * 2 * 2, dtype=torch.uint8).view(4, 3, 2, 2)
    flipped = cifar.random_flip(x, mask=mask)
    assert torch.equal(flipped[0], x[0].flip(-1)) and torch.equal(flipped[1], x[1])
    assert torch.equal(cifar.random_crop(x, 0), x)
    offsets = torch.tensor([[1, 1]] * 4, dtype=torch.int32)      # int32 works like int64
    assert torch.equal(cifar.random_crop(x, 1, offsets), x)
    assert cifar.per_class_accuracy([[3, 1], [0, 4]]).tolist() == [0.75, 1.0]
    nan_row = cifar.per_class_accuracy(torch.tensor([[0, 0], [1, 1]]))
    assert math.isnan(nan_row[0]) and nan_row[1] == 0.5
    assert "nan%" in cifar.per_class_table(["a", "b"], {"x": nan_row})
    assert cifar.cosine_lr(0, 10, 1e-3) == pytest.approx(1e-3)
    assert cifar.cosine_lr(10, 10, 1e-3, 1e-5) == pytest.approx(1e-5)
    assert cifar.replace_size(ALEX, 128).image_size == 128
    assert cifar.get_recipe("resnet-improved").lr_for(64) == pytest.approx(0.05)
