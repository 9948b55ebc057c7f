"""Bad arguments to the public functions a page calls: one clear error from book_utils itself.

Each row is (call, expected error type, a regex that the message must match). The regex
always contains the name of the offending argument, so a test fails if the error comes from
deep inside NumPy or torch instead. Devices are tested with the "meta" device, which exists
on every machine.
"""
import numpy as np
import pytest
import torch
from torch import nn

from book_utils import backprop as bp
from book_utils import detection, kernels, layers, ops
from book_utils.models import (AlexNet, BasicBlock, DepthwiseSeparableConv2d, LeNet5, MobileNetV1,
                               PlainBlock, ResNet, VGG, YOLOv1, plain_net, vgg_block)

X4 = np.ones((1, 1, 5, 5))
W4 = np.ones((2, 1, 3, 3))
BOX = torch.tensor([[0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 3.0, 3.0]])
SCORES = torch.tensor([0.9, 0.8])


def _check(call, error, match):
    with pytest.raises(error, match=match):
        call()


# --------------------------------------------------------------------------- ops

OPS_CASES = [
    (lambda: ops.conv1d("abc", [1, 0]), TypeError, r"x \(signal\) must be numeric"),
    (lambda: ops.conv1d([1, 2, 3], [[1, 0]]), ValueError, r"w \(kernel\) must have 1"),
    (lambda: ops.conv1d([1, 2, 3], []), ValueError, r"w \(kernel\) is empty"),
    (lambda: ops.conv1d([1, 2, 3], [1, 0], bias=[1, 2]), TypeError, "bias must be a single number"),
    (lambda: ops.conv1d([1, 2, 3], [1, 0], bias="1"), TypeError, "bias must be a single number"),
    (lambda: ops.conv1d([1, 2, 3], [1, 0], stride="2"), TypeError, r"s \(stride\) must be an integer"),
    (lambda: ops.conv2d(np.ones((3, 3)), np.ones((2, 2)), bias="x"), TypeError, "bias must be numeric"),
    (lambda: ops.conv2d(np.ones((3, 4, 4)), np.ones((2, 3, 2, 2)), bias=np.ones((2, 1))),
     ValueError, "bias must be a number or a 1-D array"),
    (lambda: ops.conv2d(np.ones((3, 3)), np.ones((2, 2)), padding=(1,)), ValueError, "padding must be"),
    (lambda: ops.conv2d(np.ones((3, 3)), np.ones((2, 2)), stride=None), TypeError, "stride must be"),
    (lambda: ops.conv2d([[1, "a"]], np.ones((1, 1))), TypeError, r"x \(image\) must be numeric"),
    (lambda: ops.pad(np.ones(3), 1, value="0"), TypeError, "value"),
    (lambda: ops.pad(np.ones(3), (1, 2)), ValueError, "single padding"),
    (lambda: ops.pad(5.0, 1), ValueError, "x must have at least 1 dimension"),
    (lambda: ops.pad("abc", 1), TypeError, "x must be numeric"),
    (lambda: ops.pad(np.ones((2, 2)), -1), ValueError, "padding must be >= 0"),
    (lambda: ops.as_pair("kernel", (1, 2, 3), 1), ValueError, "kernel must be an int or a pair"),
    (lambda: ops.output_size(None, 3), TypeError, r"d \(input size\) must be an integer"),
]


@pytest.mark.parametrize("call, error, match", OPS_CASES)
def test_ops(call, error, match):
    _check(call, error, match)


def test_ops_accept_tensors_with_grad():
    x = torch.arange(5.0, requires_grad=True)
    assert ops.conv1d(x, torch.tensor([1.0, -1.0])).tolist() == [-1.0] * 4
    assert ops.pad(torch.ones(2), 1).tolist() == [0.0, 1.0, 1.0, 0.0]


# --------------------------------------------------------------------------- kernels

