"""Hand-written batch normalization against nn.BatchNorm2d in training and evaluation mode."""
import pytest
import torch
from torch import nn

from book_utils.batchnorm import batch_norm_eval, batch_norm_train


def _layer(channels=3, momentum=0.1):
    torch.manual_seed(0)
    bn = nn.BatchNorm2d(channels, momentum=momentum).double()
    with torch.no_grad():
        bn.weight.uniform_(0.5, 2.0)
        bn.bias.uniform_(-1.0, 1.0)
    return bn


@pytest.mark.parametrize("momentum", [0.1, 0.5, 1.0])
def test_training_mode_matches_batchnorm2d_over_several_batches(momentum):
    bn = _layer(momentum=momentum).train()
    mean, var = bn.running_mean.clone(), bn.running_var.clone()
    g = torch.Generator().manual_seed(1)
    for step in range(4):
        x = 3 + 2 * torch.randn(5, 3, 4, 6, generator=g, dtype=torch.float64)
        y, mean, var = batch_norm_train(x, bn.weight, bn.bias, mean, var, momentum, bn.eps)
        torch.testing.assert_close(y, bn(x), rtol=0, atol=1e-12)
        torch.testing.assert_close(mean, bn.running_mean, rtol=0, atol=1e-12)
        torch.testing.assert_close(var, bn.running_var, rtol=0, atol=1e-12)
    # the running statistics have moved from (0, 1) towards the data's (3, 4)
    assert (mean > 1).all() and (var > 1.5).all()


def test_training_output_has_zero_mean_unit_variance_before_gamma_and_beta():
    x = 5 + 3 * torch.randn(8, 2, 5, 5, dtype=torch.float64)
    ones, zeros = torch.ones(2, dtype=torch.float64), torch.zeros(2, dtype=torch.float64)
    y, _, _ = batch_norm_train(x, ones, zeros, zeros, ones)
    torch.testing.assert_close(y.mean(dim=(0, 2, 3)), zeros, rtol=0, atol=1e-12)
    torch.testing.assert_close(y.var(dim=(0, 2, 3), unbiased=False), ones, rtol=0, atol=1e-4)


def test_eval_mode_matches_batchnorm2d_and_ignores_the_batch():
    bn = _layer().train()
    g = torch.Generator().manual_seed(2)
    for _ in range(3):
        bn(torch.randn(6, 3, 4, 4, generator=g, dtype=torch.float64) * 2 + 1)
    bn.eval()
    x = torch.randn(4, 3, 5, 5, generator=g, dtype=torch.float64)
    y = batch_norm_eval(x, bn.weight, bn.bias, bn.running_mean, bn.running_var, bn.eps)
    torch.testing.assert_close(y, bn(x), rtol=0, atol=1e-12)
    # one image alone gives the same output as inside the batch
    alone = batch_norm_eval(x[:1], bn.weight, bn.bias, bn.running_mean, bn.running_var)
    torch.testing.assert_close(alone, y[:1], rtol=0, atol=1e-12)


def test_bad_input_gives_clear_errors():
    c = torch.ones(3)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        batch_norm_eval(torch.ones(3, 4), c, c, c, c)
    with pytest.raises(ValueError, match=r"gamma must be a tensor of shape \(3,\)"):
        batch_norm_eval(torch.ones(1, 3, 2, 2), torch.ones(4), c, c, c)
    with pytest.raises(ValueError, match="at least 2 values per channel"):
        batch_norm_train(torch.ones(1, 3, 1, 1), c, c, c, c)
    with pytest.raises(ValueError, match="momentum"):
        batch_norm_train(torch.ones(2, 3, 2, 2), c, c, c, c, momentum=0)
    with pytest.raises(ValueError, match="eps"):
        batch_norm_eval(torch.ones(2, 3, 2, 2), c, c, c, c, eps=0)
