"""The fast normal numbers: exactly N(0, 1), seeded by the caller's Generator, repeatable."""

import math

import numpy as np
import pytest
from numba import njit

from minisnu.pcm.fast_normal import (
    TABLES,
    R,
    V,
    draw,
    seed,
    standard_normal,
    ziggurat_tables,
)

N = 2_000_000


@pytest.fixture(scope="module")
def sample():
    return standard_normal(np.random.default_rng(0), N)


def test_moments(sample):
    se = 1 / math.sqrt(N)
    assert abs(sample.mean()) < 5 * se                       # mean 0
    assert abs(sample.var() - 1) < 5 * math.sqrt(2) * se     # var 1 (sd of the sample variance: √(2/N))
    assert abs(np.mean(sample**3)) < 5 * math.sqrt(15) * se  # skew 0 (sd of m3: √(15/N))
    assert abs(np.mean(sample**4) - 3) < 5 * math.sqrt(96) * se   # kurtosis 3 (sd of m4: √(96/N))


@pytest.mark.parametrize("x", [0.0, 0.5, 1.0, 2.0, 3.0, R, 4.0, 4.5])
def test_tail_probabilities(sample, x):
    """P(|z| > x) for x around the strips and beyond R, where the tail algorithm takes over."""
    p = math.erfc(x / math.sqrt(2))
    observed = np.mean(np.abs(sample) > x)
    assert abs(observed - p) <= 5 * math.sqrt(p * (1 - p) / N) + 1 / N


def test_histogram_matches_the_density(sample):
    """Counts in 60 bins over [−6, 6] against the normal probabilities: a χ² test."""
    edges = np.linspace(-6, 6, 61)
    counts, _ = np.histogram(sample, edges)
    cdf = 0.5 * (1 + np.array([math.erf(e / math.sqrt(2)) for e in edges]))
    expected = N * np.diff(cdf)
    keep = expected > 20
    chi2 = np.sum((counts[keep] - expected[keep]) ** 2 / expected[keep])
    dof = keep.sum() - 1
    assert chi2 < dof + 6 * math.sqrt(2 * dof)              # far beyond the 99.9th percentile


def test_no_correlation_between_neighbours(sample):
    r = np.corrcoef(sample[:-1], sample[1:])[0, 1]
    assert abs(r) < 5 / math.sqrt(N)


def test_the_strips_have_equal_areas():
    k, w, f = ziggurat_tables()
    x = w * 2.0**52                                           # right edges (x[0]: the base's width)
    areas = x[2:] * (f[1:-1] - f[2:])                         # strip i: x_i·(f(x_{i−1}) − f(x_i))
    np.testing.assert_allclose(areas, V, rtol=1e-9)
    np.testing.assert_allclose(x[1] * (1 - f[1]), V, rtol=1e-6)   # the top strip, up to x_0 = 0
    assert x[255] == R and k[1] == 0


def test_same_seed_same_numbers_and_four_words_per_call():
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    np.testing.assert_array_equal(standard_normal(a, 1000), standard_normal(b, (10, 100)).ravel())
    standard_normal(a, 7)
    standard_normal(b, 70_000)                                # any size takes four words
    assert a.integers(1 << 62) == b.integers(1 << 62)
    assert not np.array_equal(standard_normal(a, 10), standard_normal(a, 10))


def test_out_argument_and_its_errors():
    out = np.empty((3, 4))
    assert standard_normal(1, None, out=out) is out
    np.testing.assert_array_equal(out, standard_normal(1, (3, 4)))
    with pytest.raises(ValueError, match="float64"):
        standard_normal(1, None, out=np.empty(3, np.float32))
    with pytest.raises(TypeError, match="rng"):
        standard_normal("seed", 3)


@njit
def _draws(state_array, n, tables):
    state = (state_array[0], state_array[1], state_array[2], state_array[3])
    out = np.empty(n)
    for i in range(n):
        out[i], state = draw(state, tables)
    return out


def test_the_sequential_draw_in_kernels_is_normal_too():
    z = _draws(seed(np.random.default_rng(3)), 400_000, TABLES)
    n = z.size
    assert abs(z.mean()) < 5 / math.sqrt(n) and abs(z.var() - 1) < 5 * math.sqrt(2 / n)
    p = math.erfc(3 / math.sqrt(2))
    assert abs(np.mean(np.abs(z) > 3) - p) < 5 * math.sqrt(p / n)
