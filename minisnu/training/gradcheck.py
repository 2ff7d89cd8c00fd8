r"""Check hand-derived gradients against central finite differences.

For a scalar function L(θ) the central difference

.. math::

    ∂L/∂θ_i ≈ (L(θ + ε e_i) − L(θ − ε e_i)) / (2ε)

has an error of order ε² (truncation) plus a rounding error of about
u·M/ε, where u = 2.2e-16 is float64's unit round-off and M the size of the
terms that make up L. With ε = 1e-6 a correct analytic gradient agrees to about
1e-8 relative; a wrong derivation shows up as an error near 1.

The relative error of an entry is :math:`|a − n| / \max(|a| + |n|, \mathrm{floor})`. The floor
keeps entries whose true gradient is (almost) zero from dividing rounding noise
by zero: it is 1e-3 of the largest entry of the same array, or a million times
the rounding error u·M/ε if that is larger (an entry below that level cannot be
resolved to 1e-6 in float64, so it is held to an absolute error of about the
rounding error instead). The rounding error is taken as 100·u·M/ε: a forward
pass of many operations accumulates more than one round-off per term.

Layers are checked through the scalar L = Σ y ⊙ dy for a fixed random
upstream gradient dy: then ∂L/∂θ is exactly what ``backward(dy)`` must add
into ``grads``, and ∂L/∂x is what it must return.

Each check returns a :class:`GradcheckReport` with the worst relative error of
every parameter (and of the input, as ``"x"``)::

    >>> layer = ms.SNU(3, 4, soft=True, dtype=np.float64)
    >>> report = ms.gradcheck.check_layer(layer, x)
    >>> print(report)   # a table: name, entries checked, worst error
    >>> assert report.worst < 1e-6

Only smooth paths can be checked this way: the spiking SNU's Heaviside step has
no derivative, and its pseudo-derivative is not one (see tests/test_snu.py for
how the spiking backward is verified instead).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.validate import as_rng


@dataclass
class GradcheckReport:
    """Worst relative error per checked array (parameters and ``"x"``)."""

    errors: dict[str, float] = field(default_factory=dict)
    checked: dict[str, int] = field(default_factory=dict)

    @property
    def worst(self) -> float:
        return max(self.errors.values(), default=0.0)

    def passed(self, tol: float = 1e-6) -> bool:
        return self.worst <= tol

    def __str__(self) -> str:
        lines = [f"{'array':<12} {'entries':>8} {'worst rel. error':>18}"]
        for name, err in self.errors.items():
            lines.append(f"{name:<12} {self.checked[name]:>8} {err:>18.3e}")
        return "\n".join(lines)


def relative_error(analytic: np.ndarray, numeric: np.ndarray, floor: float = 1e-12) -> np.ndarray:
    r""":math:`|a − n| / \max(|a| + |n|, \mathrm{floor})`, elementwise."""
    return np.abs(analytic - numeric) / np.maximum(np.abs(analytic) + np.abs(numeric), floor)


def numerical_gradient(f, array: np.ndarray, index, eps: float) -> float:
    """Central difference of the scalar function ``f()`` in ``array[index]``."""
    old = array[index]
    array[index] = old + eps
    f_plus = f()
    array[index] = old - eps
    f_minus = f()
    array[index] = old
    return (f_plus - f_minus) / (2.0 * eps)


def _entries(array: np.ndarray, max_entries: int | None, rng: np.random.Generator):
    """Indices to check: all of them, or a random sample of ``max_entries``."""
    indices = list(np.ndindex(array.shape))
    if max_entries is not None and len(indices) > max_entries:
        pick = rng.choice(len(indices), size=max_entries, replace=False)
        indices = [indices[i] for i in sorted(pick)]
    return indices


def _rng_states(model):
    """Every ``rng`` Generator held by the model or its layers.

    A stochastic layer (Dropout) draws new random numbers on each forward pass;
    restoring these states before every pass makes L a deterministic function
    of the parameters, as finite differences require.
    """
    layers = getattr(model, "layers", [model])
    gens = [layer.rng for layer in layers if isinstance(getattr(layer, "rng", None), np.random.Generator)]
    return [(g, g.bit_generator.state) for g in gens]


def _restore(states) -> None:
    for gen, state in states:
        gen.bit_generator.state = state


def _require_float64(name: str, array: np.ndarray) -> None:
    if array.dtype != np.float64:
        raise TypeError(
            f"gradient checks need float64 ({name} is {array.dtype}): finite differences "
            "in float32 are too coarse; build the layer with dtype=np.float64"
        )


def _require_float64_model(model, x) -> None:
    for name, p in model.params.items():
        _require_float64(name, p)
    if x.dtype.kind == "f":
        _require_float64("x", x)


def _compare(report, name, array, analytic, f, eps, max_entries, rng, noise) -> None:
    indices = _entries(array, max_entries, rng)
    numeric = np.array([numerical_gradient(f, array, i, eps) for i in indices])
    exact = np.array([analytic[i] for i in indices], dtype=np.float64)
    scale = np.max(np.abs(exact) + np.abs(numeric), initial=0.0)
    errors = relative_error(exact, numeric, floor=max(1e-3 * scale, 1e6 * noise, 1e-12))
    report.errors[name] = float(np.max(errors, initial=0.0))
    report.checked[name] = len(indices)


def check_function(f, arrays: dict, analytic: dict, *, eps=1e-6, max_entries=None, rng=0,
                   magnitude=None):
    """Compare ``analytic[name]`` with the finite differences of ``f()`` in ``arrays[name]``.

    ``f`` takes no argument and returns a scalar computed from the arrays, which
    are perturbed in place (and restored). ``magnitude`` is the size M of the
    terms summed into f (:math:`|f()|` if None), for the rounding-error estimate 100·u·M/ε.
    The building block of the checks below.
    """
    rng = as_rng(rng)
    if magnitude is None:
        magnitude = abs(f())
    noise = 100 * np.finfo(np.float64).eps * magnitude / eps   # see the module docstring
    report = GradcheckReport()
    for name, array in arrays.items():
        _require_float64(name, array)
        _compare(report, name, array, analytic[name], f, eps, max_entries, rng, noise)
    return report


def check_layer(layer, x, *, dy=None, eps=1e-6, max_entries=None, check_input=True, rng=0):
    """Check ``layer.backward`` (parameters and input) against finite differences.

    The scalar checked is L = Σ y ⊙ dy, whose gradient with respect to y is dy.

    Parameters
    ----------
    layer
        Any object with the layer contract, in float64.
    x : array
        The input; must be float64 unless it is integer (Embedding indices).
    dy : array or None
        The upstream gradient; random normal of the output's shape if None.
    max_entries : int or None
        Check at most this many entries per array (random sample).
    check_input : bool
        Also check dL/dx (skipped for integer inputs).
    """
    rng = as_rng(rng)
    _require_float64_model(layer, x)
    states = _rng_states(layer)
    y = layer.forward(x)
    _restore(states)
    if dy is None:
        dy = rng.standard_normal(y.shape)
    return check_network(layer, x, _dot, dy, eps=eps, max_entries=max_entries,
                         check_input=check_input, rng=rng, magnitude=float(np.sum(np.abs(y * dy))))


def _dot(y, dy):
    """L = Σ y ⊙ dy and ∂L/∂y = dy: the loss that turns a layer check into a network check."""
    return float(np.sum(y * dy)), dy


def check_loss(loss_fn, output, target, *, eps=1e-6, max_entries=None, rng=0, **kwargs):
    """Check the gradient a loss returns: ``loss, grad = loss_fn(output, target, **kwargs)``."""
    _, grad = loss_fn(output, target, **kwargs)
    return check_function(
        lambda: float(loss_fn(output, target, **kwargs)[0]),
        {"output": output},
        {"output": grad},
        eps=eps,
        max_entries=max_entries,
        rng=rng,
    )


def check_network(net, x, loss_fn, target, *, eps=1e-6, max_entries=None, check_input=True, rng=0,
                  magnitude=None):
    """Check a whole network with its loss: every parameter of every layer, and x.

    ``loss_fn(output, target)`` returns (loss, ∂loss/∂output); ``magnitude`` is
    passed on to :func:`check_function`.
    """
    rng = as_rng(rng)
    _require_float64_model(net, x)
    states = _rng_states(net)
    _loss, grad = loss_fn(net.forward(x), target)
    net.zero_grad()
    dx = net.backward(grad)
    analytic = {name: g.copy() for name, g in net.grads.items()}
    arrays = dict(net.params)
    if check_input and x.dtype.kind == "f":
        arrays["x"], analytic["x"] = x, dx

    def total_loss():
        _restore(states)
        return float(loss_fn(net.forward(x), target)[0])

    return check_function(total_loss, arrays, analytic, eps=eps, max_entries=max_entries, rng=rng,
                          magnitude=magnitude)
