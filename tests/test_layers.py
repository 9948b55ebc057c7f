"""Hand-written convolution and max pooling against torch: values, gradients, init, errors."""
import itertools

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from book_utils.layers import Conv2dIm2col, Conv2dLoop, MaxPool2dLoop, MaxPool2dWindows

CONVS = [Conv2dLoop, Conv2dIm2col]
POOLS = [MaxPool2dLoop, MaxPool2dWindows]

# (in_channels, out_channels, kernel, stride, padding, H, W): odd/even, non-square, stride > kernel
CONV_CASES = [
    (1, 1, 3, 1, 0, 5, 5), (1, 6, 5, 1, 2, 28, 28), (3, 4, 3, 2, 1, 9, 8), (2, 3, 4, 3, 0, 11, 7),
    (3, 2, 1, 1, 0, 4, 6), (2, 5, 3, 2, 2, 6, 10), (4, 2, 2, 4, 1, 7, 7), (2, 2, 7, 1, 3, 7, 7),
]


@pytest.mark.parametrize("cls", CONVS)
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_matches_torch_values_and_gradients(cls, case):
    cin, cout, k, s, p, h, w = case
    torch.manual_seed(0)
    mine = cls(cin, cout, k, stride=s, padding=p).double()
    ref = nn.Conv2d(cin, cout, k, stride=s, padding=p).double()
    ref.load_state_dict(mine.state_dict())
    x = torch.randn(2, cin, h, w, dtype=torch.float64, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_(True)
    out, out_ref = mine(x), ref(x_ref)
    assert out.shape == out_ref.shape == (2, cout, (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1)
    torch.testing.assert_close(out, out_ref)
    g = torch.randn_like(out)
    out.backward(g)
    out_ref.backward(g)
    torch.testing.assert_close(x.grad, x_ref.grad)
    torch.testing.assert_close(mine.weight.grad, ref.weight.grad)
    torch.testing.assert_close(mine.bias.grad, ref.bias.grad)


@pytest.mark.parametrize("cls", CONVS)
def test_conv_without_bias(cls):
    mine = cls(2, 3, 3, bias=False)
    assert mine.bias is None and len(list(mine.parameters())) == 1
    x = torch.randn(1, 2, 5, 5)
    torch.testing.assert_close(mine(x), F.conv2d(x, mine.weight))


@pytest.mark.parametrize("cls", CONVS)
def test_weights_are_parameters_with_conv2d_init(cls):
    torch.manual_seed(3)
    mine = cls(3, 8, 5)
    torch.manual_seed(3)
    ref = nn.Conv2d(3, 8, 5)
    names = [n for n, _ in mine.named_parameters()]
    assert names == ["weight", "bias"]
    assert torch.equal(mine.weight, ref.weight) and torch.equal(mine.bias, ref.bias)
    # the source's randn init has std 1; nn.Conv2d's is far smaller (bound 1/sqrt(fan_in))
    assert mine.weight.abs().max() <= 1 / (3 * 25) ** 0.5 + 1e-6


def test_conv_weights_are_trained_by_an_optimizer():
    torch.manual_seed(0)
    conv = Conv2dIm2col(1, 2, 3)
    before = conv.weight.detach().clone()
    opt = torch.optim.SGD(conv.parameters(), lr=0.1)
    conv(torch.randn(4, 1, 6, 6)).pow(2).mean().backward()
    opt.step()
    assert not torch.equal(before, conv.weight)


POOL_CASES = [(2, 2, 0, 8, 8), (2, None, 0, 7, 9), (3, 2, 1, 9, 8), (3, 1, 1, 5, 5), (4, 3, 2, 10, 6), (5, 5, 0, 5, 11)]


@pytest.mark.parametrize("cls", POOLS)
@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pool_matches_torch(cls, case):
    k, s, p, h, w = case
    torch.manual_seed(1)
    x = torch.randn(2, 3, h, w, dtype=torch.float64, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_(True)
    out = cls(k, s, p)(x)
    out_ref = F.max_pool2d(x_ref, k, s, p)
    torch.testing.assert_close(out, out_ref)
    g = torch.randn_like(out)
    out.backward(g)
    out_ref.backward(g)
    torch.testing.assert_close(x.grad, x_ref.grad)


@pytest.mark.parametrize("cls", POOLS)
def test_max_pool_all_negative_input_with_padding(cls):
    # zero padding would wrongly return 0 at the borders; -inf padding keeps the true maximum
    x = -1 - torch.rand(1, 2, 5, 5)
    out = cls(3, 2, 1)(x)
    assert (out < 0).all()
    torch.testing.assert_close(out, F.max_pool2d(x, 3, 2, 1))


@pytest.mark.parametrize("cls", POOLS)
def test_max_pool_has_no_parameters_and_default_stride(cls):
    pool = cls(2)
    assert list(pool.parameters()) == [] and pool.stride == 2


@pytest.mark.parametrize("cls", CONVS)
def test_conv_bad_input_errors(cls):
    with pytest.raises(ValueError, match="kernel_size must be >= 1, got 0"):
        cls(1, 1, 0)
    with pytest.raises(ValueError, match="stride must be >= 1, got 0"):
        cls(1, 1, 3, stride=0)
    with pytest.raises(ValueError, match="padding must be >= 0, got -1"):
        cls(1, 1, 3, padding=-1)
    with pytest.raises(ValueError, match="in_channels"):
        cls(0, 1, 3)
    with pytest.raises(TypeError, match="kernel_size must be an integer, got float 2.5"):
        cls(1, 1, 2.5)
    conv = cls(3, 2, 5)
    with pytest.raises(ValueError, match="4-D batch"):
        conv(torch.zeros(3, 8, 8))
    with pytest.raises(ValueError, match="built for 3 input channels, got 1"):
        conv(torch.zeros(1, 1, 8, 8))
    with pytest.raises(ValueError, match="larger than the padded input"):
        conv(torch.zeros(1, 3, 4, 8))
    with pytest.raises(TypeError, match="torch.Tensor"):
        conv([[1.0]])


@pytest.mark.parametrize("cls", POOLS)
def test_pool_bad_input_errors(cls):
    with pytest.raises(ValueError, match="kernel_size"):
        cls(0)
    with pytest.raises(ValueError, match="stride"):
        cls(2, stride=-1)
    with pytest.raises(ValueError, match="at most half"):
        cls(2, padding=2)
    with pytest.raises(ValueError, match="4-D batch"):
        cls(2)(torch.zeros(4, 4))
    with pytest.raises(ValueError, match="larger than the padded input"):
        cls(5)(torch.zeros(1, 1, 3, 3))


@pytest.mark.parametrize("cls", CONVS)
def test_conv_rejects_integer_and_mismatched_dtypes(cls):
    conv = cls(1, 2, 3)
    with pytest.raises(ValueError, match="floating-point batch, got dtype torch.uint8"):
        conv(torch.zeros(1, 1, 5, 5, dtype=torch.uint8))
    with pytest.raises(ValueError, match="float32 weights but got a torch.float64 input"):
        conv(torch.zeros(1, 1, 5, 5, dtype=torch.float64))
    with pytest.raises(ValueError, match="floating-point"):
        MaxPool2dWindows(2)(torch.zeros(1, 1, 4, 4, dtype=torch.int64))
