"""What produced a training run, so that a checkpoint resumes only its own run.

The one rule of the book for changed settings: :func:`~book_utils.train.fit` stores the
settings of a run in every checkpoint it writes, and when it is asked to resume it compares
them with the settings of the call. When any differs (a recipe field, the model, the
optimizer, the schedule and its length, the data, the seed), or the checkpoint holds no
settings (written by an older ``book_utils``), it prints one line naming what differs and
trains from scratch; the old file is replaced when the new run writes its first epoch.

* :func:`run_settings` -- the settings :func:`fit` can see (model layout, optimizer and its
  hyper-parameters, scheduler and its configuration, loss, data, seed, epochs), plus any the
  caller adds (``fit(settings=...)``: e.g. a recipe's fields, the profile, the sizes);
* :func:`settings_diff` -- the names of what differs between two such records, with the old
  and new values, in a few words each (the line fit prints is built from them).

Not here: reading and writing checkpoint files (:mod:`.checkpoints`), the resume itself
(:mod:`.loop`).
"""
from __future__ import annotations

import hashlib
import json
import math
import numbers
from typing import Any, Dict, List, Mapping, Optional

import torch
from torch import nn

#: optimizer options that choose an implementation, not the update (left out of settings)
_IMPLEMENTATION = ("foreach", "fused", "capturable", "differentiable")
#: optimizer values a scheduler changes while it runs (their starting values are in the
#: optimizer's defaults and in the scheduler's own settings)
_SCHEDULED = ("lr", "momentum", "betas", "initial_lr", "max_lr", "min_lr", "base_momentum",
              "max_momentum")
#: scheduler state that records progress, not configuration
_PROGRESS = ("last_epoch", "_step_count", "_last_lr", "_get_lr_called_within_step",
             "_is_initial", "verbose", "best", "num_bad_epochs", "cooldown_counter",
             "_last_epoch")


def _plain(value, depth: int = 0):
    """``value`` as JSON data: numbers, strings, lists and dicts with string keys."""
    if depth > 6:
        return repr(value)[:80]
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, torch.Tensor):
        if value.numel() > 64:
            return "tensor " + _digest(value.detach().cpu().float().numpy().tobytes())
        return _plain(value.detach().cpu().tolist(), depth + 1)
    if isinstance(value, torch.dtype):
        return str(value).replace("torch.", "")
    if isinstance(value, Mapping):
        return {str(k): _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, depth + 1) for v in value]
    return _described(value)


def _described(obj) -> str:
    """``repr(obj)`` when its class writes a meaningful one, else its class name."""
    text = repr(obj)
    if " at 0x" in text or len(text) > 300:
        return type(obj).__name__
    return text


