"""Bad inputs of the three classes of issue 22, across book_utils: training inputs that reach
torch unchecked, file-system faults unwrapped or blamed on the wrong thing, and evaluation
that is quietly wrong. Each case asserts the error type, the words of the message and that
it is raised in a book_utils frame (not deep inside torch, tarfile or the OS)."""
import errno
import gzip
import math
import os
import tarfile
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from book_utils import data, train
from book_utils.data import CorruptDataError
from book_utils.train import checkpoints


def _loader(n=16, classes=3, dtype=torch.float32, low=0, device="cpu"):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, 1, 4, 4, generator=g).to(dtype)
    y = torch.randint(low, classes, (n,), generator=g)
    y[0], y[1] = low, classes - 1           # the whole range, in the first batch
    return DataLoader(TensorDataset(x.to(device), y.to(device)), batch_size=8)


def _model(classes=3):
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, classes))


def _sgd(model, lr=0.1):
    return torch.optim.SGD(model.parameters(), lr=lr)


def _fit(model=None, loader=None, lr=0.1, **kw):
    model = model if model is not None else _model()
    opt = kw.pop("optimizer", None) or _sgd(model, lr)
    return train.fit(model, loader if loader is not None else _loader(), opt, 1,
                     progress=False, **kw)


def _meta_model():
    return _model().to("meta")


def _split_model():
    model = _model()
    model[1].bias = nn.Parameter(torch.zeros(3, device="meta"))
    return model


def _frozen():
    model = _model()
    model.requires_grad_(False)
    return model


def _partly_frozen_optimizer():
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3), nn.Linear(3, 3))
    model[1].requires_grad_(False)
    return dict(model=model, optimizer=torch.optim.SGD(model[1].parameters(), lr=0.1))


def _lr(value):
    model = _model()
    opt = _sgd(model)
    opt.param_groups[0]["lr"] = value
    return dict(model=model, optimizer=opt)


def _late_bad_label():
    x = torch.rand(16, 1, 4, 4)
    y = torch.zeros(16, dtype=torch.long)
    y[12] = 7                                   # in the second batch
    return DataLoader(TensorDataset(x, y), batch_size=8)


# (id, call, error, message regex); calls take (tmp_path, monkeypatch)
TRAINING_CASES = [
    ("fit-label-too-large", lambda t, m: _fit(loader=_loader(classes=5)),
     ValueError, r"class labels run from 0 to 4 but the model has 3 outputs.*num_classes=5"),
    ("fit-label-negative", lambda t, m: _fit(loader=_loader(low=-2)),
     ValueError, r"class labels run from -2 .* 3 outputs"),
    ("evaluate-label-too-large", lambda t, m: train.evaluate(_model(), _loader(classes=9)),
     ValueError, r"loader: class labels run from 0 to 8 but the model has 3 outputs"),
    ("evaluate-label-in-a-later-batch", lambda t, m: train.evaluate(_model(), _late_bad_label()),
     ValueError, r"class labels run from 0 to 7"),
    ("evaluate-tta-label-too-large",
     lambda t, m: train.evaluate(_model(), _loader(classes=4), tta_flip=True, per_image=True),
     ValueError, r"labels run from 0 to 3 but the model has 3 outputs"),
    ("fit-model-on-other-device", lambda t, m: _fit(model=_meta_model(), device="cpu"),
     ValueError, r"parameters or buffers on meta but device='cpu'.*model\.to\('cpu'\)"),
    ("evaluate-model-on-other-device",
     lambda t, m: train.evaluate(_meta_model(), _loader(), device="cpu"),
     ValueError, r"on meta but device='cpu'"),
    ("predict-model-on-other-device",
     lambda t, m: train.predict(_meta_model(), _loader(), device="cpu"),
     ValueError, r"on meta but device='cpu'"),
    ("fit-model-split-over-devices", lambda t, m: _fit(model=_split_model()),
     ValueError, r"on meta but its first parameter is on cpu"),
    ("fit-unknown-device", lambda t, m: _fit(device="gpu"),
     ValueError, r"device must be a torch.device or a name such as 'cpu'"),
    ("fit-float64-inputs", lambda t, m: _fit(loader=_loader(dtype=torch.float64)),
     TypeError, r"inputs are float64 but the model's parameters are float32"),
    ("evaluate-float64-inputs",
     lambda t, m: train.evaluate(_model(), _loader(dtype=torch.float64)),
     TypeError, r"inputs are float64 but the model's parameters are float32"),
    ("predict-float64-model", lambda t, m: train.predict(_model().double(), _loader()),
     TypeError, r"inputs are float32 but the model's parameters are float64.*"),
    ("fit-nothing-trainable", lambda t, m: _fit(model=_frozen()),
     ValueError, r"the model has no trainable parameter \(requires_grad=False\)"),
    ("fit-optimizer-holds-only-frozen", lambda t, m: _fit(**_partly_frozen_optimizer()),
     ValueError, r"every parameter the optimizer holds is frozen"),
    ("fit-lr-zero", lambda t, m: _fit(**_lr(0.0)),
     ValueError, r"param group 0 has learning rate 0\.0: .*0, negative, NaN"),
    ("fit-lr-negative", lambda t, m: _fit(**_lr(-0.1)),
     ValueError, r"learning rate -0\.1"),
    ("fit-lr-nan", lambda t, m: _fit(**_lr(math.nan)),
     ValueError, r"learning rate nan"),
    ("fit-lr-inf", lambda t, m: _fit(**_lr(math.inf)),
     ValueError, r"learning rate inf"),
    ("fit-lr-not-a-number", lambda t, m: _fit(**_lr("fast")),
     ValueError, r"learning rate 'fast'; it must be a number > 0"),
]


