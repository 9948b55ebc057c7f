"""Damaged or unusual data files: each fault raises CorruptDataError naming the file.

All bad files are built here from small synthetic data in ``tmp_path``; the shared read-only
copy is never touched. The count checks are relaxed to tiny sizes (3 MNIST images, 2 CIFAR-10
images per class) so that the files stay small.
"""
import pickle
import struct
import tarfile

import numpy as np
import pytest
import torch
from PIL import Image

from book_utils import data


@pytest.fixture
def tiny(monkeypatch, isolated_cache):
    monkeypatch.setitem(data.MNIST_SPLIT_SIZES, "train", 3)
    monkeypatch.setitem(data.MNIST_SPLIT_SIZES, "test", 3)
    monkeypatch.setitem(data.CIFAR10_PER_CLASS, "train", 2)
    monkeypatch.setitem(data.CIFAR10_PER_CLASS, "test", 2)
    return isolated_cache


# --------------------------------------------------------------------------- MNIST (IDX)

def _idx(magic, dims, payload):
    return struct.pack(">I", magic) + struct.pack(f">{len(dims)}I", *dims) + bytes(payload)


def _write_mnist(root, n=3, images=None, labels=None):
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    pixels = np.arange(n * 28 * 28, dtype=np.uint64) % 256
    good = {
        "images-idx3-ubyte": _idx(2051, (n, 28, 28), pixels.astype(np.uint8).tobytes()),
        "labels-idx1-ubyte": _idx(2049, (n,), bytes(range(n))),
    }
    for prefix in ("train", "t10k"):
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(images if images is not None
                                                          else good["images-idx3-ubyte"])
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(labels if labels is not None
                                                          else good["labels-idx1-ubyte"])
    return raw, good


def test_tiny_valid_mnist_loads(tmp_path, tiny):
    _write_mnist(tmp_path)
    got = data.load_mnist("test", root=tmp_path, download=False)
    assert got.images.shape == (3, 1, 28, 28) and got.images.dtype == torch.uint8
    assert got.labels.tolist() == [0, 1, 2]
    assert int(got.images[0, 0, 0, 5]) == 5 and int(got.images[1, 0, 0, 0]) == 784 % 256


def _bad_idx_cases():
    pixels = bytes(3 * 28 * 28)
    good_images = _idx(2051, (3, 28, 28), pixels)
    return {
        "truncated images": ("images", good_images[:-100], "truncated"),
        "cut inside header": ("images", good_images[:10], "ends inside its IDX header"),
        "too short for magic": ("images", b"\x00\x00", "too short"),
        "gzip not decompressed": ("images", b"\x1f\x8b\x08\x00" + good_images, "magic number"),
        "labels magic on images": ("images", _idx(2049, (3, 28, 28), pixels), "magic number"),
        "wrong image size": ("images", _idx(2051, (3, 32, 32), bytes(3 * 32 * 32)),
                             r"expected \(3, 28, 28\)"),
        "wrong count": ("images", _idx(2051, (4, 28, 28), bytes(4 * 28 * 28)),
                        r"expected \(3, 28, 28\)"),
        "padded file": ("images", good_images + b"\x00" * 7, "longer than its header"),
        "truncated labels": ("labels", _idx(2049, (3,), b"\x01\x02"), "truncated"),
        "label count": ("labels", _idx(2049, (2,), b"\x01\x02"), r"expected \(3,\)"),
        "label out of range": ("labels", _idx(2049, (3,), b"\x01\x0c\x02"), "0-9"),
    }


@pytest.mark.parametrize("case", list(_bad_idx_cases()))
def test_bad_idx_file_is_named(tmp_path, tiny, case):
    which, blob, match = _bad_idx_cases()[case]
    kwargs = {which: blob}
    raw, _ = _write_mnist(tmp_path, **kwargs)
    with pytest.raises(data.CorruptDataError, match=match) as err:
        data.load_mnist("test", root=tmp_path, download=False)
    assert str(raw / f"t10k-{which}-idx{3 if which == 'images' else 1}-ubyte") in str(err.value)
    assert "again" in str(err.value)  # says what to do


