"""Training and evaluation used by every hands-on page.

* :func:`choose_device` – CUDA, then Apple MPS, then CPU.
* :func:`seed_everything` – one call for Python, NumPy and torch seeds.
* :func:`fit` – the training loop: tqdm progress bars, per-epoch history, optional mixed
  precision on CUDA, a checkpoint after every epoch and resume from it.
* :func:`evaluate` – mean loss per sample and exact accuracy, independent of batch size.
* :func:`predict` – all predictions and targets of a loader (for confusion matrices).
"""
from __future__ import annotations

import math
import os
import random
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Union

import numpy as np
import torch
from torch import nn

PathLike = Union[str, os.PathLike]


def choose_device(prefer: Optional[str] = None) -> torch.device:
    """Pick the device to train on.

    Args:
        prefer: ``"cuda"``, ``"mps"`` or ``"cpu"`` to force one; ``None`` chooses CUDA if
            available, then Apple MPS if ``torch.backends.mps.is_available()``, else CPU.

    Raises:
        ValueError: if ``prefer`` names a device type that is not available here.
    """
    if prefer is not None:
        kind = str(prefer).split(":")[0]
        ok = {"cpu": True, "cuda": torch.cuda.is_available(),
              "mps": getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()}
        if kind not in ok:
            raise ValueError(f"unknown device {prefer!r}; use 'cuda', 'mps' or 'cpu'")
        if not ok[kind]:
            raise ValueError(f"device {prefer!r} is not available on this machine; "
                             f"use choose_device() to pick the best available one")
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def device_name(device: torch.device) -> str:
    """Human-readable name of ``device`` (the GPU model for CUDA)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple MPS"
    return f"CPU ({torch.get_num_threads()} threads)"


def seed_everything(seed: int = 0) -> None:
    """Seed Python's ``random``, NumPy and torch (CPU and all GPUs)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


@dataclass
class History:
    """What :func:`fit` records.

    Attributes:
        epochs: one dict per finished epoch with keys ``epoch`` (1-based), ``train_loss``
            (mean per sample), ``train_acc`` (fraction 0-1), ``lr`` (at the end of the epoch),
            ``time_s`` (wall seconds of the training pass) and, when a validation loader is
            given, ``val_loss`` and ``val_acc``.
        batch_loss: loss of every training batch, in order (for loss curves).
        batch_epoch: the (1-based) epoch each entry of ``batch_loss`` belongs to.
    """

    epochs: List[Dict[str, float]] = field(default_factory=list)
    batch_loss: List[float] = field(default_factory=list)
    batch_epoch: List[int] = field(default_factory=list)

    def column(self, key: str) -> List[float]:
        """Values of ``key`` over epochs, e.g. ``history.column("val_acc")``."""
        return [e[key] for e in self.epochs if key in e]

    def state_dict(self) -> dict:
        """Plain-Python form (saved in checkpoints)."""
        return {"epochs": list(self.epochs), "batch_loss": list(self.batch_loss),
                "batch_epoch": list(self.batch_epoch)}

    @classmethod
    def from_state_dict(cls, state: dict) -> "History":
        return cls(list(state.get("epochs", [])), list(state.get("batch_loss", [])),
                   list(state.get("batch_epoch", [])))


#: Set (to any non-empty value) while the book is built: progress bars are then left out of
#: the executed notebooks (a static page cannot animate them) and :func:`fit` prints one
#: summary line per epoch instead. ``_ext/cnn_book_html.py`` sets it for the build's kernels.
STATIC_ENV = "CNN_BOOK_STATIC"


def _bars_disabled() -> bool:
    return bool(os.environ.get("TQDM_DISABLE") or os.environ.get(STATIC_ENV))


def _progress(iterable, **kwargs):
    from tqdm.auto import tqdm
    disable = kwargs.pop("disable", None)
    if disable is None:
        disable = _bars_disabled()
    return tqdm(iterable, disable=disable, **kwargs)


def _autocast(device: torch.device, amp: bool):
    if amp and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


