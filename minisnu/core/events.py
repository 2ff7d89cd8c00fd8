r"""Event-driven products: a layer's input current x W and its weight gradient xᵀ δ, computed
from the input's nonzero entries (its events) only.

A spiking layer's input is the spikes of the layer below: 0 or 1, and mostly 0. For a row x
of the input (one sample at one step) with active inputs :math:`A = \{i : x_i ≠ 0\}`,

.. math::

    (x W)_j &= Σ_{i ∈ A} x_i W_{ij} \\
            &\qquad \text{(the rows of W of the active inputs, summed)} \\
    (x^\top δ)_i &= x_i δ \text{ for } i ∈ A,\; 0 \text{ else} \\
            &\qquad \text{(δ scattered into the active rows of ∂L/∂W)}

so both cost :math:`|A| · n_{out}` multiply-adds instead of n_in · n_out: at 2 % firing, a fiftieth.
(For spikes x_i = 1 and the products are plain sums; the kernels keep the factor x_i so that
they are exact for any sparse input, e.g. spikes scaled by dropout's 1/(1 − p).)

A dense matrix product runs near the core's peak (BLAS), and the loops here do not, so events
pay only below a crossover density. A layer calls ``events_of(x)`` once per forward pass: it
counts the nonzero entries of every eighth row of x (``sampled_density``) and, when that
share is at most ``event_density()``, lists the
nonzero entries; then ``matmul`` and ``add_outer`` take that list (event-driven) or None
(BLAS). A dense input costs a glance at an eighth of it more than a dense product.

Each product exists twice, as everywhere in minisnu: ``*_reference`` is the NumPy textbook
version (read it first), the ``*_events`` kernels are the compiled engine, and the tests prove
they agree with each other and with the dense product, to rounding.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .blas import blas_threads

#: The event-driven kernels beat BLAS's dense product below a share of nonzero inputs. They run
#: on one core and BLAS on all its threads, so that crossover falls as BLAS's threads grow:
#: benchmarks/bench_events.py measured it at 0.16 with one thread and 0.075 with two on this
#: project's 2-core machine (see the README). CROSSOVER_ONE_THREAD divided by the threads BLAS
#: has when a layer runs keeps a margin, so that a layer never runs slower event-driven than
#: dense. Set EVENT_DENSITY to a number to fix the crossover instead.
CROSSOVER_ONE_THREAD = 0.14
#: None, or a number: the density up to which ``events_of`` picks the event-driven kernels
EVENT_DENSITY: float | None = None


def event_density() -> float:
    """The density up to which ``events_of`` picks the event-driven kernels: ``EVENT_DENSITY``
    if set, else ``CROSSOVER_ONE_THREAD`` / the threads of NumPy's BLAS now."""
    if EVENT_DENSITY is not None:
        return EVENT_DENSITY
    return CROSSOVER_ONE_THREAD / (blas_threads() or 1)


def events_of(x: np.ndarray, threshold: float | None = None):
    """``active_inputs(x)`` for the event-driven kernels when x (R, n_in) is sparse, its
    density at most ``threshold`` (default ``event_density()``); None when BLAS should multiply
    it. The density is estimated on every 8th row: the choice only decides the speed (both
    ways give the same products), and a dense input should cost no more than a glance."""
    limit = event_density() if threshold is None else threshold
    if x.size == 0 or sampled_density(np.ascontiguousarray(x), 8) > limit:
        return None
    return active_inputs(x)


@njit(cache=True)
def sampled_density(x, stride):
    """The share of nonzero entries in the rows 0, stride, 2·stride, ... of x (R, n), R, n > 0.
    (NumPy's count_nonzero on the strided view x[::stride] took ten times as long.)"""
    count = 0
    for r in range(0, x.shape[0], stride):
        for i in range(x.shape[1]):
            count += x[r, i] != 0
    rows = (x.shape[0] + stride - 1) // stride
    return count / (rows * x.shape[1])


# -- references: the sums above, in NumPy ----------------------------------------------------


def matmul_reference(x: np.ndarray, W: np.ndarray) -> np.ndarray:
    """x W for x (R, n_in), W (n_in, n_out): row r is :math:`Σ_{i ∈ A_r} x_{ri} W_i`."""
    out = np.zeros((x.shape[0], W.shape[1]), np.result_type(x, W))
    for r in range(x.shape[0]):
        active = np.flatnonzero(x[r])                       # A_r, the inputs that spiked
        out[r] = x[r, active] @ W[active]                   # Σ_{i ∈ A_r} x_ri W_i
    return out


