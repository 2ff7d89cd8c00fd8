r"""Plots of the all-memristive network (:mod:`minisnu.memristive`): PCM neurons, PCM synapses, STDP.

- :func:`membrane_conductance`: a phase-change neuron's conductance as its
  membrane: G(t) climbing under SET pulses, the firing threshold :math:`G_{fire}`,
  the spikes and the RESETs that re-amorphize the cell;
- :func:`stdp_window`: the STDP rule as pulses: SET pulses against the input's
  spike time relative to the output spike, and the selective depression;
- :func:`weights_over_time`: every synapse of a neuron over time, one line
  each, the inputs of each correlated group in its colour, the independent
  ones in grey;
- :func:`weight_histogram`: the final weights, correlated against independent;
- :func:`synapse_map`: the final weights of every neuron, (N, M), with the
  groups marked: which synapses each level-tuned neuron holds;
- :func:`detection_quality`: the AUC of "the final weight tells the correlated
  inputs from the others" against the correlation c, mean ± std over seeds.

Units and numbering are those of :mod:`minisnu.memristive`: conductances in µS,
time in steps counted from 0 (as ``Record.trace_times``, ``Record.weight_times``
and the spike times count them). ``groups`` is the (M,) array of
:func:`minisnu.data.correlated.correlated_spikes`: the group of each input, 0, 1, ..., and
−1 for an independent one. In the figures groups and neurons are named from 1
(group 1 is ``groups == 0``); each group keeps its colour, :func:`group_color`,
in every plot.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from ..memristive.stdp import STDPConfig, potentiation_pulses
from ..pcm.device import DEFAULT_DEVICE
from .figure import (
    BLUE,
    GREEN,
    ORANGE,
    PURPLE,
    SKY,
    SPIKE,
    THRESHOLD,
    VERMILLION,
    get_axes,
    real_array,
    set_labels,
    style,
)

#: The colours of the correlated groups, group 1 (``groups == 0``) first; independent inputs are grey.
GROUP_COLORS = (VERMILLION, BLUE, GREEN, PURPLE, ORANGE, SKY)
#: The colour of the independent inputs (``groups == -1``): grey.
INDEPENDENT_COLOR = "0.6"
#: The colour of each kind of device: PCM and its ideal twin.
DEVICE_COLORS = {"pcm": VERMILLION, "ideal": BLUE}
#: A legend drawn over many lines: a white box, no frame line.
OPAQUE = {"frameon": True, "framealpha": 0.9, "facecolor": "white", "edgecolor": "none"}


def group_color(k: int):
    """The colour of group k (0, 1, ...: the values of ``groups``), grey for −1 (independent)."""
    return INDEPENDENT_COLOR if k < 0 else GROUP_COLORS[int(k) % len(GROUP_COLORS)]


def group_name(k: int, n_groups: int) -> str:
    """"independent", "correlated" (the only group), or "group k+1"."""
    if k < 0:
        return "independent"
    return "correlated" if n_groups == 1 else f"group {k + 1}"


# --- checks ------------------------------------------------------------------------------------


def _groups(groups, M: int) -> np.ndarray:
    """``groups`` as an (M,) int64 array of values ≥ −1, or a clear error."""
    groups = real_array("groups", groups, 1, f"({M},): the group of each input, -1 for independent")
    if len(groups) != M:
        raise ValueError(f"groups must have one entry per input ({M}), got {len(groups)}")
    if groups.size and (groups.dtype.kind == "f" and not np.all(groups == np.round(groups))):
        raise ValueError("groups must hold whole numbers (0, 1, ... or -1 for independent)")
    groups = groups.astype(np.int64)
    if groups.size and groups.min() < -1:
        raise ValueError(f"groups must be >= -1 (-1: independent), got {groups.min()}")
    return groups


def _one_neuron(weights, neuron, per_neuron: bool) -> np.ndarray:
    """One neuron's synapses: ``weights[..., neuron, :]`` if ``per_neuron`` (an N axis), else ``weights``."""
    if not per_neuron:
        return weights
    N = weights.shape[-2]
    if isinstance(neuron, bool) or not isinstance(neuron, (int, np.integer)) or not 0 <= neuron < N:
        raise ValueError(f"neuron must be an int in [0, {N}), got {neuron!r}")
    return weights[..., neuron, :]


