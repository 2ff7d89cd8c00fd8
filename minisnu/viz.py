r"""Plotting helpers for spiking units and phase-change memory, with Matplotlib.

Every plotting function draws on the Matplotlib ``Axes`` passed as ``ax`` (a new
figure when ``ax`` is None) and returns the axes it drew on, so calls compose
and a figure is saved in one line::

    >>> from minisnu import viz
    >>> y = layer.forward(x)                      # (T, B, units)
    >>> ax = viz.raster(y[:, 0])                  # the spikes of sample 0
    >>> viz.save(ax.figure, "figures/spikes.png")

What is here:

- spiking units: :func:`raster`, :func:`membrane_trace`, :func:`surrogates`;
- music (JSB piano rolls): :func:`piano_roll`, :func:`note_probabilities`;
- phase-change memory: :func:`conductance_evolution`, :func:`drift` (and
  :func:`log_time_axis`), :func:`histogram`, :func:`heatmap`, :func:`parity`,
  :func:`bars`;
- training: :func:`training_curves`;
- the look and the files: :func:`style`, :func:`legend`, :func:`save`.

Conventions, the same as the rest of minisnu: arrays are time-major, (T, units);
time steps are numbered t = 1..T as in the equations; conductances are in µS and
times in seconds.

Look. The functions draw under :func:`style` (a ``matplotlib.rc_context``), so
their fonts, colours and line widths agree wherever they are called; wrap your
own figures in ``with viz.style():`` to match them. Importing this module does
not import ``matplotlib.pyplot`` (and so picks no backend): pyplot is imported
only when a function has to make a new figure. Nothing here calls ``plt.show()``.
"""

from __future__ import annotations

import os
import sys

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.ticker import (
    FixedFormatter,
    FixedLocator,
    MaxNLocator,
    NullFormatter,
    NullLocator,
)

from .core.io import atomic_write
from .units.surrogate import SURROGATES, primitive, pseudo_derivative

#: Resolution of the PNG files written by :func:`save`.
DPI = 150

#: Okabe & Ito's palette: distinguishable with every common colour-vision deficiency.
BLUE, VERMILLION, GREEN, PURPLE, ORANGE, SKY, YELLOW = (
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442")
PALETTE = (BLUE, VERMILLION, GREEN, PURPLE, ORANGE, SKY, "#000000")
SPIKE = "#000000"
THRESHOLD = VERMILLION

#: The rc settings :func:`style` applies; edit this dict to change the look everywhere.
STYLE = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 100,
    "figure.constrained_layout.use": True,   # room for labels and colour bars, no overlaps
    "savefig.dpi": DPI,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 8.5,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "axes.prop_cycle": mpl.cycler(color=PALETTE),
    "legend.frameon": False,
    "lines.linewidth": 1.6,
    "lines.markersize": 4,
    "image.cmap": "viridis",
}

#: Readable ticks for a logarithmic time axis, in seconds.
MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0
YEAR = 365.25 * DAY
MONTH = YEAR / 12
TIME_TICKS = {"1 s": 1.0, "1 min": MINUTE, "1 h": HOUR, "1 day": DAY, "1 month": MONTH,
              "1 year": YEAR}

#: MIDI note 21 is A0, the lowest key of an 88-key piano (what JSB piano rolls start at).
LOWEST_NOTE = 21
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def style():
    """The minisnu look, as a context manager (or a decorator).

    ``with viz.style(): fig, ax = plt.subplots()`` makes a figure that matches
    the helpers here: Okabe–Ito colours, light grid, no top and right spines,
    constrained layout. The settings are :data:`STYLE`.
    """
    return mpl.rc_context(STYLE)


# --- small shared pieces --------------------------------------------------------------------


def _axes(ax, figsize=None) -> Axes:
    """``ax``, or the axes of a new figure (pyplot is imported only here, when needed)."""
    if ax is not None:
        if not isinstance(ax, Axes):
            raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def _array(name: str, a, ndim, shape_hint: str) -> np.ndarray:
    """``a`` as a real-valued array with one of the allowed ``ndim``, or a clear error."""
    a = np.asarray(a)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
    ndim = (ndim,) if isinstance(ndim, int) else ndim
    if a.ndim not in ndim:
        raise ValueError(f"{name} must have shape {shape_hint}, got shape {a.shape} ({a.ndim}-d)")
    return a