def add_outer_reference(grad: np.ndarray, x: np.ndarray, delta: np.ndarray) -> None:
    """grad += xᵀ δ for x (R, n_in), δ (R, n_out): each row's δ_r scattered into the rows
    A_r of ``grad``, times x_ri."""
    for r in range(x.shape[0]):
        active = np.flatnonzero(x[r])
        grad[active] += np.outer(x[r, active], delta[r])    # x_ri δ_r for each i ∈ A_r


# -- the engine -----------------------------------------------------------------------------
# The kernels first list each row's active inputs (compressed sparse rows: the inputs of row r
# are indices[indptr[r]:indptr[r + 1]]), then loop over those lists only. Listing them once
# serves the forward product and the gradient both (the layer keeps the lists), and the
# listing itself is branch-free: a test per entry would cost a mispredicted branch per spike.


def active_inputs(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The nonzero entries of each row of x (R, n_in), as compressed sparse rows
    ``(indptr, indices)``: row r's active inputs are ``indices[indptr[r]:indptr[r + 1]]``."""
    x = np.ascontiguousarray(x)
    indptr = np.empty(x.shape[0] + 1, np.int64)
    # Room for every entry, + 1 for the slot a row's last store may use; only the pages the
    # active inputs reach are ever touched. The layer keeps the lists until its backward pass,
    # so they are copied out of that room, which is then freed.
    indices = np.empty(x.size + 1, np.int32)
    list_active(x, indptr, indices)
    return indptr, indices[:indptr[-1]].copy()


@njit(cache=True)
def list_active(x, indptr, indices):
    """Write the column of every nonzero entry of x, row after row, into ``indices``, and
    where each row's list starts into ``indptr``."""
    k = 0
    for r in range(x.shape[0]):
        indptr[r] = k
        for i in range(x.shape[1]):
            indices[k] = i                  # always stored, kept only if x_ri ≠ 0:
            k += x[r, i] != 0               # no branch on the data
    indptr[x.shape[0]] = k


@njit(cache=True, error_model="numpy")
def matmul_events(indptr, indices, x, W, out):
    r"""out = x W from the active inputs: :math:`\text{out}_r = Σ_{i ∈ A_r} x_{ri} W_i`. ``out`` is
    overwritten.

    The rows of W are added four at a time: each pass over out_r then loads and stores it once
    for four inputs instead of once per input (a quarter of the memory traffic on out, which
    is what limits this loop), then the last one to three one at a time."""
    for r in range(x.shape[0]):
        row = out[r]
        row[:] = 0
        k, end = indptr[r], indptr[r + 1]
        while k + 4 <= end:
            i0, i1, i2, i3 = indices[k], indices[k + 1], indices[k + 2], indices[k + 3]
            v0, v1, v2, v3 = x[r, i0], x[r, i1], x[r, i2], x[r, i3]
            w0, w1, w2, w3 = W[i0], W[i1], W[i2], W[i3]
            for j in range(row.shape[0]):       # contiguous rows: this loop vectorizes
                row[j] += (v0 * w0[j] + v1 * w1[j]) + (v2 * w2[j] + v3 * w3[j])
            k += 4
        for rest in range(k, end):
            i = indices[rest]
            v = x[r, i]
            w = W[i]
            for j in range(row.shape[0]):
                row[j] += v * w[j]


@njit(cache=True, error_model="numpy")
def add_outer_events(grad, indptr, indices, x, delta):
    """grad += xᵀ δ from the active inputs: grad_i += x_ri δ_r for each r and i ∈ A_r."""
    for r in range(x.shape[0]):
        d = delta[r]
        for k in range(indptr[r], indptr[r + 1]):
            i = indices[k]
            v = x[r, i]
            g = grad[i]
            for j in range(d.shape[0]):
                g[j] += v * d[j]


# -- what the layers call -------------------------------------------------------------------


def matmul(x: np.ndarray, W: np.ndarray, active=None) -> np.ndarray:
    """x W for x (R, n_in), from ``active = active_inputs(x)`` when given, else by BLAS."""
    if active is None:
        return x @ W
    out = np.empty((x.shape[0], W.shape[1]), np.result_type(x, W))
    matmul_events(*active, np.ascontiguousarray(x), np.ascontiguousarray(W), out)
    return out


def add_outer(grad: np.ndarray, x: np.ndarray, delta: np.ndarray, active=None) -> None:
    """grad += xᵀ δ for x (R, n_in), δ (R, n_out), grad (n_in, n_out) C-contiguous: from
    ``active = active_inputs(x)`` when given, else by BLAS."""
    if active is None:
        grad += x.T @ delta
        return
    add_outer_events(grad, *active, np.ascontiguousarray(x), np.ascontiguousarray(delta))