def _present_groups(groups) -> list:
    """The groups that occur, independent (−1) first so that it is drawn behind."""
    return sorted(set(groups.tolist()))


def _groups_legend(ax, handles, present, **kwargs):
    """The legend of one handle per group of ``present``: the correlated groups first, independent last."""
    order = [i for i, k in enumerate(present) if k >= 0] + [i for i, k in enumerate(present) if k < 0]
    return ax.legend([handles[i] for i in order], [handles[i].get_label() for i in order], **OPAQUE, **kwargs)


# --- the neuron ----------------------------------------------------------------------------------


@style()
def membrane_conductance(conductance, spike_times=(), g_fire=None, ax=None, *, time=None,
                         g_reset=DEFAULT_DEVICE.g_reset, color=BLUE, threshold_color=THRESHOLD,
                         spike_color=THRESHOLD, label="membrane: conductance $G$ of the neuron's cell",
                         spike_label="spike: $G \\geq G_{fire}$", reset_label="RESET (melt-quench)",
                         title=None, xlabel="time step", ylabel="neuron conductance $G$ (µS)") -> Axes:
    """A phase-change neuron's membrane: its cell's conductance G(t), the threshold, spikes and RESETs.

    The neuron of :mod:`minisnu.memristive.neuron` integrates by SET pulses, which
    raise G in random, shrinking steps; when G reaches :math:`G_{fire}` it fires and a
    RESET pulse melts and quenches the cell back to about ``g_reset`` (0.1 µS). The trace
    (``NeuronRun.conductance`` or a column of ``Record.conductance``) holds G after
    each step's SET pulses and before the RESET of a spike, so the line is drawn
    through :math:`G_t` and, at a spike, straight down to ``g_reset``: the RESET.

    Parameters
    ----------
    conductance : array (T,), µS
        The membrane at each traced step.
    spike_times : array (spikes,)
        The steps at which the neuron fired (``NeuronRun.spike_times``,
        ``Record.spike_times[n]``). A spike at a traced step is marked at its G and
        followed by its RESET; one between traced steps (``trace_every`` > 1) is
        marked on the threshold.
    g_fire : float, optional
        The firing threshold :math:`G_{fire}` (µS), drawn dashed; None: no line.
    ax : matplotlib Axes, optional
    time : array (T,), optional
        The step of each value (``Record.trace_times``); 0..T−1 by default.
    g_reset : float
        Where a RESET takes the cell, the device's mean RESET level (µS).
    color, threshold_color, spike_color
        Of the trace, the threshold line and the spike markers.
    label, spike_label, reset_label : str or None
        Legend entries (None: no entry).
    title, xlabel, ylabel
        Text of the axes.

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on.
    """
    g = real_array("conductance", conductance, 1, "(T,): one neuron's membrane, µS")
    if g.size and not np.isfinite(g).all():
        raise ValueError("conductance must be finite")
    time = np.arange(len(g)) if time is None else real_array("time", time, 1, f"({len(g)},)")
    if len(time) != len(g):
        raise ValueError(f"time must have one value per conductance ({len(g)}), got {len(time)}")
    spikes = real_array("spike_times", spike_times, 1, "(spikes,): the steps of the spikes")
    if g_fire is not None and not np.isfinite(g_fire):
        raise ValueError(f"g_fire must be a finite number of µS, got {g_fire}")
    ax = get_axes(ax, figsize=(7.0, 3.2))
    traced = np.isin(time, spikes)
    # (t, G_t), then at a spike (t, g_reset): the RESET is a vertical drop, the climb starts from there
    x_path = np.repeat(np.asarray(time, float), 2)
    y_path = np.column_stack([g, np.where(traced, g_reset, np.nan)]).ravel()
    keep = ~np.isnan(y_path)
    ax.plot(x_path[keep], y_path[keep], color=color, linewidth=1.3, label=label)
    if g_fire is not None:
        ax.axhline(float(g_fire), color=threshold_color, linestyle="--", linewidth=1.2,
                   label=f"firing threshold $G_{{fire}}$ = {float(g_fire):g} µS")
    marks_t = np.concatenate([time[traced], spikes[~np.isin(spikes, time)]])
    marks_g = np.concatenate([g[traced], np.full(int((~np.isin(spikes, time)).sum()),
                                                 np.nan if g_fire is None else float(g_fire))])
    ax.plot(marks_t, marks_g, linestyle="none", marker="^", markersize=7, color=spike_color,
            markeredgecolor="white", label=spike_label if len(marks_t) else None, zorder=4)
    ax.plot(time[traced], np.full(int(traced.sum()), g_reset), linestyle="none", marker="v",
            markersize=5, color=SPIKE, label=reset_label if traced.any() else None, zorder=4)
    if len(time):
        ax.set_xlim(time[0] - 0.5, time[-1] + 0.5)
    ax.set_ylim(bottom=0)
    if np.issubdtype(np.asarray(time).dtype, np.integer):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    set_labels(ax, title, xlabel, ylabel)
    return ax


