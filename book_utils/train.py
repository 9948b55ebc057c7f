"""Training and evaluation used by every hands-on page.

* :func:`choose_device` – CUDA, then Apple MPS, then CPU; :func:`device_name` names it.
* :func:`seed_everything` – one call for Python, NumPy and torch seeds.
* :func:`amp_dtype` – which mixed-precision dtype pays on a device (bf16, fp16 or none);
  :func:`autocast` – the one place in ``book_utils`` that builds an autocast context.
* :func:`fit` – the training loop: tqdm progress bars, per-epoch history, optional mixed
  precision, a checkpoint after every epoch and resume from it, a time estimate after the
  first epoch.
* :func:`checkpoint_dir`, :func:`checkpoint_path`, :func:`fresh_start` – checkpoints in a
  persistent folder, named by recipe, profile and sizes, so a re-run page resumes.
* :func:`evaluate` – mean loss per sample and exact accuracy, independent of batch size.
* :func:`predict` – all predictions and targets of a loader (for confusion matrices).

The page idiom for resuming (first code cells)::

    START_FRESH = False   # True: ignore saved checkpoints and train from scratch
    ...
    ckpt = train.checkpoint_path("lenet5", config.profile, epochs=config.epochs)
    train.fit(..., checkpoint=ckpt, resume=not (START_FRESH or train.fresh_start()))
"""
from __future__ import annotations

import functools
import math
import os
import platform
import random
import re
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Union

import numpy as np
import torch
from torch import nn

PathLike = Union[str, os.PathLike]
#: What ``fit(amp=...)`` and ``evaluate(amp=...)`` accept.
AmpSpec = Union[bool, None, str, torch.dtype]

#: Folder for checkpoints (default ``<cache>/checkpoints``, see :func:`checkpoint_dir`).
CHECKPOINTS_ENV = "CNN_BOOK_CHECKPOINTS"
#: Set to 1 to make every page train from scratch instead of resuming (:func:`fresh_start`).
FRESH_ENV = "CNN_BOOK_FRESH"


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
    """Human-readable name of ``device``, as printed on the pages and stored in records.

    CUDA: the GPU model (``"NVIDIA H200"``); MPS: ``"Apple MPS"``; CPU: the processor's model
    name and the cores this process may use, e.g. ``"CPU: AMD EPYC (2 cores)"``.
    """
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple MPS"
    return f"CPU: {cpu_model_name()} ({_usable_cores()} cores)"


def _usable_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _cpuinfo_field(name: str) -> Optional[str]:
    """First value of ``name`` in ``/proc/cpuinfo`` (Linux), or ``None``."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return None
    match = re.search(rf"^{re.escape(name)}\s*:\s*(.*)$", text, flags=re.MULTILINE)
    return match.group(1).strip() if match else None


def cpu_model_name() -> str:
    """The processor's model name (``/proc/cpuinfo`` on Linux, else :mod:`platform`)."""
    name = _cpuinfo_field("model name") or platform.processor() or platform.machine()
    return re.sub(r"\s+", " ", name).strip() or "unknown processor"


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset:
    """Instruction-set flags of the CPU (``/proc/cpuinfo``; empty where it cannot be read)."""
    flags = _cpuinfo_field("flags") or ""
    return frozenset(flags.split())


def cpu_has_native_bf16() -> bool:
    """Whether the CPU computes in bfloat16 natively (AVX512-BF16 or AMX-BF16).

    Without such instructions bf16 on a CPU is emulated and slower than float32.
    """
    return bool({"avx512_bf16", "amx_bf16"} & cpu_flags())


def amp_dtype(device: torch.device) -> Optional[torch.dtype]:
    """The mixed-precision dtype that pays on ``device``, or ``None`` for plain float32.

    * CUDA, compute capability >= 8.0 (A100, RTX 30xx, H100, ...): ``torch.bfloat16``
      (bf16 tensor cores, no loss scaling needed);
    * CUDA 7.x (V100, T4, RTX 20xx): ``torch.float16`` (tensor cores have no bf16; training
      then needs a ``torch.amp.GradScaler``, which :func:`fit` adds);
    * older CUDA GPUs and Apple MPS: ``None``;
    * CPU: ``torch.bfloat16`` when :func:`cpu_has_native_bf16` (AVX512-BF16/AMX), else ``None``.
      On a 2-core AVX512-BF16 CPU, ResNet-18 training measured 82 images/s in float32 and
      185 with bf16 autocast + channels_last.
    """
    device = torch.device(device)
    if device.type == "cuda":
        major, _minor = torch.cuda.get_device_capability(device)
        if major >= 8:
            return torch.bfloat16
        if major == 7:
            return torch.float16
        return None
    if device.type == "cpu":
        return torch.bfloat16 if cpu_has_native_bf16() else None
    return None


