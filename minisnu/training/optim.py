"""Optimizers: SGD (with momentum, Nesterov) and Adam / AdamW.

An optimizer acts on any ``model`` with ``params`` and ``grads`` dicts of
NumPy arrays under the same keys (a layer, or a ``Sequential`` whose flattened
dicts hold its layers' own array objects). Every update is therefore done *in
place* (``θ -= ...``): rebinding ``model.params[key]`` would detach the dict
from the layer that computes with the array.

The formulas follow PyTorch's conventions, so hyper-parameters carry over.
The per-element updates run in small Numba loops, in the parameter's own dtype:
one pass over memory per step, no temporary arrays.

A training step::

    opt = Adam(model, lr=1e-3)
    for x, y in batches:
        opt.zero_grad()
        loss, dy = softmax_cross_entropy(model.forward(x), y)
        model.backward(dy)
        clip_grad_norm(model.grads, 1.0)
        opt.step()
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from numba import njit

from ..core.errors import CheckpointError
from ..core.validate import FLOAT_DTYPES

# ---------------------------------------------------------------------------
# per-element update kernels (on flat views; scalars in the parameter's dtype)


@njit(cache=True, error_model="numpy")
def _sgd_kernel(p, g, lr, weight_decay):  # pragma: no cover - compiled
    for i in range(p.size):
        p[i] -= lr * (g[i] + weight_decay * p[i])


@njit(cache=True, error_model="numpy")
def _momentum_kernel(p, g, v, lr, momentum, weight_decay, nesterov):  # pragma: no cover
    for i in range(p.size):
        d = g[i] + weight_decay * p[i]
        v[i] = momentum * v[i] + d
        if nesterov:
            d = d + momentum * v[i]
        else:
            d = v[i]
        p[i] -= lr * d


@njit(cache=True, error_model="numpy")
def _adam_kernel(p, g, m, v, step_size, beta1, one_minus_beta1, beta2, one_minus_beta2,
                 sqrt_bc2, eps, weight_decay, decay):  # pragma: no cover - compiled
    for i in range(p.size):
        p[i] *= decay  # AdamW's decoupled decay (decay = 1 otherwise)
        d = g[i] + weight_decay * p[i]  # L2 penalty in the gradient (0 for AdamW)
        m[i] = beta1 * m[i] + one_minus_beta1 * d
        v[i] = beta2 * v[i] + one_minus_beta2 * d * d
        p[i] -= step_size * m[i] / (np.sqrt(v[i]) / sqrt_bc2 + eps)


# ---------------------------------------------------------------------------
# hyper-parameter checks


def _check_range(name: str, value, low: float, high: float = math.inf, *,
                 low_open: bool = False, high_open: bool = True) -> float:
    """``value`` as a float in the interval (or ValueError naming the option)."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None
    above = value > low if low_open else value >= low
    below = value < high if high_open else value <= high
    if not (above and below and math.isfinite(value)):
        interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be in {interval}, got {value}")
    return value


_KINDS = {int: "an integer", float: "a number", bool: "true or false"}


def _stored_scalar(source: str, name: str, value, kind: type):
    """A stored scalar (a JSON value, or a 0-d array from ``np.load``) as ``kind``; CheckpointError otherwise.

    Strict: a bool is not a number, a float is not an integer (``steps`` 3.0 is
    a hand-edited file), and a string is nothing.
    """
    if (isinstance(value, np.ndarray) and value.ndim == 0) or isinstance(value, np.generic):
        value = value.item()  # the Python scalar: bool, int or float
    if kind is float and type(value) is int:
        value = float(value)
    if type(value) is not kind:
        shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:80] + " ..."
        raise CheckpointError(f"{source}: {name!r} must be {_KINDS[kind]}, got {shown}")
    return value


# ---------------------------------------------------------------------------