def fit(model: nn.Module, train_loader: Iterable, optimizer: torch.optim.Optimizer, epochs: int,
        loss_fn: Optional[Callable] = None, device: Optional[torch.device] = None,
        scheduler=None, scheduler_step: str = "epoch", val_loader: Optional[Iterable] = None,
        amp: bool = False, checkpoint: Optional[PathLike] = None, resume: bool = True,
        progress: Optional[bool] = None, channels_last: bool = False,
        on_epoch_end: Optional[Callable[[History], None]] = None, seed: int = 0,
        val_loss_fn: Optional[Callable] = None) -> History:
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
        amp: bfloat16 autocast on CUDA (ignored elsewhere).
        checkpoint: file path; after each epoch model, optimizer, scheduler and history are
            saved there (atomically). With ``resume=True`` and an existing file, training
            resumes after the last saved epoch.
        progress: show tqdm bars (default: yes unless ``TQDM_DISABLE`` or ``CNN_BOOK_STATIC``
            is set). When bars are off (and ``progress`` is not ``False``), one summary line
            is printed per epoch instead, so logs and static pages still show progress.
        channels_last: move each input batch to ``torch.channels_last`` memory format.
        on_epoch_end: called with the history after each epoch (e.g. to redraw a curve).
        seed: at the start of epoch ``e`` the torch RNG and the loader's shuffling generator
            are seeded with ``seed * 1000 + e``, so an epoch's batches, augmentation and
            dropout depend only on its number: a resumed run repeats an uninterrupted one.
        val_loss_fn: loss of the per-epoch evaluation (default ``loss_fn``), e.g. plain
            cross-entropy when training with label smoothing.

    Raises:
        ValueError: if ``epochs`` is not a non-negative integer, ``scheduler_step`` is unknown,
            the optimizer holds none of the model's parameters (nothing would be trained),
            the loader yields no batch, a checkpoint is further along than ``epochs``, or the
            loss becomes NaN or infinite (the message names the epoch and batch).
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"epochs must be an integer >= 0, got {epochs!r}")
    if scheduler_step not in ("epoch", "batch"):
        raise ValueError(f"scheduler_step must be 'epoch' or 'batch', got {scheduler_step!r}")
    model_params = {id(p) for p in model.parameters()}
    if not any(id(p) in model_params for group in optimizer.param_groups for p in group["params"]):
        raise ValueError("the optimizer holds none of this model's parameters, so fit() would train "
                         "nothing; build it from this model, e.g. torch.optim.Adam(model.parameters())")
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    if device is None:
        device = next(model.parameters()).device
    device = torch.device(device)
    history = History()
    start_epoch = 0
    if checkpoint is not None and resume and Path(checkpoint).is_file():
        state = load_checkpoint(checkpoint, model, optimizer, scheduler)
        history = History.from_state_dict(state["history"])
        start_epoch = int(state["epoch"])
        if start_epoch > epochs:
            raise ValueError(f"checkpoint {checkpoint} has already trained {start_epoch} epochs, more "
                             f"than epochs={epochs}; delete it or pass resume=False to start afresh")
        print(f"resumed from {checkpoint} after epoch {start_epoch}/{epochs}", flush=True)
    disable = None if progress is None else not progress
    non_blocking = device.type == "cuda"
    for epoch in range(start_epoch + 1, epochs + 1):
        _seed_epoch(train_loader, seed * 1000 + epoch)
        model.train()
        t0 = time.perf_counter()
        total_loss = torch.zeros((), device=device)
        total_correct = torch.zeros((), device=device, dtype=torch.int64)
        seen = 0
        bar = _progress(train_loader, desc=f"epoch {epoch}/{epochs}", leave=False, disable=disable)
        batch_losses = []
        for inputs, targets in bar:
            inputs = inputs.to(device, non_blocking=non_blocking)
            targets = targets.to(device, non_blocking=non_blocking)
            if channels_last:
                inputs = inputs.contiguous(memory_format=torch.channels_last)
            with _autocast(device, amp):
                logits = model(inputs)
                loss = loss_fn(logits, targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if scheduler is not None and scheduler_step == "batch":
                scheduler.step()
            n = targets.shape[0]
            detached = loss.detach()
            if len(batch_losses) % 50 == 0 and not torch.isfinite(detached):
                raise ValueError(f"the loss became {detached.item()} in epoch {epoch} (by batch "
                                 f"{len(batch_losses) + 1}); lower the learning rate or look for NaN/inf "
                                 f"in the inputs")
            batch_losses.append(detached.float())
            total_loss += detached.float() * n
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
                  "train_loss": float(total_loss) / max(seen, 1),
                  "train_acc": float(total_correct) / max(seen, 1),
                  "lr": float(optimizer.param_groups[0]["lr"]),
                  "time_s": time.perf_counter() - t0}
        if batch_losses:
            history.batch_loss.extend(torch.stack(batch_losses).tolist())
            history.batch_epoch.extend([epoch] * len(batch_losses))
        if val_loader is not None:
            val = evaluate(model, val_loader, loss_fn=val_loss_fn or loss_fn, device=device, amp=amp,
                           channels_last=channels_last)
            record["val_loss"], record["val_acc"] = val["loss"], val["accuracy"]
        history.epochs.append(record)
        if progress is None and _bars_disabled():
            print(_epoch_line(record, epochs), flush=True)
        if checkpoint is not None:
            save_checkpoint(checkpoint, model, optimizer, scheduler, epoch, history)
        if on_epoch_end is not None:
            on_epoch_end(history)
    return history


