"""Which device to train on, and what its processor can do.

* :func:`choose_device` -- CUDA, then Apple MPS, then the CPU; :func:`device_name` names it
  the way pages print it and results record it.
* :func:`cpu_model_name`, :func:`cpu_flags`, :func:`cpu_has_native_bf16` -- read from
  ``/proc/cpuinfo`` (Linux), for the mixed-precision choice in :mod:`.precision`.

Not here: which autocast dtype pays on a device (:mod:`.precision`), the training loop
(:mod:`.loop`).
"""
from __future__ import annotations

import functools
import os
import platform
import re
from pathlib import Path
from typing import Optional

import torch


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

