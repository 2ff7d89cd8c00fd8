"""Plots of phase-change memory: conductances as devices are programmed, and their drift.

- :func:`conductance_evolution`: the conductances of many devices under SET
  pulses: mean, spread, a few single devices, published values;
- :func:`drift`: conductance against time since programming, on a logarithmic
  axis from 1 s to a year (:math:`G(t) = G_0 (t/t_0)^{−ν}`);
- :func:`log_time_axis`: that axis, with ticks named 1 s, 1 min, ..., 1 year,
  for any plot against time since programming.

Conductances are in µS and times in seconds; :data:`~minisnu.core.timespans.MINUTE`,
:data:`~minisnu.core.timespans.HOUR`, :data:`~minisnu.core.timespans.DAY`,
:data:`~minisnu.core.timespans.MONTH` and :data:`~minisnu.core.timespans.YEAR` are
those spans in seconds (from :mod:`minisnu.core.timespans`).
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import (
    FixedFormatter,
    FixedLocator,
    MaxNLocator,
    NullFormatter,
    NullLocator,
)

from ..core.timespans import DAY, HOUR, MINUTE, MONTH, YEAR
from .figure import BLUE, PALETTE, VERMILLION, get_axes, real_array, set_labels, style

#: Readable ticks for a logarithmic time axis, in seconds.
TIME_TICKS = {"1 s": 1.0, "1 min": MINUTE, "1 h": HOUR, "1 day": DAY, "1 month": MONTH,
              "1 year": YEAR}


def _mean_band(ax, x, values, *, band, color, label, n_label="devices"):
    """Mean over the last axis of ``values`` (len(x), n), with a shaded spread band.

    ``band``: "std" (mean ± 1 standard deviation), "percentile" (5th to 95th
    percentile) or None (mean only).
    """
    mean = values.mean(axis=1)
    line, = ax.plot(x, mean, color=color, label=label)
    if band == "std":
        std = values.std(axis=1)
        low, high, what = mean - std, mean + std, "± 1 s.d."
    elif band == "percentile":
        low, high = np.percentile(values, [5, 95], axis=1)
        what = "5–95 %"
    elif band is None:
        return line
    else:
        raise ValueError(f"band must be 'std', 'percentile' or None, got {band!r}")
    ax.fill_between(x, low, high, color=line.get_color(), alpha=0.22, linewidth=0,
                    label=f"{what} ({values.shape[1]} {n_label})")
    return line



@style()
def conductance_evolution(g, steps=None, ax=None, *, band="std", traces=0, mean=True, color=BLUE,
                          label="mean", reference=None, reference_label="published mean",
                          rng=0, title=None, xlabel="number of SET pulses",
                          ylabel="conductance $G$ (µS)") -> Axes:
    """Conductances of many devices as they are programmed: mean, spread, a few devices.

    Parameters
    ----------
    g : array (steps, devices), or (steps,) for one device, µS
        G of every device after each step (e.g. after 0, 1, 2, ... SET pulses).
    steps : array (steps,), optional
        The x values (0, 1, 2, ... by default).
    ax : matplotlib Axes, optional
    band : {"std", "percentile", None}
        The shaded spread: "std" (mean ± 1 s.d.), "percentile" (5–95 %) or None.
    traces : int or "all"
        Number of individual devices to draw as thin lines (picked at random
        with ``rng``), or "all".
    mean : bool
        Draw the mean over the devices (with its band).
    color, label
        Of the mean line.
    reference : (x, y) pair of arrays, or a dict {x: y}, optional
        Published values drawn as markers labelled ``reference_label``.
    title, xlabel, ylabel
        Text of the axes.

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on.
    """
    g = real_array("g", g, (1, 2), "(steps, devices) or (steps,), in µS")
    g = g.reshape(len(g), -1)
    x = np.arange(len(g)) if steps is None else real_array("steps", steps, 1, f"({len(g)},)")
    if len(x) != len(g):
        raise ValueError(f"steps must have one value per row of g ({len(g)}), got {len(x)}")
    ax = get_axes(ax, figsize=(5.5, 3.6))
    n = g.shape[1]
    pick = np.arange(n) if traces == "all" else np.random.default_rng(rng).permutation(n)[:int(traces)]
    for i, device in enumerate(pick):
        if mean:       # thin and faint: examples behind the mean
            ax.plot(x, g[:, device], color=color, alpha=0.45, linewidth=0.7,
                    label="single devices" if i == 0 else None)
        else:          # the devices are the subject: one colour each
            ax.plot(x, g[:, device], color=PALETTE[i % len(PALETTE)], linewidth=1.3,
                    label=f"device {device}")
    if np.issubdtype(x.dtype, np.integer):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))    # pulse counts are whole numbers
    if mean:
        _mean_band(ax, x, g, band=band if n > 1 else None, color=color, label=label)
    if reference is not None:
        rx, ry = zip(*reference.items()) if isinstance(reference, dict) else reference
        ax.plot(rx, ry, linestyle="none", marker="D", markersize=6, color=VERMILLION,
                markeredgecolor="white", label=reference_label, zorder=5)
    ax.legend(loc="lower right")
    set_labels(ax, title, xlabel, ylabel)
    return ax


def log_time_axis(ax, start=1.0, stop=YEAR, axis="x") -> Axes:
    """Make ``ax``'s x (or y) axis logarithmic in seconds, with named ticks.

    The ticks are those of :data:`TIME_TICKS` between ``start`` and ``stop``:
    1 s, 1 min, 1 h, 1 day, 1 month, 1 year. Returns ``ax``.
    """
    scale, lim, long = ((ax.set_xscale, ax.set_xlim, ax.xaxis) if axis == "x"
                        else (ax.set_yscale, ax.set_ylim, ax.yaxis))
    scale("log")
    lim(start, stop)
    ticks = {name: t for name, t in TIME_TICKS.items() if start <= t <= stop}
    long.set_major_locator(FixedLocator(list(ticks.values())))
    long.set_major_formatter(FixedFormatter(list(ticks)))
    long.set_minor_locator(NullLocator())         # decades would crowd the named ticks
    long.set_minor_formatter(NullFormatter())
    return ax


@style()
def drift(t, g, ax=None, *, band="std", color=None, label=None, start=1.0, stop=YEAR,
          title=None, xlabel="time since programming", ylabel="conductance $G$ (µS)") -> Axes:
    """Conductance against time on a log axis from 1 s to a year (drift: :math:`G(t) = G_0 (t/t_0)^{−ν}`).

    Parameters
    ----------
    t : array (times,)
        Seconds > 0 since programming.
    g : array (times,) (one curve) or (times, devices) (mean and spread), µS
    ax : matplotlib Axes, optional
        Call again on the same axes for more levels.
    band : {"std", "percentile", None}
        Spread of a 2-d ``g`` (see :func:`conductance_evolution`).
    color, label
        Of the curve.
    start, stop : float
        The time span shown, in seconds (1 s to a year by default).
    title, xlabel, ylabel
        Text of the axes.

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on; its x axis is logarithmic, with ticks at 1 s, 1 min,
        1 h, 1 day, 1 month and 1 year.
    """
    t = real_array("t", t, 1, "(times,), in seconds")
    if t.size and t.min() <= 0:
        raise ValueError(f"t must be > 0 seconds on a logarithmic axis, got a minimum of {t.min()}")
    g = real_array("g", g, (1, 2), f"({len(t)},) or ({len(t)}, devices), in µS")
    if len(g) != len(t):
        raise ValueError(f"g must have one row per time ({len(t)}), got {len(g)}")
    ax = get_axes(ax, figsize=(6.0, 3.6))
    if g.ndim == 1:
        ax.plot(t, g, color=color, label=label)
    else:
        _mean_band(ax, t, g, band=band, color=color, label=label)
    log_time_axis(ax, start, stop)
    if label is not None:
        ax.legend(loc="best")
    set_labels(ax, title, xlabel, ylabel)
    return ax
