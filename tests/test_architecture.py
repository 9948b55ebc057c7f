"""book_utils.architecture: parameter counts vs torch layers, receptive fields vs autograd,
and the output-size calculator widget."""
import pytest
import torch
from torch import nn

from book_utils import architecture as arch
from book_utils import ops


def _numel(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("c_in,c_out,k,bias", [
    (1, 1, 3, True), (1, 1, 5, False), (3, 64, 3, True), (64, 128, 3, True), (3, 96, 11, True),
    (16, 32, (5, 3), True), (7, 2, (1, 4), False),
])
def test_conv2d_param_count_matches_nn_conv2d(c_in, c_out, k, bias):
    assert arch.conv2d_param_count(c_in, c_out, k, bias=bias) == _numel(nn.Conv2d(c_in, c_out, k, bias=bias))


def test_single_kernel_has_f_squared_plus_one():
    assert [arch.conv2d_param_count(1, 1, f) for f in (1, 3, 5, 7)] == [2, 10, 26, 50]


@pytest.mark.parametrize("n_in,n_out,bias", [(784, 128, True), (128, 10, False),
                                             (3 * 224 * 224, 1000, True), (3 * 64 * 64, 64 * 64 * 64, True)])
def test_linear_param_count_matches_nn_linear(n_in, n_out, bias):
    layer = nn.Linear(n_in, n_out, bias=bias, device="meta")   # shapes only, no memory
    assert arch.linear_param_count(n_in, n_out, bias=bias) == _numel(layer)


def _measured_field(net, size=40):
    """Side of the set of input pixels that influence the centre output (autograd)."""
    torch.manual_seed(0)
    x = torch.zeros(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    out = net(x)
    i, j = out.shape[-2] // 2, out.shape[-1] // 2
    out[0, 0, i, j].backward()
    rows, cols = torch.nonzero(x.grad[0, 0], as_tuple=True)
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)


STACKS = [
    [nn.Conv2d(1, 1, 3)],
    [nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3), nn.AvgPool2d(2), nn.Conv2d(1, 1, 3)],
    [nn.Conv2d(1, 2, 5, stride=2, padding=2), nn.Tanh(), nn.Conv2d(2, 1, 3, padding=1)],
    [nn.Conv2d(1, 1, 3, stride=2), nn.AvgPool2d(3, stride=2), nn.Conv2d(1, 1, 2)],
    [nn.Conv2d(1, 1, 7, stride=3), nn.AvgPool2d(2), nn.Conv2d(1, 1, 3)],
]


@pytest.mark.parametrize("layers", STACKS, ids=range(len(STACKS)))
def test_receptive_field_matches_autograd(layers):
    net = nn.Sequential(*layers).double()
    side, _ = arch.receptive_field(net)
    assert _measured_field(net) == (side, side)
    pairs = [(m.kernel_size if isinstance(m.kernel_size, int) else m.kernel_size[0],
              m.stride if isinstance(m.stride, int) else m.stride[0])
             for m in layers if isinstance(m, (nn.Conv2d, nn.AvgPool2d))]
    assert arch.receptive_field(pairs)[0] == side


def test_receptive_field_known_values():
    assert arch.receptive_field([]) == (1, 1)
    assert arch.receptive_field([(3, 1), (3, 1)]) == (5, 1) == arch.receptive_field([(5, 1)])
    assert arch.receptive_field([(2, 2), (2, 2), (2, 2)]) == (8, 8)
    nested = nn.Sequential(nn.Sequential(nn.Conv2d(1, 1, 3), nn.ReLU()), nn.MaxPool2d(2),
                           nn.Sequential(nn.Conv2d(1, 1, 3)))
    assert arch.receptive_field(nested) == (8, 2)


def test_bad_input_gives_clear_errors():
    with pytest.raises(ValueError, match="in_channels must be >= 1"):
        arch.conv2d_param_count(0, 3, 3)
    with pytest.raises(TypeError, match="kernel_size must be an integer"):
        arch.conv2d_param_count(1, 3, 2.5)
    with pytest.raises(ValueError, match="int or a pair"):
        arch.conv2d_param_count(1, 3, (3, 3, 3))
    with pytest.raises(TypeError, match="out_features must be an integer"):
        arch.linear_param_count(10, "5")
    with pytest.raises(TypeError, match=r"\(kernel, stride\) pair"):
        arch.receptive_field([3])
    with pytest.raises(ValueError, match="stride of layer [0-9]+ must be >= 1"):
        arch.receptive_field([(3, 0)])
    with pytest.raises(ValueError, match="dilation"):
        arch.receptive_field(nn.Conv2d(1, 1, 3, dilation=2))