_AMP_DTYPES = (torch.bfloat16, torch.float16)


def resolve_amp(amp: AmpSpec, device: torch.device) -> Optional[torch.dtype]:
    """The autocast dtype meant by ``amp`` on ``device`` (``None``: no autocast).

    ``False``/``None``: off; ``True`` or ``"auto"``: :func:`amp_dtype`; ``torch.bfloat16`` or
    ``torch.float16``: that dtype; ``torch.float32``: off.

    Raises:
        ValueError: for anything else (the message lists what is accepted).
    """
    if amp is None or amp is False:
        return None
    if amp is True or (isinstance(amp, str) and amp == "auto"):
        return amp_dtype(device)
    if isinstance(amp, torch.dtype):
        if amp == torch.float32:
            return None
        if amp in _AMP_DTYPES:
            return amp
    raise ValueError(f"amp must be False/None (off), True or 'auto' (amp_dtype(device)), "
                     f"torch.bfloat16 or torch.float16, got {amp!r}")


def autocast(device: torch.device, dtype: Optional[torch.dtype]):
    """Autocast context for ``device`` in ``dtype``; ``contextlib.nullcontext()`` when ``None``.

    The one place in ``book_utils`` that builds an autocast context: ``fit``, ``evaluate`` and
    the CIFAR-10 evaluation all go through it.

    Raises:
        ValueError: if ``dtype`` is neither ``None`` nor bfloat16/float16.
    """
    if dtype is None:
        return nullcontext()
    if dtype not in _AMP_DTYPES:
        raise ValueError(f"autocast dtype must be None, torch.bfloat16 or torch.float16, got {dtype!r}")
    return torch.autocast(device_type=torch.device(device).type, dtype=dtype)


def checkpoint_dir() -> Path:
    """Folder for training checkpoints (created if missing).

    ``$CNN_BOOK_CHECKPOINTS`` if set, else ``<cache>/checkpoints`` where the cache is
    ``$CNN_BOOK_CACHE`` or ``~/.cache/cnn_book`` (:func:`book_utils.data.cache_dir`). On Colab,
    point it at Google Drive so a disconnect loses nothing::

        from google.colab import drive; drive.mount("/content/drive")
        os.environ["CNN_BOOK_CHECKPOINTS"] = "/content/drive/MyDrive/cnn_book_checkpoints"
    """
    value = os.environ.get(CHECKPOINTS_ENV, "").strip()
    if value:
        path = Path(value).expanduser()
    else:
        from .data import cache_dir
        path = cache_dir() / "checkpoints"
    path.mkdir(parents=True, exist_ok=True)
    return path


_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.]*(?:-[A-Za-z0-9_.]+)*")
_KEY_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def _size_text(key: str, value) -> str:
    if value is None:
        return "all"
    if isinstance(value, bool):
        raise ValueError(f"checkpoint size {key}={value!r}: use an integer, a number, None or a word")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return format(value, "g")
    if isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9_.]+", value):
        return value
    raise ValueError(f"checkpoint size {key}={value!r}: use an integer, a finite number, None "
                     f"(all) or a word of letters, digits, '_' and '.'")


