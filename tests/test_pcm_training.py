"""Training with the weights in PCM devices: bookkeeping, refresh, and learning."""

import copy
import dataclasses

import numpy as np
import pytest

import minisnu as ms
from minisnu import pcm
from minisnu.pcm.training import (
    MixedPrecision,
    PCMSynapses,
    _pulses_for,
    accumulate_reference,
    pulses_for,
)


def test_every_update_is_accounted_for():
    """Σ ΔW = ε·(pulses on G⁺ − pulses on G⁻) + χ, whatever the devices did."""
    rng = np.random.default_rng(0)
    syn = PCMSynapses(rng.uniform(-0.5, 0.5, (6, 5)), rng=1)
    for _ in range(40):
        syn.update(0.05 * rng.standard_normal((6, 5)))
        assert np.all(np.abs(syn.chi) < syn.epsilon)                 # only whole steps left
    applied = syn.epsilon * (syn.pulses[0] - syn.pulses[1])
    np.testing.assert_allclose(applied + syn.chi, syn.requested, rtol=0, atol=1e-12)
    assert syn.pulses.sum() > 0


def test_small_updates_wait_in_the_accumulator():
    syn = PCMSynapses(np.full((2, 2), 0.3), rng=0)
    g_before = syn.devices.g.copy()
    syn.update(np.full((2, 2), 0.4 * syn.epsilon))
    assert syn.pulses.sum() == 0
    np.testing.assert_array_equal(syn.devices.g, g_before)
    syn.update(np.full((2, 2), -1.7 * syn.epsilon))                  # χ = −1.3 ε: one pulse on G⁻
    np.testing.assert_array_equal(syn.pulses[1], 1)
    np.testing.assert_allclose(syn.chi, -0.3 * syn.epsilon)


def test_refresh_resets_full_pairs_and_reprograms_their_weight():
    syn = PCMSynapses(np.array([[0.5, -0.5]]), rng=0, read_noise=False)
    syn.devices.g = np.array([[[[10.0, 0.1]]], [[[9.5, 5.0]]]])    # pair 0 is full: W = 0.5 µS/β
    syn.refresh()
    np.testing.assert_array_equal(syn.refreshes, [[1, 0]])
    g = syn.devices.g[:, 0]
    assert g[0, 0, 0] < 4 and g[1, 0, 0] < 0.2                       # re-programmed on G⁺ only
    assert g[1, 0, 1] == 5.0                                         # the other pair is untouched


def test_multi_device_synapses_share_the_pulses():
    rng = np.random.default_rng(0)
    syn = PCMSynapses(rng.uniform(-0.5, 0.5, (4, 3)), rng=1, devices_per_side=3,
                      mixed_precision=MixedPrecision(refresh_us=11.9))
    assert syn.devices.shape == (2, 3, 4, 3)
    before = syn.devices.n_pulses.copy()
    for step in range(6):
        assert syn.selection == step % 3
        syn.update(np.full((4, 3), 1.5 * syn.epsilon))   # χ/ε: 1.5, 2, 1.5, ...: 1, 2, 1, 2, 1, 2 pulses
    assert syn.refreshes.sum() == 0
    per_device = (syn.devices.n_pulses - before)[0]                  # the G⁺ devices
    np.testing.assert_array_equal(per_device.sum(axis=(1, 2)), [3 * 12] * 3)   # 1+2, 2+1, 1+2 each
    applied = syn.epsilon * (syn.pulses[0] - syn.pulses[1])
    np.testing.assert_allclose(applied + syn.chi, syn.requested, atol=1e-12)


