"""Bad arguments to train, results, profiles and timing: each gives a clear error from
book_utils that names the argument and says what to do."""
import json
import math

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from book_utils import profiles, results, train
from book_utils.timing import time_ms


def _toy(n=16, dtype=torch.float32, target_dtype=torch.int64):
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(n, 1, 4, 4, generator=g) * 255).to(dtype)
    y = torch.randint(0, 3, (n,), generator=g).to(target_dtype)
    return DataLoader(TensorDataset(x, y), batch_size=8)


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 3))


# ------------------------------------------------------------------ fit

def test_fit_names_a_model_or_optimizer_of_the_wrong_type():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module, got str"):
        train.fit("lenet", _toy(), opt, 1, progress=False)
    with pytest.raises(TypeError, match="optimizer must be a torch.optim.Optimizer, got list"):
        train.fit(model, _toy(), list(model.parameters()), 1, progress=False)


def test_fit_checks_the_first_batch():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.rand(8, 1, 4, 4)
    with pytest.raises(TypeError, match=r"train_loader must yield \(inputs, targets\) pairs"):
        train.fit(model, [x], opt, 1, progress=False)
    with pytest.raises(TypeError, match="targets must be int64 class indices, got float32; "
                                        r"use \.long\(\)"):
        train.fit(model, _toy(target_dtype=torch.float32), opt, 1, progress=False)
    with pytest.raises(TypeError, match=r"inputs are uint8; use x\.float\(\)/255"):
        train.fit(model, _toy(dtype=torch.uint8), opt, 1, progress=False)
    # nothing was trained by the refused calls
    assert train.fit(model, _toy(), opt, 1, progress=False).epochs[0]["epoch"] == 1


# ------------------------------------------------------------------ evaluate / predict

def test_evaluate_and_predict_refuse_integer_images():
    for call in (train.evaluate, train.predict):
        with pytest.raises(TypeError, match=r"inputs are uint8; use x\.float\(\)/255"):
            call(_model(), _toy(dtype=torch.uint8))
        with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
            call(None, _toy())
    with pytest.raises(TypeError, match="targets must be int64 class indices, got float32"):
        train.evaluate(_model(), _toy(target_dtype=torch.float32))


def test_predict_on_an_empty_loader_says_what_evaluate_says():
    with pytest.raises(ValueError) as ev:
        train.evaluate(_model(), [])
    with pytest.raises(ValueError) as pr:
        train.predict(_model(), [])
    assert str(ev.value).replace("evaluate()", "predict()") == str(pr.value)
    assert "empty loader" in str(pr.value)


def test_a_model_without_parameters_runs_on_device_or_the_cpu():
    model = nn.Sequential(nn.Flatten(), nn.Identity())     # no parameters at all
    x = torch.zeros(4, 1, 1, 3)
    x[:, 0, 0, 2] = 1.0
    loader = [(x, torch.full((4,), 2))]
    assert train.evaluate(model, loader)["accuracy"] == 1.0
    assert train.evaluate(model, loader, device="cpu")["n"] == 4
    preds, targets = train.predict(model, loader)
    assert preds.tolist() == [2, 2, 2, 2] and targets.tolist() == [2, 2, 2, 2]


# ------------------------------------------------------------------ params, history, eta

def test_count_parameters_and_seed_everything_check_their_argument():
    with pytest.raises(TypeError, match="model must be a torch.nn.Module, got OrderedDict"):
        train.count_parameters(_model().state_dict())
    assert train.count_parameters(_model()) == 16 * 3 + 3
    with pytest.raises(TypeError, match="seed must be an integer, got float"):
        train.seed_everything(1.5)
    with pytest.raises(ValueError, match="seed must be >= 0, got -1"):
        train.seed_everything(-1)
    with pytest.raises(ValueError, match=r"seed must be <= 2\*\*32 - 1"):
        train.seed_everything(2 ** 32)
    train.seed_everything(2 ** 32 - 1)      # the largest accepted seed works
    a = torch.rand(3)
    train.seed_everything(2 ** 32 - 1)
    assert torch.equal(a, torch.rand(3))


def test_history_column_lists_the_keys_it_has():
    assert train.History().column("val_acc") == []
    hist = train.History(epochs=[{"epoch": 1, "train_loss": 0.5}])
    assert hist.column("train_loss") == [0.5]
    with pytest.raises(KeyError, match=r"'val_acc'.*\['epoch', 'train_loss'\]"):
        hist.column("val_acc")


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf, "12", None])
def test_eta_line_names_seconds_per_epoch(bad):
    with pytest.raises(ValueError, match="seconds_per_epoch must be a finite number >= 0"):
        train.eta_line(bad, 3)


# ------------------------------------------------------------------ checkpoints

