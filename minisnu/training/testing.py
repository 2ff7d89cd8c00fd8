"""Property-based gradient tests for any layer with minisnu's layer contract.

minisnu's own tests use these helpers, and so can a student who writes a new
unit: give a function that builds the layer, get a pytest test that checks it
on many random shapes, sequence lengths and seeds (drawn by hypothesis) against
finite differences in float64::

    # tests/test_my_unit.py
    import numpy as np
    from minisnu.training.testing import layer_gradient_test

    test_my_unit = layer_gradient_test(
        lambda n_in, n_out, rng: MyUnit(n_in, n_out, dtype=np.float64,
                                        rng=rng))

    # every option drawn as well: a strategy for make_layer's keywords
    test_my_snu = layer_gradient_test(
        lambda n_in, n_out, rng, **options: SNU(
            n_in, n_out, dtype=np.float64, rng=rng, **options),
        options=snu_settings(smooth=True))

The pieces are public too: the hypothesis strategies (``sequence_shapes``,
``snu_settings``, ``surrogate_widths``), the assertions (``assert_layer_gradients``,
``assert_network_gradients``, ``assert_loss_gradients``) and the contract check
(``assert_layer_contract``). This module needs hypothesis (the ``test`` extra).
"""

from __future__ import annotations

import numpy as np

try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError as err:  # pragma: no cover - depends on the install
    raise ImportError("minisnu.training.testing needs hypothesis: pip install 'minisnu[test]'") from err

from . import gradcheck

#: relative error that a correct gradient stays below in float64
GRAD_TOL = 1e-6


# -- strategies ------------------------------------------------------------------


def sequence_shapes(max_steps=8, max_batch=3, max_features=5):
    """Strategy for (T, B, n_in, n_out): sequence length, batch, input and output features."""
    return st.tuples(
        st.integers(1, max_steps),
        st.integers(1, max_batch),
        st.integers(1, max_features),
        st.integers(1, max_features),
    )


def decays():
    """Strategy for a decay l in [0, 1], with the edge values 0 and 1 drawn often."""
    return st.one_of(st.sampled_from([0.0, 1.0, 0.8]), st.floats(0.0, 1.0))


def surrogate_widths():
    """Strategy for the surrogate width k: None (the surrogate's default) or a number.

    A non-default k matters where only a compiled path uses it: the float32
    engine computes the tanh surrogate by its own formula.
    """
    return st.one_of(st.none(), st.sampled_from([0.5, 2.0, 3.0]), st.floats(0.25, 5.0))


def snu_settings(soft=None, smooth=False):
    """Strategy for keyword arguments of ``minisnu.SNU``: every option but dtype, rng and engine.

    Parameters
    ----------
    soft : bool or None
        Fix the unit kind (True: sSNU, False: SNU), or None to draw both.
    smooth : bool
        Only settings whose forward pass is differentiable, so that finite
        differences apply: the sSNU without ``detach_reset`` (a detached reset
        is by design not the true gradient).
    """
    if smooth:
        soft, detach = st.just(True), st.just(False)
    else:
        soft = st.booleans() if soft is None else st.just(soft)
        detach = st.booleans()
    return st.fixed_dictionaries({
        "soft": soft,
        "recurrent": st.booleans(),
        "decay": decays(),
        "g": st.sampled_from(["relu", "identity", "leaky_relu"]),
        "g_slope": st.one_of(st.sampled_from([0.0, 0.01, 0.5]), st.floats(0.0, 0.9)),
        "surrogate": st.sampled_from(["tanh", "sigmoid", "fast_sigmoid", "arctan", "straight_through"]),
        "surrogate_k": surrogate_widths(),
        "detach_reset": detach,
        "train_decay": st.booleans(),
        "lateral_inhibition": st.booleans(),
        "bias_init": st.one_of(st.just(-1.0), st.floats(-2.0, 1.0)),
    })


def random_input(rng, shape, dtype=np.float64, spikes=False):
    """Standard-normal input, or 0/1 spikes with probability 1/2."""
    if spikes:
        return (rng.random(shape) < 0.5).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


