"""time_ms and torch_threads."""
import pytest
import torch

from book_utils.timing import time_ms, torch_threads


def test_time_ms_counts_calls_and_measures_sleep():
    calls = []
    ms = time_ms(lambda: calls.append(1), repeats=4, warmup=2)
    assert len(calls) == 6 and ms >= 0
    import time
    assert time_ms(lambda: time.sleep(0.01), repeats=3, stat="min") >= 9.0
    calls.clear()
    time_ms(lambda: (calls.append(1), time.sleep(0.005)), repeats=1, min_time=0.03, warmup=0)
    assert len(calls) >= 5


def test_time_ms_bad_arguments():
    with pytest.raises(ValueError, match="repeats"):
        time_ms(lambda: None, repeats=0)
    with pytest.raises(ValueError, match="stat must be"):
        time_ms(lambda: None, stat="mean")
    with pytest.raises(ValueError, match="warmup must be >= 0"):
        time_ms(lambda: None, warmup=-1)


def test_torch_threads_restores_the_setting():
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError):
        with torch_threads(1):
            raise RuntimeError("inside")
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="positive integer"):
        with torch_threads(0):
            pass


def test_format_duration():
    from book_utils.timing import format_duration
    assert format_duration(0) == "0 s"
    assert format_duration(42.4) == "42 s"
    assert format_duration(59.6) == "1 min 00 s"
    assert format_duration(158) == "2 min 38 s"
    assert format_duration(3900) == "1 h 05 min"
    for bad in (-1, float("nan"), float("inf"), True, "3"):
        with pytest.raises(ValueError, match="seconds must be"):
            format_duration(bad)


def test_fastest_threads_needs_a_clear_gain(monkeypatch):
    import torch
    from book_utils.timing import fastest_threads
    monkeypatch.setattr(torch, "get_num_threads", lambda: 4)
    seen = []
    monkeypatch.setattr(torch, "set_num_threads", lambda n: seen.append(n))
    gains = {1: 10.0, 4: 12.0}
    threads, speeds = fastest_threads(lambda: gains[seen[-1]])
    assert (threads, speeds) == (1, {1: 10.0, 4: 12.0})     # 1.2x: not clearly faster
    gains[4] = 13.0
    assert fastest_threads(lambda: gains[seen[-1]])[0] == 4  # 1.3x > 1.25x
    assert seen[-1] == 4      # the previous count (get_num_threads) is restored last


def test_fastest_threads_keeps_each_counts_best_of_interleaved_repeats(monkeypatch):
    import torch
    from book_utils.timing import fastest_threads
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    seen = []
    monkeypatch.setattr(torch, "set_num_threads", lambda n: seen.append(n))
    # the first 2-thread measurement is disturbed (30 instead of 50 images/s)
    values = {1: [30.0, 31.0], 2: [30.0, 50.0]}
    calls = []

    def speed():
        n = seen[-1]
        calls.append(n)
        return values[n].pop(0)

    threads, speeds = fastest_threads(speed, repeats=2)
    assert calls == [1, 2, 1, 2]                         # alternating
    assert (threads, speeds) == (2, {1: 31.0, 2: 50.0})
    values = {1: [30.0], 2: [30.0]}
    assert fastest_threads(speed)[0] == 1                # one disturbed try decides alone
    with pytest.raises(ValueError, match="repeats"):
        fastest_threads(speed, repeats=0)
    with pytest.raises(TypeError, match="repeats"):
        fastest_threads(speed, repeats=1.5)


@pytest.mark.parametrize("speed, margin, err", [
    (42, 1.25, TypeError), (lambda: 1.0, 0.5, ValueError),
    (lambda: 0.0, 1.25, ValueError), (lambda: float("nan"), 1.25, ValueError)])
def test_fastest_threads_bad_input(speed, margin, err):
    from book_utils.timing import fastest_threads
    with pytest.raises(err):
        fastest_threads(speed, margin=margin)
