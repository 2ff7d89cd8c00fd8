"""minisnu.data.correlated: the streams have the rate and the correlations they promise, and nothing else."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minisnu.core.errors import InputError
from minisnu.data.correlated import correlated_spikes

T = 200_000          # steps: the standard error of a correlation estimate is about 1/√T ≈ 0.0022


@pytest.fixture(scope="module")
def streams():
    x, group = correlated_spikes(T, 40, 0.05, [(10, 0.5), (12, 0.2)], rng=1)
    return x, group, np.corrcoef(x.T.astype(np.float64))


def pairs(group, a, b):
    """The correlations between distinct inputs of the sets a and b."""
    return [(i, j) for i in np.flatnonzero(a) for j in np.flatnonzero(b) if i < j]


def test_shapes_groups_and_values(streams):
    x, group, _ = streams
    assert x.shape == (T, 40) and x.dtype == np.uint8 and set(np.unique(x)) <= {0, 1}
    np.testing.assert_array_equal(group, [0] * 10 + [1] * 12 + [-1] * 18)


def test_every_input_fires_at_the_rate(streams):
    x, _, _ = streams
    rates = x.mean(axis=0)
    se = np.sqrt(0.05 * 0.95 / T)                           # binomial standard error
    assert np.all(np.abs(rates - 0.05) < 5 * se), rates


def test_pairwise_correlation_within_a_group_is_its_c(streams):
    _, group, corr = streams
    for k, c in ((0, 0.5), (1, 0.2)):
        values = np.array([corr[i, j] for i, j in pairs(group, group == k, group == k)])
        assert abs(values.mean() - c) < 0.01, (k, values.mean())
        assert np.all(np.abs(values - c) < 0.03), (k, values.min(), values.max())


def test_no_correlation_across_groups_or_with_the_independent_inputs(streams):
    _, group, corr = streams
    across = [corr[i, j] for i, j in pairs(group, group == 0, group == 1)]
    free = [corr[i, j] for i, j in pairs(group, group >= -1, group == -1)]
    for values in (across, free):
        assert np.all(np.abs(values) < 5 / np.sqrt(T)), max(np.abs(values))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), T=st.integers(1, 20_000), M=st.integers(1, 50),
       rate=st.floats(0, 1), c=st.floats(0, 1))
def test_same_seed_same_streams_and_the_extremes(seed, T, M, rate, c):
    groups = [(min(M, 5), c)]
    x, group = correlated_spikes(T, M, rate, groups, rng=seed)
    y, _ = correlated_spikes(T, M, rate, groups, rng=np.random.default_rng(seed))
    np.testing.assert_array_equal(x, y)
    if rate == 0:
        assert not x.any()
    if rate == 1:
        assert x.all()
    if c == 1:          # every member copies the reference at every step: identical streams
        members = x[:, group == 0]
        assert np.all(members == members[:, :1])


@pytest.mark.parametrize("args, message", [
    ((10, 5, 1.5, []), "rate must be in [0, 1], got 1.5"),
    ((10, 5, 0.1, [(3, -0.1)]), "c of group 0 must be in [0, 1], got -0.1"),
    ((10, 5, 0.1, [(3, 0.5), (3, 0.5)]), "the groups hold 6 inputs, more than the M = 5"),
    ((10, 5, 0.1, [(0, 0.5)]), "the size of group 0 must be positive"),
    ((10, 5, 0.1, [0.5]), "group 0 must be a pair (size, c)"),
    ((0, 5, 0.1, []), "T must be positive"),
])
def test_bad_input_is_named(args, message):
    with pytest.raises(InputError) as error:
        correlated_spikes(*args, rng=0)
    assert message in str(error.value)
