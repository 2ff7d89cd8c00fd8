"""Tests of the vanilla RNN layer: the equations, the hand-derived BPTT, the engine, the state.

1. the forward pass follows h_t = tanh(x_t W + h_{t-1} U + b) (a hand-computed unit);
2. backward is the exact gradient (finite differences, float64), for both
   engines, from zeros and from a nonzero carried state;
3. the Numba engine equals the NumPy reference, in float32 and float64;
4. the carried state: halves of a sequence give what the whole does;
5. initialisation, contract, checkpoints and bad input.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minisnu import gradcheck
from minisnu import rnn as rnn_module
from minisnu.dense import Dense
from minisnu.rnn import RNN
from minisnu.sequential import Sequential
from minisnu.testing import (
    assert_layer_contract,
    assert_layer_gradients,
    random_input,
    sequence_shapes,
)

ENGINES = ["numba", "reference"]
seeds = st.integers(0, 2**32 - 1)


def randomize(layer, rng, scale=0.7):
    """Parameters away from the initialisation: nonzero b, U not orthogonal."""
    for p in layer.params.values():
        p[...] = scale * rng.standard_normal(p.shape)


# -- 1. the equations -------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_one_unit_by_hand(engine):
    layer = RNN(1, 1, dtype=np.float64, engine=engine)
    layer.params["W"][...], layer.params["U"][...], layer.params["b"][...] = 0.5, -0.8, 0.1
    x = [1.0, -2.0, 0.5]
    h, expected = 0.0, []
    for xt in x:
        h = math.tanh(0.5 * xt - 0.8 * h + 0.1)
        expected.append(h)
    y = layer.forward(np.array(x).reshape(3, 1, 1))
    np.testing.assert_allclose(y.ravel(), expected, rtol=1e-14)
    np.testing.assert_array_equal(layer.output, y)


# -- 2. the gradient is exact -------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(shape=sequence_shapes(), seed=seeds, engine=st.sampled_from(ENGINES), given_state=st.booleans())
def test_gradients_match_finite_differences(shape, seed, engine, given_state):
    T, B, n_in, n_out = shape
    rng = np.random.default_rng(seed)
    layer = RNN(n_in, n_out, dtype=np.float64, rng=rng, engine=engine)
    randomize(layer, rng)
    if given_state:   # a nonzero carried h_0, held constant (truncated BPTT)
        layer.state = (np.tanh(rng.standard_normal((B, n_out))),)
    x = random_input(rng, (T, B, n_in))
    assert_layer_contract(layer, x)
    assert_layer_gradients(layer, x, rng=rng)


def test_gradient_check_catches_a_missing_recurrent_path(monkeypatch):
    """The check above can fail: drop δa_{t+1} Uᵀ (backprop through one step only) and it does."""
    real = rnn_module.rnn_backward
    monkeypatch.setattr(rnn_module, "rnn_backward",
                        lambda dy, x, h, h0, W, U, grads: real(dy, x, h, h0, W, 0 * U, grads))
    rng = np.random.default_rng(0)
    layer = RNN(3, 4, dtype=np.float64, engine="reference")
    randomize(layer, rng)
    assert gradcheck.check_layer(layer, random_input(rng, (5, 2, 3))).worst > 1e-3


# -- 3. engine = reference ---------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(shape=sequence_shapes(), seed=seeds, dtype=st.sampled_from([np.float32, np.float64]),
       stateful=st.booleans())
def test_engine_equals_reference(shape, seed, dtype, stateful):
    T, B, n_in, n_out = shape
    rng = np.random.default_rng(seed)
    layers = [RNN(n_in, n_out, stateful=stateful, dtype=dtype, rng=seed, engine=engine)
              for engine in ENGINES]
    randomize(layers[0], rng)
    state = (np.tanh(rng.standard_normal((B, n_out))).astype(dtype),)
    for name, p in layers[0].params.items():
        layers[1].params[name][...] = p
    for layer in layers if stateful else []:
        layer.state = state
    x = random_input(rng, (T, B, n_in), dtype=dtype)
    dy = rng.standard_normal((T, B, n_out)).astype(dtype)
    rtol = 1e-12 if dtype == np.float64 else 1e-4
    y_e, y_r = [layer.forward(x) for layer in layers]
    np.testing.assert_allclose(y_e, y_r, rtol=rtol, atol=rtol)
    dx_e, dx_r = [layer.backward(dy) for layer in layers]
    pairs = [("x", dx_e, dx_r)] + [(k, layers[0].grads[k], layers[1].grads[k]) for k in "WUb"]
    for name, a, b in pairs:
        scale = max(np.abs(b).max(), 1.0)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * scale, err_msg=name)


# -- 4. the carried state ----------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_stateful_halves_equal_the_whole(engine):
    rng = np.random.default_rng(0)
    x = random_input(rng, (10, 3, 2))
    whole = RNN(2, 4, dtype=np.float64, rng=1, engine=engine)
    halves = RNN(2, 4, stateful=True, dtype=np.float64, rng=1, engine=engine)
    y = whole.forward(x)
    y_halves = np.concatenate([halves.forward(x[:4]), halves.forward(x[4:])])
    np.testing.assert_allclose(y_halves, y, rtol=1e-12)
    np.testing.assert_allclose(halves.state[0], y[-1], rtol=1e-12)
    halves.reset_state()
    np.testing.assert_allclose(halves.forward(x[4:]), whole.forward(x[4:]), rtol=1e-12)


def test_not_stateful_starts_from_zeros_or_the_given_state():
    layer = RNN(2, 3, rng=0)
    x = random_input(np.random.default_rng(0), (4, 2, 2), dtype=np.float32)
    first = layer.forward(x).copy()
    np.testing.assert_array_equal(layer.forward(x), first)
    assert layer.state is None
    layer.state = (np.full((2, 3), 0.5, np.float32),)
    given = layer.forward(x).copy()        # a given state: every pass starts from it
    np.testing.assert_array_equal(layer.forward(x), given)
    assert not np.array_equal(given, first)
    with pytest.raises(ValueError, match=r"state of RNN is a tuple \(h\)"):
        layer.state = (np.zeros((2, 3), np.float32), np.zeros((2, 3), np.float32))


def test_batch_size_mismatch_asks_for_reset_state():
    layer = RNN(2, 3, stateful=True, rng=0)
    layer.forward(np.zeros((4, 2, 2), np.float32))
    with pytest.raises(ValueError, match=r"state of 2 sequences.*batch of 5.*reset_state\(\)"):
        layer.forward(np.zeros((4, 5, 2), np.float32))
    layer.reset_state()
    assert layer.forward(np.zeros((4, 5, 2), np.float32)).shape == (4, 5, 3)


# -- 5. initialisation, contract, checkpoints, errors ----------------------------------------


def test_initialisation():
    layer = RNN(5, 4, rng=0)
    W, U, b = layer.params["W"], layer.params["U"], layer.params["b"]
    assert (W.shape, U.shape, b.shape) == ((5, 4), (4, 4), (4,))
    assert all(p.dtype == np.float32 for p in layer.params.values())
    assert np.abs(W).max() <= np.sqrt(6 / 9) and W.std() > 0.1      # Glorot uniform
    np.testing.assert_allclose(U.T @ U, np.eye(4), atol=1e-6)        # orthogonal
    assert not b.any()
    np.testing.assert_array_equal(RNN(5, 4, rng=np.random.default_rng(0)).params["U"], U)
    assert not np.array_equal(RNN(5, 4, rng=1).params["U"], U)


@pytest.mark.parametrize("engine", ENGINES)
def test_layer_contract_float32(engine):
    layer = RNN(3, 4, stateful=True, rng=0, engine=engine)
    assert_layer_contract(layer, random_input(np.random.default_rng(0), (5, 2, 3), np.float32))
    assert layer.output.shape == (5, 2, 4) and layer.output.dtype == np.float32


def test_save_load_round_trip(tmp_path):
    net = Sequential(RNN(3, 4, stateful=True, dtype=np.float64, rng=1, engine="reference"),
                     Dense(4, 2, dtype=np.float64))
    for _, p, _ in net.parameters():
        p += 0.1
    net.save(tmp_path / "net.npz")
    loaded = Sequential.load(tmp_path / "net.npz")
    assert loaded[0].config() == net[0].config() == {
        "n_in": 3, "n_out": 4, "stateful": True, "dtype": "float64", "engine": "reference"}
    x = random_input(np.random.default_rng(0), (5, 2, 3))
    np.testing.assert_array_equal(loaded.forward(x), net.forward(x))


def test_bad_input():
    layer = RNN(3, 2)
    x = np.zeros((4, 2, 3), np.float32)
    with pytest.raises(ValueError, match="x must have 3 dimensions"):
        layer.forward(x[0])
    with pytest.raises(ValueError, match="3 features on its last axis"):
        layer.forward(np.zeros((4, 2, 5), np.float32))
    with pytest.raises(ValueError, match="NaN or infinite"):
        layer.forward(np.where(np.arange(3) == 1, np.nan, x).astype(np.float32))
    with pytest.raises(TypeError, match="layer computes in float32"):
        layer.forward(x.astype(np.float64))
    with pytest.raises(RuntimeError, match="backward called before forward"):
        layer.backward(np.zeros((4, 2, 2), np.float32))
    layer.forward(x)
    with pytest.raises(ValueError, match=r"dy must have shape \(4, 2, 2\)"):
        layer.backward(np.zeros((4, 2, 3), np.float32))


@pytest.mark.parametrize("kwargs,error,match", [
    ({"engine": "cuda"}, ValueError, "unknown engine"),
    ({"n_out": 0}, ValueError, "n_out must be positive"),
    ({"dtype": np.int32}, TypeError, "dtype must be float32 or float64"),
    ({"rng": "seed"}, TypeError, "rng must be an int seed"),
])
def test_bad_options(kwargs, error, match):
    with pytest.raises(error, match=match):
        RNN(**{"n_in": 2, "n_out": 3} | kwargs)
