"""Numbers that are not numbers: a NaN or infinite gradient, an overflowing layer, an exploding loss.

Each is refused where it appears, naming the layer (or the batch), instead of
spreading silently into the weights.
"""

import math

import numpy as np
import pytest

from minisnu import GRU, LSTM, RNN, SNU, Dense, Dropout, Embedding, Readout, Sequential, TiedDense, losses
from minisnu.core.errors import InputError
from minisnu.training import loop, optim

T, B = 3, 2


def forward_once(name):
    """A layer of type ``name`` after a forward pass of a small input; the shape of its output."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((T, B, 4)).astype(np.float32)
    if name == "TiedDense":
        embedding = Embedding(7, 4)
        layer = Sequential(embedding, TiedDense(0)).layers[1]
        out = layer.forward(x)
    elif name == "Embedding":
        layer = Embedding(7, 4)
        out = layer.forward(rng.integers(0, 7, (T, B)))
    else:
        layer = {"Dense": lambda: Dense(4, 3), "Dropout": lambda: Dropout(0.5),
                 "Readout": lambda: Readout("mean"), "SNU": lambda: SNU(4, 3),
                 "RNN": lambda: RNN(4, 3), "LSTM": lambda: LSTM(4, 3), "GRU": lambda: GRU(4, 3)}[name]()
        out = layer.forward(x)
    return layer, out.shape


LAYERS = ["Dense", "Dropout", "Embedding", "Readout", "TiedDense", "SNU", "RNN", "LSTM", "GRU"]


@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_gradient_that_is_not_finite_is_refused_naming_the_layer(name, bad):
    layer, shape = forward_once(name)
    dy = np.ones(shape, np.float32)
    dy.flat[-1] = bad
    argument = "dz" if name == "TiedDense" else "dy"
    with pytest.raises(InputError, match=rf"^{argument} given to {name}\.backward contains 1 NaN or inf"):
        layer.backward(dy)


@pytest.mark.parametrize("name", LAYERS)
def test_a_finite_gradient_is_accepted(name):
    layer, shape = forward_once(name)
    layer.backward(np.ones(shape, np.float32))


def test_a_gradient_whose_sum_overflows_is_still_finite():
    """The cheap test (one sum) may overflow for finite values; the exact one then decides."""
    layer, shape = forward_once("Readout")
    layer.backward(np.full(shape, np.finfo(np.float32).max, np.float32))


def test_a_sequential_names_the_layer_whose_output_overflows():
    net = Sequential(Dense(4, 3, rng=1), SNU(3, 2), Readout("sum"))
    x = np.ones((T, B, 4), np.float32)
    net.forward(x)
    net.layers[0].params["W"][...] = 3e38           # finite, but x W overflows float32
    with np.errstate(over="ignore", invalid="ignore"):
        with pytest.raises(InputError, match=r"^the output of layer 0 \(Dense\) contains 18 NaN or infinite "
                                             r"value\(s\): an overflow in its forward pass"):
            net.forward(x)


def test_an_overflow_deeper_in_the_network_names_its_index():
    net = Sequential(Dense(4, 3, rng=1), Dense(3, 2, rng=2))
    net.layers[1].params["b"][...] = 3e38
    net.layers[1].params["W"][...] = 3e38
    with np.errstate(over="ignore", invalid="ignore"):
        with pytest.raises(InputError, match=r"^the output of layer 1 \(Dense\)"):
            net.forward(np.ones((B, 4), np.float32))


# ---- the loss that explodes ----------------------------------------------------------


def mse_loss(output, batch):
    value, grad = losses.mse(output, batch.target)
    return value, grad, {"loss": value * len(batch.target), "count": len(batch.target)}


def batches(n=6):
    rng = np.random.default_rng(2)
    for _ in range(n):
        x = rng.standard_normal((4, 3)).astype(np.float32)
        yield loop.Batch(x, 2 * x[:, :2])


def scripted(values):
    """A loss whose value at the i-th call is values[i] (its gradient: the real MSE's)."""
    calls = []

    def loss(output, batch):
        _, grad, totals = mse_loss(output, batch)
        calls.append(1)
        return values[len(calls) - 1], grad, totals
    return loss


def train(values):
    net = Sequential(Dense(3, 2, rng=1))
    return loop.train_epoch(net, optim.SGD(net, lr=1e-3), batches(len(values)), scripted(values))


@pytest.mark.parametrize("values, batch, limit", [
    ([0.5, 0.6, 1001.0], 3, 1000.0),             # below 1: the floor of 1
    ([20.0, 30.0, 19.0, 20001.0], 4, 20000.0),    # 1000 × the epoch's first loss
    ([-20.0, 20001.0], 2, 20000.0),               # its size, whatever its sign
])
def test_a_loss_that_explodes_stops_the_epoch(values, batch, limit):
    with pytest.raises(loop.Diverged, match=rf"batch {batch} \(loss {values[-1]} exploded above") as error:
        train(values)
    assert (error.value.batch, error.value.limit) == (batch, limit)


@pytest.mark.parametrize("values", [
    [0.5, 0.6, 999.0],            # large, but under the floor's 1000
    [1e-4, 0.3, 0.9],             # a nearly perfect fit, then ordinary batches
    [20.0, 19999.0, 1.0],
    [1e6, 1e8, 1e6],              # a loss of a large scale, within 1000 × its first value
])
def test_a_loss_that_grows_less_is_trained_on(values):
    assert train(values)["count"] == 4 * len(values)


def test_a_nan_loss_is_still_reported_as_such():
    with pytest.raises(loop.Diverged, match=r"batch 2 \(loss nan\)$") as error:
        train([0.5, math.nan])
    assert error.value.limit is None
