"""Models of the book, written in the style of torchvision's model files.

Classic networks live one per module; import them from here.
"""
from .alexnet import AlexNet
from .lenet import LeNet5
from .mobilenet import DepthwiseSeparableConv2d, MobileNetV1
from .plain import PlainBlock, plain_net, residual_net
from .resnet import BasicBlock, ResNet, resnet18
from .vgg import VGG, vgg11, vgg16, vgg_block
from .yolo import YOLOv1

__all__ = ["AlexNet", "BasicBlock", "DepthwiseSeparableConv2d", "LeNet5", "MobileNetV1", "PlainBlock",
           "ResNet", "VGG", "YOLOv1", "plain_net", "residual_net", "resnet18", "vgg11", "vgg16", "vgg_block"]