# --- the learning rule -------------------------------------------------------------------------


@style()
def stdp_window(config: STDPConfig | None = None, ax=None, *, span=None, set_color=BLUE,
                reset_color=VERMILLION, title="STDP of the PCM synapses, per output spike",
                xlabel="input spike time − output spike time (steps)",
                ylabel="pulses on the synapse") -> Axes:
    """The STDP rule of :mod:`minisnu.memristive.stdp` as the pulses it gives one synapse.

    When the neuron fires at t, an input whose last spike was :math:`Δ = t − t_{in}` steps
    earlier gets :math:`n(Δ) = ⌈P_{max} · (τ − Δ)/τ⌉` SET pulses if Δ < τ (bars up, at
    :math:`t_{in} − t = −Δ`: more the closer it spiked); an input outside the window
    missed the output spike, and a synapse whose input missed :math:`m_{dep}` output
    spikes in a row is RESET if its :math:`G > G_{dep}` (bars down, faint: a RESET is all
    or nothing, so depression is selective). Inputs that spike after the output spike
    change nothing until the next one.

    Parameters
    ----------
    config : STDPConfig, optional
        The rule (default: the package's defaults, ``STDPConfig()``).
    ax : matplotlib Axes, optional
    span : int, optional
        How many steps before the output spike to show (default τ + 3).
    set_color, reset_color
        Of the potentiation and depression bars.
    title, xlabel, ylabel
        Text of the axes.

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on.
    """
    config = STDPConfig() if config is None else config
    if not isinstance(config, STDPConfig):
        raise TypeError(f"config must be an STDPConfig or None, got {type(config).__name__}")
    tau = config.window
    span = tau + 3 if span is None else span
    if isinstance(span, bool) or not isinstance(span, (int, np.integer)) or span < 1:
        raise ValueError(f"span must be an int >= 1 (steps before the output spike), got {span!r}")
    since = np.arange(max(span, tau + 1))                    # Δ = 0, 1, ...: always one step outside
    n = potentiation_pulses(since, config)
    x = -since
    up = n > 0
    ax = get_axes(ax, figsize=(6.4, 3.6))
    ax.axvspan(-tau + 0.5, 0.5, color=set_color, alpha=0.08, linewidth=0)
    ax.bar(x[up], n[up], width=0.7, color=set_color,
           label=f"potentiation: $\\lceil P_{{max}}(\\tau - \\Delta)/\\tau \\rceil$ SET pulses "
                 f"($\\tau$ = {tau}, $P_{{max}}$ = {config.pulses_max})")
    for xi, ni in zip(x[up], n[up]):
        ax.annotate(f"{ni} SET", (xi, ni), xytext=(0, 2), textcoords="offset points", ha="center",
                    va="bottom", fontsize=8.5)
    ax.bar(x[~up], -1, width=0.7, color=reset_color, alpha=0.35, hatch="//", edgecolor=reset_color,
           linewidth=0, label=f"depression: 1 RESET after $m_{{dep}}$ = {config.depression_misses} "
                              f"misses in a row (if $G > G_{{dep}}$ = {config.depression_level:g} µS)")
    ax.annotate("a miss: count + 1", (float(x[~up].mean()), -0.5), ha="center", va="center", fontsize=8.5,
                color=reset_color)
    ax.axvline(0, color="black", linewidth=1.0, linestyle=":")
    top = config.pulses_max
    ax.annotate("output spike", (0.08, -1.25), ha="left", va="bottom", fontsize=8.5)
    ax.annotate(f"window: {tau} steps", (-tau + 0.6, -0.5), ha="left", va="center", fontsize=8.5,
                color=set_color)
    ax.annotate("after the spike:\nno change", (1.2, 0.5 * top), ha="center", va="center", fontsize=8.5,
                color="0.4")
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_xlim(x[-1] - 0.6, 2.1)
    ax.set_ylim(-1.35, top + 1.5)
    ticks = list(range(-1, top + 1))
    ax.set_yticks(ticks, ["RESET" if t < 0 else str(t) for t in ticks])
    ax.set_xticks(np.arange(x[-1], 2))
    ax.grid(axis="x", visible=False)
    ax.legend(loc="upper left", **OPAQUE)
    set_labels(ax, title, xlabel, ylabel)
    return ax