KERNEL_CASES = [
    (lambda: kernels.get(None), TypeError, "kernel name must be a string"),
    (lambda: kernels.describe("nope"), ValueError, "unknown kernel 'nope'"),
    (lambda: kernels.binomial("3"), ValueError, "size must be a positive integer"),
    (lambda: kernels.gaussian_kernel(-1), ValueError, "size must be a positive integer"),
    (lambda: kernels.to_latex([[1, "a"]]), TypeError, "weights must be a 2D array of numbers"),
    (lambda: kernels.to_latex(np.zeros((0, 3))), ValueError, "weights is empty"),
    (lambda: kernels.to_latex([[1.0, np.nan]]), ValueError, "weights contains NaN"),
    (lambda: kernels.to_latex([[1.0, np.inf]]), ValueError, "weights contains NaN or infinite"),
    (lambda: kernels.to_latex(np.ones((2, 2)), digits=-1), ValueError, "digits must be >= 0"),
    (lambda: kernels.to_latex(np.ones((2, 2)), digits=2.0), TypeError, "digits must be an integer"),
]


@pytest.mark.parametrize("call, error, match", KERNEL_CASES)
def test_kernels(call, error, match):
    _check(call, error, match)


# --------------------------------------------------------------------------- layers

LAYER_CASES = [
    (lambda: layers.Conv2dIm2col(1, 2, 3, bias="yes"), TypeError, "bias must be True or False"),
    (lambda: layers.Conv2dLoop(1.0, 2, 3), TypeError, "in_channels must be an integer"),
    (lambda: layers.Conv2dLoop(1, 0, 3), ValueError, "out_channels must be >= 1"),
    (lambda: layers.MaxPool2dWindows(2, stride=0), ValueError, "stride must be >= 1"),
    (lambda: layers.MaxPool2dLoop(2, padding=2), ValueError, "padding=2 must be at most half"),
    (lambda: layers.Conv2dIm2col(1, 2, 3)(np.ones((1, 1, 5, 5))), TypeError,
     "expects a torch.Tensor x, got ndarray"),
    (lambda: layers.Conv2dIm2col(1, 2, 3)(torch.ones(1, 5, 5)), ValueError, "got x of shape"),
    (lambda: layers.Conv2dIm2col(1, 2, 3)(torch.ones(1, 1, 5, 5, dtype=torch.int64)), ValueError,
     "got dtype torch.int64 for x"),
    (lambda: layers.Conv2dIm2col(1, 2, 3)(torch.ones(1, 2, 5, 5)), ValueError,
     r"built for 1 input channels, got 2 \(x has shape"),
    (lambda: layers.Conv2dIm2col(1, 2, 7)(torch.ones(1, 1, 5, 5)), ValueError,
     "kernel_size=7 is larger than the padded input 5x5 .x is 5x5"),
    (lambda: layers.Conv2dLoop(1, 2, 3).to("meta")(torch.ones(1, 1, 5, 5)), ValueError,
     "weights on meta but the input x is on cpu"),
    (lambda: layers.MaxPool2dWindows(2)(torch.ones(1, 1, 5, 5).long()), ValueError, "for x"),
]


@pytest.mark.parametrize("call, error, match", LAYER_CASES)
def test_layers(call, error, match):
    _check(call, error, match)


# --------------------------------------------------------------------------- backprop

def _params():
    return bp.tiny_cnn_init(0)


