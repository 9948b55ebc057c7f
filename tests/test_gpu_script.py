"""scripts/run_full_cifar.py and scripts/gpu_record.sh: the GPU record path, checked on a CPU.

The end-to-end test runs the prepared script as a bare GPU machine would (no ipywidgets,
torchinfo or matplotlib importable, this package not installed: only the checkout), with
tiny settings on the CPU and CIFAR-10 from the shared data copy.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from book_utils import profiles, results

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def driver(load_script):
    """scripts/run_full_cifar.py, imported as a module."""
    return load_script("run_full_cifar")


def test_driver_refuses_what_is_not_a_reference_run(driver):
    if not torch.cuda.is_available():
        with pytest.raises(SystemExit, match="meant for a CUDA GPU"):
            driver.main(["--chapter", "resnet", "--device", "cpu"])
    with pytest.raises(SystemExit, match="trial"):  # a subset run needs --out elsewhere
        driver.main(["--chapter", "resnet", "--profile", "quick", "--device", "cpu"])
    with pytest.raises(SystemExit, match="refusing"):
        driver.main(["--chapter", "resnet", "--profile", "quick", "--device", "cpu",
                     "--out", str(results.RESULTS_DIR)])
    with pytest.raises(SystemExit, match="unknown recipe"):
        driver.main(["--recipes", "resnet-best", "--profile", "quick", "--device", "cpu",
                     "--out", "/tmp/x"])
    full = profiles.chapter_config("resnet", "full")
    for device in ("cuda", "cpu"):                 # both kinds make records
        assert driver.is_reference(full, torch.device(device))
    assert driver.is_reference(profiles.chapter_config("resnet", "full", epochs=30), torch.device("cuda"))
    assert not driver.is_reference(profiles.chapter_config("resnet", "full", train_subset=100),
                                   torch.device("cuda"))
    assert not driver.is_reference(profiles.chapter_config("resnet", "quick"), torch.device("cuda"))


def test_plan_orders_recipes_of_both_chapters_with_per_recipe_settings(driver):
    args = driver.parse_args(["--recipes", "resnet-improved", "alexnet-improved",
                              "--epochs", "resnet-improved=30", "alexnet-improved=12",
                              "--batch-size", "256"])
    items = driver.plan(args)
    assert [(i["name"], i["chapter"]) for i in items] == [("resnet-improved", "resnet"),
                                                           ("alexnet-improved", "alexnet")]
    assert [(i["config"].epochs, i["config"].batch_size) for i in items] == [(30, 256), (12, 256)]
    # by default, ResNet's chapter comes first
    default = driver.plan(driver.parse_args([]))
    assert [i["name"] for i in default] == ["resnet-source", "resnet-improved",
                                            "alexnet-source", "alexnet-improved"]
    assert driver.per_recipe(["7", "resnet-source=3"], "resnet-source", "--epochs") == 3
    assert driver.per_recipe(["7", "resnet-source=3"], "alexnet-source", "--epochs") == 7
    assert driver.per_recipe(None, "x", "--epochs") is None
    with pytest.raises(SystemExit, match="positive integer"):
        driver.per_recipe(["resnet-source=0"], "resnet-source", "--epochs")


def test_estimate_counts_training_evaluation_and_checkpoints(driver):
    est = driver.estimate_seconds(50_000, 10_000, epochs=10, images_per_s=1_000,
                                  val_each_epoch=True, tta=True, checkpoint_every=2,
                                  checkpoint_size=400_000_000)
    assert est["training"] == pytest.approx(500.0)
    assert est["evaluation"] == pytest.approx((10 * 10_000 + 2 * 10_000) / 3_000)
    assert est["checkpoints"] == pytest.approx(5 * 400e6 / driver.WRITE_BYTES_PER_S)
    assert est["total"] == pytest.approx(est["training"] + est["evaluation"] + est["checkpoints"])
    none = driver.estimate_seconds(100, 10, 1, 10.0, False, False, 0, 10**9)
    assert none["checkpoints"] == 0 and none["evaluation"] == pytest.approx(10 / 30)
    from book_utils import cifar
    alex = driver.checkpoint_bytes(cifar.get_recipe("alexnet-improved"))
    assert alex == 4 * 58_322_314 * 3               # weights + AdamW's two moments


def test_fit_epochs_scales_evenly_and_drops_what_cannot_fit(driver):
    fit = driver.fit_epochs
    assert fit([30, 30], [100.0, 200.0], 600.0) == [30, 30]          # fits: never longer
    assert fit([30, 30], [100.0, 200.0], 150.0) == [15, 15]          # half the time, half each
    assert fit([30, 2], [100.0, 200.0], 60.0) == [6, 0]              # one epoch of the 2nd: 100 s
    assert fit([10], [50.0], 1.0) == [0]


BLOCKER = '''
import importlib.abc, os, sys
ROOT = os.environ["ONLY_BOOK_UTILS_FROM"]
class Blocker(importlib.abc.MetaPathFinder):
    """What a bare GPU machine lacks cannot be imported; book_utils only from the checkout."""
    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        if top in ("ipywidgets", "torchinfo", "matplotlib"):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
        if top == "book_utils":
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(name, path, target)
                if spec is not None:
                    if not (spec.origin or "").startswith(ROOT):
                        raise ModuleNotFoundError(f"book_utils from {spec.origin} (blocked)")
                    return spec
        return None
sys.meta_path.insert(0, Blocker())
'''


def test_gpu_record_script_end_to_end_on_a_bare_machine(tmp_path, real_data_root):
    """The prepared script, tiny on a CPU: unpack, train ResNet first, write merged records."""
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(BLOCKER)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CNN_BOOK", "PYTHON"))}
    env.update(PYTHONPATH=str(blocker), ONLY_BOOK_UTILS_FROM=str(REPO), PYTHON=sys.executable,
               TMPDIR=str(tmp_path), TQDM_DISABLE="1", GPU_RECORD_LIMIT="1500",
               GPU_RECORD_EPOCHS="1", GPU_RECORD_BATCH="10")
    out = tmp_path / "out"
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "gpu_record.sh"), str(real_data_root), str(out),
         "--profile", "quick", "--device", "cpu", "--train-subset", "20", "--test-subset", "20"],
        env=env, capture_output=True, text=True, timeout=1800)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log
    assert "(blocked)" not in log and "finished all recipes" in log
    assert log.index("-- resnet-improved") < log.index("-- alexnet-improved")
    assert "estimate" in log and "evaluation" in log and "checkpoints" in log
    assert sorted(p.name for p in out.iterdir()) == ["alexnet_cpu.json", "resnet_cpu.json"]
    for chapter in ("resnet", "alexnet"):
        content = results.load_results(out / f"{chapter}_cpu.json")
        assert content["environment"]["device_type"] == "cpu" and content["environment"]["torch"]
        assert content["config"]["train_subset"] == 20 and content["data"] == "CIFAR-10 (JPEG copy)"
        [(name, run)] = content["runs"].items()
        assert name == f"{chapter}-improved"
        assert run["epoch_count"] == 1 and run["batch_size"] == 10 and len(run["epochs"]) == 1
        quick_side = profiles.chapter_config("alexnet", "quick")["image_size"]
        assert run["image_size"] == (32 if chapter == "resnet" else quick_side)
        assert {"train_loss", "train_acc"} <= set(run["epochs"][0])
        assert len(run["predictions"]) == len(run["targets"]) == run["test_images"] == 20
        right = sum(p == t for p, t in zip(run["predictions"], run["targets"]))
        assert run["test_accuracy"] == pytest.approx(right / 20)
        assert sum(map(sum, run["confusion"])) == 20 and len(run["per_class_accuracy"]) == 10
        assert run["wall_s"] > 0 and content["wall_s"] >= run["wall_s"]
    assert not list(tmp_path.glob("gpu_record.*"))      # the scratch folder is removed


def test_gpu_record_script_reports_missing_archives(tmp_path):
    env = dict(os.environ, PYTHON=sys.executable, TMPDIR=str(tmp_path))
    proc = subprocess.run(["bash", str(REPO / "scripts" / "gpu_record.sh"), str(tmp_path / "none"),
                           str(tmp_path / "out")], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "no CIFAR-10 archive train.tar.gz" in proc.stderr
    usage = subprocess.run(["bash", str(REPO / "scripts" / "gpu_record.sh")], capture_output=True,
                           text=True, timeout=60)
    assert usage.returncode == 2 and "usage" in usage.stderr


def test_merged_records_keep_what_finished(tmp_path, real_data_root, monkeypatch, driver):
    """A second call adds its recipe to the chapter file instead of replacing the first."""
    monkeypatch.setenv("CNN_BOOK_DATA", str(real_data_root))
    common = ["--profile", "quick", "--device", "cpu", "--epochs", "1", "--batch-size", "10",
              "--train-subset", "10", "--test-subset", "10", "--no-progress",
              "--out", str(tmp_path / "out"), "--checkpoint-dir", str(tmp_path / "ck")]
    [path] = driver.main(["--recipes", "resnet-source"] + common)
    assert path.name == "resnet_cpu.json"
    driver.main(["--recipes", "resnet-improved", "--checkpoint-every", "0"] + common)
    content = results.load_results(path)
    assert set(content["runs"]) == {"resnet-source", "resnet-improved"}
    assert len(list((tmp_path / "ck").glob("*.pt"))) == 1   # --checkpoint-every 0: none
    # a trial file never counts as the recorded full run
    with pytest.raises(ValueError, match="not a full-profile run"):
        results.load_recorded("resnet", tmp_path / "out")
    assert json.loads(path.read_text())["runs"]["resnet-source"]["predictions"].isdigit()
