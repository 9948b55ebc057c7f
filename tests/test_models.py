"""Shapes, parameter counts and input checks of every model in book_utils.models.

Big models (VGG, YOLOv1) are built on the "meta" device: parameter counts and output shapes
without allocating their weights.
"""
import pytest
import torch
import torchvision
from torch import nn

from book_utils.models import (AlexNet, BasicBlock, DepthwiseSeparableConv2d, LeNet5, MobileNetV1, PlainBlock,
                               ResNet, VGG, YOLOv1, plain_net, residual_net, resnet18, vgg11, vgg16, vgg_block)
from book_utils.models.mobilenet import separable_cost, standard_conv_cost
from book_utils.models.yolo import YOLO_V1_BACKBONE
from book_utils.summary import layer_table


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def conv_params(c_in, c_out, k, groups=1, bias=True):
    return c_out * (c_in // groups) * k * k + (c_out if bias else 0)


# ---------------------------------------------------------------- LeNet-5
@pytest.mark.parametrize("input_size", [28, 32])
def test_lenet_shapes_and_params(input_size):
    model = LeNet5(num_classes=10, activation="sigmoid", pooling="avg", input_size=input_size)
    assert model(torch.randn(3, 1, input_size, input_size)).shape == (3, 10)
    table = layer_table(model, (1, 1, input_size, input_size),
                        names=["c1", "s2", "c3", "s4", "c5", "f6", "output"])
    shapes = [r.output_shape for r in table.rows]
    assert shapes == [(6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5), (120, 1, 1), (84,), (10,)]
    # modern (fully connected) C3; the 1998 paper's sparse C3 has 1,516 parameters instead of 2,416
    assert [r.params for r in table.rows] == [156, 0, 2416, 0, 48120, 10164, 850]
    assert n_params(model) == 61706


def test_lenet_c5_is_a_fully_connected_layer_on_5x5_inputs():
    torch.manual_seed(0)
    c5 = LeNet5().c5
    s4 = torch.randn(4, 16, 5, 5)
    fc = nn.Linear(16 * 5 * 5, 120)
    with torch.no_grad():
        fc.weight.copy_(c5.weight.reshape(120, -1))
        fc.bias.copy_(c5.bias)
    torch.testing.assert_close(c5(s4).flatten(1), fc(s4.flatten(1)))


def test_lenet_errors():
    with pytest.raises(ValueError, match="expects a batch of shape"):
        LeNet5()(torch.zeros(1, 1, 32, 32))
    with pytest.raises(ValueError, match="activation"):
        LeNet5(activation="gelu")


# ---------------------------------------------------------------- AlexNet
def test_alexnet_227_gives_256x6x6_and_logits():
    with torch.device("meta"):
        model = AlexNet(num_classes=10)
        x = torch.zeros(2, 3, 227, 227)
        assert model.features(x).shape == (2, 256, 6, 6)
        assert model(x).shape == (2, 10)


def test_alexnet_parameter_counts():
    with torch.device("meta"):
        merged, split = AlexNet(num_classes=1000), AlexNet(num_classes=1000, groups=2)
    assert n_params(merged) == 62_378_344
    assert n_params(split) == 60_965_224          # "60 million parameters" in the paper
    convs = [m for m in merged.features if isinstance(m, nn.Conv2d)]
    expected = [conv_params(3, 96, 11), conv_params(96, 256, 5), conv_params(256, 384, 3),
                conv_params(384, 384, 3), conv_params(384, 256, 3)]
    assert [n_params(c) for c in convs] == expected
    # the classifier (9216 -> 4096 -> 4096 -> 1000) is the same as torchvision's AlexNet
    with torch.device("meta"):
        tv = torchvision.models.alexnet(num_classes=1000)
    assert n_params(merged.classifier) == n_params(tv.classifier) == 58_631_144
    # torchvision's one-tower variant uses 64-192-384-256-256 kernels: 61,100,840 in all
    assert n_params(tv) == 61_100_840


@pytest.mark.parametrize("side", [67, 72, 96, 99, 128, 160, 227])
def test_alexnet_feature_map_size_matches_the_layers(side):
    from book_utils.models.alexnet import feature_map_size
    with torch.device("meta"):
        out = AlexNet(num_classes=10).features(torch.zeros(1, 3, side, side))
    assert out.shape[-2:] == (feature_map_size(side),) * 2
    with pytest.raises(ValueError, match="image_size must be an integer >= 67"):
        feature_map_size(66)


def test_alexnet_pool_size_one_is_the_six_pool_without_copies():
    """At 72 px the last feature map is 1x1: a 6x6 pool copies each of its 256 values 36
    times, so the first fully connected layer sums 36 copies of each weight column. A
    pool-1 network whose first layer holds those sums gives the same logits."""
    torch.manual_seed(0)
    six, one = AlexNet(num_classes=10).eval(), AlexNet(num_classes=10, pool_size=1).eval()
    assert n_params(six) - n_params(one) == 256 * 35 * 4096
    assert one.avgpool.output_size == (1, 1) and one.classifier[1].in_features == 256
    state = six.state_dict()
    w = state["classifier.1.weight"]                          # (4096, 256 * 6 * 6)
    state["classifier.1.weight"] = w.reshape(4096, 256, 36).sum(-1)
    one.load_state_dict(state)
    x = torch.randn(2, 3, 72, 72)
    torch.testing.assert_close(one(x), six(x), rtol=1e-4, atol=1e-5)
    # at 227 px the 6x6 cells differ, and pool_size=1 averages them instead
    assert AlexNet(pool_size=1)(torch.randn(1, 3, 227, 227)).shape == (1, 10)


def test_alexnet_grouped_conv_is_two_half_convs():
    torch.manual_seed(0)
    grouped = nn.Conv2d(96, 256, 5, padding=2, groups=2)
    x = torch.randn(1, 96, 27, 27)
    halves = []
    for g in range(2):
        half = nn.Conv2d(48, 128, 5, padding=2)
        with torch.no_grad():
            half.weight.copy_(grouped.weight[128 * g:128 * (g + 1)])
            half.bias.copy_(grouped.bias[128 * g:128 * (g + 1)])
        halves.append(half(x[:, 48 * g:48 * (g + 1)]))
    torch.testing.assert_close(grouped(x), torch.cat(halves, 1))


def test_alexnet_errors():
    with torch.device("meta"):
        model = AlexNet(num_classes=10)
        assert model(torch.zeros(1, 3, 67, 67)).shape == (1, 10)     # the smallest size that works
        with pytest.raises(ValueError, match="at least 67x67"):
            model(torch.zeros(1, 3, 66, 66))
        with pytest.raises(ValueError, match="at least 67x67"):
            model(torch.zeros(1, 3, 32, 32))
        with pytest.raises(ValueError, match="RGB"):
            model(torch.zeros(1, 1, 227, 227))
    with pytest.raises(ValueError, match="groups"):
        AlexNet(groups=4)


# ---------------------------------------------------------------- VGG
@pytest.mark.parametrize("ours, theirs, num_classes, total", [
    (vgg11, torchvision.models.vgg11, 1000, 132_863_336),
    (vgg16, torchvision.models.vgg16, 1000, 138_357_544),
    (vgg11, torchvision.models.vgg11, 10, 128_807_306),
    (vgg16, torchvision.models.vgg16, 10, 134_301_514),
])
def test_vgg_matches_torchvision(ours, theirs, num_classes, total):
    with torch.device("meta"):
        a, b = ours(num_classes=num_classes), theirs(num_classes=num_classes)
        out = a(torch.zeros(2, 3, 224, 224))
    assert n_params(a) == n_params(b) == total
    assert {k: v.shape for k, v in a.state_dict().items()} == {k: v.shape for k, v in b.state_dict().items()}
    assert out.shape == (2, num_classes)


def test_vgg_small_real_forward_and_block():
    torch.manual_seed(0)
    model = VGG([(1, 8), (1, 16), (2, 16)], num_classes=10, hidden=32, pool_size=1)
    assert model.min_input_size == 8
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    block = nn.Sequential(*vgg_block(2, 3, 8))
    assert block(torch.randn(1, 3, 17, 17)).shape == (1, 8, 8, 8)
    assert n_params(block) == conv_params(3, 8, 3) + conv_params(8, 8, 3)


def test_vgg_errors():
    with pytest.raises(ValueError, match="unknown VGG configuration"):
        VGG("vgg12")
    with pytest.raises(ValueError, match="num_convs"):
        vgg_block(0, 3, 8)
    model = VGG([(1, 4)] * 5, hidden=8)
    with pytest.raises(ValueError, match="at least 32x32"):
        model(torch.zeros(1, 3, 31, 31))
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        model(torch.zeros(1, 1, 64, 64))


# ---------------------------------------------------------------- MobileNet
def test_mobilenet_v1_params_and_macs_match_the_paper():
    with torch.device("meta"):
        model = MobileNetV1(num_classes=1000)
    table = layer_table(model, (1, 3, 224, 224), depth=1)
    assert table.output_shape == (1, 1000)
    assert table.row("features").output_shape == (1024, 7, 7)
    assert table.total_params == 4_231_976
    assert round(table.total_params / 1e6, 1) == 4.2          # paper: 4.2 million
    assert round(table.total_macs / 1e6) == 569               # paper: 569 million Mult-Adds


@pytest.mark.parametrize("c_in, c_out, k", [(32, 64, 3), (128, 256, 3), (64, 64, 5), (16, 8, 7)])
def test_separable_cost_matches_modules_and_ratio(c_in, c_out, k):
    sep = DepthwiseSeparableConv2d(c_in, c_out, kernel_size=k, norm_act=False)
    std = nn.Conv2d(c_in, c_out, k, padding=k // 2)
    x = (1, c_in, 9, 9)
    w_sep, macs_sep = separable_cost(c_in, c_out, k, 9, 9)
    w_std, macs_std = standard_conv_cost(c_in, c_out, k, 9, 9)
    assert n_params(sep) == w_sep + c_in + c_out          # + two biases
    assert n_params(std) == w_std + c_out
    assert layer_table(sep, x).total_macs == macs_sep
    assert layer_table(std, x).total_macs == macs_std
    assert macs_sep / macs_std == pytest.approx(1 / c_out + 1 / k ** 2)


@pytest.mark.parametrize("size, stride, expected", [(7, 2, 4), (31, 2, 16), (33, 2, 17), (33, 1, 33)])
def test_separable_block_shapes(size, stride, expected):
    block = DepthwiseSeparableConv2d(4, 6, stride=stride)
    assert block(torch.randn(2, 4, size, size)).shape == (2, 6, expected, expected)
    assert block.depthwise.groups == 4 and block.depthwise.weight.shape == (4, 1, 3, 3)


def test_mobilenet_errors():
    with pytest.raises(ValueError, match="odd"):
        DepthwiseSeparableConv2d(4, 4, kernel_size=4)
    with pytest.raises(ValueError, match=r"\(B, 4, H, W\)"):
        DepthwiseSeparableConv2d(4, 4)(torch.zeros(1, 3, 8, 8))
    with pytest.raises(ValueError, match="width_mult"):
        MobileNetV1(width_mult=0)


# ---------------------------------------------------------------- YOLOv1
def test_yolo_v1_shape_and_params():
    with torch.device("meta"):
        model = YOLOv1(num_classes=20, grid_size=7, num_boxes=2)
        out = model(torch.zeros(2, 3, 448, 448))
    assert out.shape == (2, 7, 7, 30)
    convs = [layer for stage in YOLO_V1_BACKBONE for layer in stage if layer != "M"]
    assert len(convs) == 24
    expected, c = 0, 3
    for k, c_out, _ in convs:
        expected += conv_params(c, c_out, k)
        c = c_out
    expected += (1024 * 7 * 7 + 1) * 4096 + (4096 + 1) * 7 * 7 * 30
    assert n_params(model) == expected == 271_703_550


def test_yolo_v1_errors():
    with torch.device("meta"):
        model = YOLOv1(grid_size=2, num_classes=3, num_boxes=1)
        assert model(torch.zeros(1, 3, 128, 128)).shape == (1, 2, 2, 8)
        with pytest.raises(ValueError, match=r"expects \(B, 3, 128, 128\)"):
            model(torch.zeros(1, 3, 224, 224))
    with pytest.raises(ValueError, match="grid_size"):
        YOLOv1(grid_size=0)


# ---------------------------------------------------------------- ResNet and plain nets
def test_resnet18_params_and_shape():
    with torch.device("meta"):
        model = resnet18(num_classes=10)
        assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
        # torchvision's ImageNet ResNet-18 differs only in the stem (7x7 instead of 3x3 convolution)
        tv = torchvision.models.resnet18(num_classes=10)
    assert n_params(model) == 11_173_962
    assert n_params(model) == n_params(tv) - 7 * 7 * 3 * 64 + 3 * 3 * 3 * 64


@pytest.mark.parametrize("size, expected", [(7, 4), (31, 16), (33, 17), (32, 16)])
def test_basic_block_stride2_odd_sizes(size, expected):
    block = BasicBlock(16, 32, stride=2)
    assert isinstance(block.shortcut, nn.Sequential)             # 1x1 projection
    assert block(torch.randn(2, 16, size, size)).shape == (2, 32, expected, expected)
    assert n_params(block.shortcut) == 16 * 32 + 2 * 32          # 1x1 conv (no bias) + BN


def test_basic_block_identity_shortcut():
    block = BasicBlock(16, 16, stride=1)
    assert isinstance(block.shortcut, nn.Identity)
    assert block(torch.randn(1, 16, 9, 9)).shape == (1, 16, 9, 9)
    assert n_params(block) == 2 * (16 * 16 * 9) + 2 * 2 * 16


def test_plain_twin_of_resnet():
    with torch.device("meta"):
        plain, res = plain_net(18), residual_net(18)
        assert n_params(res) == n_params(resnet18())
    projections = sum(n_params(b.shortcut) for stage in (res.layer2, res.layer3, res.layer4) for b in stage)
    assert n_params(plain) == n_params(res) - projections
    small = plain_net(10, in_channels=1, width=4)
    assert small(torch.randn(2, 1, 33, 33)).shape == (2, 10)
    block = PlainBlock(8, 16, stride=2)
    assert block(torch.randn(1, 8, 31, 31)).shape == (1, 16, 16, 16)


def test_resnet_errors():
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        ResNet(BasicBlock, [1, 1, 1, 1], width=4)(torch.zeros(1, 1, 32, 32))
    with pytest.raises(ValueError, match="four positive"):
        ResNet(BasicBlock, [2, 2, 2])
    with pytest.raises(ValueError, match="8n \\+ 2"):
        plain_net(20)


def test_alexnet_lrn_uses_the_papers_constants():
    # b = a / (k + alpha * sum_{neighbouring channels} a^2)^beta with n=5, alpha=1e-4, beta=0.75, k=2
    from book_utils.models import AlexNet
    torch.manual_seed(0)
    a = 10 * torch.rand(1, 8, 3, 3)
    sq = a.pow(2)
    window = torch.stack([sq[:, max(0, i - 2):i + 3].sum(1) for i in range(8)], dim=1)
    expected = a / (2.0 + 1e-4 * window).pow(0.75)
    lrn = AlexNet().features[2]
    torch.testing.assert_close(lrn(a), expected)


@pytest.mark.parametrize("build, shape", [(lambda: LeNet5(), (1, 1, 28, 28)), (lambda: AlexNet(), (1, 3, 227, 227)),
                                          (lambda: resnet18(), (2, 3, 32, 32)), (lambda: vgg11(num_classes=10), (1, 3, 32, 32)),
                                          (lambda: MobileNetV1(num_classes=10), (2, 3, 32, 32))])
def test_models_reject_raw_pixels_arrays_and_dtype_mismatch(build, shape):
    import numpy as np
    model = build()
    with pytest.raises(ValueError, match=r"floating-point images, got dtype torch.uint8.*x.float\(\) / 255"):
        model(torch.zeros(shape, dtype=torch.uint8))
    with pytest.raises(TypeError, match="expects a torch.Tensor, got ndarray"):
        model(np.zeros(shape, dtype=np.float32))
    with pytest.raises(ValueError, match="float32 weights but got a torch.float64 input"):
        model(torch.zeros(shape, dtype=torch.float64))


@pytest.mark.parametrize("build", [lambda n: LeNet5(num_classes=n), lambda n: AlexNet(num_classes=n),
                                   lambda n: resnet18(num_classes=n), lambda n: vgg11(num_classes=n),
                                   lambda n: MobileNetV1(num_classes=n)])
@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "10"])
def test_models_reject_bad_num_classes(build, bad):
    with pytest.raises((ValueError, TypeError), match="num_classes must be (an integer|>= 1)"):
        build(bad)


