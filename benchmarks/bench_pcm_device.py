"""Time one SET pulse on every device of a PCMArray followed by a read of all, against its floor.

52,800 devices; one step = ``set_pulse`` (one pulse each) then ``read(t=3600 s)`` with
drift and read noise. It is timed for

- the Numba kernels (the ``PCMArray`` methods); the drift factors (t/t0)^(−ν) are
  kept per t, so a second variant reads at a new t every time and pays the exponentials;
- a plain vectorized NumPy version of the same step, written below (it keeps the drift
  factors too, so that it compares with the first variant);
- the bare cost of the 2 × 52,800 standard normal draws the step needs: with NumPy
  (``rng.standard_normal``, the floor of the NumPy version) and with
  ``minisnu.pcm.fast_normal.standard_normal`` (what the kernels are given).

The variants are interleaved round by round and the median of each is reported, with
the ratio to the NumPy version of the same run. Usage::

    python benchmarks/bench_pcm_device.py [--rounds 200]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from timing import print_ratios  # benchmarks/timing.py

from minisnu.pcm.device import PCMArray
from minisnu.pcm.fast_normal import standard_normal

N_DEVICES = 52_800
T_READ = 3600.0


class NumpyPCM:
    """The same step in vectorized NumPy: the arrays of PCMArray, whole-array expressions."""

    def __init__(self, arr: PCMArray, seed: int):
        self.g, self.p, self.rng = arr.g.copy(), arr.p.copy(), np.random.default_rng(seed)
        self.q, self.nu = arr.device, arr.nu.copy()
        self.factor_t, self.factor = None, None

    def step(self, t: float):
        q, n = self.q, self.g.size
        # SET pulse on every device
        self.p *= q.memory_factor
        mean = q.m1 * self.g + q.c1 + q.A1 * self.p
        std = q.m2 * self.g + q.c2 + q.A2 * self.p
        self.g = np.clip(self.g + (mean + std * self.rng.standard_normal(n)), q.g_set_min, q.g_max)
        # read at t: drift (factors kept per t) and read noise, clipped at 0
        if t != self.factor_t:
            self.factor_t, self.factor = t, np.exp(-self.nu * math.log(t / q.t0))
        g_t = self.g * self.factor
        return np.maximum(g_t + (q.m3 * g_t + q.c3) * self.rng.standard_normal(n), 0.0)


def numba_step(arr: PCMArray, mask: np.ndarray, t: float):
    arr.set_pulse(mask)
    return arr.read(t)


def numpy_draws(rng, n: int):
    rng.standard_normal(n)
    rng.standard_normal(n)


def fast_draws(rng, n: int):
    standard_normal(rng, n)
    standard_normal(rng, n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="timed rounds (median is reported)")
    args = parser.parse_args()

    arr = PCMArray(N_DEVICES, rng=0)
    arr_new_t = PCMArray(N_DEVICES, rng=1)
    numpy_pcm = NumpyPCM(PCMArray(N_DEVICES, rng=2), seed=3)
    mask = np.ones(N_DEVICES, bool)
    draw_rng, fast_rng = np.random.default_rng(4), np.random.default_rng(5)

    variants = {
        "numba (PCMArray)": lambda r: numba_step(arr, mask, T_READ),
        "numba, new t": lambda r: numba_step(arr_new_t, mask, T_READ + (r % 2)),
        "numpy vectorized": lambda r: numpy_pcm.step(T_READ),
        "numpy draws": lambda r: numpy_draws(draw_rng, N_DEVICES),
        "fast_normal draws": lambda r: fast_draws(fast_rng, N_DEVICES),
    }
    for f in variants.values():           # warm-up: Numba compilation, allocator, drift factors
        f(0)
        f(1)

    times = {name: [] for name in variants}
    for r in range(args.rounds):
        for name, f in variants.items():
            start = time.perf_counter()
            f(r)
            times[name].append(time.perf_counter() - start)

    print(f"one SET pulse on each of {N_DEVICES:,} PCM devices + read of all at t = {T_READ:.0f} s "
          f"with noise ({args.rounds} rounds, median)")
    print_ratios(times, "numpy vectorized", digits=3)


if __name__ == "__main__":
    main()
