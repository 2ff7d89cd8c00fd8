import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minisnu.layers.readout import Readout
from minisnu.training.gradcheck import check_layer


@settings(max_examples=20, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 5), st.integers(1, 3), st.integers(1, 4)),
    mode=st.sampled_from(["sum", "mean", "last"]),
    seed=st.integers(0, 2**16),
)
def test_gradients_match_finite_differences(shape, mode, seed):
    x = np.random.default_rng(seed).standard_normal(shape)
    report = check_layer(Readout(mode), x, rng=seed)
    assert report.worst < 1e-6, str(report)


@pytest.mark.parametrize(
    "mode, reduce",
    [("sum", lambda x: x.sum(0)), ("mean", lambda x: x.mean(0)), ("last", lambda x: x[-1])],
)
def test_forward(mode, reduce):
    x = np.random.default_rng(0).random((6, 2, 3), dtype=np.float32)
    y = Readout(mode).forward(x)
    assert y.shape == (2, 3) and y.dtype == np.float32
    np.testing.assert_allclose(y, reduce(x), rtol=1e-6)


def test_spike_count():
    spikes = np.zeros((5, 1, 2), np.float32)
    spikes[[0, 3, 4], 0, 1] = 1
    np.testing.assert_array_equal(Readout("sum").forward(spikes), [[0, 3]])
    np.testing.assert_allclose(Readout("mean").forward(spikes), [[0, 0.6]])


@pytest.mark.parametrize("mode, scale", [("sum", 1.0), ("mean", 0.25)])
def test_backward_spreads_over_time(mode, scale):
    layer = Readout(mode)
    layer.forward(np.zeros((4, 2, 3)))
    dy = np.arange(6.0).reshape(2, 3)
    dx = layer.backward(dy)
    assert dx.shape == (4, 2, 3) and dx.flags.writeable and dx.flags.c_contiguous
    np.testing.assert_allclose(dx, np.broadcast_to(scale * dy, (4, 2, 3)))


def test_backward_of_last_reaches_the_last_step_only():
    layer = Readout("last")
    layer.forward(np.zeros((4, 2, 3)))
    dy = np.ones((2, 3))
    dx = layer.backward(dy)
    assert not dx[:-1].any()
    np.testing.assert_array_equal(dx[-1], dy)


def test_bad_mode():
    with pytest.raises(ValueError, match="unknown readout mode 'max'"):
        Readout("max")


@pytest.mark.parametrize(
    "x, error, match",
    [
        (np.zeros((2, 3)), ValueError, "3 dimensions"),
        (np.zeros((2, 3, 4), np.int32), TypeError, "float32 or float64"),
        (np.full((2, 3, 4), np.inf), ValueError, "infinite"),
    ],
)
def test_bad_input(x, error, match):
    with pytest.raises(error, match=match):
        Readout().forward(x)
