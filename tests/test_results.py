"""Recorded full-run results: written only by full runs, validated when read."""
import json

import pytest
import torch

from book_utils import profiles, results


def _run():
    return {"test_accuracy": 0.99, "test_loss": 0.03, "epochs": [{"epoch": 1, "train_loss": 0.1}],
            "seconds_per_epoch": 2.0}


def test_roundtrip_and_status(tmp_path):
    cfg = profiles.chapter_config("lenet", "full")
    path = results.results_path("lenet", tmp_path)
    results.save_results(path, "lenet", cfg, {"lenet5": _run()}, torch.device("cpu"),
                         "MNIST (IDX files in /somewhere/MNIST/raw)", wall_s=12.0)
    got = results.load_recorded("lenet", tmp_path)
    assert got["runs"]["lenet5"]["test_accuracy"] == 0.99 and got["data"] == "MNIST (IDX files)"
    assert got["profile"] == "full" and got["config"]["epochs"] == cfg.epochs
    assert "Recorded full run" in results.recorded_status(got) and "torch" in results.recorded_status(got)
    assert results.recorded_status(None) == results.NOT_RECORDED


def test_missing_file_is_not_recorded(tmp_path):
    assert results.load_recorded("lenet", tmp_path) is None


def test_quick_or_partial_files_are_rejected(tmp_path):
    cfg = profiles.chapter_config("lenet", "quick", train_subset=100)
    path = results.results_path("lenet", tmp_path)
    results.save_results(path, "lenet", cfg, {"lenet5": _run()}, torch.device("cpu"), "MNIST")
    with pytest.raises(ValueError, match="not a full-profile run"):
        results.load_recorded("lenet", tmp_path)


def test_broken_files_raise(tmp_path):
    path = results.results_path("lenet", tmp_path)
    path.write_text(json.dumps({"schema": 1, "chapter": "lenet"}))
    with pytest.raises(ValueError, match="not a results file"):
        results.load_recorded("lenet", tmp_path)
    with pytest.raises(ValueError, match="lacks"):
        results.save_results(path, "lenet", profiles.chapter_config("lenet", "full"),
                             {"x": {"test_accuracy": 1.0}}, torch.device("cpu"), "MNIST")
    with pytest.raises(ValueError, match="unknown chapter 'lenett'"):
        results.load_recorded("lenett")
    with pytest.raises(ValueError, match="expects the dict returned by load_recorded"):
        results.recorded_status({})


def test_record_requested_only_for_full_runs(monkeypatch):
    full = profiles.chapter_config("lenet", "full")
    monkeypatch.delenv(results.RECORD_ENV, raising=False)
    assert not results.record_requested(full)
    monkeypatch.setenv(results.RECORD_ENV, "1")
    assert results.record_requested(full)
    assert not results.record_requested(profiles.chapter_config("lenet", "quick"))
    assert not results.record_requested(profiles.chapter_config("lenet", "full", train_subset=10))


def test_short_source_drops_local_paths():
    assert results.short_source("CIFAR-10 (JPEG copy, from /data/cifar10-jpg/train.tar.gz)") == "CIFAR-10 (JPEG copy)"
    assert results.short_source("MNIST (IDX files in /work/shared/data/MNIST/raw)") == "MNIST (IDX files)"
    assert results.short_source("CIFAR-10 (torchvision files in /root/.cache/data)") == "CIFAR-10 (torchvision files)"