def checkpoint_path(name: str, profile: str, **sizes) -> Path:
    """File of the checkpoint of one run, in :func:`checkpoint_dir`.

    ``checkpoint_path("resnet18-improved", "quick", train_subset=20000, epochs=4)`` is
    ``<dir>/resnet18-improved-quick-train_subset20000-epochs4.pt``: a run with other sizes gets
    another file, so it never resumes from a checkpoint of a different run. ``None`` is written
    ``all`` (``train_subset=None`` -> ``train_subsetall``).

    Args:
        name: recipe name: letters, digits, ``_``, ``.``, single ``-`` between them.
        profile: ``"quick"`` or ``"full"``.
        **sizes: what else tells runs apart, in the order given (integers, numbers, ``None``
            or plain words).

    Raises:
        ValueError: for an unsafe or empty name (e.g. a path), an unknown profile, or a size
            key/value that cannot be part of a file name.
    """
    from .profiles import PROFILE_NAMES
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name) or ".." in name:
        raise ValueError(f"checkpoint name {name!r} must be letters, digits, '_' or '.', "
                         f"with single '-' between words, e.g. 'resnet18-improved' (no paths)")
    if profile not in PROFILE_NAMES:
        raise ValueError(f"profile must be one of {PROFILE_NAMES}, got {profile!r}")
    parts = [name, profile]
    for key, value in sizes.items():
        if not _KEY_RE.fullmatch(key):
            raise ValueError(f"checkpoint size name {key!r} must be an identifier such as 'epochs'")
        parts.append(f"{key}{_size_text(key, value)}")
    return checkpoint_dir() / ("-".join(parts) + ".pt")


