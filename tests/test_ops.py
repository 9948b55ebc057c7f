"""Tests for book_utils.ops: NumPy convolutions and the output-size formula against torch."""
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from book_utils import ops

RNG = np.random.default_rng(0)


def t64(a):
    return torch.tensor(np.asarray(a), dtype=torch.float64)


# ----------------------------------------------------------------------- output_size

SIZES = [(d, f, p, s) for d, f, p, s in itertools.product(range(1, 13), (1, 2, 3, 5),
                                                          (0, 1, 2, 3), (1, 2, 3, 4))
         if f <= d + 2 * p]


def test_output_size_worked_values():
    assert ops.output_size(10, 3) == 8              # the worked 1D example
    assert ops.output_size(10, 3, 1, 1) == 10       # "same" padding
    assert ops.output_size(10, 3, 0, 2) == 4
    assert ops.output_size(5, 3, 1, 2) == 3         # the 2D animation: p=1, s=2
    assert ops.output_size(28, 5, 2, 1) == 28       # LeNet's first conv with padding 2
    assert ops.output_size(227, 11, 0, 4) == 55     # AlexNet's first conv
    assert ops.output_size(224, 7, 3, 2) == 112     # ResNet's stem


@pytest.fixture
def one_thread():
    """Hundreds of tiny convolutions: torch's thread pool only adds overhead here."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_output_size_matches_torch_layers(one_thread):
    checked = 0
    layers = {}
    with torch.no_grad():
        for d, f, p, s in SIZES:
            if (f, p, s) not in layers:          # build each layer once, reuse it for every d
                layers[(f, p, s)] = (nn.Conv1d(1, 1, f, stride=s, padding=p),
                                     nn.Conv2d(1, 1, f, stride=s, padding=p),
                                     nn.MaxPool2d(f, s, p) if 2 * p <= f else None,
                                     nn.AvgPool2d(f, s, p) if 2 * p <= f else None)
            conv1, conv2, maxpool, avgpool = layers[(f, p, s)]
            expected = ops.output_size(d, f, p, s)
            assert conv1(torch.zeros(1, 1, d)).shape[-1] == expected
            x2 = torch.zeros(1, 1, d, d + 1)
            assert conv2(x2).shape[-2:] == (expected, ops.output_size(d + 1, f, p, s))
            if maxpool is not None:                  # torch allows pooling padding <= f / 2
                assert maxpool(x2).shape[-2] == expected
                assert avgpool(x2).shape[-2] == expected
            checked += 1
    assert checked == len(SIZES) > 500


def test_output_size_is_the_number_of_window_positions():
    for d, f, p, s in SIZES:
        starts = [k for k in range(0, d + 2 * p) if k + f <= d + 2 * p and k % s == 0]
        assert ops.output_size(d, f, p, s) == len(starts)


# ----------------------------------------------------------------------- conv1d

@pytest.mark.parametrize("d, f, p, s", SIZES[::7])
def test_conv1d_matches_torch(d, f, p, s):
    x = RNG.normal(size=d)
    w = RNG.normal(size=f)
    got = ops.conv1d(x, w, stride=s, padding=p, bias=0.25)
    ref = F.conv1d(t64(x)[None, None], t64(w)[None, None], t64([0.25]), stride=s, padding=p)
    np.testing.assert_allclose(got, ref[0, 0].numpy(), rtol=1e-12, atol=1e-12)
    assert got.dtype == np.float64


def test_conv1d_worked_example():
    x = [3, 6, 5, 4, 8, 9, 1, 7, 9, 6]
    assert ops.conv1d(x, [-1, 0, 1]).tolist() == [2, -2, 3, 5, -7, -2, 8, -1]


def source_style_length(d, f, p, s):
    """The chapter's source pads the signal, then adds 2p *again* to the padded length."""
    padded = d + 2 * p
    return (padded - f + 2 * p) // s + 1