def _time(time, T: int) -> np.ndarray:
    """The x values of T time steps: ``time`` as given, or the step numbers 1..T."""
    if time is None:
        return np.arange(1, T + 1)
    time = _array("time", time, 1, f"({T},)")
    if len(time) != T:
        raise ValueError(f"time must have one value per step ({T}), got {len(time)}")
    return time


def _step_limits(ax, time) -> None:
    """x limits half a step beyond the first and last step, integer ticks for step numbers."""
    if len(time) == 0:
        return
    dt = float(np.median(np.diff(time))) if len(time) > 1 else 1.0
    ax.set_xlim(time[0] - dt / 2, time[-1] + dt / 2)
    if np.issubdtype(np.asarray(time).dtype, np.integer):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _label(ax, title=None, xlabel=None, ylabel=None) -> None:
    if title is not None:
        ax.set_title(title)
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)


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


# --- spiking units --------------------------------------------------------------------------


@style()
def raster(spikes, ax=None, *, time=None, color=SPIKE, linewidth=1.5, title=None,
           xlabel="time step $t$", ylabel="unit") -> Axes:
    """Spike raster: a vertical tick at (t, i) for every spike y_{t,i} ≠ 0.

    Parameters
    ----------
    spikes : array (T, units)
        One sample of a layer's output (``layer.output[:, b]``) or of an input
        spike train; any non-zero value counts as a spike.
    ax : matplotlib Axes, optional
        Where to draw; a new figure if None.
    time : array (T,), optional
        x value of each step; the step numbers 1..T by default.
    color, linewidth : style of the ticks.
    title, xlabel, ylabel : text of the axes.

    Returns
    -------
    ax : the Axes drawn on. The ticks are one ``LineCollection`` with one
        segment per spike.
    """
    spikes = _array("spikes", spikes, 2,
                    "(T, units): one sample, e.g. y[:, 0] of a (T, B, units) output")
    T, n = spikes.shape
    time = _time(time, T)
    step, unit = np.nonzero(spikes)
    # Each spike is a segment from (t, i − 0.4) to (t, i + 0.4): height in data units,
    # so the ticks of neighbouring units never touch, however many units there are.
    x = np.asarray(time, float)[step]
    segments = np.stack([np.column_stack([x, unit - 0.4]), np.column_stack([x, unit + 0.4])], axis=1)
    ax = _axes(ax, figsize=(6.4, 1.2 + 2.8 * min(n, 40) / 40))
    ax.add_collection(LineCollection(segments.reshape(-1, 2, 2), colors=color, linewidths=linewidth))
    _step_limits(ax, time)
    ax.set_ylim(-0.5, n - 0.5)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=max(1, min(n, 6))))
    ax.grid(False)
    _label(ax, title, xlabel, ylabel)
    return ax


