"""STDP of the PCM synapses: potentiation in the window, selective depression outside it, pulses counted."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minisnu.core.errors import InputError, InputTypeError
from minisnu.memristive import STDPConfig
from minisnu.memristive.devices import NormalStream
from minisnu.memristive.network import NEVER
from minisnu.memristive.stdp import potentiation_pulses, stdp_reference, stdp_update
from minisnu.pcm.device import DEFAULT_DEVICE, set_pulse_step
from minisnu.pcm.fast_normal import TABLES

PULSE, RESET = DEFAULT_DEVICE.pulse_constants(), DEFAULT_DEVICE.reset_constants()


def test_potentiation_window_tables():
    since = np.array([0, 1, 2, 3, 4, 10, -NEVER])
    np.testing.assert_array_equal(potentiation_pulses(since, STDPConfig()), [2, 1, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(potentiation_pulses(since, STDPConfig(window=4, pulses_max=2)),
                                  [2, 2, 1, 1, 0, 0, 0])
    np.testing.assert_array_equal(potentiation_pulses(since, STDPConfig(window=3, pulses_max=3)),
                                  [3, 2, 1, 0, 0, 0, 0])


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 10), st.integers(1, 6))
def test_more_pulses_the_closer_at_least_one_inside_none_outside(window, pulses_max):
    n = potentiation_pulses(np.arange(3 * window), STDPConfig(window=window, pulses_max=pulses_max))
    assert n[0] == pulses_max
    assert np.all(np.diff(n) <= 0)                                      # never more for an earlier spike
    assert np.all(n[:window] >= 1) and np.all(n[window:] == 0)


def hand_built(t=100):
    """Eight synapses with chosen last input spikes, conductances and counts of misses.

    0, 1, 2: the input spiked Δ = 0, 1, 2 steps before the output spike (window 3): 2, 2, 1 pulses
    3, 4: outside the window (Δ = 3, never spiked), first miss: no depression yet
    5: high G, already one miss: the second miss in a row RESETs it
    6: many misses but below the depression level: left alone
    7: in the window after many misses: potentiated, its count starts again
    """
    config = STDPConfig(window=3, pulses_max=2, depression_level=1.0, depression_misses=2)
    last = np.array([t, t - 1, t - 2, t - 3, NEVER, t - 50, t - 80, t])
    g = np.array([2.0, 3.0, 4.0, 5.0, 6.0, 9.0, 0.5, 7.0])
    p = np.full(8, 0.3)
    missed = np.array([0, 0, 0, 0, 0, 1, 5, 7])
    return config, last, g, p, missed


@pytest.mark.parametrize("devices", ["pcm", "ideal"])
def test_hand_built_timings(devices):
    t = 100
    config, last, g, p, missed = hand_built(t)
    g0 = g.copy()
    n, depressed = stdp_reference(g, p, missed, t - last, config, NormalStream(0, devices == "ideal"))
    np.testing.assert_array_equal(n, [2, 2, 1, 0, 0, 0, 0, 2])
    np.testing.assert_array_equal(depressed, [5])
    np.testing.assert_array_equal(missed, [0, 0, 0, 1, 1, 0, 6, 0])
    np.testing.assert_array_equal(g[[3, 4, 6]], g0[[3, 4, 6]])        # no pulse, no change
    assert g[5] < 0.2 and p[5] == 1.0                                   # RESET: amorphous, fresh memory
    if devices == "ideal":                                              # exact: the mean increments
        for i in (0, 1, 2, 7):
            gi, pi = g0[i], 0.3
            for _ in range(n[i]):
                gi, pi = set_pulse_step(gi, pi, 0.0, PULSE)
            assert (g[i], p[i]) == (gi, pi)
        assert g[5] == DEFAULT_DEVICE.g_reset


@pytest.mark.parametrize("devices", ["pcm", "ideal"])
def test_kernel_update_equals_reference(devices):
    t, ideal = 100, devices == "ideal"
    config, last, g, p, missed = hand_built(t)
    g2, p2, missed2 = g.copy(), p.copy(), missed.copy()
    stream = NormalStream(np.random.default_rng(3), ideal)
    kernel_state = tuple(stream.state)               # the kernel's seed: the state before the reference draws
    n, depressed = stdp_reference(g, p, missed, t - last, config, stream)
    n_set, n_dep = np.zeros(8, np.int64), np.zeros(8, np.int64)
    stdp_update(g2, p2, missed2, last, t, n_set, n_dep, ideal, kernel_state, config.constants(), PULSE, RESET,
                TABLES)
    np.testing.assert_array_equal(g, g2)
    np.testing.assert_array_equal(p, p2)
    np.testing.assert_array_equal(missed, missed2)
    np.testing.assert_array_equal(n_set, n)
    np.testing.assert_array_equal(np.flatnonzero(n_dep), depressed)


def test_a_synapse_that_keeps_missing_is_reset_after_exactly_m_misses():
    config = STDPConfig(depression_misses=4)
    g, p, missed = np.array([8.0]), np.array([0.1]), np.zeros(1, np.int64)
    stream = NormalStream(0, ideal=True)
    for spike in range(1, 5):
        _, depressed = stdp_reference(g, p, missed, np.array([1000]), config, stream)
        assert (depressed.size == 1) == (spike == 4)
    assert g[0] == DEFAULT_DEVICE.g_reset and missed[0] == 0


@pytest.mark.parametrize("field, value, error", [
    ("window", 0, InputError), ("window", 1.5, InputTypeError), ("pulses_max", 0, InputError),
    ("depression_level", -1.0, InputError), ("depression_misses", 0, InputError),
    ("device", None, InputTypeError)])
def test_bad_config_names_the_field(field, value, error):
    with pytest.raises(error, match=f"STDPConfig.{field}") as info:
        STDPConfig(**{field: value})
    assert "\n" not in str(info.value)
