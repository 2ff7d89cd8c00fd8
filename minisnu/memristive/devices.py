r"""The cells of the all-memristive network, in two twins: PCM devices and ideal devices.

Every cell of the network, a neuron's membrane or a synapse, is a Nandakumar device
(``minisnu.pcm.device``) in a state (G, P): its conductance in µS and its pulse memory.
Only two operations change it:

.. math::

    \text{SET pulse:} \quad & P ← P · e^{−1/a}; \\
        & G ← \mathrm{clip}(G + m_1 G + c_1 + A_1 P + (m_2 G + c_2 + A_2 P) · z, \\
        & \qquad\qquad g_\mathrm{set\_min},\ g_\mathrm{max}) \\
    \text{RESET:} \quad & G ← \mathrm{clip}(g_\mathrm{reset} + g_\mathrm{reset\_std} · z,
                                            \ g_\mathrm{reset\_min},\ g_\mathrm{max}); \quad P ← 1

with one standard normal draw z per operation. ``devices="pcm"`` draws z ~ N(0, 1).
``devices="ideal"`` uses z = 0, the mean of the draw: the same saturating curve, every
SET increment its mean value, every RESET exactly to g_reset, and no random number at
all. The twins differ only in the randomness, so comparing them shows what the
devices' randomness does.

Random numbers. A run draws its normals from one xoshiro256++ stream, seeded by four
words of the network's numpy Generator (``minisnu.pcm.fast_normal.seed``). The Numba
kernels draw them one at a time (``normal``, with ``fast_normal.draw``); the NumPy
references take them in blocks from a ``NormalStream``, which draws the same numbers
in the same order. Each function here says the order of its draws, so that a kernel
and its reference make the same operations in the same order and agree bit for bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..core.validate import check_choice
from ..pcm.device import reset_step, set_pulse_step
from ..pcm.fast_normal import TABLES, draw, seed

#: The values of the ``devices`` option.
DEVICES = ("pcm", "ideal")


def is_ideal(devices: str) -> bool:
    """``devices`` checked: True for ``"ideal"``, False for ``"pcm"``."""
    check_choice("devices", devices, DEVICES)
    return devices == "ideal"


# --- The random numbers of a NumPy reference ----------------------------------------------------

@njit(cache=True, error_model="numpy")
def _fill_sequential(state, out, tables):
    """out[:] = normals drawn one at a time, as a kernel draws them; ``state`` (4 uint64) moves on."""
    s = (state[0], state[1], state[2], state[3])
    for j in range(out.size):
        out[j], s = draw(s, tables)
    state[0], state[1], state[2], state[3] = s


class NormalStream:
    """The standard normals of a run, for a NumPy reference: ``take(n)`` gives the next n.

    ``NormalStream(rng)`` takes four words of the Generator ``rng`` (as a kernel's seed
    does), and then gives the numbers the kernel would draw from that seed, in order.
    ``NormalStream(rng, ideal=True)`` takes the same four words and gives zeros: the
    ideal twin's z = 0.
    """

    def __init__(self, rng, ideal: bool = False):
        self.state = seed(rng)
        self.ideal = bool(ideal)

    def take(self, n: int) -> np.ndarray:
        out = np.zeros(n)
        if not self.ideal and n:
            _fill_sequential(self.state, out, TABLES)
        return out


def set_pulses_reference(g, p, index, counts, stream: NormalStream, k) -> None:
    """In place on the flat arrays g, p: counts[j] SET pulses on the cell index[j], in list order.

    Draws: one per pulse, the pulses of one cell consecutively, cells in list order.
    ``k``: the device's ``PulseConstants``. The arithmetic is the device's own
    ``set_pulse_step``, one pulse at a time.
    """
    z = stream.take(int(np.sum(counts)))
    j = 0
    for i, n in zip(index, counts):
        for _ in range(n):
            g[i], p[i] = set_pulse_step(g[i], p[i], z[j], k)
            j += 1


def reset_reference(g, p, index, stream: NormalStream, k) -> None:
    """In place on the flat arrays g, p: RESET the cells ``index``, one draw each, in list order.

    ``k``: the device's ``ResetConstants``.
    """
    z = stream.take(len(index))
    for j, i in enumerate(index):
        g[i], p[i] = reset_step(z[j], k)


# --- The same, one cell at a time, for the kernels ----------------------------------------------

@njit(inline="always")
def normal(ideal, state, tables):
    """The next z of the stream (PCM) or 0 without a draw (ideal); returns (z, state)."""
    if ideal:
        return 0.0, state
    return draw(state, tables)


@njit(inline="always")
def set_pulses(g, p, i, count, ideal, state, k, tables):
    """``count`` SET pulses on cell i of the flat arrays g, p, one draw each; returns the state."""
    gi, pi = g[i], p[i]
    for _ in range(count):
        z, state = normal(ideal, state, tables)
        gi, pi = set_pulse_step(gi, pi, z, k)
    g[i], p[i] = gi, pi
    return state


@njit(inline="always")
def reset(g, p, i, ideal, state, k, tables):
    """RESET cell i of the flat arrays g, p with one draw; returns the state."""
    z, state = normal(ideal, state, tables)
    g[i], p[i] = reset_step(z, k)
    return state
