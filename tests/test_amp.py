"""Mixed precision: amp_dtype per device (CUDA/CPU queries patched), the one autocast, and the
GradScaler path of fit (float16 on the CPU)."""
import re
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from book_utils import train
from book_utils.train import devices, precision

PACKAGE = Path(train.__file__).resolve().parents[1]   # book_utils/


@pytest.mark.parametrize("capability, expected", [
    ((9, 0), torch.bfloat16), ((8, 0), torch.bfloat16), ((8, 6), torch.bfloat16),
    ((7, 5), torch.float16), ((7, 0), torch.float16), ((6, 1), None), ((5, 2), None)])
def test_amp_dtype_follows_cuda_compute_capability(monkeypatch, capability, expected):
    asked = []

    def fake_capability(device=None):
        asked.append(device)
        return capability

    monkeypatch.setattr(torch.cuda, "get_device_capability", fake_capability)
    assert train.amp_dtype(torch.device("cuda", 0)) == expected
    assert train.amp_dtype("cuda") == expected
    assert len(asked) == 2  # the answer came from the (patched) CUDA query


def test_amp_dtype_mps_is_none():
    assert train.amp_dtype(torch.device("mps")) is None


@pytest.mark.parametrize("flags, expected", [
    ({"avx2", "avx512f", "avx512_bf16"}, torch.bfloat16),
    ({"avx2", "amx_tile", "amx_bf16"}, torch.bfloat16),
    ({"avx2", "avx512f"}, None),     # AVX-512 without BF16: bf16 would be emulated
    (set(), None)])                  # flags unreadable (not Linux)
def test_amp_dtype_on_cpu_needs_native_bf16(monkeypatch, flags, expected):
    monkeypatch.setattr(devices, "cpu_flags", lambda: frozenset(flags))
    assert train.amp_dtype("cpu") == expected


def test_cpu_flags_and_name_come_from_cpuinfo(monkeypatch):
    fake = {"model name": "Example  CPU 9000", "flags": "fpu avx2 avx512_bf16"}
    monkeypatch.setattr(devices, "_cpuinfo_field", lambda name: fake.get(name))
    train.cpu_flags.cache_clear()
    try:
        assert train.cpu_flags() == frozenset({"fpu", "avx2", "avx512_bf16"})
        assert train.cpu_has_native_bf16()
        assert train.cpu_model_name() == "Example CPU 9000"
        assert re.fullmatch(r"CPU: Example CPU 9000 \(\d+ cores\)", train.device_name("cpu"))
    finally:
        train.cpu_flags.cache_clear()


def test_resolve_amp(monkeypatch):
    monkeypatch.setattr(precision, "amp_dtype", lambda device: torch.float16)
    assert train.resolve_amp(False, "cpu") is None
    assert train.resolve_amp(None, "cpu") is None
    assert train.resolve_amp(True, "cpu") == torch.float16
    assert train.resolve_amp("auto", "cpu") == torch.float16
    assert train.resolve_amp(torch.bfloat16, "cpu") == torch.bfloat16
    assert train.resolve_amp(torch.float32, "cpu") is None
    for bad in ("bf16", 1, torch.float64, torch.int8):
        with pytest.raises(ValueError, match="amp must be"):
            train.resolve_amp(bad, "cpu")


def test_autocast_context():
    a, b = torch.randn(4, 4), torch.randn(4, 4)
    with train.autocast("cpu", None):
        assert (a @ b).dtype == torch.float32
    with train.autocast(torch.device("cpu"), torch.bfloat16):
        assert (a @ b).dtype == torch.bfloat16
    with pytest.raises(ValueError, match="autocast dtype"):
        train.autocast("cpu", torch.float64)


_DIRECT = re.compile(r"torch\.(?:\w+\.)*autocast\b|from\s+torch[\w.]*\s+import\s+[^#\n]*\bautocast\b")


def _direct_autocasts(text):
    """Lines of ``text`` that build an autocast context with torch directly (comments ignored)."""
    return [line.strip() for line in text.splitlines() if _DIRECT.search(line.split("#", 1)[0])]


def test_the_autocast_scanner_finds_direct_calls():
    assert _direct_autocasts('with torch.autocast("cuda", dtype=torch.bfloat16):') != []
    assert _direct_autocasts("with torch.cuda.amp.autocast():") != []
    assert _direct_autocasts("from torch.amp import GradScaler, autocast") != []
    assert _direct_autocasts("with train.autocast(device, dtype):  # torch.autocast inside") == []


def test_no_other_module_builds_an_autocast_context():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "train" / "precision.py":
            continue
        offenders += [f"{path.relative_to(PACKAGE)}: {line}"
                      for line in _direct_autocasts(path.read_text(encoding="utf-8"))]
    assert offenders == [], "use book_utils.train.autocast instead:\n" + "\n".join(offenders)
    # the one place: train.autocast itself
    text = (PACKAGE / "train" / "precision.py").read_text(encoding="utf-8")
    assert len(_direct_autocasts(text)) == 1


def _toy(n=64):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 8, generator=g)
    return TensorDataset(x, (x[:, 0] > 0).long())


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))


def test_float16_training_uses_a_grad_scaler_and_checkpoints_it(tmp_path, monkeypatch):
    steps = []
    original = torch.amp.GradScaler.step

    def counting_step(self, optimizer, *args, **kwargs):
        steps.append(self.get_scale())
        return original(self, optimizer, *args, **kwargs)

    monkeypatch.setattr(torch.amp.GradScaler, "step", counting_step)
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    loader = DataLoader(_toy(), batch_size=16, shuffle=True, generator=torch.Generator())
    ckpt = tmp_path / "fp16.pt"
    hist = train.fit(model, loader, opt, epochs=3, amp=torch.float16, checkpoint=ckpt, progress=False)
    assert len(steps) == 3 * 4 and steps[0] == 65536.0       # every step went through the scaler
    assert hist.epochs[-1]["train_loss"] < hist.epochs[0]["train_loss"]
    state = torch.load(ckpt, weights_only=True)
    assert state["scaler"]["scale"] == pytest.approx(steps[-1])
    # a resumed float16 run restores the scale instead of starting again at 2**16
    steps.clear()
    model2 = _model()
    train.fit(model2, loader, torch.optim.SGD(model2.parameters(), lr=0.5), epochs=4,
              amp=torch.float16, checkpoint=ckpt, progress=False)
    assert len(steps) == 4 and steps[0] == pytest.approx(state["scaler"]["scale"])


def test_bfloat16_and_float32_train_without_a_scaler(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.amp.GradScaler, "step",
                        lambda *a, **k: pytest.fail("no GradScaler outside float16"))
    for amp in (torch.bfloat16, False):
        model = _model()
        ckpt = tmp_path / f"{amp}.pt"
        hist = train.fit(model, DataLoader(_toy(), batch_size=16), torch.optim.SGD(model.parameters(), lr=0.5),
                         epochs=2, amp=amp, checkpoint=ckpt, progress=False)
        assert "scaler" not in torch.load(ckpt, weights_only=True)
        assert hist.epochs[-1]["train_loss"] < hist.epochs[0]["train_loss"]


def test_evaluate_under_bfloat16_is_close_to_float32():
    model = _model()
    loader = DataLoader(_toy(), batch_size=16)
    plain = train.evaluate(model, loader)
    mixed = train.evaluate(model, loader, amp=torch.bfloat16)
    assert mixed["n"] == plain["n"] == 64
    assert mixed["loss"] == pytest.approx(plain["loss"], abs=0.02)
    with pytest.raises(ValueError, match="amp must be"):
        train.evaluate(model, loader, amp="fp16")
