"""The training loop: :func:`fit`, with its progress bars, epoch lines and time estimate.

* :func:`fit` -- trains for a number of epochs: tqdm bars (or one line per epoch in a static
  build), per-epoch :class:`~book_utils.train.History`, optional mixed precision (with a
  GradScaler for float16), a checkpoint after every epoch and resume from it, seeded epochs;
* :func:`eta_line` -- the time estimate printed after the first epoch.

Not here: evaluation (:mod:`.evaluation`), the autocast context (:mod:`.precision`),
checkpoint files (:mod:`.checkpoints`), devices (:mod:`.devices`).
"""
from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Mapping, Optional

import torch
from torch import nn

from ._checks import (check_batch, check_inputs_dtype, check_labels, check_model,
                      check_optimizer, check_trainable, model_device)
from .checkpoints import (PathLike, _shown_path, check_writable, read_checkpoint,
                          restore_checkpoint, save_checkpoint)
from .evaluation import evaluate, sample_weights
from .history import History
from .precision import AmpSpec, autocast, resolve_amp
from .settings import run_settings, settings_diff

STATIC_ENV = "CNN_BOOK_STATIC"


def _bars_disabled() -> bool:
    return bool(os.environ.get("TQDM_DISABLE") or os.environ.get(STATIC_ENV))


def _progress(iterable, **kwargs):
    from tqdm.auto import tqdm
    disable = kwargs.pop("disable", None)
    if disable is None:
        disable = _bars_disabled()
    return tqdm(iterable, disable=disable, **kwargs)


