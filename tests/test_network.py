"""Whole networks of SNUs with their losses: gradients of everything, end to end."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import minisnu as ms
from minisnu.training.testing import assert_network_gradients, decays, random_input

seeds = st.integers(0, 2**32 - 1)


@settings(max_examples=30, deadline=None)
@given(T=st.integers(1, 6), B=st.integers(1, 3), hidden=st.integers(1, 5), seed=seeds,
       decay=decays(), recurrent=st.booleans(), lateral=st.booleans(),
       mode=st.sampled_from(["sum", "mean", "last"]), g=st.sampled_from(["relu", "identity"]))
def test_classifier_gradients(T, B, hidden, seed, decay, recurrent, lateral, mode, g):
    """sSNU -> Dropout -> sSNU (recurrent, lateral) -> Readout -> softmax cross-entropy."""
    rng = np.random.default_rng(seed)
    net = ms.Sequential(
        ms.SNU(4, hidden, soft=True, decay=decay, g=g, dtype=np.float64, rng=rng),
        ms.Dropout(0.3, rng=rng),
        ms.SNU(hidden, 3, soft=True, recurrent=recurrent, lateral_inhibition=lateral,
               decay=0.6, train_decay=True, dtype=np.float64, rng=rng),
        ms.Readout(mode),
    )
    x = random_input(rng, (T, B, 4))
    labels = rng.integers(0, 3, B)
    assert_network_gradients(net, x, ms.losses.softmax_cross_entropy, labels, rng=rng)


@settings(max_examples=20, deadline=None)
@given(T=st.integers(1, 6), B=st.integers(1, 3), seed=seeds)
def test_language_model_gradients(T, B, seed):
    """Embedding -> recurrent sSNU -> Dense -> per-step language-model cross-entropy."""
    rng = np.random.default_rng(seed)
    vocab = 7
    net = ms.Sequential(
        ms.Embedding(vocab, 4, dtype=np.float64, rng=rng),
        ms.SNU(4, 5, soft=True, recurrent=True, g="identity", dtype=np.float64, rng=rng),
        ms.Dense(5, vocab, dtype=np.float64, rng=rng),
    )
    words = rng.integers(0, vocab, (T, B))
    targets = rng.integers(0, vocab, (T, B))
    assert_network_gradients(net, words, ms.losses.lm_cross_entropy, targets, rng=rng)


@settings(max_examples=20, deadline=None)
@given(T=st.integers(1, 6), B=st.integers(1, 3), seed=seeds)
def test_polyphonic_music_gradients(T, B, seed):
    """Piano roll -> sSNU -> Dense logits -> binary cross-entropy per note (the JSB setup)."""
    rng = np.random.default_rng(seed)
    notes = 6
    net = ms.Sequential(
        ms.SNU(notes, 5, soft=True, dtype=np.float64, rng=rng),
        ms.Dense(5, notes, dtype=np.float64, rng=rng),
    )
    # Normal noise rather than a 0/1 roll as input: an all-silent step gives a_t = 0
    # exactly, ReLU's kink, where finite differences cannot agree with g'(0) = 0.
    roll = random_input(rng, (T, B, notes))
    target = random_input(rng, (T, B, notes), spikes=True)
    assert_network_gradients(net, roll, ms.losses.bce_with_logits, target, rng=rng)


def test_sigmoid_outputs_with_bce_on_probabilities():
    """sSNU outputs are probabilities: train them with bce directly."""
    rng = np.random.default_rng(0)
    net = ms.Sequential(ms.SNU(6, 5, soft=True, dtype=np.float64, rng=rng),
                        ms.SNU(5, 6, soft=True, dtype=np.float64, rng=rng))
    x = random_input(rng, (5, 2, 6))
    target = random_input(rng, (5, 2, 6), spikes=True)
    assert_network_gradients(net, x, ms.losses.bce, target, rng=rng)


def test_spiking_network_learns():
    """A spiking network trained with the surrogate gradient fits a small task."""
    rng = np.random.default_rng(0)
    prototypes = rng.random((2, 10)) < 0.3
    labels = rng.integers(0, 2, 64)
    x = (rng.random((10, 64, 10)) < np.where(prototypes[labels], 0.6, 0.05)).astype(np.float32)
    net = ms.Sequential(ms.SNU(10, 16, rng=1), ms.SNU(16, 2, rng=2), ms.Readout("sum"))
    opt = ms.optim.Adam(net, lr=0.02)
    for _ in range(60):
        opt.zero_grad()
        _loss, grad = ms.losses.softmax_cross_entropy(net.forward(x), labels)
        net.backward(grad)
        opt.step()
    assert ms.losses.accuracy(net.forward(x), labels) > 0.95


def test_training_is_deterministic():
    """The same seeds give the same run, bit for bit."""
    def run():
        rng = np.random.default_rng(3)
        x = (rng.random((8, 16, 5)) < 0.3).astype(np.float32)
        labels = rng.integers(0, 3, 16)
        net = ms.Sequential(ms.SNU(5, 8, recurrent=True, rng=rng), ms.Dropout(0.2, rng=rng),
                            ms.SNU(8, 3, rng=rng), ms.Readout("mean"))
        opt = ms.optim.SGD(net, lr=0.5, momentum=0.9)
        for _ in range(5):
            opt.zero_grad()
            net.backward(ms.losses.softmax_cross_entropy(net.forward(x), labels)[1])
            opt.step()
        return net.params
    first, second = run(), run()
    for name in first:
        np.testing.assert_array_equal(first[name], second[name])


def test_checkpoint_round_trip_of_every_snu_option(tmp_path):
    rng = np.random.default_rng(0)
    net = ms.Sequential(
        ms.SNU(3, 4, soft=True, recurrent=True, decay=[0.1, 0.2, 0.3, 0.4], g="leaky_relu",
               train_decay=True, lateral_inhibition=True, rng=rng),
        ms.SNU(4, 2, surrogate="arctan", surrogate_k=2.0, detach_reset=True, bias_init=-0.5,
               dtype=np.float32, rng=rng),
    )
    for p in net.params.values():
        p += 0.01                              # trained values, not the initial ones
    net.save(tmp_path / "net.npz")
    loaded = ms.Sequential.load(tmp_path / "net.npz")
    x = random_input(rng, (6, 2, 3), dtype=np.float32, spikes=True)
    np.testing.assert_array_equal(loaded.forward(x), net.forward(x))
    assert [layer.config() for layer in loaded] == [layer.config() for layer in net]
