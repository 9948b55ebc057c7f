"""Helpers for the executable CNN chapter (卷积神经网络).

Small modules, each named for one concept; notebooks import what they use, e.g.
``from book_utils import data, train``. Importing this package imports nothing heavy.

=================  ==========================================================================
module             what it holds
=================  ==========================================================================
``profiles``       the quick/full run profiles: how much each chapter trains
``data``           MNIST, CIFAR-10 as checked in-memory tensors; locations, datasets, loaders
``train``          devices, precision, seeds, ``fit``, one ``evaluate`` (TTA), checkpoints
``results``        recorded full-profile (GPU) results shown beside the page's own run
``digit_pad``      page 06's drawing pad: shipped LeNet-5 weights, its forward pass in JavaScript
``ops``            NumPy reference conv1d/conv2d and the output-size formula
``kernels``        named 2D kernels (mean, Gaussian, sharpen, Sobel)
``anim``           sliding windows (conv, pooling): geometry, figure, animation, controls
``architecture``   parameter counts, receptive fields, the output-size calculator widget
``backprop``       NumPy forward/backward: conv, im2col/col2im, pooling, dense, a tiny CNN
``layers``         hand-written Conv2d and MaxPool2d modules (loop and vectorised)
``batchnorm``      batch normalization by hand, training and evaluation mode
``optim_steps``    one SGD-momentum / Nesterov / Adam / AdamW update written out by hand
``models``         LeNet-5, AlexNet, VGG, MobileNet, YOLOv1, ResNet
``summary``        per-layer tables: output shapes, parameters, MACs
``diagrams``       structure figures drawn from those tables
``detection``      IoU, non-maximum suppression, YOLOv1 output decoding
``cifar``          CIFAR-10 recipes, batch augmentation, device batches, runs, tables
``plot``           training curves (live too), image grids, confusion matrices, records
``timing``         repeated wall-clock timing and a fixed torch thread count
``stats``          paired comparison of two models on the same images (McNemar's exact test)
=================  ==========================================================================
"""
__version__ = "0.1.0"
__all__ = ["anim", "architecture", "backprop", "batchnorm", "cifar", "data", "detection",
           "diagrams", "digit_pad", "kernels", "layers", "models", "ops", "optim_steps", "plot",
           "profiles", "results", "stats", "summary", "timing", "train"]
