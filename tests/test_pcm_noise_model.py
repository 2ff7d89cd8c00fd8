"""PCMNoiseModel: its samples have the statistics of the aihwkit formulas they come from.

The reference formulas are written out again here (pcm.md §2), not taken from
the model, so a wrong constant in the model shows up as a failed test. Sample
statistics are compared within 5 standard errors (SE); every test uses a fixed
seed, so the outcome is deterministic.

    SE of a sample mean  = std / sqrt(N)
    SE of a sample std s ≈ sqrt((m4 − s⁴) / (4·N·s²))   (m4: 4th central moment;
                          = σ / sqrt(2N) for a normal, where m4 = 3σ⁴)

Two max(0, ·) / |·| operations bend the normals, and the tests use the exact
moments of the bent distributions instead of picking only safe levels:

    censored normal  Y = max(0, X), X ~ N(m, s²), a = m/s:
        E[Y] = m·Φ(a) + s·φ(a),   E[Y²] = (m² + s²)·Φ(a) + m·s·φ(a)
    folded normal    Y = |X|:
        E[Y] = s·sqrt(2/π)·exp(−a²/2) + m·(1 − 2·Φ(−a)),   E[Y²] = m² + s²
"""

import dataclasses
import math

import numpy as np
import pytest

from minisnu.pcm import PCMNoiseModel

G_MAX = 25.0
T0 = 20.0
T_READ = 250e-9
N = 100_000
HOUR, DAY, YEAR = 3600.0, 86400.0, 365 * 86400.0


# ---------------------------------------------------------------- reference formulas
def sigma_prog_ref(g):
    gh = g / G_MAX
    return (0.26348 + 1.9650 * gh - 1.1731 * gh**2) * G_MAX / 25


def mu_nu_ref(g):
    return min(max(-0.0155 * math.log(g / G_MAX) + 0.0244, 0.049), 0.1)


def sigma_nu_ref(g):
    return min(max(-0.0125 * math.log(g / G_MAX) - 0.0059, 0.008), 0.045)


def read_sigma_ref(g_prog, t):
    """Relative 1/f std; Q from the programmed conductance, time counted from t = −t0 (aihwkit)."""
    q = min(0.0088 / max((g_prog / G_MAX) ** 0.65, 1e-3), 0.2)
    return q * math.sqrt(math.log((t + T0 + T_READ) / (2 * T_READ)))


def _pdf(x):
    return math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def _cdf(x):
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def censored_normal_moments(m, s):
    """Mean and std of max(0, X), X ~ N(m, s²)."""
    a = m / s
    mean = m * _cdf(a) + s * _pdf(a)
    second = (m * m + s * s) * _cdf(a) + m * s * _pdf(a)
    return mean, math.sqrt(second - mean**2)


def folded_normal_moments(m, s):
    """Mean and std of |X|, X ~ N(m, s²)."""
    a = m / s
    mean = s * math.sqrt(2 / math.pi) * math.exp(-0.5 * a * a) + m * (1 - 2 * _cdf(-a))
    return mean, math.sqrt(m * m + s * s - mean**2)


def assert_moments(x, mean, std):
    """Sample mean and std of x equal ``mean`` and ``std`` within 5 SE."""
    n = x.size
    dev = x - x.mean()
    var = dev.var()
    se_mean = std / math.sqrt(n)
    se_std = math.sqrt((np.mean(dev**4) - var**2) / (4 * n * var))
    assert abs(x.mean() - mean) < 5 * se_mean, (x.mean(), mean, se_mean)
    assert abs(x.std() - std) < 5 * se_std, (x.std(), std, se_std)


@pytest.fixture
def model():
    return PCMNoiseModel(g_max=G_MAX)


# ---------------------------------------------------------------- the statistics
def test_defaults_are_aihwkits_published_constants():
    # aihwkit.inference.noise.pcm.PCMLikeNoiseModel: prog_coeff, g_max, t_0, t_read and the
    # reference g_max of the default coefficients.
    m = PCMNoiseModel()
    assert dataclasses.asdict(m) == {"g_max": 25.0, "t0": 20.0, "t_read": 250e-9,
                                     "prog_coeff": (0.26348, 1.9650, -1.1731), "prog_coeff_g_max": 25.0}
    assert PCMNoiseModel(12.5) == PCMNoiseModel(g_max=12.5)          # g_max by position
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.g_max = 12.0