BACKPROP_CASES = [
    (lambda: bp.conv2d_forward(torch.ones(1, 1, 5, 5), W4), TypeError, "x is a torch.Tensor"),
    (lambda: bp.conv2d_forward(np.ones((0, 1, 5, 5)), W4), ValueError, "x is empty"),
    (lambda: bp.conv2d_forward(X4, W4, b=np.ones(3)), ValueError, "b has 3 entries"),
    (lambda: bp.conv2d_forward(X4, np.ones((2, 2, 3, 3))), ValueError, "x has 1 channels"),
    (lambda: bp.conv2d_forward(np.array([["a"]]), W4), TypeError, "x must hold numbers"),
    (lambda: bp.conv2d_backward(np.ones((1, 3, 3, 3)), X4, W4), ValueError, "dz has 3 channels"),
    (lambda: bp.conv2d_backward(np.ones((1, 2, 3, 3)), np.ones((1, 2, 5, 5)), W4), ValueError,
     "x has 2 channels but the kernels w expect 1"),
    (lambda: bp.conv2d_input_grad(np.ones((1, 2, 3, 3)), W4, (1, 1, 5)), ValueError,
     "input_shape must be the 4 sizes"),
    (lambda: bp.conv2d_input_grad(np.ones((1, 2, 3, 3)), W4, (1, 1, 5, 0)), ValueError,
     r"input_shape\[3\] must be >= 1"),
    (lambda: bp.conv2d_input_grad(np.ones((1, 2, 3, 3)), W4, "1155"), ValueError, "input_shape"),
    (lambda: bp.conv2d_input_grad(np.ones((1, 2, 2, 2)), W4, (1, 1, 5, 5)), ValueError,
     "dz has shape"),
    (lambda: bp.conv2d_weight_grad(np.ones((1, 2, 3, 3)), X4, 0), ValueError, "kernel_size must be >= 1"),
    (lambda: bp.dilate2d(np.ones(3), 2), ValueError, "g must have at least 2 dimensions"),
    (lambda: bp.dilate2d(np.ones((2, 2)), 0), ValueError, "stride must be >= 1"),
    (lambda: bp.rot180(np.ones(3)), ValueError, "w must have at least 2 dimensions"),
    (lambda: bp.max_pool2d_forward(X4, 6), ValueError, "pooling window 6x6 is larger"),
    (lambda: bp.max_pool2d_backward(np.ones((1, 1, 3, 3)), X4, 2), ValueError, "dz has shape"),
    (lambda: bp.avg_pool2d_backward(np.ones((1, 1, 2, 2)), X4, 2, stride=1.5), TypeError,
     "stride must be an integer"),
    (lambda: bp.relu(torch.ones(3)), TypeError, "z is a torch.Tensor"),
    (lambda: bp.relu_backward(np.ones(3), np.ones(1)), ValueError, "da has shape .* z has shape"),
    (lambda: bp.sigmoid_backward(np.ones((2, 3)), np.ones(3)), ValueError, "da has shape"),
    (lambda: bp.linear_forward(np.ones((2, 3)), np.ones((4, 3)), np.ones(1)), ValueError,
     "b has 1 entries but w has 4 outputs"),
    (lambda: bp.linear_forward(np.ones((2, 3)), np.ones((4, 2)), np.ones(4)), ValueError,
     "x has 3 features"),
    (lambda: bp.linear_backward(np.ones((2, 5)), np.ones((2, 3)), np.ones((4, 3))), ValueError,
     r"dy \(2, 5\), x \(2, 3\) and w \(4, 3\) do not fit"),
    (lambda: bp.softmax_cross_entropy(np.ones((2, 3)), np.array([0.0, 1.0])), ValueError,
     "labels must be 2 integers"),
    (lambda: bp.softmax_cross_entropy(np.ones((2, 3)), np.array([0, 3])), ValueError,
     r"labels must lie in \[0, 3\)"),
    (lambda: bp.softmax_cross_entropy(np.ones((2, 1)), np.array([0, 0])), ValueError,
     "logits must have at least 2 classes"),
    (lambda: bp.softmax_cross_entropy(np.ones((0, 3)), np.array([], dtype=int)), ValueError,
     "logits is empty"),
    (lambda: bp.tiny_cnn_init(seed=-1), ValueError, "seed must be >= 0"),
    (lambda: bp.tiny_cnn_init(in_channels=0), ValueError, "in_channels must be >= 1"),
    (lambda: bp.tiny_cnn_loss_and_grads(_params(), np.ones((2, 1, 28, 28)), np.array([0, 1])),
     ValueError, r"x must be images \(N, 1, 12, 12\)"),
    (lambda: bp.tiny_cnn_loss_and_grads({"conv1.weight": 1}, np.ones((2, 1, 12, 12)),
                                        np.array([0, 1])), ValueError, "params lacks"),
    (lambda: bp.tiny_cnn_loss_and_grads([], np.ones((2, 1, 12, 12)), np.array([0, 1])),
     TypeError, "params must be the dict"),
    (lambda: bp.tiny_cnn_torch({**_params(), "fc.bias": np.ones(4)}), ValueError,
     r"params\['fc.bias'\] has shape \(4,\)"),
    (lambda: bp.sgd_step(_params(), {k: v[..., :1] for k, v in _params().items()}, 0.1),
     ValueError, r"grads\['conv1.weight'\] has shape"),
    (lambda: bp.sgd_step(_params(), {}, 0.1), ValueError, "grads has no entry for parameter"),
    (lambda: bp.sgd_step(_params(), _params(), "0.1"), TypeError, "lr must be a number"),
    (lambda: bp.sgd_step(_params(), _params(), float("nan")), ValueError, "lr must be a finite"),
    (lambda: bp.max_abs_error(np.ones(2), np.ones(3)), ValueError, "shapes differ"),
    (lambda: bp.Conv2dNumpyFunction.apply(np.ones((1, 1, 5, 5)), torch.ones(2, 1, 3, 3),
                                          torch.ones(2)), TypeError, "x is a ndarray"),
    (lambda: bp.Conv2dNumpyFunction.apply(torch.ones(1, 1, 5, 5), torch.ones(2, 1, 3, 3),
                                          None), TypeError, "b is a NoneType"),
    (lambda: bp.MaxPool2dNumpyFunction.apply(torch.ones(1, 1, 4, 4, dtype=torch.int64), 2),
     TypeError, "x has dtype torch.int64"),
    (lambda: bp.AvgPool2dNumpyFunction.apply([1.0], 2), TypeError, "x is a list"),
]


