"""Measuring a trained model: the one evaluation function, predictions, confusion matrices.

* :func:`evaluate` -- mean loss per sample and exact accuracy over a loader, independent of
  the batch size; optionally with flip test-time augmentation and per-image losses and
  predictions (what the CIFAR-10 pages report);
* :func:`predict` -- all predicted and true labels of a loader;
* :func:`confusion_matrix` -- counts of true class vs predicted class.

Not here: the training loop (:mod:`.loop`), the autocast context it uses
(:mod:`.precision`), plots of these numbers (:mod:`book_utils.plot`).
"""
from __future__ import annotations

import copy
import math
from typing import Any, Callable, Dict, Iterable, Optional

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import (check_batch, check_inputs_dtype, check_labels, check_model, empty_loader,
                      model_device)
from .precision import AmpSpec, autocast, resolve_amp


def module_modes(model: nn.Module) -> Dict[nn.Module, bool]:
    """Each module's own train/eval mode (``module.training``), to put back with
    :func:`restore_modes` (``model.train(was)`` would also switch a sub-module the caller
    froze in eval mode, e.g. a frozen batch-norm layer, back to training)."""
    return {m: m.training for m in model.modules()}


def restore_modes(modes: Dict[nn.Module, bool]) -> None:
    """Give every module of :func:`module_modes` its recorded mode back."""
    for module, training in modes.items():
        module.training = training


def sample_weights(loss_fn, targets: torch.Tensor) -> Optional[torch.Tensor]:
    """How much each sample counts in ``loss_fn``'s mean, or ``None`` when all count 1.

    A ``"mean"`` cross-entropy or NLL loss with class weights ``w`` (or an ``ignore_index``)
    divides by ``sum(w[y])`` over the batch, not by the batch size: its mean over a loader
    is ``sum(loss * batch weight) / sum(weights)``, which is what :func:`evaluate` and
    :func:`~book_utils.train.fit` compute.
    """
    if not isinstance(loss_fn, (nn.CrossEntropyLoss, nn.NLLLoss)) or targets.dim() != 1 \
            or targets.is_floating_point():
        return None
    weight, ignore = loss_fn.weight, getattr(loss_fn, "ignore_index", None)
    # tensor operations only (no .item()): fit calls this for every batch without waiting
    keep = (targets != ignore).float() if ignore is not None else None
    if weight is None:
        return keep
    w = weight.to(targets.device).float()[targets.clamp(0, weight.numel() - 1)]
    return w * keep if keep is not None else w


def _scores(model, x, device, dtype, tta_flip):
    """Logits of ``x`` (``tta_flip=False``) or log of the mean probability of ``x`` and its
    left-right mirror (``True``), in float32."""
    if not tta_flip:
        with autocast(device, dtype):
            return model(x).float()
    log_probs = []
    for view in (x, x.flip(-1)):
        with autocast(device, dtype):
            log_probs.append(F.log_softmax(model(view).float(), dim=1))
    # log of the mean probability, computed stably
    return torch.logsumexp(torch.stack(log_probs), dim=0) - math.log(len(log_probs))


