"""Gradient checks for book_utils.backprop: NumPy forward/backward vs torch.autograd and finite
differences. Each family of checks also runs a deliberately wrong variant to prove it can fail."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.autograd import gradcheck

from book_utils import backprop as bp

TOL = 1e-10  # float64 throughout


def _t(a, grad=True):
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


# (N, C_in, C_out, H, W, kernel, stride, padding); several rows have (d + 2p - f) % s != 0,
# so the floor in the output size drops input rows/columns.
CONV_CASES = [
    (2, 1, 1, 6, 6, 3, 1, 0),
    (2, 3, 4, 7, 8, 3, 1, 1),
    (2, 3, 4, 7, 8, 3, 2, 1),
    (1, 2, 3, 9, 6, (2, 3), (3, 2), (1, 2)),
    (3, 2, 2, 8, 8, 4, 3, 2),
    (1, 4, 2, 5, 5, 5, 1, 0),
    (2, 2, 5, 10, 7, 1, 2, 0),
]


def _conv_case(case, seed=0):
    n, ci, co, h, w, k, s, p = case
    kh, kw = (k, k) if isinstance(k, int) else k
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, ci, h, w))
    wt = rng.standard_normal((co, ci, kh, kw))
    b = rng.standard_normal(co)
    return x, wt, b, s, p, rng


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_forward_and_backward_match_autograd(case):
    x, w, b, s, p, rng = _conv_case(case)
    xt, wt, bt = _t(x), _t(w), _t(b)
    zt = F.conv2d(xt, wt, bt, stride=s, padding=p)
    z = bp.conv2d_forward(x, w, b, stride=s, padding=p)
    assert z.shape == tuple(zt.shape)
    assert bp.max_abs_error(z, zt) < TOL
    g = rng.standard_normal(z.shape)
    zt.backward(torch.from_numpy(g))
    dx, dw, db = bp.conv2d_backward(g, x, w, stride=s, padding=p)
    assert bp.max_abs_error(dx, xt.grad) < TOL
    assert bp.max_abs_error(dw, wt.grad) < TOL
    assert bp.max_abs_error(db, bt.grad) < TOL


@pytest.mark.parametrize("case", CONV_CASES[1:5])
def test_unrotated_kernel_is_caught(case):
    """The same comparison rejects dL/dX computed with the kernel NOT rotated by 180 degrees."""
    x, w, b, s, p, rng = _conv_case(case, seed=1)
    xt = _t(x)
    zt = F.conv2d(xt, _t(w, False), _t(b, False), stride=s, padding=p)
    g = rng.standard_normal(tuple(zt.shape))
    zt.backward(torch.from_numpy(g))
    right = bp.conv2d_input_grad(g, w, x.shape, s, p)
    wrong = bp.conv2d_input_grad(g, w, x.shape, s, p, rotate=False)
    assert bp.max_abs_error(right, xt.grad) < TOL
    assert bp.max_abs_error(wrong, xt.grad) > 1e-2


def test_rot180_and_dilate2d_small_examples():
    w = np.arange(6.0).reshape(1, 1, 2, 3)
    assert bp.rot180(w)[0, 0].tolist() == [[5, 4, 3], [2, 1, 0]]
    g = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    assert bp.dilate2d(g, 2)[0, 0].tolist() == [[1, 0, 2], [0, 0, 0], [3, 0, 4]]
    assert bp.dilate2d(g, 1).tolist() == g.tolist()


def test_activation_in_the_chain_needs_the_sigma_prime_factor():
    """conv -> sigmoid -> conv -> sum of squares: dL/dZ1 = sigma'(Z1) * dL/dA1."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 2, 7, 7))
    w1, b1 = rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)
    w2, b2 = rng.standard_normal((2, 3, 2, 2)), rng.standard_normal(2)
    xt, w1t = _t(x), _t(w1)
    z2t = F.conv2d(torch.sigmoid(F.conv2d(xt, w1t, _t(b1, False), padding=1)),
                   _t(w2, False), _t(b2, False), stride=2)
    (0.5 * (z2t ** 2).sum()).backward()

    z1 = bp.conv2d_forward(x, w1, b1, padding=1)
    a1 = bp.sigmoid(z1)
    z2 = bp.conv2d_forward(a1, w2, b2, stride=2)
    da1, _, _ = bp.conv2d_backward(z2, a1, w2, stride=2)      # dL/dZ2 = Z2 for 0.5*sum(Z2^2)
    for with_sigma_prime, ok in [(True, True), (False, False)]:
        dz1 = bp.sigmoid_backward(da1, z1) if with_sigma_prime else da1
        dx, dw1, _ = bp.conv2d_backward(dz1, x, w1, padding=1)
        err = max(bp.max_abs_error(dx, xt.grad), bp.max_abs_error(dw1, w1t.grad))
        assert (err < TOL) == ok, (with_sigma_prime, err)