def test_resnet_and_alexnet_reject_bad_options():
    with pytest.raises(ValueError, match="in_channels must be >= 1, got 0"):
        resnet18(in_channels=0)
    with pytest.raises(ValueError, match="lrn must be True or False"):
        AlexNet(lrn="yes")
    with pytest.raises(ValueError, match="pool_size must be >= 1, got 0"):
        AlexNet(pool_size=0)
    with pytest.raises(TypeError, match="pool_size must be an integer"):
        AlexNet(pool_size=1.5)


# ---------------------------------------------------------------- the code the pages print
SHOWN = [LeNet5.__init__, LeNet5.forward, AlexNet.__init__, AlexNet.forward, BasicBlock.__init__,
         BasicBlock.forward, PlainBlock.forward, ResNet.__init__, ResNet._make_layer, ResNet.forward]


@pytest.mark.parametrize("function", SHOWN, ids=lambda f: f.__qualname__)
def test_printed_model_code_holds_the_architecture_only(function):
    import inspect
    source = inspect.getsource(function)
    assert source.lstrip().startswith("def " + function.__name__)   # not a checking wrapper
    for word in ("check", "raise", "isinstance"):
        assert word not in source, f"{function.__qualname__} shows {word!r}"
    assert max(map(len, source.splitlines())) <= 80


