"""Shared by the benchmark scripts: medians and the table of milliseconds and ratios."""

from __future__ import annotations

import numpy as np


def median_ms(times) -> float:
    """The median of a list of durations in seconds, in milliseconds."""
    return 1e3 * float(np.median(times))


def print_ratios(times: dict, base: str, *, digits: int = 1) -> None:
    """One row per variant: its median in ms and its ratio to the ``base`` variant's median."""
    reference = median_ms(times[base])
    width = max(len(name) for name in times) + 2
    print(f"{'variant':<{width}} {'ms':>9} {'ratio to ' + base:>{len(base) + 12}}")
    for name, ts in times.items():
        value = median_ms(ts)
        print(f"{name:<{width}} {value:>9.{digits}f} {value / reference:>{len(base) + 11}.2f}x")