@style()
def membrane_trace(s, y=None, threshold=None, ax=None, *, time=None, color=BLUE,
                   threshold_color=THRESHOLD, spike_color=THRESHOLD,
                   label="membrane potential $s_t$", spike_label="spike $y_t = 1$, then reset",
                   show_reset=True,
                   title=None, xlabel="time step $t$", ylabel="membrane potential $s_t$") -> Axes:
    """One unit's membrane potential over time, with its threshold, spikes and resets.

    The SNU's state update is s_{t+1} = g(a_{t+1} + l ⊙ s_t ⊙ (1 − y_t)): after
    step t the reset gate keeps s_t (1 − y_t) of the potential. With ``y`` given
    the trace is drawn through (t, s_t) and then down to (t, s_t (1 − y_t)), so a
    spike (y_t = 1) shows as a drop to 0 and the sSNU's proportional reset
    (0 < y_t < 1) as a partial drop at every step.

    Parameters
    ----------
    s : array (T,), the potential s_t of one unit (``layer.membrane[:, b, i]``).
    y : array (T,), optional, its outputs y_t. Spikes are marked when ``y`` is
        binary (the SNU); the resets are drawn for any ``y`` (see above).
    threshold : float, optional, the firing threshold θ = −b, drawn as a dashed line.
    ax : matplotlib Axes, optional.
    time : array (T,), optional, x value of each step (1..T by default).
    color, threshold_color, spike_color : colours of the trace, the threshold line
        and the spike markers (give all three the same colour to overlay several units).
    label, spike_label : legend entries of the trace and of the spike markers (None: no entry).
    show_reset : draw the drops s_t → s_t (1 − y_t) (needs ``y``).
    title, xlabel, ylabel : text of the axes.

    Returns
    -------
    ax : the Axes drawn on.
    """
    s = _array("s", s, 1, "(T,): one unit, e.g. layer.membrane[:, 0, i]")
    time = _time(time, len(s))
    ax = _axes(ax, figsize=(6.4, 3.0))
    if y is not None:
        y = _array("y", y, 1, "(T,), like s")
        if y.shape != s.shape:
            raise ValueError(f"y must have the shape of s {s.shape}, got {y.shape}")
    if y is not None and show_reset:
        # (t, s_t) then (t, s_t (1 − y_t)): the potential, then what the reset gate keeps of it
        x_path = np.repeat(time, 2)
        s_path = np.column_stack([s, s * (1 - y)]).ravel()
        ax.plot(x_path, s_path, color=color, label=label)
        ax.plot(time, s, ".", color=color)
    else:
        ax.plot(time, s, ".-", color=color, label=label)
    if threshold is not None:
        ax.axhline(float(threshold), color=threshold_color, linestyle="--", linewidth=1.2,
                   label=f"threshold $\\theta = {float(threshold):g}$")
    if y is not None and np.isin(y, (0, 1)).all():
        fired = y > 0
        ax.plot(time[fired], s[fired], linestyle="none", marker="^", markersize=7, color=spike_color,
                markeredgecolor="white", label=spike_label)
    _step_limits(ax, time)
    _label(ax, title, xlabel, ylabel)
    return ax


@style()
def surrogates(kind="derivative", ax=None, *, names=None, v=None, title=None) -> Axes:
    """The pseudo-derivatives h'(v) of ``minisnu.units.surrogate``, or the soft steps they differentiate.

    Parameters
    ----------
    kind : "derivative" (the bumps h'(v) used in the backward pass) or
        "primitive" (the smooth functions P(v) they are the derivatives of,
        beside the Heaviside step the forward pass uses).
    ax : matplotlib Axes, optional.
    names : surrogate names (default: all of ``minisnu.units.surrogate.SURROGATES``),
        each at its default width k.
    v : array of v = s + b values (default: −4..4).

    Returns
    -------
    ax : the Axes drawn on.
    """
    if kind not in ("derivative", "primitive"):
        raise ValueError(f"kind must be 'derivative' or 'primitive', got {kind!r}")
    names = list(SURROGATES) if names is None else list(names)
    v = np.linspace(-4, 4, 801) if v is None else _array("v", v, 1, "(n,)")
    ax = _axes(ax, figsize=(5, 3.4))
    if kind == "primitive":
        ax.plot(v, (v > 0).astype(float), color="black", linewidth=2.4, label="Heaviside step (forward)")
    f = pseudo_derivative if kind == "derivative" else primitive
    for i, name in enumerate(names):        # fixed colours: a surrogate looks the same in both plots
        ax.plot(v, f(v, name), color=PALETTE[i % len(PALETTE)], label=name.replace("_", "-"))
    if kind == "derivative":
        ax.set_ylim(-0.05, 1.15)
        ylabel, default_title = "$h'(v)$", "pseudo-derivatives $h'(v)$ (backward)"
    else:
        ax.set_ylim(-1.2, 1.35)          # straight-through's primitive, v itself, leaves the box
        ylabel, default_title = "$P(v)$", "soft steps $P(v)$, $P' = h'$"
    ax.axvline(0, color="gray", linewidth=0.8, linestyle=":")
    ax.legend(loc="center right" if kind == "derivative" else "upper left")  # where no curve runs
    _label(ax, default_title if title is None else title, "$v = s + b$ (0 at the threshold)", ylabel)
    return ax


