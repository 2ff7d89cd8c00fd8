"""minisnu.training.diagnostics: layer activity, gradient reach and the output ceiling, each
checked on a network whose answer is known in closed form."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from minisnu import SNU, Dense, Sequential
from minisnu.layers.embedding import Embedding
from minisnu.layers.tied_dense import TiedDense
from minisnu.training.diagnostics import (
    format_activity,
    format_ceiling,
    format_reach,
    gradient_reach,
    layer_activity,
    output_ceiling,
    output_weights,
    target_ceiling,
)
from minisnu.training.loop import Batch
from minisnu.training.losses import lm_cross_entropy


def batch(T=6, B=3, n=4, classes=5, seed=0):
    rng = np.random.default_rng(seed)
    return Batch(rng.random((T, B, n)), rng.integers(0, classes, (T, B)))


def snu(n_in, n_out, bias, **options):
    return SNU(n_in, n_out, bias_init=bias, dtype=np.float64, rng=1, **options)


# ---------------------------------------------------------------------------
# layer activity


def test_activity_of_a_silent_and_an_always_on_layer():
    """W = 0 keeps s at 0, so the drive is exactly b: b = −3 never fires, b = +3 always does."""
    silent, on = snu(4, 3, -3.0), snu(3, 2, 3.0)
    silent.params["W"][:] = 0
    net = Sequential(silent, on, Dense(2, 5, dtype=np.float64, rng=2))
    result = layer_activity(net, [batch(), batch(seed=1)])
    first, second = result["layers"]
    assert result["batches"] == 2 and [first["index"], second["index"]] == [0, 1]
    assert first["mean_output"] == 0 and first["silent_units"] == 1 and first["always_on_units"] == 0
    assert first["drive_p1"] == first["drive_p50"] == first["drive_p99"] == -3.0
    assert first["closed"] == 1          # s = ReLU(0) = 0 at every step
    # the tanh surrogate at v = −3: 1 − tanh²(3)
    assert first["mean_derivative"] == pytest.approx(1 - np.tanh(3.0) ** 2)
    assert second["mean_output"] == 1 and second["always_on_units"] == 1 and second["silent_units"] == 0
    assert second["closed"] == 1         # its input, the silent layer's spikes, is all 0
    out = result["output"]   # a constant input gives every row the same logits: z = b + 1·W
    z = np.ones(2) @ net[2].params["W"] + net[2].params["b"]
    assert out["logit_spread"] == pytest.approx(z.max() - z.mean())
    assert out["top_probability"] == pytest.approx(np.exp(z.max()) / np.exp(z).sum())
    assert "silent" in format_activity(result) and "100.0%" in format_activity(result)


def test_a_soft_layer_passes_back_sigma_prime_and_the_states_are_reset():
    layer = snu(4, 3, 0.0, soft=True)
    layer.params["W"][:] = 0
    net = Sequential(layer, Dense(3, 5, dtype=np.float64, rng=2))
    row = layer_activity(net, [batch()], max_batches=1)["layers"][0]
    assert row["mean_output"] == pytest.approx(0.5) and row["mean_derivative"] == pytest.approx(0.25)
    assert net.layers[0].training   # back in training mode


def test_closed_is_the_share_of_unit_steps_at_s_0():
    layer = snu(4, 6, -0.5)
    layer.params["W"][:] -= 0.3          # some inputs drive u below 0, some above
    net = Sequential(layer, Dense(6, 5, dtype=np.float64, rng=2))
    row = layer_activity(net, [batch()])["layers"][0]
    assert 0 < row["closed"] < 1 and row["closed"] == np.mean(layer.membrane <= 0)


def test_activity_counts_at_most_max_batches():
    net = Sequential(snu(4, 3, -1.0), Dense(3, 5, dtype=np.float64, rng=2))
    assert layer_activity(net, [batch(seed=i) for i in range(5)], max_batches=2)["batches"] == 2


def test_notes_targets_are_not_softmax_logits():
    """JSB's targets are multi-hot notes (floats): no logit spread or top probability."""
    net = Sequential(snu(4, 3, -1.0), Dense(3, 5, dtype=np.float64, rng=2))
    notes = Batch(batch().x, np.zeros((6, 3, 5)))
    assert layer_activity(net, [notes])["output"] is None


# ---------------------------------------------------------------------------
# gradient reach


@settings(max_examples=10, deadline=None)
@given(decay=st.floats(0.3, 0.95), T=st.integers(3, 12))
def test_reach_of_a_silent_snu_is_its_decay_to_the_power_of_the_lag(decay, T):
    """An SNU that never fires, with a positive drive (ReLU open), carries
    s_t = W x_t + l s_{t−1}, so ∂s_T/∂x_t = l^(T−t) Wᵀ: g_t / g_T = l^(T−t) exactly.
    (The straight-through surrogate passes ∂L/∂y_T on at any drive; the reset's own
    path, −l s_{t−1} ∂y_{t−1}/∂s_{t−1}, is detached.)"""
    layer = snu(4, 3, -1e3, decay=decay, surrogate="straight_through", detach_reset=True)
    layer.params["W"][:] = np.abs(layer.params["W"]) + 0.1
    net = Sequential(layer, Dense(3, 5, dtype=np.float64, rng=2))
    reach = gradient_reach(net, batch(T=T), lambda z, b: lm_cross_entropy(z, b.target))
    lags = np.arange(T)[::-1]
    np.testing.assert_allclose(reach["norms"], decay ** lags, rtol=1e-10)
    assert reach["reach"] == min(T - 1, int(np.floor(np.log(0.01) / np.log(decay) + 1e-12)))
    assert all(not g.any() for g in net.grads.values())   # gradients zeroed afterwards
    assert "reach" in format_reach(reach)


