"""Time the all-memristive layer's time loop: the Numba kernel against the NumPy step, in synaptic events/s.

M = 1,000 inputs at 1 % per step, four correlated groups (50, 100, 150 and 200 inputs
at c = 0.5), N = 4 level-tuned PCM neurons, T = 100,000 steps: the neurons' integration,
their pulses and RESETs, and STDP on every output spike, as in the correlation
experiment. A synaptic event is one input spike reaching one synapse (input spikes × N).
It is timed for

- the Numba kernel (``MemristiveNetwork.run``, ``engine="numba"``) over all T steps;
- the NumPy reference of the same loop (``engine="reference"``), vectorised over inputs and
  neurons, one Python iteration per time step; it needs seconds per 10,000 steps, so it
  runs the first ``--reference-steps`` steps (10,000 by default) and its time is scaled
  to T by the ratio of steps (the work per step is even: the same inputs, rate and
  spiking throughout).

Each round starts from a fresh network of the same seed; the median of each variant is
reported, with the ratio to the NumPy step of the same run. Usage::

    python benchmarks/bench_memristive.py [--rounds 5] [--reference-steps 10000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from timing import median_ms, print_ratios  # benchmarks/timing.py

from minisnu.data.correlated import correlated_spikes
from minisnu.memristive import MemristiveNetwork, level_bands

M, N, T, RATE = 1000, 4, 100_000, 0.01
GROUPS = [(50, 0.5), (100, 0.5), (150, 0.5), (200, 0.5)]


def build() -> MemristiveNetwork:
    return MemristiveNetwork(M, N, levels=level_bands(M, RATE, GROUPS), rng=1)


def timed_run(x, engine: str) -> float:
    net = build()
    start = time.perf_counter()
    net.run(x, engine=engine, record_every=len(x), trace_steps=1)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (median is reported)")
    parser.add_argument("--reference-steps", type=int, default=10_000,
                        help="steps the NumPy reference runs (its time is scaled to T)")
    args = parser.parse_args()

    x, _ = correlated_spikes(T, M, RATE, GROUPS, rng=0)
    x_reference = x[:args.reference_steps]
    scale = T / len(x_reference)
    timed_run(x[:1000], "numba")                      # warm-up: Numba compilation (or its cache)
    timed_run(x[:100], "reference")

    times = {"numba kernel": [], "numpy step": []}
    for _ in range(args.rounds):
        times["numba kernel"].append(timed_run(x, "numba"))
        times["numpy step"].append(timed_run(x_reference, "reference") * scale)

    events = int(x.sum(dtype=np.int64)) * N
    spikes = build().run(x, record_every=T, trace_steps=1)
    print(f"M = {M:,} inputs at {RATE:.0%} per step, N = {N} level-tuned PCM neurons, T = {T:,} steps: "
          f"{events:,} synaptic events, {sum(len(s) for s in spikes.spike_times):,} output spikes "
          f"({args.rounds} rounds, median; the NumPy step timed on {len(x_reference):,} steps, scaled to T)")
    print_ratios(times, "numpy step", digits=1)
    for name, ts in times.items():
        print(f"{name}: {events / (median_ms(ts) / 1e3):,.0f} synaptic events/s")
    speedup = median_ms(times["numpy step"]) / median_ms(times["numba kernel"])
    print(f"the Numba kernel is {speedup:.0f}x faster than the NumPy step")


if __name__ == "__main__":
    main()
