r"""Parallel spike streams with hidden correlations: the input of the correlation-detection task.

M binary streams x_i(t), t = 1..T, each firing with probability r per step.
K disjoint groups of them are secretly correlated, group k with the
coefficient c_k; the other streams are independent. A neuron that learns by
STDP should end up with strong synapses from the correlated streams and weak
ones from the rest: it has found the hidden structure without being told.

The construction (Pantazi et al. 2016 and the group's later work use streams of
this kind; the recipe is the standard one):

.. math::

    R_k(t) &\sim \text{Bernoulli}(r)                         && \text{a hidden reference stream per group} \\
    a_i(t) &\sim \text{Bernoulli}(√c_k)                      && \text{does input $i$ of group $k$} \\
           &                                                 && \text{copy the reference now?} \\
    o_i(t) &\sim \text{Bernoulli}(r)                         && \text{its own, independent draw} \\
    x_i(t) &= R_k(t) \text{ if } a_i(t) \text{ else } o_i(t)
              \qquad                                         && \text{(independent inputs: $x_i(t) = o_i(t)$)}

Why √c_k: every x_i is still Bernoulli(r), and two inputs i ≠ j of group k
are equal to the reference together with probability √c_k·√c_k = c_k, so

.. math::

    \text{Cov}(x_i, x_j) &= c_k · \text{Var}(R_k) + (1 − c_k) · 0 = c_k · r(1 − r) \\
    \text{Var}(x_i) &= r(1 − r) \\
    \text{corr}(x_i, x_j) &= c_k

Inputs of different groups, and the independent ones, are uncorrelated. What
makes groups differ is their size and c_k: a larger or more correlated group
fires more often *together*, a higher level of coincident activity, which is
what level-tuned neurons tell apart.

The streams are time-major, (T, M), as every sequence in minisnu, of uint8
zeros and ones (a million steps of 1,000 inputs is 1 GB as uint8, 8 GB as
float64). The groups occupy the first inputs, one block after the other, so a
plot of all weights shows each group as a band.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.errors import InputError
from ..core.validate import as_rng, check_size

#: Steps drawn at once: bounds the temporary float arrays to CHUNK × M numbers.
CHUNK = 8192


def correlated_spikes(T: int, M: int, rate: float, groups=(), rng=None) -> tuple[np.ndarray, np.ndarray]:
    """Draw the streams.

    Parameters
    ----------
    T, M : int
        Steps and inputs.
    rate : float
        r, the firing probability of every input per step, in [0, 1].
    groups : sequence of (size, c) pairs
        The correlated groups: ``[(100, 0.5)]`` is one group of 100 inputs with
        pairwise correlation 0.5. They take the first inputs in order; the rest
        are independent.
    rng : int or numpy.random.Generator, optional
        Seed or generator of every draw.

    Returns
    -------
    x : (T, M) uint8
        The spikes (0 or 1).
    group : (M,) int64
        The group of each input (0, 1, ...), −1 for the independent ones.
    """
    T, M = check_size("T", T), check_size("M", M)
    rate = _check_probability("rate", rate)
    groups = _check_groups(groups, M)
    rng = as_rng(rng)
    group = np.full(M, -1, np.int64)
    blocks, start = [], 0
    for k, (size, c) in enumerate(groups):
        group[start:start + size] = k
        blocks.append((start, start + size, math.sqrt(c)))
        start += size

    x = np.empty((T, M), np.uint8)
    for t0 in range(0, T, CHUNK):
        steps = min(CHUNK, T - t0)
        chunk = rng.random((steps, M)) < rate                           # o_i(t), every input
        for begin, end, copy in blocks:
            reference = rng.random((steps, 1)) < rate                  # R_k(t)
            copies = rng.random((steps, end - begin)) < copy           # a_i(t)
            chunk[:, begin:end] = np.where(copies, reference, chunk[:, begin:end])
        x[t0:t0 + steps] = chunk
    return x, group


def _check_probability(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(f"{name} must be a number in [0, 1], got {value!r}")
    if not 0.0 <= value <= 1.0:
        raise InputError(f"{name} must be in [0, 1], got {value}")
    return float(value)


def _check_groups(groups, M: int) -> list[tuple[int, float]]:
    checked = []
    for k, spec in enumerate(groups):
        if not isinstance(spec, (tuple, list)) or len(spec) != 2:
            raise InputError(f"group {k} must be a pair (size, c), got {spec!r}")
        size = check_size(f"the size of group {k}", spec[0])
        checked.append((size, _check_probability(f"c of group {k}", spec[1])))
    total = sum(size for size, _ in checked)
    if total > M:
        raise InputError(f"the groups hold {total} inputs, more than the M = {M} there are")
    return checked
