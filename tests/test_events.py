"""The event-driven products (minisnu.core.events): the lists of active inputs, the NumPy
references and the compiled kernels equal the dense products to rounding, for spikes, scaled
spikes and any sparse input; and the switch leaves dense inputs to BLAS."""

from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minisnu.core import events
from minisnu.core.blas import blas_threads
from minisnu.units.gru import GRU
from minisnu.units.lstm import LSTM
from minisnu.units.rnn import RNN
from minisnu.units.snu import SNU


def sparse_input(rng, rows, n_in, p, kind, dtype):
    """Rows of spikes (0/1), spikes scaled as dropout scales them, or sparse normal values."""
    mask = rng.random((rows, n_in)) < p
    if kind == "spikes":
        return mask.astype(dtype)
    if kind == "scaled":
        return (mask / 0.7).astype(dtype)
    return np.where(mask, rng.standard_normal((rows, n_in)), 0).astype(dtype)


cases = dict(rows=st.integers(0, 40), n_in=st.integers(1, 30), n_out=st.integers(1, 20),
             p=st.sampled_from([0.0, 0.02, 0.1, 0.5, 1.0]),
             kind=st.sampled_from(["spikes", "scaled", "normal"]), seed=st.integers(0, 2**16))


@settings(max_examples=60, deadline=None)
@given(**cases)
def test_the_active_inputs_are_the_nonzero_entries_row_by_row(rows, n_in, n_out, p, kind, seed):
    x = sparse_input(np.random.default_rng(seed), rows, n_in, p, kind, np.float32)
    indptr, indices = events.active_inputs(x)
    assert indptr[0] == 0 and len(indptr) == rows + 1 and len(indices) == indptr[-1]
    for r in range(rows):
        np.testing.assert_array_equal(indices[indptr[r]:indptr[r + 1]], np.flatnonzero(x[r]))