def test_the_programming_polynomial_is_a_field():
    custom = PCMNoiseModel(prog_coeff=(1.0, 0.0, 0.0), prog_coeff_g_max=10.0)
    np.testing.assert_array_equal(custom.programming_std([0.0, 12.5, 25.0]), 2.5)     # 1 µS · 25/10
    assert custom.prog_coeff == (1.0, 0.0, 0.0) and type(custom.prog_coeff[0]) is float


def test_statistics_match_the_formulas(model):
    g = np.linspace(0.01, G_MAX, 301)
    np.testing.assert_allclose(model.programming_std(g), [sigma_prog_ref(x) for x in g], rtol=1e-12)
    np.testing.assert_allclose(model.drift_mean(g), [mu_nu_ref(x) for x in g], rtol=1e-12)
    np.testing.assert_allclose(model.drift_std(g), [sigma_nu_ref(x) for x in g], rtol=1e-12)
    for t in (0.0, HOUR, YEAR):
        np.testing.assert_allclose(
            model.read_noise_std(g, t), [read_sigma_ref(x, t) for x in g], rtol=1e-12
        )


def test_statistics_at_the_ends_of_the_range(model):
    # σ_prog(g_max) = 0.26348 + 1.9650 − 1.1731; σ_prog(0) = 0.26348
    np.testing.assert_allclose(model.programming_std([0.0, G_MAX]), [0.26348, 1.05538], rtol=1e-12)
    # ĝ = 1: ln ĝ = 0, both clipped at their floors; g = 0: ĝ floored, both at their ceilings
    np.testing.assert_allclose(model.drift_mean([G_MAX, 0.0]), [0.049, 0.1])
    np.testing.assert_allclose(model.drift_std([G_MAX, 0.0]), [0.008, 0.045])
    # Q(ĝ = 1) = 0.0088; Q(0) capped at 0.2
    np.testing.assert_allclose(model.read_noise_q([G_MAX, 0.0]), [0.0088, 0.2])
    # programming noise scales with g_max: the same ĝ gives σ_prog · g_max/25
    half = PCMNoiseModel(g_max=12.5)
    np.testing.assert_allclose(half.programming_std(6.25), 0.5 * model.programming_std(12.5))


# ---------------------------------------------------------------- programming noise
@pytest.mark.parametrize("g_target", [0.5, 1.0, 5.0, 10.0, 20.0, 25.0])
def test_programming_noise_statistics(model, g_target):
    g_prog, _ = model.program(np.full(N, g_target), np.random.default_rng(1))
    # g_prog = max(0, g_T + σ_prog·z): a normal censored at 0 (matters only at 0.5 and 1 µS)
    mean, std = censored_normal_moments(g_target, sigma_prog_ref(g_target))
    assert_moments(g_prog - g_target, mean - g_target, std)
    assert g_prog.min() >= 0.0
    if g_target >= 5.0:  # clipping below 1e−9: the std is σ_prog itself
        assert std == pytest.approx(sigma_prog_ref(g_target), rel=1e-9)


# ---------------------------------------------------------------- drift
@pytest.mark.parametrize("g_target", [0.1, 1.0, 5.0, 10.0, 20.0])
def test_drift_exponent_statistics(model, g_target):
    _, nu = model.program(np.full(N, g_target), np.random.default_rng(2))
    assert nu.min() >= 0.0
    # ν = |μ_ν + σ_ν·z|: a folded normal (the fold matters at 0.1 and 1 µS, where μ_ν/σ_ν ≈ 2)
    mean, std = folded_normal_moments(mu_nu_ref(g_target), sigma_nu_ref(g_target))
    assert_moments(nu, mean, std)


def test_fitted_drift_exponent_equals_nu_per_device(model):
    rng = np.random.default_rng(3)
    g_prog, nu = model.program(rng.uniform(2.0, G_MAX, size=500), rng)
    times = np.array([0.0, 1.0, 60.0, HOUR, DAY, 30 * DAY, YEAR])
    # log g(t) = log g_prog − ν · log((t + t0)/t0): a straight line of slope −ν
    x = np.log((times + T0) / T0)
    y = np.log([model.read(g_prog, nu, t, noise=False) for t in times])  # (times, devices)
    slope = ((x - x.mean()) @ (y - y.mean(axis=0))) / ((x - x.mean()) @ (x - x.mean()))
    np.testing.assert_allclose(-slope, nu, rtol=1e-9, atol=1e-12)


