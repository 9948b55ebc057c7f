"""The trained LeNet-5 of page 06 as shipped with the book: weights rounded to float16, in JSON.

:func:`save_weights` writes a model's ``state_dict`` as ``lenet_weights.json`` (each tensor
rounded to IEEE float16, little-endian bytes in base64, split into short lines);
:func:`load_weights` reads it back as float32 tensors; :func:`shipped_model` is a
:class:`book_utils.models.LeNet5` holding exactly those rounded numbers, i.e. the network the
page runs in the reader's browser (``book_utils/digit_pad/web/lenet.js``), so the two can be
compared digit by digit. float16 keeps about three significant digits and halves the size of
float32; the file records the test accuracy before and after the rounding.

Not here: the preparation of a drawn digit (``prepare``), the page's HTML (``page``).
"""
from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Dict, Optional, Union

import numpy as np
import torch

PathLike = Union[str, os.PathLike]

#: Where the shipped weights live (package data, next to the recorded full run).
WEIGHTS_PATH = Path(__file__).resolve().parents[1] / "results" / "lenet_weights.json"
WEIGHTS_SCHEMA = 1
#: The tensors of LeNet5(activation="relu", pooling="max", input_size=28), in this order.
TENSOR_SHAPES = {
    "c1.weight": (6, 1, 5, 5), "c1.bias": (6,),
    "c3.weight": (16, 6, 5, 5), "c3.bias": (16,),
    "c5.weight": (120, 16, 5, 5), "c5.bias": (120,),
    "f6.weight": (84, 120), "f6.bias": (84,),
    "output.weight": (10, 84), "output.bias": (10,)}
#: The model the weights belong to, as a constructor call.
MODEL_VARIANT = "LeNet5(num_classes=10, activation='relu', pooling='max', input_size=28)"
B64_LINE = 76


def _encode(tensor: torch.Tensor) -> list:
    raw = tensor.detach().cpu().numpy().astype("<f2").tobytes()
    text = base64.b64encode(raw).decode("ascii")
    return [text[i:i + B64_LINE] for i in range(0, len(text), B64_LINE)]


def _decode(lines, shape) -> torch.Tensor:
    raw = base64.b64decode("".join(lines))
    values = np.frombuffer(raw, dtype="<f2").astype(np.float32)
    if values.size != int(np.prod(shape)):
        raise ValueError(f"a tensor of shape {shape} needs {int(np.prod(shape))} values, the "
                         f"file holds {values.size}")
    return torch.from_numpy(values.copy()).view(*shape)


def check_state_dict(state: Dict[str, torch.Tensor]) -> None:
    """Raise ``ValueError`` unless ``state`` is a LeNet-5 state dict of :data:`TENSOR_SHAPES`.

    Raises:
        TypeError: if ``state`` is not a mapping of tensors.
        ValueError: for a missing or extra tensor, a wrong shape, or a non-finite value
            (the message names the tensor).
    """
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise TypeError("state must be a dict of tensors, e.g. model.state_dict() of "
                        f"{MODEL_VARIANT}")
    if set(state) != set(TENSOR_SHAPES):
        raise ValueError(f"not a LeNet-5 state dict: missing {sorted(set(TENSOR_SHAPES) - set(state))}, "
                         f"unexpected {sorted(set(state) - set(TENSOR_SHAPES))}; expected the "
                         f"tensors of {MODEL_VARIANT}")
    for name, shape in TENSOR_SHAPES.items():
        if tuple(state[name].shape) != shape:
            raise ValueError(f"{name} has shape {tuple(state[name].shape)}, expected {shape}")
        if not bool(torch.isfinite(state[name]).all()):
            raise ValueError(f"{name} holds NaN or inf; ship weights of a run that trained")


