"""Object-detection helpers: box conversions, IoU, non-maximum suppression and YOLOv1 decoding.

Boxes are ``float`` tensors of shape ``(N, 4)`` in ``(x1, y1, x2, y2)`` pixel corners with
``x1 <= x2`` and ``y1 <= y2`` (the convention of :mod:`torchvision.ops`). Every function here is
written for reading; :mod:`torchvision.ops` has the fast versions (``box_iou``, ``nms``,
``batched_nms``), and the tests check that both give the same results.

YOLOv1 (Redmon, Divvala, Girshick, Farhadi, "You Only Look Once: Unified, Real-Time Object
Detection", CVPR 2016) predicts, for an ``S x S`` grid over the image, a tensor of shape
``(S, S, B * 5 + C)``. In this module the last axis of one cell holds

* ``B`` boxes of 5 numbers ``(x, y, w, h, confidence)``: ``x, y`` in [0, 1] are the box centre
  relative to the cell's top-left corner in units of the cell size, ``w, h`` in [0, 1] are the
  width and height relative to the whole image, ``confidence`` estimates
  ``Pr(object) * IoU(pred, truth)``;
* then ``C`` conditional class probabilities ``Pr(class | object)`` shared by the cell's boxes.

(The paper trains on the square roots of ``w, h``; a network trained that way must be squared
before decoding.) The class-specific score of a box is ``confidence * Pr(class | object)``.
"""
from __future__ import annotations

import math
import numbers
from typing import NamedTuple, Optional, Sequence, Tuple

import torch

from .ops import check_int

__all__ = ["Detections", "box_area", "box_iou", "nms", "batched_nms", "box_cxcywh_to_xyxy",
           "decode_yolo_v1", "encode_yolo_v1", "simulate_yolo_v1_output", "draw_boxes"]


class Detections(NamedTuple):
    """Decoded boxes of one image: ``boxes (K, 4)`` xyxy pixels, ``scores (K,)``, ``labels (K,)`` int64."""

    boxes: torch.Tensor
    scores: torch.Tensor
    labels: torch.Tensor


def _check_boxes(boxes, name: str = "boxes") -> torch.Tensor:
    if not isinstance(boxes, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (N, 4), got {type(boxes).__name__}")
    if boxes.dim() != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{name} must have shape (N, 4) with rows (x1, y1, x2, y2), got {tuple(boxes.shape)}")
    if not boxes.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {boxes.dtype}; use boxes.float()")
    if boxes.numel() and not torch.isfinite(boxes).all():
        raise ValueError(f"{name} contains NaN or infinite coordinates")
    bad = (boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])
    if bad.any():
        i = int(bad.nonzero()[0])
        raise ValueError(f"{name}[{i}] = {boxes[i].tolist()} has x2 < x1 or y2 < y1; boxes must be corners "
                         "(x1, y1, x2, y2) — convert centre/size boxes with box_cxcywh_to_xyxy first")
    return boxes


def _same_device(a: torch.Tensor, b: torch.Tensor, name_a: str, name_b: str) -> None:
    if a.device != b.device:
        raise ValueError(f"{name_a} is on {a.device} but {name_b} is on {b.device}; move both to "
                         f"one device, e.g. {name_b}.to({name_a}.device)")


def _check_labels(labels, n: int, name: str = "labels") -> torch.Tensor:
    if not isinstance(labels, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape ({n},) with integer classes, got "
                        f"{type(labels).__name__}; use torch.as_tensor({name})")
    if labels.dtype.is_floating_point or labels.dtype == torch.bool or labels.is_complex():
        raise TypeError(f"{name} must hold integer class indices, got dtype {labels.dtype}; "
                        f"use {name}.long()")
    if labels.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), one class per box, got {tuple(labels.shape)}")
    return labels


def _check_threshold(name: str, value, low: Optional[float] = 0.0, high: Optional[float] = 1.0) -> float:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    if math.isnan(value) or (low is not None and value < low) or (high is not None and value > high):
        span = f"[{low}, {high}]" if low is not None and high is not None else "a finite number"
        raise ValueError(f"{name} must be in {span}, got {value}")
    return value


