"""Tests of the SNU and sSNU: the equations, the hand-derived BPTT, the engine.

What is proven here:
1. the forward pass follows the paper's equations (a hand-computed neuron);
2. the sSNU's backward is the exact gradient (finite differences, float64) for
   every smooth setting;
3. the spiking SNU's backward is exact BPTT with h' = the chosen surrogate: it
   equals the true gradient of a smooth twin whose output is the spiking output
   at the checked point and whose derivative is the surrogate;
4. the Numba engine equals the NumPy reference, forward and backward, in
   float32 and float64;
5. edge cases, bad input and the layer contract.
"""

from unittest import mock

import numpy as np
import pytest
from helpers import ENGINES
from hypothesis import given, settings
from hypothesis import strategies as st

from minisnu import gradcheck
from minisnu.training.testing import (
    assert_layer_contract,
    assert_layer_gradients,
    layer_gradient_test,
    random_input,
    sequence_shapes,
    snu_settings,
)
from minisnu.units import recurrence, snu_reference
from minisnu.units.snu import SNU
from minisnu.units.surrogate import primitive

seeds = st.integers(0, 2**32 - 1)


def make_pair(n_in, n_out, dtype, seed, **kwargs):
    """The same layer twice: Numba engine and NumPy reference (same parameters)."""
    engine = SNU(n_in, n_out, dtype=dtype, rng=seed, **kwargs)
    reference = SNU(n_in, n_out, dtype=dtype, rng=seed, engine="reference", **kwargs)
    return engine, reference


def randomize(layer, rng, scale=1.5):
    """Parameters that make units fire sometimes and decays away from the edges."""
    for name, p in layer.params.items():
        if name == "decay":
            p[...] = rng.uniform(0.05, 0.95, p.shape)
        elif name == "b":
            p[...] = rng.uniform(-1.5, 0.5, p.shape)
        else:
            p[...] = scale * rng.standard_normal(p.shape)


# -- 1. the equations -------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_one_neuron_by_hand(engine):
    """x = 0.6 each step, W = 1, l = 0.8, threshold 1 (b = −1):
    s1 = 0.6 (silent); s2 = 0.6 + 0.8·0.6 = 1.08 (spike); s3 = 0.6 + 0.8·1.08·(1 − 1) = 0.6
    (the reset emptied it); s4 = 0.6 + 0.8·0.6 = 1.08 (spike)."""
    layer = SNU(1, 1, decay=0.8, dtype=np.float64, engine=engine)
    layer.params["W"][...] = 1.0
    y = layer.forward(np.full((4, 1, 1), 0.6))
    np.testing.assert_allclose(layer.membrane.ravel(), [0.6, 1.08, 0.6, 1.08])
    np.testing.assert_array_equal(y.ravel(), [0, 1, 0, 1])
    soft = SNU(1, 1, soft=True, decay=0.8, dtype=np.float64, engine=engine)
    soft.params["W"][...] = 1.0
    y = soft.forward(np.full((2, 1, 1), 0.6))
    y1 = 1 / (1 + np.exp(-(0.6 - 1)))                 # σ(s1 + b)
    s2 = 0.6 + 0.8 * 0.6 * (1 - y1)                    # proportional reset
    np.testing.assert_allclose(soft.membrane.ravel(), [0.6, s2])
    np.testing.assert_allclose(y.ravel(), [y1, 1 / (1 + np.exp(-(s2 - 1)))])