# --- piano rolls (JSB chorales) -------------------------------------------------------------


def note_name(midi: int) -> str:
    """Scientific pitch name of a MIDI note number: 60 -> "C4", 21 -> "A0"."""
    return f"{NOTE_NAMES[int(midi) % 12]}{int(midi) // 12 - 1}"


def _note_axis(ax, lowest_note: int, n_notes: int, note_range, active) -> None:
    """Ticks at every C (labelled "C4 (60)"), a minor tick per note, and the visible range."""
    notes = np.arange(lowest_note, lowest_note + n_notes)
    if isinstance(note_range, str) and note_range == "auto":
        used = notes[np.asarray(active).any(axis=0)]
        note_range = (used.min() - 2, used.max() + 2) if used.size else (notes[0], notes[-1])
    lo, hi = (notes[0], notes[-1]) if note_range is None else note_range
    ax.set_ylim(lo - 0.5, hi + 0.5)
    cs = notes[(notes % 12 == 0) & (notes >= lo) & (notes <= hi)]
    ax.yaxis.set_major_locator(FixedLocator(cs))
    ax.set_yticklabels([f"{note_name(m)} ({m})" for m in cs])
    ax.yaxis.set_minor_locator(FixedLocator(notes))
    ax.tick_params(axis="y", which="minor", length=1.5)


def _roll_image(ax, roll, lowest_note, time, cmap, vmax):
    """imshow of a (T, notes) roll: time along x, pitch upwards, one cell per (step, note)."""
    T, n = roll.shape
    dt = float(time[1] - time[0]) if T > 1 else 1.0
    extent = (time[0] - dt / 2, time[-1] + dt / 2, lowest_note - 0.5, lowest_note + n - 0.5)
    image = ax.imshow(roll.T, origin="lower", aspect="auto", interpolation="nearest", cmap=cmap,
                      vmin=0, vmax=vmax, extent=extent)
    ax.grid(False)
    return image


@style()
def piano_roll(roll, ax=None, *, lowest_note=LOWEST_NOTE, note_range=None, time=None,
               cmap="Greys", title=None, xlabel="time step (quarter note)", ylabel="note") -> Axes:
    """A piano roll: time along x, one row per note (MIDI number, pitch upwards).

    Parameters
    ----------
    roll : array (T, notes), 1 where a note sounds (e.g. 88 piano keys, JSB chorales).
    ax : matplotlib Axes, optional.
    lowest_note : MIDI number of column 0 (21, A0, for an 88-key roll).
    note_range : (low, high) MIDI numbers to show, "auto" (the notes that occur,
        ± 2), or None (every column).
    time : array (T,), optional, x value of each step (1..T by default).
    cmap, title, xlabel, ylabel : look and text.

    Returns
    -------
    ax : the Axes drawn on; every C is labelled with its name and MIDI number.
    """
    roll = _array("roll", roll, 2, "(T, notes), e.g. (T, 88)")
    time = _time(time, roll.shape[0])
    ax = _axes(ax, figsize=(6.4, 3.6))
    _roll_image(ax, roll, lowest_note, time, cmap, vmax=max(1.0, float(roll.max(initial=0))))
    _note_axis(ax, lowest_note, roll.shape[1], note_range, roll > 0)
    _label(ax, title, xlabel, ylabel)
    return ax


