"""book_utils.detection against torchvision.ops: IoU, NMS (ties, empty input, zero-area boxes),
batched NMS, YOLOv1 encoding/decoding and the input checks."""
import pytest
import torch
import torchvision

from book_utils.detection import (batched_nms, box_area, box_cxcywh_to_xyxy, box_iou, decode_yolo_v1,
                                  encode_yolo_v1, nms, simulate_yolo_v1_output)


def random_boxes(n, seed, size=100.0, zero_area=0):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * size
    wh = torch.rand(n, 2, generator=g) * size / 3
    if zero_area:
        wh[:zero_area, 0] = 0.0                     # some boxes are vertical line segments
    return torch.cat([xy, xy + wh], dim=1)


@pytest.mark.parametrize("seed", range(5))
def test_box_iou_matches_torchvision(seed):
    a, b = random_boxes(30, seed, zero_area=3), random_boxes(20, seed + 100)
    torch.testing.assert_close(box_iou(a, b), torchvision.ops.box_iou(a, b))


def test_box_iou_known_values_and_zero_area():
    a = torch.tensor([[0.0, 0.0, 2.0, 2.0]])
    b = torch.tensor([[1.0, 1.0, 3.0, 3.0], [2.0, 0.0, 4.0, 2.0], [0.0, 0.0, 2.0, 2.0], [5.0, 5.0, 5.0, 5.0]])
    torch.testing.assert_close(box_iou(a, b), torch.tensor([[1 / 7, 0.0, 1.0, 0.0]]))
    points = torch.tensor([[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]])
    assert torch.equal(box_iou(points, points), torch.zeros(2, 2))          # defined as 0 here
    assert torch.isnan(torchvision.ops.box_iou(points, points)).all()        # torchvision: 0 / 0
    assert box_iou(torch.zeros(0, 4), b).shape == (0, 4)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.5, 0.7, 1.0])
def test_nms_matches_torchvision(seed, threshold):
    boxes = random_boxes(60, seed, size=50.0, zero_area=4)
    scores = torch.rand(60, generator=torch.Generator().manual_seed(seed))
    assert torch.equal(nms(boxes, scores, threshold), torchvision.ops.nms(boxes, scores, threshold))


def test_nms_ties_are_visited_in_index_order():
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 0.0, 11.0, 10.0], [0.0, 1.0, 10.0, 11.0], [20.0, 20, 30, 30]])
    scores = torch.tensor([0.5, 0.5, 0.5, 0.5])
    expected = torchvision.ops.nms(boxes, scores, 0.5)
    assert expected.tolist() == [0, 3]
    assert torch.equal(nms(boxes, scores, 0.5), expected)
    # many random ties: scores from a small set of values
    g = torch.Generator().manual_seed(7)
    boxes = random_boxes(80, 7, size=40.0)
    scores = torch.randint(0, 4, (80,), generator=g).float() / 4
    assert torch.equal(nms(boxes, scores, 0.4), torchvision.ops.nms(boxes, scores, 0.4))


def test_nms_iou_equal_to_threshold_is_kept():
    boxes = torch.tensor([[0.0, 0.0, 2.0, 1.0], [1.0, 0.0, 3.0, 1.0]])      # IoU exactly 1/3
    scores = torch.tensor([0.9, 0.8])
    assert nms(boxes, scores, 1 / 3).tolist() == [0, 1]
    assert nms(boxes, scores, 0.3).tolist() == [0]