def test_recurrent_and_lateral_by_hand():
    """Two units: unit 0 spikes at t1, H feeds it to unit 1; lateral inhibition resets both."""
    layer = SNU(1, 2, recurrent=True, decay=1.0, dtype=np.float64, engine="reference",
                lateral_inhibition=True)
    layer.params["W"][...] = [[1.5, 0.25]]
    layer.params["H"][...] = [[0.0, 0.5], [0.0, 0.0]]
    layer.forward(np.ones((2, 1, 1)))
    # t1: s = (1.5, 0.25), y = (1, 0). t2: gate = 1 − max y = 0, a = (1.5, 0.25 + 0.5)
    np.testing.assert_allclose(layer.membrane[:, 0], [[1.5, 0.25], [1.5, 0.75]])
    engine = SNU(1, 2, recurrent=True, decay=1.0, dtype=np.float64, lateral_inhibition=True)
    for name in engine.params:
        engine.params[name][...] = layer.params[name]
    engine.forward(np.ones((2, 1, 1)))
    np.testing.assert_array_equal(engine.membrane, layer.membrane)


# -- 2. the sSNU's gradient is exact -----------------------------------------------


@settings(max_examples=60, deadline=None)
@given(shape=sequence_shapes(), options=snu_settings(smooth=True), seed=seeds,
       engine=st.sampled_from(ENGINES))
def test_soft_snu_gradients_match_finite_differences(shape, options, seed, engine):
    T, B, n_in, n_out = shape
    rng = np.random.default_rng(seed)
    layer = SNU(n_in, n_out, dtype=np.float64, rng=rng, engine=engine, **options)
    randomize(layer, rng)
    x = random_input(rng, (T, B, n_in))
    assert_layer_gradients(layer, x, rng=rng)


def smooth_snu(n_in, n_out, rng, engine="numba", **options):
    layer = SNU(n_in, n_out, dtype=np.float64, rng=rng, engine=engine, **options)
    randomize(layer, rng)
    return layer


# the ready-made property test of minisnu.training.testing, every option and both engines drawn
test_ready_made_property_test_draws_every_option = layer_gradient_test(
    smooth_snu, max_examples=20,
    options=st.builds(lambda options, engine: {**options, "engine": engine},
                      snu_settings(smooth=True), st.sampled_from(ENGINES)))


def test_gradient_check_catches_a_wrong_gradient():
    """The check above can fail: drop the reset path by hand and it must."""
    rng = np.random.default_rng(0)
    layer = SNU(3, 4, soft=True, dtype=np.float64, rng=0)
    randomize(layer, rng)
    x = random_input(rng, (6, 2, 3))
    layer.detach_reset = True        # backward now omits a true term of the gradient
    assert gradcheck.check_layer(layer, x).worst > 1e-3


# -- 3. the spiking SNU's backward is BPTT of its surrogate ---------------------------


def soft_twin(layer, x, y0, v0):
    """Forward pass of the smooth twin of a spiking layer around a point θ0.

    With y0 = step(v0) the outputs and v0 the values s + b of the spiking
    forward pass at θ0 (held constant), the twin outputs

        y_t = y0_t + P(v_t) − P(v0_t),        P' = the surrogate h'.

    At θ0 it is the spiking forward pass exactly; its true derivative in v is
    h'(v). So its finite-difference gradient is what BPTT with the surrogate
    must give. With ``detach_reset`` the reset gate sees the constant y0.
    """
    p, opts = layer.params, layer.config()
    lateral, H = opts["lateral_inhibition"], p.get("H")
    s = np.zeros((x.shape[1], layer.n_out))
    y = np.zeros_like(s)
    out = []
    for t in range(len(x)):
        y_gate = (y0[t - 1] if t else np.zeros_like(y)) if opts["detach_reset"] else y
        a = x[t] @ p["W"] + (y @ H if H is not None else 0)
        u = a + layer.decay * s * snu_reference.reset_gate(y_gate, lateral)
        s = snu_reference.g_forward(u, opts["g"], opts["g_slope"])
        v = s + p["b"]
        P = lambda v: primitive(v, opts["surrogate"], opts["surrogate_k"])  # noqa: E731
        y = (y0[t] - P(v0[t])) + P(v)
        out.append(y)
    return np.stack(out)


@settings(max_examples=60, deadline=None)
@given(shape=sequence_shapes(), options=snu_settings(soft=False), seed=seeds,
       engine=st.sampled_from(ENGINES))
