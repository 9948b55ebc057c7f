#!/usr/bin/env python3
"""Train the CIFAR-10 recipes of the AlexNet and ResNet-18 pages and record the results.

Run from a plain checkout (only torch, torchvision and tqdm installed: the script puts the
repository root on ``sys.path`` itself), on a machine with a CUDA GPU:

    CNN_BOOK_DATA=/path/to/data python scripts/run_full_cifar.py --chapter all

This trains each chapter's recipes (ResNet-18 first, then AlexNet) with the ``full`` profile
of ``book_utils/profiles.py`` (all 50,000 training images, the source's number of epochs;
mixed precision as book_utils.train.amp_dtype picks it (bf16 on compute capability >= 8,
fp16 on 7.x), channels_last, data and augmentation on the GPU) and writes
``book_utils/results/<chapter>_gpu.json`` (``_cpu.json`` for a CPU run) after *each*
recipe, merged with the recipes already there: a run cut off by a time limit keeps what
finished. Commit those files: the pages show them beside their own quick runs.

``--recipes resnet-improved alexnet-improved`` records those recipes of both chapters in one
call, in that order; ``--epochs resnet-improved=30 alexnet-improved=20`` (or one number for
all) and ``--batch-size`` likewise. ``--time-limit SECONDS`` measures each recipe's speed
first, prints the estimate (training, evaluation, checkpoints), shortens the epochs evenly
when everything would not fit, skips a recipe that cannot, and stops cleanly on SIGINT /
SIGTERM (``timeout``) keeping the recipes that finished. Checkpoints (an AlexNet one is
~700 MB) go to book_utils.train.checkpoint_dir() every ``--checkpoint-every`` epochs (0:
none); a restarted run resumes from them (--fresh starts afresh).

A reference record is a full-profile run on all the data; anything else is a trial: it
needs ``--out`` pointing elsewhere and is never written into ``book_utils/results``. A tiny
CPU trial, e.g. to check the script:

    python scripts/run_full_cifar.py --chapter resnet --profile quick --epochs 1 \\
        --train-subset 64 --test-subset 64 --out /tmp/cifar_trial
"""
from __future__ import annotations

import argparse
import inspect
import signal
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:   # a bare machine has torch, not this package
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from book_utils import cifar, data, profiles, results, train  # noqa: E402
from book_utils.timing import format_duration  # noqa: E402

CHAPTERS = ("resnet", "alexnet")          # ResNet first: it is cheaper and more likely to finish
MODEL_CHAPTER = {"resnet18": "resnet", "alexnet": "alexnet"}
#: assumed speed of writing a checkpoint (bytes/s) for the estimate
WRITE_BYTES_PER_S = 200e6


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--chapter", choices=CHAPTERS + ("all",), default="all")
    p.add_argument("--profile", choices=profiles.PROFILE_NAMES, default="full")
    p.add_argument("--recipes", nargs="+", default=None,
                   help="recipe names of either chapter, trained in this order "
                        "(default: the chapters' recipes in the profile)")
    p.add_argument("--epochs", nargs="+", default=None,
                   help="override the profile's epochs: N for all, or RECIPE=N ...")
    p.add_argument("--batch-size", nargs="+", default=None,
                   help="override the profile's batch size: N for all, or RECIPE=N ...")
    p.add_argument("--train-subset", type=int, default=None, help="use this many training images")
    p.add_argument("--test-subset", type=int, default=None, help="use this many test images")
    p.add_argument("--device", default=None, help="cuda, mps or cpu (default: the best available)")
    p.add_argument("--allow-cpu", action="store_true",
                   help="allow a full-profile run without CUDA (days on a CPU)")
    p.add_argument("--out", type=Path, default=None,
                   help=f"folder for the results files (default, reference runs only: "
                        f"{results.RESULTS_DIR})")
    p.add_argument("--checkpoint-dir", type=Path, default=None,
                   help="folder for checkpoints (default: book_utils.train.checkpoint_dir())")
    p.add_argument("--checkpoint-every", type=int, default=1,
                   help="save a checkpoint every N epochs (0: never; default 1)")
    p.add_argument("--time-limit", type=float, default=None,
                   help="seconds for the whole call: fit the epochs to it, stop cleanly at it")
    p.add_argument("--fresh", action="store_true",
                   help="ignore existing checkpoints and train from scratch (as CNN_BOOK_FRESH=1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true", help="no tqdm progress bars")
    args = p.parse_args(argv)
    if args.checkpoint_every < 0:
        p.error("--checkpoint-every must be >= 0")
    if args.time_limit is not None and args.time_limit <= 0:
        p.error("--time-limit must be a positive number of seconds")
    return args


