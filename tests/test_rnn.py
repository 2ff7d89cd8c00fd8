"""Tests specific to the vanilla RNN layer: its equation, and that its gradient check can fail.

1. the forward pass follows h_t = tanh(x_t W + h_{t-1} U + b) (a hand-computed unit);
2. the finite-difference gradient check catches a backward that drops the
   recurrent path.

What the RNN shares with the LSTM and the GRU is proven in test_recurrent_layers.py,
for each of the three: the exact gradient (finite differences, both engines, from
zeros and from a carried state), engine = reference, the carried state (halves =
whole, zeros or the given state, batch-size mismatch), initialisation (Glorot W,
orthogonal U, zero b, seeding), contract, checkpoints, bad input and bad options.
"""

import math

import numpy as np
import pytest
from helpers import ENGINES, randomize

from minisnu import gradcheck
from minisnu.training.testing import random_input
from minisnu.units import rnn as rnn_module
from minisnu.units.rnn import RNN


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


def test_gradient_check_catches_a_missing_recurrent_path(monkeypatch):
    """The check of test_recurrent_layers.py can fail: drop δa_{t+1} Uᵀ (backprop through
    one step only) and it does."""
    real = rnn_module.rnn_backward
    monkeypatch.setattr(rnn_module, "rnn_backward",
                        lambda dy, x, h, h0, W, U, grads: real(dy, x, h, h0, W, 0 * U, grads))
    rng = np.random.default_rng(0)
    layer = RNN(3, 4, dtype=np.float64, engine="reference")
    randomize(layer, rng)
    assert gradcheck.check_layer(layer, random_input(rng, (5, 2, 3))).worst > 1e-3