def test_worked_drift_values(model):
    # pcm.md: with ν = 0.05 the drift factor ((t + t0)/t0)^(−ν), t0 = 20 s, is
    # 0.77 after 1 h, 0.66 after 1 day and 0.49 after 1 year
    factors = model.drift_factor(0.05, np.array([HOUR, DAY, YEAR]))
    np.testing.assert_array_equal(np.round(factors, 2), [0.77, 0.66, 0.49])
    np.testing.assert_allclose(factors, ((np.array([HOUR, DAY, YEAR]) + T0) / T0) ** -0.05)
    g = model.read(np.array([10.0]), np.array([0.05]), HOUR, noise=False)
    np.testing.assert_allclose(g, 10.0 * factors[0])


def test_no_drift_and_no_noise_at_time_zero(model):
    g_prog, nu = model.program(np.linspace(0, G_MAX, 11), 4)
    np.testing.assert_array_equal(model.read(g_prog, nu, 0.0, noise=False), g_prog)
    # the noise-free devices of a reference run: g_prog = g_T, ν = μ_ν, nothing drawn
    g_ideal, nu_ideal = model.program(np.linspace(0, G_MAX, 11), noise=False)
    np.testing.assert_array_equal(g_ideal, np.linspace(0, G_MAX, 11))
    np.testing.assert_array_equal(nu_ideal, model.drift_mean(np.linspace(0, G_MAX, 11)))


# ---------------------------------------------------------------- 1/f read noise
@pytest.mark.parametrize("t", [0.0, HOUR, DAY, YEAR])
@pytest.mark.parametrize("g", [1.0, 5.0, 10.0, 20.0])
def test_read_noise_statistics(model, g, t):
    g_prog = np.full(N, g)
    nu = np.full(N, mu_nu_ref(g))  # real drift, so Q from g_prog and from g(t) would differ
    g_t = model.read(g_prog, nu, t, noise=False)
    g_read = model.read(g_prog, nu, t, np.random.default_rng(5))
    # g_read / g(t) = max(0, 1 + σ·z): censored at 0 (matters at 1 µS after a year, σ ≈ 0.4)
    mean, std = censored_normal_moments(1.0, read_sigma_ref(g, t))
    assert_moments(g_read / g_t - 1, mean - 1, std)


# ---------------------------------------------------------------- determinism, shapes
def test_same_seed_same_result_bit_for_bit(model):
    g_target = np.random.default_rng(0).uniform(0, G_MAX, size=(20, 30))

    def run(seed):
        rng = np.random.default_rng(seed)
        g_prog, nu = model.program(g_target, rng)
        return g_prog, nu, model.read(g_prog, nu, DAY, rng)

    for a, b in zip(run(7), run(7)):
        np.testing.assert_array_equal(a, b)
    # an int seed is the same as a Generator made from it
    np.testing.assert_array_equal(model.program(g_target, 7)[0], run(7)[0])
    assert not np.array_equal(run(7)[2], run(8)[2])


@pytest.mark.parametrize("shape", [(), (0,), (7,), (3, 4), (2, 3, 5)])
def test_shapes_are_preserved(model, shape):
    g_target = np.full(shape, 12.0)
    g_prog, nu = model.program(g_target, 0)
    outputs = [
        g_prog, nu,
        model.read(g_prog, nu, HOUR, 1),
        model.read(g_prog, nu, HOUR, noise=False),
        model.drift_factor(nu, HOUR),
        model.programming_std(g_target),
        model.drift_mean(g_target),
        model.drift_std(g_target),
        model.read_noise_std(g_prog, HOUR),
    ]
    for out in outputs:
        assert out.shape == shape and out.dtype == np.float64


