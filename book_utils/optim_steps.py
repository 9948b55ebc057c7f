"""One optimizer update written out by hand: SGD with momentum (and Nesterov), Adam, AdamW.

Each function takes a parameter tensor, its gradient and the optimizer's state so far (a dict,
``{}`` before the first step) and returns the updated parameter and the new state, without
changing its inputs. They follow the update rules that ``torch.optim.SGD``, ``torch.optim.Adam``
and ``torch.optim.AdamW`` document (``tests/test_optim_steps.py`` checks several steps of each
against them), so page 06 can print a few readable lines and compare them with the library.

* :func:`sgd_momentum_step` -- heavy-ball momentum, optionally Nesterov's look-ahead form
  (Sutskever et al., 2013);
* :func:`adam_step` -- Adam with bias correction (Kingma & Ba, 2015); ``weight_decay`` adds an
  L2 term to the gradient, as ``torch.optim.Adam`` does;
* :func:`adamw_step` -- AdamW: the Adam step plus decoupled weight decay (Loshchilov & Hutter,
  2019).

Not here: the training loop that calls an optimizer (:mod:`book_utils.train.loop`), learning
rate schedules (``torch.optim.lr_scheduler``), anything the notebooks train with (they use
``torch.optim``; these functions only explain it).
"""
from __future__ import annotations

import math
from typing import Dict, Tuple

import torch

__all__ = ["adam_step", "adamw_step", "sgd_momentum_step"]

State = Dict[str, object]


def _check_tensors(param, grad, state, what: str) -> None:
    for name, value in (("param", param), ("grad", grad)):
        if not isinstance(value, torch.Tensor) or not value.is_floating_point():
            kind = value.dtype if isinstance(value, torch.Tensor) else type(value).__name__
            raise TypeError(f"{what}: {name} must be a floating-point torch.Tensor, got {kind}; "
                            f"convert with torch.as_tensor({name}, dtype=torch.float64)")
    if grad.shape != param.shape:
        raise ValueError(f"{what}: grad has shape {tuple(grad.shape)} but param has shape "
                         f"{tuple(param.shape)}; pass the gradient of this very parameter")
    if not isinstance(state, dict):
        raise TypeError(f"{what}: state must be a dict ({{}} before the first step), "
                        f"got {type(state).__name__}")
    for key in ("buf", "m", "v"):
        if key in state and (not isinstance(state[key], torch.Tensor)
                             or state[key].shape != param.shape):
            raise ValueError(f"{what}: state[{key!r}] does not match param of shape "
                             f"{tuple(param.shape)}; pass {{}} on the first step and then the "
                             f"state this function returned for the same parameter")


def _check_number(what: str, name: str, value, low: float, high: float = math.inf,
                  low_open: bool = False, high_open: bool = True) -> float:
    ok = (not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
          and (value > low if low_open else value >= low)
          and (value < high if high_open else value <= high))
    if not ok:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        raise ValueError(f"{what}: {name} must be a number in {left}{low}, {high}{right}, "
                         f"got {value!r}")
    return float(value)


def sgd_momentum_step(param: torch.Tensor, grad: torch.Tensor, state: State, lr: float,
                      momentum: float = 0.9, nesterov: bool = False,
                      weight_decay: float = 0.0) -> Tuple[torch.Tensor, State]:
    """One step of SGD with momentum, as ``torch.optim.SGD`` (dampening 0) computes it.

    With gradient ``g`` (plus ``weight_decay * param``), the buffer is ``b = g`` on the first
    step and ``b = momentum * b + g`` afterwards; the step is ``param - lr * b``, or with
    Nesterov's look-ahead ``param - lr * (g + momentum * b)`` (the form of Sutskever et al.,
    "On the importance of initialization and momentum in deep learning", ICML 2013).

    Args:
        param, grad: floating-point tensors of the same shape (any dtype; the result has it).
        state: ``{}`` before the first step, then the dict this function returned
            (``{"buf": tensor}``).
        lr: learning rate > 0; momentum: in [0, 1) (> 0 for ``nesterov``);
        weight_decay: >= 0, an L2 term added to the gradient.

    Returns:
        ``(new_param, new_state)``; the inputs are not modified.

    Raises:
        TypeError: for a non-tensor or integer ``param``/``grad`` or a state that is no dict.
        ValueError: for mismatched shapes, a hyper-parameter out of range, or ``nesterov``
            with ``momentum == 0`` (torch refuses that too).
    """
    what = "sgd_momentum_step"
    _check_tensors(param, grad, state, what)
    lr = _check_number(what, "lr", lr, 0.0, low_open=True)
    momentum = _check_number(what, "momentum", momentum, 0.0, 1.0)
    if nesterov and momentum == 0:
        raise ValueError(f"{what}: nesterov=True needs momentum > 0, got momentum=0")
    weight_decay = _check_number(what, "weight_decay", weight_decay, 0.0)
    # the update rule
    g = grad + weight_decay * param
    buf = g if "buf" not in state else momentum * state["buf"] + g
    direction = g + momentum * buf if nesterov else buf
    return param - lr * direction, {"buf": buf}


