"""Crossbar: exact when ideal, and each effect alone moves the product by the amount it should.

The reference numbers are written out again here from pcm.md (§2, §4), not
taken from the crossbar. Statistical checks compare within 5 standard errors
(SE) with fixed seeds, so every outcome is deterministic:

    SE of a sample mean = std / sqrt(N),   SE of a normal sample std ≈ σ / sqrt(2N)
"""

import copy
import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minisnu.pcm import Crossbar, CrossbarEffects, NandakumarDevice, PCMNoiseModel
from minisnu.pcm.crossbar import (
    adc,
    converter_step,
    dac,
    drift_compensation_factor,
    normalize_input,
)

G_MAX = 25.0
T0 = 20.0
T_READ = 250e-9
HOUR, YEAR = 3600.0, 365 * 86400.0

#: Every effect off, on a non-ideal crossbar (the mapping to µS and back still happens).
OFF = CrossbarEffects.only()
only = CrossbarEffects.only          # every effect off but those given


def sigma_prog_ref(g):
    gh = g / G_MAX
    return 0.26348 + 1.9650 * gh - 1.1731 * gh**2


def random_problem(n_in, n_out, batch, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n_in, n_out)), rng.uniform(-1, 1, (batch, n_in))


def unit_weights(n_in, n_out, seed=0):
    """W = ±1 with random signs: every used device sits at ĝ = 1 (one ν mean, one Q)."""
    rng = np.random.default_rng(seed)
    return np.where(rng.random((n_in, n_out)) < 0.5, -1.0, 1.0)


# --- the ideal crossbar is x @ W, bit for bit ------------------------------------------------

@st.composite
def ideal_problems(draw):
    n_in = draw(st.integers(1, 12))
    n_out = draw(st.integers(1, 12))
    batch = draw(st.integers(1, 6))
    w_dtype = draw(st.sampled_from([np.float64, np.float32]))
    x_dtype = draw(st.sampled_from([np.float64, np.float32]))
    floats = st.floats(-1e3, 1e3, allow_nan=False, width=32)     # width 32: exact in both dtypes
    W = draw(hnp.arrays(w_dtype, (n_in, n_out), elements=floats))
    x = draw(hnp.arrays(x_dtype, (batch, n_in), elements=floats))
    n_dev = draw(st.integers(1, 4))
    return W, x, n_dev


@settings(max_examples=80, deadline=None)
@given(ideal_problems())
def test_ideal_matvec_equals_x_at_W_exactly(problem):
    W, x, n_dev = problem
    xb = Crossbar(*W.shape, ideal=True, devices_per_side=n_dev)
    xb.program(W)
    assert np.array_equal(xb.matvec(x), x @ W)
    assert np.array_equal(xb.matvec(x[0]), x[0] @ W)          # a single vector too
    assert xb.matvec(x).dtype == (x @ W).dtype
    assert np.array_equal(xb.weights(), W)
    assert np.array_equal(xb.weights(t=YEAR), W)                # no drift when ideal


def test_ideal_conductances_are_the_weights_on_device_0():
    W, _ = random_problem(5, 4, 1)
    xb = Crossbar(5, 4, ideal=True, devices_per_side=3)
    xb.program(W, method="verify")                              # perfect devices: either method is exact
    g_plus, g_minus = xb.conductances()
    assert g_plus.shape == g_minus.shape == (3, 5, 4)
    assert np.array_equal(g_plus[0], np.maximum(W, 0)) and np.array_equal(g_minus[0], np.maximum(-W, 0))
    assert not g_plus[1:].any() and not g_minus[1:].any()
    assert xb.scale == 1.0 and xb.pulses is None


def test_ideal_ignores_the_effect_options():
    W, x = random_problem(6, 3, 5)
    xb = Crossbar(6, 3, rng=4, ideal=True, effects=CrossbarEffects(dac_bits=3, adc_bits=4, out_noise=0.5))
    xb.program(W)
    assert np.array_equal(xb.matvec(x, t=YEAR), x @ W)
    assert xb.effects == OFF and xb.effects.dac_bits is None and xb.effects.out_noise == 0.0


