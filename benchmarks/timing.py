"""Shared by the benchmark scripts: a classifier's training step, interleaved rounds, medians,
the table of ms and ratios."""

from __future__ import annotations

import time

import numpy as np

import minisnu as ms


def median_ms(times) -> float:
    """The median of a list of durations in seconds, in milliseconds."""
    return 1e3 * float(np.median(times))


def interleaved_times(variants: dict, rounds: int, *, at_most: dict | None = None) -> dict:
    """The durations in seconds of each variant (name -> (run, *inputs)), one per round, after
    a warm-up round (compilation, the allocator); ``at_most`` caps some variants' rounds (name
    -> count: a slow one that is not the point).

    Round k starts with the k-th variant and goes round the list from there: a variant that
    always ran right after the same other one would pay for what that one leaves behind (a
    library's threads that spin on a core after its call, caches full of its arrays). Measured
    with PyTorch in the rounds, the variant that always came after it ran up to 2× slower.
    """
    names = list(variants)
    at_most = at_most or {}
    times = {name: [] for name in names}
    for k in range(-1, rounds):                        # k = −1: the warm-up round
        for name in names[max(k, 0) % len(names):] + names[:max(k, 0) % len(names)]:
            if k >= 0 and len(times[name]) >= at_most.get(name, rounds):
                continue
            run, *inputs = variants[name]
            start = time.perf_counter()
            run(*inputs)
            if k >= 0:
                times[name].append(time.perf_counter() - start)
    return times


def interleaved(variants: dict, rounds: int) -> dict:
    """Median ms of each variant (name -> (run, *inputs)), by ``interleaved_times``."""
    return {name: median_ms(ts) for name, ts in interleaved_times(variants, rounds).items()}


def print_ratios(times: dict, base: str, *, digits: int = 1) -> None:
    """One row per variant: its median in ms and its ratio to the ``base`` variant's median."""
    reference = median_ms(times[base])
    width = max(len(name) for name in times) + 2
    print(f"{'variant':<{width}} {'ms':>9} {'ratio to ' + base:>{len(base) + 12}}")
    for name, ts in times.items():
        value = median_ms(ts)
        print(f"{name:<{width}} {value:>9.{digits}f} {value / reference:>{len(base) + 11}.2f}x")


def training_step(net, opt, x, labels) -> float:
    """One step of a spiking classifier: forward, softmax cross-entropy on the rates (×10 as
    logits), backward, the optimizer's update; the loss."""
    opt.zero_grad()
    rates = net.forward(x)
    loss, grad = ms.losses.softmax_cross_entropy(rates * 10, labels)   # logits: scaled rates
    net.backward(grad * 10)
    opt.step()
    return loss
