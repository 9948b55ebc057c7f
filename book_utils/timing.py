"""Wall-clock timing used by the pages' speed comparisons and by ``benchmarks/``.

Timings on a shared machine are noisy: :func:`time_ms` repeats a call and reports the median
(typical) or the minimum (least disturbed by other programs). :func:`torch_threads` runs a
block with a fixed number of intra-op threads, since tiny layers run faster on one thread
than with the synchronisation overhead of several; :func:`fastest_threads` measures a
training step at 1 and at all threads and picks the count to train with.
:func:`format_duration` writes a number of
seconds the way the training time estimates print it.
"""
from __future__ import annotations

import math
import statistics
import time
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, Optional, Tuple

import torch

__all__ = ["fastest_threads", "format_duration", "time_ms", "torch_threads"]


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
        TypeError: if ``fn`` is not callable or ``warmup`` is not an integer.
        ValueError: for ``repeats < 1``, negative ``warmup``, a ``min_time`` that is negative,
            NaN or infinite, or an unknown ``stat``.
    """
    from .ops import check_int
    if not callable(fn):
        raise TypeError(f"fn must be a callable without arguments, got {type(fn).__name__}; "
                        f"wrap the call, e.g. time_ms(lambda: model(x))")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be an integer >= 1, got {repeats!r}")
    check_int("warmup", warmup, 0)
    if (isinstance(min_time, bool) or not isinstance(min_time, (int, float))
            or not math.isfinite(min_time) or min_time < 0):
        raise ValueError(f"min_time must be a finite number of seconds >= 0, got {min_time!r}")
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


def fastest_threads(speed: Callable[[], float], margin: float = 1.25, repeats: int = 1
                    ) -> Tuple[int, Dict[int, float]]:
    """The torch thread count to train with: all threads only when clearly faster than one.

    Calls ``speed()`` (any "higher is faster" measure, e.g. training images per second) with
    1 thread and with ``torch.get_num_threads()`` threads, alternating, ``repeats`` times
    each, and keeps each count's best value: one measurement disturbed by another program
    (or by a file being written) then cannot decide alone. Several threads suffer most when
    other programs share the machine, so they are chosen only when they beat one thread by
    the factor ``margin``. The caller's thread count is left as it was; set the result with
    ``torch.set_num_threads``.

    Returns:
        ``(threads, speeds)`` with ``speeds = {n: best speed with n threads}``.

    Raises:
        TypeError: if ``speed`` is not callable or ``repeats`` is not an integer.
        ValueError: if ``margin`` < 1, ``repeats`` < 1 or a measured speed is not a finite
        number > 0.
    """
    if not callable(speed):
        raise TypeError(f"speed must be a callable returning a speed, got {type(speed).__name__}")
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not margin >= 1:
        raise ValueError(f"margin must be a number >= 1, got {margin!r}")
    if isinstance(repeats, bool) or not isinstance(repeats, int):
        raise TypeError(f"repeats must be an integer, got {type(repeats).__name__} {repeats!r}")
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    many = torch.get_num_threads()
    speeds: Dict[int, float] = {}
    for _ in range(repeats):
        for n in sorted({1, many}):
            with torch_threads(n):
                value = speed()
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not 0 < value < float("inf"):
                raise ValueError(f"speed() with {n} thread(s) returned {value!r}; "
                                 "it must return a finite number > 0")
            speeds[n] = max(speeds.get(n, 0.0), float(value))
    threads = many if speeds[many] > margin * speeds[1] else 1
    return threads, speeds


def format_duration(seconds: float) -> str:
    """A duration for people: ``"42 s"``, ``"2 min 38 s"``, ``"1 h 05 min"``.

    Args:
        seconds: a finite number >= 0 (rounded to whole seconds).

    Raises:
        ValueError: for a negative, NaN or infinite value.
    """
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds >= 0 \
            or seconds == float("inf"):
        raise ValueError(f"seconds must be a finite number >= 0, got {seconds!r}")
    total = int(round(seconds))
    if total < 60:
        return f"{total} s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