@pytest.mark.parametrize("fault", ["missing", "a folder"])
def test_partial_mnist_copy_is_named(tmp_path, tiny, fault):
    raw, _ = _write_mnist(tmp_path)
    target = raw / "t10k-images-idx3-ubyte"
    target.unlink()
    if fault == "a folder":
        target.mkdir()
    with pytest.raises(data.CorruptDataError, match="incomplete copy of MNIST: "
                       "t10k-images-idx3-ubyte is missing or not a regular file") as err:
        data.load_mnist("train", root=tmp_path, download=False)
    assert str(raw) in str(err.value) and "copy the missing ones" in str(err.value)


def test_empty_mnist_folder_is_not_found(tmp_path, tiny):
    (tmp_path / "MNIST" / "raw").mkdir(parents=True)
    with pytest.raises(data.DataNotFoundError, match="MNIST was not found"):
        data.load_mnist("test", root=tmp_path, download=False)


# --------------------------------------------------------------------------- CIFAR-10 folders

def _write_cifar(folder, split="train", per_class=2, size=(32, 32), mode="RGB", fmt="png"):
    for k, name in enumerate(data.CIFAR10_CLASSES):
        d = folder / split / name
        d.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            color = (k * 20, i * 50, 7) if mode == "RGB" else k * 20
            Image.new(mode, size, color).save(d / f"{i:04d}.{fmt}")
    return folder / split


def test_tiny_class_folders_with_hidden_files_load(tmp_path, tiny):
    split_dir = _write_cifar(tmp_path / "cifar10")
    (split_dir / "cat" / "._0000.png").write_bytes(b"mac resource fork")  # skipped (hidden)
    (split_dir / "cat" / "notes.txt").write_text("not an image")        # skipped (extension)
    (split_dir / ".ipynb_checkpoints").mkdir()                          # skipped (hidden)
    got = data.load_cifar10("train", root=tmp_path, download=False)
    assert got.images.shape == (20, 3, 32, 32)
    assert got.labels.bincount().tolist() == [2] * 10


@pytest.mark.parametrize("size, mode, match", [
    ((28, 28), "RGB", "28x28 RGB image; CIFAR-10 images are 32x32 RGB"),
    ((32, 32), "L", "32x32 L image"),
    ((32, 32), "RGBA", "32x32 RGBA image"),
    ((64, 64), "RGB", "64x64 RGB image"),
])
def test_image_of_wrong_size_or_mode_is_named(tmp_path, tiny, size, mode, match):
    split_dir = _write_cifar(tmp_path / "cifar10")
    bad = split_dir / "dog" / "0001.png"
    Image.new(mode, size).save(bad)
    with pytest.raises(data.CorruptDataError, match=match) as err:
        data.load_cifar10("train", root=tmp_path, download=False)
    assert str(bad) in str(err.value) and "copy the original images" in str(err.value)


def test_whole_copy_of_another_size_is_refused(tmp_path, tiny):
    _write_cifar(tmp_path / "cifar10", size=(28, 28))
    with pytest.raises(data.CorruptDataError, match="28x28 RGB image"):
        data.load_cifar10("train", root=tmp_path, download=False)


def test_truncated_image_is_named(tmp_path, tiny):
    split_dir = _write_cifar(tmp_path / "cifar10", fmt="jpg")
    bad = split_dir / "ship" / "0000.jpg"
    bad.write_bytes(bad.read_bytes()[:40])
    with pytest.raises(data.CorruptDataError, match="cannot decode the image") as err:
        data.load_cifar10("train", root=tmp_path, download=False)
    assert str(bad) in str(err.value)


def test_not_an_image_is_named(tmp_path, tiny):
    split_dir = _write_cifar(tmp_path / "cifar10")
    bad = split_dir / "frog" / "0000.png"
    bad.write_text("this is text, not a PNG")
    with pytest.raises(data.CorruptDataError, match="cannot decode") as err:
        data.load_cifar10("train", root=tmp_path, download=False)
    assert str(bad) in str(err.value)