def _check_image_size(image_size) -> Tuple[int, int]:
    if isinstance(image_size, (str, bytes)) or not hasattr(image_size, "__len__") or len(image_size) != 2:
        raise ValueError(f"image_size must be a pair (H, W) of pixel sizes, got {image_size!r}")
    return (check_int("image_size[0] (height)", image_size[0], 1),
            check_int("image_size[1] (width)", image_size[1], 1))


def box_area(boxes: torch.Tensor) -> torch.Tensor:
    """Areas ``(x2 - x1) * (y2 - y1)`` of ``(N, 4)`` xyxy boxes -> ``(N,)`` (zero for degenerate boxes)."""
    boxes = _check_boxes(boxes)
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def box_iou(boxes1: torch.Tensor, boxes2: torch.Tensor) -> torch.Tensor:
    """Intersection over union of every pair: ``(N, 4)`` and ``(M, 4)`` xyxy boxes -> ``(N, M)``.

    ``IoU = area(A ∩ B) / area(A ∪ B)``. When the union is empty (two boxes of zero area) the
    IoU is defined here as 0: a box without area overlaps nothing. (``torchvision.ops.box_iou``
    returns NaN there; everywhere else the two agree.)

    Raises:
        TypeError, ValueError: for non-tensors, wrong shapes, integer dtypes, NaNs or boxes with
            ``x2 < x1`` or ``y2 < y1``.
    """
    if isinstance(boxes1, torch.Tensor) and isinstance(boxes2, torch.Tensor):
        _same_device(boxes1, boxes2, "boxes1", "boxes2")
    boxes1, boxes2 = _check_boxes(boxes1, "boxes1"), _check_boxes(boxes2, "boxes2")
    area1, area2 = box_area(boxes1), box_area(boxes2)
    top_left = torch.maximum(boxes1[:, None, :2], boxes2[None, :, :2])       # (N, M, 2)
    bottom_right = torch.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])   # (N, M, 2)
    wh = (bottom_right - top_left).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    union = area1[:, None] + area2[None, :] - inter
    return torch.where(union > 0, inter / union.where(union > 0, torch.ones_like(union)), torch.zeros_like(union))


