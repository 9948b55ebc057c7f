"""A small registry of classic hand-made 2D convolution kernels.

Before networks learned their kernels, image processing used fixed ones. The chapter shows
what each does to a photo; in a CNN, kernels like these emerge from training instead.

=============  =======  ====================================================================
name           size     effect
=============  =======  ====================================================================
``mean3``      3 x 3    box blur: every weight 1/9
``mean5``      5 x 5    stronger box blur: every weight 1/25
``gaussian3``  3 x 3    Gaussian-like blur, binomial weights [1, 2, 1]^T [1, 2, 1] / 16
``gaussian5``  5 x 5    Gaussian-like blur, binomial weights [1, 4, 6, 4, 1]^T [...] / 256
``sharpen``    3 x 3    5 at the centre, -1 at the four neighbours: boosts local contrast
``sobel_x``    3 x 3    horizontal derivative: responds to *vertical* edges
``sobel_y``    3 x 3    vertical derivative: responds to *horizontal* edges
=============  =======  ====================================================================

All blur kernels and ``sharpen`` sum to 1 (flat regions keep their brightness); the Sobel
kernels sum to 0 (flat regions give 0). The Sobel operator is due to I. Sobel and G. Feldman
(1968); the binomial kernels are the usual integer approximation of a Gaussian.

Kernels are used as cross-correlation weights (no flip), as in ``torch.nn.functional.conv2d``;
``sobel_x`` is then positive where the image gets brighter from left to right.

Usage::

    from book_utils import kernels
    kernels.names()              # ('mean3', 'mean5', 'gaussian3', ...)
    w = kernels.get("sobel_x")   # float64 array of shape (3, 3), a fresh copy
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Tuple

import numpy as np

__all__ = ["Kernel", "KERNELS", "names", "get", "describe", "binomial", "mean_kernel",
           "gaussian_kernel", "to_latex"]


def binomial(size: int) -> np.ndarray:
    """Row ``size - 1`` of Pascal's triangle, e.g. ``binomial(3) = [1, 2, 1]``.

    Raises:
        ValueError: if ``size`` is not a positive integer.
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size must be a positive integer, got {size!r}")
    row = np.array([1.0])
    for _ in range(size - 1):
        row = np.convolve(row, [1.0, 1.0])
    return row


def mean_kernel(size: int) -> np.ndarray:
    """``size x size`` box-blur kernel, every weight ``1 / size**2``.

    Raises:
        ValueError: if ``size`` is not a positive integer.
    """
    binomial(size)  # validates size
    return np.full((size, size), 1.0 / size ** 2)


def gaussian_kernel(size: int) -> np.ndarray:
    """``size x size`` binomial approximation of a Gaussian blur (outer product, sums to 1).

    Raises:
        ValueError: if ``size`` is not a positive integer.
    """
    row = binomial(size)
    k = np.outer(row, row)
    return k / k.sum()


@dataclass(frozen=True)
class Kernel:
    """One named kernel.

    Attributes:
        name: registry key, e.g. ``"sobel_x"``.
        title: short label for plots, e.g. ``"Sobel x (3x3)"``.
        description: what it does, one sentence.
        weights: ``float64`` array of shape ``(f, f)`` (read-only; :func:`get` returns a copy).
    """

    name: str
    title: str
    description: str
    weights: np.ndarray

    @property
    def size(self) -> int:
        """Side length ``f`` of the square kernel."""
        return int(self.weights.shape[0])


def _make(name: str, title: str, description: str, weights) -> Kernel:
    arr = np.array(weights, dtype=np.float64)
    arr.setflags(write=False)
    return Kernel(name, title, description, arr)


_SOBEL_X = [[-1, 0, 1],
            [-2, 0, 2],
            [-1, 0, 1]]

KERNELS: Dict[str, Kernel] = {k.name: k for k in (
    _make("mean3", "Mean 3x3", "box blur: average of the 3x3 neighbourhood", mean_kernel(3)),
    _make("mean5", "Mean 5x5", "stronger box blur: average of the 5x5 neighbourhood",
          mean_kernel(5)),
    _make("gaussian3", "Gaussian 3x3",
          "blur that weights the centre most (binomial approximation of a Gaussian)",
          gaussian_kernel(3)),
    _make("gaussian5", "Gaussian 5x5", "stronger centre-weighted blur (binomial weights / 256)",
          gaussian_kernel(5)),
    _make("sharpen", "Sharpen 3x3", "centre minus its four neighbours, added to the image: "
          "boosts local contrast", [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
    _make("sobel_x", "Sobel x (3x3)", "horizontal derivative, smoothed vertically: "
          "responds to vertical edges", _SOBEL_X),
    _make("sobel_y", "Sobel y (3x3)", "vertical derivative, smoothed horizontally: "
          "responds to horizontal edges", np.array(_SOBEL_X).T),
)}


def names() -> Tuple[str, ...]:
    """Names of the registered kernels, in a fixed order (blurs, sharpen, Sobel)."""
    return tuple(KERNELS)


def _lookup(name: str) -> Kernel:
    if not isinstance(name, str):
        raise TypeError(f"kernel name must be a string, got {type(name).__name__}")
    try:
        return KERNELS[name]
    except KeyError:
        raise ValueError(f"unknown kernel {name!r}; known kernels: {', '.join(KERNELS)}") from None


def get(name: str) -> np.ndarray:
    """A writable ``float64`` copy of the weights of kernel ``name`` (shape ``(f, f)``).

    Raises:
        ValueError: for an unknown name (the message lists the known ones).
        TypeError: if ``name`` is not a string.
    """
    return _lookup(name).weights.copy()


def describe(name: str) -> Kernel:
    """The :class:`Kernel` record (title, description, read-only weights) of ``name``.

    Raises:
        ValueError: for an unknown name.
    """
    return _lookup(name)


def to_latex(weights, digits: int = 4) -> str:
    """A LaTeX ``bmatrix`` of a 2D kernel; entries that are multiples of 1/n for a small n are
    written as fractions (``\\frac{1}{16}``), others rounded to ``digits`` decimals.

    Raises:
        TypeError: if ``weights`` is not numeric or ``digits`` is not an integer.
        ValueError: if ``weights`` is not two-dimensional, is empty or holds NaN/inf, or
            ``digits`` is negative.
    """
    from .ops import check_int

    digits = check_int("digits", digits, 0)
    if type(weights).__module__.startswith("torch") and hasattr(weights, "detach"):
        weights = weights.detach().cpu().numpy()
    try:
        arr = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"weights must be a 2D array of numbers; could not convert it ({exc})") from None
    if arr.ndim != 2:
        raise ValueError(f"expected a 2D kernel for weights, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"weights is empty (shape {arr.shape}); pass a kernel with entries")
    if not np.isfinite(arr).all():
        raise ValueError("weights contains NaN or infinite entries, which have no LaTeX form; "
                         "check how the kernel was computed")

    def cell(v: float) -> str:
        if abs(v - round(v)) < 1e-12:
            return str(int(round(v)))
        for den in (2, 3, 4, 5, 6, 8, 9, 16, 25, 32, 64, 128, 256):
            num = v * den
            if abs(num - round(num)) < 1e-9:
                sign = "-" if num < 0 else ""
                return f"{sign}\\frac{{{abs(int(round(num)))}}}{{{den}}}"
        return f"{v:.{digits}f}"

    rows = [" & ".join(cell(v) for v in row) for row in arr]
    return "\\begin{bmatrix}" + " \\\\ ".join(rows) + "\\end{bmatrix}"