@pytest.mark.parametrize("change, match", [
    ("missing class", r"missing: \['truck'\]"),
    ("extra class", r"unexpected: \['zebra'\]"),
    ("one image short", "holds 1 images, expected 2"),
    ("one image too many", "holds 3 images, expected 2"),
])
def test_class_folders_checked(tmp_path, tiny, change, match):
    split_dir = _write_cifar(tmp_path / "cifar10")
    if change == "missing class":
        for f in (split_dir / "truck").iterdir():
            f.unlink()
        (split_dir / "truck").rmdir()
    elif change == "extra class":
        (split_dir / "zebra").mkdir()
    elif change == "one image short":
        (split_dir / "bird" / "0001.png").unlink()
    else:
        Image.new("RGB", (32, 32)).save(split_dir / "bird" / "0009.png")
    with pytest.raises(data.CorruptDataError, match=match) as err:
        data.load_cifar10("train", root=tmp_path, download=False)
    assert str(split_dir) in str(err.value)


def test_real_counts_are_required_by_default(tmp_path, isolated_cache):
    _write_cifar(tmp_path / "cifar10", split="test")
    with pytest.raises(data.CorruptDataError, match="expected 1000"):
        data.load_cifar10("test", root=tmp_path, download=False)


# --------------------------------------------------------------------------- decoded-image cache

def _cache_file(cache):
    files = list((cache / "decoded").glob("*.pt"))
    assert len(files) == 1
    return files[0]


@pytest.mark.parametrize("damage", ["truncated", "garbage", "wrong shape", "wrong dtype",
                                    "wrong labels", "not a dict"])
def test_damaged_decoded_cache_is_rebuilt(tmp_path, tiny, monkeypatch, damage):
    _write_cifar(tmp_path / "cifar10")
    first = data.load_cifar10("train", root=tmp_path, download=False)
    cached = _cache_file(tiny)
    if damage == "truncated":
        cached.write_bytes(cached.read_bytes()[:100])
    elif damage == "garbage":
        cached.write_bytes(b"\x00" * 64)
    elif damage == "wrong shape":
        torch.save({"images": first.images[:, :, :28, :28].clone(), "labels": first.labels}, cached)
    elif damage == "wrong dtype":
        torch.save({"images": first.images.float(), "labels": first.labels}, cached)
    elif damage == "wrong labels":
        torch.save({"images": first.images, "labels": first.labels.flip(0)}, cached)
    else:
        torch.save([first.images, first.labels], cached)
    monkeypatch.setattr(data, "_MEMO", {})
    again = data.load_cifar10("train", root=tmp_path, download=False)
    assert torch.equal(again.images, first.images) and torch.equal(again.labels, first.labels)
    blob = torch.load(_cache_file(tiny), weights_only=True)   # rewritten, now valid
    assert torch.equal(blob["images"], first.images)


# --------------------------------------------------------------------------- archives

def _archive(tmp_path, name="mirror", split="train", **kwargs):
    src = tmp_path / f"src-{name}"
    _write_cifar(src, split=split, **kwargs)
    folder = tmp_path / name / "cifar10-jpg"
    folder.mkdir(parents=True)
    path = folder / f"{split}.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        tar.add(src / split, arcname=split)
    return path


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.9])
def test_archive_cut_anywhere_is_named(tmp_path, tiny, cut):
    path = _archive(tmp_path)
    blob = path.read_bytes()
    path.write_bytes(blob[: int(len(blob) * cut)])
    with pytest.raises(data.CorruptDataError, match="truncated or corrupt") as err:
        data.load_cifar10("train", root=tmp_path / "mirror", download=False)
    assert str(path) in str(err.value)


def test_archive_with_damaged_checksum_is_named(tmp_path, tiny):
    path = _archive(tmp_path)
    blob = bytearray(path.read_bytes())
    blob[-8] ^= 0xFF            # the gzip CRC-32 of the data: only reading to the end finds it
    path.write_bytes(bytes(blob))
    with pytest.raises(data.CorruptDataError, match="truncated or corrupt.*CRC") as err:
        data.load_cifar10("train", root=tmp_path / "mirror", download=False)
    assert str(path) in str(err.value)


