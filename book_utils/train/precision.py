"""Mixed precision: which dtype pays on a device, and THE one autocast context of book_utils.

* :func:`amp_dtype` -- bf16, fp16 or none, by CUDA compute capability or CPU instructions;
* :func:`resolve_amp` -- what an ``amp=`` argument of :func:`~book_utils.train.fit` /
  :func:`~book_utils.train.evaluate` means on a device;
* :func:`autocast` -- the only place in ``book_utils`` that builds an autocast context.

Not here: the GradScaler (built by :func:`~book_utils.train.fit` in :mod:`.loop` for
float16), device choice (:mod:`.devices`).
"""
from __future__ import annotations

from contextlib import nullcontext
from typing import Optional, Union

import torch

from . import devices

#: What ``fit(amp=...)`` and ``evaluate(amp=...)`` accept.
AmpSpec = Union[bool, None, str, torch.dtype]


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
        return torch.bfloat16 if devices.cpu_has_native_bf16() else None
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