def test_drift_factor_broadcasts(model):
    nu = np.array([[0.0], [0.05], [0.1]])
    times = np.array([0.0, HOUR, YEAR])
    f = model.drift_factor(nu, times)
    assert f.shape == (3, 3)
    np.testing.assert_array_equal(f[0], 1.0)
    np.testing.assert_array_equal(f[:, 0], 1.0)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("g_max", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_g_max(g_max):
    with pytest.raises(ValueError, match=r"PCMNoiseModel\.g_max must be finite and > 0"):
        PCMNoiseModel(g_max=g_max)


@pytest.mark.parametrize("name", ["t0", "t_read", "prog_coeff_g_max"])
def test_bad_times_of_the_model(name):
    with pytest.raises(ValueError, match=rf"PCMNoiseModel\.{name} must be finite and > 0"):
        PCMNoiseModel(**{name: 0.0})


@pytest.mark.parametrize("kwargs, error, match", [
    ({"prog_coeff": (0.26, 1.97)}, ValueError, r"PCMNoiseModel\.prog_coeff must be three finite numbers"),
    ({"prog_coeff": (0.26, float("nan"), 1.0)}, ValueError, r"PCMNoiseModel\.prog_coeff must be"),
    ({"prog_coeff": "abc"}, ValueError, r"PCMNoiseModel\.prog_coeff must be"),
    ({"t0": "20"}, TypeError, r"PCMNoiseModel\.t0 must be a number, got str"),
    ({"g": 25.0}, TypeError, "unexpected keyword argument 'g'"),
])
def test_a_bad_field_gives_a_one_line_error_naming_it(kwargs, error, match):
    with pytest.raises(error, match=match) as info:
        PCMNoiseModel(**kwargs)
    assert "\n" not in str(info.value)


def test_targets_outside_the_range(model):
    with pytest.raises(ValueError, match=r"\[0, 25.0\].*3 value\(s\) outside, from -1.0 to 30.0"):
        model.program(np.array([-1.0, 5.0, 30.0, 25.5]), 0)
    with pytest.raises(ValueError, match=r"\[0, 25.0\]"):
        model.programming_std(26.0)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_inf_refused(model, bad):
    with pytest.raises(ValueError, match="g_target contains 1 NaN or infinite"):
        model.program(np.array([1.0, bad]), 0)
    with pytest.raises(ValueError, match="g_prog contains 1 NaN or infinite"):
        model.read(np.array([1.0, bad]), np.array([0.05, 0.05]), 1.0, 0)
    with pytest.raises(ValueError, match="nu contains 1 NaN or infinite"):
        model.read(np.array([1.0, 1.0]), np.array([0.05, bad]), 1.0, 0)


@pytest.mark.parametrize("t", [-1.0, np.nan, np.inf])
def test_bad_read_time(model, t):
    with pytest.raises(ValueError, match="t must be finite and >= 0"):
        model.read(np.ones(3), np.full(3, 0.05), t, 0)
    with pytest.raises(ValueError, match="t must be finite and >= 0"):
        model.read_noise_std(np.ones(3), t)


def test_negative_time_in_drift_factor(model):
    with pytest.raises(ValueError, match="t must be >= 0 seconds"):
        model.drift_factor(0.05, np.array([1.0, -1.0]))


def test_shape_mismatch(model):
    with pytest.raises(ValueError, match=r"same shape.*\(3,\) and \(4,\)"):
        model.read(np.ones(3), np.full(4, 0.05), 1.0, 0)


def test_negative_conductance_or_exponent(model):
    with pytest.raises(ValueError, match="g_prog must be >= 0"):
        model.read(np.array([1.0, -0.5]), np.full(2, 0.05), 1.0, 0)
    with pytest.raises(ValueError, match="nu must be >= 0"):
        model.read(np.ones(2), np.array([0.05, -0.01]), 1.0, 0)


def test_bad_rng(model):
    with pytest.raises(TypeError, match=r"rng must be an int seed or a numpy\.random\.Generator"):
        model.program(np.ones(3), rng=np.random.RandomState(0))
    with pytest.raises(TypeError, match="needs rng"):
        model.program(np.ones(3))
    with pytest.raises(TypeError, match="needs rng"):
        model.read(np.ones(3), np.full(3, 0.05), 1.0)


def test_non_numeric_input(model):
    with pytest.raises(TypeError, match="g_target must hold real numbers"):
        model.program(np.array(["a", "b"]), 0)
    with pytest.raises(TypeError, match="t must be a number of seconds"):
        model.read(np.ones(3), np.full(3, 0.05), "1h", 0)
