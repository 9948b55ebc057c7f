#!/usr/bin/env python3
"""Choose the one-cycle warm-up of page 07's quick improved AlexNet run on a validation split.

The warm-up fraction of ``alexnet-improved`` in the quick profile is a setting, so it is
chosen on images the test never sees: a stratified validation split taken from the CIFAR-10
*training* images (disjoint from the images trained on). For each candidate fraction the
script trains the quick profile's improved recipe (its image size, epochs, batch size and
number of training images) and measures accuracy on the validation split. It also trains the
source recipe on the same split (``--no-source`` skips it): the better of the two is the
recipe a page keeps when its time budget has room for one only. It writes, after every run,

    book_utils/results/alexnet_warmup_val.json

which page 07 reads to glue its figures; a second call with the same split and settings keeps
the runs already recorded. Run from the repository root (three quick AlexNet runs: minutes on
a GPU, about 15 min on 2 CPU cores):

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
    p.add_argument("--no-source", dest="source", action="store_false",
                   help="skip the source recipe's run on the same split (it says which "
                        "recipe a page keeps when it has time for one)")
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


def _train(recipe, train_set, train_idx, val_idx, args, device) -> dict:
    """Train ``recipe`` on ``train_idx`` and measure it on ``val_idx`` (both training images)."""
    t0 = time.perf_counter()
    res = cifar.run_recipe(recipe, train_set, train_set, args.epochs, args.batch_size,
                           device=device, train_indices=train_idx, test_indices=val_idx,
                           checkpoint=False, seed=args.seed, val_each_epoch=False,
                           progress=False, keep_model=False)
    acc = cifar.per_class_accuracy(res.confusion)
    return {"recipe": recipe.name, "val_accuracy": round(res.test["accuracy"], 6),
            "val_loss": round(res.test["loss"], 6),
            "classes_recalled": int((acc > 0).sum()),
            "train_seconds": round(sum(res.history.column("time_s")), 1),
            "wall_s": round(time.perf_counter() - t0, 1)}


def main(argv: Optional[Sequence[str]] = None, train_set=None) -> dict:
    """Run the comparison and write the record after every run; ``train_set`` (an
    ``ImageTensors``) replaces CIFAR-10's training split in tests.

    A record already at ``--out`` with the same split and settings is resumed: runs it holds
    are kept, not trained again.
    """
    args = parse_args(argv)
    quick = profiles.chapter_config("alexnet", "quick")
    device = train.choose_device(args.device)
    base = cifar.profile_recipe(cifar.get_recipe("alexnet-improved"), quick)
    source = cifar.profile_recipe(cifar.get_recipe("alexnet-source"), quick)
    train_set = load_cifar10("train") if train_set is None else train_set
    train_idx, val_idx = validation_split(train_set.labels, args.train_images,
                                          args.val_images, args.seed)
    split = {"from": "train", "train_images": len(train_idx),
             "val_images": len(val_idx), "seed": args.seed, "disjoint": True}
    settings = {"image_size": base.image_size, "pool_size": base.pool_size,
                "epochs": args.epochs, "batch_size": args.batch_size}
    record = {
        "schema": 2, "chapter": "alexnet", "recipe": base.name,
        "purpose": ("choose the quick profile's one-cycle warm-up on a validation split, "
                    "and which recipe a page keeps when it has time for one"),
        "data": results.short_source(train_set.source), "split": split,
        "settings": settings, "environment": results.environment_info(device),
        "runs": {}, "source": None}
    try:
        old = json.loads(args.out.read_text(encoding="utf8"))
    except (OSError, ValueError):
        old = None
    if isinstance(old, dict) and old.get("split") == split and old.get("settings") == settings:
        record["runs"] = {k: v for k, v in old.get("runs", {}).items()
                          if k in {f"{w:g}" for w in args.warmups}}
        record["source"] = old.get("source")

    def save():
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(record, indent=1) + "\n", encoding="utf8")

    jobs = [(f"{w:g}", replace(base, warmup=w)) for w in args.warmups]
    if args.source:
        jobs.append(("source", source))
    for key, recipe in jobs:
        done = record["source"] if key == "source" else record["runs"].get(key)
        if done is not None:
            print(f"{key}: kept from {args.out.name} "
                  f"({100 * done['val_accuracy']:.2f}%)", flush=True)
            continue
        run = _train(recipe, train_set, train_idx, val_idx, args, device)
        if key == "source":
            record["source"] = run
        else:
            record["runs"][key] = {"warmup": recipe.warmup, **run}
        print(f"{key if key == 'source' else f'warm-up {recipe.warmup:.0%}'}: validation "
              f"accuracy {100 * run['val_accuracy']:.2f}% ({run['wall_s']} s)", flush=True)
        save()
    best = max(record["runs"].values(), key=lambda r: r["val_accuracy"])
    record["chosen_warmup"] = best["warmup"]
    if record["source"] is not None:
        record["keep_when_short"] = (best["recipe"] if best["val_accuracy"]
                                     >= record["source"]["val_accuracy"] else source.name)
    save()
    print(f"chosen warm-up {best['warmup']:.0%}; wrote {args.out}")
    return record


if __name__ == "__main__":
    main()