def _epoch_line(record: Dict[str, float], epochs: int) -> str:
    line = (f"epoch {record['epoch']}/{epochs}: train loss {record['train_loss']:.4f}, "
            f"train acc {100 * record['train_acc']:.2f}%")
    if "val_acc" in record:
        line += f", test loss {record['val_loss']:.4f}, test acc {100 * record['val_acc']:.2f}%"
    return line + f", lr {record['lr']:.2e}, {record['time_s']:.1f} s"


def _seed_epoch(loader, value: int) -> None:
    torch.manual_seed(value)
    for holder in (loader, getattr(loader, "sampler", None), getattr(loader, "batch_sampler", None)):
        gen = getattr(holder, "generator", None)
        if isinstance(gen, torch.Generator):
            gen.manual_seed(value)


@torch.no_grad()
def evaluate(model: nn.Module, loader: Iterable, loss_fn: Optional[Callable] = None,
             device: Optional[torch.device] = None, amp: bool = False,
             channels_last: bool = False) -> Dict[str, float]:
    """Mean loss per sample and accuracy of ``model`` over ``loader``.

    The loss is summed per sample (``reduction="sum"`` semantics) and divided by the number
    of samples, so the result does not depend on the batch size. The model's train/eval
    mode is restored afterwards.

    Args:
        loss_fn: a loss whose ``reduction`` is ``"mean"`` (default cross-entropy); it is
            multiplied back by the batch size.

    Returns:
        ``{"loss": float, "accuracy": float in [0, 1], "correct": int, "n": int}``.

    Raises:
        ValueError: if ``loader`` yields no samples, or ``loss_fn`` does not average
            (``reduction`` other than ``"mean"``).
    """
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    if getattr(loss_fn, "reduction", "mean") != "mean":
        raise ValueError(f"evaluate() needs a loss with reduction='mean' (it multiplies back by the batch "
                         f"size), got reduction={loss_fn.reduction!r}")
    if device is None:
        device = next(model.parameters()).device
    device = torch.device(device)
    was_training = model.training
    model.eval()
    total_loss, correct, n = 0.0, 0, 0
    try:
        for inputs, targets in loader:
            inputs = inputs.to(device)
            targets = targets.to(device)
            if channels_last:
                inputs = inputs.contiguous(memory_format=torch.channels_last)
            with _autocast(device, amp):
                logits = model(inputs)
            total_loss += float(loss_fn(logits.float(), targets)) * targets.shape[0]
            correct += int((logits.argmax(1) == targets).sum())
            n += int(targets.shape[0])
    finally:
        model.train(was_training)
    if n == 0:
        raise ValueError("evaluate() got an empty loader: there is nothing to measure")
    return {"loss": total_loss / n, "accuracy": correct / n, "correct": correct, "n": n}


