"""Re-make the recorded full LeNet-5 run of page 06 and ship its weights.

Two steps, run from the repository root:

    python scripts/record_lenet.py run      # page 06, full profile, CNN_BOOK_RECORD=1
    python scripts/record_lenet.py export   # final checkpoint -> lenet_weights.json

``run`` executes a copy of ``chapters/06_lenet_mnist.ipynb`` (the committed page is not
touched) with ``CNN_BOOK_PROFILE=full CNN_BOOK_RECORD=1 CNN_BOOK_FRESH=1`` and a private
checkpoint folder, so the page's own record cell writes ``book_utils/results/lenet_cpu.json``
with the page's recipe and seed. ``export`` loads the final checkpoint of that run (the
trained model the record describes), writes ``book_utils/results/lenet_weights.json`` with
:func:`book_utils.digit_pad.save_weights` (float16) after checking that the checkpoint scores
exactly the recorded test accuracy, and adds a ``weights`` entry (file, model variant, dtype,
accuracy of the shipped float16 weights) to the record.

Not here: the pad itself (``book_utils/digit_pad``), its tests.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "chapters" / "06_lenet_mnist.ipynb"
WORK = Path(os.environ.get("CNN_BOOK_RECORD_DIR", "/tmp/cnn_book_record_lenet"))
CKPT_DIR = WORK / "checkpoints"


def run_page() -> None:
    """Execute a copy of page 06 in the full profile with recording on."""
    WORK.mkdir(parents=True, exist_ok=True)
    copy = WORK / PAGE.name
    shutil.copy(PAGE, copy)
    env = dict(os.environ, CNN_BOOK_PROFILE="full", CNN_BOOK_RECORD="1",
               CNN_BOOK_FRESH="1", CNN_BOOK_CHECKPOINTS=str(CKPT_DIR),
               TQDM_DISABLE="1", PYTHONPATH=str(ROOT))
    jupyter = Path(sys.executable).with_name("jupyter")
    subprocess.run([str(jupyter), "execute", "--inplace", "--timeout=14400",
                    str(copy)], env=env, check=True)


def final_checkpoint() -> Path:
    """The checkpoint the full run of page 06 left in :data:`CKPT_DIR`."""
    found = sorted(CKPT_DIR.glob("lenet5-im2col-full-*.pt"))
    if len(found) != 1:
        raise SystemExit(f"expected one lenet5-im2col-full-*.pt in {CKPT_DIR}, found "
                         f"{[p.name for p in found]}; run the 'run' step first")
    return found[0]


def test_accuracy(model, images, labels) -> float:
    """Accuracy (0-1) of ``model`` on uint8 ``(N, 28, 28)`` images, page 06's test transform."""
    import torch

    from book_utils import data
    x = (images.float().div(255).view(-1, 1, 28, 28) - data.MNIST_MEAN[0]) / data.MNIST_STD[0]
    with torch.no_grad():
        preds = torch.cat([model(chunk).argmax(1) for chunk in x.split(1000)])
    return float((preds == labels).double().mean())


def export(checkpoint: Path) -> None:
    """Write lenet_weights.json from the run's final checkpoint; note it in lenet_cpu.json."""
    import json

    import torch

    from book_utils import data, digit_pad, layers, results, train
    from book_utils.models import LeNet5

    recorded = results.load_recorded("lenet")
    run = recorded["runs"]["lenet5-relu-max"]
    model = LeNet5(activation="relu", pooling="max", conv=layers.Conv2dIm2col,
                   pool=layers.MaxPool2dWindows)
    state = train.load_checkpoint(checkpoint, model)
    if state["epoch"] != recorded["config"]["epochs"]:
        raise SystemExit(f"{checkpoint.name} is from epoch {state['epoch']}, the record "
                         f"trained {recorded['config']['epochs']}")
    model.eval()
    test = data.load_mnist("test")
    full = test_accuracy(model, test.images, test.labels)
    if abs(full - run["test_accuracy"]) > 1e-9:
        raise SystemExit(f"the checkpoint scores {full:.4%}, the record {run['test_accuracy']:.4%}: "
                         f"not the recorded model")
    shipped = LeNet5(activation="relu", pooling="max")
    shipped.load_state_dict(digit_pad.round_state_dict(model.state_dict()))
    rounded = test_accuracy(shipped.eval(), test.images, test.labels)
    content = digit_pad.save_weights(
        model.state_dict(),
        source=f"book_utils/results/lenet_cpu.json, run lenet5-relu-max "
               f"(created {recorded['created']}, on {recorded['environment']['device']})",
        test_accuracy_float32=round(full, 6), test_accuracy_float16=round(rounded, 6),
        test_images=int(test.labels.numel()))
    run["weights"] = {"file": digit_pad.WEIGHTS_PATH.name, "model": digit_pad.MODEL_VARIANT,
                      "layers": "hand-written Conv2dIm2col and MaxPool2dWindows (same "
                                "parameters as nn.Conv2d and F.max_pool2d)",
                      "dtype": content["dtype"], "test_accuracy_float16": round(rounded, 6)}
    path = results.results_path("lenet")
    path.write_text(json.dumps(recorded, indent=1) + "\n", encoding="utf-8")
    print(f"test accuracy: float32 {full:.4%}, shipped float16 {rounded:.4%}; wrote "
          f"{digit_pad.WEIGHTS_PATH.name} ({digit_pad.WEIGHTS_PATH.stat().st_size:,} bytes)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["run", "export"])
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))       # this checkout's book_utils
    if args.step == "run":
        run_page()
    else:
        export(final_checkpoint())


if __name__ == "__main__":
    main()