# ------------------------------------------------------------------ file system

def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def _stream_failed(*args, **kwargs):
    raise RuntimeError("[enforce fail at inline_container.cc:664] . PytorchStreamWriter "
                       "failed writing file data/0: file write failed")


def _patched_save(t, m, fault):
    path = t / "run.pt"
    train.save_checkpoint(path, _model(), epoch=1)
    m.setattr(checkpoints.torch, "save", fault)
    train.save_checkpoint(path, _model(), epoch=2)


def _fit_into(path):
    return _fit(checkpoint=path)


def _file_at(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("not a folder")
    return path


def _mnist_gz(folder: Path, corrupt=None) -> Path:
    raw = folder / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name, magic, dims in [("train-images-idx3-ubyte", 2051, (60000, 28, 28)),
                              ("train-labels-idx1-ubyte", 2049, (60000,)),
                              ("t10k-images-idx3-ubyte", 2051, (10000, 28, 28)),
                              ("t10k-labels-idx1-ubyte", 2049, (10000,))]:
        head = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims)
        body = bytes(math.prod(dims))
        blob = gzip.compress(head + body, compresslevel=1)
        if name == corrupt:
            blob = blob[: len(blob) // 2]
        (raw / f"{name}.gz").write_bytes(blob)
    return folder


def _link_loop(t):
    root = t / "data" / "cifar10" / "train"
    for name in data.CIFAR10_CLASSES:
        (root / name).mkdir(parents=True)
    from PIL import Image
    Image.new("RGB", (32, 32)).save(root / "cat" / "0.png")
    os.symlink(root, root / "cat" / "again")
    return data.load_cifar10("train", root=t / "data", download=False)


def _archive_with_write_fault(t, m, code):
    src = t / "src" / "train" / "cat"
    src.mkdir(parents=True)
    (src / "0.png").write_bytes(b"x")
    archive = t / "data" / "cifar10-jpg" / "train.tar.gz"
    archive.parent.mkdir(parents=True)
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(t / "src" / "train", arcname="train")

    def fail(self, path, *a, **k):
        raise OSError(code, os.strerror(code), str(Path(path) / "train" / "cat" / "0.png"))
    m.setattr(tarfile.TarFile, "extractall", fail)
    return data.load_cifar10("train", root=t / "data", download=False)


FILE_CASES = [
    ("checkpoint-folder-is-a-file",
     lambda t, m: _fit_into(_file_at(t / "blocked") / "run.pt"),
     OSError, r"cannot write the checkpoint .*run\.pt: .*blocked is a file where a folder "
              r"should be; set CNN_BOOK_CHECKPOINTS to a writable folder"),
    ("checkpoint-path-is-a-folder", lambda t, m: _fit_into(t),
     IsADirectoryError, r"checkpoint .* is a folder; pass a file path"),
    ("checkpoint-disk-full", lambda t, m: _patched_save(t, m, _disk_full),
     OSError, r"run\.pt: the disk is full .*free some space.*earlier checkpoint there is "
              r"unchanged"),
    ("checkpoint-serializer-write-failed", lambda t, m: _patched_save(t, m, _stream_failed),
     OSError, r"cannot write the checkpoint .*run\.pt: the disk is full"),
    ("checkpoint-no-permission",
     lambda t, m: (m.setattr(checkpoints.os, "replace",
                             lambda *a: (_ for _ in ()).throw(PermissionError(13, "denied"))),
                   train.save_checkpoint(t / "run.pt", _model())),
     OSError, r"run\.pt: no permission to write there"),
    ("checkpoint-read-only",
     lambda t, m: (m.setattr(checkpoints.os, "replace",
                             lambda *a: (_ for _ in ()).throw(OSError(errno.EROFS, "ro"))),
                   train.save_checkpoint(t / "run.pt", _model())),
     OSError, r"the file system is read-only"),
    ("checkpoint-dir-env-is-a-file",
     lambda t, m: (m.setenv("CNN_BOOK_CHECKPOINTS", str(_file_at(t / "ck"))),
                   train.checkpoint_dir()),
     OSError, r"cannot create the checkpoint folder .*ck: .*ck is a file where a folder"),
    ("checkpoint-path-under-a-file-env",
     lambda t, m: (m.setenv("CNN_BOOK_CHECKPOINTS", str(_file_at(t / "ck") / "sub")),
                   train.checkpoint_path("lenet5", "quick")),
     OSError, r"ck is a file where a folder should be"),
    ("mnist-root-is-a-file",
     lambda t, m: data.load_mnist(root=_file_at(t / "mnist.tar.gz"), download=False),
     NotADirectoryError, r"data folder .*mnist\.tar\.gz \(from root\) is a file, not a "
                         r"folder; pass the folder that holds it"),
    ("cifar-root-is-a-file",
     lambda t, m: data.load_cifar10(root=_file_at(t / "cifar"), download=False),
     NotADirectoryError, r"cifar \(from root\) is a file, not a folder"),
    ("data-env-is-a-file",
     lambda t, m: (m.setenv("CNN_BOOK_DATA", str(_file_at(t / "d"))),
                   data.load_mnist(download=False)),
     NotADirectoryError, r"\(from CNN_BOOK_DATA\) is a file"),
    ("data-root-is-a-link-loop",
     lambda t, m: (os.symlink(t / "loop", t / "loop"), data.load_mnist(root=t / "loop")),
     NotADirectoryError, r"is a link to .*loop that leads nowhere \(a link loop"),
    ("cifar-class-folder-link-loop", lambda t, m: _link_loop(t),
     CorruptDataError, r"cat/again is a link back to .*train, a folder already read \(a link "
                       r"loop\).*Remove the link"),
    ("mnist-gz-truncated",
     lambda t, m: data.load_mnist("train", root=_mnist_gz(t / "d", "train-labels-idx1-ubyte"),
                                  download=False),
     CorruptDataError, r"train-labels-idx1-ubyte\.gz is not a complete gzip file"),
    ("mnist-gz-cache-not-writable",
     lambda t, m: (_file_at(t / "cache" / "decompressed"),
                   data.load_mnist("test", root=_mnist_gz(t / "d"), download=False)),
     OSError, r"cannot write into the cache folder .*decompressed/mnist-.*; set CNN_BOOK_CACHE"),
    ("archive-extract-quota-is-the-cache",
     lambda t, m: _archive_with_write_fault(t, m, getattr(errno, "EDQUOT", errno.ENOSPC)),
     OSError, r"cannot write into the cache folder .*extracted"),
    ("archive-extract-permission-is-the-cache",
     lambda t, m: _archive_with_write_fault(t, m, errno.EPERM),
     OSError, r"cannot write into the cache folder"),
]


def _other_optimizer_state(t):
    path = t / "adam.pt"
    model = _model()
    adam = torch.optim.Adam(model.parameters())
    _fit(model=model, optimizer=adam, checkpoint=path)
    two_groups = torch.optim.SGD([{"params": [model[1].weight]}, {"params": [model[1].bias]}],
                                 lr=0.1)
    train.load_checkpoint(path, model, two_groups)


def _cifar_labels_beyond_classes(t):
    from dataclasses import replace

    from book_utils import cifar
    from book_utils.data import ImageTensors
    images = torch.zeros(4, 3, 32, 32, dtype=torch.uint8)
    bad = ImageTensors(images, torch.tensor([0, 1, 2, 12]), tuple("abcdefghij"), "bad")
    recipe = replace(cifar.get_recipe("resnet-source"), schedule="constant")
    cifar.run_recipe(recipe, bad, bad, 1, 4, device="cpu", checkpoint=False,
                     val_each_epoch=False, progress=False)


def _cifar_checkpoint_under_a_file(t):
    from dataclasses import replace

    from book_utils import cifar
    from book_utils.data import ImageTensors
    ok = ImageTensors(torch.zeros(4, 3, 32, 32, dtype=torch.uint8), torch.tensor([0, 1, 2, 3]),
                      tuple("abcdefghij"), "ok")
    recipe = replace(cifar.get_recipe("resnet-source"), schedule="constant")
    cifar.run_recipe(recipe, ok, ok, 1, 4, device="cpu", val_each_epoch=False, progress=False,
                     checkpoint=_file_at(t / "drive") / "r.pt")


MORE_CASES = [
    ("load-checkpoint-of-another-optimizer", lambda t, m: _other_optimizer_state(t),
     ValueError, r"adam\.pt holds the state of another optimizer or schedule.*delete it or "
                 r"set CNN_BOOK_FRESH=1"),
    ("run-recipe-labels-beyond-the-classes", lambda t, m: _cifar_labels_beyond_classes(t),
     ValueError, r"train_loader: class labels run from 0 to 12 but the model has 10 outputs"),
    ("run-recipe-checkpoint-under-a-file", lambda t, m: _cifar_checkpoint_under_a_file(t),
     OSError, r"cannot write the checkpoint .*r\.pt: .*drive is a file where a folder"),
    ("cache-env-is-a-file",
     lambda t, m: (m.setenv("CNN_BOOK_CACHE", str(_file_at(t / "c"))), data.cache_dir()),
     OSError, r"the cache folder .*c cannot be created .*set CNN_BOOK_CACHE"),
    ("evaluate-per-image-model-on-other-device",
     lambda t, m: train.evaluate(_meta_model(), _loader(), device="cpu", per_image=True),
     ValueError, r"on meta but device='cpu'"),
]


def _ids(cases):
    return [c[0] for c in cases]


ALL_CASES = TRAINING_CASES + FILE_CASES + MORE_CASES


def test_there_are_at_least_forty_cases():
    assert len({c[0] for c in ALL_CASES}) == len(ALL_CASES) >= 40


@pytest.mark.parametrize("name, call, error, match", ALL_CASES, ids=_ids(ALL_CASES))
def test_bad_input(name, call, error, match, tmp_path, monkeypatch, isolated_cache):
    with pytest.raises(error, match=match) as info:
        call(tmp_path, monkeypatch)
    assert not isinstance(info.value, CorruptDataError) or error is CorruptDataError
    raised_in = Path(str(info.traceback[-1].path))
    assert "book_utils" in raised_in.parts, f"raised in {raised_in}"


# ------------------------------------------------------------------ what the checks must not break

def test_a_frozen_model_can_still_be_evaluated():
    model = _frozen()
    assert train.evaluate(model, _loader())["n"] == 16
    assert train.predict(model, _loader())[0].shape == (16,)


def test_a_scheduler_that_starts_at_zero_is_not_a_zero_learning_rate():
    model = _model()
    opt = _sgd(model, 0.1)
    warmup = torch.optim.lr_scheduler.LambdaLR(opt, lambda e: e / 2)   # lr 0 in epoch 1
    hist = train.fit(model, _loader(), opt, 2, scheduler=warmup, progress=False)
    assert [e["lr"] for e in hist.epochs] == [0.05, 0.1]


def test_ignore_index_labels_pass_the_label_check():
    x = torch.rand(8, 1, 4, 4)
    y = torch.tensor([0, 1, 2, -100, 0, 1, 2, -100])
    res = train.evaluate(_model(), [(x, y)], loss_fn=nn.CrossEntropyLoss())
    assert res["n"] == 8


def test_a_failed_checkpoint_write_fails_before_any_epoch(tmp_path):
    model = _model()
    before = [p.clone() for p in model.parameters()]
    ran = []
    with pytest.raises(OSError, match="is a file where a folder should be"):
        _fit(model=model, checkpoint=_file_at(tmp_path / "f") / "x.pt",
             on_epoch_end=lambda h: ran.append(1))
    assert not ran and all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_a_failed_write_after_an_epoch_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "run.pt"
    model = _model()
    _fit(model=model, checkpoint=path)
    good = path.read_bytes()
    monkeypatch.setattr(checkpoints.torch, "save", _disk_full)
    with pytest.raises(OSError, match="the disk is full"):
        train.fit(model, _loader(), _sgd(model), 2, progress=False, checkpoint=path)
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.pt"]      # no temp file left
    assert train.load_checkpoint(path, _model())["epoch"] == 1


def test_mnist_from_gz_files_equals_the_raw_files(tmp_path, isolated_cache, real_data_root):
    raw = tmp_path / "d" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
                 "train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        src = real_data_root / "MNIST" / "raw" / name
        (raw / f"{name}.gz").write_bytes(gzip.compress(src.read_bytes(), compresslevel=1))
    packed = data.load_mnist("test", root=tmp_path / "d", download=False)
    plain = data.load_mnist("test", root=real_data_root, download=False)
    assert torch.equal(packed.images, plain.images) and torch.equal(packed.labels, plain.labels)
    assert list((isolated_cache / "decompressed").glob("mnist-*/t10k-images-idx3-ubyte"))
    assert not list(raw.glob("*-ubyte"))          # the data folder itself is left as it was