@torch.no_grad()
def predict(model: nn.Module, loader: Iterable, device: Optional[torch.device] = None):
    """Predicted labels and true labels for every sample of ``loader``.

    Returns:
        ``(preds, targets)``: two ``int64`` CPU tensors of shape ``(N,)``.
    """
    if device is None:
        device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    preds, targets = [], []
    try:
        for inputs, y in loader:
            preds.append(model(inputs.to(device)).argmax(1).cpu())
            targets.append(torch.as_tensor(y))
    finally:
        model.train(was_training)
    return torch.cat(preds), torch.cat(targets)


def confusion_matrix(preds: torch.Tensor, targets: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Counts ``M[i, j]`` of samples with true class ``i`` predicted as ``j``.

    Args:
        preds, targets: ``int64`` tensors of shape ``(N,)`` with values in ``[0, num_classes)``.

    Returns:
        ``int64`` tensor ``(num_classes, num_classes)``.

    Raises:
        ValueError: on shape mismatch, float labels or logits instead of labels, out-of-range
            labels, or a bad ``num_classes``.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    preds, targets = torch.as_tensor(preds), torch.as_tensor(targets)
    if preds.dim() == 2 and targets.dim() == 1:
        raise ValueError(f"preds has shape {tuple(preds.shape)}: these look like logits or scores; "
                         f"pass predicted labels, e.g. logits.argmax(1)")
    for name, t in (("preds", preds), ("targets", targets)):
        if t.is_floating_point() or t.is_complex():
            raise ValueError(f"{name} must hold integer class labels, got dtype {t.dtype}")
    preds, targets = preds.flatten(), targets.flatten()
    if preds.shape != targets.shape:
        raise ValueError(f"preds {tuple(preds.shape)} and targets {tuple(targets.shape)} differ in shape")
    for name, t in (("preds", preds), ("targets", targets)):
        if t.numel() and (t.min() < 0 or t.max() >= num_classes):
            raise ValueError(f"{name} must lie in [0, {num_classes}), got range "
                             f"[{int(t.min())}, {int(t.max())}]")
    flat = targets.to(torch.int64) * num_classes + preds.to(torch.int64)
    return torch.bincount(flat, minlength=num_classes ** 2).reshape(num_classes, num_classes)


def save_checkpoint(path: PathLike, model: nn.Module, optimizer=None, scheduler=None,
                    epoch: int = 0, history: Optional[History] = None) -> None:
    """Save model/optimizer/scheduler state, the epoch number and history to ``path``.

    Written to a temporary file first and renamed, so an interrupted save never leaves a
    half-written checkpoint.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"model": model.state_dict(), "epoch": int(epoch),
             "history": (history or History()).state_dict()}
    if optimizer is not None:
        state["optimizer"] = optimizer.state_dict()
    if scheduler is not None:
        state["scheduler"] = scheduler.state_dict()
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def load_checkpoint(path: PathLike, model: nn.Module, optimizer=None, scheduler=None) -> dict:
    """Load a checkpoint written by :func:`save_checkpoint` (``weights_only=True``).

    Restores the model (and optimizer/scheduler if given) in place and returns the raw state
    (with ``"epoch"`` and ``"history"``).

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        RuntimeError: if the checkpoint does not match the model (message from torch, with the
            file named).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    state = torch.load(path, map_location="cpu", weights_only=True)
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as exc:
        raise RuntimeError(f"checkpoint {path} does not fit this model: {exc}") from None
    if optimizer is not None and "optimizer" in state:
        optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and "scheduler" in state:
        scheduler.load_state_dict(state["scheduler"])
    return state


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
