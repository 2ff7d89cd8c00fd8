r"""The per-step product of a recurrent layer, for time loops that run wholly compiled.

A recurrent unit multiplies its previous output by a matrix at every step, :math:`q_t = y_{t-1} U`
going forward and :math:`δ_{t+1} U^\top` going back, so its time loop cannot be one big product like a
feed-forward layer's x W. The engines run such a loop one of two ways:

- small layers (batch × size of U up to ``COMPILED_RECURRENCE``: JSB's 150 units at batch
  1, say) run the whole loop compiled, the products by ``row_product`` below, with no
  Python between the steps;
- large ones loop over t in Python and leave each step's product to BLAS, which is several
  times faster than any loop here once the product is big enough to pay for the calls.

(Calling BLAS from inside Numba goes through SciPy's own OpenBLAS, whose threads then
fight NumPy's for the cores: that ran 2.5× slower here than the Python loop.)
"""

from __future__ import annotations

from numba import njit

#: The largest batch × (size of the recurrent matrix) whose time loop runs compiled, per-step
#: products included; above it the loop runs in Python around BLAS's products. Measured by
#: benchmarks/bench_recurrent.py on this project's 2-core machine (see the README).
COMPILED_RECURRENCE = 2 ** 16


def compiled_recurrence(batch: int, U) -> bool:
    """Whether a recurrent layer with recurrent matrix U runs its whole loop compiled."""
    return batch * U.size <= COMPILED_RECURRENCE


@njit(cache=True, error_model="numpy")
def add_row_product(out, y, U):
    r"""out += y U, row by row: :math:`\text{out}_i \mathrel{+}= Σ_k y_{ik} U_k` (U_k the k-th row
    of U).

    Only the rows of U whose y_ik ≠ 0 are added: for spiking units, the units that fired
    (the event-driven product of ``core/events.py``); for rates, all of them. The inner loop
    runs along a row of U and vectorizes (a dot product would not: without fastmath, Numba
    keeps a float sum in its order, one term at a time). For out += δ Uᵀ pass Uᵀ contiguous.
    """
    B, m = y.shape
    n = U.shape[1]
    for i in range(B):
        for k in range(m):
            yk = y[i, k]
            if yk != 0:
                for j in range(n):
                    out[i, j] += yk * U[k, j]


@njit(cache=True, error_model="numpy")
def row_product(out, y, U):
    """out = y U (see ``add_row_product``)."""
    out[...] = 0
    add_row_product(out, y, U)
