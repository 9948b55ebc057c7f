"""Wall-clock timing used by the pages' speed comparisons and by ``benchmarks/``.

Timings on a shared machine are noisy: :func:`time_ms` repeats a call and reports the median
(typical) or the minimum (least disturbed by other programs). :func:`torch_threads` runs a
block with a fixed number of intra-op threads, since tiny layers run faster on one thread
than with the synchronisation overhead of several.
"""
from __future__ import annotations

import statistics
import time
from contextlib import contextmanager
from typing import Callable, Iterator, Optional

import torch

__all__ = ["time_ms", "torch_threads"]


def time_ms(fn: Callable[[], object], repeats: int = 5, min_time: float = 0.0, stat: str = "median",
            warmup: int = 1, device: Optional[torch.device] = None) -> float:
    """Time ``fn()`` in milliseconds.

    Args:
        fn: the call to time (no arguments; wrap with ``lambda``).
        repeats: at least this many timed calls (>= 1).
        min_time: keep calling until the timed calls add up to at least this many seconds.
        stat: ``"median"`` or ``"min"`` of the timed calls.
        warmup: untimed calls first (caches, lazy initialisation).
        device: if CUDA, synchronise before reading the clock (GPU work is asynchronous).

    Raises:
        ValueError: for ``repeats < 1``, negative ``warmup``/``min_time`` or an unknown ``stat``.
    """
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be an integer >= 1, got {repeats!r}")
    if warmup < 0 or min_time < 0:
        raise ValueError(f"warmup and min_time must be >= 0, got {warmup!r} and {min_time!r}")
    reducers = {"median": statistics.median, "min": min}
    if stat not in reducers:
        raise ValueError(f"stat must be 'median' or 'min', got {stat!r}")
    cuda = device is not None and torch.device(device).type == "cuda"

    def call():
        fn()
        if cuda:
            torch.cuda.synchronize(device)

    for _ in range(warmup):
        call()
    times = []
    while len(times) < repeats or sum(times) < min_time:
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1000 * reducers[stat](times)


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads, then restore the previous number.

    Raises:
        ValueError: if ``n`` is not a positive integer.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
