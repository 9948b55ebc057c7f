"""Input checks shared by the models: a clear message instead of a deep error from torch.

:class:`CheckedModule` runs a model's checks outside the ``__init__`` and ``forward`` that the
pages print, so that the code a reader sees holds the architecture only.

Not here: the models themselves (one module each), the layers of the book
(:mod:`book_utils.layers`).
"""
from __future__ import annotations

import functools
import inspect
import math
import numbers

import torch
from torch import nn

from ..ops import check_int


def check_float_batch(x, module: nn.Module, name: str) -> None:
    """Raise a clear error unless ``x`` is a floating-point tensor of the module's dtype.

    Raises:
        TypeError: ``x`` is not a ``torch.Tensor`` (e.g. a NumPy array or a list).
        ValueError: ``x`` holds integers (e.g. raw ``uint8`` pixels), a different float
            dtype than the module's weights, lies on another device than the weights, or is an
            empty batch.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} expects a torch.Tensor, got {type(x).__name__}; "
                        f"convert with torch.as_tensor(x, dtype=torch.float32)")
    if not x.is_floating_point():
        raise ValueError(f"{name} expects floating-point images, got dtype {x.dtype}; convert raw pixels "
                         f"with x.float() / 255 (or use book_utils.data.TensorImageDataset)")
    weight = next(module.parameters(), None)
    if weight is not None and weight.dtype != x.dtype:
        raise ValueError(f"{name} has {weight.dtype} weights but got a {x.dtype} input; convert one of "
                         f"them, e.g. x.to({weight.dtype}) or model.to({x.dtype})")
    if weight is not None and weight.device != x.device:
        raise ValueError(f"{name} has its weights on {weight.device} but the input x is on {x.device}; "
                         f"move one of them, e.g. x.to('{weight.device}') or model.to('{x.device}')")
    if x.dim() >= 1 and x.shape[0] == 0:
        raise ValueError(f"{name} got an empty batch x of shape {tuple(x.shape)}; pass at least one image")


def check_batch_norm_batch(x: torch.Tensor, module: nn.Module, name: str, halvings: int) -> None:
    """Refuse one image in training mode when the last feature map is 1x1 (clear error first).

    Batch normalisation in training mode needs more than one value per channel; after
    ``halvings`` stride-2 layers (each ``H -> ceil(H / 2)``) a single small image leaves one.

    Raises:
        ValueError: naming the batch size and the fix (``model.eval()`` or a larger batch).
    """
    if not module.training or x.shape[0] != 1:
        return
    h, w = x.shape[-2:]
    for _ in range(halvings):
        h, w = (h + 1) // 2, (w + 1) // 2
    if h * w == 1:
        raise ValueError(f"{name} is in training mode and got a batch x of one {tuple(x.shape[-2:])} "
                         f"image: its last feature map is 1x1, so batch normalisation has one value "
                         f"per channel and cannot normalise. Call model.eval() to run one image, or "
                         f"pass a batch of at least 2")


def check_positive_int(name: str, value) -> int:
    """Return ``value`` as an ``int`` if it is an integer >= 1.

    Raises:
        TypeError: for a non-integer (``bool`` included); ValueError: for a value below 1.
    """
    return check_int(name, value, 1)


def check_probability(name: str, value) -> float:
    """Return ``value`` as a float if it is a number in ``[0, 1)`` (a dropout probability).

    Raises:
        TypeError: for a non-number; ValueError: outside ``[0, 1)`` or NaN.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number in [0, 1), got {type(value).__name__} {value!r}")
    if math.isnan(value) or not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value}")
    return float(value)


def check_bool(name: str, value) -> bool:
    """Return ``value`` if it is ``True`` or ``False``, else raise ``TypeError`` naming ``name``."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def _run_check_input(module: nn.Module, args, kwargs) -> None:
    """Forward pre-hook: ``module.check_input(...)`` with the arguments of the call."""
    module.check_input(*args, **kwargs)


def _checked_init(cls: type, init):
    """``init`` preceded by ``cls.check_args(**arguments)`` and followed by the input hook."""
    signature = inspect.signature(init)

    @functools.wraps(init)   # inspect.getsource(cls.__init__) shows ``init`` itself
    def checked(self, *args, **kwargs):
        try:
            bound = signature.bind(self, *args, **kwargs)
        except TypeError as err:
            raise TypeError(f"{cls.__name__}(): {err}") from None
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        arguments.pop(next(iter(signature.parameters)))   # self
        cls.check_args(**arguments)
        init(self, *args, **kwargs)
        if _run_check_input not in self._forward_pre_hooks.values():
            self.register_forward_pre_hook(_run_check_input, with_kwargs=True)

    return checked


class CheckedModule(nn.Module):
    """An ``nn.Module`` whose argument and input checks run outside ``__init__`` and ``forward``.

    A subclass defines

    * ``check_args(**arguments)`` (a ``staticmethod``): called with the constructor's arguments
      by name, defaults filled in, *before* its ``__init__`` runs, so a bad argument raises a
      clear ``TypeError``/``ValueError`` instead of an error deep inside a torch layer;
    * ``check_input(self, x)``: called by a forward pre-hook before every ``forward`` (the
      default checks that ``x`` is a non-empty float tensor of the weights' dtype and device,
      :func:`check_float_batch`).

    ``inspect.getsource(Model.__init__)`` and ``inspect.getsource(Model.forward)`` then show
    the layers and the data flow only. The hook adds nothing to ``state_dict``; calling
    ``model.forward(x)`` directly skips the input check, ``model(x)`` never does.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None and "check_args" in cls.__dict__:
            cls.__init__ = _checked_init(cls, init)

    def check_input(self, x, *args, **kwargs) -> None:
        """Raise a clear error for an input ``forward`` cannot take (see the class doc)."""
        check_float_batch(x, self, type(self).__name__)
