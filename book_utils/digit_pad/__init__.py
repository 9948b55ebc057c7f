"""Draw a digit, watch the LeNet-5 of page 06 read it: in the reader's browser, no kernel.

The recorded full run of page 06 ships its weights (``results/lenet_weights.json``, float16);
the page runs the network in plain JavaScript (``web/lenet.js``, callable as
``window.cnnBook.lenet.predict(pixels)``) under a drawing pad (``web/pad.js``, ``web/pad.css``),
all inlined into one cell output that works in the built HTML (also from ``file://``) and in
Jupyter or Colab.

Modules
=============  ==============================================================================
module         what it holds
=============  ==============================================================================
``weights``    save/load the float16 weights JSON; the PyTorch model with exactly those numbers
``prepare``    a drawing -> a 28x28 MNIST-style input (Python reference of the page's script)
``page``       the pad's self-contained HTML, the notebook display, a standalone page
=============  ==============================================================================

Example::

    from book_utils import digit_pad
    digit_pad.show_pad()           # in a notebook cell: the pad
    digit_pad.shipped_model()      # the same network in PyTorch
"""
from .weights import (MODEL_VARIANT, TENSOR_SHAPES, WEIGHTS_PATH, check_state_dict,
                      load_weights, read_weights_file, round_state_dict, save_weights,
                      shipped_model)
from .prepare import INK_THRESHOLD, area_matrix, prepare_drawing
from .page import (WEB_DIR, first_of_each_class, mnist_samples, pad_html, sample_spec,
                   show_pad, standalone_page, web_asset)

__all__ = ["MODEL_VARIANT", "TENSOR_SHAPES", "WEIGHTS_PATH", "check_state_dict", "load_weights",
           "read_weights_file", "round_state_dict", "save_weights", "shipped_model",
           "INK_THRESHOLD", "area_matrix", "prepare_drawing", "WEB_DIR", "first_of_each_class",
           "mnist_samples", "pad_html", "sample_spec", "show_pad", "standalone_page",
           "web_asset"]
