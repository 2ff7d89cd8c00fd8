import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minisnu.layers.embedding import Embedding, scatter_add_rows
from minisnu.training.gradcheck import check_layer


@settings(max_examples=20, deadline=None)
@given(
    n_vocab=st.integers(1, 6),
    n_dim=st.integers(1, 4),
    shape=st.lists(st.integers(1, 4), min_size=0, max_size=3),
    seed=st.integers(0, 2**16),
)
def test_gradients_match_finite_differences(n_vocab, n_dim, shape, seed):
    # small vocabularies: indices repeat, which is the case that needs a scatter-*add*
    rng = np.random.default_rng(seed)
    layer = Embedding(n_vocab, n_dim, dtype=np.float64, rng=seed)
    idx = rng.integers(0, n_vocab, shape)
    report = check_layer(layer, idx, rng=seed)
    assert report.worst < 1e-6, str(report)


@settings(max_examples=20, deadline=None)
@given(n_rows=st.integers(1, 8), n=st.integers(0, 30), seed=st.integers(0, 2**16))
def test_scatter_add_rows_equals_add_at(n_rows, n, seed):
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, n_rows, n)
    values = rng.standard_normal((n, 3))
    expected = rng.standard_normal((n_rows, 3))
    got = expected.copy()
    np.add.at(expected, rows, values)
    scatter_add_rows(got, rows, values)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_forward_looks_rows_up():
    layer = Embedding(10, 3)
    idx = np.array([[1, 2, 1], [9, 0, 0]])  # (T, B)
    y = layer.forward(idx)
    assert y.shape == (2, 3, 3) and y.dtype == np.float32
    np.testing.assert_array_equal(y, layer.params["W"][idx])
    assert layer.backward(np.ones_like(y)) is None
    counts = np.bincount(idx.ravel(), minlength=10)
    np.testing.assert_array_equal(layer.grads["W"], np.repeat(counts[:, None], 3, axis=1))


def test_unsigned_and_empty_indices():
    layer = Embedding(5, 2)
    assert layer.forward(np.array([4, 0], np.uint8)).shape == (2, 2)
    y = layer.forward(np.zeros((0, 3), np.int64))
    assert y.shape == (0, 3, 2)
    layer.backward(y)
    assert not layer.grads["W"].any()


def test_uniform_init():
    W = Embedding(1000, 50).params["W"]
    assert np.abs(W).max() <= 0.1 and np.abs(W).max() > 0.099
    assert np.array_equal(W, Embedding(1000, 50, rng=0).params["W"])


@pytest.mark.parametrize(
    "idx, error, match",
    [
        (np.array([0.0, 1.0]), TypeError, "integer array, got dtype float64"),
        (np.array([True, False]), TypeError, "integer array, got dtype bool"),
        (np.array([0, -1]), ValueError, r"\[0, 4\].*from -1"),
        (np.array([[0, 5]]), ValueError, r"\[0, 4\].*to 5"),
        ([0, 1], TypeError, "numpy array"),
    ],
)
def test_bad_indices(idx, error, match):
    with pytest.raises(error, match=match):
        Embedding(5, 2).forward(idx)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n_vocab": 0, "n_dim": 3}, ValueError, "n_vocab must be positive"),
        ({"n_vocab": 3, "n_dim": 0}, ValueError, "n_dim must be positive"),
        ({"n_vocab": 3, "n_dim": 2, "dtype": "float16"}, TypeError, "float32 or float64"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        Embedding(**kwargs)