def round_state_dict(state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """``state`` rounded to float16 and back to float32: the numbers the page ships.

    Raises:
        TypeError, ValueError: as :func:`check_state_dict`; also if a value is outside the
            float16 range (|x| > 65504).
    """
    check_state_dict(state)
    out = {}
    for name in TENSOR_SHAPES:
        t = state[name].detach().float().cpu()
        if float(t.abs().max()) > 65504:
            raise ValueError(f"{name} has values beyond float16's range (65504)")
        out[name] = t.half().float()
    return out


def save_weights(state: Dict[str, torch.Tensor], path: Optional[PathLike] = None,
                 **details) -> dict:
    """Write ``state`` (a LeNet-5 ``state_dict``) as the book's weights JSON; return its content.

    Args:
        state: ``model.state_dict()`` of :data:`MODEL_VARIANT` (hand-written layers included:
            their parameters have the same names and shapes).
        path: the file; default :data:`WEIGHTS_PATH`.
        **details: JSON-serialisable facts kept in the file (e.g. ``source``, accuracies).

    Raises:
        TypeError, ValueError: as :func:`round_state_dict`.
    """
    rounded = round_state_dict(state)
    content = {"schema": WEIGHTS_SCHEMA, "model": MODEL_VARIANT, "dtype": "float16",
               "byte_order": "little", "encoding": "base64",
               "input": "784 pixels in [0, 1], 28x28 row by row, white digit on black",
               "normalize": {"mean": 0.1307, "std": 0.3081}, **details,
               "tensors": [{"name": n, "shape": list(TENSOR_SHAPES[n]),
                            "data": _encode(rounded[n])} for n in TENSOR_SHAPES]}
    path = Path(path if path is not None else WEIGHTS_PATH)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return content


def read_weights_file(path: Optional[PathLike] = None) -> dict:
    """The weights JSON as a dict, checked (schema, model, tensor names and shapes).

    Raises:
        FileNotFoundError: when there is no such file (with how to make one).
        ValueError: when it is not valid JSON or not a weights file of this schema.
    """
    path = Path(path if path is not None else WEIGHTS_PATH)
    if not path.is_file():
        raise FileNotFoundError(f"no LeNet-5 weights at {path}; make them with "
                                f"`python scripts/record_lenet.py run` then `... export`")
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc.msg}, line {exc.lineno}); "
                         f"re-export it with scripts/record_lenet.py export") from None
    if not isinstance(content, dict) or content.get("schema") != WEIGHTS_SCHEMA \
            or content.get("dtype") != "float16" or "tensors" not in content:
        raise ValueError(f"{path} is not a LeNet-5 weights file of schema {WEIGHTS_SCHEMA}; "
                         f"re-export it with scripts/record_lenet.py export")
    names = [t.get("name") for t in content["tensors"]]
    if names != list(TENSOR_SHAPES):
        raise ValueError(f"{path} holds tensors {names}, expected {list(TENSOR_SHAPES)}")
    for t in content["tensors"]:
        if tuple(t["shape"]) != TENSOR_SHAPES[t["name"]]:
            raise ValueError(f"{path}: {t['name']} has shape {t['shape']}, expected "
                             f"{list(TENSOR_SHAPES[t['name']])}")
    return content


def load_weights(path: Optional[PathLike] = None) -> Dict[str, torch.Tensor]:
    """The shipped weights as a float32 ``state_dict`` (values exactly the float16 ones).

    Returns:
        ``{name: tensor}`` with the names and shapes of :data:`TENSOR_SHAPES`, e.g.
        ``"c1.weight"``: ``(6, 1, 5, 5)`` float32, the first layer's six 5x5 kernels.

    Raises:
        FileNotFoundError, ValueError: as :func:`read_weights_file`.
    """
    content = read_weights_file(path)
    return {t["name"]: _decode(t["data"], TENSOR_SHAPES[t["name"]]) for t in content["tensors"]}


def shipped_model(path: Optional[PathLike] = None, dtype: torch.dtype = torch.float32):
    """A :class:`~book_utils.models.LeNet5` (``nn.Conv2d`` layers) with the shipped weights.

    It computes what the page's JavaScript computes: input ``(B, 1, 28, 28)`` normalised with
    :data:`book_utils.data.MNIST_MEAN` / ``MNIST_STD``, output ``(B, 10)`` logits. In eval mode.

    Raises:
        FileNotFoundError, ValueError: as :func:`read_weights_file`.
    """
    from ..models import LeNet5
    model = LeNet5(activation="relu", pooling="max", input_size=28)
    model.load_state_dict(load_weights(path))
    return model.to(dtype).eval()
