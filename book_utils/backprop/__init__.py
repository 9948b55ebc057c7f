"""Backpropagation through convolution and pooling layers, written in NumPy.

Forward and backward passes of

* a 2D convolution layer with any number of input and output channels, stride and zero
  padding (:func:`conv2d_forward`, :func:`conv2d_backward`),
* max pooling (:func:`max_pool2d_forward`, :func:`max_pool2d_backward`) with PyTorch's rule
  for ties and NaNs,
* average pooling (:func:`avg_pool2d_forward`, :func:`avg_pool2d_backward`),

plus the few pieces needed to train a tiny CNN end to end (ReLU and sigmoid, a fully connected
layer, softmax cross-entropy, :func:`tiny_cnn_loss_and_grads`).

Conventions follow PyTorch so that every result can be compared with ``torch.autograd``:
feature maps are ``(N, C, H, W)`` arrays, kernels are ``(C_out, C_in, kH, kW)``, and
"convolution" means cross-correlation, exactly what ``torch.nn.Conv2d`` computes. Inputs are
converted to ``float64`` and results are ``float64`` (the comparisons in the book and the tests
rely on it). Indices in the docstrings start at 0. Output sizes, padding and the checking of
stride/padding arguments come from :mod:`book_utils.ops`. The backward functions
implement the formulas derived on the book's page
"卷积神经网络的参数学习" (chapters/04_backprop.ipynb):

* ``dL/dW[o, c]`` = valid cross-correlation of the padded input channel ``c`` with the
  stride-dilated output gradient ``dL/dZ[o]``, summed over the batch;
* ``dL/db[o]`` = sum of ``dL/dZ[o]`` over the batch and all output positions;
* ``dL/dX[c]`` = "full" correlation of the stride-dilated ``dL/dZ[o]`` with the 180-degree
  rotated kernel ``W[o, c]``, summed over output channels ``o``, with the padding cropped off.

The torch ``autograd.Function`` wrappers (:class:`Conv2dNumpyFunction`, ...) let
``torch.autograd.gradcheck`` test these backward passes against finite differences.

Modules (each imports only those above it in this table):

=================  ===========================================================================
module             what it holds
=================  ===========================================================================
``_checks``        input checks: float64 arrays of the right rank, shapes that fit, output size
``correlate``      :func:`dilate2d`, :func:`rot180`, :func:`correlate2d`: the building blocks
``conv``           the convolution layer: forward, weight/input/bias gradients
``im2col``         the matrix view: :func:`im2col` (windows as columns), :func:`col2im`
``pool``           max and average pooling: forward, arg-max (ties, NaNs), backward
``dense``          ReLU, sigmoid, fully connected layer, softmax cross-entropy
``tiny_cnn``       a tiny CNN end to end in NumPy, the same in torch, one SGD step
``autograd``       ``autograd.Function`` wrappers for gradcheck, :func:`max_abs_error`
=================  ===========================================================================

Importing this package imports NumPy and torch (for the wrappers), nothing else.
"""
from .autograd import (AvgPool2dNumpyFunction, Conv2dNumpyFunction, MaxPool2dNumpyFunction,
                       max_abs_error)
from .conv import conv2d_backward, conv2d_forward, conv2d_input_grad, conv2d_weight_grad
from .correlate import correlate2d, dilate2d, rot180
from .im2col import col2im, im2col
from .dense import (linear_backward, linear_forward, relu, relu_backward, sigmoid,
                    sigmoid_backward, softmax_cross_entropy)
from .pool import (avg_pool2d_backward, avg_pool2d_forward, max_pool2d_argmax,
                   max_pool2d_backward, max_pool2d_forward)
from .tiny_cnn import sgd_step, tiny_cnn_init, tiny_cnn_loss_and_grads, tiny_cnn_torch

__all__ = [
    "dilate2d", "rot180", "correlate2d",
    "conv2d_forward", "conv2d_weight_grad", "conv2d_input_grad", "conv2d_backward",
    "im2col", "col2im",
    "max_pool2d_forward", "max_pool2d_argmax", "max_pool2d_backward",
    "avg_pool2d_forward", "avg_pool2d_backward",
    "relu", "relu_backward", "sigmoid", "sigmoid_backward",
    "linear_forward", "linear_backward", "softmax_cross_entropy",
    "tiny_cnn_init", "tiny_cnn_loss_and_grads", "tiny_cnn_torch", "sgd_step",
    "max_abs_error",
    "Conv2dNumpyFunction", "MaxPool2dNumpyFunction", "AvgPool2dNumpyFunction",
]
