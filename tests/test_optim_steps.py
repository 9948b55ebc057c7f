"""optim_steps: hand-written SGD-momentum, Nesterov, Adam and AdamW steps against torch.optim."""
import math

import pytest
import torch

from book_utils.optim_steps import adam_step, adamw_step, sgd_momentum_step

TARGET = torch.tensor([1.0, -2.0, 0.5, 3.0, 0.0], dtype=torch.float64)
SCALE = torch.tensor([1.0, 10.0, 0.1, 3.0, 0.5], dtype=torch.float64)


def _loss(p):
    # a quadratic bowl whose curvature differs per element
    return (SCALE * (p - TARGET) ** 2).sum() + p.prod()


def _grad(p):
    p = p.detach().clone().requires_grad_(True)
    _loss(p).backward()
    return p.grad


def _start():
    torch.manual_seed(0)
    return torch.randn(5, dtype=torch.float64)


def _torch_run(opt_class, steps, **hp):
    p = _start().requires_grad_(True)
    opt = opt_class([p], **hp)
    trail = []
    for _ in range(steps):
        opt.zero_grad()
        _loss(p).backward()
        opt.step()
        trail.append(p.detach().clone())
    return trail


def _hand_run(step_fn, steps, **hp):
    p, state, trail = _start(), {}, []
    for _ in range(steps):
        p, state = step_fn(p, _grad(p), state, **hp)
        trail.append(p)
    return trail


@pytest.mark.parametrize("hp", [
    dict(lr=0.01, momentum=0.9),
    dict(lr=0.02, momentum=0.5, nesterov=True),
    dict(lr=0.01, momentum=0.9, nesterov=True, weight_decay=0.1),
    dict(lr=0.05, momentum=0.0),
])
def test_sgd_momentum_matches_torch_at_every_step(hp):
    for ours, ref in zip(_hand_run(sgd_momentum_step, 6, **hp),
                         _torch_run(torch.optim.SGD, 6, **hp)):
        torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("hp", [
    dict(lr=0.1),
    dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6),
    dict(lr=0.1, weight_decay=0.5),
])
def test_adam_matches_torch_at_every_step(hp):
    for ours, ref in zip(_hand_run(adam_step, 6, **hp), _torch_run(torch.optim.Adam, 6, **hp)):
        torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("hp", [dict(lr=0.1), dict(lr=0.1, weight_decay=0.5, betas=(0.5, 0.9))])
def test_adamw_matches_torch_at_every_step(hp):
    for ours, ref in zip(_hand_run(adamw_step, 6, **hp), _torch_run(torch.optim.AdamW, 6, **hp)):
        torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)


def test_momentum_differs_from_plain_sgd_after_the_first_step():
    plain = _hand_run(sgd_momentum_step, 2, lr=0.01, momentum=0.0)
    heavy = _hand_run(sgd_momentum_step, 2, lr=0.01, momentum=0.9)
    nesterov = _hand_run(sgd_momentum_step, 1, lr=0.01, momentum=0.9, nesterov=True)
    torch.testing.assert_close(plain[0], heavy[0])          # buffer starts as the gradient
    assert not torch.allclose(plain[1], heavy[1])
    g = _grad(_start())
    torch.testing.assert_close(nesterov[0], _start() - 0.01 * 1.9 * g)   # g + 0.9 g


def test_first_adam_step_has_size_lr_whatever_the_gradient_scale():
    p = torch.zeros(4, dtype=torch.float64)
    grad = torch.tensor([1e-3, -2.0, 50.0, -1e4], dtype=torch.float64)
    new, state = adam_step(p, grad, {}, lr=0.01)
    torch.testing.assert_close(new, -0.01 * grad.sign(), rtol=1e-4, atol=0)
    assert state["t"] == 1
    # without the bias correction the first step would be (1 - b1) / sqrt(1 - b2) times larger
    m, v = 0.1 * grad, 0.001 * grad ** 2
    assert torch.allclose((m / v.sqrt()).abs(), torch.full_like(grad, 0.1 / math.sqrt(0.001)))


def test_adamw_decay_is_uniform_but_adam_l2_is_rescaled():
    p = torch.tensor([2.0, -3.0], dtype=torch.float64)
    zero = torch.zeros_like(p)
    decoupled, _ = adamw_step(p, zero, {}, lr=0.1, weight_decay=0.01)
    torch.testing.assert_close(decoupled, p * (1 - 0.1 * 0.01))
    coupled, _ = adam_step(p, zero, {}, lr=0.1, weight_decay=0.01)   # step of size lr
    torch.testing.assert_close(coupled, p - 0.1 * p.sign(), rtol=1e-6, atol=0)


def test_inputs_are_not_modified():
    p, g = _start(), torch.ones(5, dtype=torch.float64)
    p0 = p.clone()
    _, state = adam_step(p, g, {})
    m0 = state["m"].clone()
    adamw_step(p, g, state)
    sgd_momentum_step(p, g, {"buf": g}, lr=0.1)
    assert torch.equal(p, p0) and torch.equal(state["m"], m0) and torch.equal(g, torch.ones(5))


@pytest.mark.parametrize("call, match", [
    (lambda: sgd_momentum_step([1.0], torch.ones(1), {}, lr=0.1), "param must be a floating"),
    (lambda: sgd_momentum_step(torch.ones(2), torch.ones(3), {}, lr=0.1), "shape"),
    (lambda: sgd_momentum_step(torch.ones(2), torch.ones(2), None, lr=0.1), "state must be a dict"),
    (lambda: sgd_momentum_step(torch.ones(2), torch.ones(2), {}, lr=0.0), "lr must be"),
    (lambda: sgd_momentum_step(torch.ones(2), torch.ones(2), {}, lr=0.1, momentum=1.0),
     "momentum must be"),
    (lambda: sgd_momentum_step(torch.ones(2), torch.ones(2), {}, lr=0.1, momentum=0,
                               nesterov=True), "nesterov=True needs momentum > 0"),
    (lambda: adam_step(torch.ones(2), torch.ones(2, dtype=torch.int64), {}), "grad must be"),
    (lambda: adam_step(torch.ones(2), torch.ones(2), {"t": 1, "m": torch.ones(3)}),
     r"state\['m'\] does not match"),
    (lambda: adam_step(torch.ones(2), torch.ones(2), {}, betas=0.9), "betas must be a pair"),
    (lambda: adam_step(torch.ones(2), torch.ones(2), {}, betas=(0.9, 1.0)), r"betas\[1\]"),
    (lambda: adam_step(torch.ones(2), torch.ones(2), {}, eps=0), "eps must be"),
    (lambda: adamw_step(torch.ones(2), torch.ones(2), {}, weight_decay=-1), "weight_decay"),
    (lambda: adamw_step(torch.ones(2), torch.ones(2), {}, lr=float("nan")), "lr must be"),
])
def test_bad_input_is_named(call, match):
    with pytest.raises((TypeError, ValueError), match=match):
        call()
