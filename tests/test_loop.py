"""The training loop (minisnu.training.loop) on its own: any network, any batches, any loss."""

import math

import numpy as np
import pytest

from minisnu import Dense, Dropout, Sequential, losses
from minisnu.core.errors import RunError
from minisnu.training import loop, optim


def mse_loss(output, batch):
    value, grad = losses.mse(output, batch.target)
    return value, grad, {"loss": value * len(batch.target), "count": len(batch.target)}


def batches(rng, n=5, size=4):
    for _ in range(n):
        x = rng.standard_normal((size, 3)).astype(np.float32)
        yield loop.Batch(x, 2 * x[:, :2])


def test_an_epoch_is_the_steps_written_out():
    rng = np.random.default_rng(0)
    a, b = Sequential(Dense(3, 2, rng=1)), Sequential(Dense(3, 2, rng=1))
    opt_a, opt_b = optim.Adam(a, lr=0.01), optim.Adam(b, lr=0.01)
    data = list(batches(rng))
    totals = loop.train_epoch(a, opt_a, data, mse_loss)
    total = 0.0
    for batch in data:                                    # by hand
        opt_b.zero_grad()
        value, grad = losses.mse(b.forward(batch.x), batch.target)
        b.backward(grad)
        opt_b.step()
        total += value * len(batch.target)
    assert totals == {"loss": total, "count": 20}
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name])


def test_on_batch_sees_the_running_totals_and_clip_bounds_the_gradients():
    rng = np.random.default_rng(1)
    net = Sequential(Dense(3, 2, rng=1))
    seen = []
    loop.train_epoch(net, optim.SGD(net, lr=1e-9), batches(rng, n=3), mse_loss, clip=1e-3,
                     on_batch=lambda totals: seen.append(totals["count"]))
    assert seen == [4, 8, 12]
    norm = math.sqrt(sum(float((g.astype(np.float64) ** 2).sum()) for g in net.grads.values()))
    assert norm <= 1e-3 * 1.0001


def test_a_loss_that_is_not_finite_stops_the_epoch_with_the_batch_named():
    def diverging(output, batch, calls=[]):  # noqa: B006 - counts the calls
        calls.append(1)
        value, grad, totals = mse_loss(output, batch)
        return (math.nan if len(calls) == 3 else value), grad, totals

    net = Sequential(Dense(3, 2, rng=1))
    with pytest.raises(loop.Diverged, match=r"batch 3 \(loss nan\)") as error:
        loop.train_epoch(net, optim.SGD(net, lr=0.1), batches(np.random.default_rng(2)), diverging)
    assert isinstance(error.value, RunError) and error.value.batch == 3


def test_evaluate_scores_without_dropout_and_leaves_the_network_training():
    net = Sequential(Dense(3, 2, rng=1), Dropout(0.5, rng=0))
    data = list(batches(np.random.default_rng(3)))
    score = lambda output, batch: mse_loss(output, batch)[2]  # noqa: E731
    first, second = loop.evaluate(net, data, score), loop.evaluate(net, data, score)
    assert first == second and first["count"] == 20               # dropout off: deterministic
    assert net.training and net[1].training


def test_learning_rate_schedule_and_optimizers():
    assert [loop.learning_rate(0.01, 0.5, epoch) for epoch in (1, 2, 3)] == [0.01, 0.005, 0.0025]
    net = Sequential(Dense(3, 2, rng=1))
    adam = loop.make_optimizer("adam", net, lr=0.1, weight_decay=0.01)
    assert isinstance(adam, optim.Adam) and adam.decoupled and adam.lr == 0.1
    assert not loop.make_optimizer("adam", net, lr=0.1).decoupled
    assert isinstance(loop.make_optimizer("sgd", net, lr=0.1), optim.SGD)
    with pytest.raises(ValueError, match="optimizer"):
        loop.make_optimizer("rmsprop", net, lr=0.1)
