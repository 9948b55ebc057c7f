#!/usr/bin/env python3
"""Images per second of the CIFAR-10 data pipelines and of training, on the current device.

    python benchmarks/bench_cifar.py                 # best available device
    python benchmarks/bench_cifar.py --device cpu --steps 3

Data pipeline, for the AlexNet recipe (resize 32 -> 227) and the ResNet recipe (32x32):
  * per-image: torchvision ``transforms.v2`` in a ``DataLoader`` (workers and pinned memory on
    CUDA), batches copied to the device with ``non_blocking=True``;
  * batched on the device: :class:`book_utils.cifar.DeviceBatches` (uint8 images kept on the
    device, crop/flip/normalise/resize of a whole batch at once).
Training: forward + backward + optimizer step of AlexNet (227x227) and ResNet-18 (32x32), with
mixed precision and channels_last as cifar.runtime_options picks them (bf16 on recent GPUs
and on CPUs with native bf16). Prints numbers only; nothing is asserted.
"""
from __future__ import annotations

import argparse
import itertools
import time

import torch

from book_utils import cifar, data, profiles, train


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def _images(n: int):
    try:
        d = data.load_cifar10("train", download=False)
        return d, d.source
    except (data.DataNotFoundError, data.CorruptDataError):
        g = torch.Generator().manual_seed(0)
        imgs = torch.randint(0, 256, (n, 3, 32, 32), generator=g, dtype=torch.uint8)
        return data.ImageTensors(imgs, torch.arange(n) % 10, data.CIFAR10_CLASSES, "synthetic"), "synthetic images"


def bench_pipeline(d, recipe, device, batch_size, batches) -> dict:
    n = batch_size * (batches + 1)
    idx = torch.arange(min(n, len(d)))
    out = {}
    ds = data.TensorImageDataset(d, transform=cifar.sample_transform(recipe, train=True), indices=idx)
    loader = data.make_loader(ds, batch_size, shuffle=True, device=device)
    it = iter(loader)
    x, _ = next(it)  # start-up (workers) not timed
    x.to(device, non_blocking=True)
    _sync(device)
    t = time.perf_counter()
    seen = 0
    for x, y in itertools.islice(it, batches):
        x = x.to(device, non_blocking=True)
        seen += x.shape[0]
    _sync(device)
    out["per-image v2 + DataLoader"] = seen / (time.perf_counter() - t)
    db = cifar.DeviceBatches(d, batch_size, shuffle=True, device=device, indices=idx,
                             transform=recipe.train_transform())
    it = iter(db)
    next(it)
    _sync(device)
    t = time.perf_counter()
    seen = 0
    for x, y in itertools.islice(it, batches):
        seen += x.shape[0]
    _sync(device)
    out["batched on device"] = seen / (time.perf_counter() - t)
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description="images/second of the CIFAR-10 pipelines and of training")
    p.add_argument("--device", default=None)
    p.add_argument("--steps", type=int, default=None, help="timed training steps (default 3 on CPU, 30 on GPU)")
    p.add_argument("--batches", type=int, default=None, help="timed pipeline batches (default 5 on CPU, 50 on GPU)")
    p.add_argument("--batch-size", type=int, default=None, help="default 32 on CPU, 128 on GPU")
    args = p.parse_args(argv)
    device = train.choose_device(args.device)
    gpu = device.type != "cpu"
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    steps = args.steps or (30 if gpu else 3)
    batches = args.batches or (50 if gpu else 5)
    bs = args.batch_size or (128 if gpu else 32)
    d, source = _images(bs * (batches + 1))
    print(f"device: {train.device_name(device)}; torch {torch.__version__}; data: {source}")
    print(f"batch size {bs}; options {cifar.runtime_options(device)}")
    for name in ("alexnet-source", "resnet-source"):
        recipe = cifar.get_recipe(name)
        for label, ips in bench_pipeline(d, recipe, device, bs, batches).items():
            print(f"data pipeline  {name:<16} {recipe.image_size:>3}px  {label:<28} {ips:>10,.0f} images/s")
    quick_size = profiles.chapter_config("alexnet", "quick")["image_size"]
    for name, size in (("alexnet-source", None), ("alexnet-source", quick_size), ("resnet-source", None)):
        recipe = cifar.replace_size(cifar.get_recipe(name), size)
        ips = cifar.training_speed(recipe, device, bs, steps)
        print(f"training       {recipe.model:<16} {recipe.image_size:>3}px  {'forward+backward+step':<28} "
              f"{ips:>10,.1f} images/s")


if __name__ == "__main__":
    main()