def fit(model: nn.Module, train_loader: Iterable, optimizer: torch.optim.Optimizer, epochs: int,
        loss_fn: Optional[Callable] = None, device: Optional[torch.device] = None,
        scheduler=None, scheduler_step: str = "epoch", val_loader: Optional[Iterable] = None,
        amp: AmpSpec = False, checkpoint: Optional[PathLike] = None, resume: bool = True,
        progress: Optional[bool] = None, channels_last: bool = False,
        on_epoch_end: Optional[Callable[[History], None]] = None, seed: int = 0,
        val_loss_fn: Optional[Callable] = None, eta_after: float = 0.0,
        settings: Optional[Mapping[str, Any]] = None) -> History:
    """Train ``model`` for ``epochs`` epochs and return its :class:`History`.

    Args:
        model: a module already on ``device``.
        train_loader: yields ``(inputs, targets)``; inputs ``float32 (B, C, H, W)``,
            targets ``int64 (B,)``.
        optimizer: the optimizer over ``model``'s parameters.
        epochs: total number of epochs (a resumed run continues up to this number).
        loss_fn: defaults to ``nn.CrossEntropyLoss()`` (mean over the batch).
        device: defaults to the device of the model's first parameter.
        scheduler: optional LR scheduler, stepped once per epoch (``scheduler_step="epoch"``)
            or once per batch (``"batch"``, e.g. for OneCycleLR).
        val_loader: if given, :func:`evaluate` runs after each epoch.
        amp: mixed precision: ``False``/``None`` off; ``True`` or ``"auto"``:
            :func:`amp_dtype` of the device; or ``torch.bfloat16`` / ``torch.float16``. With
            float16 a ``torch.amp.GradScaler`` scales the loss (its state is checkpointed).
        checkpoint: file path, e.g. from :func:`checkpoint_path`; after each epoch model,
            optimizer, scheduler, scaler, history and the run's settings are saved there
            (atomically). Before the first epoch fit checks that the file can be written.
            With ``resume=True`` and an existing file of the same settings, training resumes
            after the last saved epoch and one line says so (the file named relative to
            :func:`checkpoint_dir`). A checkpoint of other settings (see ``settings``) is not
            resumed: one line names what changed and the run starts afresh; the old file is
            replaced when the new run saves its first epoch.
        resume: ``False`` ignores an existing checkpoint (it is overwritten after the first
            epoch); pages pass ``resume=not (START_FRESH or fresh_start())``.
        progress: show tqdm bars (default: yes unless ``TQDM_DISABLE`` or ``CNN_BOOK_STATIC``
            is set). When bars are off (and ``progress`` is not ``False``), one summary line
            of at most 80 characters is printed per epoch instead. ``progress=False``
            silences fit completely (no epoch lines, no time estimate).
        channels_last: move each input batch to ``torch.channels_last`` memory format.
        on_epoch_end: called with the history after each epoch (e.g. to redraw a curve).
        seed: at the start of epoch ``e`` the torch RNG and the loader's shuffling generator
            are seeded with ``seed * 1000 + e``, so an epoch's batches, augmentation and
            dropout depend only on its number: a resumed run repeats an uninterrupted one.
        val_loss_fn: loss of the per-epoch evaluation (default ``loss_fn``), e.g. plain
            cross-entropy when training with label smoothing.
        eta_after: work still planned on the page after this run, in epochs of this run
            (seconds = ``eta_after`` x measured seconds per epoch). After the first epoch
            trained in this call, fit prints the measured seconds per epoch, the estimate for
            the rest of this run and, when ``eta_after > 0``, for the rest of the page.
        settings: what else produced this run, e.g. a recipe's fields, the profile and the
            sizes (a dict of numbers, strings, lists and dicts). They are stored in the
            checkpoint with what fit sees itself (:func:`~book_utils.train.settings.run_settings`:
            model layout, optimizer and hyper-parameters, scheduler and its configuration
            with the number of epochs, loss, the loader's batch size, length and transform,
            seed); a checkpoint resumes only when all of them agree. Without a scheduler
            the number of epochs is not a setting: asking for more continues the run.

    With a model whose root is in training mode, sub-modules the caller put in eval mode
    (a frozen batch-norm layer) stay in eval mode while training.

    Raises:
        TypeError: if ``model`` is not a module or ``optimizer`` not a torch optimizer,
            ``settings`` not a dict, or the first batch is not an ``(inputs, targets)`` pair
            of float inputs (in the dtype of the model's parameters, unless ``amp``) and
            int64 class targets.
        ValueError: if ``epochs`` is not a non-negative integer, ``scheduler_step`` is unknown,
            ``amp`` or ``eta_after`` is not valid, the optimizer holds none of the model's
            trainable parameters or a learning rate is 0, negative or NaN (nothing would be
            trained), the model is not all on ``device``, the first batch holds class labels
            outside the model's outputs, the loader yields no batch, a checkpoint without a
            scheduler is further along than ``epochs``, or the loss becomes NaN or infinite
            (the message names the epoch and batch).
        OSError: if the checkpoint cannot be written (before the first epoch, or after any
            epoch): the message names the path, the cause and the fix; an earlier checkpoint
            is left intact.
    """
    check_model(model)
    check_optimizer(optimizer)
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"epochs must be an integer >= 0, got {epochs!r}")
    if scheduler_step not in ("epoch", "batch"):
        raise ValueError(f"scheduler_step must be 'epoch' or 'batch', got {scheduler_step!r}")
    if (isinstance(eta_after, bool) or not isinstance(eta_after, (int, float))
            or not math.isfinite(eta_after) or eta_after < 0):
        raise ValueError(f"eta_after must be a number of epochs >= 0, got {eta_after!r}")
    check_trainable(model, optimizer)
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    device = model_device(model, device)
    dtype = resolve_amp(amp, device)
    scaler = torch.amp.GradScaler(device.type) if dtype == torch.float16 else None
    quiet = progress is False
    current = run_settings(model, optimizer, epochs, scheduler=scheduler,
                           scheduler_step=scheduler_step, loss_fn=loss_fn,
                           train_loader=train_loader, seed=seed, extra=settings)
    history = History()
    start_epoch = 0
    if checkpoint is not None and resume and Path(checkpoint).is_file():
        state = read_checkpoint(checkpoint)
        changed = settings_diff(state["settings"], current)
        if changed:
            if not quiet:
                _print_changed(changed, _shown_path(checkpoint))
        else:
            restore_checkpoint(state, checkpoint, model, optimizer, scheduler, scaler=scaler)
            history = History.from_state_dict(state["history"])
            start_epoch = int(state["epoch"])
            if start_epoch > epochs:
                raise ValueError(f"checkpoint {_shown_path(checkpoint)} has already trained "
                                 f"{start_epoch} epochs, more than epochs={epochs}; delete it "
                                 f"or pass resume=False")
            if not quiet:
                _print_wrapped(f"resumed after epoch {start_epoch}/{epochs} from",
                               _shown_path(checkpoint))
        del state
    elif checkpoint is not None and not resume and Path(checkpoint).is_file() and not quiet:
        _print_wrapped("starting afresh; will overwrite", _shown_path(checkpoint))
    if checkpoint is not None and start_epoch < epochs:
        check_writable(checkpoint)     # fail now, not after an epoch of work
    frozen = [m for m in model.modules() if not m.training] if model.training else []
    ignore = getattr(loss_fn, "ignore_index", None)
    disable = None if progress is None else not progress
    non_blocking = device.type == "cuda"
    first_epoch = start_epoch + 1
    for epoch in range(first_epoch, epochs + 1):
        _seed_epoch(train_loader, seed * 1000 + epoch)
        model.train()
        for module in frozen:          # what the caller froze in eval mode stays frozen
            module.eval()
        t0 = time.perf_counter()
        total_loss = torch.zeros((), device=device)
        total_weight = torch.zeros((), device=device)
        total_correct = torch.zeros((), device=device, dtype=torch.int64)
        seen = 0
        bar = _progress(train_loader, desc=f"epoch {epoch}/{epochs}", leave=False, disable=disable)
        batch_losses = []
        for batch in bar:
            first = epoch == first_epoch and not batch_losses
            if first:
                check_batch(batch, "train_loader")
                check_inputs_dtype(model, batch[0], "train_loader", dtype is not None)
            inputs, targets = batch
            inputs = inputs.to(device, non_blocking=non_blocking)
            targets = targets.to(device, non_blocking=non_blocking)
            if channels_last:
                inputs = inputs.contiguous(memory_format=torch.channels_last)
            with autocast(device, dtype):
                logits = model(inputs)
                if first:
                    check_labels(logits, targets, "train_loader", ignore)
                loss = loss_fn(logits, targets)
            optimizer.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            else:
                loss.backward()
                optimizer.step()
            if scheduler is not None and scheduler_step == "batch":
                scheduler.step()
            n = targets.shape[0]
            detached = loss.detach().float()
            if len(batch_losses) % 50 == 0 and not torch.isfinite(detached):
                raise ValueError(f"the loss became {detached.item()} in epoch {epoch} (by batch "
                                 f"{len(batch_losses) + 1}); lower the learning rate or look for NaN/inf "
                                 f"in the inputs")
            batch_losses.append(detached)
            weights = sample_weights(loss_fn, targets)
            weight = weights.sum() if weights is not None else n
            total_loss += detached * weight
            total_weight += weight
            total_correct += (logits.detach().argmax(1) == targets).sum()
            seen += n
            if len(batch_losses) % 50 == 0 and hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{detached.item():.4f}")
        if seen == 0:
            raise ValueError("the training loader yielded no batch; check the dataset size and drop_last")
        if not math.isfinite(float(total_loss)):
            raise ValueError(f"the loss became NaN or infinite in epoch {epoch}; lower the learning rate "
                             f"or look for NaN/inf in the inputs")
        if scheduler is not None and scheduler_step == "epoch":
            scheduler.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        record = {"epoch": epoch,
                  "train_loss": float(total_loss) / max(float(total_weight), 1e-12),
                  "train_acc": float(total_correct) / max(seen, 1),
                  "lr": float(optimizer.param_groups[0]["lr"]),
                  "time_s": time.perf_counter() - t0}
        if batch_losses:
            history.batch_loss.extend(torch.stack(batch_losses).tolist())
            history.batch_epoch.extend([epoch] * len(batch_losses))
        if val_loader is not None:
            val = evaluate(model, val_loader, loss_fn=val_loss_fn or loss_fn, device=device, amp=dtype,
                           channels_last=channels_last)
            record["val_loss"], record["val_acc"] = val["loss"], val["accuracy"]
        history.epochs.append(record)
        if progress is None and _bars_disabled():
            print(_epoch_line(record, epochs), flush=True)
        if checkpoint is not None:
            save_checkpoint(checkpoint, model, optimizer, scheduler, epoch, history, scaler=scaler,
                            settings=current)
        if epoch == first_epoch and not quiet:
            # the whole epoch as the reader waits for it: training, evaluation, checkpoint
            print(eta_line(time.perf_counter() - t0, epochs - epoch, eta_after), flush=True)
        if on_epoch_end is not None:
            on_epoch_end(history)
    return history