def test_spiking_backward_is_bptt_of_the_surrogate(shape, options, seed, engine):
    T, B, n_in, n_out = shape
    if options["lateral_inhibition"] and not options["detach_reset"]:
        # the max over tied 0/1 outputs has no derivative; covered by engine = reference
        options["lateral_inhibition"] = False
    rng = np.random.default_rng(seed)
    layer = SNU(n_in, n_out, dtype=np.float64, rng=rng, engine=engine, **options)
    randomize(layer, rng, scale=0.5)  # moderate s: the twin's FD stays well conditioned
    x = random_input(rng, (T, B, n_in))
    y0 = layer.forward(x).copy()
    v0 = layer.membrane + layer.params["b"]
    size = 1 + np.abs(primitive(v0, options["surrogate"], options["surrogate_k"])).max()
    np.testing.assert_allclose(soft_twin(layer, x, y0, v0), y0, atol=1e-10 * size)

    dy = rng.standard_normal(y0.shape)
    layer.zero_grad()
    dx = layer.backward(dy)
    arrays = dict(layer.params, x=x)
    analytic = dict(layer.grads, x=dx)
    # The twin sums terms of size up to |P(v)|·|dy| (P(v) = v for straight_through). ε = 1e-7:
    # with decay 1 and g = identity the membrane integrates without bound and the twin is a
    # polynomial of high degree in W, whose O(ε²) truncation error at ε = 1e-6 reaches 1e-5
    # (measured: it falls a hundredfold per tenfold smaller ε, so the analytic gradient is its limit).
    report = gradcheck.check_function(lambda: float(np.sum(soft_twin(layer, x, y0, v0) * dy)),
                                      arrays, analytic, rng=rng, eps=1e-7,
                                      magnitude=float(np.sum(np.abs(dy))) * size)
    assert report.passed(1e-6), str(report)


def test_detach_reset_removes_exactly_the_reset_path():
    """With decay 0 there is no reset path: detached and attached gradients agree.
    With decay > 0 they differ (the path carries gradient)."""
    rng = np.random.default_rng(1)
    x = random_input(rng, (8, 3, 4))
    dy = rng.standard_normal((8, 3, 5))
    grads = {}
    for decay in (0.0, 0.7):
        for detach in (False, True):
            layer = SNU(4, 5, decay=decay, detach_reset=detach, dtype=np.float64, rng=3)
            layer.params["W"] *= 4
            layer.forward(x)
            dx = layer.backward(dy)
            grads[decay, detach] = np.concatenate([dx.ravel(), layer.grads["W"].ravel()])
    np.testing.assert_array_equal(grads[0.0, False], grads[0.0, True])
    assert np.abs(grads[0.7, False] - grads[0.7, True]).max() > 1e-3


# -- 4. engine = reference --------------------------------------------------------------


def dyadic(layer, rng):
    """Parameters on a grid of 1/8 (b, the drawn bias_init, is on it too): the input
    currents are then exact in float32, whatever the order of summation, so the engine's
    single big matrix product and the reference's per-step ones cross the threshold
    identically."""
    for name, p in layer.params.items():
        if name in ("W", "H"):
            p[...] = rng.integers(-12, 13, p.shape) / 8
        elif name == "decay":
            p[...] = rng.choice([0.0, 0.5, 1.0], p.shape)


@settings(max_examples=60, deadline=None)
@given(shape=sequence_shapes(), options=snu_settings(), seed=seeds,
       dtype=st.sampled_from([np.float32, np.float64]), compiled=st.booleans())
def test_engine_equals_reference(shape, options, seed, dtype, compiled):
    """Both ways the engine runs a recurrent layer agree with the reference: the whole loop
    compiled (small layers) and the loop in Python around BLAS (large ones)."""
    limit = recurrence.COMPILED_RECURRENCE if compiled else -1
    with mock.patch.object(recurrence, "COMPILED_RECURRENCE", limit):
        check_engine_equals_reference(shape, options, seed, dtype)