def per_recipe(values: Optional[Sequence[str]], name: str, option: str) -> Optional[int]:
    """The value of ``option`` for recipe ``name``: ``["N"]`` for all, ``["R=N", ...]`` per
    recipe, ``None`` when not given (the profile's value).

    Raises:
        SystemExit: for a value that is not a positive integer or a malformed item.
    """
    if not values:
        return None
    found = None
    for item in values:
        key, _, text = item.rpartition("=")
        if key in ("", name):
            if not text.isdigit() or int(text) < 1:
                raise SystemExit(f"{option} takes N or RECIPE=N with N a positive integer, "
                                 f"got {item!r}")
            found = int(text)
    return found


def plan(args: argparse.Namespace) -> List[Dict]:
    """The recipes to train, in order: ``[{"name", "chapter", "config"}, ...]``.

    Raises:
        SystemExit: for an unknown recipe name or a bad override.
    """
    if args.recipes:
        names = list(args.recipes)
    else:
        chapters = CHAPTERS if args.chapter == "all" else (args.chapter,)
        names = [n for ch in chapters for n in profiles.chapter_config(ch, args.profile)["recipes"]]
    items = []
    for name in names:
        if name not in cifar.RECIPES:
            raise SystemExit(f"unknown recipe {name!r}; known: {sorted(cifar.RECIPES)}")
        chapter = MODEL_CHAPTER[cifar.RECIPES[name].model]
        overrides = {k: v for k, v in (
            ("epochs", per_recipe(args.epochs, name, "--epochs")),
            ("batch_size", per_recipe(args.batch_size, name, "--batch-size")),
            ("train_subset", args.train_subset), ("test_subset", args.test_subset)) if v is not None}
        items.append({"name": name, "chapter": chapter,
                      "config": profiles.chapter_config(chapter, args.profile, **overrides)})
    return items


def is_reference(cfg: profiles.RunConfig, device: torch.device) -> bool:
    """Whether a run makes a record for ``book_utils/results``: the full profile on all of the
    data, on a GPU (``<chapter>_gpu.json``) or a CPU (``<chapter>_cpu.json``). The epochs and
    batch size may differ from the profile's: the record states them."""
    return (cfg.profile == "full" and cfg.train_subset is None and cfg.test_subset is None
            and torch.device(device).type in ("cuda", "mps", "cpu"))


def checkpoint_bytes(recipe: cifar.Recipe) -> int:
    """Approximate size of one checkpoint: float32 weights plus the optimizer's state (two
    slots for Adam/AdamW, one for SGD with momentum)."""
    with torch.device("meta"):
        n = sum(p.numel() for p in cifar.make_model(recipe).parameters())
    slots = 2 if recipe.optimizer in ("adam", "adamw") else int(recipe.momentum > 0)
    return 4 * n * (1 + slots)


def estimate_seconds(train_images: int, test_images: int, epochs: int, images_per_s: float,
                     val_each_epoch: bool, tta: bool, checkpoint_every: int,
                     checkpoint_size: int) -> Dict[str, float]:
    """What a run will cost, from the measured training speed ``images_per_s``.

    Evaluation is taken at 3x the training speed (a forward pass is about a third of a
    training step): one pass over the test images after each epoch when ``val_each_epoch``,
    plus the final test (twice the images with flip TTA). Checkpoints: ``epochs //
    checkpoint_every`` writes of ``checkpoint_size`` bytes at :data:`WRITE_BYTES_PER_S`.

    Returns:
        ``{"training", "evaluation", "checkpoints", "total"}`` in seconds.
    """
    training = epochs * train_images / images_per_s
    evals = (epochs if val_each_epoch else 0) * test_images + test_images * (2 if tta else 1)
    writes = epochs // checkpoint_every if checkpoint_every else 0
    parts = {"training": training, "evaluation": evals / (3 * images_per_s),
             "checkpoints": writes * checkpoint_size / WRITE_BYTES_PER_S}
    return dict(parts, total=sum(parts.values()))


