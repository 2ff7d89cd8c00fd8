import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minisnu.layers.dense import Dense
from minisnu.training.gradcheck import check_layer

sizes = st.integers(1, 5)
leading = st.lists(st.integers(1, 3), min_size=0, max_size=3)


@settings(max_examples=20, deadline=None)
@given(n_in=sizes, n_out=sizes, lead=leading, bias=st.booleans(), seed=st.integers(0, 2**16))
def test_gradients_match_finite_differences(n_in, n_out, lead, bias, seed):
    rng = np.random.default_rng(seed)
    layer = Dense(n_in, n_out, bias=bias, dtype=np.float64, rng=seed)
    if bias:  # a non-zero bias, so that its gradient is not checked at a special point
        layer.params["b"][:] = rng.standard_normal(n_out)
    x = rng.standard_normal((*lead, n_in))
    report = check_layer(layer, x, rng=seed)
    assert report.worst < 1e-6, str(report)


def test_forward_is_the_affine_map_on_any_leading_shape():
    rng = np.random.default_rng(0)
    layer = Dense(4, 3, dtype=np.float64)
    layer.params["b"][:] = [1.0, -2.0, 0.5]
    W, b = layer.params["W"], layer.params["b"]
    x3 = rng.standard_normal((5, 2, 4))
    np.testing.assert_allclose(layer.forward(x3), np.einsum("tbi,io->tbo", x3, W) + b)
    x2 = x3[-1]  # (B, n) as after a readout
    np.testing.assert_allclose(layer.forward(x2), x2 @ W + b)
    # a non-contiguous input gives the same answer
    xt = np.ascontiguousarray(x3.transpose(1, 0, 2)).transpose(1, 0, 2)
    np.testing.assert_allclose(layer.forward(xt), layer.forward(x3.copy()))


def test_glorot_uniform_init_and_zero_bias():
    layer = Dense(300, 200)
    limit = np.sqrt(6 / 500)
    W = layer.params["W"]
    assert W.dtype == np.float32 and W.shape == (300, 200)
    assert np.abs(W).max() <= limit
    assert np.abs(W).max() > 0.99 * limit
    # U(-a, a) has variance a²/3 = 2 / (n_in + n_out)
    assert abs(W.var() / (2 / 500) - 1) < 0.02
    assert not layer.params["b"].any()


def test_seed_and_generator():
    assert np.array_equal(Dense(4, 3, rng=7).params["W"], Dense(4, 3, rng=7).params["W"])
    assert not np.array_equal(Dense(4, 3, rng=7).params["W"], Dense(4, 3, rng=8).params["W"])
    gen = np.random.default_rng(7)
    assert np.array_equal(Dense(4, 3, rng=gen).params["W"], Dense(4, 3, rng=7).params["W"])


def test_no_bias():
    layer = Dense(4, 3, bias=False)
    assert list(layer.params) == ["W"]


def test_parameter_updates_in_place_are_used():
    layer = Dense(2, 2, dtype=np.float64)
    layer.params["W"][...] = np.eye(2)
    x = np.array([[1.0, 2.0]])
    np.testing.assert_array_equal(layer.forward(x), x)


def test_spikes_as_bool_or_int_are_accepted():
    layer = Dense(3, 2)
    spikes = np.array([[True, False, True]])
    y = layer.forward(spikes)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, layer.params["W"][[0, 2]].sum(0, keepdims=True))


@pytest.mark.parametrize(
    "x, error, match",
    [
        (np.zeros((2, 3, 5), np.float32), ValueError, "4 features"),
        (np.zeros((), np.float32), ValueError, "4 features"),
        (np.zeros((2, 3, 4), np.float64), TypeError, "float64"),
        (np.full((2, 4), np.nan, np.float32), ValueError, "NaN"),
        (np.full((2, 4), np.inf, np.float32), ValueError, "NaN or infinite"),
        ([[0.0] * 4], TypeError, "numpy array"),
    ],
)
def test_bad_input(x, error, match):
    with pytest.raises(error, match=match):
        Dense(4, 3).forward(x)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n_in": 0, "n_out": 3}, ValueError, "n_in must be positive"),
        ({"n_in": 3, "n_out": -1}, ValueError, "n_out must be positive"),
        ({"n_in": 2.5, "n_out": 3}, TypeError, "n_in must be an int"),
        ({"n_in": 3, "n_out": 3, "dtype": np.int32}, TypeError, "float32 or float64"),
        ({"n_in": 3, "n_out": 3, "rng": "seed"}, TypeError, "rng must be"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        Dense(**kwargs)
