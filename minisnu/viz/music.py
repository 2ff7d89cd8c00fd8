"""Plots of music: piano rolls of the JSB chorales and a network's note probabilities.

- :func:`piano_roll`: the notes that sound, time along x, pitch upwards;
- :func:`note_probabilities`: a network's predicted probability of every note
  at every step, with the notes that did sound on top;
- :func:`note_name`: "C4" for MIDI note 60.

A roll's column 0 is MIDI note :data:`~minisnu.data.jsb.LOWEST_NOTE` (21, A0, the lowest key of an
88-key piano), as in :mod:`minisnu.data.jsb`.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import FixedLocator

from ..data.jsb import LOWEST_NOTE
from .figure import VERMILLION, get_axes, real_array, set_labels, style, time_steps

#: The names of the twelve pitch classes, C first: the name of MIDI note n is ``NOTE_NAMES[n % 12]``.
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


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
    roll : array (T, notes)
        1 where a note sounds (e.g. 88 piano keys, JSB chorales).
    ax : matplotlib Axes, optional
    lowest_note : int
        MIDI number of column 0 (21, A0, for an 88-key roll).
    note_range : (low, high), "auto" or None
        The MIDI numbers to show: from low to high, "auto" (the notes that
        occur, ± 2), or None (every column).
    time : array (T,), optional
        x value of each step (1..T by default).
    cmap, title, xlabel, ylabel
        Look and text.

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on; every C is labelled with its name and MIDI number.
    """
    roll = real_array("roll", roll, 2, "(T, notes), e.g. (T, 88)")
    time = time_steps(time, roll.shape[0])
    ax = get_axes(ax, figsize=(6.4, 3.6))
    _roll_image(ax, roll, lowest_note, time, cmap, vmax=max(1.0, float(roll.max(initial=0))))
    _note_axis(ax, lowest_note, roll.shape[1], note_range, roll > 0)
    set_labels(ax, title, xlabel, ylabel)
    return ax


@style()
def note_probabilities(probs, target=None, ax=None, *, lowest_note=LOWEST_NOTE, note_range=None,
                       time=None, cmap="Blues", colorbar=True, title=None,
                       xlabel="time step (quarter note)", ylabel="note") -> Axes:
    """A network's predicted probability of every note at every step, with the true notes on top.

    Parameters
    ----------
    probs : array (T, notes)
        Probabilities in [0, 1] (e.g. sigmoid outputs).
    target : array (T, notes), optional
        The notes that did sound (1), drawn as hollow circles: a well-predicted
        note is a dark cell with a circle.
    ax : matplotlib Axes, optional
    lowest_note, note_range, time
        As in :func:`piano_roll` ("auto" looks at the target and at
        probabilities above 0.05).
    colorbar : bool
        Add a colour bar labelled "predicted probability".

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on.
    """
    probs = real_array("probs", probs, 2, "(T, notes), e.g. (T, 88)")
    if probs.size and (probs.min() < 0 or probs.max() > 1):
        raise ValueError(f"probs must lie in [0, 1], got values from {probs.min()} to {probs.max()}")
    time = time_steps(time, probs.shape[0])
    active = probs > 0.05
    if target is not None:
        target = real_array("target", target, 2, f"{probs.shape}, like probs")
        if target.shape != probs.shape:
            raise ValueError(f"target must have the shape of probs {probs.shape}, got {target.shape}")
        active = active | (target > 0)
    ax = get_axes(ax, figsize=(6.8, 3.6))
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
    set_labels(ax, title, xlabel, ylabel)
    return ax