# --- the synapses ------------------------------------------------------------------------------


@style()
def weights_over_time(times, weights, groups, ax=None, *, neuron=0, means=True, legend="best", title=None,
                      xlabel="time step", ylabel="synaptic weight $G$ (µS)") -> Axes:
    """Every synapse of one neuron over time, one line each, coloured by its input's group.

    The independent inputs are thin grey lines, drawn first; each correlated group
    on top in its colour (:func:`group_color`); with ``means`` a thick line per
    group is its mean.

    Parameters
    ----------
    times : array (snapshots,)
        The steps of the snapshots (``Record.weight_times``).
    weights : array (snapshots, N, M) (``Record.weights``) or (snapshots, M), µS
    groups : array (M,)
        The group of each input, −1 for independent ones.
    ax : matplotlib Axes, optional
    neuron : int
        Which neuron's synapses, for a 3-d ``weights``.
    means : bool
        Draw each group's mean as a thick line.
    legend : str or None
        Where the legend goes (a Matplotlib ``loc``), or None for no legend (e.g. on
        the second of two plots with the same groups).
    title, xlabel, ylabel
        Text of the axes.

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on; the synapses are one ``LineCollection`` per group.
    """
    w = real_array("weights", weights, (2, 3), "(snapshots, N, M) or (snapshots, M), µS")
    w = _one_neuron(w, neuron, w.ndim == 3)
    times = real_array("times", times, 1, f"({len(w)},): the step of each snapshot")
    if len(times) != len(w):
        raise ValueError(f"times must have one value per snapshot ({len(w)}), got {len(times)}")
    groups = _groups(groups, w.shape[1])
    ax = get_axes(ax, figsize=(7.0, 3.8))
    present = _present_groups(groups)
    n_groups = sum(k >= 0 for k in present)
    handles = []
    for k in present:
        members = np.flatnonzero(groups == k)
        color = group_color(k)
        lines = np.stack([np.broadcast_to(np.asarray(times, float)[:, None], (len(times), members.size)),
                          w[:, members]], axis=-1).transpose(1, 0, 2)          # (synapses, snapshots, 2)
        ax.add_collection(LineCollection(lines, colors=color, linewidths=0.5 if k < 0 else 0.6,
                                         alpha=0.25 if k < 0 else 0.35, zorder=1 if k < 0 else 2))
        if means:
            ax.plot(times, w[:, members].mean(axis=1), color="0.35" if k < 0 else color, linewidth=2.6,
                    zorder=3)
        handles.append(Line2D([], [], color="0.35" if k < 0 and means else color, linewidth=2.2,
                              label=f"{group_name(k, n_groups)}: {members.size} inputs"))
    ax.autoscale_view()
    if len(times):
        ax.set_xlim(times[0], times[-1])
    ax.set_ylim(bottom=0)
    if legend is not None:
        _groups_legend(ax, handles, present, loc=legend, title_fontsize=8.5,
                       title="thin: each synapse, thick: mean" if means else None)
    set_labels(ax, title, xlabel, ylabel)
    return ax


