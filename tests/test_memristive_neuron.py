"""The phase-change neuron: integrate, fire, reset; stochastic with PCM devices, regular with ideal ones."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minisnu.core.errors import InputError, InputTypeError
from minisnu.memristive import PCMNeuronConfig, drive
from minisnu.memristive.neuron import integration_pulses
from minisnu.pcm.device import DEFAULT_DEVICE, NandakumarDevice, set_pulse_step

CONFIG = PCMNeuronConfig()


def mean_trajectory(n):
    """G after 1..n mean SET pulses from the RESET state (G = g_reset, P = 1)."""
    g, p, out = DEFAULT_DEVICE.g_reset, 1.0, []
    for _ in range(n):
        g, p = set_pulse_step(g, p, 0.0, DEFAULT_DEVICE.pulse_constants())
        out.append(g)
    return np.array(out)


@settings(max_examples=60, deadline=None)
@given(st.floats(0, 2000), st.floats(1, 300), st.integers(1, 8))
def test_integration_pulses_are_the_input_in_whole_thresholds_capped(current, theta, k_max):
    k = int(integration_pulses(current, PCMNeuronConfig(theta_int=theta, pulses_max=k_max)))
    assert k == min(int(np.floor(current / theta)), k_max)
    assert (k == 0) == (current < theta)


def test_ideal_neuron_follows_the_mean_curve_fires_at_g_fire_and_resets_exactly():
    run = drive(np.full(12, 150.0), CONFIG, rng=0, devices="ideal")      # one pulse per step
    curve = mean_trajectory(4)
    assert curve[2] < CONFIG.g_fire <= curve[3]                         # the 4th pulse fires
    np.testing.assert_array_equal(run.conductance, np.tile(curve, 3))   # exact reset: the same curve again
    np.testing.assert_array_equal(run.spike_times, [3, 7, 11])
    assert (run.set_pulses, run.resets) == (12, 3)


@pytest.mark.parametrize("devices", ["pcm", "ideal"])
def test_integrate_fire_reset(devices):
    current = np.concatenate([np.full(50, 50.0), np.full(400, 150.0), np.full(50, 50.0), np.full(200, 350.0)])
    run = drive(current, CONFIG, rng=3, devices=devices)
    g, spikes = run.conductance, run.spike_times
    assert np.all(np.diff(g[:50]) == 0)                                 # below θ_int: no pulse, G holds
    assert spikes.min() >= 50 and len(spikes) > 20
    fired = np.zeros(len(g), bool)
    fired[spikes] = True
    assert np.all(g[fired] >= CONFIG.g_fire) and np.all(g[~fired] < CONFIG.g_fire)
    after = spikes[spikes < 449] + 1                                    # one pulse after the RESET
    assert g[after].mean() < 3.0 < CONFIG.g_fire
    assert run.set_pulses == 400 + 3 * 200 and run.resets == len(spikes)
    quiet = slice(450, 500)                                             # below θ_int again: frozen
    assert np.all(np.diff(g[quiet]) == 0)
    assert np.sum((spikes >= 450) & (spikes < 500)) == 0


def test_interspike_intervals_spread_with_pcm_devices_and_not_with_ideal_ones():
    current = np.full(5000, 150.0)
    isi_pcm = np.diff(drive(current, CONFIG, rng=1, devices="pcm").spike_times)
    isi_ideal = np.diff(drive(current, CONFIG, rng=1, devices="ideal").spike_times)
    assert np.all(isi_ideal == 4)                                        # 4 mean pulses to G_fire
    assert len(np.unique(isi_pcm)) >= 5 and isi_pcm.std() > 1.0       # the devices' randomness
    assert 3.0 < isi_pcm.mean() < 7.0


@pytest.mark.parametrize("devices", ["pcm", "ideal"])
def test_kernel_equals_reference(devices):
    current = np.random.default_rng(0).uniform(0, 450, 3000)
    a = drive(current, CONFIG, rng=7, devices=devices, engine="numba")
    b = drive(current, CONFIG, rng=7, devices=devices, engine="reference")
    np.testing.assert_array_equal(a.conductance, b.conductance)
    np.testing.assert_array_equal(a.spike_times, b.spike_times)
    assert (a.set_pulses, a.resets) == (b.set_pulses, b.resets)


def test_same_seed_same_run_other_seed_other_run():
    current = np.full(500, 150.0)
    a, b, c = (drive(current, rng=s).conductance for s in (4, 4, 5))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("field, value, error", [
    ("theta_int", 0.0, InputError), ("theta_int", float("nan"), InputError), ("pulses_max", 0, InputError),
    ("pulses_max", 2.5, InputTypeError), ("g_fire", 12.0, InputError), ("g_fire", 0.05, InputError),
    ("device", "pcm", InputTypeError)])
def test_bad_config_names_the_field(field, value, error):
    with pytest.raises(error, match=f"PCMNeuronConfig.{field}") as info:
        PCMNeuronConfig(**{field: value})
    assert "\n" not in str(info.value)


def test_g_fire_is_checked_against_the_given_device():
    PCMNeuronConfig(g_fire=15.0, device=NandakumarDevice(g_max=20.0))
    with pytest.raises(InputError, match="g_fire"):
        PCMNeuronConfig(g_fire=15.0)


@pytest.mark.parametrize("kwargs, match", [
    (dict(current=np.full((3, 2), 1.0)), "current"), (dict(current=np.array([1.0, -1.0])), "current"),
    (dict(current=np.ones(3), devices="perfect"), "devices"),
    (dict(current=np.ones(3), engine="cuda"), "engine")])
def test_drive_bad_input(kwargs, match):
    with pytest.raises(InputError, match=match):
        drive(**kwargs)
