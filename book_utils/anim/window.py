"""The geometry of a sliding window: :class:`SlidingWindow`, without any drawing.

A convolution or pooling layer slides a window over its input and computes one number per
window position. :class:`SlidingWindow` checks an operation (input, kernel or pooling window,
padding, stride, bias), pads the input and says, for each frame (window position in raster
order), where the window is, what lies under it and what each output map gets. Its results
match ``torch.nn.functional.conv1d``/``conv2d``/``max_pool2d``/``avg_pool2d``.

Not here: the texts of a frame (:mod:`.captions`; :meth:`SlidingWindow.describe` calls it)
and everything that draws (:mod:`.figure`, :mod:`.animation`, :mod:`.panel`).
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import numpy as np

from .. import ops
from .captions import frame_caption

__all__ = ["OPS", "IntOrPair", "SlidingWindow"]

#: The operations a window can compute: weighted sum (convolution), max and mean (pooling).
OPS = ("sum", "max", "mean")
IntOrPair = Union[int, Tuple[int, int]]

class SlidingWindow:
    """The positions and values of one sliding-window operation, without any drawing.

    Args:
        x: input, shape ``(d,)``, ``(H, W)`` or ``(C, H, W)`` (see the table of shapes in
            :mod:`book_utils.anim`).
        kernel: the kernel(s) for ``op="sum"``; must be ``None`` for ``"max"``/``"mean"``.
        stride: int or ``(sh, sw)`` (a 1D input takes an int), each >= 1.
        padding: int or ``(ph, pw)`` (a 1D input takes an int), each >= 0.
        op: ``"sum"`` (weighted sum = convolution as in ``nn.Conv1d``/``nn.Conv2d``),
            ``"max"`` (max pooling) or ``"mean"`` (average pooling).
        window: window size for pooling (int or pair); ignored when a kernel is given
            (the kernel's shape is the window) unless it disagrees with it.
        bias: ``None``, a number, or one number per kernel (``op="sum"`` only).

    Attributes:
        kind: ``"1d"`` or ``"2d"``.
        op: the operation.
        x: input as ``float64`` of shape ``(C, H, W)`` (a 1D signal is ``(1, 1, d)``).
        kernels: ``(K, C, fh, fw)`` ``float64`` for ``op="sum"``, else ``None``.
        bias: ``(K,)`` ``float64`` (zeros when no bias was given), or ``None`` for pooling.
        window, stride, padding: ``(rows, cols)`` pairs.
        out_shape: ``(maps, H', W')``; ``maps`` is ``K`` for ``"sum"`` and ``C`` for pooling.
        n_frames: number of window positions, ``H' * W'`` (one frame each, in raster order).

    Raises:
        ValueError: unknown ``op``; a kernel given for pooling or missing for ``"sum"``; ranks
            or channel counts that do not fit together; a window larger than the padded input;
            stride < 1 or padding < 0; a bias of the wrong length.
        TypeError: non-integer stride, padding or window; non-numeric input.
    """

    def __init__(self, x, kernel=None, *, stride: IntOrPair = 1, padding: IntOrPair = 0,
                 op: str = "sum", window: Optional[IntOrPair] = None, bias=None):
        if op not in OPS:
            raise ValueError(f"op must be one of {OPS}, got {op!r}")
        self.op = op
        x_arr = ops._as_array("x (input)", x, (1, 2, 3))
        self.kind = "1d" if x_arr.ndim == 1 else "2d"
        if self.kind == "1d":
            for name, value in (("stride", stride), ("padding", padding)):
                if isinstance(value, (tuple, list)):
                    raise ValueError(f"a 1D input takes an integer {name}, got {value!r}")
            self.x = x_arr[None, None, :]
        else:
            self.x = x_arr[None] if x_arr.ndim == 2 else x_arr
        n_channels = self.x.shape[0]
        self.stride = ops.as_pair("stride", stride, 1)
        self.padding = ops.as_pair("padding", padding, 0)
        if self.kind == "1d":
            self.padding = (0, self.padding[1])
            self.stride = (1, self.stride[1])

        if op == "sum":
            if kernel is None:
                raise ValueError('op="sum" needs a kernel; for pooling use op="max" or op="mean" '
                                 "with window=<size>")
            self.kernels = self._kernels_4d(x_arr, kernel)
            n_maps = self.kernels.shape[0]
            fh, fw = self.kernels.shape[2:]
            if window is not None:
                wanted = ops.as_pair("window", window, 1) if self.kind == "2d" else (1, window)
                if tuple(wanted) != (fh, fw):
                    raise ValueError(f"window {window!r} disagrees with the kernel size "
                                     f"{(fh, fw) if self.kind == '2d' else fw}; leave window=None")
            if bias is None:
                self.bias = np.zeros(n_maps)
            else:
                self.bias = np.asarray(bias, dtype=np.float64).reshape(-1)
                if self.bias.shape[0] != n_maps:
                    raise ValueError(f"bias must hold one number per kernel ({n_maps}), "
                                     f"got shape {np.shape(bias)}")
        else:
            if kernel is not None:
                raise ValueError(f'op="{op}" (pooling) takes no kernel; pass window=<size> instead')
            if bias is not None:
                raise ValueError(f'op="{op}" (pooling) has no bias')
            if window is None:
                raise ValueError(f'op="{op}" needs window=<size> (an int or a pair)')
            if self.kind == "1d":
                if isinstance(window, (tuple, list)):
                    raise ValueError(f"a 1D input takes an integer window, got {window!r}")
                fh, fw = 1, ops.as_pair("window", window, 1)[1]
            else:
                fh, fw = ops.as_pair("window", window, 1)
            self.kernels, self.bias = None, None
            n_maps = n_channels

        self.window = (int(fh), int(fw))
        _, height, width = self.x.shape
        out_h = ops.output_size(height, fh, self.padding[0], self.stride[0])
        out_w = ops.output_size(width, fw, self.padding[1], self.stride[1])
        self.out_shape = (int(n_maps), out_h, out_w)
        self.n_frames = out_h * out_w
        fill = -np.inf if op == "max" else 0.0
        self._xp = ops.pad(self.x, self.padding, value=fill)

    def _kernels_4d(self, x_arr: np.ndarray, kernel) -> np.ndarray:
        """Bring ``kernel`` to ``(K, C, fh, fw)``, checking it fits ``x``."""
        if self.kind == "1d":
            w = ops._as_array("kernel", kernel, (1,))
            return w[None, None, None, :]
        n_channels = self.x.shape[0]
        w = ops._as_array("kernel", kernel, (2, 3, 4))
        if x_arr.ndim == 2:
            if w.ndim == 2:
                return w[None, None]
            if w.ndim == 3:
                return w[:, None]
            raise ValueError(f"a single-channel input (H, W) takes a kernel (fh, fw) or several "
                             f"kernels (K, fh, fw), got shape {w.shape}")
        if w.ndim == 2:
            raise ValueError(f"input has {n_channels} channels (shape {x_arr.shape}); give the "
                             f"kernel one slice per channel, shape ({n_channels}, fh, fw)")
        if w.ndim == 3:
            w = w[None]
        if w.shape[1] != n_channels:
            raise ValueError(f"channel mismatch: input has {n_channels} channels but the kernel "
                             f"has {w.shape[1]} (kernel shape {w.shape})")
        return w

    # ----------------------------------------------------------------- per-frame numbers

    @property
    def padded(self) -> np.ndarray:
        """The input with its padding, ``(C, H + 2ph, W + 2pw)``; padding cells are 0
        (minus infinity for ``op="max"``)."""
        return self._xp

    def is_padding(self) -> np.ndarray:
        """Boolean mask ``(H + 2ph, W + 2pw)``: ``True`` on padding cells."""
        ph, pw = self.padding
        mask = np.ones(self._xp.shape[1:], dtype=bool)
        mask[ph:ph + self.x.shape[1], pw:pw + self.x.shape[2]] = False
        return mask

    def position(self, t: int) -> Tuple[int, int]:
        """Output coordinates ``(i, j)`` computed at frame ``t`` (raster order)."""
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)):
            raise TypeError(f"frame must be an integer, got {t!r}")
        if not 0 <= t < self.n_frames:
            raise ValueError(f"frame {t} out of range: there are {self.n_frames} frames "
                             f"(0 to {self.n_frames - 1})")
        return divmod(int(t), self.out_shape[2])

    def origin(self, t: int) -> Tuple[int, int]:
        """Top-left corner ``(row, col)`` of the window at frame ``t``, in padded coordinates."""
        i, j = self.position(t)
        return i * self.stride[0], j * self.stride[1]

    def patch(self, t: int) -> np.ndarray:
        """Input values under the window at frame ``t``, ``(C, fh, fw)`` (padding included)."""
        r, c = self.origin(t)
        fh, fw = self.window
        return self._xp[:, r:r + fh, c:c + fw]

    def channel_terms(self, t: int) -> np.ndarray:
        """For ``op="sum"``: the per-channel sums ``(K, C)`` at frame ``t`` (before the bias)."""
        if self.op != "sum":
            raise ValueError("channel_terms is defined for op='sum' only")
        return np.einsum("cuv,kcuv->kc", self.patch(t), self.kernels)

    def values(self, t: int) -> np.ndarray:
        """The output value of every map at frame ``t``, shape ``(maps,)``."""
        patch = self.patch(t)
        if self.op == "sum":
            return self.channel_terms(t).sum(axis=1) + self.bias
        if self.op == "max":
            return patch.max(axis=(1, 2))
        return patch.mean(axis=(1, 2))

    def result(self) -> np.ndarray:
        """All outputs, ``(maps, H', W')``, computed one window at a time."""
        out = np.empty(self.out_shape)
        for t in range(self.n_frames):
            i, j = self.position(t)
            out[:, i, j] = self.values(t)
        return out

    def describe(self, t: int, kernel_names: Optional[Sequence[str]] = None) -> str:
        """One line saying what is computed at frame ``t`` (shown under the picture); see
        :func:`.captions.frame_caption`."""
        return frame_caption(self, t, kernel_names)