def test_the_kernel_does_the_accumulator_math():
    """χ and the pulse counts of update() are those of the NumPy accumulate_reference."""
    rng = np.random.default_rng(3)
    # G <= g_max: no refresh
    syn = PCMSynapses(rng.uniform(-0.5, 0.5, (7, 9)), rng=2, mixed_precision=MixedPrecision(refresh_us=12.0))
    chi, programmed = syn.chi.copy(), syn.devices.n_pulses.copy()
    for _ in range(5):
        dW = 0.1 * rng.standard_normal((7, 9))
        before = syn.pulses.copy()
        plus, minus, chi = accumulate_reference(chi, dW, syn.epsilon)
        syn.update(dW)
        np.testing.assert_allclose(syn.chi, chi, rtol=0, atol=1e-15)
        np.testing.assert_array_equal(syn.pulses - before, np.stack([plus, minus]))
    assert syn.pulses.sum() > 0
    assert syn.refreshes.sum() == 0
    landed = (syn.devices.n_pulses - programmed).sum(axis=1)
    np.testing.assert_array_equal(landed, syn.pulses)                  # every pulse reached a device


def test_a_pulse_that_passes_the_threshold_refreshes_the_pair_at_once():
    syn = PCMSynapses(np.array([[0.5, -0.5]]), rng=0, read_noise=False,
                      mixed_precision=MixedPrecision(refresh_us=1.0))
    # G⁺ of weight 0 and G⁻ of weight 1: ~5 µS,
    g, resets = syn.devices.g.copy(), syn.devices.n_resets.copy()
    syn.update(np.array([[3.2 * syn.epsilon, 0.0]]))   # above 1 µS, but only weight 0 gets pulses
    assert syn.refreshes.tolist() == [[1, 0]]
    np.testing.assert_array_equal((syn.devices.n_resets - resets)[:, 0, 0], [[1, 0], [1, 0]])
    np.testing.assert_array_equal(syn.devices.g[:, 0, 0, 1], g[:, 0, 0, 1])   # the other pair untouched


def test_read_is_the_devices_read_summed():
    W = np.random.default_rng(4).uniform(-0.4, 0.4, (5, 6))
    a, b = (PCMSynapses(W, rng=9, devices_per_side=2) for _ in range(2))
    g = b.devices.read(0.0)
    expected = (g[0].sum(axis=0) - g[1].sum(axis=0)) / b.beta
    np.testing.assert_allclose(a.read(), expected, rtol=1e-12, atol=1e-12)
    quiet = PCMSynapses(W, rng=9, read_noise=False)
    np.testing.assert_array_equal(quiet.read(), (quiet.devices.g[0, 0] - quiet.devices.g[1, 0]) / quiet.beta)


def test_same_seed_same_training():
    runs = []
    for _ in range(2):
        rng = np.random.default_rng(0)
        syn = PCMSynapses(rng.uniform(-0.5, 0.5, (6, 5)), rng=1)
        for _ in range(20):
            syn.update(0.3 * rng.standard_normal((6, 5)))
        runs.append((syn.devices.g.copy(), syn.read(), syn.refreshes.copy()))
    for x, y in zip(*runs):
        np.testing.assert_array_equal(x, y)
    assert runs[0][2].sum() > 0                                       # refreshes were part of it


def test_pulses_for_follows_the_published_curve():
    # P(9) = 19.683 − 12.15 + 7.29 = 14.8
    np.testing.assert_array_equal(pulses_for([0.0, 1.0, 5.0, 9.0]), [0, 1, 4, 15])
    g = np.linspace(0.0, 12.0, 97)
    np.testing.assert_array_equal([_pulses_for(x) for x in g], pulses_for(g))         # the kernels' copy


def test_in_memory_layer_plugs_into_the_optimizer():
    rng = np.random.default_rng(0)
    layer = pcm.InMemory(ms.Dense(4, 3, rng=0), rng=1)
    net = ms.Sequential(layer)
    opt = ms.optim.SGD(net, lr=0.1)
    x = rng.standard_normal((5, 2, 4)).astype(np.float32)
    net.forward(x)
    w_read = layer.params["W"].copy()
    net.backward(np.ones((5, 2, 3), np.float32))
    expected = -0.1 * layer.grads["W"]
    opt.step()
    net.forward(x)                                                   # sends the step to the devices
    np.testing.assert_allclose(layer.synapses.requested, expected, rtol=1e-6, atol=1e-7)
    assert not np.array_equal(layer.params["W"], w_read)             # a fresh (noisy) read


