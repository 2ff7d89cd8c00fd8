"""The training loop (minisnu.training.loop): on its own (any network, any batches, any
loss), each option's effect on a step computed by hand, and ``minisnu train`` end to end
with every step watched: the learning rate each epoch really uses, clipping before the
update, weight decay, dropout, --limit and --batch-size."""

import math

import numpy as np
import pytest
from helpers import write_jsb

from minisnu import Dense, Dropout, Sequential, losses
from minisnu.cli import main
from minisnu.core.errors import RunError
from minisnu.training import loop, optim, run_folder


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


# ---------------------------------------------------------------------------
# what each training option does to the update (a step by hand)


def flat(params):
    return np.concatenate([p.astype(np.float64).ravel() for p in params.values()])


def one_step(optimizer_name, *, clip=None, weight_decay=0.0, lr=0.1, zero_loss=False):
    """One train_step of a small network: (θ before, θ after, the gradient it used)."""
    net = Sequential(Dense(3, 4, rng=1), Dense(4, 2, rng=2))
    optimizer = loop.make_optimizer(optimizer_name, net, lr=lr, weight_decay=weight_decay)
    batch = next(batches(np.random.default_rng(4)))

    def loss(output, batch):
        value, grad, totals = mse_loss(output, batch)
        return value, (0 * grad if zero_loss else grad), totals

    before = flat(net.params)
    loop.train_step(net, optimizer, batch, loss, clip=clip)
    return before, flat(net.params), flat(net.grads)        # grads: as the step used them


def test_clipping_comes_before_the_update():
    """A tiny clip norm: the step is lr·clip long, along the gradient; clipping after the
    update would move the weights by lr·‖g‖, a thousand times more."""
    _, _, raw = one_step("sgd")
    before, after, g = one_step("sgd", clip=1e-3)
    assert np.linalg.norm(raw) > 0.1
    np.testing.assert_allclose(np.linalg.norm(g), 1e-3, rtol=1e-5)
    # atol: the float32 weights (≈ 0.5) hold the 1e-5 steps to about 3e-8
    np.testing.assert_allclose(before - after, 0.1 * g, rtol=1e-3, atol=1e-7)
    np.testing.assert_allclose(before - after, 0.1 * raw * 1e-3 / np.linalg.norm(raw), rtol=1e-3, atol=1e-7)
    _, unclipped, _ = one_step("sgd", clip=1e3)           # a large norm changes nothing
    np.testing.assert_array_equal(unclipped, one_step("sgd")[1])


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_weight_decay_shrinks_the_weights(optimizer):
    """With no gradient, one step shrinks θ to (1 − η λ) θ: SGD's L2 term η λ θ, and AdamW's
    decoupled decay (its moments stay zero)."""
    before, after, _ = one_step(optimizer, weight_decay=0.5, zero_loss=True)
    np.testing.assert_allclose(after, (1 - 0.1 * 0.5) * before, rtol=1e-6)


def test_weight_decay_one_step_by_hand():
    """SGD: θ − η (g + λ θ). AdamW, first step (m̂ = g, v̂ = g²): (1 − η λ) θ − η g / (|g| + ε)."""
    before, after, g = one_step("sgd", weight_decay=0.3)
    np.testing.assert_allclose(after, before - 0.1 * (g + 0.3 * before), rtol=1e-5, atol=1e-7)
    before, after, g = one_step("adam", weight_decay=0.3)
    np.testing.assert_allclose(after, (1 - 0.1 * 0.3) * before - 0.1 * g / (np.abs(g) + 1e-8),
                               rtol=1e-5, atol=1e-6)
    before, after, g = one_step("adam")                    # no decay: the plain Adam step
    np.testing.assert_allclose(after, before - 0.1 * g / (np.abs(g) + 1e-8), rtol=1e-5, atol=1e-6)


def test_training_uses_dropout_even_after_evaluation_mode():
    """train_epoch switches dropout on (a network left in eval mode is trained with it); evaluate
    switches it off."""
    net = Sequential(Dense(3, 8, rng=1), Dropout(0.5, rng=0), Dense(8, 2, rng=2))
    net.eval()
    seen = []
    real_forward = net[1].forward
    net[1].forward = lambda x: seen.append(net[1].training) or real_forward(x)
    loop.train_epoch(net, optim.SGD(net, lr=0.01), batches(np.random.default_rng(5), n=2), mse_loss)
    loop.evaluate(net, batches(np.random.default_rng(5), n=1), lambda output, batch: {"n": 1})
    assert seen == [True, True, False]