def fresh_start() -> bool:
    """Whether ``CNN_BOOK_FRESH`` asks every page to train from scratch.

    ``1``/``true``/``yes`` -> ``True``; unset, empty, ``0``/``false``/``no`` -> ``False``.
    Pages combine it with their own switch: ``resume=not (START_FRESH or train.fresh_start())``.

    Raises:
        ValueError: for any other value (the message names the variable).
    """
    value = os.environ.get(FRESH_ENV, "").strip().lower()
    if value in ("", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise ValueError(f"{FRESH_ENV}={os.environ[FRESH_ENV]!r}: set it to 1 (train from scratch) "
                     f"or 0 / unset it (resume from checkpoints)")


def _shown_path(path: Path) -> str:
    """``path`` relative to :func:`checkpoint_dir` when inside it, else its file name only."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(checkpoint_dir().resolve()))
    except ValueError:
        return path.name


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


def fit(model: nn.Module, train_loader: Iterable, optimizer: torch.optim.Optimizer, epochs: int,
        loss_fn: Optional[Callable] = None, device: Optional[torch.device] = None,
        scheduler=None, scheduler_step: str = "epoch", val_loader: Optional[Iterable] = None,
        amp: AmpSpec = False, checkpoint: Optional[PathLike] = None, resume: bool = True,
        progress: Optional[bool] = None, channels_last: bool = False,
        on_epoch_end: Optional[Callable[[History], None]] = None, seed: int = 0,
        val_loss_fn: Optional[Callable] = None, eta_after: float = 0.0) -> History:
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
            optimizer, scheduler, scaler and history are saved there (atomically). With
            ``resume=True`` and an existing file, training resumes after the last saved epoch
            and one line says so (the file named relative to :func:`checkpoint_dir`).
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

    Raises:
        ValueError: if ``epochs`` is not a non-negative integer, ``scheduler_step`` is unknown,
            ``amp`` or ``eta_after`` is not valid, the optimizer holds none of the model's
            parameters (nothing would be trained), the loader yields no batch, a checkpoint is
            further along than ``epochs``, or the loss becomes NaN or infinite (the message
            names the epoch and batch).
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"epochs must be an integer >= 0, got {epochs!r}")
    if scheduler_step not in ("epoch", "batch"):
        raise ValueError(f"scheduler_step must be 'epoch' or 'batch', got {scheduler_step!r}")
    if (isinstance(eta_after, bool) or not isinstance(eta_after, (int, float))
            or not math.isfinite(eta_after) or eta_after < 0):
        raise ValueError(f"eta_after must be a number of epochs >= 0, got {eta_after!r}")
    model_params = {id(p) for p in model.parameters()}
    if not any(id(p) in model_params for group in optimizer.param_groups for p in group["params"]):
        raise ValueError("the optimizer holds none of this model's parameters, so fit() would train "
                         "nothing; build it from this model, e.g. torch.optim.Adam(model.parameters())")
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    if device is None:
        device = next(model.parameters()).device
    device = torch.device(device)
    dtype = resolve_amp(amp, device)
    scaler = torch.amp.GradScaler(device.type) if dtype == torch.float16 else None
    quiet = progress is False
    history = History()
    start_epoch = 0
    if checkpoint is not None and resume and Path(checkpoint).is_file():
        state = load_checkpoint(checkpoint, model, optimizer, scheduler, scaler=scaler)
        history = History.from_state_dict(state["history"])
        start_epoch = int(state["epoch"])
        if start_epoch > epochs:
            raise ValueError(f"checkpoint {_shown_path(checkpoint)} has already trained {start_epoch} "
                             f"epochs, more than epochs={epochs}; delete it or pass resume=False")
        if not quiet:
            _print_wrapped(f"resumed after epoch {start_epoch}/{epochs} from",
                           _shown_path(checkpoint))
    elif checkpoint is not None and not resume and Path(checkpoint).is_file() and not quiet:
        _print_wrapped("starting afresh; will overwrite", _shown_path(checkpoint))
    disable = None if progress is None else not progress
    non_blocking = device.type == "cuda"
    first_epoch = start_epoch + 1
    for epoch in range(first_epoch, epochs + 1):
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
            with autocast(device, dtype):
                logits = model(inputs)
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
            total_loss += detached * n
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
            val = evaluate(model, val_loader, loss_fn=val_loss_fn or loss_fn, device=device, amp=dtype,
                           channels_last=channels_last)
            record["val_loss"], record["val_acc"] = val["loss"], val["accuracy"]
        history.epochs.append(record)
        if progress is None and _bars_disabled():
            print(_epoch_line(record, epochs), flush=True)
        if checkpoint is not None:
            save_checkpoint(checkpoint, model, optimizer, scheduler, epoch, history, scaler=scaler)
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
    """
    from .timing import format_duration
    line = (f"time: {seconds_per_epoch:.1f} s/epoch; rest of run "
            f"~{format_duration(seconds_per_epoch * epochs_left)}")
    if eta_after > 0:
        line += f"; rest of page ~{format_duration(seconds_per_epoch * (epochs_left + eta_after))}"
    return line


def _print_wrapped(head: str, tail: str, width: int = 80) -> None:
    """Print ``head tail`` on one line, or on two when that would exceed ``width`` columns."""
    one = f"{head} {tail}"
    print(one if len(one) <= width else f"{head}\n  {tail}", flush=True)


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


@torch.no_grad()
def evaluate(model: nn.Module, loader: Iterable, loss_fn: Optional[Callable] = None,
             device: Optional[torch.device] = None, amp: AmpSpec = False,
             channels_last: bool = False) -> Dict[str, float]:
    """Mean loss per sample and accuracy of ``model`` over ``loader``.

    The loss is summed per sample (``reduction="sum"`` semantics) and divided by the number
    of samples, so the result does not depend on the batch size. The model's train/eval
    mode is restored afterwards.

    Args:
        loss_fn: a loss whose ``reduction`` is ``"mean"`` (default cross-entropy); it is
            multiplied back by the batch size. It is computed in float32 on the logits.
        amp: as in :func:`fit` (``False``, ``True``/``"auto"`` or a dtype).
        channels_last: move each input batch to ``torch.channels_last`` memory format.

    Returns:
        ``{"loss": float, "accuracy": float in [0, 1], "correct": int, "n": int}``.

    Raises:
        ValueError: if ``loader`` yields no samples, ``loss_fn`` does not average
            (``reduction`` other than ``"mean"``), or ``amp`` is not valid.
    """
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    if getattr(loss_fn, "reduction", "mean") != "mean":
        raise ValueError(f"evaluate() needs a loss with reduction='mean' (it multiplies back by the batch "
                         f"size), got reduction={loss_fn.reduction!r}")
    if device is None:
        device = next(model.parameters()).device
    device = torch.device(device)
    dtype = resolve_amp(amp, device)
    was_training = model.training
    model.eval()
    total_loss, correct, n = 0.0, 0, 0
    try:
        for inputs, targets in loader:
            inputs = inputs.to(device)
            targets = targets.to(device)
            if channels_last:
                inputs = inputs.contiguous(memory_format=torch.channels_last)
            with autocast(device, dtype):
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
                    epoch: int = 0, history: Optional[History] = None, scaler=None) -> None:
    """Save model/optimizer/scheduler/GradScaler state, the epoch number and history to ``path``.

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
    if scaler is not None:
        state["scaler"] = scaler.state_dict()
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def load_checkpoint(path: PathLike, model: nn.Module, optimizer=None, scheduler=None,
                    scaler=None) -> dict:
    """Load a checkpoint written by :func:`save_checkpoint` (``weights_only=True``).

    Restores the model (and optimizer/scheduler/GradScaler if given) in place and returns the raw state
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
    if scaler is not None and "scaler" in state:
        scaler.load_state_dict(state["scaler"])
    return state


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