def test_all_effects_off_is_x_at_W_up_to_rounding():
    W, x = random_problem(20, 7, 9)
    xb = Crossbar(20, 7, devices_per_side=2, effects=OFF)
    xb.program(W)
    np.testing.assert_allclose(xb.matvec(x, t=YEAR), x @ W, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(xb.weights(t=YEAR), W, rtol=1e-12, atol=1e-14)


# --- each effect alone -----------------------------------------------------------------------

def test_dac_function_on_and_between_the_levels():
    step = converter_step(7, 1.0)
    assert step == pytest.approx(2 / 126)
    levels = np.arange(-63, 64) * step
    np.testing.assert_allclose(dac(levels, 7), levels, atol=1e-15)
    x = np.linspace(-1, 1, 10_001)
    err = np.abs(dac(x, 7) - x)
    assert err.max() <= step / 2 + 1e-15 and err.max() > 0.49 * step
    assert np.abs(dac(np.array([1.0, -1.0]), 7)).max() <= 1.0


def test_dac_alone_error_of_x_is_at_most_half_a_step():
    n = 16
    rng = np.random.default_rng(3)
    x = rng.standard_normal((500, n)) * rng.uniform(0.01, 100, (500, 1))    # rows of any size
    xb = Crossbar(n, n, effects=only(dac_bits=7))
    xb.program(np.eye(n))                                                     # y = x, quantized
    y = xb.matvec(x)
    half_step = np.max(np.abs(x), axis=1, keepdims=True) * converter_step(7, 1.0) / 2
    err = np.abs(y - x)
    assert (err <= half_step * (1 + 1e-9)).all()
    assert (err / half_step).max() > 0.9                                      # and the effect is there


def test_adc_alone_error_is_at_most_half_a_step_and_clips_at_the_bound():
    W, x = random_problem(8, 5, 400, seed=2)                                 # |ỹ| <= 8 < 12: no clip
    xb = Crossbar(8, 5, effects=only(adc_bits=9, out_bound=12.0))
    xb.program(W)
    s = np.max(np.abs(x), axis=1, keepdims=True)
    err = np.abs(xb.matvec(x) - x @ W) / (s * np.abs(W).max())             # in normalized units
    step = converter_step(9, 12.0)
    assert step == pytest.approx(24 / 510)
    assert err.max() <= step / 2 + 1e-12 and err.max() > 0.4 * step
    # 16 full-scale inputs on full-scale weights: ỹ = 16 clips to 12
    big = Crossbar(16, 2, effects=only(adc_bits=9, out_bound=12.0))
    big.program(np.ones((16, 2)))
    np.testing.assert_allclose(big.matvec(np.full((3, 16), 2.0)), 2.0 * 12.0, rtol=1e-12)


def test_adc_function_without_bits_or_bound():
    y = np.array([-30.0, -0.013, 0.4, 30.0])
    assert np.array_equal(adc(y, None, None), y)
    assert np.array_equal(adc(y, None, 12.0), np.clip(y, -12, 12))


def test_output_noise_alone_has_the_configured_spread():
    W, x = random_problem(10, 16, 2000, seed=5)
    xb = Crossbar(10, 16, rng=1, effects=only(out_noise=0.06))
    xb.program(W)
    s = np.max(np.abs(x), axis=1, keepdims=True)
    e = ((xb.matvec(x) - x @ W) / (s * np.abs(W).max())).ravel()
    n = e.size
    assert abs(e.mean()) < 5 * 0.06 / math.sqrt(n)
    assert abs(e.std() - 0.06) < 5 * 0.06 / math.sqrt(2 * n)


def test_drift_alone_scales_by_the_drift_factor():
    W = unit_weights(24, 6)
    x = np.random.default_rng(1).uniform(-1, 1, (5, 24))
    xb = Crossbar(24, 6, effects=only(drift=True))
    xb.program(W)
    nu = 0.049                                  # μ_ν at ĝ = 1: clip(0.0244, 0.049, 0.1)
    for t in (0.0, HOUR, YEAR):
        factor = ((t + T0) / T0) ** (-nu)
        np.testing.assert_allclose(xb.matvec(x, t=t), factor * (x @ W), rtol=1e-12, atol=1e-12)
    assert ((HOUR + T0) / T0) ** (-nu) == pytest.approx(0.775, abs=0.005)


def test_read_noise_and_drift_mean_over_reads_matches_the_drift_factor():
    W = unit_weights(32, 8, seed=2)
    x = np.random.default_rng(2).uniform(-1, 1, (4, 32))
    xb = Crossbar(32, 8, rng=3, effects=only(drift=True, read_noise=True))
    xb.program(W)
    reads = 400
    y = np.stack([xb.matvec(x, t=HOUR) for _ in range(reads)])             # (reads, 4, 8)
    factor = ((HOUR + T0) / T0) ** (-0.049)
    q = 0.0088                                                               # Q at ĝ = 1
    sigma = q * math.sqrt(math.log((HOUR + T0 + T_READ) / (2 * T_READ)))   # relative, per device
    std = factor * sigma * np.sqrt((x**2) @ (W**2))                          # std of one output
    mean_err = np.abs(y.mean(axis=0) - factor * (x @ W))
    assert (mean_err < 5 * std / math.sqrt(reads)).all()
    np.testing.assert_allclose(y.std(axis=0), std, rtol=5 / math.sqrt(2 * reads))


def test_cached_read_is_pcm_noise_model_read_bit_for_bit():
    W, _ = random_problem(7, 5, 1, seed=8)
    xb = Crossbar(7, 5, rng=9, devices_per_side=2)
    xb.program(W)
    g_plus, g_minus = xb.conductances()
    g_prog = np.stack([g_plus, g_minus])
    for t in (0.0, HOUR, HOUR):                                              # the second HOUR is cached
        rng = copy.deepcopy(xb.rng)
        expected = PCMNoiseModel(G_MAX).read(g_prog, xb._nu, t, rng).sum(axis=1)
        assert np.array_equal(xb.weights(t, noise=True), (expected[0] - expected[1]) / xb.scale)


@pytest.mark.parametrize("t", [0.0, HOUR, YEAR])
def test_every_effect_together_is_the_documented_pipeline(t):
    """All effects on at once (aihwkit's defaults), two devices a side, against the steps of
    pcm.md §4 written out here: one read of the drifted, noisy devices (PCMNoiseModel.read,
    the crossbar's draws first), 7-bit DAC, output noise σ 0.06 (its draws next), 9-bit ADC
    over ±12, the scalings undone, the drift compensation of the probe."""
    W, x = random_problem(9, 6, 5, seed=11)
    x[2] = 0.0                                                  # a zero row: s = 1
    xb = Crossbar(9, 6, rng=12, devices_per_side=2)
    xb.program(W)
    rng = copy.deepcopy(xb.rng)
    g_plus, g_minus = xb.conductances()
    g = PCMNoiseModel(G_MAX).read(np.stack([g_plus, g_minus]), xb._nu, t, rng).sum(axis=1)
    w_now = (g[0] - g[1]) / xb.g_ref                            # W̃(t), normalized units
    s = np.abs(x).max(axis=1, keepdims=True)
    s[s == 0] = 1.0
    step_in, step_out = 2 / 126, 24 / 510
    x_in = np.clip(np.round(x / s / step_in) * step_in, -1, 1)
    y = x_in @ w_now + 0.06 * rng.standard_normal((5, 6))
    y = np.clip(np.round(y / step_out) * step_out, -12, 12) * s * np.abs(W).max()
    if t > 0:
        probe = xb._probe
        y *= xb._probe_reference / np.mean(np.abs(probe @ w_now))
    np.testing.assert_allclose(xb.matvec(x, t=t), y, rtol=1e-12, atol=1e-12)
    assert not np.allclose(xb.matvec(x, t=t), y)                # the draws moved on: a new read


def test_drift_compensation_restores_the_output_scale_after_a_year():
    W, x = random_problem(64, 32, 200, seed=4)
    ideal = np.mean(np.abs(x @ W))
    with_comp = Crossbar(64, 32, rng=0)                                      # every effect on
    without = Crossbar(64, 32, rng=0, effects=CrossbarEffects(drift_compensation=False))
    with_comp.program(W)
    without.program(W)
    ratio_with = np.mean(np.abs(with_comp.matvec(x, t=YEAR))) / ideal
    ratio_without = np.mean(np.abs(without.matvec(x, t=YEAR))) / ideal
    assert ratio_with == pytest.approx(1.0, abs=0.04)
    assert ratio_without < 0.7


def test_drift_compensation_factor_is_the_ratio_of_probe_outputs():
    rng = np.random.default_rng(0)
    probe, w = rng.uniform(-1, 1, (32, 6)), rng.standard_normal((6, 3))
    reference = np.mean(np.abs(probe @ w))
    assert drift_compensation_factor(probe, reference, 0.5 * w) == pytest.approx(2.0, rel=1e-12)
    assert drift_compensation_factor(probe, reference, np.zeros((6, 3))) == 1.0


def test_normalize_input_rows_and_zero_rows():
    x = np.array([[2.0, -4.0], [0.0, 0.0]])
    x_n, s = normalize_input(x)
    assert np.array_equal(s, [[4.0], [1.0]])
    assert np.array_equal(x_n, [[0.5, -1.0], [0.0, 0.0]])


# --- programming -----------------------------------------------------------------------------

def test_one_shot_programming_error_has_sigma_prog():
    rng = np.random.default_rng(6)
    W = rng.choice([-1.0, 1.0], (100, 100)) * rng.uniform(0.3, 1.0, (100, 100))
    xb = Crossbar(100, 100, rng=7)
    xb.program(W)
    g_plus, g_minus = xb.conductances()
    target = np.abs(W) * G_MAX / np.abs(W).max()
    g_used = np.where(W > 0, g_plus[0], g_minus[0])
    z = (g_used - target) / sigma_prog_ref(target)
    n = z.size
    assert abs(z.mean()) < 5 / math.sqrt(n)
    assert abs(z.std() - 1.0) < 5 / math.sqrt(2 * n)
    g_unused = np.where(W > 0, g_minus[0], g_plus[0])                        # target 0: max(0, σ·z)
    assert (g_unused >= 0).all() and np.mean(g_unused == 0) == pytest.approx(0.5, abs=0.02)


def test_program_and_verify_reaches_the_targets_and_counts_pulses():
    rng = np.random.default_rng(8)
    W = rng.uniform(-1, 1, (40, 30))
    tol = 1.0
    xb = Crossbar(40, 30, rng=9, effects=CrossbarEffects(read_noise=False))   # exact verify reads
    xb.program(W, method="verify", tol=tol, max_pulses=60)
    assert xb.g_ref == 8.0 and xb.pulses.shape == (2, 1, 40, 30)
    g = np.stack(xb.conductances())
    target = xb.g_target
    within = np.abs(g - target) <= tol
    assert within.mean() > 0.99                                             # overshoots were retried
    error = (g - target)[within & (target > 0)]
    # devices stop as soon as they enter the band from below: a small low bias, not an overshoot
    assert -tol / 2 < error.mean() < 0
    assert (xb.pulses[target <= tol - 0.1] == 0).all()                      # RESET state is close enough
    assert xb.pulses.sum() > 0
    # a finer tolerance needs more pulses
    fine = Crossbar(40, 30, rng=9, effects=CrossbarEffects(read_noise=False))
    fine.program(W, method="verify", tol=0.5, max_pulses=60)
    assert fine.pulses.sum() > xb.pulses.sum()


def test_conductances_stay_within_physical_bounds():
    W, _ = random_problem(30, 20, 1, seed=10)
    shot = Crossbar(30, 20, rng=1)
    shot.program(W)
    g = np.stack(shot.conductances())
    assert g.min() >= 0 and g.max() <= G_MAX + 5 * sigma_prog_ref(G_MAX)
    assert shot.g_target.min() >= 0 and shot.g_target.max() <= G_MAX
    assert shot.weights(t=YEAR, noise=True).shape == (30, 20)
    ver = Crossbar(30, 20, rng=1, devices_per_side=2)
    ver.program(W, method="verify")
    g = np.stack(ver.conductances())
    assert g.shape == (2, 2, 30, 20) and g.min() >= 0 and g.max() <= 12.0
    assert ver.matvec(np.ones(30), t=HOUR).shape == (20,)


def test_multi_device_split_and_selection_counter():
    W, _ = random_problem(6, 4, 1, seed=11)
    xb = Crossbar(6, 4, devices_per_side=3, effects=OFF)
    xb.program(W)
    g_plus, g_minus = xb.conductances()
    side_plus = np.maximum(W, 0) * xb.scale
    for k in range(3):
        np.testing.assert_allclose(g_plus[k], side_plus / 3, rtol=1e-15)
    np.testing.assert_allclose(g_plus.sum(0) - g_minus.sum(0), W * xb.scale, rtol=1e-12, atol=1e-12)
    assert xb.g_ref == G_MAX and np.abs(W).max() * xb.scale == pytest.approx(G_MAX)
    assert xb.selection == 0
    assert [xb.next_device() for _ in range(7)] == [0, 1, 2, 0, 1, 2, 0]
    assert xb.selection == 1
    single = Crossbar(6, 4)
    assert [single.next_device() for _ in range(3)] == [0, 0, 0]


def test_same_seed_same_crossbar():
    W, x = random_problem(12, 5, 3, seed=12)
    a, b, c = Crossbar(12, 5, rng=5), Crossbar(12, 5, rng=5), Crossbar(12, 5, rng=6)
    for xb in (a, b, c):
        xb.program(W)
    ya, yb, yc = (xb.matvec(x, t=HOUR) for xb in (a, b, c))
    assert np.array_equal(ya, yb) and not np.array_equal(ya, yc)


def test_matvec_accepts_a_single_vector_and_int_spikes():
    W, x = random_problem(9, 4, 1, seed=13)
    xb = Crossbar(9, 4, effects=OFF)
    xb.program(W)
    np.testing.assert_allclose(xb.matvec(x[0]), x[0] @ W, rtol=1e-12, atol=1e-12)
    spikes = np.array([[1, 0, 1, 1, 0, 0, 1, 0, 1]], dtype=np.uint8)
    np.testing.assert_allclose(xb.matvec(spikes), spikes @ W, rtol=1e-12, atol=1e-12)


# --- bad input -------------------------------------------------------------------------------

@pytest.fixture
def programmed():
    xb = Crossbar(4, 3, rng=0)
    xb.program(np.ones((4, 3)))
    return xb


def test_bad_weights():
    xb = Crossbar(4, 3)
    bad = np.ones((4, 3))
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="W contains 1 NaN"):
        xb.program(bad)
    with pytest.raises(ValueError, match=r"W must have shape \(n_in, n_out\)"):
        xb.program(np.ones((3, 4)))
    with pytest.raises(TypeError, match="W must be a numpy array"):
        xb.program([[1.0] * 3] * 4)
    with pytest.raises(ValueError, match="unknown method 'two_shot'"):
        xb.program(np.ones((4, 3)), method="two_shot")
    with pytest.raises(ValueError, match="tol must be finite and > 0"):
        xb.program(np.ones((4, 3)), method="verify", tol=0.0)