def fit_epochs(planned: Sequence[int], estimates: Sequence[float], seconds: float) -> List[int]:
    """Epochs per recipe so that the estimated total fits ``seconds``: all scaled by the same
    factor (never up), at least 1 each; 0 for the recipes at the end that do not fit even so.
    """
    scale = min(1.0, seconds / sum(estimates)) if sum(estimates) > 0 else 1.0
    epochs = [max(1, int(e * scale)) for e in planned]
    used = 0.0
    for i, (e, p, s) in enumerate(zip(epochs, planned, estimates)):
        cost = s * e / p
        if used + cost > seconds:
            epochs[i] = 0
        else:
            used += cost
    return epochs


def _print_epoch(recipe_name: str):
    def report(history) -> None:
        e = history.epochs[-1]
        val = (f", test loss {e['val_loss']:.4f}, test acc {100 * e['val_acc']:.2f}%"
               if "val_loss" in e else "")
        print(f"  [{recipe_name}] epoch {e['epoch']}: train loss {e['train_loss']:.4f}, "
              f"train acc {100 * e['train_acc']:.2f}%{val}, lr {e['lr']:.2e}, "
              f"{e['time_s']:.1f} s", flush=True)
    return report


def _out_dir(args, cfg, device) -> Path:
    reference = is_reference(cfg, device)
    if args.out is None:
        if not reference:
            raise SystemExit(
                f"{cfg.describe()} on {device.type} is a trial, not a full reference run: pass "
                f"--out <folder> (results of trials are never written into {results.RESULTS_DIR})")
        return results.RESULTS_DIR
    if not reference and Path(args.out).resolve() == results.RESULTS_DIR.resolve():
        raise SystemExit(f"refusing to write a trial run ({cfg.describe()}) into {results.RESULTS_DIR}")
    return Path(args.out)


def _checkpoint(args, recipe, cfg, n_train) -> Optional[Path]:
    if args.checkpoint_every == 0:
        return None
    ckpt = cifar.checkpoint_file(recipe, cfg.profile, cfg.epochs, cfg.batch_size, n_train, args.seed)
    if args.checkpoint_dir is not None:
        Path(args.checkpoint_dir).mkdir(parents=True, exist_ok=True)
        ckpt = Path(args.checkpoint_dir) / ckpt.name
    return ckpt


def _every_kwargs(args) -> dict:
    if args.checkpoint_every <= 1:
        return {}
    if "checkpoint_every" not in inspect.signature(cifar.run_recipe).parameters:
        raise SystemExit("--checkpoint-every N > 1 needs cifar.run_recipe(checkpoint_every=...); "
                         "use 1 (every epoch) or 0 (none)")
    return {"checkpoint_every": args.checkpoint_every}


def record_one(args, item, recipe, tr, te, device, t0) -> Path:
    """Train one recipe and merge its run into its chapter's results file."""
    cfg = item["config"]
    train_idx = data.stratified_indices(tr.labels, cfg.train_subset, seed=args.seed)
    test_idx = data.stratified_indices(te.labels, cfg.test_subset, seed=args.seed)
    n_train = len(tr) if train_idx is None else len(train_idx)
    ckpt = _checkpoint(args, recipe, cfg, n_train)
    print(f"-- {recipe.name}: {recipe.title}; {cfg.epochs} epochs, batch {cfg.batch_size}, "
          f"{recipe.image_size} px; checkpoint {ckpt.name if ckpt else 'none'}", flush=True)
    started = time.perf_counter()
    res = cifar.run_recipe(recipe, tr, te, cfg.epochs, cfg.batch_size, device=device,
                           train_indices=train_idx, test_indices=test_idx,
                           checkpoint=ckpt if ckpt else False,
                           resume=not (args.fresh or train.fresh_start()), seed=args.seed,
                           eval_batch_size=cfg["eval_batch_size"],
                           val_each_epoch=cfg["val_each_epoch"],
                           on_epoch_end=_print_epoch(recipe.name), progress=not args.no_progress,
                           keep_model=False, **_every_kwargs(args))
    run = dict(res.summary(), image_size=recipe.image_size, batch_size=cfg.batch_size,
               epoch_count=cfg.epochs, wall_s=round(time.perf_counter() - started, 1),
               amp=str(cifar.runtime_options(device)["amp"]).replace("torch.", ""),
               **results.prediction_fields(res.test["preds"], res.test["targets"]))
    print(f"   test accuracy {100 * res.test['accuracy']:.2f}% (loss {res.test['loss']:.4f} per "
          f"image, TTA={recipe.tta_flip}); {res.seconds_per_epoch:.1f} s/epoch, "
          f"{res.images_per_second:,.0f} train images/s", flush=True)
    out = _out_dir(args, cfg, device)
    path = results.results_path(item["chapter"], out, kind=results.record_kind(device))
    results.save_results(path, item["chapter"], cfg, {recipe.name: run}, device, tr.source,
                         wall_s=round(time.perf_counter() - t0, 1), merge=True)
    print(f"   wrote {path}" + ("  (reference run: commit this file)"
                                if is_reference(cfg, device) else "  (trial)"), flush=True)
    return path