@style()
def weight_histogram(final_weights, groups, ax=None, *, neuron=0, bins=40, title=None,
                     xlabel="final weight $G$ (µS)", ylabel="synapses") -> Axes:
    """The final weights of one neuron's synapses as histograms: each group against the independent ones.

    Parameters
    ----------
    final_weights : array (N, M) (``Record.final_weights``) or (M,), µS
    groups : array (M,)
        The group of each input, −1 for independent ones.
    ax : matplotlib Axes, optional
    neuron : int
        Which neuron, for a 2-d ``final_weights``.
    bins : int or array
        Number of bins (shared by every group), or the bin edges.
    title, xlabel, ylabel
        Text of the axes (counts of synapses, not densities: the groups' sizes show).

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on; one filled histogram per group.
    """
    w = real_array("final_weights", final_weights, (1, 2), "(N, M) or (M,), µS")
    w = _one_neuron(w, neuron, w.ndim == 2)
    groups = _groups(groups, w.size)
    if w.size == 0:
        raise ValueError("final_weights holds no synapse")
    edges = np.histogram_bin_edges(w, bins=bins)
    ax = get_axes(ax, figsize=(5.5, 3.4))
    present = _present_groups(groups)
    n_groups = sum(k >= 0 for k in present)
    for k in present:
        members = w[groups == k]
        ax.hist(members, bins=edges, histtype="stepfilled", color=group_color(k), alpha=0.55,
                edgecolor=group_color(k), linewidth=1.0, label=f"{group_name(k, n_groups)} ({members.size})")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    _groups_legend(ax, ax.get_legend_handles_labels()[0], present, loc="best")
    set_labels(ax, title, xlabel, ylabel)
    return ax