@pytest.mark.parametrize("call, error, match", BACKPROP_CASES)
def test_backprop(call, error, match):
    _check(call, error, match)


def test_sgd_step_still_works():
    p = _params()
    new = bp.sgd_step(p, {k: np.ones_like(v) for k, v in p.items()}, 0.5)
    assert np.allclose(new["fc.bias"], p["fc.bias"] - 0.5)


# --------------------------------------------------------------------------- detection

DETECTION_CASES = [
    (lambda: detection.box_iou(BOX, BOX.to("meta")), ValueError, "boxes1 is on cpu but boxes2 is on meta"),
    (lambda: detection.nms(BOX, SCORES, "0.5"), TypeError, "iou_threshold must be a number"),
    (lambda: detection.nms(BOX, SCORES, float("nan")), ValueError, r"iou_threshold must be in \[0"),
    (lambda: detection.nms(BOX, SCORES, None), TypeError, "iou_threshold must be a number"),
    (lambda: detection.nms(BOX, torch.tensor([True, False]), 0.5), TypeError, "scores must be real"),
    (lambda: detection.nms(BOX, torch.tensor([0.5, float("nan")]), 0.5), ValueError, "scores contain NaN"),
    (lambda: detection.nms(BOX, SCORES.to("meta"), 0.5), ValueError, "boxes is on cpu but scores"),
    (lambda: detection.batched_nms(BOX, SCORES, [0, 1], 0.5), TypeError, "labels must be a torch.Tensor"),
    (lambda: detection.batched_nms(BOX, SCORES, torch.tensor([0.0, 1.0]), 0.5), TypeError,
     "labels must hold integer class indices"),
    (lambda: detection.batched_nms(BOX, SCORES, torch.tensor([0]), 0.5), ValueError,
     r"labels must have shape \(2,\)"),
    (lambda: detection.batched_nms(BOX, SCORES, torch.tensor([0, 1]), 2.0), ValueError, "iou_threshold"),
    (lambda: detection.box_cxcywh_to_xyxy([[0, 0, 1, 1]]), TypeError, "boxes must be a torch.Tensor"),
    (lambda: detection.box_cxcywh_to_xyxy(torch.zeros(2, 3)), ValueError, r"boxes must be .* got \(2, 3\)"),
    (lambda: detection.box_cxcywh_to_xyxy(torch.tensor([[0.0, 0.0, float("nan"), 1.0]])), ValueError,
     "boxes contains NaN"),
    (lambda: detection.box_area(torch.zeros(0, 5)), ValueError, r"boxes must have shape \(N, 4\)"),
    (lambda: detection.decode_yolo_v1(torch.zeros(7, 7, 30, dtype=torch.int64)), TypeError,
     "pred must be a floating-point"),
    (lambda: detection.decode_yolo_v1(torch.full((7, 7, 30), float("nan"))), ValueError,
     "pred contains NaN"),
    (lambda: detection.decode_yolo_v1(torch.zeros(7, 7, 30), num_boxes=2.0), TypeError,
     "num_boxes must be an integer"),
    (lambda: detection.decode_yolo_v1(torch.zeros(7, 7, 30), image_size=448), ValueError,
     r"image_size must be a pair \(H, W\)"),
    (lambda: detection.decode_yolo_v1(torch.zeros(7, 7, 30), image_size=(448, 0)), ValueError,
     r"image_size\[1\] \(width\) must be >= 1"),
    (lambda: detection.decode_yolo_v1(torch.zeros(7, 7, 30), score_threshold="0.3"), TypeError,
     "score_threshold must be a number"),
    (lambda: detection.encode_yolo_v1(BOX, [0, 1]), TypeError, "labels must be a torch.Tensor"),
    (lambda: detection.encode_yolo_v1(BOX, torch.tensor([0, 20])), ValueError,
     r"labels must be \(2,\) integers in \[0, 20\)"),
    (lambda: detection.encode_yolo_v1(BOX, torch.tensor([0, 1]), grid_size=0), ValueError,
     "grid_size must be >= 1"),
    (lambda: detection.simulate_yolo_v1_output(BOX, torch.tensor([0])), ValueError,
     r"labels must have shape \(2,\)"),
    (lambda: detection.simulate_yolo_v1_output(BOX, torch.tensor([0, 25])), ValueError,
     r"labels must be integers in \[0, 20\)"),
    (lambda: detection.simulate_yolo_v1_output(BOX * 300, torch.tensor([0, 1])), ValueError,
     "boxes must lie inside the 448x448 image"),
    (lambda: detection.simulate_yolo_v1_output(BOX, torch.tensor([0, 1]), seed=1.5), TypeError,
     "seed must be an integer"),
    (lambda: detection.draw_boxes(None, BOX), TypeError, "ax must be a matplotlib Axes"),
    (lambda: detection.draw_boxes(_axes(), BOX, scores=SCORES[:1]), ValueError,
     "scores has 1 entries but there are 2 boxes"),
    (lambda: detection.draw_boxes(_axes(), BOX, names=["a", "b", "c"]), ValueError,
     "names has 3 entries"),
]


