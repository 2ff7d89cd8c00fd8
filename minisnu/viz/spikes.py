r"""Plots of spiking units: spike rasters, feature maps, membrane potentials, surrogate gradients.

- :func:`raster`: the spikes of a layer (or of an encoded input) over time;
- :func:`feature_maps`: the spikes of a convolutional layer for one image, a
  grid of channels × time steps (a whole figure: it takes and returns a ``Figure``);
- :func:`membrane_trace`: one unit's membrane potential with its threshold,
  spikes and resets;
- :func:`surrogates`: the pseudo-derivatives h'(v) of
  :mod:`minisnu.units.surrogate`, or the soft steps they differentiate.

Arrays are time-major, (T, units) or, for a convolutional layer, (T, channels,
H', W'), and time steps are numbered t = 1..T as in the equations.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import FigureBase
from matplotlib.ticker import MaxNLocator

from ..units.surrogate import SURROGATES, primitive, pseudo_derivative
from .figure import (
    BLUE,
    PALETTE,
    SPIKE,
    THRESHOLD,
    get_axes,
    real_array,
    set_labels,
    step_limits,
    style,
    time_steps,
)


@style()
def raster(spikes, ax=None, *, time=None, color=SPIKE, linewidth=1.5, title=None,
           xlabel="time step $t$", ylabel="unit") -> Axes:
    """Spike raster: a vertical tick at (t, i) for every spike :math:`y_{t,i} ≠ 0`.

    Parameters
    ----------
    spikes : array (T, units)
        One sample of a layer's output (``layer.output[:, b]``) or of an input
        spike train; any non-zero value counts as a spike.
    ax : matplotlib Axes, optional
        Where to draw; a new figure if None.
    time : array (T,), optional
        x value of each step; the step numbers 1..T by default.
    color, linewidth
        Style of the ticks.
    title, xlabel, ylabel
        Text of the axes.

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on. The ticks are one ``LineCollection`` with one
        segment per spike.
    """
    spikes = real_array("spikes", spikes, 2,
                        "(T, units): one sample, e.g. y[:, 0] of a (T, B, units) output")
    T, n = spikes.shape
    time = time_steps(time, T)
    step, unit = np.nonzero(spikes)
    # Each spike is a segment from (t, i − 0.4) to (t, i + 0.4): height in data units,
    # so the ticks of neighbouring units never touch, however many units there are.
    x = np.asarray(time, float)[step]
    segments = np.stack([np.column_stack([x, unit - 0.4]), np.column_stack([x, unit + 0.4])], axis=1)
    ax = get_axes(ax, figsize=(6.4, 1.2 + 2.8 * min(n, 40) / 40))
    ax.add_collection(LineCollection(segments.reshape(-1, 2, 2), colors=color, linewidths=linewidth))
    step_limits(ax, time)
    ax.set_ylim(-0.5, n - 0.5)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=max(1, min(n, 6))))
    ax.grid(False)
    set_labels(ax, title, xlabel, ylabel)
    return ax


def _picks(name: str, picks, count: int, first: int, what: str) -> np.ndarray:
    """``picks`` as a 1-d array of distinct integers in first..first + count − 1, or a clear error."""
    picks = np.asarray(picks)
    if picks.ndim != 1 or picks.size == 0 or picks.dtype.kind not in "iu":
        raise ValueError(f"{name} must be a non-empty list of integers ({what}), got {picks.tolist()!r}")
    if picks.min() < first or picks.max() > first + count - 1:
        raise ValueError(f"{name} must be {what} between {first} and {first + count - 1}, "
                         f"got {picks.tolist()}")
    return picks


def _map_panel(ax, picture, cmap, vmin, vmax):
    """One picture, row 0 on top, square pixels, a grey frame and no ticks (as ``heatmap(ticks=False)``)."""
    image = ax.imshow(picture, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest", aspect="equal")
    ax.set(xticks=[], yticks=[])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_color("0.6")
    return image


@style()
def feature_maps(spikes, fig=None, *, steps=None, channels=None, image=None, counts=False,
                 cmap="gray_r", title=None):
    """A convolutional layer's spikes for one image: a grid of channels × time steps.

    Row c shows output channel c, column t the H' × W' map of its spikes y_t at
    step t (black: the unit of that pixel fired). A ``ConvSNU`` shares its kernel
    over the pixels of a channel, so each row is one feature detector applied
    everywhere: its spikes trace where that feature is in the image, step by step.

    Parameters
    ----------
    spikes : array (T, channels, H', W')
        One image's spikes, e.g. ``layer.output[:, 0]`` of a (T, B, O, H', W')
        output; values in [0, 1] (an sSNU's outputs show as greys).
    fig : matplotlib Figure (or SubFigure), optional
        Where to draw, on a grid added to it; a new pyplot figure if None.
    steps : sequence of int, optional
        Time steps t to show, numbered 1..T (default: all of them when T ≤ 8,
        else 8 spread evenly from 1 to T).
    channels : sequence of int, optional
        Channel indices 0..channels − 1 to show, one row each, in the
        order given (default: the first 8).
    image : array (H, W), optional
        The input image, drawn in a first column of its own beside the rows.
    counts : bool
        Add a column of each channel's spike count :math:`Σ_t y_t` over all T steps
        (not just the steps shown), before the steps, with a colour bar.
    cmap
        Colours of the spike maps (default: white 0, black 1).
    title : str, optional
        Figure title (suptitle).

    Returns
    -------
    fig : matplotlib Figure
        The Figure drawn on. Its panels in ``fig.axes`` come in this order: the
        image (if given), then row by row the count panel (if ``counts``) and one
        panel per step, then the colour bar of the counts (if ``counts``).
    """
    spikes = real_array("spikes", spikes, 4,
                        "(T, channels, H', W'): one image, e.g. layer.output[:, 0] of a "
                        "(T, B, channels, H', W') output")
    T, C, H, W = spikes.shape
    steps = (np.unique(np.round(np.linspace(1, T, min(T, 8))).astype(int)) if steps is None
             else _picks("steps", steps, T, 1, "time steps t"))
    channels = (np.arange(min(C, 8)) if channels is None
                else _picks("channels", channels, C, 0, "channel indices"))
    if image is not None:
        image = real_array("image", image, 2, "(H, W): the input image, e.g. x[0, 0, 0] of (T, B, 1, H, W)")
    if fig is None:
        import matplotlib.pyplot as plt

        panel, aspect = 1.05, min(max(H / W, 0.5), 2.0)          # inches per map, its height / width
        width = panel * (len(steps) + counts + 1.5 * (image is not None)) + 0.6
        height = panel * aspect * len(channels) + 0.5 + 0.6 * counts + 0.3 * (title is not None)
        fig = plt.figure(figsize=(width, height))
    elif not isinstance(fig, FigureBase):
        raise TypeError(f"fig must be a matplotlib Figure or None, got {type(fig).__name__}")

    # columns: [image] [counts] t..., the image one and a half panels wide, beside all the rows
    first = int(image is not None) + int(counts)
    ratios = [1.5] * (image is not None) + [1.0] * (len(steps) + counts)
    grid = fig.add_gridspec(len(channels), first + len(steps), width_ratios=ratios)
    if image is not None:
        ax = fig.add_subplot(grid[:, 0])
        _map_panel(ax, image, "gray_r", None, None)
        ax.set_title("input image")
    total = spikes.sum(axis=0)
    count_axes, count_image = [], None
    top = max(1.0, float(total[channels].max()))       # one colour scale for the count column
    for row, c in enumerate(channels):
        if counts:
            ax = fig.add_subplot(grid[row, first - 1])
            count_image = _map_panel(ax, total[c], "viridis", 0.0, top)
            count_axes.append(ax)
            if row == 0:
                ax.set_title(f"Σ of {T} steps")
            ax.set_ylabel(f"channel {c}")
        for col, t in enumerate(steps):
            ax = fig.add_subplot(grid[row, first + col])
            _map_panel(ax, spikes[t - 1, c], cmap, 0.0, 1.0)
            if row == 0:
                ax.set_title(f"$t = {t}$")
            if col == 0 and not counts:
                ax.set_ylabel(f"channel {c}")
    if counts:
        fig.colorbar(count_image, ax=count_axes, location="bottom", label="spikes", shrink=0.9,
                     aspect=10)
    if title is not None:
        fig.suptitle(title)
    return fig


@style()
def membrane_trace(s, y=None, threshold=None, ax=None, *, time=None, color=BLUE,
                   threshold_color=THRESHOLD, spike_color=THRESHOLD,
                   label="membrane potential $s_t$", spike_label="spike $y_t = 1$, then reset",
                   show_reset=True,
                   title=None, xlabel="time step $t$", ylabel="membrane potential $s_t$") -> Axes:
    """One unit's membrane potential over time, with its threshold, spikes and resets.

    The SNU's state update is :math:`s_{t+1} = g(a_{t+1} + l ⊙ s_t ⊙ (1 − y_t))`: after
    step t the reset gate keeps :math:`s_t (1 − y_t)` of the potential. With ``y`` given
    the trace is drawn through :math:`(t, s_t)` and then down to :math:`(t, s_t (1 − y_t))`,
    so a spike (:math:`y_t = 1`) shows as a drop to 0 and the sSNU's proportional reset
    (:math:`0 < y_t < 1`) as a partial drop at every step.

    Parameters
    ----------
    s : array (T,)
        The potential s_t of one unit (``layer.membrane[:, b, i]``).
    y : array (T,), optional
        Its outputs y_t. Spikes are marked when ``y`` is binary (the SNU); the
        resets are drawn for any ``y`` (see above).
    threshold : float, optional
        The firing threshold θ = −b, drawn as a dashed line.
    ax : matplotlib Axes, optional
    time : array (T,), optional
        x value of each step (1..T by default).
    color, threshold_color, spike_color
        Colours of the trace, the threshold line and the spike markers (give all
        three the same colour to overlay several units).
    label, spike_label : str or None
        Legend entries of the trace and of the spike markers (None: no entry).
    show_reset : bool
        Draw the drops :math:`s_t → s_t (1 − y_t)` (needs ``y``).
    title, xlabel, ylabel
        Text of the axes.

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on.
    """
    s = real_array("s", s, 1, "(T,): one unit, e.g. layer.membrane[:, 0, i]")
    time = time_steps(time, len(s))
    ax = get_axes(ax, figsize=(6.4, 3.0))
    if y is not None:
        y = real_array("y", y, 1, "(T,), like s")
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
    step_limits(ax, time)
    set_labels(ax, title, xlabel, ylabel)
    return ax


@style()
def surrogates(kind="derivative", ax=None, *, names=None, v=None, title=None) -> Axes:
    """The pseudo-derivatives h'(v) of :mod:`minisnu.units.surrogate`, or the soft steps they differentiate.

    Parameters
    ----------
    kind : {"derivative", "primitive"}
        "derivative": the bumps h'(v) used in the backward pass; "primitive":
        the smooth functions P(v) they are the derivatives of, beside the
        Heaviside step the forward pass uses.
    ax : matplotlib Axes, optional
    names : sequence of str, optional
        Surrogate names (default: all of ``minisnu.units.surrogate.SURROGATES``),
        each at its default width k.
    v : array, optional
        Values of v = s + b (default: −4..4).

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on.
    """
    if kind not in ("derivative", "primitive"):
        raise ValueError(f"kind must be 'derivative' or 'primitive', got {kind!r}")
    names = list(SURROGATES) if names is None else list(names)
    v = np.linspace(-4, 4, 801) if v is None else real_array("v", v, 1, "(n,)")
    ax = get_axes(ax, figsize=(5, 3.4))
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
    set_labels(ax, default_title if title is None else title, "$v = s + b$ (0 at the threshold)", ylabel)
    return ax