def check_engine_equals_reference(shape, options, seed, dtype):
    T, B, n_in, n_out = shape
    rng = np.random.default_rng(seed)
    options["decay"] = rng.choice([0.0, 0.5, 1.0])
    if not options["soft"]:   # the spiking layer's b and slope on the grid too (see dyadic)
        options["g_slope"] = rng.choice([0.0, 0.25, 0.5])
        options["bias_init"] = rng.integers(-16, 5) / 8
    engine, reference = make_pair(n_in, n_out, dtype, seed, **options)
    np.testing.assert_array_equal(engine.params["b"], np.float64(options["bias_init"]).astype(dtype))
    if options["soft"]:
        randomize(engine, rng)   # no threshold; a grid would put u exactly on ReLU's kink
    else:
        dyadic(engine, rng)
    for name, p in engine.params.items():
        reference.params[name][...] = p
    x = random_input(rng, (T, B, n_in), dtype=dtype, spikes=True)

    y_engine, y_reference = engine.forward(x), reference.forward(x)
    if options["soft"]:        # sigmoid: same formula up to rounding
        np.testing.assert_allclose(y_engine, y_reference, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(engine.membrane, reference.membrane, rtol=1e-5, atol=1e-5)
    else:                      # exact arithmetic: identical spikes and membranes
        np.testing.assert_array_equal(y_engine, y_reference)
        np.testing.assert_array_equal(engine.membrane, reference.membrane)

    dy = rng.standard_normal(y_engine.shape).astype(dtype)
    results = [(layer.backward(dy), layer.grads) for layer in (engine, reference)]
    rtol = 1e-9 if dtype == np.float64 else 2e-4
    (dx_e, g_e), (dx_r, g_r) = results
    for name, a, b in [("x", dx_e, dx_r)] + [(k, g_e[k], g_r[k]) for k in g_e]:
        scale = max(np.abs(b).max(), 1.0)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * scale, err_msg=name)


# -- 4b. carried state (truncated BPTT) ------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("options", [{}, {"soft": True, "recurrent": True},
                                     {"recurrent": True, "lateral_inhibition": True}])
def test_stateful_halves_equal_the_whole_sequence(engine, options):
    rng = np.random.default_rng(0)
    x = random_input(rng, (12, 3, 5), spikes=True)
    whole = SNU(5, 4, dtype=np.float64, rng=1, engine=engine, **options)
    halves = SNU(5, 4, dtype=np.float64, rng=1, engine=engine, stateful=True, **options)
    for layer in (whole, halves):
        randomize(layer, np.random.default_rng(2))
    y = whole.forward(x)
    y_split = np.concatenate([halves.forward(x[:5]), halves.forward(x[5:])])
    np.testing.assert_allclose(y_split, y, rtol=1e-12, atol=1e-12)
    assert y.any() and halves.state is not None
    np.testing.assert_array_equal(halves.state[0], whole.membrane[-1])
    halves.reset_state()
    np.testing.assert_array_equal(halves.forward(x[:5]), y[:5])     # from zeros again


@settings(max_examples=30, deadline=None)
@given(shape=sequence_shapes(), options=snu_settings(smooth=True), seed=seeds,
       engine=st.sampled_from(ENGINES))
def test_gradients_from_a_given_initial_state(shape, options, seed, engine):
    """With (s_0, y_0) held constant, backward is still the exact gradient."""
    T, B, n_in, n_out = shape
    rng = np.random.default_rng(seed)
    layer = SNU(n_in, n_out, dtype=np.float64, rng=rng, engine=engine, **options)
    randomize(layer, rng)
    layer.state = (np.abs(rng.standard_normal((B, n_out))), rng.uniform(0, 1, (B, n_out)))
    assert_layer_gradients(layer, random_input(rng, (T, B, n_in)), rng=rng)