def test_in_memory_network_learns_close_to_its_software_twin():
    """Two classes of spike patterns; the stated margin is 0.15 (measured: both reach 100 %)."""
    rng = np.random.default_rng(0)
    rates = np.where(rng.random((2, 20)) < 0.5, 0.5, 0.05)
    labels = rng.integers(0, 2, 256)
    x = (rng.random((10, 256, 20)) < rates[labels]).astype(np.float32)

    def accuracy(in_memory):
        layers = [ms.SNU(20, 16, rng=1), ms.SNU(16, 2, rng=2)]
        if in_memory:
            layers = [pcm.InMemory(layer, rng=i) for i, layer in enumerate(layers)]
        net = ms.Sequential(*layers, ms.Readout("sum"))
        opt = ms.optim.Adam(net, lr=0.02)
        for _ in range(6):
            for start in range(0, 256, 32):
                opt.zero_grad()
                out = net.forward(x[:, start:start + 32])
                net.backward(ms.losses.softmax_cross_entropy(out, labels[start:start + 32])[1])
                opt.step()
        return ms.losses.accuracy(net.forward(x), labels)

    software, in_memory = accuracy(False), accuracy(True)
    assert software > 0.9
    assert in_memory > software - 0.15


def test_bad_input():
    with pytest.raises(TypeError, match="has no params\\['W'\\]"):
        pcm.InMemory(ms.Readout("sum"))
    with pytest.raises(ValueError, match=r"MixedPrecision\.epsilon_us must be below refresh_us, "
                                         r"got 10\.0 and 9\.0"):
        PCMSynapses(np.ones((2, 2)), mixed_precision=MixedPrecision(epsilon_us=10.0))
    with pytest.raises(TypeError, match="unexpected keyword argument 'epsilon_us'"):
        PCMSynapses(np.ones((2, 2)), epsilon_us=0.5)          # ε is the MixedPrecision's
    with pytest.raises(TypeError, match="mixed_precision must be a MixedPrecision, got dict"):
        PCMSynapses(np.ones((2, 2)), mixed_precision={"epsilon_us": 0.5})
    with pytest.raises(TypeError, match="device must be a NandakumarDevice"):
        PCMSynapses(np.ones((2, 2)), device=pcm.PCMNoiseModel())
    syn = PCMSynapses(np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"dW must have shape \(2, 2\)"):
        syn.update(np.ones((3, 2)))
    with pytest.raises(ValueError, match="NaN"):
        syn.update(np.full((2, 2), np.nan))
    with pytest.raises(ValueError, match="need 0 <= baseline_us < refresh_us"):
        PCMSynapses(np.ones((2, 2)), baseline_us=9.5)
    with pytest.raises(ValueError, match=r"need 0 <= baseline_us < refresh_us, got 4\.0 and 3\.0"):
        PCMSynapses(np.ones((2, 2)), baseline_us=4.0, mixed_precision=MixedPrecision(refresh_us=3.0))
    with pytest.raises(ValueError, match="seconds_per_pass must be >= 0"):
        pcm.InMemory(ms.Dense(2, 2), seconds_per_pass=-1.0)


# ---------------------------------------------------------------------------
# perfect devices: the in-memory wrapper changes nothing


def test_ideal_synapses_store_the_weights_exactly():
    W = np.random.default_rng(5).standard_normal((4, 7))
    syn = PCMSynapses(W, rng=0, ideal=True)
    np.testing.assert_array_equal(syn.read(), W)
    dW = 0.01 * np.random.default_rng(6).standard_normal((4, 7))
    syn.update(dW)
    np.testing.assert_array_equal(syn.read(), W + dW)
    assert syn.pulses.sum() == 0 and syn.devices.n_pulses.sum() == 0   # no device physics at all


