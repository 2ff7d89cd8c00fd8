r"""What every temporal unit shares: the carried state, the two engines, the products outside the loop.

A temporal layer maps a sequence x of shape (T, B, n_in) (time, batch,
features) to a sequence of shape (T, B, n_out), step by step: step t reads
x_t and the state the previous step left, and writes a new state. The SNU's
state is (s, y), the RNN's and the GRU's (h,), the LSTM's (h, c); one of
them (y, or h) is also the layer's output. ``TemporalLayer`` is the base
class of all of them. It holds what does not depend on the unit's equations,
so that a new unit is written by writing only those.

What the base does
------------------
- **The carried state.** Step 1 reads an initial state: zeros, or the
  ``state`` the layer was given or, with ``stateful=True``, carried over from
  its previous forward pass (truncated BPTT, as in language modelling: the
  gradient stops there). ``state`` is a tuple of (B, n_out) arrays, one per
  name in ``state_names``, checked when it is set; ``reset_state()`` goes back
  to zeros; a forward pass whose batch size is not the carried state's is refused.
- **The engine switch.** ``engine="reference"`` runs the unit's NumPy
  reference, a line-by-line transcription of its equations, one Python step
  per time step; ``engine="numba"`` (the default) its compiled kernels. The
  tests prove the two equal; the reference is the one to read.
- **The input product before the loop.** The input enters every step as the
  matrix product x_t W. It does not depend on the state, so the compiled
  engine makes it for all t at once, one product of T·B rows
  (``_input_products``): much faster than T small ones. When the input is
  sparse, as the spikes of an SNU layer below are, the product is
  event-driven (``minisnu.core.events``): the rows of W of the active inputs,
  summed. Forward decides once from the input's density and keeps the list
  of active inputs for ∂L/∂W.
- **The gradients after the loop.** Once backpropagation through time has
  given δ_t = ∂L/∂(x_t W) for every step, the weight gradients and ∂L/∂x are
  again single products over all T·B rows (``_gradients_after_loop``):

  .. math::

      ∂L/∂W &= Σ_t x_t^\top δ_t \qquad ∂L/∂b = Σ_t Σ_{\text{batch}}\, δ_t \\
      ∂L/∂x_t &= δ_t W^\top \\
      ∂L/∂U &= Σ_t y_{t-1}^\top δ_t \\
            &\qquad \text{(the recurrent weights, when the unit has them)}

  Only what is truly sequential stays in the loop over t: the elementwise
  recurrence (a Numba kernel) and, in a recurrent unit, the product
  :math:`y_{t-1} U` (δ_t Uᵀ going back), left to NumPy's BLAS.
- **The records.** Forward keeps every state of every step, padded in time:
  index 0 holds the initial state and index t the state after step t, so
  step t reads index t − 1 without a special case for the first step, and
  ``states[:-1]`` is every previous state at once. ``output`` (and a unit's
  own views, such as the SNU's ``membrane``) show steps 1..T.
- **The checks**: x (T, B, n_in) of the layer's dtype, parameters that
  training has not made NaN, dy of the output's shape, backward after forward.

What a subclass writes
----------------------
- class attributes: ``state_names`` (what it carries, e.g. ("h", "c")),
  ``output_state`` (which of them is the output) and ``recurrent_weight``
  (the name of its recurrent matrix, U or H; the gradient after the loop
  fills it when the layer has that parameter). The defaults, ("h",), "h"
  and "U", are the RNN's;
- ``__init__``: call ``super().__init__(n_in, n_out, stateful=…, dtype=…,
  engine=…)``, then add the parameters with ``add_param`` (W first; the
  initialisations are in ``minisnu.core.init``);
- ``_forward_reference(x, initial)`` and ``_forward_numba(x, initial)``:
  ``initial`` is the tuple of (B, n_out) initial states; each returns the
  padded states (a tuple like ``state_names`` of (T + 1, B, n_out) arrays)
  and whatever backward needs besides x and the states (the gates, say);
- ``_backward_reference(dy, x, states, saved)`` and
  ``_backward_numba(dy, x, states, saved)``: add ∂L/∂params into ``grads``
  and return ∂L/∂x (the compiled one ends with ``_gradients_after_loop``);
- ``config()``: the constructor arguments, so that a checkpoint rebuilds it.

``rnn.py`` is the shortest example. A unit may add views of its records (the
LSTM's ``cell``, the SNU's ``membrane``, both ``_record(name)``) and wrap
``forward`` for what comes before the checks (the SNU clips a trained decay).
"""

