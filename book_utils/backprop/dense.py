"""What follows the feature maps in a small CNN: ReLU and sigmoid with their derivatives, a fully
connected layer forward and backward, and softmax cross-entropy with its gradient.

Not here: convolution and pooling (:mod:`.conv`, :mod:`.pool`); the tiny CNN that chains
them (:mod:`.tiny_cnn`).
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

from ._checks import _as_float, _check_same_shape


def relu(z: np.ndarray) -> np.ndarray:
    """``max(z, 0)`` elementwise (float64)."""
    return np.maximum(_as_float(z, "z"), 0)


def relu_backward(da: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``da * relu'(z)`` with ``relu'(0) = 0`` (PyTorch's choice); ``da`` and ``z`` of one shape."""
    da, z = _as_float(da, "da"), _as_float(z, "z")
    _check_same_shape(da, z, "da", "z")
    return da * (z > 0)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function ``1 / (1 + exp(-z))``, computed without overflow."""
    z = _as_float(z, "z")
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_backward(da: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``da * sigma'(z)`` with ``sigma'(z) = sigma(z) (1 - sigma(z))``; ``da`` and ``z`` of one shape."""
    da = _as_float(da, "da")
    s = sigmoid(z)
    _check_same_shape(da, s, "da", "z")
    return da * s * (1 - s)


def linear_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Fully connected layer ``x @ w.T + b``: ``(N, D_in)``, ``(D_out, D_in)``, ``(D_out,)`` -> ``(N, D_out)``."""
    x = _as_float(x, "x", 2)
    w = _as_float(w, "w", 2)
    b = _as_float(b, "b", 1)
    if x.shape[1] != w.shape[1]:
        raise ValueError(f"x has {x.shape[1]} features but w expects {w.shape[1]} "
                         f"(w has shape {w.shape} = (D_out, D_in))")
    if b.shape[0] != w.shape[0]:
        raise ValueError(f"b has {b.shape[0]} entries but w has {w.shape[0]} outputs "
                         f"(w has shape {w.shape} = (D_out, D_in)); pass one bias per output")
    return x @ w.T + b


def linear_backward(dy: np.ndarray, x: np.ndarray, w: np.ndarray):
    """Gradients ``(dx, dw, db)`` of :func:`linear_forward` from ``dy`` of shape ``(N, D_out)``.

    Raises:
        ValueError: if ``dy``, ``x`` (``(N, D_in)``) and ``w`` (``(D_out, D_in)``) do not fit.
    """
    dy, x, w = _as_float(dy, "dy", 2), _as_float(x, "x", 2), _as_float(w, "w", 2)
    if x.shape[1] != w.shape[1] or dy.shape != (x.shape[0], w.shape[0]):
        raise ValueError(f"dy {dy.shape}, x {x.shape} and w {w.shape} do not fit: need dy (N, D_out), "
                         f"x (N, D_in), w (D_out, D_in); dy must be the gradient of x @ w.T + b")
    return dy @ w, dy.T @ x, dy.sum(axis=0)


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> Tuple[float, np.ndarray]:
    """Mean cross-entropy of softmax(logits) and its gradient (``nn.CrossEntropyLoss()``).

    Args:
        logits: ``(N, K)`` float array.
        labels: ``(N,)`` integer class indices in ``[0, K)``.

    Returns:
        ``(loss, dlogits)`` with ``dlogits = (softmax(logits) - onehot(labels)) / N``.

    Raises:
        ValueError: wrong shapes or labels out of range.
    """
    logits = _as_float(logits, "logits", 2)
    labels = np.asarray(labels)
    if labels.shape != (logits.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be {logits.shape[0]} integers, got {labels.dtype} {labels.shape}")
    if logits.shape[1] < 2:
        raise ValueError(f"logits must have at least 2 classes (N, K >= 2), got shape {logits.shape}")
    if labels.min() < 0 or labels.max() >= logits.shape[1]:
        raise ValueError(f"labels must lie in [0, {logits.shape[1]}), got {labels.min()}..{labels.max()}")
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = logits.shape[0]
    loss = -log_p[np.arange(n), labels].mean()
    grad = np.exp(log_p)
    grad[np.arange(n), labels] -= 1
    return float(loss), grad / n