def _check_scores(scores, n: int) -> torch.Tensor:
    if not isinstance(scores, torch.Tensor):
        raise TypeError(f"scores must be a torch.Tensor of shape (N,), got {type(scores).__name__}")
    if scores.dim() != 1 or scores.shape[0] != n:
        raise ValueError(f"scores must have shape ({n},) to match the boxes, got {tuple(scores.shape)}")
    if scores.dtype == torch.bool or scores.is_complex():
        raise TypeError(f"scores must be real numbers, got dtype {scores.dtype}; use scores.float()")
    if scores.numel() and scores.is_floating_point() and torch.isnan(scores).any():
        raise ValueError("scores contain NaN; a NaN score cannot be ranked (check the network "
                         "output or the score computation)")
    return scores


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Greedy non-maximum suppression.

    Take the highest-scoring box that is left, keep it, and drop every remaining box whose IoU
    with it is **greater than** ``iou_threshold``; repeat until no box is left. Equal scores are
    visited in index order (a stable sort), as in ``torchvision.ops.nms``.

    Args:
        boxes: ``(N, 4)`` float xyxy boxes.
        scores: ``(N,)`` scores.
        iou_threshold: in ``[0, 1]``; 0.5 is common.

    Returns:
        ``int64`` indices of the kept boxes, ordered by decreasing score; empty for ``N = 0``.

    Raises:
        TypeError, ValueError: for malformed boxes or scores, or a threshold outside ``[0, 1]``.
    """
    if isinstance(boxes, torch.Tensor) and isinstance(scores, torch.Tensor):
        _same_device(boxes, scores, "boxes", "scores")
    boxes = _check_boxes(boxes)
    scores = _check_scores(scores, boxes.shape[0])
    iou_threshold = _check_threshold("iou_threshold", iou_threshold)
    order = torch.sort(scores, descending=True, stable=True).indices
    overlaps = box_iou(boxes, boxes)
    removed = torch.zeros(boxes.shape[0], dtype=torch.bool, device=boxes.device)
    keep = []
    for i in order.tolist():
        if removed[i]:
            continue
        keep.append(i)
        removed |= overlaps[i] > iou_threshold
    return torch.tensor(keep, dtype=torch.int64, device=boxes.device)


def batched_nms(boxes: torch.Tensor, scores: torch.Tensor, labels: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """NMS run separately for each class: a box only suppresses boxes with the same label.

    Args:
        boxes, scores, iou_threshold: as in :func:`nms`.
        labels: ``(N,)`` integer class of each box.

    Returns:
        ``int64`` indices of the kept boxes, ordered by decreasing score (like
        ``torchvision.ops.batched_nms``).

    Raises:
        TypeError, ValueError: as :func:`nms`, and for labels that are not an integer tensor of
            shape ``(N,)`` on the boxes' device.
    """
    for name, t in (("scores", scores), ("labels", labels)):
        if isinstance(boxes, torch.Tensor) and isinstance(t, torch.Tensor):
            _same_device(boxes, t, "boxes", name)
    boxes = _check_boxes(boxes)
    scores = _check_scores(scores, boxes.shape[0])
    labels = _check_labels(labels, boxes.shape[0])
    _check_threshold("iou_threshold", iou_threshold)
    keep = []
    for label in torch.unique(labels).tolist():
        idx = (labels == label).nonzero().flatten()
        keep.append(idx[nms(boxes[idx], scores[idx], iou_threshold)])
    if not keep:
        return torch.zeros(0, dtype=torch.int64)
    keep = torch.cat(keep)
    return keep[torch.sort(scores[keep], descending=True, stable=True).indices]


def box_cxcywh_to_xyxy(boxes: torch.Tensor) -> torch.Tensor:
    """``(N, 4)`` boxes ``(cx, cy, w, h)`` -> corners ``(x1, y1, x2, y2)``.

    Raises:
        TypeError: ``boxes`` is not a tensor. ValueError: wrong shape, NaN/inf entries, or a
            negative width or height.
    """
    if not isinstance(boxes, torch.Tensor):
        raise TypeError(f"boxes must be a torch.Tensor of shape (N, 4) with rows (cx, cy, w, h), "
                        f"got {type(boxes).__name__}")
    if boxes.dim() != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes must be a tensor of shape (N, 4) with rows (cx, cy, w, h), got "
                         f"{tuple(boxes.shape)}")
    if boxes.is_floating_point() and boxes.numel() and not torch.isfinite(boxes).all():
        raise ValueError("boxes contains NaN or infinite values")
    if (boxes[:, 2:] < 0).any():
        i = int((boxes[:, 2:] < 0).any(dim=1).nonzero()[0])
        raise ValueError(f"box widths and heights must be >= 0; boxes[{i}] = {boxes[i].tolist()}")
    cx, cy, w, h = boxes.unbind(1)
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=1)


def _check_grid(pred: torch.Tensor, num_boxes: int, num_classes: int) -> int:
    if not isinstance(pred, torch.Tensor):
        raise TypeError(f"pred must be a torch.Tensor, got {type(pred).__name__}")
    num_boxes = check_int("num_boxes", num_boxes, 1)
    num_classes = check_int("num_classes", num_classes, 1)
    if not pred.is_floating_point():
        raise TypeError(f"pred must be a floating-point tensor, got {pred.dtype}; use pred.float()")
    depth = num_boxes * 5 + num_classes
    if pred.dim() != 3 or pred.shape[0] != pred.shape[1] or pred.shape[2] != depth:
        raise ValueError(
            f"a YOLOv1 output for one image has shape (S, S, B * 5 + C) = (S, S, {depth}) for "
            f"B={num_boxes}, C={num_classes}; got {tuple(pred.shape)} (for a batch, decode one image at a time)")
    if pred.numel() and not torch.isfinite(pred).all():
        raise ValueError("pred contains NaN or infinite values (a diverged network?); its boxes "
                         "and scores would be meaningless")
    return pred.shape[0]


def decode_yolo_v1(pred: torch.Tensor, num_boxes: int = 2, num_classes: int = 20,
                   image_size: Tuple[int, int] = (448, 448), score_threshold: float = 0.0) -> Detections:
    """Turn one image's YOLOv1 output ``(S, S, B * 5 + C)`` into boxes, scores and labels.

    For the box ``b`` of cell ``(row, col)`` with ``(x, y, w, h, conf)``:
    centre ``((col + x) / S * W, (row + y) / S * H)``, size ``(w * W, h * H)`` pixels; label
    ``argmax_c Pr(c | object)`` of the cell; score ``conf * max_c Pr(c | object)``.

    Args:
        pred: ``(S, S, B * 5 + C)`` float tensor laid out as in the module docstring.
        num_boxes: ``B`` (2 in the paper).
        num_classes: ``C`` (20 for PASCAL VOC).
        image_size: ``(H, W)`` of the image in pixels.
        score_threshold: boxes with a score at or below it are dropped (0 keeps all positive scores;
            a negative value keeps all ``S * S * B`` boxes).

    Returns:
        :class:`Detections` with boxes clipped to the image, ordered by cell (row-major), then box slot.

    Raises:
        TypeError, ValueError: if ``pred`` does not have the shape ``(S, S, B * 5 + C)``.
    """
    s = _check_grid(pred, num_boxes, num_classes)
    height, width = _check_image_size(image_size)
    score_threshold = _check_threshold("score_threshold", score_threshold, None, None)
    boxes5 = pred[..., : num_boxes * 5].reshape(s, s, num_boxes, 5)
    class_prob, label = pred[..., num_boxes * 5:].max(dim=-1)                  # (S, S)
    rows = torch.arange(s, dtype=pred.dtype).view(s, 1, 1)
    cols = torch.arange(s, dtype=pred.dtype).view(1, s, 1)
    cx = (cols + boxes5[..., 0]) / s * width
    cy = (rows + boxes5[..., 1]) / s * height
    w, h = boxes5[..., 2] * width, boxes5[..., 3] * height
    xyxy = box_cxcywh_to_xyxy(torch.stack([cx, cy, w.clamp(min=0), h.clamp(min=0)], dim=-1).reshape(-1, 4))
    xyxy[:, 0::2] = xyxy[:, 0::2].clamp(0, width)
    xyxy[:, 1::2] = xyxy[:, 1::2].clamp(0, height)
    scores = (boxes5[..., 4] * class_prob[..., None]).reshape(-1)
    labels = label[..., None].expand(s, s, num_boxes).reshape(-1)
    keep = scores > score_threshold
    return Detections(xyxy[keep], scores[keep], labels[keep].to(torch.int64))


def encode_yolo_v1(boxes: torch.Tensor, labels: torch.Tensor, grid_size: int = 7, num_boxes: int = 2,
                   num_classes: int = 20, image_size: Tuple[int, int] = (448, 448)) -> torch.Tensor:
    """The YOLOv1 target (or an ideal prediction) for ground-truth boxes: inverse of :func:`decode_yolo_v1`.

    Each box is assigned to the cell that contains its centre, in that cell's first free box
    slot, with confidence 1; the cell's class probabilities become one-hot.

    Args:
        boxes: ``(N, 4)`` xyxy pixel boxes inside the image.
        labels: ``(N,)`` integer classes in ``[0, num_classes)``.

    Returns:
        ``(S, S, B * 5 + C)`` float32 tensor.

    Raises:
        ValueError: for boxes outside the image, out-of-range labels, more than ``num_boxes``
            centres in one cell, or two classes in one cell (YOLOv1 predicts one class per cell).
    """
    boxes = _check_boxes(boxes)
    height, width = _check_image_size(image_size)
    labels = _check_labels(labels, boxes.shape[0])
    grid_size = check_int("grid_size", grid_size, 1)
    num_boxes = check_int("num_boxes", num_boxes, 1)
    num_classes = check_int("num_classes", num_classes, 1)
    if boxes.numel() and ((boxes[:, 0::2] < 0).any() or (boxes[:, 0::2] > width).any()
                          or (boxes[:, 1::2] < 0).any() or (boxes[:, 1::2] > height).any()):
        raise ValueError(f"boxes must lie inside the {width}x{height} image")
    if labels.shape != (boxes.shape[0],) or ((labels < 0) | (labels >= num_classes)).any():
        raise ValueError(f"labels must be ({boxes.shape[0]},) integers in [0, {num_classes})")
    s = grid_size
    target = torch.zeros(s, s, num_boxes * 5 + num_classes)
    used = torch.zeros(s, s, dtype=torch.int64)
    for (x1, y1, x2, y2), label in zip(boxes.tolist(), labels.tolist()):
        gx, gy = (x1 + x2) / 2 / width * s, (y1 + y2) / 2 / height * s
        col, row = min(int(gx), s - 1), min(int(gy), s - 1)
        slot = int(used[row, col])
        if slot >= num_boxes:
            raise ValueError(f"cell (row={row}, col={col}) already holds {num_boxes} box centres; "
                             "YOLOv1 can predict at most B boxes per cell")
        classes = target[row, col, num_boxes * 5:]
        if slot > 0 and classes[label] != 1:
            raise ValueError(f"cell (row={row}, col={col}) holds boxes of two classes; "
                             "YOLOv1 predicts one class per cell")
        target[row, col, slot * 5: slot * 5 + 5] = torch.tensor(
            [gx - col, gy - row, (x2 - x1) / width, (y2 - y1) / height, 1.0])
        classes[label] = 1.0
        used[row, col] += 1
    return target


def simulate_yolo_v1_output(boxes: torch.Tensor, labels: torch.Tensor, grid_size: int = 7, num_boxes: int = 2,
                            num_classes: int = 20, image_size: Tuple[int, int] = (448, 448),
                            seed: int = 0) -> torch.Tensor:
    """A made-up YOLOv1 output for demos: roughly what a trained detector could output for ``boxes``.

    Not a network. Every cell predicts low-confidence random boxes (confidence < 0.15). The cell
    holding an object's centre and its 8 neighbours predict jittered copies of the object's box,
    with the centre kept inside the predicting cell and a confidence of about
    ``IoU(predicted box, object)`` (the quantity YOLOv1's confidence is trained to estimate;
    times 0.7 in the neighbours, which are not responsible for the object), so
    one object gives several overlapping detections: the situation NMS is for. Where two objects
    compete for a box slot the more confident prediction wins; a cell's class probabilities
    follow its first slot.

    Args:
        boxes, labels: hand-placed objects, ``(N, 4)`` xyxy pixels and ``(N,)`` classes.
        grid_size, num_boxes, num_classes, image_size: ``S``, ``B``, ``C`` and ``(H, W)``.
        seed: seed of the generator, so the demo is reproducible.

    Returns:
        ``(S, S, B * 5 + C)`` float32 tensor in the layout of :func:`decode_yolo_v1`.
    """
    boxes = _check_boxes(boxes)
    labels = _check_labels(labels, boxes.shape[0])
    s = check_int("grid_size", grid_size, 1)
    b = check_int("num_boxes", num_boxes, 1)
    c = check_int("num_classes", num_classes, 1)
    height, width = _check_image_size(image_size)
    if labels.numel() and ((labels < 0) | (labels >= c)).any():
        raise ValueError(f"labels must be integers in [0, {c}) (num_classes={c}), got "
                         f"{labels.min().item()}..{labels.max().item()}")
    if boxes.numel() and ((boxes[:, 0::2] < 0).any() or (boxes[:, 0::2] > width).any()
                          or (boxes[:, 1::2] < 0).any() or (boxes[:, 1::2] > height).any()):
        raise ValueError(f"boxes must lie inside the {width}x{height} image (image_size=(H, W))")
    g = torch.Generator().manual_seed(check_int("seed", seed, 0))
    pred = torch.zeros(s, s, b * 5 + c)
    slots = pred[..., : b * 5].view(s, s, b, 5)
    slots[..., :2] = torch.rand(s, s, b, 2, generator=g)
    slots[..., 2:4] = 0.05 + 0.3 * torch.rand(s, s, b, 2, generator=g)
    slots[..., 4] = 0.15 * torch.rand(s, s, b, generator=g)
    pred[..., b * 5:] = torch.softmax(torch.randn(s, s, c, generator=g), dim=-1)
    for box, label in zip(boxes, labels.tolist()):
        x1, y1, x2, y2 = box.tolist()
        gx, gy = (x1 + x2) / 2 / width * s, (y1 + y2) / 2 / height * s
        col, row = min(int(gx), s - 1), min(int(gy), s - 1)
        bw, bh = (x2 - x1) / width, (y2 - y1) / height
        for r in range(max(row - 1, 0), min(row + 2, s)):
            for q in range(max(col - 1, 0), min(col + 2, s)):
                for slot in range(b):
                    noise = torch.randn(4, generator=g)
                    x = min(max(gx + 0.1 * bw * s * noise[0].item() - q, 0.02), 0.98)
                    y = min(max(gy + 0.1 * bh * s * noise[1].item() - r, 0.02), 0.98)
                    w, h = bw * float(torch.exp(0.1 * noise[2])), bh * float(torch.exp(0.1 * noise[3]))
                    guess = box_cxcywh_to_xyxy(torch.tensor([[(q + x) / s * width, (r + y) / s * height,
                                                              w * width, h * height]]))
                    responsible = 1.0 if (r, q) == (row, col) else 0.7     # neighbours are less sure
                    conf = responsible * (0.95 - 0.1 * slot) * float(box_iou(guess, box[None])) * (
                        0.85 + 0.15 * float(torch.rand(1, generator=g)))
                    if conf > slots[r, q, slot, 4]:
                        slots[r, q, slot] = torch.tensor([x, y, w, h, conf])
                        if slot == 0:
                            pred[r, q, b * 5:] = 0.1 / max(c - 1, 1)
                            pred[r, q, b * 5 + label] = 0.9
    return pred


def draw_boxes(ax, boxes: torch.Tensor, scores: Optional[torch.Tensor] = None,
               names: Optional[Sequence[str]] = None, color: str = "tab:red", linewidth: float = 1.5,
               linestyle: str = "-", fontsize: float = 7) -> None:
    """Draw xyxy pixel boxes on a matplotlib axis (image coordinates: y grows downwards).

    Args:
        ax: the axis, usually after ``ax.imshow(image)``.
        boxes: ``(N, 4)`` xyxy boxes.
        scores: optional ``(N,)`` scores written in the label.
        names: optional label text for each box.
    """
    from matplotlib.patches import Rectangle

    boxes = _check_boxes(boxes)
    if not hasattr(ax, "add_patch"):
        raise TypeError(f"ax must be a matplotlib Axes (e.g. from plt.subplots()), got {type(ax).__name__}")
    for name, values in (("scores", scores), ("names", names)):
        if values is not None and len(values) != boxes.shape[0]:
            raise ValueError(f"{name} has {len(values)} entries but there are {boxes.shape[0]} boxes; "
                             f"pass one per box")
    for i, (x1, y1, x2, y2) in enumerate(boxes.tolist()):
        ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor=color,
                               linewidth=linewidth, linestyle=linestyle))
        parts = []
        if names is not None:
            parts.append(str(names[i]))
        if scores is not None:
            parts.append(f"{float(scores[i]):.2f}")
        if parts:
            ax.text(x1, y1, " ".join(parts), color="white", fontsize=fontsize, va="bottom",
                    bbox=dict(facecolor=color, edgecolor="none", pad=1, alpha=0.85))
