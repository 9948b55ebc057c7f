"""fit / evaluate / predict / confusion matrix / checkpoints / device choice / profiles."""
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from book_utils import profiles, train


def _toy(n=60, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 4, 4, generator=g)
    y = (x.mean((1, 2, 3)) > 0).long()
    return TensorDataset(x, y)


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 2))


def test_evaluate_is_independent_of_batch_size_and_restores_mode():
    ds, model = _toy(), _model()
    model.train()
    results = [train.evaluate(model, DataLoader(ds, batch_size=b)) for b in (1, 3, 10)]
    for r in results[1:]:
        assert r["loss"] == pytest.approx(results[0]["loss"], rel=1e-5)
        assert r["correct"] == results[0]["correct"] and r["n"] == 60
    # the mean loss per sample equals the loss of the whole set in one batch
    model.eval()
    with torch.no_grad():
        full = nn.functional.cross_entropy(model(ds.tensors[0]), ds.tensors[1]).item()
    model.train()
    assert results[0]["loss"] == pytest.approx(full, rel=1e-5)
    assert model.training  # evaluate() put it back in training mode
    with pytest.raises(ValueError, match="empty loader"):
        train.evaluate(model, [])


def test_fit_learns_and_records_history():
    ds, model = _toy(200), _model()
    loader = DataLoader(ds, batch_size=20, shuffle=True, generator=torch.Generator())
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    sched = torch.optim.lr_scheduler.StepLR(opt, 1, gamma=0.5)
    hist = train.fit(model, loader, opt, epochs=3, scheduler=sched, val_loader=DataLoader(ds, batch_size=50),
                     progress=False)
    assert [e["epoch"] for e in hist.epochs] == [1, 2, 3]
    assert len(hist.batch_loss) == 30 and hist.batch_epoch[-1] == 3
    assert hist.column("lr") == pytest.approx([0.025, 0.0125, 0.00625])
    assert hist.epochs[-1]["val_acc"] > 0.85
    assert hist.epochs[-1]["train_loss"] < hist.epochs[0]["train_loss"]


def test_checkpoint_resume_repeats_uninterrupted_run(tmp_path):
    ds = _toy(100)

    def run(epochs, ckpt):
        model = _model()
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4)
        loader = DataLoader(ds, batch_size=10, shuffle=True, generator=torch.Generator())
        return model, train.fit(model, loader, opt, epochs, scheduler=sched, checkpoint=ckpt, progress=False)

    ref_model, ref = run(4, None)
    run(2, tmp_path / "ck.pt")                        # "interrupted" after epoch 2
    model, resumed = run(4, tmp_path / "ck.pt")       # restarted: continues with epochs 3-4
    assert [e["epoch"] for e in resumed.epochs] == [1, 2, 3, 4]
    assert resumed.batch_loss == pytest.approx(ref.batch_loss, abs=1e-6)
    for a, b in zip(model.parameters(), ref_model.parameters()):
        torch.testing.assert_close(a, b)


def test_load_checkpoint_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        train.load_checkpoint(tmp_path / "none.pt", _model())
    train.save_checkpoint(tmp_path / "a.pt", _model())
    with pytest.raises(RuntimeError, match="does not fit this model"):
        train.load_checkpoint(tmp_path / "a.pt", nn.Linear(3, 3))


def test_confusion_matrix_and_predict():
    cm = train.confusion_matrix(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2]), 3)
    assert cm.tolist() == [[1, 0, 0], [0, 1, 0], [0, 1, 1]]
    with pytest.raises(ValueError, match="must lie in"):
        train.confusion_matrix(torch.tensor([3]), torch.tensor([0]), 3)
    with pytest.raises(ValueError, match="differ in shape"):
        train.confusion_matrix(torch.tensor([0, 1]), torch.tensor([0]), 3)
    ds, model = _toy(), _model()
    preds, targets = train.predict(model, DataLoader(ds, batch_size=7))
    assert preds.shape == targets.shape == (60,)
    model.eval()
    assert torch.equal(preds, model(ds.tensors[0]).argmax(1))


def test_fit_argument_errors():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="epochs"):
        train.fit(model, [], opt, epochs=-1)
    with pytest.raises(ValueError, match="scheduler_step"):
        train.fit(model, [], opt, epochs=1, scheduler_step="step")


