"""Tests of the LSTM layer: the equations, the hand-derived BPTT, the engine, the state.

1. the forward pass follows the LSTM equations, gates in the order i, f, g, o
   (a hand-computed unit), and the forget bias starts at 1;
2. backward is the exact gradient (finite differences, float64), for both
   engines, from zeros and from a nonzero carried (h, c);
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
from minisnu import lstm as lstm_module
from minisnu.dense import Dense
from minisnu.lstm import LSTM
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
    """Parameters away from the initialisation: every gate biased, U not orthogonal."""
    for p in layer.params.values():
        p[...] = scale * rng.standard_normal(p.shape)


def random_state(rng, B, n, dtype=np.float64):
    """A nonzero (h, c): h in (−1, 1) as the LSTM makes it, c unbounded."""
    h = np.tanh(rng.standard_normal((B, n)))
    return h.astype(dtype), rng.standard_normal((B, n)).astype(dtype)


# -- 1. the equations -------------------------------------------------------------------


def sigmoid(v):
    return 1 / (1 + math.exp(-v))


@pytest.mark.parametrize("engine", ENGINES)
def test_one_unit_by_hand(engine):
    """One unit, gates i, f, g, o with distinct weights, so that a mixed-up order shows."""
    layer = LSTM(1, 1, dtype=np.float64, engine=engine)
    w, u, b = [0.5, -0.3, 0.9, 0.2], [0.4, 0.7, -0.6, 1.1], [0.1, 1.0, -0.2, 0.3]
    layer.params["W"][...], layer.params["U"][...], layer.params["b"][...] = [w], [u], b
    x = [1.0, -2.0, 0.5]
    h = c = 0.0
    hs, cs = [], []
    for xt in x:
        z = [w[k] * xt + u[k] * h + b[k] for k in range(4)]
        i, f, g, o = sigmoid(z[0]), sigmoid(z[1]), math.tanh(z[2]), sigmoid(z[3])
        c = f * c + i * g
        h = o * math.tanh(c)
        hs.append(h)
        cs.append(c)
    y = layer.forward(np.array(x).reshape(3, 1, 1))
    np.testing.assert_allclose(y.ravel(), hs, rtol=1e-14)
    np.testing.assert_allclose(layer.cell.ravel(), cs, rtol=1e-14)
    np.testing.assert_array_equal(layer.output, y)


def test_forget_bias():
    n = 3
    np.testing.assert_array_equal(LSTM(2, n, rng=0).params["b"], np.repeat([0, 1, 0, 0], n))
    np.testing.assert_array_equal(LSTM(2, n, forget_bias=2.5).params["b"],
                                  np.repeat([0, 2.5, 0, 0], n))


# -- 2. the gradient is exact -------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(shape=sequence_shapes(), seed=seeds, engine=st.sampled_from(ENGINES), given_state=st.booleans())
def test_gradients_match_finite_differences(shape, seed, engine, given_state):
    T, B, n_in, n_out = shape
    rng = np.random.default_rng(seed)
    layer = LSTM(n_in, n_out, dtype=np.float64, rng=rng, engine=engine)
    randomize(layer, rng)
    if given_state:   # a nonzero carried (h_0, c_0), held constant (truncated BPTT)
        layer.state = random_state(rng, B, n_out)
    x = random_input(rng, (T, B, n_in))
    assert_layer_contract(layer, x)
    assert_layer_gradients(layer, x, rng=rng)


def test_gradient_check_catches_a_missing_recurrent_path(monkeypatch):
    """The check above can fail: drop δz_{t+1} Uᵀ and it does (the cell path alone is not enough)."""
    real = lstm_module.lstm_backward
    monkeypatch.setattr(lstm_module, "lstm_backward",
                        lambda *args: real(*args[:-2], 0 * args[-2], args[-1]))
    rng = np.random.default_rng(0)
    layer = LSTM(3, 4, dtype=np.float64, engine="reference")
    randomize(layer, rng)
    assert gradcheck.check_layer(layer, random_input(rng, (5, 2, 3))).worst > 1e-3


# -- 3. engine = reference ---------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(shape=sequence_shapes(), seed=seeds, dtype=st.sampled_from([np.float32, np.float64]),
       stateful=st.booleans())
def test_engine_equals_reference(shape, seed, dtype, stateful):
    T, B, n_in, n_out = shape
    rng = np.random.default_rng(seed)
    layers = [LSTM(n_in, n_out, stateful=stateful, dtype=dtype, rng=seed, engine=engine)
              for engine in ENGINES]
    randomize(layers[0], rng)
    for name, p in layers[0].params.items():
        layers[1].params[name][...] = p
    state = random_state(rng, B, n_out, dtype)
    for layer in layers if stateful else []:
        layer.state = state
    x = random_input(rng, (T, B, n_in), dtype=dtype)
    dy = rng.standard_normal((T, B, n_out)).astype(dtype)
    rtol = 1e-12 if dtype == np.float64 else 1e-4
    y_e, y_r = [layer.forward(x) for layer in layers]
    np.testing.assert_allclose(y_e, y_r, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(layers[0].cell, layers[1].cell, rtol=rtol, atol=rtol)
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
    whole = LSTM(2, 4, dtype=np.float64, rng=1, engine=engine)
    halves = LSTM(2, 4, stateful=True, dtype=np.float64, rng=1, engine=engine)
    y = whole.forward(x)
    y_halves = np.concatenate([halves.forward(x[:4]), halves.forward(x[4:])])
    np.testing.assert_allclose(y_halves, y, rtol=1e-12)
    h, c = halves.state
    np.testing.assert_allclose(h, y[-1], rtol=1e-12)
    np.testing.assert_allclose(c, whole.cell[-1], rtol=1e-12)
    halves.reset_state()
    np.testing.assert_allclose(halves.forward(x[4:]), whole.forward(x[4:]), rtol=1e-12)


def test_not_stateful_starts_every_pass_from_zeros():
    layer = LSTM(2, 3, rng=0)
    x = random_input(np.random.default_rng(0), (4, 2, 2), dtype=np.float32)
    first = layer.forward(x).copy()
    np.testing.assert_array_equal(layer.forward(x), first)
    assert layer.state is None


def test_batch_size_mismatch_asks_for_reset_state():
    layer = LSTM(2, 3, stateful=True, rng=0)
    layer.forward(np.zeros((4, 2, 2), np.float32))
    with pytest.raises(ValueError, match=r"state of 2 sequences.*batch of 5.*reset_state\(\)"):
        layer.forward(np.zeros((4, 5, 2), np.float32))
    layer.reset_state()
    assert layer.forward(np.zeros((4, 5, 2), np.float32)).shape == (4, 5, 3)


def test_bad_state():
    layer = LSTM(2, 3, stateful=True)
    h = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match=r"a tuple \(h, c\)"):
        layer.state = (h,)
    with pytest.raises(ValueError, match="one shape"):
        layer.state = (h, np.zeros((4, 3), np.float32))
    with pytest.raises(ValueError, match="3 features"):
        layer.state = (h, np.zeros((2, 4), np.float32))


# -- 5. initialisation, contract, checkpoints, errors ----------------------------------------


def test_initialisation():
    n = 4
    layer = LSTM(5, n, rng=0)
    W, U = layer.params["W"], layer.params["U"]
    assert (W.shape, U.shape, layer.params["b"].shape) == ((5, 4 * n), (n, 4 * n), (4 * n,))
    assert all(p.dtype == np.float32 for p in layer.params.values())
    assert np.abs(W).max() <= np.sqrt(6 / (5 + 4 * n)) and W.std() > 0.1   # Glorot uniform
    for k in range(4):                                      # one orthogonal block per gate
        block = U[:, k * n:(k + 1) * n]
        np.testing.assert_allclose(block.T @ block, np.eye(n), atol=1e-6)
    assert not np.array_equal(U[:, :n], U[:, n:2 * n])


@pytest.mark.parametrize("engine", ENGINES)
def test_layer_contract_float32(engine):
    layer = LSTM(3, 4, stateful=True, rng=0, engine=engine)
    assert_layer_contract(layer, random_input(np.random.default_rng(0), (5, 2, 3), np.float32))
    assert layer.cell.shape == (5, 2, 4) and layer.cell.dtype == np.float32


def test_save_load_round_trip(tmp_path):
    net = Sequential(LSTM(3, 4, stateful=True, dtype=np.float64, rng=1, forget_bias=2.0,
                          engine="reference"),
                     Dense(4, 2, dtype=np.float64))
    for _, p, _ in net.parameters():
        p += 0.1
    net.save(tmp_path / "net.npz")
    loaded = Sequential.load(tmp_path / "net.npz")
    assert loaded[0].config() == net[0].config() == {
        "n_in": 3, "n_out": 4, "stateful": True, "dtype": "float64", "engine": "reference",
        "forget_bias": 2.0}
    x = random_input(np.random.default_rng(0), (5, 2, 3))
    np.testing.assert_array_equal(loaded.forward(x), net.forward(x))


def test_bad_input():
    layer = LSTM(3, 2)
    x = np.zeros((4, 2, 3), np.float32)
    with pytest.raises(ValueError, match="x must have 3 dimensions"):
        layer.forward(x[0])
    with pytest.raises(ValueError, match="3 features on its last axis"):
        layer.forward(np.zeros((4, 2, 5), np.float32))
    with pytest.raises(ValueError, match="NaN or infinite"):
        layer.forward(np.where(np.arange(3) == 1, np.nan, x).astype(np.float32))
    with pytest.raises(RuntimeError, match="backward called before forward"):
        layer.backward(np.zeros((4, 2, 2), np.float32))
    with pytest.raises(RuntimeError, match="backward called before forward"):
        _ = layer.cell
    layer.forward(x)
    with pytest.raises(ValueError, match=r"dy must have shape \(4, 2, 2\)"):
        layer.backward(np.zeros((4, 2, 3), np.float32))


@pytest.mark.parametrize("kwargs,error,match", [
    ({"engine": "cuda"}, ValueError, "unknown engine"),
    ({"n_in": 0}, ValueError, "n_in must be positive"),
    ({"dtype": np.int32}, TypeError, "dtype must be float32 or float64"),
    ({"forget_bias": float("nan")}, ValueError, "forget_bias must be a finite number"),
    ({"forget_bias": "1"}, TypeError, "forget_bias must be a number, got str"),
])
def test_bad_options(kwargs, error, match):
    with pytest.raises(error, match=match):
        LSTM(**{"n_in": 2, "n_out": 3} | kwargs)
