"""Shared by the benchmark scripts: a classifier's training step, interleaved rounds, medians,
the table of ms and ratios."""

from __future__ import annotations

import time

import numpy as np

import minisnu as ms


def median_ms(times) -> float:
    """The median of a list of durations in seconds, in milliseconds."""
    return 1e3 * float(np.median(times))


def interleaved(variants: dict, rounds: int) -> dict:
    """Median ms of each variant (name -> (run, *inputs)), rounds interleaved, after a warm-up."""
    times = {name: [] for name in variants}
    for warm_up in [True] + [False] * rounds:
        for name, (run, *inputs) in variants.items():
            start = time.perf_counter()
            run(*inputs)
            if not warm_up:
                times[name].append(time.perf_counter() - start)
    return {name: median_ms(ts) for name, ts in times.items()}


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