@pytest.mark.parametrize("soft", [False, True])
def test_with_every_device_effect_off_the_in_memory_network_is_its_software_twin(soft):
    """The same forward pass, and the same training, bit for bit."""
    rng = np.random.default_rng(0)
    rolls = [(rng.random((12, 1, 9)) < 0.3).astype(np.float32) for _ in range(5)]

    def build(in_memory):
        layers = [ms.SNU(9, 6, soft=soft, rng=1), ms.Dense(6, 9, rng=2)]
        if in_memory:
            layers = [pcm.InMemory(layer, rng=i, ideal=True) for i, layer in enumerate(layers)]
        net = ms.Sequential(*layers)
        return net, ms.optim.Adam(net, lr=0.05)

    (software, opt_s), (in_memory, opt_m) = build(False), build(True)
    np.testing.assert_array_equal(in_memory.forward(rolls[0]), software.forward(rolls[0]))
    for _ in range(3):
        for roll in rolls:
            for net, opt in ((software, opt_s), (in_memory, opt_m)):
                opt.zero_grad()
                net.backward(ms.losses.bce_with_logits(net.forward(roll[:-1]), roll[1:])[1])
                opt.step()
    np.testing.assert_array_equal(in_memory.forward(rolls[0]), software.forward(rolls[0]))
    for a, b in zip(in_memory.layers, software.layers):
        np.testing.assert_array_equal(a.params["W"], b.params["W"])


# ---------------------------------------------------------------------------
# drift in the loop


def test_drifting_synapses_read_the_drifted_devices():
    W = np.random.default_rng(7).uniform(-0.4, 0.4, (5, 6))
    syn = PCMSynapses(W, rng=3, read_noise=False, drift=True)
    np.testing.assert_array_equal(syn.read(), (syn.devices.g[0, 0] - syn.devices.g[1, 0]) / syn.beta)
    syn.time = 3600.0                                            # all programmed at t = 0
    g = syn.devices.read(3600.0, noise=False)                    # G·(t/t0)^(−ν), the device model's
    np.testing.assert_allclose(syn.read(), (g[0, 0] - g[1, 0]) / syn.beta, rtol=1e-12, atol=1e-15)
    assert np.abs(syn.read()).sum() < 0.9 * np.abs(W).sum()      # (3600/38.6)^(−0.045) ≈ 0.82


def test_a_pulse_starts_from_the_drifted_conductance_and_restarts_the_drift():
    syn = PCMSynapses(np.array([[0.3, -0.3]]), rng=0, read_noise=False, drift=True)
    syn.time = 1000.0
    drifted = syn.devices.read(1000.0, noise=False)
    g_before = syn.devices.g.copy()
    syn.update(np.array([[1.5 * syn.epsilon, 0.0]]))             # one pulse on G⁺ of weight 0
    assert syn.pulses[0, 0, 0] == 1 and syn.refreshes.sum() == 0
    assert syn.t_prog[0, 0, 0, 0] == 1000.0                      # its drift starts again now
    assert syn.devices.g[0, 0, 0, 0] > drifted[0, 0, 0, 0]       # one SET step up from the drifted G
    np.testing.assert_array_equal(syn.t_prog.ravel()[1:], 0.0)   # the others keep their clock
    np.testing.assert_array_equal(syn.devices.g.ravel()[1:], g_before.ravel()[1:])
    syn.time = 1000.0 + 10.0                                     # under t0 since the pulse: no drift
    expected = syn.devices.read(1010.0, noise=False)
    expected[0, 0, 0, 0] = syn.devices.g[0, 0, 0, 0]
    np.testing.assert_allclose(syn.read(), (expected[0, 0] - expected[1, 0]) / syn.beta, rtol=1e-12)


