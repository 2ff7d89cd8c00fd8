"""Deployment of a trained network on imperfect weights (minisnu.experiments.deploy)."""

import numpy as np
import pytest

from minisnu.experiments import deploy
from minisnu.pcm import PCMNoiseModel
from minisnu.tasks.jsb import build_network
from minisnu.viz import YEAR

DAY = 86400.0


@pytest.fixture(scope="module")
def net():
    """A freshly built 88-16-88 SNU network (its weights are what matters, not training)."""
    return build_network("snu", seed=3, hidden=16)


@pytest.fixture(scope="module")
def spikes():
    """Twelve steps of two binary piano-roll-like inputs, (T, B, 88) float32."""
    return (np.random.default_rng(7).random((12, 2, 88)) < 0.2).astype(np.float32)


def snapshot(net):
    return {name: p.copy() for name, p in net.params.items()}


def assert_same_params(net, saved):
    assert saved.keys() == net.params.keys()
    for name, p in net.params.items():
        assert np.array_equal(p, saved[name]), name


# --- which arrays are weights ----------------------------------------------------------------


def test_weight_names_are_the_2d_matrices_of_every_layer():
    assert deploy.weight_names(build_network("snu", 0, hidden=8)) == ["0.W", "1.W"]
    assert deploy.weight_names(build_network("lstm", 0, hidden=8)) == ["0.W", "0.U", "1.W"]
    assert deploy.weight_names(build_network("gru", 0, hidden=8)) == ["0.W", "0.U", "1.W"]


def test_weight_names_refuses_a_non_network():
    with pytest.raises(TypeError, match="Sequential"):
        deploy.weight_names({"W": np.zeros((2, 2))})


def test_copy_network_computes_the_same_and_shares_no_array(net, spikes):
    copy = deploy.copy_network(net)
    assert np.array_equal(copy.forward(spikes), net.forward(spikes))
    for name, p in copy.params.items():
        assert not np.shares_memory(p, net.params[name]), name


def test_with_weights_rejects_unknown_names_and_wrong_shapes(net):
    with pytest.raises(ValueError, match="not weight matrices"):
        deploy.with_weights(net, {"0.b": np.zeros(16)})
    with pytest.raises(ValueError, match="shape"):
        deploy.with_weights(net, {"0.W": np.zeros((16, 88))})


# --- quantization ----------------------------------------------------------------------------


@pytest.mark.parametrize("bits", [2, 3, 4, 8])
def test_quantize_uses_2_to_the_bits_minus_1_values_and_keeps_the_maximum(bits):
    W = np.linspace(-1.3, 1.3, 2001).reshape(23, 87)      # dense enough to hit every level
    Q = deploy.quantize(W, bits)
    n = 2 ** (bits - 1) - 1
    assert len(np.unique(Q)) == 2 * n + 1
    assert np.max(np.abs(Q)) == np.max(np.abs(W)) == 1.3
    step = 1.3 / n
    assert np.max(np.abs(Q - W)) <= step / 2 * (1 + 1e-12)
    assert np.allclose(np.unique(Q), step * np.arange(-n, n + 1), rtol=0, atol=1e-12)


def test_quantize_keeps_float32_and_its_maximum_exactly(net):
    W = net.params["0.W"]
    Q = deploy.quantize(W, 5)
    assert Q.dtype == np.float32
    assert np.max(np.abs(Q)) == np.max(np.abs(W))
    assert len(np.unique(Q)) <= 31


def test_quantize_leaves_a_zero_matrix_zero():
    assert np.array_equal(deploy.quantize(np.zeros((3, 4)), 4), np.zeros((3, 4)))


@pytest.mark.parametrize("bits", [1, 0, -3, 2.5, True, "8"])
def test_quantize_refuses_fewer_than_two_bits(bits):
    with pytest.raises(ValueError, match="bits must be an int >= 2"):
        deploy.quantize(np.ones((2, 2)), bits)


def test_quantize_refuses_non_finite_weights():
    with pytest.raises(ValueError, match="finite"):
        deploy.quantize(np.array([[1.0, np.nan]]), 4)


def test_quantized_network_quantizes_the_weights_only(net):
    saved = snapshot(net)
    q = deploy.quantized_network(net, 3)
    assert np.array_equal(q.params["0.W"], deploy.quantize(net.params["0.W"], 3))
    assert np.array_equal(q.params["1.W"], deploy.quantize(net.params["1.W"], 3))
    assert np.array_equal(q.params["0.b"], net.params["0.b"])      # biases stay digital
    assert np.array_equal(q.params["1.b"], net.params["1.b"])
    assert_same_params(net, saved)


# --- weight noise ----------------------------------------------------------------------------


def test_add_noise_level_zero_returns_the_weights_exactly(net):
    W = net.params["0.W"]
    assert np.array_equal(deploy.add_noise(W, 0.0, np.random.default_rng(0)), W)


def test_add_noise_is_seeded_and_scales_one_pattern():
    W = np.random.default_rng(1).normal(size=(200, 200))
    a = deploy.add_noise(W, 0.05, np.random.default_rng(5))
    assert np.array_equal(a, deploy.add_noise(W, 0.05, np.random.default_rng(5)))
    assert not np.allclose(a, deploy.add_noise(W, 0.05, np.random.default_rng(6)))
    b = deploy.add_noise(W, 0.1, np.random.default_rng(5))
    assert np.allclose(b - W, 2 * (a - W), rtol=1e-9, atol=0)     # the same z at every level