def eta_line(seconds_per_epoch: float, epochs_left: int, eta_after: float = 0.0) -> str:
    """The time-estimate line :func:`fit` prints after its first epoch (at most 80 characters).

    ``eta_line(17.6, 9, 2.0)`` -> ``"time: 17.6 s/epoch; rest of run ~2 min 38 s; rest of page
    ~3 min 14 s"``: the rest of the page is this run's remaining epochs plus ``eta_after`` more.

    Raises:
        ValueError: if ``seconds_per_epoch`` is not a finite number >= 0 (the message names it).
    """
    from ..timing import format_duration
    if (isinstance(seconds_per_epoch, bool) or not isinstance(seconds_per_epoch, (int, float))
            or not math.isfinite(seconds_per_epoch) or seconds_per_epoch < 0):
        raise ValueError(f"seconds_per_epoch must be a finite number >= 0, "
                         f"got {seconds_per_epoch!r}")
    line = (f"time: {seconds_per_epoch:.1f} s/epoch; rest of run "
            f"~{format_duration(seconds_per_epoch * epochs_left)}")
    if eta_after > 0:
        line += f"; rest of page ~{format_duration(seconds_per_epoch * (epochs_left + eta_after))}"
    return line


def _print_wrapped(head: str, tail: str, width: int = 80) -> None:
    """Print ``head tail`` on one line, or on two when that would exceed ``width`` columns."""
    one = f"{head} {tail}"
    print(one if len(one) <= width else f"{head}\n  {tail}", flush=True)