def test_bad_inputs(programmed):
    with pytest.raises(ValueError, match=r"x must have shape \(B, 4\) or \(4,\)"):
        programmed.matvec(np.ones((2, 5)))
    with pytest.raises(ValueError, match="x must have shape"):
        programmed.matvec(np.ones((2, 2, 4)))
    with pytest.raises(ValueError, match="x contains 1 NaN"):
        programmed.matvec(np.array([1.0, np.inf, 0.0, 0.0]))
    with pytest.raises(TypeError, match="float32 or float64"):
        programmed.matvec(np.ones(4, dtype=np.complex128))
    with pytest.raises(ValueError, match="t must be finite and >= 0"):
        programmed.matvec(np.ones(4), t=-1.0)
    with pytest.raises(ValueError, match="t must be finite and >= 0"):
        programmed.weights(t=float("nan"))


def test_use_before_program():
    xb = Crossbar(4, 3)
    with pytest.raises(RuntimeError, match=r"call program\(W\) before"):
        xb.matvec(np.ones((1, 4)))
    with pytest.raises(RuntimeError, match="holds no weights"):
        xb.conductances()


def test_bad_options():
    with pytest.raises(TypeError, match="unexpected keyword argument 'dac_bit'"):
        CrossbarEffects(dac_bit=7)
    with pytest.raises(TypeError, match="unexpected keyword argument 'dac_bits'"):
        Crossbar(4, 3, dac_bits=7)                          # the effects are one object
    with pytest.raises(ValueError, match=r"CrossbarEffects\.dac_bits must be an int >= 2"):
        CrossbarEffects(dac_bits=1)
    with pytest.raises(ValueError, match=r"CrossbarEffects\.adc_bits needs out_bound"):
        CrossbarEffects(out_bound=None)
    with pytest.raises(ValueError, match=r"g_target_max \(30\.0\) must not exceed the g_max of the "
                                         r"noise_model that method='one_shot' programs "
                                         r"\(noise_model\.g_max = 25\.0 µS\)"):
        Crossbar(4, 3, g_target_max=30.0).program(np.ones((4, 3)))
    with pytest.raises(ValueError, match="devices_per_side must be positive"):
        Crossbar(4, 3, devices_per_side=0)
    with pytest.raises(TypeError, match=r"CrossbarEffects\.drift must be True or False"):
        CrossbarEffects(drift=1)
    with pytest.raises(ValueError, match=r"must not exceed the g_max of the device that method='verify' "
                                         r"programs \(device\.g_max = 12\.0 µS\)"):
        Crossbar(4, 3, g_target_max=20.0).program(np.ones((4, 3)), method="verify")
    for name, value in (("effects", {"dac_bits": 7}), ("noise_model", NandakumarDevice()),
                        ("device", PCMNoiseModel())):
        with pytest.raises(TypeError, match=f"{name} must be a"):
            Crossbar(4, 3, **{name: value})


