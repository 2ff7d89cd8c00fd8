"""Tests of AvgPool2d, MaxPool2d and Flatten: values by hand, exact gradients, errors, checkpoints."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minisnu as ms
from minisnu.layers.pooling import pool_reference
from minisnu.training.testing import assert_layer_contract, assert_layer_gradients

seeds = st.integers(0, 2**32 - 1)
POOLS = [ms.AvgPool2d, ms.MaxPool2d]


@st.composite
def images(draw):
    """(T, B, C, H, W) and a window k no larger than H and W."""
    k = draw(st.integers(1, 4))
    return (draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(1, 3)),
            draw(st.integers(k, 9)), draw(st.integers(k, 9))), k


def test_values_by_hand():
    """One 4×5 image, k = 2: windows [[0, 1], [5, 6]] and [[2, 3], [7, 8]] on the first two rows;
    the last column (4, 9, …) does not fill a window and is dropped, as in PyTorch."""
    x = np.arange(20, dtype=np.float64).reshape(1, 1, 1, 4, 5)
    np.testing.assert_array_equal(ms.AvgPool2d(2).forward(x)[0, 0, 0], [[3, 5], [13, 15]])
    np.testing.assert_array_equal(ms.MaxPool2d(2).forward(x)[0, 0, 0], [[6, 8], [16, 18]])
    pool = ms.MaxPool2d(2)
    pool.forward(x)
    dx = pool.backward(np.array([[[[[1.0, 2.0], [3.0, 4.0]]]]]))[0, 0, 0]
    np.testing.assert_array_equal(dx, [[0, 0, 0, 0, 0], [0, 1, 0, 2, 0], [0, 0, 0, 0, 0], [0, 3, 0, 4, 0]])
    avg = ms.AvgPool2d(2)
    avg.forward(x)
    dx = avg.backward(np.ones((1, 1, 1, 2, 2)))[0, 0, 0]
    np.testing.assert_array_equal(dx, np.pad(np.full((4, 4), 0.25), ((0, 0), (0, 1))))


def test_max_of_tied_spikes_goes_to_the_first():
    x = np.ones((1, 1, 1, 2, 2), np.float32)
    pool = ms.MaxPool2d(2)
    assert pool.forward(x).item() == 1
    np.testing.assert_array_equal(pool.backward(np.full((1, 1, 1, 1, 1), 5, np.float32))[0, 0, 0],
                                  [[5, 0], [0, 0]])


@settings(max_examples=20, deadline=None)
@given(case=images(), pool=st.sampled_from(POOLS), seed=seeds)
def test_pooling_gradients_match_finite_differences(case, pool, seed):
    shape, k = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)      # no ties: the max has a derivative
    layer = pool(k)
    assert layer.forward(x).shape == shape[:3] + (shape[3] // k, shape[4] // k)
    assert_layer_contract(layer, x)
    assert_layer_gradients(layer, x, rng=rng)


@settings(max_examples=10, deadline=None)
@given(case=images(), seed=seeds)
def test_pooling_equals_a_loop(case, seed):
    (T, B, C, H, W), k = case
    x = np.random.default_rng(seed).standard_normal((T, B, C, H, W))
    avg, top = ms.AvgPool2d(k).forward(x), ms.MaxPool2d(k).forward(x)
    for i in range(H // k):
        for j in range(W // k):
            window = x[..., i * k:(i + 1) * k, j * k:(j + 1) * k]
            np.testing.assert_allclose(avg[..., i, j], window.mean(axis=(-2, -1)), rtol=1e-12)
            np.testing.assert_array_equal(top[..., i, j], window.max(axis=(-2, -1)))


@settings(max_examples=20, deadline=None)
@given(case=images(), seed=seeds, layout=st.sampled_from(["channels first", "channels last"]),
       spikes=st.booleans(), dtype=st.sampled_from([np.float32, np.float64]))
def test_kernels_equal_the_numpy_reference(case, seed, layout, spikes, dtype):
    """The compiled kernels against ``pool_reference``, forward and backward, on contiguous
    input and on a ConvSNU-like transposed view; ties (spikes) go to the same pixel."""
    shape, k = case
    rng = np.random.default_rng(seed)
    x = (rng.random(shape) < 0.5) if spikes else rng.standard_normal(shape)
    if layout == "channels last":
        x = np.ascontiguousarray(x.transpose(0, 1, 3, 4, 2)).transpose(0, 1, 4, 2, 3)
    x = x.astype(dtype)
    tol = 1e-6 if dtype == np.float32 else 1e-12       # the mean's sum, rounded in another order
    for pool, mode in [(ms.AvgPool2d(k), "avg"), (ms.MaxPool2d(k), "max")]:
        y, first = pool_reference(x, k, mode)
        np.testing.assert_allclose(pool.forward(x), y, rtol=tol, atol=tol)
        dy = rng.standard_normal(y.shape).astype(dtype)
        dx = pool.backward(dy)
        windows = np.zeros(y.shape + (k * k,), dtype)
        if mode == "max":
            np.put_along_axis(windows, first[..., None], dy[..., None], axis=-1)
        else:
            windows[...] = (dy / dtype(k * k))[..., None]
        expected = np.zeros_like(x)
        Ho, Wo = y.shape[3:]
        expected[..., :Ho * k, :Wo * k] = windows.reshape(y.shape + (k, k)).transpose(
            0, 1, 2, 3, 5, 4, 6).reshape(y.shape[:3] + (Ho * k, Wo * k))
        np.testing.assert_allclose(dx, expected, rtol=tol, atol=tol)


@settings(max_examples=10, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=3, max_size=5), seed=seeds)
def test_flatten(shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    layer = ms.Flatten()
    y = layer.forward(x)
    np.testing.assert_array_equal(y, x.reshape(shape[0], shape[1], -1))    # C order: channel by channel
    assert_layer_contract(layer, x)
    assert_layer_gradients(layer, x, rng=rng)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layer", [ms.AvgPool2d(2), ms.MaxPool2d(3), ms.Flatten()], ids=repr)
def test_dtype_is_kept(layer, dtype):
    x = np.ones((2, 1, 2, 6, 6), dtype)
    y = layer.forward(x)
    assert y.dtype == dtype and layer.backward(np.ones_like(y)).dtype == dtype


@pytest.mark.parametrize("pool", POOLS)
def test_bad_input(pool):
    with pytest.raises(ms.core.errors.InputError, match="k must be positive"):
        pool(0)
    with pytest.raises(TypeError, match="k must be an int"):
        pool(2.0)
    layer = pool(3)
    with pytest.raises(ValueError, match="x must have 5 dimensions"):
        layer.forward(np.zeros((2, 1, 4, 4)))
    with pytest.raises(ValueError, match=r"images of 2×4 pixels are smaller than the window k = 3"):
        layer.forward(np.zeros((2, 1, 1, 2, 4)))
    with pytest.raises(TypeError, match="x must be float32 or float64"):
        layer.forward(np.zeros((2, 1, 1, 4, 4), int))
    with pytest.raises(RuntimeError, match="backward called before forward"):
        layer.backward(np.zeros((2, 1, 1, 1, 1)))
    layer.forward(np.zeros((2, 1, 1, 7, 7)))
    with pytest.raises(ValueError, match=r"dy must have shape \(2, 1, 1, 2, 2\)"):
        layer.backward(np.zeros((2, 1, 1, 2, 3)))


def test_flatten_bad_input():
    layer = ms.Flatten()
    with pytest.raises(ValueError, match="x must have 3 or 4 or 5 or 6 dimensions"):
        layer.forward(np.zeros((2, 3)))
    layer.forward(np.zeros((2, 1, 3, 4)))
    with pytest.raises(ValueError, match=r"dy must have shape \(2, 1, 12\)"):
        layer.backward(np.zeros((2, 1, 11)))


def test_checkpoint_round_trip(tmp_path):
    net = ms.Sequential(ms.AvgPool2d(2), ms.MaxPool2d(2), ms.Flatten(), ms.Dense(4, 2, rng=0))
    x = np.random.default_rng(0).random((3, 2, 1, 9, 8)).astype(np.float32)
    net.save(tmp_path / "net.npz")
    loaded = ms.Sequential.load(tmp_path / "net.npz")
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in net.layers]
    assert loaded.layers[1].config() == {"k": 2} and loaded.layers[2].config() == {}
    np.testing.assert_array_equal(loaded.forward(x), net.forward(x))