def _print_changed(changed, shown: str) -> None:
    """The one line (two when long) fit prints instead of resuming a checkpoint of another
    run, e.g. ``settings changed (epochs 4 -> 6; scheduler.T_max 4 -> 6); training afresh,
    will overwrite resnet-....pt``."""
    what = "; ".join(changed)
    if len(what) > 100:
        what = what[:97] + "..."
    _print_wrapped(f"settings changed ({what}); training afresh, will overwrite", shown)


def _epoch_line(record: Dict[str, float], epochs: int) -> str:
    """One epoch in at most 80 characters, e.g.
    ``epoch 3/10: loss 0.0345 (test 0.0281), acc 98.91% (test 99.12%), 17.6 s``
    (training values first, test values in brackets; the learning rate when there is no test).
    """
    head = f"epoch {record['epoch']}/{epochs}: "
    loss, acc = f"loss {record['train_loss']:.4f}", f"acc {100 * record['train_acc']:.2f}%"
    if "val_acc" in record:
        body = (f"{loss} (test {record['val_loss']:.4f}), "
                f"{acc} (test {100 * record['val_acc']:.2f}%)")
    else:
        body = f"{loss}, {acc}, lr {record['lr']:.2e}"
    seconds = record["time_s"]
    return f"{head}{body}, {seconds:.1f} s" if seconds < 1000 else f"{head}{body}, {seconds:.0f} s"


def _seed_epoch(loader, value: int) -> None:
    torch.manual_seed(value)
    for holder in (loader, getattr(loader, "sampler", None), getattr(loader, "batch_sampler", None)):
        gen = getattr(holder, "generator", None)
        if isinstance(gen, torch.Generator):
            gen.manual_seed(value)