def test_drift_factors_between_updates_stay_within_their_stated_error():
    """Cached for DRIFT_RESOLUTION_S of clock: off by at most ν·(1 s)/t0 ≈ 0.15 % (ν <= 0.06)."""
    from minisnu.pcm.training import DRIFT_RESOLUTION_S
    syn = PCMSynapses(np.random.default_rng(8).uniform(-0.4, 0.4, (4, 4)), rng=1, read_noise=False,
                      drift=True)
    syn.time = 100.0
    syn.read()                                                   # factors computed at t = 100 s
    syn.time = 100.0 + 0.9 * DRIFT_RESOLUTION_S                  # not yet recomputed
    g = syn.devices.read(syn.time, noise=False)
    exact = (g[0, 0] - g[1, 0]) / syn.beta
    bound = syn.devices.nu.max() * DRIFT_RESOLUTION_S / syn.devices.device.t0   # per device, relative
    error = np.abs(syn.read() - exact)
    assert np.all(error <= bound * (g[0, 0] + g[1, 0]) / syn.beta)
    assert error.max() > 0                                       # (it is an approximation)
    syn.time = 100.0 + DRIFT_RESOLUTION_S                        # recomputed: exact again
    g = syn.devices.read(syn.time, noise=False)
    np.testing.assert_allclose(syn.read(), (g[0, 0] - g[1, 0]) / syn.beta, rtol=1e-12, atol=1e-15)


def device_model_read(syn, rng):
    """W read by hand from the device model (pcm.md, section 2), with the Generator ``rng``:
    G(t) = G·(Δt/t0)^(−ν) for Δt = t − t_prog > t0 (else G), then
    G_read = max(0, G(t) + (m3·G(t) + c3)·z), one z per device in C order;
    W = (Σ_d G⁺_d − Σ_d G⁻_d)/β."""
    device, g = syn.devices.device, syn.devices.g
    dt = syn.time - syn.t_prog
    g_t = g * np.where(dt > device.t0, (np.maximum(dt, device.t0) / device.t0) ** -syn.devices.nu, 1.0)
    z = pcm.fast_normal.standard_normal(rng, g.size).reshape(g.shape)
    g_read = np.maximum(g_t + (device.m3 * g_t + device.c3) * z, 0.0)
    return (g_read[0].sum(axis=0) - g_read[1].sum(axis=0)) / syn.beta


def test_drift_and_read_noise_together_follow_the_device_model():
    """Both effects on at once: the noise is scaled by the drifted conductance G(t) (not by the
    programmed G), for devices programmed at different times, against a seeded hand computation."""
    rng = np.random.default_rng(5)
    syn = PCMSynapses(rng.uniform(-0.5, 0.5, (4, 5)), rng=2, devices_per_side=2, drift=True)
    assert syn.read_noise
    for time in (1e5, 3e5):            # late reads: G(t) ≈ 0.65 G, far from the programmed G
        syn.time = time
        expected = device_model_read(syn, copy.deepcopy(syn.devices.rng))   # the next read's draws
        np.testing.assert_allclose(syn.read(), expected, rtol=1e-12, atol=1e-12)
        # the device model's own reference function agrees (one programming time for all)
        g = pcm.device.read_reference(syn.devices.g, syn.devices.nu, time, copy.deepcopy(syn.devices.rng),
                                      syn.devices.device)
        np.testing.assert_allclose(syn.read(), (g[0].sum(axis=0) - g[1].sum(axis=0)) / syn.beta,
                                   rtol=1e-12, atol=1e-12)
    syn.update(0.2 * rng.standard_normal(syn.shape))       # some devices programmed again at 3e5 s
    assert 0 < (syn.t_prog > 0).sum() < syn.t_prog.size
    syn.time = 4e5
    expected = device_model_read(syn, copy.deepcopy(syn.devices.rng))
    np.testing.assert_allclose(syn.read(), expected, rtol=1e-12, atol=1e-12)


