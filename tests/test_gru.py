"""Tests specific to the GRU layer: its equations, and that its gradient check can fail.

1. the forward pass follows the cuDNN/PyTorch GRU, reset gate applied after the
   recurrent product, gates in the order r, z, n (computed independently here,
   and told apart from Cho et al.'s reset-before variant);
2. the finite-difference gradient check catches a backward that drops the
   recurrent path through U.

What the GRU shares with the RNN and the LSTM is proven in test_recurrent_layers.py,
for each of the three: the exact gradient (finite differences, both engines, from
zeros and from a carried state), engine = reference, the carried state (halves =
whole, zeros or the given state, batch-size mismatch), initialisation (Glorot W,
one orthogonal block of U per gate, zero b, seeding), contract, checkpoints, bad
input and bad options.
"""

import numpy as np
import pytest
from helpers import ENGINES, randomize

from minisnu import gradcheck
from minisnu.training.testing import random_input
from minisnu.units import gru as gru_module
from minisnu.units.gru import GRU


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def pytorch_gru(x, W, U, b, reset_after=True):
    """torch.nn.GRU's equations with b_hn = 0, in its names; or Cho et al.'s reset-before form."""
    n = U.shape[0]
    W_ir, W_iz, W_in = W[:, :n], W[:, n:2 * n], W[:, 2 * n:]
    U_hr, U_hz, U_hn = U[:, :n], U[:, n:2 * n], U[:, 2 * n:]
    b_r, b_z, b_n = b[:n], b[n:2 * n], b[2 * n:]
    h, out = np.zeros((x.shape[1], n)), []
    for xt in x:
        r = sigmoid(xt @ W_ir + b_r + h @ U_hr)
        z = sigmoid(xt @ W_iz + b_z + h @ U_hz)
        recurrent = r * (h @ U_hn) if reset_after else (r * h) @ U_hn
        n_ = np.tanh(xt @ W_in + b_n + recurrent)
        h = (1 - z) * n_ + z * h
        out.append(h)
    return np.stack(out)


@pytest.mark.parametrize("engine", ENGINES)
def test_equations_are_pytorchs_gru(engine):
    rng = np.random.default_rng(0)
    layer = GRU(2, 3, dtype=np.float64, rng=0, engine=engine)
    randomize(layer, rng, scale=1.0)
    x = random_input(rng, (4, 2, 2))
    y = layer.forward(x)
    np.testing.assert_allclose(y, pytorch_gru(x, **layer.params), rtol=1e-13)
    np.testing.assert_array_equal(layer.output, y)
    # the test tells the two variants apart
    assert np.abs(y - pytorch_gru(x, **layer.params, reset_after=False)).max() > 1e-2


def test_gradient_check_catches_a_missing_recurrent_path(monkeypatch):
    """The check of test_recurrent_layers.py can fail: drop δq_{t+1} Uᵀ (keep only the
    z ⊙ h_{t-1} path) and it does."""
    real = gru_module.gru_backward
    monkeypatch.setattr(gru_module, "gru_backward",
                        lambda *args: real(*args[:-2], 0 * args[-2], args[-1]))
    rng = np.random.default_rng(0)
    layer = GRU(3, 4, dtype=np.float64, engine="reference")
    randomize(layer, rng)
    assert gradcheck.check_layer(layer, random_input(rng, (5, 2, 3))).worst > 1e-3
