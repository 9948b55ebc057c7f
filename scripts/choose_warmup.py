#!/usr/bin/env python3
"""Choose the one-cycle warm-up of page 07's quick improved AlexNet run on a validation split.

The warm-up fraction of ``alexnet-improved`` in the quick profile is a setting, so it is
chosen on images the test never sees: a stratified validation split taken from the CIFAR-10
*training* images (disjoint from the images trained on). For each candidate fraction the
script trains the quick profile's improved recipe (its image size, epochs, batch size and
number of training images) and measures accuracy on the validation split, then writes

    book_utils/results/alexnet_warmup_val.json

which page 07 reads to glue its figures. Run from the repository root (CPU: about two quick
runs of page 07, i.e. minutes on a GPU, ~10-20 min on 2 CPU cores):

    CNN_BOOK_DATA=/path/to/data python scripts/choose_warmup.py

A smaller trial that writes elsewhere:

    python scripts/choose_warmup.py --train-images 500 --val-images 200 --epochs 1 \
        --out /tmp/warmup_trial.json
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Optional, Sequence

import torch

from book_utils import cifar, profiles, results, train
from book_utils.data import load_cifar10, stratified_indices

OUT = results.RESULTS_DIR / "alexnet_warmup_val.json"


def smallest_step_with_both_recipes(config) -> tuple:
    """The smallest ``(train images, epochs)`` step of the quick ladder at which the page
    trains the improved recipe at all (``min_passes_all`` image-passes or more): the
    shortest run whose warm-up matters."""
    floor = config.extra.get("min_passes_all", 0)
    for images, epochs in config["ladder"]:
        if images is not None and images * epochs >= floor:
            return images, epochs
    raise ValueError("the quick ladder has no step with both recipes on a subset")


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    quick = profiles.chapter_config("alexnet", "quick")
    images, epochs = smallest_step_with_both_recipes(quick)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--warmups", type=float, nargs="+", default=[0.1, 0.3],
                   help="warm-up fractions to compare (default: 0.1 0.3)")
    p.add_argument("--train-images", type=int, default=images,
                   help=f"training images (default {images:,}: the smallest quick "
                        f"step that trains the improved recipe)")
    p.add_argument("--val-images", type=int, default=2000,
                   help="validation images, taken from the training split")
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--batch-size", type=int, default=quick.batch_size)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None, help="cuda, mps or cpu (default: the best)")
    p.add_argument("--out", type=Path, default=OUT)
    return p.parse_args(argv)


def validation_split(labels: torch.Tensor, n_train: int, n_val: int, seed: int):
    """Disjoint stratified ``(train_idx, val_idx)`` drawn from one split's labels ``(N,)``."""
    val_idx = stratified_indices(labels, n_val, seed=seed + 1)
    if val_idx is None:
        raise ValueError(f"--val-images {n_val} leaves no training images")
    rest = torch.ones(len(labels), dtype=torch.bool)
    rest[val_idx] = False
    rest_idx = torch.nonzero(rest).flatten()
    pick = stratified_indices(labels[rest_idx], n_train, seed=seed)
    train_idx = rest_idx if pick is None else rest_idx[pick]
    assert not set(train_idx.tolist()) & set(val_idx.tolist())
    return train_idx, val_idx


def main(argv: Optional[Sequence[str]] = None, train_set=None) -> dict:
    """Run the comparison and write the record; ``train_set`` (an ``ImageTensors``) replaces
    CIFAR-10's training split in tests."""
    args = parse_args(argv)
    quick = profiles.chapter_config("alexnet", "quick")
    device = train.choose_device(args.device)
    base = cifar.profile_recipe(cifar.get_recipe("alexnet-improved"), quick)
    train_set = load_cifar10("train") if train_set is None else train_set
    train_idx, val_idx = validation_split(train_set.labels, args.train_images,
                                          args.val_images, args.seed)
    runs = {}
    start = time.perf_counter()
    for warmup in args.warmups:
        recipe = replace(base, warmup=warmup)
        t0 = time.perf_counter()
        res = cifar.run_recipe(recipe, train_set, train_set, args.epochs, args.batch_size,
                               device=device, train_indices=train_idx, test_indices=val_idx,
                               checkpoint=False, seed=args.seed, val_each_epoch=False,
                               progress=False, keep_model=False)
        acc = cifar.per_class_accuracy(res.confusion)
        runs[f"{warmup:g}"] = {
            "warmup": warmup, "val_accuracy": round(res.test["accuracy"], 6),
            "val_loss": round(res.test["loss"], 6),
            "classes_recalled": int((acc > 0).sum()),
            "train_seconds": round(sum(res.history.column("time_s")), 1),
            "wall_s": round(time.perf_counter() - t0, 1)}
        print(f"warm-up {warmup:.0%}: validation accuracy "
              f"{100 * res.test['accuracy']:.2f}% ({runs[f'{warmup:g}']['wall_s']} s)",
              flush=True)
    chosen = max(runs.values(), key=lambda r: r["val_accuracy"])["warmup"]
    record = {
        "schema": 1, "chapter": "alexnet", "recipe": base.name,
        "purpose": "choose the quick profile's one-cycle warm-up on a validation split",
        "data": results.short_source(train_set.source),
        "split": {"from": "train", "train_images": len(train_idx),
                  "val_images": len(val_idx), "seed": args.seed, "disjoint": True},
        "settings": {"image_size": base.image_size, "epochs": args.epochs,
                     "batch_size": args.batch_size},
        "environment": results.environment_info(device),
        "runs": runs, "chosen_warmup": chosen,
        "wall_s": round(time.perf_counter() - start, 1)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1) + "\n", encoding="utf8")
    print(f"chosen warm-up {chosen:.0%}; wrote {args.out}")
    return record


if __name__ == "__main__":
    main()