def adam_step(param: torch.Tensor, grad: torch.Tensor, state: State, lr: float = 1e-3,
              betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
              weight_decay: float = 0.0) -> Tuple[torch.Tensor, State]:
    """One Adam step with bias correction (Kingma & Ba, "Adam: A method for stochastic
    optimization", ICLR 2015), as ``torch.optim.Adam`` computes it.

    ``m`` and ``v`` are running means of ``g`` and ``g**2`` that start at 0; dividing by
    ``1 - beta**t`` removes their bias towards 0 in the first steps. The step is
    ``lr * m_hat / (sqrt(v_hat) + eps)``: about ``lr`` per element on the first step, whatever
    the gradient's scale. ``weight_decay`` adds ``weight_decay * param`` to the gradient (L2),
    so it is rescaled like the gradient; see :func:`adamw_step` for the decoupled form.

    Args:
        param, grad: floating-point tensors of the same shape.
        state: ``{}`` before the first step, then the returned dict
            (``{"t": int, "m": tensor, "v": tensor}``).
        lr: > 0; betas: two numbers in [0, 1); eps: > 0; weight_decay: >= 0.

    Returns:
        ``(new_param, new_state)``; the inputs are not modified.

    Raises:
        TypeError, ValueError: as :func:`sgd_momentum_step`, and for ``betas`` that is not a
            pair.
    """
    what = "adam_step"
    _check_tensors(param, grad, state, what)
    lr = _check_number(what, "lr", lr, 0.0, low_open=True)
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"{what}: betas must be a pair (beta1, beta2), got {betas!r}")
    b1 = _check_number(what, "betas[0]", betas[0], 0.0, 1.0)
    b2 = _check_number(what, "betas[1]", betas[1], 0.0, 1.0)
    eps = _check_number(what, "eps", eps, 0.0, low_open=True)
    weight_decay = _check_number(what, "weight_decay", weight_decay, 0.0)
    # the update rule
    t = state.get("t", 0) + 1
    g = grad + weight_decay * param
    m = b1 * state.get("m", torch.zeros_like(param)) + (1 - b1) * g
    v = b2 * state.get("v", torch.zeros_like(param)) + (1 - b2) * g * g
    m_hat = m / (1 - b1 ** t)
    v_hat = v / (1 - b2 ** t)
    return param - lr * m_hat / (v_hat.sqrt() + eps), {"t": t, "m": m, "v": v}


def adamw_step(param: torch.Tensor, grad: torch.Tensor, state: State, lr: float = 1e-3,
               betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
               weight_decay: float = 1e-2) -> Tuple[torch.Tensor, State]:
    """One AdamW step: an Adam step on the plain gradient, then ``param`` shrinks by
    ``lr * weight_decay * param`` (decoupled weight decay; Loshchilov & Hutter, "Decoupled
    weight decay regularization", ICLR 2019), as ``torch.optim.AdamW`` computes it.

    Unlike Adam's L2 term, the decay is not divided by ``sqrt(v_hat)``: every weight shrinks by
    the same factor ``1 - lr * weight_decay``, however large its gradients are.

    Args, returns and errors as :func:`adam_step` (``weight_decay`` defaults to 0.01, torch's
    default for AdamW).
    """
    what = "adamw_step"
    _check_tensors(param, grad, state, what)
    weight_decay = _check_number(what, "weight_decay", weight_decay, 0.0)
    # the update rule: Adam without weight decay, then the decay on its own
    stepped, state = adam_step(param, grad, state, lr, betas, eps)
    return stepped - lr * weight_decay * param, state
