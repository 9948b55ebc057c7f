"""Models of the book, written in the style of torchvision's model files.

Classic networks live one per module; import them from here.
"""
from .alexnet import AlexNet
from .lenet import LeNet5
from .resnet import BasicBlock, ResNet, resnet18

__all__ = ["AlexNet", "BasicBlock", "LeNet5", "ResNet", "resnet18"]