class Optimizer:
    """Shared machinery: the model, ``lr``, ``zero_grad`` and the state dict.

    Subclasses list their per-parameter state arrays in ``_slots`` and
    implement ``_configure`` (validate and store the hyper-parameters),
    ``hyper_parameters`` and ``_update``.
    """

    _slots: tuple[str, ...] = ()

    def __init__(self, model) -> None:
        for attr in ("params", "grads"):
            if not isinstance(getattr(model, attr, None), Mapping):
                raise TypeError(f"model must have a {attr!r} dict of arrays")
        self.model = model
        self.steps = 0  # number of step() calls so far
        self.state: dict[str, dict[str, np.ndarray]] = {slot: {} for slot in self._slots}

    @property
    def lr(self) -> float:
        """The learning rate; may be changed between steps (schedules)."""
        return self._lr

    @lr.setter
    def lr(self, value) -> None:
        self._lr = _check_range("lr", value, 0.0, low_open=True)

    def zero_grad(self) -> None:
        """Reset the gradients to 0 (``model.zero_grad()`` if the model has it)."""
        if callable(getattr(self.model, "zero_grad", None)):
            self.model.zero_grad()
        else:
            for g in self.model.grads.values():
                g.fill(0)

    def step(self) -> None:
        """Update every parameter in place from its gradient."""
        pairs = self._pairs()  # all checked before anything changes
        self.steps += 1
        for key, p, g in pairs:
            self._update(key, p, g)

    def _pairs(self) -> list:
        """(key, parameter, gradient) triples, checked against each other."""
        params, grads = self.model.params, self.model.grads
        pairs = []
        for key, p in params.items():
            if key not in grads:
                raise KeyError(f"model.grads has no entry for parameter {key!r}")
            g = grads[key]
            if p.dtype not in FLOAT_DTYPES:
                raise TypeError(f"parameter {key!r} must be float32 or float64, got {p.dtype}")
            if g.shape != p.shape or g.dtype != p.dtype:
                raise ValueError(
                    f"gradient {key!r} has shape {g.shape} and dtype {g.dtype}, "
                    f"but its parameter has {p.shape} and {p.dtype}"
                )
            for name, array in (("parameter", p), ("gradient", g)):
                if not array.flags.c_contiguous:  # a flat copy would lose the update
                    raise ValueError(f"{name} {key!r} must be C-contiguous to be updated in place")
            pairs.append((key, p, g))
        return pairs

    def _buffer(self, slot: str, key: str, p: np.ndarray) -> np.ndarray:
        """The state array ``slot`` of parameter ``key``, zero on first use."""
        buf = self.state[slot].get(key)
        if buf is None:
            buf = self.state[slot][key] = np.zeros(p.shape, dtype=p.dtype)
        return buf

    # -- checkpoints ---------------------------------------------------------

    def state_dict(self) -> dict:
        """Everything needed to resume exactly: hyper-parameters, step count, state.

        The values are floats, ints, bools and array copies (keys
        ``"<slot>.<parameter key>"``), so the dict can be saved with
        ``np.savez`` and read back with ``np.load(..., allow_pickle=False)``.
        """
        d = {"steps": self.steps, **self.hyper_parameters()}
        for slot, arrays in self.state.items():
            for key, buf in arrays.items():
                d[f"{slot}.{key}"] = buf.copy()
        return d

    def load_state_dict(self, d: Mapping, source: str = "optimizer state") -> None:
        """Restore a ``state_dict()`` (hyper-parameters included, as in PyTorch).

        Values may be 0-d arrays, as ``np.load`` returns them. Everything is
        checked before anything changes; any missing, unknown, wrong-typed,
        out-of-range or non-finite entry is a :class:`~minisnu.core.errors.CheckpointError` that
        names ``source`` (say, the file the state was read from) and the key:

        - ``steps``: an integer >= 0 (not a float, not a bool);
        - each hyper-parameter: a number (or true/false) the constructor accepts;
        - ``"<slot>.<parameter key>"``: a finite array of the parameter's shape
          and dtype; after the first step, every slot the optimizer uses
          (Adam's m and v, SGD's velocity with momentum) holds every parameter.
        """
        if not isinstance(d, Mapping):
            raise CheckpointError(f"{source}: expected a dict of the optimizer's state, "
                                  f"got {type(d).__name__}")
        hyper = self.hyper_parameters()
        missing = [name for name in ("steps", *hyper) if name not in d]
        if missing:
            raise CheckpointError(f"{source}: the state of {type(self).__name__} lacks {missing}")
        steps = _stored_scalar(source, "steps", d["steps"], int)
        if steps < 0:
            raise CheckpointError(f"{source}: 'steps' must be >= 0, got {steps}")
        # hyper-parameters keep their Python type (float or bool)
        values = {name: _stored_scalar(source, name, d[name], type(old)) for name, old in hyper.items()}
        state = {slot: {} for slot in self._slots}
        params = self.model.params
        for name, value in d.items():
            if name == "steps" or name in hyper:
                continue
            slot, _, key = str(name).partition(".")
            if slot not in state or key not in params:
                raise CheckpointError(
                    f"{source}: entry {name!r} matches no state of this optimizer and model"
                )
            p = params[key]
            if not isinstance(value, np.ndarray) or value.shape != p.shape or value.dtype != p.dtype:
                got = (f"shape {value.shape} and dtype {value.dtype}" if isinstance(value, np.ndarray)
                       else f"a {type(value).__name__}")
                raise CheckpointError(f"{source}: state {name!r} has {got}, "
                                      f"but the parameter has shape {p.shape} and dtype {p.dtype}")
            if not np.isfinite(value).all():
                bad = value.size - np.count_nonzero(np.isfinite(value))
                raise CheckpointError(f"{source} is damaged: state {name!r} holds {bad} NaN or "
                                      "infinite value(s)")
            state[slot][key] = np.array(value, copy=True, order="C")
        try:
            self._configure(**values)
        except (TypeError, ValueError) as err:
            self._configure(**hyper)  # unchanged
            raise CheckpointError(f"{source}: {err}") from None
        if steps > 0:
            for slot in self._slots_in_use():
                lacking = sorted(params.keys() - state[slot].keys())
                if lacking:
                    self._configure(**hyper)
                    raise CheckpointError(f"{source}: the state after {steps} steps lacks "
                                          f"{slot!r} for {lacking}")
        self.steps, self.state = steps, state

    def _slots_in_use(self) -> tuple[str, ...]:
        """The slots every step fills, for every parameter, with the current hyper-parameters."""
        return self._slots

    # -- to implement ----------------------------------------------------------

    def hyper_parameters(self) -> dict:  # pragma: no cover - interface
        raise NotImplementedError

    def _configure(self, **hyper) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def _update(self, key: str, p: np.ndarray, g: np.ndarray) -> None:  # pragma: no cover
        raise NotImplementedError