def test_archive_that_is_not_gzip_is_named(tmp_path, tiny):
    folder = tmp_path / "m" / "cifar10-jpg"
    folder.mkdir(parents=True)
    (folder / "train.tar.gz").write_bytes(b"PK\x03\x04 a zip file, not a tar.gz" * 10)
    with pytest.raises(data.CorruptDataError, match="truncated or corrupt") as err:
        data.load_cifar10("train", root=tmp_path / "m", download=False)
    assert str(folder / "train.tar.gz") in str(err.value)


def test_archive_of_the_other_split_is_named(tmp_path, tiny):
    path = _archive(tmp_path, split="test")
    path.rename(path.with_name("train.tar.gz"))
    with pytest.raises(data.CorruptDataError, match=r"does not contain a 'train/<class>/' tree"):
        data.load_cifar10("train", root=tmp_path / "mirror", download=False)


def test_archive_with_bad_images_names_the_archive(tmp_path, tiny):
    path = _archive(tmp_path, size=(28, 28))
    with pytest.raises(data.CorruptDataError, match="28x28 RGB image") as err:
        data.load_cifar10("train", root=tmp_path / "mirror", download=False)
    assert f"the archive {path} holds bad data" in str(err.value)


def test_damaged_extraction_in_cache_is_redone(tmp_path, tiny, monkeypatch):
    _archive(tmp_path)
    first = data.load_cifar10("train", root=tmp_path / "mirror", download=False)
    extracted = next((tiny / "extracted").iterdir())
    (extracted / "train" / "cat" / "0000.png").unlink()   # the cache loses a file
    for f in (tiny / "decoded").glob("*.pt"):
        f.unlink()
    monkeypatch.setattr(data, "_MEMO", {})
    again = data.load_cifar10("train", root=tmp_path / "mirror", download=False)
    assert torch.equal(again.images, first.images)
    assert (extracted / "train" / "cat" / "0000.png").is_file()


# --------------------------------------------------------------------------- torchvision pickles

def _write_pickles(root, n=10000, labels=None, classes=data.CIFAR10_CLASSES):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    with open(folder / "batches.meta", "wb") as fh:
        pickle.dump({"label_names": list(classes)}, fh)
    rows = np.zeros((n, 3072), dtype=np.uint8)
    rows[:, 0] = np.arange(n) % 256
    targets = labels if labels is not None else [i % 10 for i in range(n)]
    with open(folder / "test_batch", "wb") as fh:
        pickle.dump({"data": rows, "labels": targets}, fh)
    return folder


def test_valid_pickles_load(tmp_path, isolated_cache):
    _write_pickles(tmp_path)
    got = data.load_cifar10("test", root=tmp_path, download=False)
    assert got.images.shape == (10000, 3, 32, 32) and got.images.dtype == torch.uint8
    assert got.labels[:12].tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    assert int(got.images[7, 0, 0, 0]) == 7