@style()
def note_probabilities(probs, target=None, ax=None, *, lowest_note=LOWEST_NOTE, note_range=None,
                       time=None, cmap="Blues", colorbar=True, title=None,
                       xlabel="time step (quarter note)", ylabel="note") -> Axes:
    """A network's predicted probability of every note at every step, with the true notes on top.

    Parameters
    ----------
    probs : array (T, notes) of probabilities in [0, 1] (e.g. sigmoid outputs).
    target : array (T, notes), optional, the notes that did sound (1), drawn as
        hollow circles: a well-predicted note is a dark cell with a circle.
    ax : matplotlib Axes, optional.
    lowest_note, note_range, time : as in :func:`piano_roll` ("auto" looks at
        the target and at probabilities above 0.05).
    colorbar : add a colour bar labelled "predicted probability".

    Returns
    -------
    ax : the Axes drawn on.
    """
    probs = _array("probs", probs, 2, "(T, notes), e.g. (T, 88)")
    if probs.size and (probs.min() < 0 or probs.max() > 1):
        raise ValueError(f"probs must lie in [0, 1], got values from {probs.min()} to {probs.max()}")
    time = _time(time, probs.shape[0])
    active = probs > 0.05
    if target is not None:
        target = _array("target", target, 2, f"{probs.shape}, like probs")
        if target.shape != probs.shape:
            raise ValueError(f"target must have the shape of probs {probs.shape}, got {target.shape}")
        active = active | (target > 0)
    ax = _axes(ax, figsize=(6.8, 3.6))
    image = _roll_image(ax, probs, lowest_note, time, cmap, vmax=1.0)
    if target is not None:
        step, note = np.nonzero(target)
        ax.plot(np.asarray(time)[step], note + lowest_note, linestyle="none", marker="o",
                markersize=3.5, markerfacecolor="none", markeredgecolor=VERMILLION,
                markeredgewidth=0.9, label="note played")
        ax.legend(loc="upper right", frameon=True, framealpha=0.85)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, label="predicted probability", fraction=0.05, pad=0.02)
    _note_axis(ax, lowest_note, probs.shape[1], note_range, active)
    _label(ax, title, xlabel, ylabel)
    return ax


# --- phase-change memory --------------------------------------------------------------------


@style()
def conductance_evolution(g, steps=None, ax=None, *, band="std", traces=0, mean=True, color=BLUE,
                          label="mean", reference=None, reference_label="published mean",
                          rng=0, title=None, xlabel="number of SET pulses",
                          ylabel="conductance $G$ (µS)") -> Axes:
    """Conductances of many devices as they are programmed: mean, spread, a few devices.

    Parameters
    ----------
    g : array (steps, devices), µS: G of every device after each step (e.g. after
        0, 1, 2, ... SET pulses); or (steps,) for one device.
    steps : array (steps,), optional, the x values (0, 1, 2, ... by default).
    ax : matplotlib Axes, optional.
    band : "std" (mean ± 1 s.d.), "percentile" (5–95 %) or None: the shaded spread.
    traces : number of individual devices to draw as thin lines (picked at random
        with ``rng``), or "all".
    mean : draw the mean over the devices (with its band).
    color, label : of the mean line.
    reference : (x, y) pair of arrays, or a dict {x: y}, optional: published
        values drawn as markers labelled ``reference_label``.
    title, xlabel, ylabel : text of the axes.

    Returns
    -------
    ax : the Axes drawn on.
    """
    g = _array("g", g, (1, 2), "(steps, devices) or (steps,), in µS")
    g = g.reshape(len(g), -1)
    x = np.arange(len(g)) if steps is None else _array("steps", steps, 1, f"({len(g)},)")
    if len(x) != len(g):
        raise ValueError(f"steps must have one value per row of g ({len(g)}), got {len(x)}")
    ax = _axes(ax, figsize=(5.5, 3.6))
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
    _label(ax, title, xlabel, ylabel)
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
    """Conductance against time on a log axis from 1 s to a year (drift: G(t) = G₀ (t/t₀)^(−ν)).

    Parameters
    ----------
    t : array (times,) of seconds > 0 since programming.
    g : array (times,) (one curve) or (times, devices) (mean and spread), µS.
    ax : matplotlib Axes, optional; call again on the same axes for more levels.
    band : spread of a 2-d ``g``: "std", "percentile" or None (see
        :func:`conductance_evolution`).
    color, label : of the curve.
    start, stop : the time span shown, in seconds (1 s to a year by default).
    title, xlabel, ylabel : text of the axes.

    Returns
    -------
    ax : the Axes drawn on; its x axis is logarithmic, with ticks at 1 s, 1 min,
        1 h, 1 day, 1 month and 1 year.
    """
    t = _array("t", t, 1, "(times,), in seconds")
    if t.size and t.min() <= 0:
        raise ValueError(f"t must be > 0 seconds on a logarithmic axis, got a minimum of {t.min()}")
    g = _array("g", g, (1, 2), f"({len(t)},) or ({len(t)}, devices), in µS")
    if len(g) != len(t):
        raise ValueError(f"g must have one row per time ({len(t)}), got {len(g)}")
    ax = _axes(ax, figsize=(6.0, 3.6))
    if g.ndim == 1:
        ax.plot(t, g, color=color, label=label)
    else:
        _mean_band(ax, t, g, band=band, color=color, label=label)
    log_time_axis(ax, start, stop)
    if label is not None:
        ax.legend(loc="best")
    _label(ax, title, xlabel, ylabel)
    return ax