def main(argv: Optional[Sequence[str]] = None) -> List[Path]:
    t0 = time.perf_counter()
    args = parse_args(argv)
    device = train.choose_device(args.device)
    if args.profile == "full" and device.type != "cuda" and not args.allow_cpu:
        raise SystemExit(f"the full profile is meant for a CUDA GPU and would take days on "
                         f"{device.type}; use --profile quick with a small subset to try the "
                         f"script, or --allow-cpu")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    items = plan(args)
    for item in items:
        _out_dir(args, item["config"], device)          # refuse a bad --out before training
        _every_kwargs(args)
    tr, te = data.load_cifar10("train"), data.load_cifar10("test")
    print(f"== data: {tr.source}; device: {train.device_name(device)}; torch {torch.__version__}",
          flush=True)
    recipes = [cifar.profile_recipe(cifar.get_recipe(i["name"]), i["config"]) for i in items]
    estimates = []
    for item, recipe in zip(items, recipes):
        cfg = item["config"]
        speed = cifar.training_speed(recipe, device, cfg.batch_size,
                                     steps=10 if device.type == "cuda" else 2)
        n_train = cfg.train_subset or len(tr)
        n_test = cfg.test_subset or len(te)
        est = estimate_seconds(n_train, n_test, cfg.epochs, speed, cfg["val_each_epoch"],
                               recipe.tta_flip, args.checkpoint_every, checkpoint_bytes(recipe))
        estimates.append(est["total"])
        print(f"   {recipe.name}: {cfg.describe()}\n   estimate {format_duration(est['total'])}"
              f" (training {est['training']:.0f} s at {speed:,.1f} images/s, evaluation "
              f"{est['evaluation']:.0f} s, checkpoints {est['checkpoints']:.0f} s)", flush=True)
    if args.time_limit is not None:
        left = 0.9 * (args.time_limit - (time.perf_counter() - t0)) - 10 * len(items)
        epochs = fit_epochs([i["config"].epochs for i in items], estimates, left)
        for item, e in zip(items, epochs):
            if e != item["config"].epochs:
                print(f"   {item['name']}: {e} epochs instead of {item['config'].epochs} to fit "
                      f"the time limit of {args.time_limit:.0f} s", flush=True)
                item["config"] = profiles.chapter_config(
                    item["chapter"], args.profile,
                    **{k: getattr(item["config"], k) for k in ("batch_size", "train_subset",
                                                               "test_subset")}, epochs=e)
    paths: List[Path] = []
    for item, recipe in zip(items, recipes):
        if item["config"].epochs == 0:
            print(f"-- {item['name']}: skipped, it does not fit the time limit", flush=True)
            continue
        path = record_one(args, item, recipe, tr, te, device, t0)
        if path not in paths:
            paths.append(path)
    return paths


def _stop(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _stop)
    try:
        main(sys.argv[1:])
    except KeyboardInterrupt:
        print("stopped before the end (time limit or interrupt); the recipes that finished "
              "were written", flush=True)
        sys.exit(3)