def test_in_memory_reads_with_drift_and_read_noise_follow_the_device_model():
    """Through the wrapper: each forward pass after the first moves the clock by
    seconds_per_pass, sends the (here empty) update, and reads noisy, drifted devices."""
    layer = pcm.InMemory(ms.Dense(4, 3, rng=0), rng=1, drift=True, seconds_per_pass=5e4)
    x = np.ones((1, 2, 4), np.float32)
    for passes in range(3):
        twin = copy.deepcopy(layer.synapses)          # the devices before this pass
        if passes:
            twin.time += 5e4
            twin.update(np.zeros(twin.shape))         # no pulse, but it takes its draws' seed
        expected = device_model_read(twin, copy.deepcopy(twin.devices.rng))
        layer.forward(x)
        np.testing.assert_allclose(layer.params["W"], expected.astype(np.float32), rtol=1e-6, atol=1e-7)
    assert layer.synapses.time == 1e5 and layer.synapses.pulses.sum() == 0


def test_every_update_is_accounted_for_with_drift():
    rng = np.random.default_rng(0)
    syn = PCMSynapses(rng.uniform(-0.5, 0.5, (6, 5)), rng=1, drift=True)
    for step in range(40):
        syn.time = 30.0 * step
        syn.update(0.05 * rng.standard_normal((6, 5)))
        syn.read()
    applied = syn.epsilon * (syn.pulses[0] - syn.pulses[1])
    np.testing.assert_allclose(applied + syn.chi, syn.requested, rtol=0, atol=1e-12)
    assert syn.pulses.sum() > 0 and syn.t_prog.max() > 0


# ---------------------------------------------------------------------------
# the configurations: MixedPrecision, and the devices' own constants


def test_mixed_precision_defaults_are_the_published_constants():
    # ε = 0.75 µS (Nandakumar et al., Front. Neurosci. 2020); refresh above 9 µS.
    assert dataclasses.asdict(MixedPrecision()) == {"epsilon_us": 0.75, "refresh_us": 9.0}
    syn = PCMSynapses(np.array([[0.5, -0.25]]), rng=0)
    assert syn.mixed_precision == MixedPrecision() and syn.devices.device == pcm.NandakumarDevice()
    assert syn.epsilon == 0.75 / syn.beta
    with pytest.raises(dataclasses.FrozenInstanceError):
        syn.mixed_precision.refresh_us = 5.0


@pytest.mark.parametrize("kwargs, error, match", [
    ({"epsilon_us": 0.0}, ValueError, r"MixedPrecision\.epsilon_us must be finite and > 0"),
    ({"refresh_us": float("inf")}, ValueError, r"MixedPrecision\.refresh_us must be finite and > 0"),
    ({"refresh_us": "9"}, TypeError, r"MixedPrecision\.refresh_us must be a number, got str"),
    ({"epsilon_us": 2.0, "refresh_us": 2.0}, ValueError,
     r"MixedPrecision\.epsilon_us must be below refresh_us"),
])
def test_a_bad_mixed_precision_field_gives_a_one_line_error_naming_it(kwargs, error, match):
    with pytest.raises(error, match=match) as info:
        MixedPrecision(**kwargs)
    assert "\n" not in str(info.value)


def test_the_synapses_use_their_configurations():
    """ε sets the pulses per update; the refresh threshold and the device's g_max bound the devices."""
    W = np.random.default_rng(3).uniform(-0.5, 0.5, (6, 5))
    coarse = PCMSynapses(W, rng=1, beta=10.0, mixed_precision=MixedPrecision(epsilon_us=1.5))
    fine = PCMSynapses(W, rng=1, beta=10.0, mixed_precision=MixedPrecision(epsilon_us=0.5))
    dW = np.full(W.shape, 0.31)                              # 3.1 µS: 2 pulses at ε = 1.5, 6 at ε = 0.5
    coarse.update(dW)
    fine.update(dW)
    assert (coarse.pulses[0] == 2).all() and (fine.pulses[0] == 6).all()
    low = PCMSynapses(W, rng=1, device=pcm.NandakumarDevice(g_max=3.0),
                      mixed_precision=MixedPrecision(refresh_us=2.5))
    assert low.devices.device.g_max == 3.0
    for _ in range(20):
        low.update(np.full(W.shape, 0.05))
        assert low.devices.g.max() <= 3.0                   # SET pulses saturate at the device's g_max
    assert low.refreshes.sum() > 0                          # and devices above 2.5 µS were refreshed