# -- assertions ------------------------------------------------------------------


def assert_layer_gradients(layer, x, tol=GRAD_TOL, **kwargs):
    """Assert that ``layer.backward`` matches finite differences (float64)."""
    report = gradcheck.check_layer(layer, x, **kwargs)
    assert report.passed(tol), f"gradient check failed (tol {tol:g}):\n{report}"
    return report


def assert_network_gradients(net, x, loss_fn, target, tol=GRAD_TOL, **kwargs):
    """Assert that a whole network's backward, from its loss, matches finite differences."""
    report = gradcheck.check_network(net, x, loss_fn, target, **kwargs)
    assert report.passed(tol), f"gradient check failed (tol {tol:g}):\n{report}"
    return report


def assert_loss_gradients(loss_fn, output, target, tol=GRAD_TOL, **kwargs):
    """Assert that the gradient a loss returns matches finite differences."""
    report = gradcheck.check_loss(loss_fn, output, target, **kwargs)
    assert report.passed(tol), f"gradient check failed (tol {tol:g}):\n{report}"
    return report


def assert_layer_contract(layer, x):
    """Check the layer contract on input x.

    - ``params`` and ``grads`` have the same keys, shapes and dtypes;
    - ``backward`` returns dL/dx of x's shape and the layer's dtype (or None
      for integer input, such as an Embedding's indices);
    - ``backward`` adds into ``grads``: a second call doubles them;
    - ``zero_grad`` zeroes them.
    """
    assert set(layer.params) == set(layer.grads), "params and grads have different keys"
    for name, p in layer.params.items():
        g = layer.grads[name]
        assert g.shape == p.shape and g.dtype == p.dtype, f"grads[{name!r}] does not match params"
    y = layer.forward(x)
    dy = np.random.default_rng(0).standard_normal(y.shape).astype(y.dtype)
    layer.zero_grad()
    dx = layer.backward(dy)
    if dx is not None:
        assert dx.shape == x.shape and dx.dtype == y.dtype, "dx must have x's shape and the layer's dtype"
    once = {name: g.copy() for name, g in layer.grads.items()}
    layer.backward(dy)
    for name, g in layer.grads.items():
        np.testing.assert_allclose(g, 2 * once[name], rtol=1e-5, atol=1e-6,
                                   err_msg=f"backward must add into grads[{name!r}]")
    layer.zero_grad()
    for name, g in layer.grads.items():
        assert not g.any(), f"zero_grad left grads[{name!r}] non-zero"


# -- a ready-made property test --------------------------------------------------


def layer_gradient_test(make_layer, *, max_examples=25, shapes=None, options=None, spikes=False,
                        tol=GRAD_TOL):
    """Build a pytest test function: contract and gradients of ``make_layer`` on random cases.

    Parameters
    ----------
    make_layer : callable
        ``make_layer(n_in, n_out, rng, **kwargs)`` -> a float64 layer taking (T, B, n_in) input.
    shapes : hypothesis strategy or None
        A strategy for (T, B, n_in, n_out); ``sequence_shapes()`` by default.
    options : hypothesis strategy or None
        A strategy for the keyword arguments of ``make_layer`` (a dict), so that
        every option of the layer is drawn too, e.g. ``snu_settings(smooth=True)``;
        None: no keywords.
    spikes : bool
        Feed 0/1 spike trains instead of normal noise.
    """

    @settings(max_examples=max_examples, deadline=None)
    @given(shape=sequence_shapes() if shapes is None else shapes,
           kwargs=st.just({}) if options is None else options, seed=st.integers(0, 2**32 - 1))
    def test(shape, kwargs, seed):
        T, B, n_in, n_out = shape
        rng = np.random.default_rng(seed)
        layer = make_layer(n_in, n_out, rng, **kwargs)
        x = random_input(rng, (T, B, n_in), spikes=spikes)
        assert_layer_contract(layer, x)
        assert_layer_gradients(layer, x, tol=tol, rng=rng)

    return test