def _digest(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()[:12]


def model_settings(model: nn.Module) -> Dict[str, Any]:
    """The model's class, parameter count and a digest of its layout (every state-dict key
    with its shape and dtype, and the modules' own description, ``repr(model)``), which
    changes with any layer added, removed, resized or configured otherwise (a dropout rate,
    a normalisation layer without weights)."""
    layout = ";".join(f"{k}:{tuple(v.shape)}:{v.dtype}" for k, v in model.state_dict().items()
                      if isinstance(v, torch.Tensor)) + "|" + repr(model)
    count = sum(p.numel() for p in model.parameters())
    return {"model": f"{type(model).__name__}, {count:,} parameters",
            "model_layout": _digest(layout.encode())}


def optimizer_settings(optimizer: torch.optim.Optimizer) -> Dict[str, Any]:
    """The optimizer's class, its hyper-parameters (its defaults, which a scheduler never
    changes) and, per parameter group, its size and the hyper-parameters it sets otherwise."""
    defaults = {k: v for k, v in optimizer.defaults.items() if k not in _IMPLEMENTATION}
    groups = []
    for group in optimizer.param_groups:
        own = {k: group[k] for k in defaults if k in group and k not in _SCHEDULED
               and _plain(group[k]) != _plain(defaults[k])}
        groups.append({"parameters": sum(p.numel() for p in group["params"]), **own})
    return {"optimizer": {"class": type(optimizer).__name__, **_plain(defaults)},
            "param_groups": _plain(groups)}


def _strip_progress(state):
    if isinstance(state, Mapping):
        return {k: _strip_progress(v) for k, v in state.items() if k not in _PROGRESS}
    if isinstance(state, (list, tuple)):
        return [_strip_progress(v) for v in state]
    return state


def scheduler_settings(scheduler, epochs: int, scheduler_step: str) -> Dict[str, Any]:
    """The scheduler's class and configuration (its state without its progress) and, since a
    schedule is laid out over the whole run, the number of epochs; nothing without one."""
    if scheduler is None:
        return {"scheduler": None}
    try:
        state = _strip_progress(scheduler.state_dict())
    except Exception:     # a scheduler without a state dict: its class is all we know
        state = {}
    return {"scheduler": {"class": type(scheduler).__name__, "step": scheduler_step,
                          **_plain(state)},
            "epochs": int(epochs)}


def loss_settings(loss_fn) -> Dict[str, Any]:
    """The loss's class and public options (reduction, label smoothing, class weights)."""
    if not isinstance(loss_fn, nn.Module):
        return {"loss": getattr(loss_fn, "__qualname__", type(loss_fn).__name__)}
    options = {k: v for k, v in vars(loss_fn).items()
               if not k.startswith("_") and k != "training"}
    options.update({k: v for k, v in loss_fn.named_buffers()})
    return {"loss": {"class": type(loss_fn).__name__, **_plain(options)}}


def data_settings(loader) -> Dict[str, Any]:
    """Batch size, batches per epoch, samples and transform of a training loader, where the
    loader tells them (a ``DataLoader``, :class:`~book_utils.cifar.DeviceBatches`)."""
    out: Dict[str, Any] = {}
    batch_size = getattr(loader, "batch_size", None)
    if isinstance(batch_size, int):
        out["batch_size"] = batch_size
    try:
        out["batches_per_epoch"] = len(loader)
    except TypeError:
        pass
    dataset = getattr(loader, "dataset", None)
    samples = getattr(loader, "num_samples", None)
    if not isinstance(samples, int) and dataset is not None:
        try:
            samples = len(dataset)
        except TypeError:
            samples = None
    if isinstance(samples, int):
        out["train_samples"] = samples
    for holder in (loader, dataset):
        if holder is not None and getattr(holder, "transform", None) is not None:
            out["transform"] = _described(holder.transform)
            break
    return out


def run_settings(model: nn.Module, optimizer: torch.optim.Optimizer, epochs: int, *,
                 scheduler=None, scheduler_step: str = "epoch", loss_fn=None,
                 train_loader=None, seed: int = 0,
                 extra: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """Everything that makes one training run differ from another, as JSON data.

    Args:
        model, optimizer, epochs, scheduler, scheduler_step, loss_fn, train_loader, seed: as
            given to :func:`~book_utils.train.fit`.
        extra: what else the caller knows produced the run (a recipe's fields, the profile,
            the sizes); keys must be strings, values numbers, strings, lists or dicts.

    Returns:
        A dict of JSON data: ``model``, ``model_layout``, ``optimizer``, ``param_groups``,
        ``scheduler`` (and ``epochs`` with a scheduler), ``loss``, the data's
        ``batch_size``/``batches_per_epoch``/``train_samples``/``transform`` where the loader
        tells them, ``seed``, and the keys of ``extra``. Epochs count only with a scheduler:
        without one, more epochs continue the same run.

    Raises:
        TypeError: if ``extra`` is not a mapping with string keys.
    """
    if extra is not None and (not isinstance(extra, Mapping)
                              or not all(isinstance(k, str) for k in extra)):
        raise TypeError(f"settings must be a dict with string keys (e.g. a recipe's fields), "
                        f"got {type(extra).__name__}")
    out: Dict[str, Any] = {}
    out.update(model_settings(model))
    out.update(optimizer_settings(optimizer))
    out.update(scheduler_settings(scheduler, epochs, scheduler_step))
    out.update(loss_settings(loss_fn if loss_fn is not None else nn.CrossEntropyLoss()))
    if train_loader is not None:
        out.update(data_settings(train_loader))
    out["seed"] = int(seed)
    for key, value in (extra or {}).items():
        out[f"settings.{key}" if key in out else key] = _plain(value)
    return json.loads(json.dumps(out, sort_keys=True))


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    return text if len(text) <= 40 else text[:37] + "..."


def _diff_one(key: str, old, new) -> List[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(set(old) | set(new), key=lambda k: (k != "class", k))
        if old.get("class") != new.get("class") and "class" in old and "class" in new:
            return [f"{key} {old['class']} -> {new['class']}"]
        return [part for k in keys if old.get(k, "-") != new.get(k, "-")
                for part in _diff_one(f"{key}.{k}", old.get(k, "-"), new.get(k, "-"))]
    if key == "model_layout":
        return ["model layout (layer names or shapes)"]
    return [f"{key} {_short(old)} -> {_short(new)}"]


def settings_diff(saved: Optional[Mapping[str, Any]], current: Mapping[str, Any]) -> List[str]:
    """What differs between the settings a checkpoint was saved with and the current ones.

    Returns:
        ``[]`` when they agree; else one short phrase per difference, e.g.
        ``["epochs 4 -> 6", "scheduler.T_max 4 -> 6"]``; for ``saved=None`` (a checkpoint of
        an older ``book_utils``) ``["no settings saved (older book_utils)"]``.
    """
    if saved is None:
        return ["no settings saved (older book_utils)"]
    keys = sorted(set(saved) | set(current))
    return [part for k in keys if saved.get(k, "-") != current.get(k, "-")
            for part in _diff_one(k, saved.get(k, "-"), current.get(k, "-"))]
