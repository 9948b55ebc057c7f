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
    path = results.results_path("lenet", tmp_path, kind="cpu")
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
    path = results.results_path("lenet", tmp_path, kind="cpu")
    results.save_results(path, "lenet", cfg, {"lenet5": _run()}, torch.device("cpu"), "MNIST")
    with pytest.raises(ValueError, match="not a full-profile run"):
        results.load_recorded("lenet", tmp_path)


def test_broken_files_raise(tmp_path):
    path = results.results_path("lenet", tmp_path, kind="cpu")
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
    path = results.results_path("lenet", tmp_path, kind="cpu")
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


# ------------------------------------------------------------- CPU and GPU records, predictions

def _run_with_predictions(preds, targets):
    right = sum(p == t for p, t in zip(preds, targets))
    return dict(_run(), test_accuracy=right / len(targets), test_images=len(targets),
                **results.prediction_fields(torch.tensor(preds), torch.tensor(targets)))


def test_cpu_and_gpu_records_are_separate_files_and_gpu_is_preferred(tmp_path):
    cfg = profiles.chapter_config("resnet", "full")
    cpu_path = results.results_path("resnet", tmp_path, kind="cpu")
    gpu_path = results.results_path("resnet", tmp_path, kind="gpu")
    assert (cpu_path.name, gpu_path.name) == ("resnet_cpu.json", "resnet_gpu.json")
    results.save_results(cpu_path, "resnet", cfg, {"resnet-source": _run()}, torch.device("cpu"),
                         "CIFAR-10")
    assert results.load_recorded("resnet", tmp_path)["environment"]["device_type"] == "cpu"
    assert results.load_recorded("resnet", tmp_path, kind="gpu") is None
    # a GPU record (written here by hand: no GPU in the tests) is preferred, the CPU one kept
    content = json.loads(cpu_path.read_text())
    content["environment"].update(device="NVIDIA H200", device_type="cuda")
    gpu_path.write_text(json.dumps(content))
    assert results.load_recorded("resnet", tmp_path)["environment"]["device"] == "NVIDIA H200"
    assert results.load_recorded("resnet", tmp_path, kind="cpu")["environment"]["device_type"] == "cpu"
    # a CPU run never overwrites the GPU record, and a file's kind must match its content
    with pytest.raises(ValueError, match="resnet_gpu.json holds GPU runs .* resnet_cpu.json"):
        results.save_results(gpu_path, "resnet", cfg, {"x": _run()}, torch.device("cpu"), "CIFAR-10")
    cpu_path.write_text(json.dumps(content))
    with pytest.raises(ValueError, match="not a CPU run"):
        results.load_recorded("resnet", tmp_path, kind="cpu")
    with pytest.raises(ValueError, match="kind must be one of"):
        results.results_path("resnet", tmp_path, kind="tpu")


def test_merge_adds_recipes_one_by_one_and_refuses_other_settings(tmp_path):
    cfg = profiles.chapter_config("resnet", "full")
    path = results.results_path("resnet", tmp_path, kind="cpu")
    cpu = torch.device("cpu")
    results.save_results(path, "resnet", cfg, {"resnet-improved": _run()}, cpu, "CIFAR-10", merge=True)
    assert set(results.load_recorded("resnet", tmp_path)["runs"]) == {"resnet-improved"}  # partial: valid
    results.save_results(path, "resnet", cfg, {"resnet-source": dict(_run(), test_accuracy=0.5)}, cpu,
                         "CIFAR-10", merge=True)
    runs = results.load_recorded("resnet", tmp_path)["runs"]
    assert set(runs) == {"resnet-improved", "resnet-source"} and runs["resnet-source"]["test_accuracy"] == 0.5
    with pytest.raises(ValueError, match="holds runs of other settings"):
        results.save_results(path, "resnet", profiles.chapter_config("resnet", "full", epochs=3),
                             {"resnet-source": _run()}, cpu, "CIFAR-10", merge=True)
    results.save_results(path, "resnet", cfg, {"resnet-source": _run()}, cpu, "CIFAR-10")  # no merge
    assert set(results.load_recorded("resnet", tmp_path)["runs"]) == {"resnet-source"}


def test_per_image_predictions_are_digits_that_agree_with_the_accuracy(tmp_path):
    preds, targets = [3, 8, 8, 0, 9, 1], [3, 8, 1, 0, 9, 2]
    fields = results.prediction_fields(torch.tensor(preds), torch.tensor(targets))
    assert fields == {"predictions": "388091", "targets": "381092"}
    assert results.decode_labels(fields["targets"]).tolist() == targets
    run = _run_with_predictions(preds, targets)
    assert run["test_accuracy"] == pytest.approx(4 / 6)
    path = results.results_path("lenet", tmp_path, kind="cpu")
    results.save_results(path, "lenet", profiles.chapter_config("lenet", "full"), {"a": run},
                         torch.device("cpu"), "MNIST")
    assert results.load_recorded("lenet", tmp_path)["runs"]["a"]["predictions"] == "388091"
    for bad, message in ((dict(run, test_accuracy=0.5), "another accuracy"),
                         (dict(run, predictions="38809"), "5 predictions and 6 targets"),
                         (dict(run, targets="38x092"), "string of digits")):
        with pytest.raises(ValueError, match=message):
            results.save_results(path, "lenet", profiles.chapter_config("lenet", "full"), {"a": bad},
                                 torch.device("cpu"), "MNIST")
    with pytest.raises(ValueError, match="0..9"):
        results.encode_labels([10])
    with pytest.raises(ValueError, match="same non-empty"):
        results.prediction_fields(torch.tensor([1, 2]), torch.tensor([1]))


def test_run_record_keeps_the_per_image_predictions_of_the_evaluation():
    from book_utils import train
    history = train.History(epochs=[{"epoch": 1, "train_loss": 1.0, "train_acc": 0.5, "time_s": 1.0}],
                            batch_loss=[1.0], batch_epoch=[1])
    preds, targets = torch.tensor([0, 1, 1, 0]), torch.tensor([0, 1, 0, 0])
    test = {"loss": 0.4, "accuracy": 0.75, "n": 4, "preds": preds, "targets": targets}
    cm = torch.tensor([[2, 1], [0, 1]])
    run = results.run_record(history, test, cm, ["a", "b"], 1.0)
    assert (run["predictions"], run["targets"]) == ("0110", "0100")


def test_the_committed_records_are_valid():
    for chapter in profiles.known_chapters():
        for kind in results.RECORD_KINDS:
            rec = results.load_recorded(chapter, kind=kind)   # None, or passes every check
            if rec is not None:
                assert rec["chapter"] == chapter and rec["runs"]
    assert results.load_recorded("lenet")["environment"]["device_type"] == "cpu"
