"""Tests for book_utils.kernels: the registry of classic 2D kernels."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from book_utils import kernels, ops


def test_registry_names_and_shapes():
    assert kernels.names() == ("mean3", "mean5", "gaussian3", "gaussian5", "sharpen",
                               "sobel_x", "sobel_y")
    sizes = {name: kernels.get(name).shape for name in kernels.names()}
    assert sizes == {"mean3": (3, 3), "mean5": (5, 5), "gaussian3": (3, 3),
                     "gaussian5": (5, 5), "sharpen": (3, 3), "sobel_x": (3, 3),
                     "sobel_y": (3, 3)}
    for name in kernels.names():
        rec = kernels.describe(name)
        assert rec.name == name and rec.title and rec.description
        assert rec.size == sizes[name][0]


def test_exact_weights():
    np.testing.assert_allclose(kernels.get("mean3"), np.full((3, 3), 1 / 9))
    np.testing.assert_allclose(kernels.get("mean5"), np.full((5, 5), 1 / 25))
    np.testing.assert_allclose(kernels.get("gaussian3") * 16, [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    g5 = kernels.get("gaussian5") * 256
    np.testing.assert_allclose(g5, np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]))
    np.testing.assert_allclose(kernels.get("sharpen"), [[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
    np.testing.assert_allclose(kernels.get("sobel_x"), [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    np.testing.assert_allclose(kernels.get("sobel_y"), kernels.get("sobel_x").T)


def test_sums_and_symmetry():
    for name in ("mean3", "mean5", "gaussian3", "gaussian5", "sharpen"):
        assert kernels.get(name).sum() == pytest.approx(1.0)
    for name in ("sobel_x", "sobel_y"):
        assert kernels.get(name).sum() == 0
    for name in ("gaussian3", "gaussian5", "mean5", "sharpen"):
        w = kernels.get(name)
        np.testing.assert_allclose(w, w.T)
        np.testing.assert_allclose(w, w[::-1, ::-1])


def test_effects_on_simple_images():
    flat = np.full((7, 7), 0.3)
    for name in ("mean3", "mean5", "gaussian3", "gaussian5", "sharpen"):
        np.testing.assert_allclose(ops.conv2d(flat, kernels.get(name)), 0.3)
    for name in ("sobel_x", "sobel_y"):
        np.testing.assert_allclose(ops.conv2d(flat, kernels.get(name)), 0.0, atol=1e-15)
    # Dark left half, bright right half: a vertical edge.
    step = np.zeros((6, 6))
    step[:, 3:] = 1.0
    gx = ops.conv2d(step, kernels.get("sobel_x"))
    gy = ops.conv2d(step, kernels.get("sobel_y"))
    assert gx.max() == 4 and gx.min() == 0 and np.all(gy == 0)
    assert np.all(gx[:, 1:3] == 4)       # the windows that straddle the edge
    # The same weights in torch (cross-correlation) give the same response.
    ref = F.conv2d(torch.tensor(step)[None, None],
                   torch.tensor(kernels.get("sobel_x"))[None, None])[0, 0].numpy()
    np.testing.assert_allclose(gx, ref)


def test_get_returns_a_copy_and_registry_is_read_only():
    w = kernels.get("sharpen")
    w[1, 1] = 100
    assert kernels.get("sharpen")[1, 1] == 5
    with pytest.raises(ValueError):
        kernels.describe("sharpen").weights[0, 0] = 1.0


def test_helpers():
    assert kernels.binomial(1).tolist() == [1]
    assert kernels.binomial(5).tolist() == [1, 4, 6, 4, 1]
    np.testing.assert_allclose(kernels.mean_kernel(2), np.full((2, 2), 0.25))
    np.testing.assert_allclose(kernels.gaussian_kernel(3), kernels.get("gaussian3"))
    assert kernels.to_latex(kernels.get("gaussian3")) == (
        "\\begin{bmatrix}\\frac{1}{16} & \\frac{1}{8} & \\frac{1}{16} \\\\ "
        "\\frac{1}{8} & \\frac{1}{4} & \\frac{1}{8} \\\\ "
        "\\frac{1}{16} & \\frac{1}{8} & \\frac{1}{16}\\end{bmatrix}")
    assert kernels.to_latex([[0, -1], [-0.5, 0.123456]]) == \
        "\\begin{bmatrix}0 & -1 \\\\ -\\frac{1}{2} & 0.1235\\end{bmatrix}"


@pytest.mark.parametrize("call, error, match", [
    (lambda: kernels.get("blur"), ValueError, "unknown kernel 'blur'; known kernels: mean3"),
    (lambda: kernels.describe("Sobel_X"), ValueError, "unknown kernel"),
    (lambda: kernels.get(3), TypeError, "must be a string"),
    (lambda: kernels.binomial(0), ValueError, "positive integer"),
    (lambda: kernels.mean_kernel(2.5), ValueError, "positive integer"),
    (lambda: kernels.gaussian_kernel(True), ValueError, "positive integer"),
    (lambda: kernels.to_latex(np.ones(3)), ValueError, "2D kernel"),
])
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
