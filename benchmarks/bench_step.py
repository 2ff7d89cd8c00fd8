"""Time one training step of a 784-256-256-256-10 SNU network against its bare matrix products.

A step is forward, loss, backward and an Adam update, T = 20, batch 128,
float32, binary inputs at 20 % density. It is timed for

- the Numba engine (``engine="numba"``, the default),
- the NumPy reference (``engine="reference"``, one Python step per time step),
- the bare matrix products that any implementation of the same step must do:
  per layer the forward product X W, the input gradient dA Wᵀ and the weight
  gradient Xᵀ dA, as plain NumPy matmuls of the same shapes;
- its PyTorch peer (eager, autograd; ``torch_peers.py``) with the same weights,
  when PyTorch is installed. Its first loss is printed beside minisnu's: the two
  compute the same function.

The machines this runs on are noisy, so the variants are interleaved round by
round (``timing.interleaved_times``) and the median of each is reported, with the
ratio to the matmuls of the same run. Usage::

    python benchmarks/bench_step.py [--rounds 15] [--no-reference]
"""

from __future__ import annotations

import argparse
import tracemalloc
from itertools import pairwise

import numpy as np
from timing import interleaved_times, print_ratios, training_step  # benchmarks/timing.py
from torch_peers import classifier_peer, classifier_step, peer_ratio, torch_or_none

import minisnu as ms

SIZES = (784, 256, 256, 256, 10)
T, BATCH, DENSITY = 20, 128, 0.2


def build(engine: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    layers = [ms.SNU(n_in, n_out, rng=rng, engine=engine) for n_in, n_out in pairwise(SIZES)]
    layers[0].input_gradient = False     # the input spikes are data, as in training
    net = ms.Sequential(*layers, ms.Readout("mean"))
    return net, ms.optim.Adam(net, lr=1e-3)


def peak_memory(net, opt, x, labels) -> tuple[float, float]:
    """(peak bytes NumPy allocates during one training step, bytes of the states BPTT must
    keep: s_t and y_t of every layer, every step), by tracemalloc."""
    tracemalloc.start()
    training_step(net, opt, x, labels)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    kept = sum(2 * (T + 1) * BATCH * n * np.dtype(np.float32).itemsize for n in SIZES[1:])
    return peak, kept


def bare_matmuls(xs, das, weights):
    for x, da, w in zip(xs, das, weights):
        x @ w            # forward: a = x W
        da @ w.T         # input gradient: dx = δa Wᵀ
        x.T @ da         # weight gradient: dW = xᵀ δa



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds (median is reported)")
    parser.add_argument("--no-reference", action="store_true", help="skip the slow NumPy reference")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = (rng.random((T, BATCH, SIZES[0])) < DENSITY).astype(np.float32)
    labels = rng.integers(0, SIZES[-1], BATCH)
    variants = {"numba engine": build("numba")}
    if not args.no_reference:
        variants["numpy reference"] = build("reference")

    # The same shapes as the network's products, rows = T·B.
    rows = T * BATCH
    xs = [(rng.random((rows, n)) < DENSITY).astype(np.float32) for n in SIZES[:-1]]
    das = [rng.standard_normal((rows, n)).astype(np.float32) for n in SIZES[1:]]
    weights = [layer.params["W"] for layer in variants["numba engine"][0].layers[:-1]]

    torch = torch_or_none()
    peer = classifier_peer(torch, variants["numba engine"][0], x, labels)   # the initial weights

    first = {name: training_step(net, opt, x, labels)    # the first step of each: the loss
             for name, (net, opt) in variants.items()}
    timed = {"bare matmuls": (bare_matmuls, xs, das, weights)}
    timed.update({name: (training_step, net, opt, x, labels) for name, (net, opt) in variants.items()})
    if peer is not None:
        first["pytorch eager"] = classifier_step(torch, *peer)
        ours, theirs = variants["numba engine"][0].layers[0].grads["W"], peer[0][0].W.grad.numpy()
        gradient_gap = np.abs(ours - theirs).max() / np.abs(ours).max()
        timed["pytorch eager"] = (classifier_step, torch, *peer)
    # the reference is slow and not the point: 3 rounds suffice
    times = interleaved_times(timed, args.rounds, at_most={"numpy reference": 3})

    print(f"one training step, {'-'.join(map(str, SIZES))} SNU, T={T}, batch {BATCH}, float32, "
          f"{DENSITY:.0%} input density ({args.rounds} rounds, median)")
    peak, kept = peak_memory(*variants["numba engine"], x, labels)
    print(f"peak memory of a step (tracemalloc) {peak / 1e6:.1f} MB, the states BPTT keeps "
          f"{kept / 1e6:.1f} MB: {peak / kept:.2f}x")
    print("first loss (same weights, same batch): " +
          ", ".join(f"{name} {loss:.6f}" for name, loss in first.items()))
    if peer is not None:
        print(f"first layer's ∂L/∂W, max |minisnu − pytorch| / max |minisnu|: {gradient_gap:.1e}")
    print_ratios(times, "bare matmuls", digits=1)
    print(peer_ratio(torch, times, "numba engine"))


if __name__ == "__main__":
    main()