def test_relu_backward_uses_zero_at_zero_like_torch():
    z = np.array([-1.0, 0.0, 2.0])
    zt = _t(z)
    torch.relu(zt).sum().backward()
    assert bp.relu_backward(np.ones(3), z).tolist() == zt.grad.tolist() == [0.0, 0.0, 1.0]


POOL_CASES = [(2, None), (3, 2), (2, 1), (3, None), ((2, 3), (1, 2))]


@pytest.mark.parametrize("kernel,stride", POOL_CASES)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling_matches_autograd(kind, kernel, stride):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 7, 8))
    xt = _t(x)
    torch_op = F.max_pool2d if kind == "max" else F.avg_pool2d
    fwd = bp.max_pool2d_forward if kind == "max" else bp.avg_pool2d_forward
    bwd = bp.max_pool2d_backward if kind == "max" else bp.avg_pool2d_backward
    zt = torch_op(xt, kernel, stride)
    z = fwd(x, kernel, stride)
    assert bp.max_abs_error(z, zt) < TOL
    g = rng.standard_normal(z.shape)
    zt.backward(torch.from_numpy(g))
    assert bp.max_abs_error(bwd(g, x, kernel, stride), xt.grad) < TOL


def test_avg_pool_spreads_evenly_and_max_pool_routes_to_argmax():
    x = np.array([[[[1.0, 5.0], [2.0, 3.0]]]])
    g = np.array([[[[8.0]]]])
    assert bp.avg_pool2d_backward(g, x, 2)[0, 0].tolist() == [[2, 2], [2, 2]]
    assert bp.max_pool2d_backward(g, x, 2)[0, 0].tolist() == [[0, 8], [0, 0]]


def _tied_input():
    # Plateaus of equal values, so many windows contain several equal maxima.
    base = np.array([[1, 1, 0, 2, 2, 2],
                     [1, 1, 0, 2, 2, 2],
                     [0, 0, 0, 2, 2, 2],
                     [3, 3, 3, 3, 0, 0],
                     [3, 3, 3, 3, 0, 0],
                     [1, 0, 1, 0, 1, 0]], dtype=np.float64)
    return np.stack([base, base.T])[None]


@pytest.mark.parametrize("kernel,stride", [(2, None), (3, 1), (2, 1), (3, None)])
def test_max_pool_tie_rule_matches_torch(kernel, stride):
    x = _tied_input()
    xt = _t(x)
    zt = F.max_pool2d(xt, kernel, stride)
    g = np.random.default_rng(5).standard_normal(tuple(zt.shape))
    zt.backward(torch.from_numpy(g))
    assert bp.max_abs_error(bp.max_pool2d_backward(g, x, kernel, stride), xt.grad) < TOL
    # Teeth: routing ties to the LAST maximum (another sensible rule) disagrees with torch.
    windows = np.lib.stride_tricks.sliding_window_view(x, (kernel, kernel), axis=(2, 3))
    s = kernel if stride is None else stride
    flat = windows[:, :, ::s, ::s].reshape(zt.shape + (-1,))
    last = flat.shape[-1] - 1 - np.argmax(flat[..., ::-1], axis=-1)
    assert (last != bp.max_pool2d_argmax(x, kernel, stride)).any()
    _, idx = F.max_pool2d(torch.from_numpy(x), kernel, stride, return_indices=True)
    # torch's indices are flat positions in the H*W plane; convert ours to the same.
    a = bp.max_pool2d_argmax(x, kernel, stride)
    oh, ow = a.shape[2:]
    rows = np.arange(oh)[:, None] * s + a // kernel
    cols = np.arange(ow)[None, :] * s + a % kernel
    assert np.array_equal(rows * x.shape[3] + cols, idx.numpy())


def test_max_pool_nan_rule_matches_torch():
    x = _tied_input()
    x[0, 0, 0, 0] = np.nan
    x[0, 0, 1, 1] = np.nan
    xt = _t(x)
    zt = F.max_pool2d(xt, 2)
    zt.backward(torch.ones_like(zt))
    z = bp.max_pool2d_forward(x, 2)
    assert np.isnan(z[0, 0, 0, 0]) and np.array_equal(np.isnan(z), torch.isnan(zt).numpy())
    assert bp.max_abs_error(bp.max_pool2d_backward(np.ones(z.shape), x, 2), xt.grad) == 0.0


def test_torch_ops_pass_gradcheck_in_float64():
    torch.manual_seed(0)
    x = torch.randn(1, 2, 5, 6, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 2, 3, 2, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1), (x, w, b))
    assert gradcheck(lambda x: F.max_pool2d(x, 2), (x,))
    assert gradcheck(lambda x: F.avg_pool2d(x, 3, 2), (x,))


