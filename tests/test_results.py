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


def _history(batches=250, epochs=2):
    from book_utils.train import History
    per = max(1, batches // max(epochs, 1))
    return History(epochs=[{"epoch": e, "train_loss": 1.0 / e, "train_acc": 0.5 + 0.1 * e, "lr": 1e-3,
                            "time_s": 3.0, "val_loss": 0.9 / e, "val_acc": 0.6 + 0.1 * e}
                           for e in range(1, epochs + 1)],
                   batch_loss=[float(i) for i in range(batches)],
                   batch_epoch=[1 + i // per for i in range(batches)])


def test_run_record_holds_what_a_page_draws(tmp_path):
    cm = torch.tensor([[8, 2, 0], [1, 9, 0], [0, 0, 10]])
    test = {"loss": 0.25, "accuracy": 27 / 30, "n": 30}
    run = results.run_record(_history(), test, cm, ["a", "b", "c"], train_seconds=6.0,
                             loss_points=100, threads=1)
    assert run["per_class_accuracy"] == [0.8, 0.9, 1.0]
    assert run["confusion_matrix"] == cm.tolist() and run["classes"] == ["a", "b", "c"]
    assert run["seconds_per_epoch"] == 3.0 and run["test_images"] == 30 and run["threads"] == 1
    # 250 batch losses 0..249 become 84 means of 3 consecutive batches (the last of 1)
    assert run["batches_per_point"] == 3 and len(run["batch_loss_means"]) == 84
    assert run["batch_loss_means"][:2] == [1.0, 4.0] and run["batch_loss_means"][-1] == 249.0
    assert [e["val_acc"] for e in run["epochs"]] == pytest.approx([0.7, 0.8])
    # it goes through save/load unchanged
    path = results.results_path("lenet", tmp_path)
    results.save_results(path, "lenet", profiles.chapter_config("lenet", "full"), {"lenet5": run},
                         torch.device("cpu"), "MNIST (IDX files)")
    got = results.load_recorded("lenet", tmp_path)
    assert got["runs"]["lenet5"] == json.loads(json.dumps(run))
    assert got["environment"]["device"].startswith("CPU: ")


def test_run_record_rejects_inconsistent_input():
    cm = torch.tensor([[8, 2], [1, 9]])
    test = {"loss": 0.25, "accuracy": 0.85, "n": 20}
    with pytest.raises(ValueError, match="integer 3 x 3 matrix"):
        results.run_record(_history(), test, cm, ["a", "b", "c"], 6.0)
    with pytest.raises(ValueError, match="integer 2 x 2"):
        results.run_record(_history(), test, cm.float(), ["a", "b"], 6.0)
    with pytest.raises(ValueError, match="counts 20 images but the test evaluation counts 30"):
        results.run_record(_history(), dict(test, n=30), cm, ["a", "b"], 6.0)
    with pytest.raises(ValueError, match="no test image"):
        results.run_record(_history(), test, torch.tensor([[20, 0], [0, 0]]), ["a", "b"], 6.0)
    with pytest.raises(ValueError, match="no epoch"):
        results.run_record(_history(0, 0), test, cm, ["a", "b"], 6.0)
    with pytest.raises(ValueError, match="loss_points"):
        results.run_record(_history(), test, cm, ["a", "b"], 6.0, loss_points=0)