def test_padding_is_counted_once_not_twice():
    """The source's conv1d pads and then adds 2*padding again; this one must not."""
    x = np.arange(1.0, 11.0)
    w = np.array([-1.0, 0.0, 1.0])
    for p, s in itertools.product((1, 2, 3), (1, 2)):
        got = ops.conv1d(x, w, stride=s, padding=p)
        torch_len = F.conv1d(t64(x)[None, None], t64(w)[None, None], stride=s,
                             padding=p).shape[-1]
        assert len(got) == torch_len == ops.output_size(10, 3, p, s)
        assert len(got) != source_style_length(10, 3, p, s)     # the bug would give more
    # With "same" padding a 3-tap kernel keeps the length: 10 in, 10 out (not 12).
    assert len(ops.conv1d(x, w, padding=1)) == 10
    assert source_style_length(10, 3, 1, 1) == 12
    # The last output looks at the last real sample, not at invented zeros beyond the padding.
    assert ops.conv1d(x, w, padding=1)[-1] == 0 * 1 - x[-2]


# ----------------------------------------------------------------------- conv2d

@pytest.mark.parametrize("h, w, f, p, s", [
    (5, 5, 3, 0, 1), (5, 5, 3, 1, 2), (6, 7, 2, 0, 2), (7, 6, 3, 2, 3), (8, 8, 5, 2, 1),
    (4, 9, 1, 0, 1), (9, 4, 4, 1, 3), (3, 3, 3, 0, 1), (1, 1, 3, 1, 1), (10, 12, 3, (1, 2), (2, 1)),
])
def test_conv2d_single_channel_matches_torch(h, w, f, p, s):
    x = RNG.normal(size=(h, w))
    k = RNG.normal(size=(f, f))
    got = ops.conv2d(x, k, stride=s, padding=p, bias=0.5)
    ref = F.conv2d(t64(x)[None, None], t64(k)[None, None], t64([0.5]), stride=s, padding=p)
    np.testing.assert_allclose(got, ref[0, 0].numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("c, k, f, p, s", [
    (3, 1, 3, 0, 1), (3, 4, 3, 1, 2), (2, 5, 2, 0, 1), (4, 2, 5, 2, 3), (1, 3, 3, 1, 1),
    (3, 2, (2, 3), (0, 1), (1, 2)),
])
def test_conv2d_multi_channel_matches_conv2d_layer(c, k, f, p, s):
    fh, fw = (f, f) if isinstance(f, int) else f
    x = RNG.normal(size=(c, 7, 8))
    layer = nn.Conv2d(c, k, (fh, fw), stride=s, padding=p).double()
    weight = layer.weight.detach().numpy()
    bias = layer.bias.detach().numpy()
    got = ops.conv2d(x, weight, stride=s, padding=p, bias=bias)
    ref = layer(t64(x)[None])[0].detach().numpy()
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)
    # One kernel (C, fh, fw): the sum over channels of single-channel cross-correlations.
    one = ops.conv2d(x, weight[0], stride=s, padding=p)
    per_channel = sum(ops.conv2d(x[i], weight[0, i], stride=s, padding=p) for i in range(c))
    np.testing.assert_allclose(one, per_channel, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(one + bias[0], ref[0], rtol=1e-10, atol=1e-12)


def test_conv2d_is_cross_correlation_not_flipped_convolution():
    x = np.arange(16.0).reshape(4, 4)
    k = np.array([[1.0, 2.0], [3.0, 4.0]])
    z = ops.conv2d(x, k)
    assert z[0, 0] == 0 * 1 + 1 * 2 + 4 * 3 + 5 * 4
    # A textbook convolution flips the kernel: np.convolve does that in 1D.
    v = np.array([1.0, 2.0, 4.0, 8.0])
    np.testing.assert_allclose(np.convolve(v, [1.0, -1.0], "valid"),
                               ops.conv1d(v, [-1.0, 1.0]))


def test_pad():
    assert ops.pad([1, 2], 1).tolist() == [0, 1, 2, 0]
    assert ops.pad(np.ones((1, 2, 2)), (1, 0)).shape == (1, 4, 2)
    assert ops.pad(np.ones((2, 2)), 1, value=-np.inf)[0, 0] == -np.inf


# ----------------------------------------------------------------------- bad input

@pytest.mark.parametrize("args, error, match", [
    ((0, 3, 0, 1), ValueError, r"d \(input size\) must be >= 1"),
    ((5, 0, 0, 1), ValueError, r"f \(kernel size\) must be >= 1"),
    ((5, 3, -1, 1), ValueError, r"p \(padding\) must be >= 0"),
    ((5, 3, 0, 0), ValueError, r"s \(stride\) must be >= 1"),
    ((5, 3, 0, -2), ValueError, r"s \(stride\) must be >= 1"),
    ((2, 5, 1, 1), ValueError, "larger than the padded input"),
    ((5.0, 3, 0, 1), TypeError, "must be an integer"),
    ((5, 3, 0, 1.5), TypeError, "must be an integer"),
    ((5, 3, True, 1), TypeError, "must be an integer"),
])
def test_output_size_bad_input(args, error, match):
    with pytest.raises(error, match=match):
        ops.output_size(*args)


@pytest.mark.parametrize("x, w, kwargs, error, match", [
    (np.ones(5), np.ones(7), {}, ValueError, "larger than the padded input"),
    (np.ones(5), np.ones(3), dict(stride=0), ValueError, "stride"),
    (np.ones(5), np.ones(3), dict(padding=-1), ValueError, "padding"),
    (np.ones(5), np.ones(3), dict(stride=1.0), TypeError, "integer"),
    (np.ones((2, 5)), np.ones(3), {}, ValueError, "must have 1 dimensions"),
    (np.ones(5), np.ones((1, 3)), {}, ValueError, "must have 1 dimensions"),
    (np.ones(0), np.ones(3), {}, ValueError, "empty"),
    (["a", "b", "c"], np.ones(3), {}, TypeError, "numeric"),
])
def test_conv1d_bad_input(x, w, kwargs, error, match):
    with pytest.raises(error, match=match):
        ops.conv1d(x, w, **kwargs)


@pytest.mark.parametrize("x, w, kwargs, error, match", [
    (np.ones((3, 5, 5)), np.ones((2, 3, 3)), {}, ValueError, "channel mismatch"),
    (np.ones((3, 5, 5)), np.ones((4, 2, 3, 3)), {}, ValueError, "channel mismatch"),
    (np.ones((5, 5)), np.ones((2, 3, 3)), {}, ValueError, "unsupported shapes"),
    (np.ones((3, 5, 5)), np.ones((3, 3)), {}, ValueError, "unsupported shapes"),
    (np.ones(5), np.ones((3, 3)), {}, ValueError, "must have 2 or 3 dimensions"),
    (np.ones((1, 1, 5, 5)), np.ones((3, 3)), {}, ValueError, "must have 2 or 3 dimensions"),
    (np.ones((5, 5)), np.ones(3), {}, ValueError, "must have 2 or 3 or 4 dimensions"),
    (np.ones((2, 2)), np.ones((3, 3)), {}, ValueError, "larger than the padded input"),
    (np.ones((5, 2)), np.ones((3, 3)), dict(padding=(1, 0)), ValueError, "larger than"),
    (np.ones((5, 5)), np.ones((3, 3)), dict(stride=(1, 0)), ValueError, r"stride\[1\]"),
    (np.ones((5, 5)), np.ones((3, 3)), dict(stride=(1, 1, 1)), ValueError, "pair"),
    (np.ones((5, 5)), np.ones((3, 3)), dict(padding=-1), ValueError, "padding"),
    (np.ones((3, 5, 5)), np.ones((4, 3, 3, 3)), dict(bias=[1.0, 2.0]), ValueError,
     "one value per kernel"),
])
def test_conv2d_bad_input(x, w, kwargs, error, match):
    with pytest.raises(error, match=match):
        ops.conv2d(x, w, **kwargs)
