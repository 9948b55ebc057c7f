#!/usr/bin/env python3
"""Train the CIFAR-10 recipes of the AlexNet and ResNet-18 pages and record the results.

Run on a machine with a CUDA GPU, from the repository root:

    CNN_BOOK_DATA=/path/to/data python scripts/run_full_cifar.py --chapter all

This trains, for each chapter, the source's recipe and the improved recipe with the ``full``
profile of ``book_utils/profiles.py`` (all 50,000 training images, the source's number of
epochs; mixed precision as book_utils.train.amp_dtype picks it (bf16 on compute capability
>= 8, fp16 on 7.x), channels_last, data and augmentation on the GPU), checkpoints every epoch
into book_utils.train.checkpoint_dir() (a restarted run resumes after the last finished epoch;
--fresh starts afresh), and writes
``book_utils/results/<chapter>_full.json``. Commit those files: the pages show them beside
their own quick runs.

Anything other than a full-profile run on all the data on CUDA is a trial, not a reference
result: it needs ``--out`` pointing elsewhere and is never written into
``book_utils/results``. A tiny CPU trial, e.g. to check the script:

    python scripts/run_full_cifar.py --chapter resnet --profile quick --epochs 1 \
        --train-subset 64 --test-subset 64 --out /tmp/cifar_trial
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import List, Optional, Sequence

import torch

from book_utils import cifar, data, profiles, results, train

CHAPTERS = ("alexnet", "resnet")


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--chapter", choices=CHAPTERS + ("all",), default="all")
    p.add_argument("--profile", choices=profiles.PROFILE_NAMES, default="full")
    p.add_argument("--recipes", nargs="+", default=None,
                   help="recipe names (default: the chapter's recipes in the profile)")
    p.add_argument("--epochs", type=int, default=None, help="override the profile's epochs")
    p.add_argument("--batch-size", type=int, default=None, help="override the profile's batch size")
    p.add_argument("--train-subset", type=int, default=None, help="use this many training images")
    p.add_argument("--test-subset", type=int, default=None, help="use this many test images")
    p.add_argument("--device", default=None, help="cuda, mps or cpu (default: the best available)")
    p.add_argument("--allow-cpu", action="store_true",
                   help="allow a full-profile run without CUDA (days on a CPU)")
    p.add_argument("--out", type=Path, default=None,
                   help=f"folder for the results files (default, reference runs only: {results.RESULTS_DIR})")
    p.add_argument("--checkpoint-dir", type=Path, default=None,
                   help="folder for per-epoch checkpoints; a rerun resumes from them (default: "
                        "book_utils.train.checkpoint_dir(), i.e. $CNN_BOOK_CHECKPOINTS or "
                        "<cache>/checkpoints)")
    p.add_argument("--fresh", action="store_true",
                   help="ignore existing checkpoints and train from scratch (as CNN_BOOK_FRESH=1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true", help="no tqdm progress bars")
    return p.parse_args(argv)


def _config(args: argparse.Namespace, chapter: str) -> profiles.RunConfig:
    overrides = {k: v for k, v in (("epochs", args.epochs), ("batch_size", args.batch_size),
                                   ("train_subset", args.train_subset), ("test_subset", args.test_subset))
                 if v is not None}
    return profiles.chapter_config(chapter, args.profile, **overrides)


def is_reference(cfg: profiles.RunConfig, device: torch.device) -> bool:
    """Only a full-profile run on all the data with CUDA makes a reference results file."""
    full = profiles.chapter_config(cfg.chapter, "full")
    return (cfg.profile == "full" and device.type == "cuda" and cfg.train_subset is None
            and cfg.test_subset is None and cfg.epochs == full.epochs and cfg.batch_size == full.batch_size)


def _print_epoch(recipe_name: str):
    def report(history) -> None:
        e = history.epochs[-1]
        val = (f", test loss {e['val_loss']:.4f}, test acc {100 * e['val_acc']:.2f}%"
               if "val_loss" in e else "")
        print(f"  [{recipe_name}] epoch {e['epoch']}: train loss {e['train_loss']:.4f}, "
              f"train acc {100 * e['train_acc']:.2f}%{val}, lr {e['lr']:.2e}, {e['time_s']:.1f} s", flush=True)
    return report


def run_chapter(args: argparse.Namespace, chapter: str, device: torch.device) -> Path:
    cfg = _config(args, chapter)
    reference = is_reference(cfg, device)
    out_dir = args.out
    if out_dir is None:
        if not reference:
            raise SystemExit(
                f"{cfg.describe()} on {device.type} is a trial, not a full reference run: pass "
                f"--out <folder> (results of trials are never written into {results.RESULTS_DIR})")
        out_dir = results.RESULTS_DIR
    elif not reference and Path(out_dir).resolve() == results.RESULTS_DIR.resolve():
        raise SystemExit(f"refusing to write a trial run ({cfg.describe()}) into {results.RESULTS_DIR}")
    names = args.recipes or list(cfg["recipes"])
    # the profile may change the input size (AlexNet's quick profile on a CPU); None keeps it
    recipes = [cifar.profile_recipe(cifar.get_recipe(n), cfg) for n in names]
    for r in recipes:
        expected = "alexnet" if chapter == "alexnet" else "resnet18"
        if r.model != expected:
            raise SystemExit(f"recipe {r.name!r} trains {r.model}, not the {chapter} chapter's model")

    print(f"== {chapter}: {cfg.describe()}", flush=True)
    tr, te = data.load_cifar10("train"), data.load_cifar10("test")
    print(f"   data: {tr.source}; device: {train.device_name(device)}; torch {torch.__version__}", flush=True)
    train_idx = data.stratified_indices(tr.labels, cfg.train_subset, seed=args.seed)
    test_idx = data.stratified_indices(te.labels, cfg.test_subset, seed=args.seed)
    t0 = time.perf_counter()
    runs: List[cifar.RunResult] = []
    n_train = len(tr) if train_idx is None else len(train_idx)
    resume = not (args.fresh or train.fresh_start())
    for r in recipes:
        ckpt = cifar.checkpoint_file(r, cfg.profile, cfg.epochs, cfg.batch_size, n_train, args.seed)
        if args.checkpoint_dir is not None:
            Path(args.checkpoint_dir).mkdir(parents=True, exist_ok=True)
            ckpt = Path(args.checkpoint_dir) / ckpt.name
        print(f"-- {r.name}: {r.title}; checkpoint {ckpt.name}", flush=True)
        res = cifar.run_recipe(r, tr, te, cfg.epochs, cfg.batch_size, device=device, train_indices=train_idx,
                               test_indices=test_idx, checkpoint=ckpt, resume=resume, seed=args.seed,
                               eval_batch_size=cfg["eval_batch_size"], val_each_epoch=cfg["val_each_epoch"],
                               on_epoch_end=_print_epoch(r.name), progress=not args.no_progress,
                               keep_model=False)
        print(f"   test accuracy {100 * res.test['accuracy']:.2f}% (loss {res.test['loss']:.4f} per image, "
              f"TTA={r.tta_flip}); {res.seconds_per_epoch:.1f} s/epoch, "
              f"{res.images_per_second:,.0f} train images/s", flush=True)
        runs.append(res)
    path = results.results_path(chapter, out_dir)
    results.save_results(path, chapter, cfg, {r.recipe.name: r.summary() for r in runs}, device, tr.source,
                         wall_s=time.perf_counter() - t0)
    for res in runs:
        print(f"   {res.recipe.name:<18} {100 * res.test['accuracy']:6.2f}%  {res.seconds_per_epoch:8.1f} s/epoch")
    print(f"   wrote {path}" + ("  (reference run: commit this file)" if reference else "  (trial)"), flush=True)
    return path


def main(argv: Optional[Sequence[str]] = None) -> List[Path]:
    args = parse_args(argv)
    device = train.choose_device(args.device)
    if args.profile == "full" and device.type != "cuda" and not args.allow_cpu:
        raise SystemExit(f"the full profile is meant for a CUDA GPU and would take days on {device.type}; "
                         f"use --profile quick with a small subset to try the script, or --allow-cpu")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    chapters = CHAPTERS if args.chapter == "all" else (args.chapter,)
    return [run_chapter(args, ch, device) for ch in chapters]


if __name__ == "__main__":
    main(sys.argv[1:])