def test_checks_run_before_init_and_before_forward_and_survive_a_copy():
    import copy
    with pytest.raises(ValueError, match="stride must be 1 or 2"):
        BasicBlock(4, 4, stride=3)            # before nn.Conv2d sees the bad stride
    with pytest.raises(TypeError, match="BasicBlock\\(\\): missing a required argument"):
        BasicBlock(4)
    block = copy.deepcopy(PlainBlock(4, 4))
    with pytest.raises(ValueError, match=r"PlainBlock expects x of shape \(B, 4, H, W\)"):
        block(torch.zeros(1, 3, 8, 8))
    assert block(torch.zeros(2, 4, 8, 8)).shape == (2, 4, 8, 8)
    assert len(block._forward_pre_hooks) == 1            # one hook, not one per __init__ level
    model = resnet18()
    with pytest.raises(ValueError, match="training mode"):
        model(torch.zeros(1, 3, 8, 8))
    assert model.eval()(torch.zeros(1, 3, 8, 8)).shape == (1, 10)


def test_state_dict_keys_are_unchanged():
    # recorded weights and checkpoints load only if these names never change
    alex = list(AlexNet().state_dict())
    assert alex == [f"features.{i}.{p}" for i in (0, 4, 8, 10, 12) for p in ("weight", "bias")] + \
        [f"classifier.{i}.{p}" for i in (1, 4, 6) for p in ("weight", "bias")]
    lenet = list(LeNet5().state_dict())
    assert lenet == [f"{m}.{p}" for m in ("c1", "c3", "c5", "f6", "output") for p in ("weight", "bias")]
    keys = list(resnet18().state_dict())
    assert len(keys) == 122 and keys[:6] == ["stem.0.weight", "stem.1.weight", "stem.1.bias",
                                              "stem.1.running_mean", "stem.1.running_var",
                                              "stem.1.num_batches_tracked"]
    assert "layer2.0.shortcut.0.weight" in keys and "layer1.0.shortcut.0.weight" not in keys
    assert keys[-2:] == ["fc.weight", "fc.bias"]


def test_lrn_in_float16_matches_float32_where_torch_overflows():
    from book_utils.models.alexnet import LocalResponseNorm
    torch.manual_seed(0)
    x = 400 * torch.rand(2, 8, 5, 5)               # ReLU outputs above 256: x * x > 65504
    half = x.half()
    assert torch.isinf(half * half).any()          # what nn.LocalResponseNorm computes first
    ours, theirs = LocalResponseNorm(5, 5e-4, 0.75, 2.0), nn.LocalResponseNorm(5, 5e-4, 0.75, 2.0)
    reference = theirs(x)
    torch.testing.assert_close(ours(x), reference, rtol=0, atol=0)   # float32: torch's own op
    out = ours(half)
    assert out.dtype == torch.float16 and bool(out.abs().min() > 0)
    torch.testing.assert_close(out.float(), reference, rtol=2e-3, atol=1e-3)
    assert isinstance(AlexNet().features[2], LocalResponseNorm)
    assert isinstance(AlexNet(lrn=False).features[2], nn.Identity)
