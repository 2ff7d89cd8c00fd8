"""Time one training step of a small MNIST CNN made of convolutional SNUs against the bare
im2col matrix products of its convolutions.

The network is the classic two-convolution MNIST CNN (as in TensorFlow's and PyTorch's
MNIST examples, and the kind of "standard CNN" the paper turned into SNUs), every
neuron an SNU, no padding:

    28×28×1 -> ConvSNU 5×5, 1 -> 32 -> 24×24×32 -> MaxPool 2 -> 12×12×32
            -> ConvSNU 5×5, 32 -> 64 -> 8×8×64 -> MaxPool 2 -> 4×4×64 -> Flatten 1024
            -> SNU 1024 -> 10 -> Readout mean

A step is forward, softmax cross-entropy on the output rates, backward and an Adam
update; batch 64, T = 30, float32, Bernoulli input at 20 % density. It is compared with
the products that any im2col implementation of the same convolutions must do, plain
NumPy matmuls of the same shapes (rows = T·B·H'·W' patches, columns = C·kh·kw), into
arrays made beforehand:

    forward  A = cols W2ᵀ      weight gradient  δAᵀ cols      input gradient  δA W2

(the last for the second convolution only: the first one's input is data, and neither
the network nor the baseline computes a gradient for it).

When PyTorch is installed its eager peer with the same weights runs too (``torch_peers.py``:
conv2d for all steps at once, the SNU's time loop in Python with autograd), with the ratio
PyTorch / minisnu. The variants are interleaved round by round and the median reported. A step takes
seconds, so the default is 5 rounds. Usage::

    python benchmarks/bench_conv.py [--rounds 5] [--profile]

``--profile`` also times each layer's forward and backward once (where the time goes).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from timing import interleaved_times, median_ms, print_ratios, training_step  # benchmarks/timing.py
from torch_peers import classifier_peer, classifier_step, peer_ratio, torch_or_none

import minisnu as ms

T, BATCH, DENSITY, SIDE = 30, 64, 0.2, 28
CONVS = ((1, 32, 5, 28), (32, 64, 5, 12))     # (C, O, k, input side) of each convolution


def build(seed: int = 0):
    rng = np.random.default_rng(seed)
    net = ms.Sequential(ms.ConvSNU(1, 32, 5, rng=rng), ms.MaxPool2d(2),
                        ms.ConvSNU(32, 64, 5, rng=rng), ms.MaxPool2d(2), ms.Flatten(),
                        ms.SNU(1024, 10, rng=rng), ms.Readout("mean"))
    net.layers[0].input_gradient = False     # the input spikes are data, as in training
    return net, ms.optim.Adam(net, lr=1e-3)


def gemm_operands(rng):
    """cols, δA and W2 of each convolution, the shapes of the network's products, and
    arrays for their results (written in place: the products alone, no allocation)."""
    operands = []
    for C, O, k, side in CONVS:
        rows = T * BATCH * (side - k + 1) ** 2
        cols = (rng.random((rows, C * k * k)) < DENSITY).astype(np.float32)
        da = rng.standard_normal((rows, O)).astype(np.float32)
        w2 = rng.standard_normal((O, C * k * k)).astype(np.float32)
        outputs = (np.zeros_like(da), np.zeros_like(w2), np.zeros_like(cols))
        operands.append((cols, da, w2, outputs))
    return operands


def bare_gemms(operands):
    for layer, (cols, da, w2, (a, dw2, dcols)) in enumerate(operands):
        np.matmul(cols, w2.T, out=a)        # forward: A = cols W2ᵀ
        np.matmul(da.T, cols, out=dw2)      # weight gradient: δAᵀ cols
        if layer > 0:                       # the first layer's input is data: no ∂L/∂x
            np.matmul(da, w2, out=dcols)    # input gradient: ∂L/∂cols = δA W2


def profile(net, x, labels):
    """Each layer's forward and backward once, in ms."""
    h, forward = x, []
    for layer in net.layers:
        start = time.perf_counter()
        h = layer.forward(h)
        forward.append(time.perf_counter() - start)
    _, grad = ms.losses.softmax_cross_entropy(h * 10, labels)
    g = grad * 10
    print(f"{'layer':<28} {'forward ms':>11} {'backward ms':>12}")
    backward = []
    for layer in reversed(net.layers):
        start = time.perf_counter()
        g = layer.backward(g)
        backward.append(time.perf_counter() - start)
    for layer, f, b in zip(net.layers, forward, reversed(backward)):
        print(f"{type(layer).__name__:<28} {1e3 * f:>11.1f} {1e3 * b:>12.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (median is reported)")
    parser.add_argument("--profile", action="store_true", help="time each layer once as well")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = (rng.random((T, BATCH, 1, SIDE, SIDE)) < DENSITY).astype(np.float32)
    labels = rng.integers(0, 10, BATCH)
    net, opt = build()
    operands = gemm_operands(rng)
    torch = torch_or_none()
    peer = classifier_peer(torch, net, x, labels)   # built before any step: the initial weights
    first = {"conv-SNU step": training_step(net, opt, x, labels)}   # warm-up: compilation, allocator
    if peer is not None:
        first["pytorch eager"] = classifier_step(torch, *peer)
    bare_gemms(operands)

    timed = {"bare im2col GEMMs": (bare_gemms, operands),
             "conv-SNU step": (training_step, net, opt, x, labels)}
    if peer is not None:
        timed["pytorch eager"] = (classifier_step, torch, *peer)
    times = interleaved_times(timed, args.rounds)

    print(f"one training step, conv 5x5 1->32, pool 2, conv 5x5 32->64, pool 2, SNU 1024->10; "
          f"T={T}, batch {BATCH}, float32, {DENSITY:.0%} input density ({args.rounds} rounds, median)")
    print("first loss (same weights, same batch): " +
          ", ".join(f"{name} {loss:.6f}" for name, loss in first.items()))
    print_ratios(times, "bare im2col GEMMs", digits=1)
    print(peer_ratio(torch, times, "conv-SNU step"))
    ratio = median_ms(times["conv-SNU step"]) / median_ms(times["bare im2col GEMMs"])
    print(f"ratio {ratio:.2f}x (target <= 1.3x)")
    if args.profile:
        profile(net, x, labels)


if __name__ == "__main__":
    main()