@pytest.mark.parametrize("fault, match, file", [
    ("truncated batch", "truncated or corrupt", "test_batch"),
    ("missing batch", "missing test_batch", None),
    ("wrong rows", r"shape \(10000, 3072\), found uint8 array of shape \(100, 3072\)", "test_batch"),
    ("bad labels", "labels' in 0-9", "test_batch"),
    ("wrong classes", "names the classes", "batches.meta"),
])
def test_bad_pickles_are_named(tmp_path, isolated_cache, fault, match, file):
    if fault == "wrong rows":
        folder = _write_pickles(tmp_path, n=100)
    elif fault == "bad labels":
        folder = _write_pickles(tmp_path, labels=[11] * 10000)
    elif fault == "wrong classes":
        folder = _write_pickles(tmp_path, classes=("a", "b"))
    else:
        folder = _write_pickles(tmp_path)
        if fault == "truncated batch":
            blob = (folder / "test_batch").read_bytes()
            (folder / "test_batch").write_bytes(blob[: len(blob) // 2])
        else:
            (folder / "test_batch").unlink()
    with pytest.raises(data.CorruptDataError, match=match) as err:
        data.load_cifar10("test", root=tmp_path, download=False)
    assert str(folder / file if file else folder) in str(err.value)


# --------------------------------------------------------------------------- arguments

@pytest.mark.parametrize("call, error, match", [
    (lambda: data.load_mnist(split=None), ValueError, "split must be 'train' or 'test'"),
    (lambda: data.load_cifar10(split="val"), ValueError, "split must be 'train' or 'test'"),
    (lambda: data.stratified_indices([0, 1, 2], 2), TypeError, "labels must be an integer"),
    (lambda: data.stratified_indices(torch.tensor([0.0, 1.0]), 1), TypeError,
     "labels must be an integer"),
    (lambda: data.stratified_indices(torch.zeros(0, dtype=torch.int64), 1), ValueError,
     "labels must be a non-empty"),
    (lambda: data.stratified_indices(torch.arange(10), 2.5), TypeError, "subset size"),
    (lambda: data.stratified_indices(torch.arange(10), -3), ValueError, "subset size"),
    (lambda: data.stratified_indices(torch.arange(10), 3, seed=-1), ValueError, "seed"),
    (lambda: data.TensorImageDataset(torch.zeros(3, 1, 2, 2)), TypeError, "'images' and 'labels'"),
    (lambda: data.TensorImageDataset(data.ImageTensors(
        torch.zeros(3, 1, 2, 2, dtype=torch.uint8), torch.zeros(2, dtype=torch.int64), (), "x")),
     ValueError, "same N"),
    (lambda: data.TensorImageDataset(_tiny_tensors(), indices=[0, 5]), ValueError,
     r"indices must lie in \[0, 3\)"),
    (lambda: data.TensorImageDataset(_tiny_tensors(), indices=[0.5]), TypeError, "indices"),
    (lambda: data.TensorImageDataset(_tiny_tensors(), transform="flip"), TypeError, "transform"),
    (lambda: data.make_loader(_tiny_dataset(), 0, shuffle=False), ValueError, "batch_size"),
    (lambda: data.make_loader(_tiny_dataset(), 8.0, shuffle=False), TypeError, "batch_size"),
    (lambda: data.make_loader(_tiny_dataset(), 2, shuffle=False, num_workers=-1), ValueError,
     "num_workers"),
    (lambda: data.make_loader(data.TensorImageDataset(_tiny_tensors(), indices=[]), 2, False),
     ValueError, "dataset is empty"),
    (lambda: data.make_loader(object(), 2, shuffle=False), TypeError, "dataset must be"),
])
def test_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


def _tiny_tensors():
    return data.ImageTensors(torch.zeros(3, 1, 2, 2, dtype=torch.uint8),
                             torch.tensor([0, 1, 2]), ("a", "b", "c"), "tiny")


def _tiny_dataset():
    return data.TensorImageDataset(_tiny_tensors())


# --------------------------------------------------------------------------- folders and cache

def test_unusable_cache_folder_is_named(tmp_path, monkeypatch, isolated_cache):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("CNN_BOOK_CACHE", str(blocker / "cache"))
    with pytest.raises(OSError, match="set CNN_BOOK_CACHE to a writable folder") as err:
        data.cache_dir()
    assert str(blocker / "cache") in str(err.value)


def test_cache_that_cannot_be_written_only_warns(tmp_path, tiny, monkeypatch):
    _write_cifar(tmp_path / "cifar10")

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.warns(UserWarning, match="could not write the decoded-image cache"):
        got = data.load_cifar10("train", root=tmp_path, download=False)
    assert got.images.shape == (20, 3, 32, 32)
    assert not list((tiny / "decoded").glob("*"))   # no half-written file left behind


def test_data_roots_accepts_lists_and_rejects_other_types(tmp_path, isolated_cache):
    a, b = tmp_path / "a", tmp_path / "b"
    assert data.data_roots([a, str(b)])[:2] == [a.absolute(), b.absolute()]
    with pytest.raises(TypeError, match="root must be a folder path"):
        data.data_roots(5)
    with pytest.raises(TypeError, match="root must be a folder path"):
        data.load_mnist("test", root=[tmp_path, None], download=False)
