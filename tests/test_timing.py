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
