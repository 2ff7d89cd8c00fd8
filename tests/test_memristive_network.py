"""The all-memristive layer: kernel against reference, level tuning, lateral inhibition, learning, errors."""

import numpy as np
import pytest

from minisnu.core.errors import InputError, InputTypeError
from minisnu.data.correlated import correlated_spikes
from minisnu.memristive import MemristiveNetwork, PCMNeuronConfig, Record, STDPConfig, level_bands

RECORD_FIELDS = ("fired", "conductance", "trace_times", "weights", "weight_times", "final_weights",
                 "neuron_set_pulses", "neuron_resets", "lateral_resets", "synapse_set_pulses",
                 "synapse_depressions")


def auc(scores, positive):
    """Area under the ROC curve of ``scores`` separating ``positive`` from the rest (ties count half)."""
    pos, neg = scores[positive], scores[~positive]
    return ((pos[:, None] > neg).sum() + 0.5 * (pos[:, None] == neg).sum()) / (pos.size * neg.size)


def assert_same_records(a: Record, b: Record):
    for name in RECORD_FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    for sa, sb in zip(a.spike_times, b.spike_times):
        np.testing.assert_array_equal(sa, sb)


# A small world with plenty of spikes, resets and depressions in a few thousand steps.
M, T, RATE = 200, 2500, 0.03
GROUPS = [(20, 0.3), (40, 0.6), (60, 0.9)]
SMALL = dict(neuron=PCMNeuronConfig(theta_int=20.0), stdp=STDPConfig(depression_misses=3))


@pytest.fixture(scope="module")
def spikes():
    return correlated_spikes(T, M, RATE, GROUPS, rng=11)


@pytest.mark.parametrize("inhibition, devices, N", [
    ("level", "pcm", 1), ("level", "ideal", 1), ("level", "pcm", 3), ("level", "ideal", 3),
    ("wta", "pcm", 3), ("wta", "ideal", 3)])
def test_kernel_equals_reference_bit_for_bit(spikes, inhibition, devices, N):
    x, _ = spikes
    levels = level_bands(M, RATE, GROUPS) if inhibition == "level" and N == 3 else None
    nets = [MemristiveNetwork(M, N, inhibition=inhibition, levels=levels, devices=devices, rng=5, **SMALL)
            for _ in range(2)]
    for part in (x[:1500], x[1500:]):                          # the state carries over between runs
        a = nets[0].run(part, record_every=100, trace_every=3, trace_steps=1000)
        b = nets[1].run(part, record_every=100, trace_every=3, trace_steps=1000, engine="reference")
        assert_same_records(a, b)
        assert a.synapse_depressions.sum() > 0 and a.synapse_set_pulses.sum() > 0
        assert sum(len(s) for s in a.spike_times) > 10
        if inhibition == "wta":
            assert a.lateral_resets.sum() > 0
    np.testing.assert_array_equal(nets[0].membranes, nets[1].membranes)


def test_the_record_adds_up(spikes):
    x, _ = spikes
    net = MemristiveNetwork(M, 3, inhibition="wta", rng=2, **SMALL)
    g0 = net.weights
    rec = net.run(x, record_every=500)
    assert rec.weights.shape == (6, 3, M) and list(rec.weight_times) == [0, 500, 1000, 1500, 2000, 2500]
    np.testing.assert_array_equal(rec.weights[0], g0)
    np.testing.assert_array_equal(rec.weights[-1], rec.final_weights)
    np.testing.assert_array_equal(rec.final_weights, net.weights)
    assert rec.conductance.shape == (T, 3)
    for n, times in enumerate(rec.spike_times):
        np.testing.assert_array_equal(times, np.flatnonzero(rec.fired == n))
        assert rec.neuron_resets[n] == len(times) + rec.lateral_resets[n]
    untouched = (rec.synapse_set_pulses == 0) & (rec.synapse_depressions == 0)
    np.testing.assert_array_equal(rec.final_weights[untouched], g0[untouched])   # only pulses change a weight
    assert rec.neuron_pulses == rec.neuron_set_pulses.sum() + rec.neuron_resets.sum()


def test_ideal_network_split_runs_equal_one_run(spikes):
    x, _ = spikes                                              # the ideal twin draws nothing
    whole = MemristiveNetwork(M, 3, inhibition="wta", devices="ideal", rng=1, **SMALL)
    split = MemristiveNetwork(M, 3, inhibition="wta", devices="ideal", rng=1, **SMALL)
    rec = whole.run(x)
    first, second = split.run(x[:1000]), split.run(x[1000:])
    np.testing.assert_array_equal(whole.weights, split.weights)
    np.testing.assert_array_equal(rec.fired, np.concatenate([first.fired, second.fired]))