@style()
def synapse_map(final_weights, groups, ax=None, *, neuron_labels=None, cmap="viridis", vmin=0.0,
                vmax=None, colorbar="final weight $G$ (µS)", title=None, xlabel="input",
                ylabel=None) -> Axes:
    """Which synapses each neuron holds: the final weights (N, M) as an image, the groups marked.

    One row per neuron (neuron 1 on top), one column per input. Above the image a
    strip in each group's colour spans its inputs, with its name; white dashed
    lines mark where a group begins and ends. A level-tuned layer that found K
    groups shows one bright block per row, each in a different group's columns.

    Parameters
    ----------
    final_weights : array (N, M) (``Record.final_weights``), µS
    groups : array (M,)
        The group of each input, −1 for independent ones.
    ax : matplotlib Axes, optional
    neuron_labels : sequence of str, optional
        N strings for the rows (default "neuron 1", "neuron 2", ...).
    cmap, vmin, vmax
        The colours (default 0 µS to the largest weight).
    colorbar : str or None
        Label of the colour bar; None: no colour bar.
    title, xlabel, ylabel
        Text of the axes.

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on.
    """
    w = real_array("final_weights", final_weights, 2, "(N, M): one row per neuron, µS")
    N, M = w.shape
    groups = _groups(groups, M)
    labels = [f"neuron {n + 1}" for n in range(N)] if neuron_labels is None else list(neuron_labels)
    if len(labels) != N:
        raise ValueError(f"neuron_labels must name the {N} neurons, got {len(labels)}")
    ax = get_axes(ax, figsize=(7.0, 1.4 + 0.55 * N))
    image = ax.imshow(w, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest",
                      extent=(-0.5, M - 0.5, N - 0.5, -0.5))
    ax.grid(False)
    # the runs of consecutive inputs of one group (the generator puts each group in one block)
    change = np.flatnonzero(np.diff(groups)) + 1
    starts, ends = np.r_[0, change], np.r_[change, M]
    strip = 0.28 + 0.04 * N                                 # in rows: visible for 1 to 6 neurons
    n_groups = len({k for k in groups.tolist() if k >= 0})
    named = set()
    for start, end in zip(starts, ends):
        k = int(groups[start])
        if k < 0:
            continue
        ax.add_patch(Rectangle((start - 0.5, -0.5 - 1.15 * strip), end - start, strip, color=group_color(k),
                               linewidth=0))
        ax.vlines([start - 0.5, end - 0.5], -0.5, N - 0.5, color="white", linewidth=0.8, linestyle="--",
                  alpha=0.8)
        if k not in named:
            named.add(k)
            ax.annotate(group_name(k, n_groups), ((start + end - 1) / 2, -0.5 - 1.2 * strip),
                        ha="center", va="bottom", fontsize=8.5, color=group_color(k),
                        annotation_clip=False)
    ax.set_ylim(N - 0.5, -0.5 - 1.25 * strip)
    ax.set_yticks(np.arange(N), labels)
    ax.set_xlim(-0.5, M - 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for spine in ax.spines.values():
        spine.set_visible(False)
    if colorbar is not None:
        ax.figure.colorbar(image, ax=ax, label=colorbar, fraction=0.05, pad=0.02)
    set_labels(ax, title, xlabel, ylabel)
    return ax


# --- the result --------------------------------------------------------------------------------


@style()
def detection_quality(c, auc, ax=None, *, label=None, color=None, marker="o", target=0.9,
                      title=None, xlabel="correlation coefficient $c$ of the group",
                      ylabel="AUC of the final weights") -> Axes:
    """Detection quality against the correlation: the AUC, mean ± std over seeds, for each c.

    The AUC is that of "the final weight tells the correlated inputs from the
    others" (1: every correlated synapse above every independent one; 0.5: chance).
    Call once per kind of device (PCM, ideal) on the same axes; the detection
    line at ``target`` and the chance line at 0.5 are drawn once.

    Parameters
    ----------
    c : array (n,)
        The correlation coefficients, in [0, 1].
    auc : array (n,) (one seed) or (n, seeds)
        The AUC of each run, in [0, 1]; the error bars are the standard deviation
        over seeds (numpy's ``std``).
    ax : matplotlib Axes, optional
    label, color, marker
        Of this curve.
    target : float or None
        The AUC that counts as detected, a dotted line (None: none).
    title, xlabel, ylabel
        Text of the axes.

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on.
    """
    c = real_array("c", c, 1, "(n,): the correlation coefficients")
    if c.size == 0:
        raise ValueError("c holds no correlation coefficient")
    if (not np.isfinite(c).all() or c.min() < 0 or c.max() > 1):
        raise ValueError(f"c must lie in [0, 1], got {c.tolist()}")
    auc = real_array("auc", auc, (1, 2), f"({len(c)},) or ({len(c)}, seeds)")
    if len(auc) != len(c):
        raise ValueError(f"auc must have one row per c ({len(c)}), got {len(auc)}")
    if auc.size and (not np.isfinite(auc).all() or auc.min() < 0 or auc.max() > 1):
        raise ValueError("auc must hold AUC values in [0, 1]")
    auc = auc.reshape(len(c), -1)
    if auc.shape[1] == 0:
        raise ValueError("auc holds no seed")
    order = np.argsort(c)
    mean, std = auc.mean(axis=1)[order], auc.std(axis=1)[order]
    ax = get_axes(ax, figsize=(5.5, 3.6))
    seeds = auc.shape[1]
    label = None if label is None else (f"{label} ({seeds} seeds)" if seeds > 1 else label)
    ax.errorbar(c[order], mean, yerr=std if seeds > 1 else None, color=color, marker=marker, capsize=3,
                label=label, zorder=3)
    gids = {line.get_gid() for line in ax.get_lines()}
    bottom = min(0.45, float(np.min(mean - std)) - 0.03)
    if "chance" in gids:                                  # a curve drawn before: keep its range too
        bottom = min(bottom, ax.get_ylim()[0])
    if target is not None and "target" not in gids:
        ax.axhline(float(target), color="black", linestyle=":", linewidth=1.0, gid="target",
                   label=f"detected: AUC {float(target):g}")
    if "chance" not in gids:
        ax.axhline(0.5, color="gray", linestyle="--", linewidth=0.8, gid="chance", label="chance: 0.5")
    ax.set_ylim(bottom, 1.02)
    handles, labels = ax.get_legend_handles_labels()        # the curves first, then the two lines
    is_line = [isinstance(h, Line2D) and h.get_gid() in ("target", "chance") for h in handles]
    order = sorted(range(len(handles)), key=lambda i: is_line[i])
    ax.legend([handles[i] for i in order], [labels[i] for i in order], loc="lower right", **OPAQUE)
    set_labels(ax, title, xlabel, ylabel)
    return ax


__all__ = ["GROUP_COLORS", "INDEPENDENT_COLOR", "detection_quality", "group_color", "group_name",
           "membrane_conductance", "stdp_window", "synapse_map", "weight_histogram", "weights_over_time"]