def test_state_errors():
    layer = SNU(3, 2, stateful=True, rng=0)
    layer.forward(np.ones((4, 5, 3), np.float32))
    with pytest.raises(ValueError, match=r"state of 5 sequences but x has a batch of 2; call reset_state"):
        layer.forward(np.ones((4, 2, 3), np.float32))
    zeros = np.zeros((2, 2), np.float32)
    with pytest.raises(ValueError, match="state y_0"):
        layer.state = (zeros, np.zeros((3, 2), np.float32))
    with pytest.raises(ValueError, match="state s_0"):
        layer.state = (np.zeros((2, 3), np.float32), zeros)
    with pytest.raises(TypeError, match="state s_0 has dtype float64"):
        layer.state = (np.zeros((2, 2)), zeros)
    assert layer.config()["stateful"] is True


# -- 5. edge cases, errors, contract -----------------------------------------------------


@pytest.mark.parametrize("soft", [False, True])
@pytest.mark.parametrize("recurrent", [False, True])
def test_layer_contract(soft, recurrent):
    layer = SNU(3, 4, soft=soft, recurrent=recurrent, train_decay=True, rng=0)
    x = random_input(np.random.default_rng(0), (5, 2, 3), dtype=np.float32, spikes=True)
    assert_layer_contract(layer, x)
    expected = {"W": (3, 4), "b": (4,), "decay": (4,)} | ({"H": (4, 4)} if recurrent else {})
    assert {k: v.shape for k, v in layer.params.items()} == expected
    assert all(p.dtype == np.float32 for p in layer.params.values())
    np.testing.assert_array_equal(layer.params["b"], -1.0)


@pytest.mark.parametrize("T,B", [(1, 1), (1, 4), (9, 1)])
def test_single_step_and_single_sample(T, B):
    rng = np.random.default_rng(0)
    layer = SNU(3, 2, soft=True, recurrent=True, dtype=np.float64, rng=0)
    randomize(layer, rng)
    assert_layer_gradients(layer, random_input(rng, (T, B, 3)))


def test_all_zero_input():
    layer = SNU(3, 2, rng=0)
    y = layer.forward(np.zeros((4, 2, 3), np.float32))
    assert not y.any() and not layer.membrane.any()     # 0 < threshold: silence
    soft = SNU(3, 2, soft=True, rng=0)
    np.testing.assert_allclose(soft.forward(np.zeros((4, 2, 3), np.float32)),
                               1 / (1 + np.exp(1.0)), rtol=1e-6)   # σ(b), b = −1
    dx = soft.backward(np.ones((4, 2, 2), np.float32))
    assert np.isfinite(dx).all()


@pytest.mark.parametrize("decay", [0.0, 1.0])
def test_decay_edges(decay):
    """Decay 0: no memory, s_t = g(a_t). Decay 1: a silent neuron integrates perfectly."""
    layer = SNU(1, 1, decay=decay, dtype=np.float64, rng=0)
    layer.params["W"][...] = 0.3
    layer.forward(np.ones((5, 1, 1)))
    expected = [0.3] * 5 if decay == 0 else [0.3, 0.6, 0.9, 1.2, 0.3]   # spike at 1.2, reset
    np.testing.assert_allclose(layer.membrane.ravel(), expected)


def test_long_sequences_stay_finite():
    rng = np.random.default_rng(0)
    x = rng.random((5000, 2, 3)).astype(np.float32)
    for soft in (False, True):
        layer = SNU(3, 4, soft=soft, decay=1.0, g="identity", rng=0)
        layer.params["W"][...] = 5.0
        y = layer.forward(x)
        dx = layer.backward(np.ones_like(y))
        assert np.isfinite(layer.membrane).all() and np.isfinite(dx).all()
        assert all(np.isfinite(g).all() for g in layer.grads.values())