from __future__ import annotations

import numpy as np

from ..core.errors import InputError
from ..core.events import add_outer, events_of, matmul
from ..core.init import glorot_uniform, orthogonal
from ..core.layer import Layer
from ..core.validate import (
    as_dtype,
    check_array,
    check_choice,
    check_gradient,
    check_params,
    check_shape,
    check_size,
)

#: "numba": the compiled kernels (default); "reference": the NumPy reference, step by step
ENGINES = ("numba", "reference")


def padded(first, rest):
    """[first, rest...] along time: a reference's (T, B, n) states with the initial one in front."""
    return np.concatenate([first[None], rest])


class TemporalLayer(Layer):
    """Base class of the temporal units: the carried state, the engines, the products outside the loop.

    See the module's docstring for what it does and what a subclass writes.
    """

    state_names = ("h",)        #: the arrays carried from step to step
    output_state = "h"          #: the one that is also the output
    recurrent_weight = "U"      #: the matrix applied to the previous output, if the layer has it
    #: False when the input is data (a network's first layer): backward then skips ∂L/∂x, a
    #: product as large as the forward one, and returns None. Parameter gradients are unchanged.
    input_gradient = True
    #: False: the compiled engine multiplies every input densely (BLAS), however sparse.
    event_driven = True

    def __init__(self, n_in, n_out, *, stateful, dtype, engine):
        super().__init__()
        check_choice("engine", engine, ENGINES)
        self.n_in, self.n_out = check_size("n_in", n_in), check_size("n_out", n_out)
        self.stateful, self.engine = bool(stateful), engine
        self.dtype = as_dtype(dtype)
        self._state = None            # the carried state, a tuple like state_names
        self._cache = None            # (x, padded states, what backward needs), from forward
        self._active = None           # the active inputs of forward's x (events), or None: BLAS

    def _add_gated_params(self, rng, n_gates):
        """W, U and b of a unit whose gates read x_t W + h_{t-1} U + b (the RNN, LSTM, GRU).

        With k = n_gates, W is (n_in, k·n) Glorot uniform, U (n, k·n) one
        orthogonal block per gate (so that each gate's h U keeps the size of h),
        b (k·n,) zero. Drawn from ``rng`` in that order.
        """
        width = n_gates * self.n_out
        self.add_param("W", glorot_uniform(rng, self.n_in, width, self.dtype))
        self.add_param("U", np.hstack([orthogonal(rng, self.n_out, self.dtype)
                                       for _ in range(n_gates)]))
        self.add_param("b", np.zeros(width, self.dtype))

    # -- the state carried between calls -------------------------------------------

    @property
    def state(self):
        """The state the next forward pass starts from: None (zeros), or a tuple of
        (B, n_out) arrays named by ``state_names``: (s, y) for the SNU, (h,) for the
        RNN and the GRU, (h, c) for the LSTM. A stateful layer sets it to its last
        state after each forward pass; any layer may be given one (e.g. to prime a
        language model), held constant by backward."""
        return self._state

    @state.setter
    def state(self, value) -> None:
        if value is None:
            self._state = None
            return
        names = self.state_names
        if not isinstance(value, (tuple, list)) or len(value) != len(names):
            raise InputError(f"the state of {type(self).__name__} is a tuple ({', '.join(names)})")
        first = self._checked_first_state(f"state {names[0]}_0", value[0])
        arrays = [first] + [check_array(f"state {name}_0", check_shape(f"state {name}_0", v, first.shape),
                                        dtype=self.dtype)
                            for name, v in zip(names[1:], value[1:])]
        self._state = tuple(a.copy() for a in arrays)    # copies: the caller keeps its arrays

    def _checked_first_state(self, name, value) -> np.ndarray:
        """The first array of a given state, checked: (B, n_out). The others must match its shape."""
        return check_array(name, value, ndim=2, last=self.n_out, dtype=self.dtype)

    def reset_state(self) -> None:
        """Forget the carried state: the next forward pass starts from zeros."""
        self._state = None

    def _initial_state(self, batch):
        """The state step 1 reads: the carried (or given) one, or zeros."""
        if self._state is None:
            return tuple(np.zeros((batch, self.n_out), self.dtype) for _ in self.state_names)
        carried = self._state[0].shape[0]
        if carried != batch:
            raise ValueError(
                f"this {type(self).__name__} carries the state of {carried} sequences but x has "
                f"a batch of {batch}; call reset_state() before a new batch size")
        return self._state

    def _padded_states(self, T, initial):
        """One (T + 1, B, n_out) array per state, index 0 holding the initial state."""
        states = tuple(np.empty((T + 1,) + s0.shape, self.dtype) for s0 in initial)
        for s, s0 in zip(states, initial):
            s[0] = s0
        return states

    # -- forward ---------------------------------------------------------------------

    def forward(self, x):
        """x: (T, B, n_in) -> (T, B, n_out), the output state of every step."""
        x = check_array("x", x, ndim=3, last=self.n_in, dtype=self.dtype)
        check_params(self)
        initial = self._initial_state(x.shape[1])
        self._cache = self._active = None
        if self.engine == "reference":
            states, saved = self._forward_reference(x, initial)
        else:
            if self.event_driven:           # sparse x: event-driven x W and xᵀ δ (None: BLAS)
                self._active = events_of(x.reshape(-1, self.n_in))
            states, saved = self._forward_numba(x, initial)
        self._cache = (x, states, saved)
        self._recorded = tuple(s[1:] for s in states)    # steps 1..T, without the initial state
        if self.stateful:   # copies: the next call must not see later changes to them
            self._state = tuple(s[-1].copy() for s in states)
        return self._record(self.output_state)

    def _input_products(self, x):
        """x_t W for every t at once: (T, B, n_in) -> (T, B, width of W)."""
        T, B, _ = x.shape
        return matmul(x.reshape(T * B, self.n_in), self.params["W"], self._active).reshape(T, B, -1)

    def _record(self, name):
        """The state ``name`` (one of ``state_names``) of every step of the last forward pass."""
        self._need_forward(self._cache)
        return self._recorded[self.state_names.index(name)]

    @property
    def output(self) -> np.ndarray:
        """The output of every step of the last forward pass, (T, B, n_out)."""
        return self._record(self.output_state)

    # -- backward --------------------------------------------------------------------

    def backward(self, dy):
        """dy: (T, B, n_out) = ∂L/∂output -> ∂L/∂x; adds ∂L/∂params into ``grads``."""
        self._need_forward(self._cache)
        x, states, saved = self._cache
        shape = x.shape[:2] + (self.n_out,)
        dy = check_gradient(self, dy, shape, self.dtype)
        dy = np.ascontiguousarray(dy)                    # the kernels index it row by row
        if self.engine == "reference":
            dx = self._backward_reference(dy, x, states, saved)
            return dx if self.input_gradient else None
        return self._backward_numba(dy, x, states, saved)

    def _gradients_after_loop(self, x, states, delta, delta_recurrent=None, bias=True):
        """Add ∂L/∂W, ∂L/∂U (or H) and ∂L/∂b into grads from every step's δ; return ∂L/∂x
        (None when ``input_gradient`` is False).

        delta : (T, B, width of W) δ_t = ∂L/∂(x_t W), every step.
        delta_recurrent : ∂L/∂(y_{t-1} U), if it is not delta (the GRU gates its product).
        bias : add Σ δ_t into ∂L/∂b (False when b enters elsewhere, as the SNU's threshold).
        """
        T, B, _ = x.shape
        d = delta.reshape(T * B, -1)
        add_outer(self.grads["W"], x.reshape(T * B, self.n_in), d, self._active)   # Σ_t x_tᵀ δ_t
        if self.recurrent_weight in self.params:
            previous = states[self.state_names.index(self.output_state)][:-1]    # every y_{t-1}
            dq = d if delta_recurrent is None else delta_recurrent.reshape(T * B, -1)
            self.grads[self.recurrent_weight] += previous.reshape(T * B, self.n_out).T @ dq
        if bias:
            self.grads["b"] += d.sum(axis=0)                                   # Σ_t Σ_batch δ_t
        if not self.input_gradient:
            return None
        return (d @ self.params["W"].T).reshape(T, B, self.n_in)               # δ_t Wᵀ

    # -- what each unit writes -----------------------------------------------------------

    def _forward_reference(self, x, initial):  # pragma: no cover - interface
        raise NotImplementedError

    def _forward_numba(self, x, initial):  # pragma: no cover - interface
        raise NotImplementedError

    def _backward_reference(self, dy, x, states, saved):  # pragma: no cover - interface
        raise NotImplementedError

    def _backward_numba(self, dy, x, states, saved):  # pragma: no cover - interface
        raise NotImplementedError

    def config(self) -> dict:
        return {"n_in": self.n_in, "n_out": self.n_out, "stateful": self.stateful,
                "dtype": self.dtype.name, "engine": self.engine}