def test_wta_with_one_neuron_is_level_with_one_band(spikes):
    x, _ = spikes
    a = MemristiveNetwork(M, inhibition="wta", rng=4, **SMALL).run(x)
    b = MemristiveNetwork(M, inhibition="level", rng=4, **SMALL).run(x)
    assert_same_records(a, b)


def level_steps(activity, M=60):
    """Steps with exactly activity[t] inputs spiking (the first ones), so A(t) = activity[t]."""
    return (np.arange(M) < np.asarray(activity)[:, None]).astype(np.uint8)


@pytest.mark.parametrize("devices", ["pcm", "ideal"])
def test_each_level_tuned_neuron_answers_in_its_own_band(devices):
    levels = (10, 20, 30)                                      # bands [10, 20), [20, 30), [30, ∞)
    config = PCMNeuronConfig(theta_int=1.0, pulses_max=1)     # any input above 1 µS: one pulse
    for activity, neuron in [(5, None), (9, None), (10, 0), (19, 0), (20, 1), (29, 1), (30, 2), (55, 2)]:
        net = MemristiveNetwork(60, 3, levels=levels, neuron=config, devices=devices, rng=0)
        rec = net.run(level_steps(np.full(40, activity)))
        expected = np.zeros(3, np.int64)
        if neuron is not None:
            expected[neuron] = 40                              # one pulse per step, only in its band
        np.testing.assert_array_equal(rec.neuron_set_pulses, expected)
        fired = {n for n, s in enumerate(rec.spike_times) if len(s)}
        assert fired == (set() if neuron is None else {neuron})
        assert rec.lateral_resets.sum() == 0                   # the silenced neurons need no RESET


def test_lateral_inhibition_every_neuron_integrates_the_first_to_fire_resets_the_others():
    config = PCMNeuronConfig(theta_int=1.0, pulses_max=1)
    net = MemristiveNetwork(60, 3, inhibition="wta", neuron=config, devices="pcm", rng=0)
    rec = net.run(level_steps(np.full(200, 30)))
    assert np.all(rec.neuron_set_pulses > 0)
    n_spikes = np.array([len(s) for s in rec.spike_times])
    assert n_spikes.sum() > 10
    assert rec.lateral_resets.sum() > 0                        # the losers were reset
    assert np.all(rec.fired[rec.fired >= 0] < 3)


def test_one_neuron_finds_the_correlated_group():
    x, group = correlated_spikes(20000, 400, 0.01, [(40, 0.5)], rng=0)
    rec = MemristiveNetwork(400, rng=0, neuron=PCMNeuronConfig(theta_int=40.0)).run(x)
    correlated = group == 0
    w = rec.final_weights[0]
    assert auc(w, correlated) > 0.97
    assert w[correlated].mean() > 6.0 > 2.0 > w[~correlated].mean()


def test_level_bands():
    bands = level_bands(1000, 0.01, [(100, 0.5), (50, 0.5)])
    copy = np.sqrt(0.5)
    burst = [copy * s + (1 - copy) * s * 0.01 + (1000 - s) * 0.01 for s in (50, 100)]
    np.testing.assert_allclose(bands, [(10 + burst[0]) / 2, (burst[0] + burst[1]) / 2])
    with pytest.raises(InputError, match="same level"):
        level_bands(1000, 0.01, [(100, 0.5), (100, 0.5)])
    with pytest.raises(InputError, match="correlation"):
        level_bands(1000, 0.01, [(100, 1.5)])


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_neurons=3), "levels"), (dict(n_neurons=2, levels=(5, 5)), "levels"),
    (dict(n_neurons=2, levels=(5,)), "levels"), (dict(inhibition="wta", levels=(0,)), "levels"),
    (dict(inhibition="lateral"), "inhibition"), (dict(devices="memristor"), "devices"),
    (dict(init_pulses=-1), "init_pulses"), (dict(n_neurons=0), "n_neurons")])
def test_bad_options_name_themselves(kwargs, match):
    with pytest.raises(InputError, match=match) as info:
        MemristiveNetwork(10, **kwargs)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("x, error, match", [
    (np.zeros((5, 9), np.uint8), InputError, r"\(T, 10\)"), (np.full((5, 10), 2), InputError, "0 or 1"),
    (np.zeros(10), InputError, "shape"), ([[0] * 10], InputTypeError, "numpy array")])
def test_bad_input(x, error, match):
    with pytest.raises(error, match=match):
        MemristiveNetwork(10).run(x)


def test_bad_run_options():
    net = MemristiveNetwork(10)
    x = np.zeros((5, 10), bool)
    for kwargs, match in [(dict(engine="gpu"), "engine"), (dict(record_every=0), "record_every"),
                          (dict(trace_every=0), "trace_every")]:
        with pytest.raises(InputError, match=match):
            net.run(x, **kwargs)
