"""Charts of any numbers: a matrix, a histogram, a parity plot, named bars.

- :func:`heatmap`: a matrix as an image (weights, conductances, a digit);
- :func:`histogram`: many samples as a density, with a normal density on top;
- :func:`parity`: approximate values against exact ones, with the relative
  error :func:`relative_error`;
- :func:`bars`: named values as labelled horizontal bars.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from .figure import BLUE, VERMILLION, get_axes, real_array, set_labels, style


@style()
def histogram(samples, ax=None, *, bins=60, color=None, label=None, normal=None, title=None,
              xlabel="conductance $G$ (µS)", ylabel="probability density") -> Axes:
    """Histogram (as a density) of many samples, with an optional normal density on top.

    Parameters
    ----------
    samples : array of any shape (flattened)
        E.g. repeated reads of devices, µS.
    ax : matplotlib Axes, optional
        Call again for several groups.
    bins : int or array
        Number of bins, or bin edges.
    color, label
        Of the histogram.
    normal : (mean, std), optional
        The expected normal density, drawn dashed.

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on.
    """
    samples = real_array("samples", samples, tuple(range(33)), "any shape").ravel()
    ax = get_axes(ax, figsize=(5.5, 3.4))
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
    set_labels(ax, title, xlabel, ylabel)
    return ax


@style()
def heatmap(matrix, ax=None, *, cmap=None, symmetric=False, vmin=None, vmax=None, colorbar=None,
            aspect="auto", ticks=True, title=None, xlabel="column", ylabel="row") -> Axes:
    """A matrix as an image (row 0 on top), with a labelled colour bar.

    Parameters
    ----------
    matrix : array (rows, columns)
        E.g. a weight matrix W (n_in, n_out) or conductances.
    ax : matplotlib Axes, optional
    cmap : str, optional
        Colour map; "RdBu_r" when ``symmetric``, else the style's default.
    symmetric : bool
        Centre the colours on 0 (for signed values such as weights).
    vmin, vmax : float, optional
        Colour limits (default: the data's range, or ± max|matrix|).
    colorbar : str, optional
        Label of the colour bar, with units; no colour bar if None.
    aspect : {"auto", "equal"}
        "auto" (fill the axes) or "equal" (square cells, e.g. for images).
    ticks : bool
        False hides the row and column ticks (for pictures).

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on.
    """
    matrix = real_array("matrix", matrix, 2, "(rows, columns)")
    if symmetric:
        vmax = float(np.max(np.abs(matrix), initial=0)) if vmax is None else vmax
        vmin, cmap = -vmax, cmap or "RdBu_r"
    ax = get_axes(ax, figsize=(4.5, 4))
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
    set_labels(ax, title, xlabel, ylabel)
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
    exact, approx : arrays of the same shape
        E.g. x @ W and a crossbar's product.
    ax : matplotlib Axes, optional
    color, label
        Of the points.

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on.
    """
    exact, approx = np.ravel(exact), np.ravel(approx)
    if exact.shape != approx.shape:
        raise ValueError(f"exact and approx must have the same size, got {exact.size} and {approx.size}")
    ax = get_axes(ax, figsize=(4.2, 4))
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
    set_labels(ax, title, xlabel, ylabel)
    return ax


@style()
def bars(values, ax=None, *, fmt="{:.2g}", color=BLUE, highlight=None, log=False, title=None,
         xlabel="value") -> Axes:
    """Horizontal bar chart of named values, top to bottom in the dict's order, each bar labelled.

    Parameters
    ----------
    values : dict {name: number}
    ax : matplotlib Axes, optional
    fmt : str
        Format of the number written beside each bar.
    color
        Of the bars; names listed in ``highlight`` are drawn in vermillion.
    log : bool
        Logarithmic value axis.

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on.
    """
    if not isinstance(values, dict) or not values:
        raise TypeError("values must be a non-empty dict {name: number}")
    names = list(values)
    numbers = np.array([float(values[k]) for k in names])
    highlight = set(highlight or ())
    colors = [VERMILLION if name in highlight else color for name in names]
    ax = get_axes(ax, figsize=(6.4, 0.6 + 0.32 * len(names)))
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
    set_labels(ax, title, xlabel, None)
    return ax
