"""Time an SNU layer's forward and backward on spikes, event-driven against dense, by density.

For each input density (the share of inputs that spike at a step) one SNU layer of 256 → 256
units, T = 20, batch 128, float32, runs forward and backward twice: with its products
event-driven (``minisnu.core.events``: the input's active entries listed once, then
x W and xᵀ δ summed over them) and dense (``layer.event_driven = False``: BLAS). The two
products alone are timed the same way. Rounds interleave the variants; medians are reported,
with the ratio event-driven / dense of the same run. The density where the ratio of the
products crosses 1 is where ``minisnu.core.events.event_density()`` should be on this machine
with this many BLAS threads (below it ``events_of`` picks the event-driven kernels, above it
BLAS; it is ``CROSSOVER_ONE_THREAD`` divided by the threads). Usage::

    python benchmarks/bench_events.py [--rounds 21] [--densities 0.02 0.05 0.1 0.2 0.5]
"""

from __future__ import annotations

import argparse
from unittest import mock

import numpy as np
from timing import interleaved  # benchmarks/timing.py

import minisnu as ms
from minisnu.core import events
from minisnu.core.blas import blas_threads

T, BATCH, N_IN, N_OUT = 20, 128, 256, 256


def layer_step(layer, x, dy) -> None:
    layer.forward(x)
    layer.backward(dy)


def products_events(x2, W, delta, grad) -> None:
    active = events.active_inputs(x2)
    events.matmul(x2, W, active)
    events.add_outer(grad, x2, delta, active)


def products_dense(x2, W, delta, grad) -> None:
    x2 @ W
    grad += x2.T @ delta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21, help="timed rounds (median is reported)")
    parser.add_argument("--densities", type=float, nargs="+", default=[0.02, 0.05, 0.1, 0.2, 0.5])
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    layers = {"events": ms.SNU(N_IN, N_OUT, rng=0), "dense": ms.SNU(N_IN, N_OUT, rng=0)}
    layers["dense"].event_driven = False
    dy = rng.standard_normal((T, BATCH, N_OUT)).astype(np.float32)
    W = layers["dense"].params["W"]
    grad = np.zeros_like(W)
    print(f"SNU layer {N_IN} → {N_OUT}, T = {T}, batch {BATCH}, float32; {args.rounds} rounds; "
          f"median ms (events / dense)")
    print(f"{'density':>8} {'layer events':>13} {'layer dense':>12} {'ratio':>6}   "
          f"{'products events':>16} {'products dense':>15} {'ratio':>6}")
    # The layer at any density takes the event-driven path here, so that its cost is measured
    # also above the crossover where events_of would leave it to BLAS.
    with mock.patch.object(events, "EVENT_DENSITY", 1.0):
        for density in args.densities:
            x = (rng.random((T, BATCH, N_IN)) < density).astype(np.float32)
            x2, delta = x.reshape(-1, N_IN), dy.reshape(-1, N_OUT)
            variants = {"layer events": (layer_step, layers["events"], x, dy),
                        "layer dense": (layer_step, layers["dense"], x, dy),
                        "products events": (products_events, x2, W, delta, grad),
                        "products dense": (products_dense, x2, W, delta, grad)}
            ms_ = interleaved(variants, args.rounds)    # after a warm-up: compilation, allocator
            print(f"{density:>8.2f} {ms_['layer events']:>13.2f} {ms_['layer dense']:>12.2f} "
                  f"{ms_['layer events'] / ms_['layer dense']:>6.2f}   {ms_['products events']:>16.2f} "
                  f"{ms_['products dense']:>15.2f} {ms_['products events'] / ms_['products dense']:>6.2f}")
    print(f"events_of picks the event-driven kernels at densities up to {events.event_density():.3g} "
          f"(CROSSOVER_ONE_THREAD = {events.CROSSOVER_ONE_THREAD} / {blas_threads()} BLAS threads)")


if __name__ == "__main__":
    main()
