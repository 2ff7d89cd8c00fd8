"""Tests specific to the LSTM layer: its equations, its forget bias, its cell and (h, c) state.

1. the forward pass follows the LSTM equations, gates in the order i, f, g, o
   (a hand-computed unit, h and the cell c both checked), and the forget bias
   starts at 1 (or at ``forget_bias``), which must be a finite number;
2. the finite-difference gradient check catches a backward that drops the
   recurrent path through U (the cell path alone is not enough);
3. the (h, c) state: both arrays, of one shape, of n_out features.

What the LSTM shares with the RNN and the GRU is proven in test_recurrent_layers.py,
for each of the three: the exact gradient (finite differences, both engines, from
zeros and from a carried (h, c)), engine = reference (h and the cell), the carried
state (halves = whole for h and c, zeros or the given state, batch-size mismatch),
initialisation (Glorot W, one orthogonal block of U per gate, b with the forget
bias, seeding), contract (with ``.cell``), checkpoints (with ``forget_bias``), bad
input (``.cell`` before forward included) and bad options.
"""

import math

import numpy as np
import pytest
from helpers import ENGINES, randomize

from minisnu import gradcheck
from minisnu.training.testing import random_input
from minisnu.units import lstm as lstm_module
from minisnu.units.lstm import LSTM

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


@pytest.mark.parametrize("kwargs,error,match", [
    ({"forget_bias": float("nan")}, ValueError, "forget_bias must be a finite number"),
    ({"forget_bias": "1"}, TypeError, "forget_bias must be a number, got str"),
])
def test_bad_forget_bias(kwargs, error, match):
    with pytest.raises(error, match=match):
        LSTM(**{"n_in": 2, "n_out": 3} | kwargs)


# -- 2. the gradient check can fail -------------------------------------------------------


def test_gradient_check_catches_a_missing_recurrent_path(monkeypatch):
    """The check of test_recurrent_layers.py can fail: drop δz_{t+1} Uᵀ and it does
    (the cell path alone is not enough)."""
    real = lstm_module.lstm_backward
    monkeypatch.setattr(lstm_module, "lstm_backward",
                        lambda *args: real(*args[:-2], 0 * args[-2], args[-1]))
    rng = np.random.default_rng(0)
    layer = LSTM(3, 4, dtype=np.float64, engine="reference")
    randomize(layer, rng)
    assert gradcheck.check_layer(layer, random_input(rng, (5, 2, 3))).worst > 1e-3


# -- 3. the (h, c) state ------------------------------------------------------------------


def test_bad_state():
    layer = LSTM(2, 3, stateful=True)
    h = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match=r"a tuple \(h, c\)"):
        layer.state = (h,)
    with pytest.raises(ValueError, match=r"state c_0 must have shape \(2, 3\), got \(4, 3\)"):
        layer.state = (h, np.zeros((4, 3), np.float32))
    with pytest.raises(ValueError, match=r"state c_0 must have shape \(2, 3\), got \(2, 4\)"):
        layer.state = (h, np.zeros((2, 4), np.float32))
    with pytest.raises(ValueError, match="state h_0 must have 3 features"):
        layer.state = (np.zeros((2, 4), np.float32), h)