@style()
def histogram(samples, ax=None, *, bins=60, color=None, label=None, normal=None, title=None,
              xlabel="conductance $G$ (µS)", ylabel="probability density") -> Axes:
    """Histogram (as a density) of many samples, with an optional normal density on top.

    Parameters
    ----------
    samples : array of any shape (flattened), e.g. repeated reads of devices, µS.
    ax : matplotlib Axes, optional; call again for several groups.
    bins : number of bins, or bin edges.
    color, label : of the histogram.
    normal : (mean, std), optional: the expected normal density, drawn dashed.

    Returns
    -------
    ax : the Axes drawn on.
    """
    samples = _array("samples", samples, tuple(range(33)), "any shape").ravel()
    ax = _axes(ax, figsize=(5.5, 3.4))
    # one filled outline per histogram, not a rectangle per bin: the same picture, drawn much faster
    _, _, patches = ax.hist(samples, bins=bins, density=True, histtype="stepfilled", color=color,
                            alpha=0.45, label=label)
    color = patches[0].get_facecolor()[:3] if color is None and len(patches) else color
    if normal is not None:
        mean, std = normal
        x = np.linspace(samples.min(), samples.max(), 300) if samples.size else np.array([])
        pdf = np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * np.sqrt(2 * np.pi))
        ax.plot(x, pdf, color=color, linestyle="--", linewidth=1.3)
    if label is not None:
        ax.legend(loc="best")
    _label(ax, title, xlabel, ylabel)
    return ax


@style()
def heatmap(matrix, ax=None, *, cmap=None, symmetric=False, vmin=None, vmax=None, colorbar=None,
            aspect="auto", ticks=True, title=None, xlabel="column", ylabel="row") -> Axes:
    """A matrix as an image (row 0 on top), with a labelled colour bar.

    Parameters
    ----------
    matrix : array (rows, columns), e.g. a weight matrix W (n_in, n_out) or conductances.
    ax : matplotlib Axes, optional.
    cmap : colour map; "RdBu_r" when ``symmetric``, else the style's default.
    symmetric : centre the colours on 0 (for signed values such as weights).
    vmin, vmax : colour limits (default: the data's range, or ± max|matrix|).
    colorbar : label of the colour bar, with units; no colour bar if None.
    aspect : "auto" (fill the axes) or "equal" (square cells, e.g. for images).
    ticks : False hides the row and column ticks (for pictures).

    Returns
    -------
    ax : the Axes drawn on.
    """
    matrix = _array("matrix", matrix, 2, "(rows, columns)")
    if symmetric:
        vmax = float(np.max(np.abs(matrix), initial=0)) if vmax is None else vmax
        vmin, cmap = -vmax, cmap or "RdBu_r"
    ax = _axes(ax, figsize=(4.5, 4))
    image = ax.imshow(matrix, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest",
                      aspect=aspect)
    ax.grid(False)
    for spine in ax.spines.values():                           # a picture gets a full frame
        spine.set_visible(True)
        spine.set_color("0.6")
    if ticks:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))    # rows and columns are indices
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    else:
        ax.set(xticks=[], yticks=[])
    if colorbar is not None:
        ax.figure.colorbar(image, ax=ax, label=colorbar, fraction=0.06, pad=0.02)
    _label(ax, title, xlabel, ylabel)
    return ax


def relative_error(exact, approx) -> float:
    """‖approx − exact‖ / ‖exact‖ (Frobenius norms): the error measure of :func:`parity`."""
    exact, approx = np.asarray(exact, float), np.asarray(approx, float)
    return float(np.linalg.norm(approx - exact) / np.linalg.norm(exact))


