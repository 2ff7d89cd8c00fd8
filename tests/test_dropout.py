import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minisnu.layers.dropout import Dropout
from minisnu.training.gradcheck import check_layer


@settings(max_examples=20, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4)),
    p=st.floats(0.0, 0.9),
    shared=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_gradients_match_finite_differences(shape, p, shared, seed):
    # check_layer restores layer.rng before each forward, so the mask is fixed
    layer = Dropout(p, shared_over_time=shared, rng=seed)
    x = np.random.default_rng(seed).standard_normal(shape)
    report = check_layer(layer, x, rng=seed)
    assert report.worst < 1e-6, str(report)


def binomial_tolerance(p, n):
    """Six binomial standard deviations of the kept fraction: a false alarm about once in 10⁹ runs."""
    return 6 * np.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kept_fraction_and_scaling(p, dtype):
    x = np.ones((20, 50, 100), dtype)
    y = Dropout(p, rng=1).forward(x)
    assert y.dtype == dtype
    kept = y != 0
    assert abs(kept.mean() - (1 - p)) < binomial_tolerance(p, x.size)
    # kept units are scaled by 1/(1-p), so that E[y] = x
    np.testing.assert_allclose(y[kept], 1 / (1 - p), rtol=1e-6)


def test_backward_uses_the_forward_mask():
    layer = Dropout(0.5, rng=3)
    x = np.random.default_rng(0).standard_normal((5, 4, 6)).astype(np.float32)
    y = layer.forward(x)
    dx = layer.backward(np.ones_like(y))
    np.testing.assert_array_equal(dx, (y != 0) * np.float32(2.0))
    np.testing.assert_array_equal(y, x * dx)


def test_mask_shared_over_time():
    x = np.ones((10, 8, 50))
    layer = Dropout(0.5, shared_over_time=True, rng=0)
    y = layer.forward(x)
    assert (y == y[0]).all()  # the same units dropped at every step
    assert 0 < (y[0] == 0).mean() < 1
    assert (layer.backward(np.ones_like(y)) == y).all()


def test_mask_not_shared_by_default():
    y = Dropout(0.5, rng=0).forward(np.ones((10, 8, 50)))
    assert not (y == y[0]).all()


def test_same_seed_same_mask_and_fresh_masks_each_call():
    x = np.ones((4, 3, 20))
    a, b = Dropout(0.5, rng=5), Dropout(0.5, rng=5)
    first = a.forward(x)
    np.testing.assert_array_equal(first, b.forward(x))
    assert not np.array_equal(first, a.forward(x))  # a new mask at each forward
    gen = np.random.default_rng(5)
    assert Dropout(0.5, rng=gen).rng is gen


def test_eval_mode_and_p_zero_are_the_identity():
    x = np.random.default_rng(0).standard_normal((3, 2, 4))
    dy = np.ones_like(x)
    layer = Dropout(0.7).eval()
    assert layer.forward(x) is x  # no copy
    assert layer.backward(dy) is dy
    layer = Dropout(0.0)
    np.testing.assert_array_equal(layer.forward(x), x)


def test_works_on_any_shape_when_not_shared():
    assert Dropout(0.5).forward(np.ones((7, 3))).shape == (7, 3)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"p": 1.0}, ValueError, r"in \[0, 1\)"),
        ({"p": -0.1}, ValueError, r"in \[0, 1\)"),
        ({"p": float("nan")}, ValueError, r"in \[0, 1\)"),
        ({"p": "0.5"}, TypeError, "p must be a number"),
        ({"rng": 1.5}, TypeError, "rng must be"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        Dropout(**kwargs)


@pytest.mark.parametrize(
    "layer, x, error, match",
    [
        (Dropout(0.5, shared_over_time=True), np.ones((3, 4)), ValueError, "3 dimensions"),
        (Dropout(0.5), np.ones((3, 4), np.int64), TypeError, "float32 or float64"),
        (Dropout(0.5), np.full((3, 4), np.nan), ValueError, "NaN"),
    ],
)
def test_bad_input(layer, x, error, match):
    with pytest.raises(error, match=match):
        layer.forward(x)