def test_load_checkpoint_names_a_damaged_file(tmp_path):
    model = _model()
    good = tmp_path / "good.pt"
    train.save_checkpoint(good, model, epoch=1)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all")
    for path in (truncated, garbage):
        with pytest.raises(ValueError, match=f"checkpoint {path.name} is truncated or not a "
                                             "checkpoint; delete it or set CNN_BOOK_FRESH=1"):
            train.load_checkpoint(path, model)
    other = tmp_path / "other.pt"
    torch.save({"weights": model.state_dict()}, other)
    with pytest.raises(ValueError, match="other.pt was not written by save_checkpoint"):
        train.load_checkpoint(other, model)
    assert train.load_checkpoint(good, model)["epoch"] == 1


# ------------------------------------------------------------------ profiles

@pytest.mark.parametrize("bad", [["lr", 1e-3], "lr=1e-3", 0.001])
def test_profile_extra_must_be_a_mapping(bad):
    with pytest.raises(TypeError, match="extra must be a dict of chapter settings"):
        profiles.chapter_config("lenet", "quick", extra=bad)


# ------------------------------------------------------------------ results

def test_load_results_names_a_bad_file(tmp_path):
    missing = tmp_path / "none.json"
    with pytest.raises(FileNotFoundError, match="none.json"):
        results.load_results(missing)
    empty = tmp_path / "empty.json"
    empty.write_text("")
    with pytest.raises(ValueError, match="empty.json is empty; re-record it .* or delete it"):
        results.load_results(empty)
    broken = tmp_path / "broken.json"
    broken.write_text('{"schema": 1, "runs": {')
    with pytest.raises(ValueError, match="broken.json is not valid JSON.*re-record.*delete"):
        results.load_results(broken)
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    with pytest.raises(ValueError, match="list.json holds a list"):
        results.load_results(listed)


def _history():
    return train.History(epochs=[{"epoch": 1, "train_loss": 0.5}], batch_loss=[0.6, 0.4],
                         batch_epoch=[1, 1])


def test_run_record_checks_test_and_train_seconds():
    cm = torch.tensor([[2, 0], [1, 1]])
    test = {"loss": 0.3, "accuracy": 0.75, "n": 4}
    rec = results.run_record(_history(), test, cm, ["a", "b"], 10.0)
    assert rec["test_accuracy"] == 0.75 and rec["seconds_per_epoch"] == 10.0
    with pytest.raises(ValueError, match=r"test must .* 'loss', 'accuracy' and 'n'; "
                                         r"missing \['n'\]"):
        results.run_record(_history(), {"loss": 0.3, "accuracy": 0.75}, cm, ["a", "b"], 10.0)
    for bad in (-1.0, math.nan, math.inf, "10"):
        with pytest.raises(ValueError, match="train_seconds must be a finite number"):
            results.run_record(_history(), test, cm, ["a", "b"], bad)


def _save(tmp_path, runs):
    cfg = profiles.chapter_config("lenet", "full")
    return results.save_results(tmp_path / "r.json", "lenet", cfg, runs, torch.device("cpu"),
                                "MNIST")


def test_save_results_refuses_nan_and_out_of_range_numbers(tmp_path):
    good = {"test_accuracy": 0.99, "test_loss": 0.03, "epochs": [], "seconds_per_epoch": 2.0}
    _save(tmp_path, {"lenet5": good})
    assert json.loads((tmp_path / "r.json").read_text())["runs"]["lenet5"]["test_loss"] == 0.03
    with pytest.raises(TypeError, match="runs must be a dict"):
        _save(tmp_path, [good])
    for key, bad, says in [("test_accuracy", 1.5, "finite fraction in"),
                           ("test_accuracy", math.nan, "finite fraction in"),
                           ("test_loss", math.nan, "test_loss must be a finite number"),
                           ("seconds_per_epoch", math.inf,
                            "seconds_per_epoch must be a finite number")]:
        (tmp_path / "r.json").unlink(missing_ok=True)
        with pytest.raises(ValueError, match=says):
            _save(tmp_path, {"lenet5": dict(good, **{key: bad})})
        assert not (tmp_path / "r.json").exists()      # nothing written


# ------------------------------------------------------------------ timing

def test_time_ms_checks_its_arguments():
    with pytest.raises(TypeError, match="fn must be a callable"):
        time_ms(42)
    with pytest.raises(TypeError, match="warmup must be an integer, got float"):
        time_ms(lambda: None, warmup=1.5)
    with pytest.raises(ValueError, match="warmup must be >= 0"):
        time_ms(lambda: None, warmup=-1)
    for bad in (-0.1, math.nan, math.inf):
        with pytest.raises(ValueError, match="min_time must be a finite number"):
            time_ms(lambda: None, min_time=bad)
    assert time_ms(lambda: None, repeats=2, warmup=0) >= 0