# ---------------------------------------------------------------------------
# minisnu train end to end: every step of a run watched


@pytest.fixture
def watched_steps(monkeypatch):
    """Record every training step of a run: its batch size, its targets' shape, the step taken,
    the gradient it used, the weights before it and whether dropout was on."""
    steps = []
    train_step = loop.train_step

    def watched(net, optimizer, batch, loss, *, clip=None):
        before = flat(net.params)
        result = train_step(net, optimizer, batch, loss, clip=clip)
        steps.append({"batch": batch.x.shape[1], "target": np.shape(batch.target), "before": before,
                      "step": before - flat(net.params), "grad": flat(net.grads),
                      "dropout": [layer.training for layer in net.layers if isinstance(layer, Dropout)]})
        return result

    monkeypatch.setattr(loop, "train_step", watched)
    return steps


def train_jsb(tmp_path, *options):
    data = tmp_path / "jsb.json"
    write_jsb(data, np.random.default_rng(0))        # 6 training chorales
    argv = ["train", "jsb", "--data", str(data), "--out", str(tmp_path / "run"), "--no-progress",
            "--hidden", "8", "--optimizer", "sgd", "--lr", "0.5", *options]
    assert main(argv) == 0


def test_each_epoch_steps_with_its_scheduled_learning_rate(tmp_path, watched_steps):
    """Epoch e's SGD step is lr·γ^(e−1)·g, measured on the weights (not read off the optimizer)."""
    train_jsb(tmp_path, "--epochs", "3", "--lr-decay", "0.5", "--batch-size", "3")
    assert len(watched_steps) == 3 * 2                          # 6 chorales, batches of 3
    for i, step in enumerate(watched_steps):
        lr = 0.5 * 0.5 ** (i // 2)
        np.testing.assert_allclose(step["step"], lr * step["grad"], rtol=1e-3, atol=1e-7,
                                   err_msg=f"step {i + 1}")


def scripted_validation(monkeypatch, values):
    """Make the runs' validation NLLs ``values``, in order (the test split scores what it scores)."""
    values, evaluate = iter(values), run_folder.evaluate_split

    def fake(task, net, data, split, options):
        real = evaluate(task, net, data, split, options)
        return {**real, "nll": next(values)} if split == "valid" else real
    monkeypatch.setattr(run_folder, "evaluate_split", fake)


def test_the_learning_rate_falls_after_each_epoch_that_did_not_improve(tmp_path, watched_steps,
                                                                         monkeypatch):
    """--lr-plateau ρ: epoch e's step is lr·ρ^k·g, k the earlier epochs whose validation metric
    was not a new best (here epochs 2 and 3, as the validation outcome is made so)."""
    scripted_validation(monkeypatch, [9.0, 9.5, 9.0, 8.0])
    train_jsb(tmp_path, "--epochs", "4", "--lr-plateau", "0.25", "--batch-size", "6")
    assert len(watched_steps) == 4
    for step, lr in zip(watched_steps, [0.5, 0.5, 0.5 * 0.25, 0.5 * 0.25 ** 2]):
        np.testing.assert_allclose(step["step"], lr * step["grad"], rtol=1e-3, atol=1e-7)
    assert loop.learning_rate(1.0, 0.5, 3, plateaus=2, lr_plateau=0.1) == pytest.approx(0.25 * 0.01)
    assert loop.learning_rate(1.0, 0.5, 3, plateaus=2) == 0.25               # no ρ: plateaus ignored


def test_a_small_gain_is_a_plateau_with_a_threshold(tmp_path, watched_steps, monkeypatch):
    """--plateau-threshold 0.05: epoch 2 (9.0 → 8.8, 2 % better) is a new best but a plateau;
    epoch 3 (8.8 → 8.0, 9 %) is not."""
    scripted_validation(monkeypatch, [9.0, 8.8, 8.0, 8.0])
    train_jsb(tmp_path, "--epochs", "4", "--lr-plateau", "0.25", "--plateau-threshold", "0.05",
              "--batch-size", "6")
    for step, lr in zip(watched_steps, [0.5, 0.5, 0.5 * 0.25, 0.5 * 0.25]):
        np.testing.assert_allclose(step["step"], lr * step["grad"], rtol=1e-3, atol=1e-7)


@pytest.mark.parametrize("values, lower, threshold, plateaus", [
    ([5, 4, 4, 6, 3], True, 0.0, 2),             # 4 → 4 and 6 did not better 4
    ([5, 4.9, 4, 3.99], True, 0.01, 1),          # 4.9 (2 % of 5: enough), 3.99 (0.25 % of 4: not)
    ([5, 4.9, 4, 3.99], True, 0.03, 2),          # 4.9 is 2 %: a plateau; 4 is 18 %: not
    ([float("nan"), 5, float("inf"), 4], True, 0.0, 2),   # not finite: a plateau, even the first
    ([0.5, 0.6, 0.6, 0.61], False, 0.0, 1),      # accuracy: higher is better
    ([0.5, 0.6, 0.6, 0.61], False, 0.05, 2),     # 0.61 is 1.7 % above 0.6
])
def test_plateau_epochs(values, lower, threshold, plateaus):
    assert loop.plateau_epochs(values, lower_is_better=lower, threshold=threshold) == plateaus
    if threshold == 0:   # then it counts exactly the epochs the run does not mark as a new best
        best, new_bests = None, 0
        for value in values:
            if (math.isfinite(value) and (best is None or (value < best if lower else value > best))):
                best, new_bests = value, new_bests + 1
        assert plateaus == len(values) - new_bests


def test_a_tiny_clip_norm_barely_moves_the_weights(tmp_path, watched_steps):
    train_jsb(tmp_path, "--epochs", "2", "--clip", "1e-4", "--batch-size", "2")
    for step in watched_steps:
        assert np.linalg.norm(step["grad"]) <= 1e-4 * 1.0001
        assert np.linalg.norm(step["step"]) <= 0.5 * 1e-4 * 1.001   # lr · clip
    first, last = watched_steps[0]["before"], watched_steps[-1]["before"] - watched_steps[-1]["step"]
    assert np.linalg.norm(last - first) <= 6 * 0.5 * 1e-4 * 1.001


def test_weight_decay_in_every_step_of_a_run(tmp_path, watched_steps):
    """SGD with --weight-decay λ: every step is η (g + λ θ)."""
    train_jsb(tmp_path, "--epochs", "2", "--weight-decay", "0.2", "--batch-size", "6")
    assert len(watched_steps) == 2
    for step in watched_steps:
        np.testing.assert_allclose(step["step"], 0.5 * (step["grad"] + 0.2 * step["before"]),
                                   rtol=1e-3, atol=1e-6)


def test_limit_batch_size_and_dropout_reach_every_step(tmp_path, watched_steps):
    """--limit 4 --batch-size 3: two steps per epoch, of 3 and 1 chorales; --dropout: on in
    every training step."""
    train_jsb(tmp_path, "--epochs", "2", "--limit", "4", "--batch-size", "3", "--dropout", "0.5")
    assert [sorted(step["batch"] for step in watched_steps[i:i + 2]) for i in (0, 2)] == [[1, 3], [1, 3]]
    assert all(step["dropout"] == [True] for step in watched_steps)
    watched_steps.clear()
    (tmp_path / "no-dropout").mkdir()
    train_jsb(tmp_path / "no-dropout", "--epochs", "1", "--batch-size", "4")
    assert sorted(step["batch"] for step in watched_steps) == [2, 4]
    assert all(step["dropout"] == [] for step in watched_steps)


def test_mnist_limit_and_batch_size_with_the_bundled_digits(tmp_path, watched_steps):
    """--dataset digits (scikit-learn's 8×8 digits, pixels 0..16): --limit 20 --batch-size 8
    gives steps of 8, 8 and 4 images whose targets match; every pixel is an intensity in [0, 1]
    (16 is white), which the rate encoding checks."""
    pytest.importorskip("sklearn")
    argv = ["train", "mnist", "--dataset", "digits", "--out", str(tmp_path / "run"), "--no-progress",
            "--hidden", "8", "--steps", "4", "--epochs", "1", "--limit", "20", "--batch-size", "8"]
    assert main(argv) == 0
    assert sorted(step["batch"] for step in watched_steps) == [4, 8, 8]
    assert all(step["target"] == (step["batch"],) for step in watched_steps)    # one label an image
