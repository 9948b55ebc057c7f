"""im2col / col2im in NumPy against F.unfold / F.fold, autograd and conv_transpose2d."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from book_utils import backprop as bp

CONFIGS = [  # (C_in, C_out, H, W, k, s, p)
    (1, 1, 4, 4, 3, 1, 0), (3, 4, 7, 7, 3, 2, 1), (2, 3, 8, 9, 3, 2, 0),
    (2, 2, 9, 7, 5, 3, 2), (3, 2, 6, 6, 1, 2, 0), (2, 3, 10, 8, (3, 2), (2, 1), (1, 0)),
]


def _setup(c_in, c_out, h, w, k, seed=0):
    g = np.random.default_rng(seed)
    kh, kw = (k, k) if isinstance(k, int) else k
    return g, g.standard_normal((2, c_in, h, w)), g.standard_normal((c_out, c_in, kh, kw))


@pytest.mark.parametrize("c_in, c_out, h, w, k, s, p", CONFIGS)
def test_im2col_and_col2im_equal_unfold_and_fold(c_in, c_out, h, w, k, s, p):
    g, x, _ = _setup(c_in, c_out, h, w, k)
    cols = bp.im2col(x, k, s, p)
    ref = F.unfold(torch.from_numpy(x), k, padding=p, stride=s).numpy()
    assert cols.shape == ref.shape
    assert np.array_equal(cols, ref)
    back = bp.col2im(cols, x.shape, k, s, p)
    ref_back = F.fold(torch.from_numpy(cols), (h, w), k, padding=p, stride=s).numpy()
    np.testing.assert_allclose(back, ref_back, rtol=0, atol=1e-12)


@pytest.mark.parametrize("c_in, c_out, h, w, k, s, p", CONFIGS)
def test_matrix_view_gives_forward_and_input_gradient(c_in, c_out, h, w, k, s, p):
    g, x, wt = _setup(c_in, c_out, h, w, k)
    cols = bp.im2col(x, k, s, p)
    w_mat = wt.reshape(c_out, -1)
    x_t = torch.tensor(x, requires_grad=True)
    z_t = F.conv2d(x_t, torch.from_numpy(wt), stride=s, padding=p)
    z = (w_mat @ cols).reshape(z_t.shape)
    np.testing.assert_allclose(z, z_t.detach().numpy(), rtol=0, atol=1e-12)
    dz = g.standard_normal(tuple(z_t.shape))
    z_t.backward(torch.from_numpy(dz))
    dx = bp.col2im(w_mat.T @ dz.reshape(2, c_out, -1), x.shape, k, s, p)
    np.testing.assert_allclose(dx, x_t.grad.numpy(), rtol=0, atol=1e-12)
    dw = sum(dz.reshape(2, c_out, -1)[n] @ cols[n].T for n in range(2))
    np.testing.assert_allclose(dw.reshape(wt.shape), bp.conv2d_weight_grad(dz, x, wt.shape[2:], s, p),
                               rtol=0, atol=1e-12)
    # the same input gradient is a transposed convolution of dz with the same kernels
    sh, sw = (s, s) if isinstance(s, int) else s
    extra = [(h + 2 * pp - kk) % ss for pp, kk, ss in
             zip((p, p) if isinstance(p, int) else p,
                 (k, k) if isinstance(k, int) else k, (sh, sw))]
    ct = F.conv_transpose2d(torch.from_numpy(dz), torch.from_numpy(wt), stride=s, padding=p,
                            output_padding=tuple(min(e, st - 1) for e, st in zip(extra, (sh, sw))))
    np.testing.assert_allclose(dx, ct.numpy()[..., :h, :w], rtol=0, atol=1e-12)


def test_col2im_is_the_adjoint_of_im2col():
    g = np.random.default_rng(3)
    x = g.standard_normal((2, 3, 7, 8))
    cols = g.standard_normal(bp.im2col(x, 3, 2, 1).shape)
    lhs = np.sum(bp.im2col(x, 3, 2, 1) * cols)
    rhs = np.sum(x * bp.col2im(cols, x.shape, 3, 2, 1))
    assert abs(lhs - rhs) < 1e-10


def test_col2im_of_ones_counts_the_windows_over_each_pixel():
    counts = bp.col2im(np.ones((1, 9, 4)), (1, 1, 4, 4), 3)[0, 0]
    assert counts[0, 0] == 1 and counts[1, 1] == 4 and counts.sum() == 36
    # stride 2 on 6 rows: the last row and column are in no window
    counts = bp.col2im(np.ones((1, 9, 4)), (1, 1, 6, 6), 3, stride=2)[0, 0]
    assert not counts[-1].any() and not counts[:, -1].any() and counts[2, 2] == 4


def test_bad_input_gives_clear_errors():
    with pytest.raises(TypeError, match="numpy"):
        bp.im2col(torch.zeros(1, 1, 4, 4), 3)
    with pytest.raises(ValueError, match="larger than the padded input"):
        bp.im2col(np.zeros((1, 1, 2, 2)), 3)
    with pytest.raises(ValueError, match="cols has shape"):
        bp.col2im(np.zeros((1, 9, 5)), (1, 1, 4, 4), 3)
    with pytest.raises(ValueError, match="input_shape"):
        bp.col2im(np.zeros((1, 9, 4)), (4, 4), 3)