def test_choose_device():
    assert train.choose_device("cpu").type == "cpu"
    expected = "cuda" if torch.cuda.is_available() else None
    if expected is None:
        with pytest.raises(ValueError, match="not available"):
            train.choose_device("cuda")
        assert train.choose_device().type in ("cpu", "mps")
    with pytest.raises(ValueError, match="unknown device"):
        train.choose_device("tpu")


def test_profiles(monkeypatch):
    monkeypatch.setenv("CNN_BOOK_PROFILE", "quick")
    cfg = profiles.chapter_config("lenet")
    assert cfg.profile == "quick" and cfg.epochs >= 1 and cfg["lr"] == 1e-3
    assert "profile=quick" in cfg.describe()
    assert profiles.chapter_config("lenet", "full").epochs >= 5
    assert profiles.chapter_config("lenet", epochs=7).epochs == 7
    monkeypatch.setenv("CNN_BOOK_PROFILE", "fast")
    with pytest.raises(ValueError, match="not a known profile"):
        profiles.active_profile()
    monkeypatch.setenv("CNN_BOOK_PROFILE", "full")
    assert profiles.chapter_config("lenet", profile=None).profile == "full"   # None: the env default
    assert profiles.chapter_config("lenet", profile="quick").profile == "quick"
    monkeypatch.delenv("CNN_BOOK_PROFILE")
    assert profiles.active_profile() == "quick"          # on every device, CUDA included
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert profiles.active_profile() == "quick"
    assert profiles.chapter_config("lenet", profile=None).profile == profiles.active_profile()
    with pytest.raises(KeyError, match="unknown chapter"):
        profiles.chapter_config("vgg99")
    with pytest.raises(ValueError, match="epochs must be an integer >= 0, got -3"):
        profiles.chapter_config("lenet", "quick", epochs=-3)
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got '64'"):
        profiles.chapter_config("lenet", "quick", batch_size="64")
    with pytest.raises(ValueError, match="cannot override \\['lr'\\]"):
        profiles.chapter_config("lenet", "quick", lr=0.1)
    cfg = profiles.chapter_config("lenet", "quick", extra={"lr": 0.1}, train_subset=None)
    assert cfg["lr"] == 0.1 and cfg["crop_padding"] == 2


def test_fit_refuses_what_would_silently_train_nothing(tmp_path):
    model = _model()
    other = torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1)
    loader = DataLoader(_toy(), batch_size=10)
    with pytest.raises(ValueError, match="none of this model's parameters"):
        train.fit(model, loader, other, epochs=1, progress=False)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="yielded no batch"):
        train.fit(model, [], opt, epochs=1, progress=False)
    with pytest.raises(ValueError, match="integer >= 0"):
        train.fit(model, loader, opt, epochs=2.5, progress=False)
    with pytest.raises(ValueError, match="integer >= 0"):
        train.fit(model, loader, opt, epochs=True, progress=False)
    bad = TensorDataset(torch.full((10, 1, 4, 4), float("nan")), torch.zeros(10, dtype=torch.long))
    with pytest.raises(ValueError, match="loss became nan in epoch 1"):
        train.fit(model, DataLoader(bad, batch_size=5), opt, epochs=1, progress=False)
    ckpt = tmp_path / "c.pt"
    m2 = _model()
    train.fit(m2, loader, torch.optim.SGD(m2.parameters(), lr=0.1), epochs=3, checkpoint=ckpt, progress=False)
    m3 = _model()
    with pytest.raises(ValueError, match="already trained 3 epochs, more than epochs=2"):
        train.fit(m3, loader, torch.optim.SGD(m3.parameters(), lr=0.1), epochs=2, checkpoint=ckpt, progress=False)


def test_evaluate_and_confusion_matrix_reject_misleading_input():
    model = _model()
    with pytest.raises(ValueError, match="reduction='mean'"):
        train.evaluate(model, DataLoader(_toy(), batch_size=4), loss_fn=nn.CrossEntropyLoss(reduction="sum"))
    with pytest.raises(ValueError, match="integer class labels, got dtype torch.float32"):
        train.confusion_matrix(torch.tensor([0.0, 1.7]), torch.tensor([0, 1]), 3)
    with pytest.raises(ValueError, match=r"look like logits.*argmax\(1\)"):
        train.confusion_matrix(torch.randn(4, 3), torch.tensor([0, 1, 2, 0]), 3)
    with pytest.raises(ValueError, match="num_classes must be a positive integer"):
        train.confusion_matrix(torch.tensor([0]), torch.tensor([0]), 2.5)