def test_numpy_backward_passes_gradcheck_and_wrong_one_fails():
    torch.manual_seed(1)
    x = torch.randn(2, 2, 5, 6, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 2, 3, 2, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda x, w, b: bp.Conv2dNumpyFunction.apply(x, w, b, 2, 1), (x, w, b))
    assert gradcheck(lambda x: bp.MaxPool2dNumpyFunction.apply(x, 2, None), (x,))
    assert gradcheck(lambda x: bp.AvgPool2dNumpyFunction.apply(x, 3, 2), (x,))

    unrotated = lambda x, w, b: bp.Conv2dNumpyFunction.apply(x, w, b, 2, 1, False)  # noqa: E731
    assert not gradcheck(unrotated, (x, w, b), raise_exception=False)


def test_one_sgd_step_of_tiny_cnn_matches_pytorch():
    rng = np.random.default_rng(6)
    params = bp.tiny_cnn_init(seed=7)
    x = rng.standard_normal((8, 1, 12, 12))
    y = rng.integers(0, 3, size=8)
    loss, grads = bp.tiny_cnn_loss_and_grads(params, x, y)
    new_params = bp.sgd_step(params, grads, lr=0.5)

    model = bp.tiny_cnn_torch(params)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    loss_t = F.cross_entropy(model(torch.from_numpy(x)), torch.from_numpy(y))
    opt.zero_grad()
    loss_t.backward()
    opt.step()
    assert abs(loss - loss_t.item()) < TOL
    for name, p in model.named_parameters():
        assert bp.max_abs_error(new_params[name], p) < TOL, name
        assert bp.max_abs_error(new_params[name], params[name]) > 1e-6, name  # it did move


def test_softmax_cross_entropy_matches_torch():
    rng = np.random.default_rng(8)
    logits = rng.standard_normal((5, 4)) * 30          # large values: needs the stable form
    labels = np.array([0, 3, 1, 1, 2])
    lt = _t(logits)
    loss_t = F.cross_entropy(lt, torch.from_numpy(labels))
    loss_t.backward()
    loss, grad = bp.softmax_cross_entropy(logits, labels)
    assert abs(loss - loss_t.item()) < TOL
    assert bp.max_abs_error(grad, lt.grad) < TOL


def test_integer_and_float32_inputs_are_computed_in_float64():
    x = np.arange(16, dtype=np.int64).reshape(1, 1, 4, 4)
    w = np.ones((2, 1, 3, 3), dtype=np.float32)
    z = bp.conv2d_forward(x, w)
    assert z.dtype == np.float64 and z[0, 0].tolist() == [[45.0, 54.0], [81.0, 90.0]]
    grads = bp.conv2d_backward(np.ones((1, 2, 2, 2), np.float32), x, w)
    assert all(g.dtype == np.float64 for g in grads)
    assert bp.max_pool2d_backward(np.ones((1, 1, 2, 2)), x, 2).dtype == np.float64


@pytest.mark.parametrize("call,exc,match", [
    (lambda: bp.conv2d_forward(np.ones((3, 5, 5)), np.ones((1, 3, 3, 3))), ValueError, "4 dimensions"),
    (lambda: bp.conv2d_forward(np.ones((1, 2, 5, 5)), np.ones((1, 3, 3, 3))), ValueError, "channels"),
    (lambda: bp.conv2d_forward(np.ones((1, 1, 2, 2)), np.ones((1, 1, 3, 3))), ValueError, "larger than the padded input"),
    (lambda: bp.conv2d_forward(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), stride=0), ValueError, "stride must be >= 1"),
    (lambda: bp.conv2d_forward(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), padding=-1), ValueError, "padding must be >= 0"),
    (lambda: bp.conv2d_forward(np.ones((1, 1, 5, 5)), np.ones((2, 1, 3, 3)), np.ones(3)), ValueError, "b has 3 entries"),
    (lambda: bp.conv2d_forward(np.full((1, 1, 5, 5), "a"), np.ones((1, 1, 3, 3))), TypeError, "must hold numbers"),
    (lambda: bp.conv2d_forward(torch.ones(1, 1, 5, 5), np.ones((1, 1, 3, 3))), TypeError, "torch.Tensor"),
    (lambda: bp.conv2d_forward(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), stride=1.5), TypeError, "stride must be an integer"),
    (lambda: bp.conv2d_backward(np.ones((1, 1, 2, 2)), np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3))), ValueError, "forward output has shape"),
    (lambda: bp.max_pool2d_forward(np.ones((1, 1, 2, 2)), 3), ValueError, "pooling window 3x3 is larger"),
    (lambda: bp.max_pool2d_backward(np.ones((1, 1, 3, 3)), np.ones((1, 1, 4, 4)), 2), ValueError, "forward output has shape"),
    (lambda: bp.avg_pool2d_backward(np.ones((1, 1, 1, 1)), np.ones((1, 1, 4, 4)), 2), ValueError, "forward output has shape"),
    (lambda: bp.softmax_cross_entropy(np.ones((2, 3)), np.array([0, 3])), ValueError, "labels must lie"),
])
def test_bad_input_gives_clear_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
