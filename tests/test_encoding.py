"""Spike encodings: rates, shapes, seeds, latency formula and ordering, errors."""

from fractions import Fraction

import numpy as np
import pytest

from minisnu import encoding


def test_rate_matches_gain_times_intensity():
    x = np.linspace(0, 1, 11)[None, :].repeat(4, axis=0)  # (B=4, 11 intensities)
    steps, gain = 2000, 0.3
    spikes = encoding.rate(x, steps, gain, rng=0)
    observed = spikes.mean(axis=(0, 1))  # 8000 Bernoulli draws per intensity
    p = gain * x[0]
    tolerance = 5 * np.sqrt(p * (1 - p) / (steps * 4)) + 1e-12  # 5 standard errors
    np.testing.assert_array_less(np.abs(observed - p), tolerance + 1e-9)
    assert observed[0] == 0  # intensity 0 never fires


def test_rate_full_gain_at_full_intensity_always_fires():
    assert encoding.rate(np.ones((2, 3)), 7, 1.0, rng=1).min() == 1


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 28, 28)])
@pytest.mark.parametrize("encode", ["rate", "regular", "latency"])
def test_shape_and_dtype(shape, encode):
    x = np.random.default_rng(0).random(shape)
    kwargs = {"rng": 0} if encode == "rate" else {}
    out = getattr(encoding, encode)(x, 9, **kwargs)
    assert out.shape == (9,) + shape and out.dtype == np.float32
    assert set(np.unique(out)) <= {0.0, 1.0}
    out64 = getattr(encoding, encode)(x, 9, dtype=np.float64, **kwargs)
    assert out64.dtype == np.float64
    np.testing.assert_array_equal(out64, out)
    assert getattr(encoding, encode)(x, 9, dtype=bool, **kwargs).dtype == np.bool_


def test_rate_is_determined_by_the_seed():
    x = np.random.default_rng(0).random((3, 10))
    a = encoding.rate(x, rng=42)
    np.testing.assert_array_equal(a, encoding.rate(x, rng=np.random.default_rng(42)))
    assert not np.array_equal(a, encoding.rate(x, rng=43))
    # one Generator advances: two calls give fresh noise
    g = np.random.default_rng(5)
    assert not np.array_equal(encoding.rate(x, rng=g), encoding.rate(x, rng=g))


def test_rate_requires_an_explicit_rng():
    with pytest.raises(TypeError):
        encoding.rate(np.zeros((1, 2)))
    with pytest.raises(TypeError, match="rng"):
        encoding.rate(np.zeros((1, 2)), rng=0.5)


def test_regular_counts_are_exact_and_evenly_spaced():
    x = np.array([[0.0, 0.1, 1 / 3, 0.5, 1.0]])
    spikes = encoding.regular(x, steps=30, gain=1.0)
    np.testing.assert_array_equal(spikes.sum(axis=0)[0], [0, 3, 10, 15, 30])
    half = spikes[:, 0, 3]
    np.testing.assert_array_equal(half, np.tile([0, 1], 15))  # every other step


@pytest.mark.parametrize("gain", ["0.3", "0.1", "0.2", "0.25", "0.5", "0.7", "0.9", "1"])
@pytest.mark.parametrize("steps", [1, 7, 20, 100])
def test_regular_spikes_at_every_intensity_level_are_exact(gain, steps):
    """Every 8-bit intensity k/255 at the paper's gain 0.3 and others: the spikes are
    ⌊(t+1)·g·k/255⌋ − ⌊t·g·k/255⌋, computed here in exact integers (g = p/q as written),
    where the floating-point product falls a hair below an integer (3·0.3·(85/255) …)."""
    g = Fraction(gain)
    k = np.arange(256)
    t = np.arange(steps + 1)[:, None]
    counts = (t * g.numerator * k) // (g.denominator * 255)       # exact ⌊t g k/255⌋
    expected = np.diff(counts, axis=0)
    spikes = encoding.regular((k / 255)[None], steps=steps, gain=float(gain))
    np.testing.assert_array_equal(spikes[:, 0], expected)
    np.testing.assert_array_equal(spikes.sum(axis=0)[0], counts[-1])   # ⌊T g x⌋ each