class SGD(Optimizer):
    r"""Stochastic gradient descent, with optional momentum and Nesterov.

    With learning rate η, momentum μ, weight decay λ and gradient g_t
    (PyTorch's convention, dampening 0):

    .. math::

        d_t &= g_t + λ θ_{t−1} \qquad \text{(L2 penalty } λ/2 \, ‖θ‖^2) \\
        v_t &= μ v_{t−1} + d_t, \quad v_0 = 0 \qquad \text{(velocity, if } μ > 0) \\
        θ_t &= θ_{t−1} − η v_t \qquad \text{(heavy ball)} \\
        θ_t &= θ_{t−1} − η (d_t + μ v_t) \qquad \text{(nesterov=True)}

    and :math:`θ_t = θ_{t−1} − η d_t` when μ = 0. Note that η multiplies the velocity,
    not the gradient inside it (unlike Sutskever et al. 2013), so changing η
    mid-training takes effect at once.

    Parameters
    ----------
    model
        Object with ``params`` and ``grads`` dicts of arrays.
    lr : float
        η > 0.
    momentum : float
        μ in [0, 1).
    nesterov : bool
        Use Nesterov's look-ahead form (needs μ > 0).
    weight_decay : float
        λ >= 0.
    """

    _slots = ("velocity",)

    def __init__(self, model, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0) -> None:
        super().__init__(model)
        self._configure(lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)

    def _configure(self, lr, momentum, nesterov, weight_decay) -> None:
        self.lr = lr
        self.momentum = _check_range("momentum", momentum, 0.0, 1.0)
        self.weight_decay = _check_range("weight_decay", weight_decay, 0.0)
        if not isinstance(nesterov, (bool, np.bool_)):
            raise TypeError(f"nesterov must be True or False, got {nesterov!r}")
        if nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0")
        self.nesterov = bool(nesterov)

    def hyper_parameters(self) -> dict:
        return {"lr": self.lr, "momentum": self.momentum, "nesterov": self.nesterov,
                "weight_decay": self.weight_decay}

    def _slots_in_use(self) -> tuple[str, ...]:
        return self._slots if self.momentum > 0 else ()

    def _update(self, key, p, g) -> None:
        t = p.dtype.type  # keep the arithmetic in the parameter's precision
        if self.momentum == 0:
            _sgd_kernel(p.reshape(-1), g.reshape(-1), t(self.lr), t(self.weight_decay))
        else:
            v = self._buffer("velocity", key, p)
            # reshape(-1) gives views: every array here is C-contiguous
            _momentum_kernel(p.reshape(-1), g.reshape(-1), v.reshape(-1), t(self.lr),
                             t(self.momentum), t(self.weight_decay), self.nesterov)