def test_output_size_calculator_updates_and_agrees_with_torch():
    pytest.importorskip("ipywidgets")
    panel = arch.output_size_calculator(d=28, f=5, p=0, s=1)
    assert panel.value() == 24 and "<b>24</b>" in panel.result.value and "agrees" in panel.result.value
    for d, f, p, s in [(7, 3, 1, 2), (227, 11, 0, 4), (224, 11, 0, 4), (6, 5, 0, 2)]:
        panel.d.max = max(panel.d.max, d)
        panel.d.value, panel.f.value, panel.p.value, panel.s.value = d, f, p, s
        assert panel.value() == ops.output_size(d, f, p, s)
        assert "agrees" in panel.result.value and "DISAGREES" not in panel.result.value
    panel.d.value, panel.p.value, panel.f.value = 3, 0, 9
    assert panel.value() is None and "larger than the padded input" in panel.result.value
    assert "floor drops" in arch.output_size_calculator(d=8, f=3, p=0, s=2).result.value


def test_calculator_static_view_matches_formula_and_torch():
    spec = arch.calculator_spec(d=28, f=5, p=0, s=1, max_d=40)
    assert spec["kind"] == "output-size"
    assert spec["sliders"]["d"] == {"min": 1, "max": 40, "value": 28}
    assert spec["sliders"]["f"]["max"] == 11 and spec["sliders"]["p"]["max"] == 5
    widths = spec["torch"]
    assert len(widths) == 40 * 11 * 6 * 5
    index = lambda d, f, p, s: (((d - 1) * 11 + (f - 1)) * 6 + p) * 5 + s - 1  # noqa: E731
    checked = 0
    for d in range(1, 41):
        for f in range(1, 12):
            for p in range(6):
                for s in range(1, 6):
                    if f > d + 2 * p:
                        assert widths[index(d, f, p, s)] == 0
                    else:
                        assert widths[index(d, f, p, s)] == ops.output_size(d, f, p, s)
                        checked += 1
    assert checked > 10_000
    conv = nn.Conv2d(1, 1, (1, 3), stride=(1, 2), padding=(0, 1))
    assert widths[index(7, 3, 1, 2)] == conv(torch.zeros(1, 1, 1, 7)).shape[-1] == 4


def test_calculator_bundle_and_bad_arguments():
    pytest.importorskip("ipywidgets")
    panel = arch.output_size_calculator(d=10, f=3, p=1, s=2, max_d=16)
    bundle = panel._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert '<div class="cnn-control" data-kind="output-size">' in bundle["text/html"]
    assert panel.static_spec()["sliders"]["d"]["max"] == 16
    for kwargs, match in [(dict(d=65), "raise max_d"), (dict(f=12), "offers 1..11"),
                          (dict(p=6), "offers 0..5"), (dict(s=0), "s must be >= 1")]:
        with pytest.raises(ValueError, match=match):
            arch.output_size_calculator(**kwargs)
        with pytest.raises(ValueError, match=match):
            arch.calculator_spec(**kwargs)
    with pytest.raises(TypeError, match="integer"):
        arch.calculator_spec(d=2.5)


@pytest.mark.parametrize("fn, args", [
    (arch.conv2d_param_count, (1, 1, 3)),
    (arch.linear_param_count, (4, 2)),
])
@pytest.mark.parametrize("bias", ["no", 0, None])
def test_param_counts_refuse_non_bool_bias(fn, args, bias):
    with pytest.raises(TypeError, match="bias must be True or False"):
        fn(*args, bias=bias)


def test_receptive_field_names_the_layer():
    with pytest.raises(ValueError, match="stride of layer 1"):
        arch.receptive_field([(3, 1), (3, 0)])


def test_calculator_refuses_a_kernel_larger_than_the_padded_input():
    with pytest.raises(ValueError, match="larger than the padded input"):
        arch.calculator_spec(d=3, f=7, p=1, s=1)