def test_nms_empty_and_zero_area():
    empty = nms(torch.zeros(0, 4), torch.zeros(0), 0.5)
    assert empty.dtype == torch.int64 and empty.shape == (0,)
    assert torch.equal(empty, torchvision.ops.nms(torch.zeros(0, 4), torch.zeros(0), 0.5))
    points = torch.tensor([[5.0, 5.0, 5.0, 5.0], [5.0, 5.0, 5.0, 5.0], [0.0, 0.0, 10.0, 10.0]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    # zero-area boxes overlap nothing: none is suppressed, in torchvision as here
    assert nms(points, scores, 0.5).tolist() == torchvision.ops.nms(points, scores, 0.5).tolist() == [0, 1, 2]


@pytest.mark.parametrize("seed", range(4))
def test_batched_nms_matches_torchvision(seed):
    boxes = random_boxes(50, seed, size=40.0)
    g = torch.Generator().manual_seed(seed)
    scores = torch.rand(50, generator=g)
    labels = torch.randint(0, 3, (50,), generator=g)
    ours = batched_nms(boxes, scores, labels, 0.5)
    theirs = torchvision.ops.batched_nms(boxes, scores, labels, 0.5)
    assert torch.equal(ours, theirs)
    assert batched_nms(torch.zeros(0, 4), torch.zeros(0), torch.zeros(0, dtype=torch.int64), 0.5).numel() == 0


def test_box_conversion_matches_torchvision():
    cxcywh = torch.tensor([[10.0, 20.0, 4.0, 6.0], [0.0, 0.0, 0.0, 0.0]])
    torch.testing.assert_close(box_cxcywh_to_xyxy(cxcywh), torchvision.ops.box_convert(cxcywh, "cxcywh", "xyxy"))
    torch.testing.assert_close(box_area(box_cxcywh_to_xyxy(cxcywh)), torch.tensor([24.0, 0.0]))


def test_clear_errors():
    good = torch.tensor([[0.0, 0.0, 1.0, 1.0]])
    with pytest.raises(ValueError, match=r"shape \(N, 4\)"):
        box_iou(torch.zeros(3), good)
    with pytest.raises(TypeError, match="floating-point"):
        box_iou(torch.tensor([[0, 0, 1, 1]]), good)
    with pytest.raises(ValueError, match="x2 < x1"):
        box_iou(torch.tensor([[2.0, 0.0, 1.0, 1.0]]), good)
    with pytest.raises(ValueError, match="NaN"):
        box_iou(torch.tensor([[float("nan"), 0.0, 1.0, 1.0]]), good)
    with pytest.raises(ValueError, match=r"scores must have shape \(1,\)"):
        nms(good, torch.tensor([0.1, 0.2]), 0.5)
    with pytest.raises(ValueError, match="iou_threshold"):
        nms(good, torch.tensor([0.1]), 1.5)
    with pytest.raises(TypeError, match="torch.Tensor"):
        nms([[0, 0, 1, 1]], torch.tensor([0.1]), 0.5)
    with pytest.raises(ValueError, match="widths and heights"):
        box_cxcywh_to_xyxy(torch.tensor([[0.0, 0.0, -1.0, 1.0]]))


def test_yolo_encode_decode_round_trip():
    boxes = torch.tensor([[40.0, 60.0, 200.0, 300.0], [250.0, 100.0, 440.0, 180.0], [50.0, 70.0, 150.0, 250.0]])
    labels = torch.tensor([3, 7, 3])
    target = encode_yolo_v1(boxes, labels, grid_size=7, num_boxes=2, num_classes=20, image_size=(448, 448))
    assert target.shape == (7, 7, 30)
    det = decode_yolo_v1(target, num_boxes=2, num_classes=20, image_size=(448, 448), score_threshold=0.5)
    order = torch.argsort(det.boxes[:, 0])
    torch.testing.assert_close(det.boxes[order], boxes[torch.argsort(boxes[:, 0])])
    assert sorted(det.labels.tolist()) == [3, 3, 7]
    assert torch.equal(det.scores, torch.ones(3))


def test_yolo_decode_arithmetic():
    s, b, c = 2, 1, 3
    pred = torch.zeros(s, s, b * 5 + c)
    pred[1, 0, :5] = torch.tensor([0.5, 0.25, 0.5, 0.25, 0.8])    # cell row 1, col 0
    pred[1, 0, 5:] = torch.tensor([0.1, 0.6, 0.3])
    det = decode_yolo_v1(pred, num_boxes=b, num_classes=c, image_size=(200, 100), score_threshold=0.1)
    # centre x = (0 + 0.5) / 2 * 100 = 25, centre y = (1 + 0.25) / 2 * 200 = 125, size 50 x 50
    torch.testing.assert_close(det.boxes, torch.tensor([[0.0, 100.0, 50.0, 150.0]]))
    torch.testing.assert_close(det.scores, torch.tensor([0.8 * 0.6]))
    assert det.labels.tolist() == [1]
    everything = decode_yolo_v1(pred, num_boxes=b, num_classes=c, image_size=(200, 100), score_threshold=-1)
    assert everything.boxes.shape == (s * s * b, 4)


def test_yolo_errors():
    with pytest.raises(ValueError, match=r"\(S, S, 30\)"):
        decode_yolo_v1(torch.zeros(7, 7, 25))
    with pytest.raises(ValueError, match="one image at a time"):
        decode_yolo_v1(torch.zeros(2, 7, 7, 30))
    box = torch.tensor([[10.0, 10.0, 20.0, 20.0]])
    with pytest.raises(ValueError, match="at most B boxes"):
        encode_yolo_v1(box.repeat(3, 1), torch.tensor([0, 0, 0]), num_boxes=2)
    with pytest.raises(ValueError, match="two classes"):
        encode_yolo_v1(box.repeat(2, 1), torch.tensor([0, 1]), num_boxes=2)
    with pytest.raises(ValueError, match="inside"):
        encode_yolo_v1(torch.tensor([[10.0, 10.0, 500.0, 20.0]]), torch.tensor([0]))


def test_simulated_output_decodes_to_the_placed_objects():
    objects = torch.tensor([[150.0, 28, 372, 172], [155, 140, 290, 330], [330, 478, 445, 518]])
    labels = torch.tensor([0, 1, 2])
    pred = simulate_yolo_v1_output(objects, labels, grid_size=7, num_boxes=2, num_classes=3,
                                   image_size=(600, 512), seed=0)
    assert pred.shape == (7, 7, 13)
    det = decode_yolo_v1(pred, num_boxes=2, num_classes=3, image_size=(600, 512), score_threshold=0.3)
    keep = batched_nms(det.boxes, det.scores, det.labels, 0.5)
    assert len(det.scores) > len(keep) >= 3            # duplicates exist and NMS removes some
    for box, label in zip(objects, labels):            # the best box of each class hits its object
        mine = keep[det.labels[keep] == label]
        best = mine[det.scores[mine].argmax()]
        assert float(box_iou(det.boxes[best][None], box[None])) > 0.5