class Adam(Optimizer):
    r"""Adam (Kingma & Ba 2015), and AdamW (Loshchilov & Hutter 2019).

    At step t, with g_t the gradient (plus :math:`λ θ_{t−1}` for plain Adam with
    weight decay λ, an L2 penalty):

    .. math::

        m_t &= β_1 m_{t−1} + (1 − β_1) g_t \qquad \text{(first moment)} \\
        v_t &= β_2 v_{t−1} + (1 − β_2) g_t^2 \qquad \text{(second moment)} \\
        \hat m_t &= m_t / (1 − β_1^t), \quad \hat v_t = v_t / (1 − β_2^t) \qquad \text{(bias correction)} \\
        θ_t &= θ_{t−1} − η \hat m_t / (\sqrt{\hat v_t} + ε)

    With ``decoupled=True`` (AdamW) the decay is not part of g_t; instead
    :math:`θ_{t−1}` is first shrunk to :math:`(1 − η λ) θ_{t−1}`, so its strength does not
    depend on the gradient's scale.

    Parameters
    ----------
    model
        Object with ``params`` and ``grads`` dicts of arrays.
    lr : float
        η > 0.
    betas : (float, float)
        (β₁, β₂), each in [0, 1).
    eps : float
        ε > 0, added to √v̂ to avoid dividing by zero.
    weight_decay : float
        λ >= 0.
    decoupled : bool
        AdamW's decoupled weight decay.
    """

    _slots = ("m", "v")

    def __init__(self, model, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 decoupled=False) -> None:
        super().__init__(model)
        try:
            beta1, beta2 = betas
        except (TypeError, ValueError):
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}") from None
        self._configure(lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay,
                        decoupled=decoupled)

    def _configure(self, lr, beta1, beta2, eps, weight_decay, decoupled) -> None:
        self.lr = lr
        self.betas = (_check_range("betas[0]", beta1, 0.0, 1.0),
                      _check_range("betas[1]", beta2, 0.0, 1.0))
        self.eps = _check_range("eps", eps, 0.0, low_open=True)
        self.weight_decay = _check_range("weight_decay", weight_decay, 0.0)
        if not isinstance(decoupled, (bool, np.bool_)):
            raise TypeError(f"decoupled must be True or False, got {decoupled!r}")
        self.decoupled = bool(decoupled)

    def hyper_parameters(self) -> dict:
        return {"lr": self.lr, "beta1": self.betas[0], "beta2": self.betas[1], "eps": self.eps,
                "weight_decay": self.weight_decay, "decoupled": self.decoupled}

    def _update(self, key, p, g) -> None:
        t = p.dtype.type
        beta1, beta2 = self.betas
        bc1, bc2 = 1 - beta1**self.steps, 1 - beta2**self.steps
        # θ -= (η / bc1) m / (√v / √bc2 + ε) is η m̂ / (√v̂ + ε) rearranged, as in PyTorch
        if self.decoupled:  # AdamW: shrink θ, keep the decay out of the moments
            lam, decay = 0.0, 1 - self.lr * self.weight_decay
        else:  # Adam: L2 penalty in the gradient
            lam, decay = self.weight_decay, 1.0
        m, v = self._buffer("m", key, p), self._buffer("v", key, p)
        _adam_kernel(p.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1),
                     t(self.lr / bc1), t(beta1), t(1 - beta1), t(beta2), t(1 - beta2),
                     t(math.sqrt(bc2)), t(self.eps), t(lam), t(decay))


def clip_grad_norm(grads: Mapping, max_norm: float) -> float:
    r"""Scale all gradients together so that their global L2 norm is at most ``max_norm``.

    .. math::

        ‖g‖ &= \sqrt{Σ_k Σ_i g_{k,i}^2} \qquad \text{over every array } k \text{ in grads} \\
        g &← g · \mathtt{max\_norm} / ‖g‖ \qquad \text{if } ‖g‖ > \mathtt{max\_norm}

    The direction of the update is kept; only its length is capped (Pascanu et
    al. 2013), which tames the exploding gradients of long BPTT unrolls.

    Returns
    -------
    float
        The norm before clipping. A NaN or infinite norm is returned as it is and
        nothing is scaled, so the caller can detect it (and skip the step).
    """
    if not isinstance(grads, Mapping):
        raise TypeError(
            f"grads must be a dict of arrays (e.g. model.grads), got {type(grads).__name__}"
        )
    max_norm = _check_range("max_norm", max_norm, 0.0, low_open=True)
    # each ‖g_k‖² in the array's dtype (np.vdot flattens), their sum in Python float
    norm = math.sqrt(sum(float(np.vdot(g, g)) for g in grads.values()))
    if math.isfinite(norm) and norm > max_norm:
        scale = max_norm / norm
        for g in grads.values():
            g *= g.dtype.type(scale)
    return norm