@torch.no_grad()
def evaluate(model: nn.Module, loader: Iterable, loss_fn: Optional[Callable] = None,
             device: Optional[torch.device] = None, amp: AmpSpec = False,
             channels_last: bool = False, tta_flip: bool = False,
             per_image: bool = False) -> Dict[str, Any]:
    """Mean loss per sample and accuracy of ``model`` over ``loader``.

    The loss is summed per sample (``reduction="sum"`` semantics) and divided by the number
    of samples, so the result does not depend on the batch size; a cross-entropy with class
    weights (or an ``ignore_index``) is weighted as torch weights it, i.e. divided by the sum
    of the samples' class weights over the whole loader. Every module's own train/eval mode
    is restored afterwards (a layer the caller froze in eval mode stays in eval mode).

    Args:
        model: the network; it runs on ``device`` (default: its parameters' device, or the
            CPU for a model without parameters).
        loader: yields ``(inputs float (B, C, H, W), targets int64 (B,))``.
        loss_fn: a loss whose ``reduction`` is ``"mean"`` (default cross-entropy); it is
            multiplied back by the batch size. It is computed in float32 on the logits.
        amp: as in :func:`~book_utils.train.fit` (``False``, ``True``/``"auto"`` or a dtype).
        channels_last: move each input batch to ``torch.channels_last`` memory format.
        tta_flip: flip test-time augmentation: the class probabilities of each image and of
            its left-right mirror are averaged; the loss is then ``loss_fn`` of the log of
            that mean (for cross-entropy: minus the log of the averaged probability of the
            true class) and predictions are its argmax.
        per_image: also return, as CPU tensors in loader order, ``"preds"`` int64 ``(N,)``,
            ``"targets"`` int64 ``(N,)`` and ``"losses"`` float32 ``(N,)`` (``loss_fn`` with
            ``reduction="none"``); ``"loss"`` is then the mean of ``"losses"`` (their sum over
            the sum of the class weights, for a loss with class weights).

    Returns:
        ``{"loss": float, "accuracy": float in [0, 1], "correct": int, "n": int}``, plus
        ``preds``, ``targets`` and ``losses`` with ``per_image=True``.

    Raises:
        TypeError: if ``model`` is not a module, or the first batch is not an
            ``(inputs, targets)`` pair with float inputs (in the dtype of the model's
            parameters, unless ``amp``) and integer targets.
        ValueError: if ``loader`` yields no samples, ``loss_fn`` does not average
            (``reduction`` other than ``"mean"``), ``amp`` is not valid, the model is not
            all on ``device``, or a batch holds class labels outside the model's outputs.
    """
    check_model(model)
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    if getattr(loss_fn, "reduction", "mean") != "mean":
        raise ValueError(f"evaluate() needs a loss with reduction='mean' (it multiplies back by the batch "
                         f"size), got reduction={loss_fn.reduction!r}")
    if per_image:
        if not hasattr(loss_fn, "reduction"):
            raise ValueError("per_image=True needs a torch loss module with a reduction "
                             "attribute (e.g. nn.CrossEntropyLoss()), to compute one loss per image")
        sample_loss = copy.copy(loss_fn)
        sample_loss.reduction = "none"
    device = model_device(model, device)
    dtype = resolve_amp(amp, device)
    modes = module_modes(model)
    model.eval()
    total_loss, correct, n, total_weight = 0.0, 0, 0, 0.0
    preds, targets, losses = [], [], []
    ignore = getattr(loss_fn, "ignore_index", None)
    try:
        for k, batch in enumerate(loader):
            if k == 0:
                check_batch(batch, "loader")
                check_inputs_dtype(model, batch[0], "loader", dtype is not None)
            inputs, y = batch
            inputs = inputs.to(device)
            y = torch.as_tensor(y).to(device)
            if channels_last:
                inputs = inputs.contiguous(memory_format=torch.channels_last)
            scores = _scores(model, inputs, device, dtype, tta_flip)
            check_labels(scores, y, "loader", ignore)
            predicted = scores.argmax(1)
            weights = sample_weights(loss_fn, y)
            batch_weight = float(weights.sum()) if weights is not None else int(y.shape[0])
            if per_image:
                losses.append(sample_loss(scores, y).float().cpu())
                preds.append(predicted.cpu())
                targets.append(y.cpu())
            elif batch_weight > 0:
                total_loss += float(loss_fn(scores, y)) * batch_weight
            total_weight += batch_weight
            correct += int((predicted == y).sum())
            n += int(y.shape[0])
    finally:
        restore_modes(modes)
    if n == 0:
        raise empty_loader("evaluate")
    mean_over = total_weight if total_weight > 0 else float("nan")
    if not per_image:
        return {"loss": total_loss / mean_over, "accuracy": correct / n, "correct": correct,
                "n": n}
    losses_t = torch.cat(losses)
    return {"loss": float(losses_t.double().sum()) / mean_over, "accuracy": correct / n,
            "correct": correct, "n": n, "preds": torch.cat(preds),
            "targets": torch.cat(targets), "losses": losses_t}


@torch.no_grad()
def predict(model: nn.Module, loader: Iterable, device: Optional[torch.device] = None):
    """Predicted labels and true labels for every sample of ``loader``.

    Args:
        model: the network (default device: its parameters', or the CPU without any).
        loader: yields ``(inputs float (B, C, H, W), labels (B,))``.

    Returns:
        ``(preds, targets)``: two ``int64`` CPU tensors of shape ``(N,)``.

    Every module's own train/eval mode is restored afterwards.

    Raises:
        TypeError: if ``model`` is not a module or the first batch is not an
            ``(inputs, labels)`` pair with float inputs in the dtype of the model's parameters.
        ValueError: if ``loader`` yields no samples, or the model is not all on ``device``.
    """
    check_model(model)
    device = model_device(model, device)
    modes = module_modes(model)
    model.eval()
    preds, targets = [], []
    try:
        for k, batch in enumerate(loader):
            if k == 0:
                check_batch(batch, "loader", targets=False)
                check_inputs_dtype(model, batch[0], "loader", False)
            inputs, y = batch
            preds.append(model(inputs.to(device)).argmax(1).cpu())
            targets.append(torch.as_tensor(y))
    finally:
        restore_modes(modes)
    if not preds:
        raise empty_loader("predict")
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

