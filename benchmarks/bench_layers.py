"""Speed of the hand-written layers against PyTorch's, and of LeNet-5 training steps.

Prints, for the current device (CPU unless CUDA is available):
1. one forward + backward pass of each LeNet-5 convolution layer, for the loop version,
   the im2col version and ``nn.Conv2d``;
2. max pooling: loop, strided windows, ``F.max_pool2d``;
3. full LeNet-5 training steps per second (batch 64) built from each kind of layer.

Usage: python benchmarks/bench_layers.py [--repeats N] [--threads T]
"""
import argparse
import torch
import torch.nn.functional as F
from torch import nn

from book_utils import layers, train
from book_utils.timing import time_ms
from book_utils.models import LeNet5


def forward_backward(layer, x):
    def run():
        x_in = x.detach().requires_grad_(True)
        layer(x_in).sum().backward()
    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = train.choose_device()
    print(f"device: {train.device_name(device)}, torch {torch.__version__}, batch 64\n")

    torch.manual_seed(0)
    print(f"{'layer':34s} {'loop':>10s} {'vectorised':>11s} {'torch':>10s}   (ms, forward+backward)")
    for cin, cout, k, pad, size in [(1, 6, 5, 2, 28), (6, 16, 5, 0, 14), (16, 120, 5, 0, 5)]:
        x = torch.randn(64, cin, size, size)
        row = [time_ms(forward_backward(cls(cin, cout, k, padding=pad), x), args.repeats)
               for cls in (layers.Conv2dLoop, layers.Conv2dIm2col, nn.Conv2d)]
        print(f"conv {cin:>3d}->{cout:<3d} k={k} p={pad} on {size}x{size}".ljust(34)
              + "".join(f"{v:11.2f}" for v in row))
    x = torch.randn(64, 6, 28, 28)
    row = [time_ms(forward_backward(layer, x), args.repeats)
           for layer in (layers.MaxPool2dLoop(2), layers.MaxPool2dWindows(2), nn.MaxPool2d(2))]
    print("max pool 2x2 on 6x28x28".ljust(34) + "".join(f"{v:11.2f}" for v in row))

    print("\nLeNet-5 training steps (Adam, batch 64):")
    batch = torch.randn(64, 1, 28, 28, device=device)
    target = torch.randint(0, 10, (64,), device=device)
    for name, conv, pool in [("hand-written loop", layers.Conv2dLoop, layers.MaxPool2dLoop),
                             ("hand-written vectorised", layers.Conv2dIm2col, layers.MaxPool2dWindows),
                             ("nn.Conv2d / nn.MaxPool2d", None, None)]:
        model = LeNet5(conv=conv, pool=pool).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)

        def step():
            loss = F.cross_entropy(model(batch), target)
            opt.zero_grad()
            loss.backward()
            opt.step()
        ms = time_ms(step, args.repeats, device=device)
        print(f"  {name:26s} {ms:8.2f} ms/step  = {64000 / ms:9.0f} images/s")


if __name__ == "__main__":
    main()