def test_a_refused_program_leaves_the_crossbar_unchanged(programmed):
    before = programmed.matvec(np.ones((1, 4)), t=0.0)
    with pytest.raises(ValueError, match="W contains"):
        programmed.program(np.full((4, 3), np.nan))
    assert programmed.method == "one_shot" and programmed.matvec(np.ones((1, 4))).shape == before.shape
    fresh = Crossbar(4, 3, g_target_max=20.0)
    with pytest.raises(ValueError, match=r"device\.g_max = 12\.0"):
        fresh.program(np.ones((4, 3)), method="verify")
    with pytest.raises(RuntimeError, match="holds no weights"):
        fresh.weights()


# --- the configurations: CrossbarEffects, and the g_max of each device model -----------------

def test_effects_defaults_are_aihwkits():
    # aihwkit.simulator.parameters.io.IOParameters: inp_res = 1/(2^7 − 2), out_res = 1/(2^9 − 2),
    # out_bound = 12, out_noise = 0.06; every device effect and the drift compensation on.
    assert dataclasses.asdict(CrossbarEffects()) == {
        "dac_bits": 7, "adc_bits": 9, "out_bound": 12.0, "out_noise": 0.06, "prog_noise": True,
        "read_noise": True, "drift": True, "drift_compensation": True}
    assert converter_step(7, 1.0) == pytest.approx(2 * (1 / (2**7 - 2)))
    assert converter_step(9, 12.0) == pytest.approx(24 * (1 / (2**9 - 2)))
    xb = Crossbar(4, 3)
    assert xb.effects == CrossbarEffects() and xb.noise_model == PCMNoiseModel()
    assert xb.device == NandakumarDevice()
    assert OFF == CrossbarEffects(dac_bits=None, adc_bits=None, out_bound=None, out_noise=0.0,
                                  prog_noise=False, read_noise=False, drift=False, drift_compensation=False)
    assert only(drift=True) == dataclasses.replace(OFF, drift=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        xb.effects.dac_bits = 4


@pytest.mark.parametrize("kwargs, error, match", [
    ({"adc_bits": 9.0}, ValueError, r"CrossbarEffects\.adc_bits must be an int >= 2"),
    ({"out_bound": 0.0}, ValueError, r"CrossbarEffects\.out_bound must be finite and > 0"),
    ({"out_noise": -0.1}, ValueError, r"CrossbarEffects\.out_noise must be finite and >= 0"),
    ({"out_noise": float("nan")}, ValueError, r"CrossbarEffects\.out_noise must be finite"),
    ({"prog_noise": "yes"}, TypeError, r"CrossbarEffects\.prog_noise must be True or False"),
])
def test_a_bad_effect_gives_a_one_line_error_naming_it(kwargs, error, match):
    with pytest.raises(error, match=match) as info:
        CrossbarEffects(**kwargs)
    assert "\n" not in str(info.value)


def test_verify_programs_devices_with_the_crossbars_device_g_max():
    W, _ = random_problem(30, 20, 1, seed=14)
    exact_reads = CrossbarEffects(read_noise=False)
    low = Crossbar(30, 20, rng=2, device=NandakumarDevice(g_max=5.0), effects=exact_reads)
    low.program(W, method="verify", max_pulses=100)
    g = np.stack(low.conductances())
    assert low.g_ref == 5.0                                 # the default target: min(device g_max, 8 µS)
    assert g.max() == 5.0                                   # the devices saturate at their own g_max
    # A higher ceiling than the published 12 µS is honoured too: targets up to 14 µS are accepted and
    # reached (devices saturating at 12 µS could not).
    high = Crossbar(30, 20, rng=2, device=NandakumarDevice(g_max=20.0), g_target_max=14.0,
                    effects=exact_reads)
    high.program(W, method="verify", max_pulses=200)
    g = np.stack(high.conductances())
    assert high.g_ref == 14.0 and 12.0 < g.max() <= 20.0
    within = np.abs(g - high.g_target) <= 1.0
    assert within[high.g_target > 12.0].mean() > 0.5
    with pytest.raises(ValueError, match=r"device\.g_max = 5\.0"):
        Crossbar(4, 3, device=NandakumarDevice(g_max=5.0), g_target_max=6.0).program(np.ones((4, 3)),
                                                                                     "verify")


def test_one_shot_uses_the_noise_models_g_max():
    W, _ = random_problem(10, 8, 1, seed=15)
    model = PCMNoiseModel(g_max=12.5)
    xb = Crossbar(10, 8, rng=3, noise_model=model, effects=OFF)
    xb.program(W)
    assert xb.g_ref == 12.5 and xb.g_target.max() == pytest.approx(12.5)
    xb.program(W, method="verify")                         # the same crossbar: verify uses its device
    assert xb.g_ref == 8.0 and np.stack(xb.conductances()).max() <= 12.0