@settings(max_examples=60, deadline=None)
@given(**cases)
def test_reference_and_kernels_equal_the_dense_products_in_float64(rows, n_in, n_out, p, kind, seed):
    rng = np.random.default_rng(seed)
    x = sparse_input(rng, rows, n_in, p, kind, np.float64)
    W, delta = rng.standard_normal((n_in, n_out)), rng.standard_normal((rows, n_out))
    grad0 = rng.standard_normal((n_in, n_out))        # the products add into what is there
    active = events.active_inputs(x)
    for product in (events.matmul_reference(x, W), events.matmul(x, W, active)):
        np.testing.assert_allclose(product, x @ W, rtol=1e-12, atol=1e-12)
    expected = grad0 + x.T @ delta
    reference, engine = grad0.copy(), grad0.copy()
    events.add_outer_reference(reference, x, delta)
    events.add_outer(engine, x, delta, active)
    np.testing.assert_allclose(reference, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(engine, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float32_spikes_give_the_dense_products_to_rounding(dtype):
    rng = np.random.default_rng(1)
    x = sparse_input(rng, 64, 100, 0.05, "spikes", dtype)
    W = rng.standard_normal((100, 50)).astype(dtype)
    delta = rng.standard_normal((64, 50)).astype(dtype)
    active = events.active_inputs(x)
    out = events.matmul(x, W, active)
    grad = np.zeros_like(W)
    events.add_outer(grad, x, delta, active)
    assert out.dtype == dtype and grad.dtype == dtype
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, x @ W, rtol=tol, atol=tol)
    np.testing.assert_allclose(grad, x.T @ delta, rtol=tol, atol=tol)


@settings(max_examples=40, deadline=None)
@given(rows=st.integers(1, 40), n_in=st.integers(1, 30), p=st.sampled_from([0.0, 0.1, 0.5, 1.0]),
       stride=st.integers(1, 9), seed=st.integers(0, 2**16))
def test_the_sampled_density_counts_every_strideth_row(rows, n_in, p, stride, seed):
    x = sparse_input(np.random.default_rng(seed), rows, n_in, p, "normal", np.float32)
    sample = x[::stride]
    assert events.sampled_density(x, stride) == np.count_nonzero(sample) / sample.size


def test_the_crossover_follows_the_blas_threads_and_can_be_fixed(monkeypatch):
    from threadpoolctl import threadpool_limits
    with threadpool_limits(1, user_api="blas"):
        assert blas_threads() == 1
        assert events.event_density() == events.CROSSOVER_ONE_THREAD
    with threadpool_limits(2, user_api="blas"):
        assert events.event_density() == events.CROSSOVER_ONE_THREAD / blas_threads()
        monkeypatch.setattr(events, "EVENT_DENSITY", 0.3)
        assert events.event_density() == 0.3


def test_the_switch_lists_sparse_inputs_and_leaves_dense_ones_to_blas():
    rng = np.random.default_rng(2)
    sparse = sparse_input(rng, 400, 64, 0.02, "spikes", np.float32)
    dense = sparse_input(rng, 400, 64, 0.5, "spikes", np.float32)
    assert events.events_of(dense) is None
    assert events.events_of(sparse) is not None
    assert events.events_of(sparse, threshold=0.0) is None
    assert events.events_of(np.zeros((0, 5), np.float32)) is None
    W = rng.standard_normal((64, 8)).astype(np.float32)
    np.testing.assert_array_equal(events.matmul(dense, W, None), dense @ W)   # None: BLAS itself


def test_a_nan_input_reaches_the_output_as_in_the_dense_product():
    x = np.zeros((2, 3))
    x[1, 2] = np.nan
    out = events.matmul(x, np.ones((3, 2)), events.active_inputs(x))
    assert np.isfinite(out[0]).all() and np.isnan(out[1]).all()


def layer_of(kind, n_in, n_out, engine, seed):
    if kind in ("snu", "ssnu", "recurrent snu"):
        return SNU(n_in, n_out, soft=kind == "ssnu", recurrent=kind.startswith("recurrent"),
                   dtype=np.float64, rng=seed, engine=engine)
    return {"rnn": RNN, "lstm": LSTM, "gru": GRU}[kind](n_in, n_out, dtype=np.float64, rng=seed,
                                                         engine=engine)


def run_layer(layer, x, dy):
    """The layer's output, ∂L/∂x and parameter gradients for L = Σ dy ⊙ output."""
    layer.zero_grad()
    out = layer.forward(x)
    dx = layer.backward(dy)
    return out, dx, {name: g.copy() for name, g in layer.grads.items()}


@settings(max_examples=30, deadline=None)
@given(kind=st.sampled_from(["snu", "ssnu", "recurrent snu", "rnn", "lstm", "gru"]),
       T=st.integers(1, 6), B=st.integers(1, 4), n_in=st.integers(1, 40), n_out=st.integers(1, 8),
       p=st.sampled_from([0.0, 0.03, 0.3]), kind_x=st.sampled_from(["spikes", "scaled"]),
       seed=st.integers(0, 2**16))
def test_a_layer_on_spikes_is_the_same_event_driven_dense_and_in_its_reference(
        kind, T, B, n_in, n_out, p, kind_x, seed):
    """Every temporal unit on a sparse input: the compiled engine, event-driven (here at any
    density) and dense (``event_driven = False``), equals the reference."""
    rng = np.random.default_rng(seed)
    x = sparse_input(rng, T * B, n_in, p, kind_x, np.float64).reshape(T, B, n_in)
    dy = rng.standard_normal((T, B, n_out))
    results = {}
    for name, engine, event_driven in [("events", "numba", True), ("dense", "numba", False),
                                       ("reference", "reference", True)]:
        layer = layer_of(kind, n_in, n_out, engine, seed)
        layer.event_driven = event_driven
        with mock.patch.object(events, "EVENT_DENSITY", 1.0):
            results[name] = run_layer(layer, x, dy)
        if name == "events":
            assert layer._active is not None          # the event-driven kernels did the products
    for name in ("dense", "reference"):
        out, dx, grads = results[name]
        np.testing.assert_allclose(results["events"][0], out, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(results["events"][1], dx, rtol=1e-10, atol=1e-12)
        for param, grad in grads.items():
            np.testing.assert_allclose(results["events"][2][param], grad, rtol=1e-10, atol=1e-12,
                                       err_msg=f"{kind}: ∂L/∂{param}, events against {name}")