def test_add_noise_std_is_level_times_max_abs():
    W = np.random.default_rng(2).normal(size=(200, 200))
    z = (deploy.add_noise(W, 0.1, np.random.default_rng(0)) - W) / (0.1 * np.max(np.abs(W)))
    # 40,000 draws of N(0, 1): the sample std is within 0.01 of 1 (about 3 standard errors).
    assert abs(z.std() - 1) < 0.01
    assert abs(z.mean()) < 0.015


def test_add_noise_refuses_a_negative_level_and_a_seed_in_place_of_a_generator():
    with pytest.raises(ValueError, match="level"):
        deploy.add_noise(np.ones((2, 2)), -0.1, np.random.default_rng(0))
    with pytest.raises(TypeError, match="Generator"):
        deploy.add_noise(np.ones((2, 2)), 0.1, 0)


def test_noisy_network_leaves_the_original_untouched(net):
    saved = snapshot(net)
    noisy = deploy.noisy_network(net, 0.1, np.random.default_rng(0))
    assert not np.array_equal(noisy.params["0.W"], net.params["0.W"])
    assert np.array_equal(noisy.params["0.b"], net.params["0.b"])
    assert_same_params(net, saved)


# --- PCM ---------------------------------------------------------------------------------------


def test_ideal_crossbars_reproduce_the_software_network_bit_for_bit(net, spikes):
    deployment = deploy.program_pcm(net, np.random.default_rng(0), ideal=True)
    for t in (0.0, DAY, YEAR):
        read = deploy.read_weights(deployment, t)
        for weights in (read, deploy.compensate(deployment, read)):
            assert np.array_equal(deploy.with_weights(net, weights).forward(spikes), net.forward(spikes))


def test_pcm_deployment_differs_from_software_and_is_seeded(net, spikes):
    saved = snapshot(net)
    outputs = []
    for seed in (0, 0, 1):
        deployment = deploy.program_pcm(net, np.random.default_rng(seed))
        weights = deploy.read_weights(deployment, DAY)
        outputs.append(deploy.with_weights(net, weights).forward(spikes))
    assert np.array_equal(outputs[0], outputs[1])                  # same seed, same devices
    assert not np.allclose(outputs[0], outputs[2])
    # Programming noise, drift and read noise move the logits by far more than rounding.
    assert np.max(np.abs(outputs[0] - net.forward(spikes))) > 0.1
    assert_same_params(net, saved)


def test_compensation_brings_the_mean_drifted_output_back():
    """A year after programming the devices have drifted to about half their conductance; the
    global compensation restores the mean |x·W| to within 2 % (the spread of ν and the read
    noise leave about 0.3 % per programming; the uncompensated output stays near half)."""
    net = build_network("snu", seed=0)                             # the paper's 88 × 150 matrix
    W = net.params["0.W"].astype(np.float64)
    x = np.random.default_rng(100).uniform(-1, 1, (256, 88))
    reference = np.mean(np.abs(x @ W))
    for seed in range(3):
        deployment = deploy.program_pcm(net, np.random.default_rng(seed))
        drifted = deploy.read_weights(deployment, YEAR)
        compensated = deploy.compensate(deployment, drifted)
        assert np.mean(np.abs(x @ drifted["0.W"])) / reference < 0.6
        assert abs(np.mean(np.abs(x @ compensated["0.W"])) / reference - 1) < 0.02


def test_compensate_needs_every_matrix(net):
    deployment = deploy.program_pcm(net, np.random.default_rng(0))
    with pytest.raises(ValueError, match="lack"):
        deploy.compensate(deployment, {"0.W": deploy.read_weights(deployment, 1.0)["0.W"]})


def test_program_pcm_refuses_a_seed_in_place_of_a_generator(net):
    with pytest.raises(TypeError, match="Generator"):
        deploy.program_pcm(net, 0)


def test_program_pcm_takes_the_noise_model_and_its_g_max(net):
    default = deploy.program_pcm(net, np.random.default_rng(3))
    explicit = deploy.program_pcm(net, np.random.default_rng(3), noise_model=PCMNoiseModel(g_max=25.0))
    for name, xb in default.crossbars.items():
        assert xb.noise_model == PCMNoiseModel() and xb.g_ref == 25.0
        assert np.array_equal(deploy.read_weights(default, DAY)[name],
                              deploy.read_weights(explicit, DAY)[name])
    low = deploy.program_pcm(net, np.random.default_rng(3), noise_model=PCMNoiseModel(g_max=12.5))
    for xb in low.crossbars.values():
        assert xb.noise_model.g_max == 12.5 and xb.g_ref == 12.5
        assert xb.g_target.max() == pytest.approx(12.5)
        assert not xb.effects.drift_compensation               # compensate() applies it to the weights
    with pytest.raises(TypeError, match="noise_model must be a PCMNoiseModel"):
        deploy.program_pcm(net, np.random.default_rng(3), noise_model=12.5)
