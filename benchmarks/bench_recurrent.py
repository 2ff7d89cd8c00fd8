"""Time a recurrent layer's forward and backward (SNU, sSNU, LSTM), its loop compiled against its
loop in Python around BLAS, by size.

A recurrent layer needs a matrix product at every step: y_{t-1} H going forward, δu_{t+1} Hᵀ
going back. The engine runs the whole time loop compiled, those products included (spiking
units add only the rows of H of the units that fired), when batch × (size of H) is at most
``minisnu.units.recurrence.COMPILED_RECURRENCE``; above it, the loop runs in Python and BLAS
does each step's product. Here each size runs both ways, interleaved, with the bare products
of the Python way (x W once, one y H and one δu Hᵀ per step, the three weight-gradient and
input-gradient products) as the floor, and, when PyTorch is installed, its peer with the same
weights (the SNUs as an eager loop, ``torch_peers.py``; the LSTM as ``torch.nn.LSTM``). The B·|H|
where the ratio compiled / Python crosses 1 is what ``COMPILED_RECURRENCE`` should be on this
machine. Usage::

    python benchmarks/bench_recurrent.py [--rounds 21] [--steps 20]
"""

from __future__ import annotations

import argparse

import numpy as np
from timing import interleaved_times, median_ms  # benchmarks/timing.py
from torch_peers import SKIPPED, forward_backward, lstm_module, snu_module, torch_or_none

import minisnu as ms
from minisnu.units import recurrence

# (batch, units): JSB's hidden layer at batch 1 and the range up to the feed-forward benchmark's
SIZES = [(1, 150), (1, 256), (4, 150), (8, 256), (16, 256), (32, 256), (128, 256)]


def layer_step(layer, x, dy) -> None:
    layer.forward(x)
    layer.backward(dy)


UNITS = {"SNU": lambda n: ms.SNU(n, n, recurrent=True, rng=0),
         "sSNU": lambda n: ms.SNU(n, n, recurrent=True, soft=True, rng=0),
         "LSTM": lambda n: ms.LSTM(n, n, rng=0)}


def with_limit(limit, run, *inputs) -> None:
    """run(*inputs) with the compiled loop up to B·|H| = limit (inf: always, −1: never)."""
    recurrence.COMPILED_RECURRENCE = limit
    run(*inputs)


def bare_products(x, W, H, y, du) -> None:
    """The products the Python-loop engine makes, and nothing else."""
    T, B, n = x.shape
    a = x.reshape(T * B, n) @ W
    for t in range(T):
        a[t * B:(t + 1) * B] += y[t] @ H
    HT = H.T
    for t in range(T - 1):
        du[t] @ HT
    d2 = du.reshape(T * B, -1)
    x.reshape(T * B, n).T @ d2, y.reshape(T * B, -1).T @ d2, d2 @ W.T


def peer(torch, unit, layer, x, dy):
    """The PyTorch variant's (run, *inputs), or None without PyTorch."""
    if torch is None:
        return None
    model = lstm_module(torch, layer) if unit == "LSTM" else snu_module(torch, layer)
    return forward_backward, model, torch.from_numpy(x), torch.from_numpy(dy)


def time_size(torch, unit, batch, n, steps, rounds, rng) -> dict:
    layer = UNITS[unit](n)
    x = (rng.random((steps, batch, n)) < 0.2).astype(np.float32)
    dy = rng.standard_normal((steps, batch, n)).astype(np.float32)
    y = layer.forward(x)
    W, H = layer.params["W"], layer.params[layer.recurrent_weight]
    du = rng.standard_normal((steps, batch, H.shape[1])).astype(np.float32)
    variants = {
        "compiled": (with_limit, np.inf, layer_step, layer, x, dy),
        "python": (with_limit, -1, layer_step, layer, x, dy),
        "products": (bare_products, x, W, H, y, du),
    }
    if torch is not None:
        variants["pytorch"] = peer(torch, unit, layer, x, dy)
    saved = recurrence.COMPILED_RECURRENCE
    try:
        times = interleaved_times(variants, rounds)
    finally:
        recurrence.COMPILED_RECURRENCE = saved
    return {name: median_ms(ts) for name, ts in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21, help="timed rounds (median is reported)")
    parser.add_argument("--steps", type=int, default=20, help="time steps T")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    torch = torch_or_none()
    print(f"recurrent layer n → n, T = {args.steps}, input density 0.2, float32; {args.rounds} rounds; "
          "median ms of forward + backward")
    print(f"{'unit':>5} {'batch':>6} {'n':>5} {'B·|H|':>10} {'compiled':>9} {'python':>8} {'products':>9} "
          f"{'compiled/python':>16} {'best/products':>14} {'pytorch':>8} {'pytorch/best':>13}")
    for unit in UNITS:
        for batch, n in SIZES:
            ms_ = time_size(torch, unit, batch, n, args.steps, args.rounds, rng)
            best = min(ms_["compiled"], ms_["python"])
            size = batch * n * n * (4 if unit == "LSTM" else 1)
            print(f"{unit:>5} {batch:>6} {n:>5} {size:>10,} "
                  f"{ms_['compiled']:>9.2f} {ms_['python']:>8.2f} {ms_['products']:>9.2f} "
                  f"{ms_['compiled'] / ms_['python']:>16.2f} {best / ms_['products']:>14.2f}"
                  + (f" {ms_['pytorch']:>8.2f} {ms_['pytorch'] / best:>13.2f}" if torch else ""))
    if torch is None:
        print(SKIPPED)
    print(f"the engine compiles the whole loop up to B·|H| = COMPILED_RECURRENCE = "
          f"{recurrence.COMPILED_RECURRENCE:,}")


if __name__ == "__main__":
    main()
