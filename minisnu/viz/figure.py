"""The look and the files shared by every plot of :mod:`minisnu.viz`.

- the look: the Okabe–Ito colours, :data:`STYLE` and :func:`style`;
- new figures: :func:`get_axes` (the axes given, or a pyplot figure's, for
  notebooks and scripts) and :func:`new_figure` (a bare Matplotlib ``Figure``
  without pyplot, for the figures the commands write);
- the checks and pieces the plotting modules share: :func:`real_array`,
  :func:`time_steps`, :func:`step_limits`, :func:`set_labels`;
- :func:`legend` (each label once) and :func:`save` (a PNG, written atomically).

Importing this module does not import ``matplotlib.pyplot`` (and so picks no
backend): pyplot is imported only when :func:`get_axes` has to make a figure.
"""

from __future__ import annotations

import os
import sys

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from ..core.io import atomic_write

#: Resolution of the PNG files written by :func:`save`.
DPI = 150

#: Okabe & Ito's palette: distinguishable with every common colour-vision deficiency.
BLUE, VERMILLION, GREEN, PURPLE, ORANGE, SKY, YELLOW = (
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442")
#: The colour cycle of the plots (``axes.prop_cycle`` in :data:`STYLE`): black in place of yellow.
PALETTE = (BLUE, VERMILLION, GREEN, PURPLE, ORANGE, SKY, "#000000")
#: The colour of spikes.
SPIKE = "#000000"
#: The colour of a firing threshold.
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


def style():
    """The minisnu look, as a context manager (or a decorator).

    ``with viz.style(): fig, ax = plt.subplots()`` makes a figure that matches
    the helpers of :mod:`minisnu.viz`: Okabe–Ito colours, light grid, no top and
    right spines, constrained layout. The settings are :data:`STYLE`.
    """
    return mpl.rc_context(STYLE)


# --- new figures ----------------------------------------------------------------------------


def get_axes(ax, figsize=None) -> Axes:
    """``ax``, or the axes of a new pyplot figure (pyplot is imported only here, when needed)."""
    if ax is not None:
        if not isinstance(ax, Axes):
            raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def new_figure(figsize, nrows=1, ncols=1, **subplots):
    """A bare ``Figure`` and its axes (``Figure.subplots``): no pyplot, no backend, no global state.

    For figures written to a file and never shown (a command's figure): nothing
    needs closing, and it works the same with or without a display. Call it
    under :func:`style` for the minisnu look (constrained layout included).
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, **subplots)


# --- checks and pieces shared by the plots ----------------------------------------------------


def real_array(name: str, a, ndim, shape_hint: str) -> np.ndarray:
    """``a`` as a real-valued array with one of the allowed ``ndim``, or a clear error."""
    a = np.asarray(a)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
    ndim = (ndim,) if isinstance(ndim, int) else ndim
    if a.ndim not in ndim:
        raise ValueError(f"{name} must have shape {shape_hint}, got shape {a.shape} ({a.ndim}-d)")
    return a


def time_steps(time, T: int) -> np.ndarray:
    """The x values of T time steps: ``time`` as given, or the step numbers 1..T."""
    if time is None:
        return np.arange(1, T + 1)
    time = real_array("time", time, 1, f"({T},)")
    if len(time) != T:
        raise ValueError(f"time must have one value per step ({T}), got {len(time)}")
    return time


def step_limits(ax, time) -> None:
    """x limits half a step beyond the first and last step, integer ticks for step numbers."""
    if len(time) == 0:
        return
    dt = float(np.median(np.diff(time))) if len(time) > 1 else 1.0
    ax.set_xlim(time[0] - dt / 2, time[-1] + dt / 2)
    if np.issubdtype(np.asarray(time).dtype, np.integer):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def set_labels(ax, title=None, xlabel=None, ylabel=None) -> None:
    """The axes' title and axis labels, each only when given."""
    if title is not None:
        ax.set_title(title)
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)


# --- legends and files ----------------------------------------------------------------------


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
    path : str
        The absolute path written.
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