@style()
def parity(exact, approx, ax=None, *, color=None, label=None, title=None, xlabel="exact",
           ylabel="approximate") -> Axes:
    """Parity plot: approximate values against exact ones, with the diagonal y = x.

    The legend entry ends with the relative error ‖approx − exact‖ / ‖exact‖;
    call again on the same axes to compare conditions.

    Parameters
    ----------
    exact, approx : arrays of the same shape (e.g. x @ W and a crossbar's product).
    ax : matplotlib Axes, optional.
    color, label : of the points.

    Returns
    -------
    ax : the Axes drawn on.
    """
    exact, approx = np.ravel(exact), np.ravel(approx)
    if exact.shape != approx.shape:
        raise ValueError(f"exact and approx must have the same size, got {exact.size} and {approx.size}")
    ax = _axes(ax, figsize=(4.2, 4))
    error = f"relative error {100 * relative_error(exact, approx):.2g} %"
    ax.scatter(exact, approx, s=6, alpha=0.5, color=color, linewidths=0,
               label=error if label is None else f"{label}: {error}")
    lo = min(exact.min(), approx.min(), *ax.get_xlim()) if exact.size else -1
    hi = max(exact.max(), approx.max(), *ax.get_xlim()) if exact.size else 1
    if not any(line.get_gid() == "diagonal" for line in ax.get_lines()):
        ax.plot([lo, hi], [lo, hi], color="gray", linewidth=0.9, linestyle="--", gid="diagonal",
                zorder=0)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    ax.legend(loc="upper left", markerscale=2.5)
    _label(ax, title, xlabel, ylabel)
    return ax


@style()
def bars(values, ax=None, *, fmt="{:.2g}", color=BLUE, highlight=None, log=False, title=None,
         xlabel="value") -> Axes:
    """Horizontal bar chart of named values, top to bottom in the dict's order, each bar labelled.

    Parameters
    ----------
    values : dict {name: number}.
    ax : matplotlib Axes, optional.
    fmt : format of the number written beside each bar.
    color : of the bars; names listed in ``highlight`` are drawn in vermillion.
    log : logarithmic value axis.

    Returns
    -------
    ax : the Axes drawn on.
    """
    if not isinstance(values, dict) or not values:
        raise TypeError("values must be a non-empty dict {name: number}")
    names = list(values)
    numbers = np.array([float(values[k]) for k in names])
    highlight = set(highlight or ())
    colors = [VERMILLION if name in highlight else color for name in names]
    ax = _axes(ax, figsize=(6.4, 0.6 + 0.32 * len(names)))
    positions = np.arange(len(names))
    ax.barh(positions, numbers, color=colors, height=0.65)
    ax.set_yticks(positions, names)
    ax.invert_yaxis()                              # first entry on top, like a table
    if log:
        ax.set_xscale("log")
    for y, value in zip(positions, numbers):
        ax.annotate(fmt.format(value), (value, y), xytext=(3, 0), textcoords="offset points",
                    va="center", fontsize=8.5)
    ax.grid(axis="y", visible=False)
    ax.margins(x=0.15)
    _label(ax, title, xlabel, None)
    return ax


# --- training -------------------------------------------------------------------------------

SPLITS = ("train", "valid", "val", "test")
_SPLIT_COLORS = {"train": BLUE, "valid": VERMILLION, "val": VERMILLION, "test": GREEN, "": BLUE}


def _metrics(history) -> dict:
    """{metric: {split: values}} from {"train_loss": [...], ...} or {"train": {"loss": [...]}}."""
    if not isinstance(history, dict) or not history:
        raise TypeError("history must be a non-empty dict of per-epoch lists, "
                        "e.g. {'train_loss': [...], 'valid_loss': [...]}")
    flat = {}
    for key, value in history.items():
        if isinstance(value, dict):                          # {"train": {"loss": [...]}}
            flat.update({(key, metric): v for metric, v in value.items()})
        else:                                                # "train_loss" or "loss"
            split, _, metric = key.partition("_")
            flat[(split, metric) if split in SPLITS and metric else ("", key)] = value
    metrics = {}
    for (split, metric), values in flat.items():
        values = _array(f"history[{split + '_' if split else ''}{metric}]", values, 1,
                        "(epochs,): one number per epoch")
        metrics.setdefault(metric, {})[split] = values
    return metrics