def _axes():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    plt.close(fig)
    return ax


@pytest.mark.parametrize("call, error, match", DETECTION_CASES)
def test_detection(call, error, match):
    _check(call, error, match)


def test_nms_integer_scores_still_work():
    assert detection.nms(BOX, torch.tensor([1, 2]), 0.1).tolist() == [1]


# --------------------------------------------------------------------------- models

def _meta(model):
    return model.to("meta")


MODEL_CASES = [
    (lambda: LeNet5(input_size=True), ValueError, "input_size must be 28"),
    (lambda: LeNet5(input_size=30), ValueError, "input_size must be 28"),
    (lambda: LeNet5(conv="Conv2d"), TypeError, "conv must be a layer class"),
    (lambda: LeNet5(pool=3), TypeError, "pool must be a layer class"),
    (lambda: LeNet5()(torch.zeros(0, 1, 28, 28)), ValueError, "empty batch x"),
    (lambda: LeNet5().to("meta")(torch.zeros(1, 1, 28, 28)), ValueError,
     "weights on meta but the input x is on cpu"),
    (lambda: AlexNet(dropout="0.5"), TypeError, "dropout must be a number"),
    (lambda: AlexNet(dropout=1.0), ValueError, r"dropout must be in \[0, 1\)"),
    (lambda: AlexNet(dropout=float("nan")), ValueError, "dropout must be in"),
    (lambda: AlexNet(groups=True), ValueError, "groups must be 1"),
    (lambda: DepthwiseSeparableConv2d(4.0, 8), TypeError, "in_channels must be an integer"),
    (lambda: DepthwiseSeparableConv2d(4, 0), ValueError, "out_channels must be >= 1"),
    (lambda: DepthwiseSeparableConv2d(4, 8, stride=3), ValueError, "stride must be 1 or 2"),
    (lambda: DepthwiseSeparableConv2d(4, 8, norm_act="yes"), TypeError, "norm_act must be True or False"),
    (lambda: DepthwiseSeparableConv2d(4, 8)(torch.zeros(2, 4, 8, 8).long()), ValueError,
     "floating-point images"),
    (lambda: MobileNetV1(width_mult="1"), TypeError, "width_mult must be a number"),
    (lambda: MobileNetV1(width_mult=float("nan")), ValueError, "width_mult must be positive and finite"),
    (lambda: MobileNetV1(in_channels=0), ValueError, "in_channels must be >= 1"),
    (lambda: MobileNetV1(dropout=-0.1), ValueError, "dropout must be in"),
    (lambda: MobileNetV1(blocks=[(64, 1, 3)]), ValueError, r"blocks must be a non-empty list of \(out_channels, stride\)"),
    (lambda: MobileNetV1(blocks=[]), ValueError, "blocks must be a non-empty"),
    (lambda: BasicBlock(0, 64), ValueError, "in_planes must be >= 1"),
    (lambda: BasicBlock(64, 64.0), TypeError, "planes must be an integer"),
    (lambda: BasicBlock(64, 64, stride=True), ValueError, "stride must be 1 or 2"),
    (lambda: BasicBlock(8, 8)(torch.zeros(1, 3, 8, 8)), ValueError,
     r"BasicBlock expects x of shape \(B, 8, H, W\)"),
    (lambda: PlainBlock(8, 8)(np.zeros((1, 8, 8, 8))), ValueError, "PlainBlock expects x of shape"),
    (lambda: ResNet(nn.Conv2d, [1, 1, 1, 1]), TypeError, "block must be a residual block class"),
    (lambda: ResNet(BasicBlock(4, 4), [1, 1, 1, 1]), TypeError, "block must be a residual block class"),
    (lambda: ResNet(BasicBlock, [1, 1, 1, 1.5]), ValueError, "layers must list four positive"),
    (lambda: ResNet(BasicBlock, 2), ValueError, "layers must list four positive"),
    (lambda: ResNet(BasicBlock, [1, 1, 1, 1], width=0), ValueError, "width must be >= 1"),
    (lambda: plain_net(depth=True), ValueError, "depth must be 8n"),
    (lambda: vgg_block(True, 3, 8), ValueError, "num_convs must be a positive int"),
    (lambda: vgg_block(1, 3, 8, batch_norm="no"), TypeError, "batch_norm must be True or False"),
    (lambda: VGG([(1, 4)] * 5, hidden=0), ValueError, "hidden must be >= 1"),
    (lambda: VGG([(1, 4)] * 5, pool_size=1.5), TypeError, "pool_size must be an integer"),
    (lambda: VGG([(1, 4)] * 5, in_channels=0), ValueError, "in_channels must be >= 1"),
    (lambda: VGG(5), ValueError, "config must be a configuration name"),
    (lambda: VGG([1, 2]), ValueError, "config must be a configuration name"),
    (lambda: VGG([(1, 4)] * 5, dropout=2), ValueError, "dropout must be in"),
    (lambda: YOLOv1(num_boxes=True), ValueError, "num_boxes must be a positive int"),
    (lambda: YOLOv1(in_channels=0), ValueError, "in_channels must be >= 1"),
    (lambda: YOLOv1(hidden=2.5), TypeError, "hidden must be an integer"),
    (lambda: YOLOv1(dropout=1.5), ValueError, "dropout must be in"),
    (lambda: MobileNetV1(num_classes=3, width_mult=0.25)(torch.zeros(1, 3, 32, 32)), ValueError,
     "training mode and got a batch x of one .* Call model.eval"),
    (lambda: ResNet(BasicBlock, [1, 1, 1, 1], width=4)(torch.zeros(1, 3, 8, 8)), ValueError,
     "ResNet is in training mode and got a batch x of one"),
]


@pytest.mark.parametrize("call, error, match", MODEL_CASES)
def test_models(call, error, match):
    _check(call, error, match)


def test_single_image_is_fine_where_batch_norm_can_work():
    net = ResNet(BasicBlock, [1, 1, 1, 1], width=4)
    assert net(torch.zeros(1, 3, 16, 16)).shape == (1, 10)        # last map 2x2: trains
    assert net.eval()(torch.zeros(1, 3, 8, 8)).shape == (1, 10)   # eval mode: running stats


def test_models_on_meta_device_accept_meta_input():
    with torch.device("meta"):
        model = LeNet5()
        assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
