"""Data loaders: real MNIST / CIFAR-10 copies, offline errors, read-only folders, corrupt archives."""
import io
import os
import stat
import tarfile
import urllib.error

import pytest
import torch
from PIL import Image

from book_utils import data


def test_mnist_counts_and_first_label(real_data_root, isolated_cache):
    train = data.load_mnist("train", root=real_data_root, download=False)
    test = data.load_mnist("test", root=real_data_root, download=False)
    assert train.images.shape == (60000, 1, 28, 28) and train.images.dtype == torch.uint8
    assert test.images.shape == (10000, 1, 28, 28)
    assert int(train.labels[0]) == 5
    assert train.labels.bincount().tolist()[:3] == [5923, 6742, 5958]
    # decoded once per process: the second call returns the same tensors
    assert data.load_mnist("train", root=real_data_root, download=False).images is train.images


def test_cifar10_archive_counts(real_data_root, isolated_cache):
    test = data.load_cifar10("test", root=real_data_root, download=False)
    assert test.images.shape == (10000, 3, 32, 32) and test.images.dtype == torch.uint8
    assert test.labels.bincount().tolist() == [1000] * 10
    assert test.classes == data.CIFAR10_CLASSES
    assert "JPEG copy" in test.source
    # extracted into the cache, never beside the archive
    assert any((isolated_cache / "extracted").iterdir())


@pytest.fixture
def tiny_counts(monkeypatch):
    """Let 2 images per class (and 3 MNIST images) pass the count checks, for tiny copies."""
    monkeypatch.setitem(data.CIFAR10_PER_CLASS, "train", 2)
    monkeypatch.setitem(data.CIFAR10_PER_CLASS, "test", 2)
    monkeypatch.setitem(data.MNIST_SPLIT_SIZES, "train", 3)
    monkeypatch.setitem(data.MNIST_SPLIT_SIZES, "test", 3)


def _write_tiny_cifar(folder, per_class=2, size=32):
    for k, name in enumerate(data.CIFAR10_CLASSES):
        d = folder / "train" / name
        d.mkdir(parents=True)
        for i in range(per_class):
            Image.new("RGB", (size, size), (k * 20, i * 50, 7)).save(d / f"{i:04d}.png")


def test_cifar10_class_folders_in_read_only_folder(tmp_path, isolated_cache, tiny_counts):
    root = tmp_path / "ro"
    _write_tiny_cifar(root / "cifar10")
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    for p in [root, *root.rglob("*")]:
        if p.is_dir():
            p.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        got = data.load_cifar10("train", root=root, download=False)
    finally:
        for p in [root, *root.rglob("*")]:
            if p.is_dir():
                p.chmod(stat.S_IRWXU)
    assert got.images.shape == (20, 3, 32, 32)
    assert got.labels.tolist() == [k for k in range(10) for _ in range(2)]
    assert int(got.images[2, 0, 0, 0]) == 20  # class 1 ("automobile") has red = 20
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before


def test_cifar10_from_archive_and_corrupt_archive(tmp_path, isolated_cache, tiny_counts):
    src = tmp_path / "src"
    _write_tiny_cifar(src)
    mirror = tmp_path / "mirror" / "cifar10-jpg"
    mirror.mkdir(parents=True)
    with tarfile.open(mirror / "train.tar.gz", "w:gz") as tar:
        tar.add(src / "train", arcname="train")
    got = data.load_cifar10("train", root=tmp_path / "mirror", download=False)
    assert got.labels.bincount().tolist() == [2] * 10

    broken = tmp_path / "broken" / "cifar10-jpg"
    broken.mkdir(parents=True)
    blob = (mirror / "train.tar.gz").read_bytes()
    (broken / "train.tar.gz").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(data.CorruptDataError, match="truncated or corrupt"):
        data.load_cifar10("train", root=tmp_path / "broken", download=False)
    # the failed extraction leaves nothing that a later call could mistake for data
    leftovers = [p for p in (isolated_cache / "extracted").iterdir() if "broken" in str(p)]
    assert leftovers == []


def test_wrong_class_folders_are_reported(tmp_path, isolated_cache):
    d = tmp_path / "cifar10" / "train"
    for name in ("airplane", "cat"):
        (d / name).mkdir(parents=True)
        Image.new("RGB", (32, 32)).save(d / name / "0.png")
    with pytest.raises(data.CorruptDataError, match="ten CIFAR-10 class folders"):
        data.load_cifar10("train", root=tmp_path, download=False)


def test_missing_data_error_names_every_path(tmp_path, isolated_cache):
    with pytest.raises(data.DataNotFoundError) as err:
        data.load_mnist("train", root=tmp_path, download=False)
    text = str(err.value)
    assert str(tmp_path / "MNIST" / "raw") in text and "CNN_BOOK_DATA" in text
    with pytest.raises(data.DataNotFoundError) as err:
        data.load_cifar10("test", root=tmp_path, download=False)
    assert "cifar-10-batches-py" in str(err.value) and "test.tar.gz" in str(err.value)


def test_failed_download_gives_one_clear_error(tmp_path, isolated_cache, monkeypatch):
    import torchvision.datasets as tvd

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(tvd, "MNIST", offline)
    monkeypatch.setattr(tvd, "CIFAR10", offline)
    with pytest.raises(data.DataNotFoundError, match="download into .* failed .*URLError") as err:
        data.load_mnist("test", root=tmp_path, download=True)
    assert err.value.__cause__ is None and err.value.__suppress_context__
    with pytest.raises(data.DataNotFoundError, match="failed"):
        data.load_cifar10("test", root=tmp_path, download=True)


def test_bad_split():
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        data.load_mnist("validation")


def test_data_roots_from_environment(tmp_path, monkeypatch, isolated_cache):
    a, b = tmp_path / "a", tmp_path / "b"
    monkeypatch.setenv("CNN_BOOK_DATA", f"{a}{os.pathsep}{b}")
    roots = data.data_roots()
    assert roots[:2] == [a.absolute(), b.absolute()] and roots[-1] == data.default_data_dir()


def test_stratified_indices_and_dataset():
    labels = torch.arange(10).repeat_interleave(30)
    idx = data.stratified_indices(labels, 25, seed=1)
    assert idx.numel() == 25 and len(set(idx.tolist())) == 25
    counts = labels[idx].bincount(minlength=10)
    assert counts.max() - counts.min() <= 1
    assert torch.equal(idx, data.stratified_indices(labels, 25, seed=1))
    assert data.stratified_indices(labels, None) is None and data.stratified_indices(labels, 1000) is None
    with pytest.raises(ValueError, match="subset size"):
        data.stratified_indices(labels, 0)
    images = torch.randint(0, 256, (300, 1, 4, 4), dtype=torch.uint8)
    ds = data.TensorImageDataset(data.ImageTensors(images, labels, tuple("0123456789"), "test"), indices=idx)
    x, y = ds[0]
    assert len(ds) == 25 and x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1
    assert y == int(labels[idx[0]]) and torch.equal(ds.targets, labels[idx])
    with pytest.raises(ValueError, match="batch_size"):
        data.make_loader(ds, 0, shuffle=False)