@style()
def training_curves(history, ax=None, *, metrics=None, title=None):
    """Learning curves: one panel per metric, one line per split (train, valid, test).

    Parameters
    ----------
    history : dict of per-epoch lists, either flat ({"train_loss": [...],
        "valid_loss": [...], "valid_accuracy": [...]}, keys prefixed by train_,
        valid_, val_ or test_; a key without a prefix is a curve of its own) or
        nested ({"train": {"loss": [...]}, "valid": {...}}).
    ax : matplotlib Axes, or a sequence of one Axes per metric, optional.
    metrics : the metrics to draw, in order (default: all, in the dict's order).
    title : figure title (suptitle), optional.

    Returns
    -------
    ax : one Axes if one metric is drawn, else a list of Axes (like ``plt.subplots``).
    """
    table = _metrics(history)
    metrics = list(table) if metrics is None else list(metrics)
    unknown = [m for m in metrics if m not in table]
    if unknown:
        raise ValueError(f"no metric {unknown} in the history; it has {list(table)}")
    if ax is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.2), squeeze=False)
        axes = list(axes[0])
    else:
        axes = [ax] if isinstance(ax, Axes) else list(ax)
        if len(axes) != len(metrics):
            raise ValueError(f"give one Axes per metric: {len(metrics)} metric(s) {metrics}, "
                             f"{len(axes)} Axes")
    for axis, metric in zip(axes, metrics):
        for split, values in table[metric].items():
            epochs = np.arange(1, len(values) + 1)
            axis.plot(epochs, values, marker="o" if len(values) <= 40 else None,
                      color=_SPLIT_COLORS.get(split), label=split or None)
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        _label(axis, metric.replace("_", " "), "epoch", metric.replace("_", " "))
        if any(split for split in table[metric]):       # named splits: say which line is which
            axis.legend(loc="best")
    if title is not None:
        axes[0].figure.suptitle(title)
    return axes[0] if len(axes) == 1 else axes


# --- legends and files -------------------------------------------------------------------


def legend(ax, **kwargs):
    """``ax.legend`` with each label once, for axes where a helper was called several times.

    Overlaid calls repeat their shared entries (the spread band, the spike
    markers); those are listed once, after the entries that name one curve each.
    ``kwargs`` go to ``ax.legend``.
    """
    handles, labels = ax.get_legend_handles_labels()
    first = dict(zip(reversed(labels), reversed(handles)))   # label -> its first handle
    order = sorted(dict.fromkeys(labels), key=lambda label: labels.count(label) > 1)  # stable
    return ax.legend([first[label] for label in order], order, **kwargs)


def save(fig, path, *, dpi=DPI, close=True) -> str:
    """Write ``fig`` (a Figure, or an Axes of it) to the PNG file ``path``, atomically.

    The image goes to a temporary file first and is renamed into place
    (``minisnu.core.io.atomic_write``): a reader never sees half a PNG. Missing
    folders are created. With ``close`` a pyplot figure is closed afterwards,
    so scripts that make many figures do not keep them all in memory.

    Returns
    -------
    path : the absolute path written.
    """
    if isinstance(fig, Axes):
        fig = fig.figure
    path = os.path.abspath(os.fspath(path))
    if not path.lower().endswith(".png"):
        raise ValueError(f"save writes PNG files: the path must end in .png, got {path}")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # A figure with a layout engine (constrained layout: any figure made under style()) already
    # fits its labels; "tight" cropping would draw it a second time to measure it.
    crop = None if fig.get_layout_engine() is not None else "tight"
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=dpi, bbox_inches=crop,
                                             pad_inches=0.06, facecolor="white"))
    pyplot = sys.modules.get("matplotlib.pyplot")   # a figure made without pyplot needs no closing
    if close and pyplot is not None:
        pyplot.close(fig)
    return path