def test_reach_needs_a_temporal_layer_and_a_time_axis():
    dense = Sequential(Dense(4, 5, dtype=np.float64, rng=0))
    assert gradient_reach(dense, batch(), lambda z, b: lm_cross_entropy(z, b.target)) is None


# ---------------------------------------------------------------------------
# output ceiling


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), V=st.integers(2, 6), scale=st.floats(0.1, 5.0),
       box=st.sampled_from([(0.0, 1.0), (-1.0, 1.0)]))
@example(seed=30, V=5, scale=1.0, box=(0.0, 1.0))  # ill-conditioned: plain gradient ascent fell 7e-6 short
def test_ceiling_equals_the_maximum_over_a_fine_grid_of_the_square(seed, V, scale, box):
    """d = 2: max over y ∈ [low, high]² of softmax(y W + b)_w, by brute force on a 201 × 201
    grid (the optimum is never below the grid's best, nor above it by more than its spacing
    allows), and the certificate holds: f + gap bounds the grid from above. A gap may end a
    little above tol when float64 can no longer see a gain (the gap is linear in the distance
    to the box's faces, the true shortfall quadratic)."""
    rng = np.random.default_rng(seed)
    W, b = rng.normal(0, scale, (2, V)), rng.normal(0, 1, V)
    side = np.linspace(*box, 201)
    grid = np.stack(np.meshgrid(side, side), -1).reshape(-1, 2)
    z = grid @ W + b
    log_p = z - np.log(np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True)) - z.max(1, keepdims=True)
    best = log_p.max(axis=0)
    found, gap = output_ceiling(W, b, np.arange(V), low=box[0], high=box[1], return_gap=True)
    assert np.all(gap <= 1e-7) and np.all(found + gap >= best - 1e-12)
    assert np.all(found >= best - 1e-8)
    # a grid point lies within spacing/√2 of the optimum, where log p changes by at most
    # ‖∇‖ ≤ 2 max_v ‖W_{:v}‖ per unit of distance
    spacing = side[1] - side[0]
    assert np.all(found <= best + spacing * np.sqrt(2) * np.linalg.norm(W, axis=0).max())


def test_ceiling_gap_is_honest_when_the_steps_run_out():
    """With no steps the answer is the starting corner, and its gap says how far it may be off."""
    rng = np.random.default_rng(3)
    W, b = rng.normal(0, 2, (8, 30)), rng.normal(0, 1, 30)
    start, gap = output_ceiling(W, b, np.arange(30), steps=0, return_gap=True)
    solved, solved_gap = output_ceiling(W, b, np.arange(30), return_gap=True)
    assert np.all(solved_gap <= 1e-7) and np.all(solved >= start)
    assert np.all(solved <= start + gap + 1e-12) and np.any(gap > 1e-3)


def test_ceiling_of_a_word_that_wins_every_corner_is_at_the_corner():
    """A word whose column dominates elementwise is best at y = 1 wherever it is positive."""
    W = np.array([[2.0, 0.0, -1.0], [1.0, 0.5, 0.0]])
    log_p = output_ceiling(W, None, [0])
    z = np.ones(2) @ W
    assert log_p[0] == pytest.approx(z[0] - np.log(np.exp(z).sum()))


def test_output_weights_of_dense_and_tied_layers():
    dense = Sequential(snu(4, 3, -1.0), Dense(3, 5, dtype=np.float64, rng=2))
    W, b = output_weights(dense)
    assert W is dense[1].params["W"] and b is dense[1].params["b"]
    embedding = Embedding(5, 3, dtype=np.float64, rng=0)
    tied = Sequential(embedding, snu(3, 3, -1.0), TiedDense(embedding))
    W, b = output_weights(tied)
    assert W.shape == (3, 5) and np.shares_memory(W, embedding.params["W"])
    scaled = Sequential(embedding, snu(3, 3, -1.0), TiedDense(embedding, scale=True))
    scaled[2].params["scale"][:] = 2.5                     # z = α y Eᵀ + b: the ceiling's W is α Eᵀ
    np.testing.assert_array_equal(output_weights(scaled)[0], 2.5 * embedding.params["W"].T)
    assert output_weights(Sequential(snu(4, 3, -1.0))) is None


def test_format_ceiling_names_the_floor():
    text = format_ceiling({"tokens": 10, "words": 4, "floor_loss": np.log(20), "p_min": 0.01,
                           "p_median": 0.2, "low": 0.0, "high": 1.0})
    assert "exp: 20" in text and "lowest 0.01" in text and "[0, 1]^d" in text


def test_target_ceiling_needs_word_ids_and_a_bounded_layer_below_the_output():
    net = Sequential(snu(4, 3, -1.0), Dense(3, 5, dtype=np.float64, rng=2))
    report = target_ceiling(net, np.array([0, 1, 1, 4]))
    assert (report["low"], report["high"], report["tokens"], report["words"]) == (0.0, 1.0, 4, 3)
    log_p = output_ceiling(net[1].params["W"], net[1].params["b"], [0, 1, 4])
    assert report["floor_loss"] == pytest.approx(-(log_p[0] + 2 * log_p[1] + log_p[2]) / 4)
    assert target_ceiling(net, np.zeros(4)) is None                  # notes, not word ids
    dense_below = Sequential(Dense(4, 3, dtype=np.float64, rng=1), Dense(3, 5, dtype=np.float64, rng=2))
    assert target_ceiling(dense_below, np.array([0, 1])) is None      # unbounded inputs