def test_train_decay_is_kept_in_range():
    layer = SNU(2, 3, train_decay=True, rng=0)
    layer.params["decay"][...] = [-0.5, 0.5, 1.5]
    layer.forward(np.ones((2, 1, 2), np.float32))
    np.testing.assert_array_equal(layer.params["decay"], np.float32([0.0, 0.5, 1.0]))
    layer.params["decay"][0] = np.inf          # diverged: named, not clipped into range
    with pytest.raises(ValueError, match="parameter 'decay' of SNU contains 1 NaN or infinite"):
        layer.forward(np.ones((2, 1, 2), np.float32))


def test_same_seed_same_layer():
    a, b, c = SNU(4, 3, rng=7), SNU(4, 3, rng=7), SNU(4, 3, rng=8)
    np.testing.assert_array_equal(a.params["W"], b.params["W"])
    assert not np.array_equal(a.params["W"], c.params["W"])
    gen = np.random.default_rng(7)
    np.testing.assert_array_equal(SNU(4, 3, rng=gen).params["W"], a.params["W"])


def test_spike_inputs_may_be_bool():
    x = np.random.default_rng(0).random((4, 2, 3)) < 0.5
    assert SNU(3, 2).forward(x).dtype == np.float32


@pytest.mark.parametrize("kwargs,error,match", [
    ({"decay": 1.5}, ValueError, r"decay must lie in \[0, 1\]"),
    ({"decay": -0.1}, ValueError, r"decay must lie in \[0, 1\]"),
    ({"decay": [0.5, 0.5]}, ValueError, r"decay must be a number or have shape \(3,\)"),
    ({"g": "tanh"}, ValueError, "unknown g 'tanh'"),
    ({"surrogate": "box"}, ValueError, "unknown surrogate 'box'"),
    ({"engine": "cuda"}, ValueError, "unknown engine"),
    ({"dtype": np.int32}, TypeError, "dtype must be float32 or float64"),
    ({"surrogate_k": -1.0}, ValueError, "surrogate width k must be a positive"),
    ({"rng": "seed"}, TypeError, "rng must be an int seed"),
])
def test_bad_options(kwargs, error, match):
    with pytest.raises(error, match=match):
        SNU(2, 3, **kwargs)


def test_bad_sizes():
    with pytest.raises(ValueError, match="n_out must be positive"):
        SNU(2, 0)


def test_bad_input():
    layer = SNU(3, 2)
    x = np.zeros((4, 2, 3), np.float32)
    with pytest.raises(ValueError, match="x must have 3 dimensions"):
        layer.forward(np.zeros((4, 3), np.float32))
    with pytest.raises(ValueError, match="3 features on its last axis"):
        layer.forward(np.zeros((4, 2, 5), np.float32))
    with pytest.raises(TypeError, match="dtype float64 but the layer computes in float32"):
        layer.forward(x.astype(np.float64))
    with pytest.raises(ValueError, match="NaN or infinite"):
        layer.forward(np.where(np.arange(3) == 1, np.nan, x).astype(np.float32))
    with pytest.raises(ValueError, match="NaN or infinite"):
        layer.forward(np.full_like(x, np.inf))
    with pytest.raises(TypeError, match="must be a numpy array"):
        layer.forward([[[0.0, 0.0, 0.0]]])
    with pytest.raises(RuntimeError, match="backward called before forward"):
        layer.backward(np.zeros((4, 2, 2), np.float32))
    layer.forward(x)
    with pytest.raises(ValueError, match=r"dy must have shape \(4, 2, 2\)"):
        layer.backward(np.zeros((4, 2, 3), np.float32))


def test_diverged_parameters_are_named():
    """step(NaN) is 0: without the check a diverged spiking layer would just go silent."""
    layer = SNU(3, 2)
    layer.params["W"][0, 0] = np.nan
    with pytest.raises(ValueError, match=r"parameter 'W' of SNU contains 1 NaN.*training diverged"):
        layer.forward(np.zeros((4, 2, 3), np.float32))