def test_regular_rounding_guard_is_only_a_guard():
    """16-bit intensities k/65535 come within 1/(65535·10) of an integer count, and are
    still counted down; only floating-point round-off (≈ 1e-16) may be rounded up."""
    k = np.arange(65536)
    counts = (20 * 3 * k) // (10 * 65535)                          # ⌊20 · 0.3 · k/65535⌋
    spikes = encoding.regular((k / 65535)[None], steps=20, gain=0.3)
    np.testing.assert_array_equal(spikes.sum(axis=0)[0], counts)


def test_latency_formula_and_ordering():
    steps, tau, theta = 20, 5.0, 0.2
    x = np.array([[1.0, 0.8, 0.5, 0.3, 0.21, 0.2, 0.05, 0.0]])
    spikes = encoding.latency(x, steps, tau, theta)
    assert spikes.sum(axis=0).max() == 1  # at most one spike per pixel
    fired = spikes.any(axis=0)[0]
    times = spikes.argmax(axis=0)[0]
    expected = np.floor(tau * np.log(x[0, :5] / (x[0, :5] - theta)))
    np.testing.assert_array_equal(times[:5], expected)
    assert fired[:5].all() and not fired[5:].any()  # x <= threshold stays silent
    assert np.all(np.diff(times[:5]) >= 0)  # brighter fires no later
    assert times[0] < times[4]


def test_latency_drops_spikes_after_the_window():
    # tau ln(x / (x - θ)) with x = 0.2001, θ = 0.2 is 5 ln(2001) ≈ 38 >= 20 steps
    spikes = encoding.latency(np.array([[0.2001, 1.0]]), steps=20, tau=5.0, threshold=0.2)
    np.testing.assert_array_equal(spikes.sum(axis=0), [[0, 1]])


def test_latency_linear():
    x = np.array([[1.0, 0.6, 0.2, 0.1]])
    spikes = encoding.latency(x, steps=11, threshold=0.2, linear=True)
    times = spikes.argmax(axis=0)[0]
    assert times[0] == 0 and times[1] == 5  # (11-1)·(1-0.6)/(1-0.2) = 5
    np.testing.assert_array_equal(spikes.sum(axis=0), [[1, 1, 0, 0]])


@pytest.mark.parametrize("encode", ["rate", "regular", "latency"])
@pytest.mark.parametrize(
    "x, match",
    [
        (np.array([[0.5, np.nan]]), "NaN"),
        (np.array([[0.5, 1.5]]), r"\[0, 1\]"),
        (np.array([[-0.1]]), r"\[0, 1\]"),
        (np.array([[0, 255]], dtype=np.uint8), "255"),
        (np.array(0.5), "batch axis"),
    ],
)
def test_bad_intensities_are_refused(encode, x, match):
    kwargs = {"rng": 0} if encode == "rate" else {}
    with pytest.raises(ValueError, match=match):
        getattr(encoding, encode)(x, 5, **kwargs)


def test_bad_parameters_are_refused():
    x = np.full((2, 2), 0.5)
    with pytest.raises(ValueError, match="steps"):
        encoding.rate(x, 0, rng=0)
    with pytest.raises(TypeError, match="steps"):
        encoding.rate(x, 2.5, rng=0)
    with pytest.raises(ValueError, match="gain"):
        encoding.rate(x, 5, 1.5, rng=0)
    with pytest.raises(ValueError, match="gain"):
        encoding.regular(x, 5, 0.0)
    with pytest.raises(ValueError, match="gain"):
        encoding.rate(x, 5, np.nan, rng=0)
    with pytest.raises(ValueError, match="threshold"):
        encoding.latency(x, 5, threshold=1.0)
    with pytest.raises(ValueError, match="tau"):
        encoding.latency(x, 5, tau=0)
    with pytest.raises(TypeError, match="dtype"):
        encoding.rate(x, 5, rng=0, dtype=np.int32)
    with pytest.raises(TypeError, match="dtype"):
        encoding.latency(np.array([["a"]]), 5)
