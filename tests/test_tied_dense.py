"""TiedDense: logits from an Embedding's own table (weight tying).

The checks: finite differences of a whole tied language model (the embedding's
gradient is the sum of its two uses); the layer contract; E is one array,
seen once by the optimizer, also after a checkpoint round trip; clear errors.
"""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minisnu as ms
from minisnu.training.testing import (
    assert_layer_contract,
    assert_layer_gradients,
    assert_network_gradients,
)


def tied_lm(vocab=7, dim=4, dtype=np.float64, rng=0, recurrent=True, dropout=False, scale=False):
    """Embedding -> SNU(soft) [-> Dropout] -> TiedDense (with a learned scale α ≠ 1 if ``scale``)."""
    rng = np.random.default_rng(rng)
    emb = ms.Embedding(vocab, dim, dtype=dtype, rng=rng)
    layers = [emb, ms.SNU(dim, dim, soft=True, recurrent=recurrent, g="identity", dtype=dtype, rng=rng)]
    if dropout:
        layers.append(ms.Dropout(0.3, rng=rng))
    layers.append(ms.TiedDense(emb, scale=scale))
    net = ms.Sequential(*layers)
    net[-1].params["b"][:] = rng.standard_normal(vocab)  # not at the special point b = 0
    if scale:
        net[-1].params["scale"][:] = 1.5 + rng.random()   # nor at α = 1
    return net


# ---------------------------------------------------------------------------
# gradients


@settings(max_examples=20, deadline=None)
@given(T=st.integers(1, 6), B=st.integers(1, 3), seed=st.integers(0, 2**32 - 1),
       recurrent=st.booleans(), dropout=st.booleans(), scale=st.booleans())
def test_language_model_gradients(T, B, seed, recurrent, dropout, scale):
    """Embedding -> sSNU -> TiedDense -> per-step LM cross-entropy, against finite differences
    (α included when the layer learns it)."""
    rng = np.random.default_rng(seed)
    net = tied_lm(rng=seed, recurrent=recurrent, dropout=dropout, scale=scale)
    words = rng.integers(0, 7, (T, B))
    targets = rng.integers(0, 7, (T, B))
    report = assert_network_gradients(net, words, ms.losses.lm_cross_entropy, targets, rng=rng)
    assert set(report.errors) == set(net.params) and "0.W" in report.errors
    assert [name for name in net.params if name.endswith(".b")][-1] == f"{len(net) - 1}.b"


def test_embedding_gradient_is_the_sum_of_both_paths():
    """The tied network equals an untied one whose E (input) and Wᵀ (output) are copies of E:
    the gradient of the tied E is the sum of the two copies' gradients (the chain rule)."""
    rng = np.random.default_rng(1)
    net = tied_lm(rng=1)
    emb, snu, tied = net[0], net[1], net[-1]
    e_in = ms.Embedding(7, 4, dtype=np.float64)
    e_in.params["W"][...] = emb.params["W"]
    dense = ms.Dense(4, 7, dtype=np.float64)
    dense.params["W"][...] = emb.params["W"].T
    dense.params["b"][...] = tied.params["b"]
    untied = ms.Sequential(e_in, snu, dense)  # the same SNU object: same weights
    words, targets = rng.integers(0, 7, (5, 3)), rng.integers(0, 7, (5, 3))

    untied.zero_grad()
    loss_untied, dz = ms.losses.lm_cross_entropy(untied.forward(words), targets)
    untied.backward(dz)
    input_path, output_path = e_in.grads["W"].copy(), dense.grads["W"].T.copy()

    net.zero_grad()
    loss, dz_tied = ms.losses.lm_cross_entropy(net.forward(words), targets)
    assert loss == pytest.approx(loss_untied, rel=1e-12)
    net.backward(dz_tied)
    assert np.abs(input_path).max() > 1e-3 and np.abs(output_path).max() > 1e-3
    np.testing.assert_allclose(emb.grads["W"], input_path + output_path, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(tied.grads["b"], dense.grads["b"], rtol=1e-10, atol=1e-14)
    # the output path alone is Σ_t δ_tᵀ h_t
    h = snu.forward(emb.forward(words))
    np.testing.assert_allclose(output_path, np.einsum("tbv,tbd->vd", dz, h), rtol=1e-10, atol=1e-14)


def test_layer_gradients_and_contract():
    rng = np.random.default_rng(2)
    emb = ms.Embedding(6, 3, dtype=np.float64, rng=rng)
    tied = ms.TiedDense(emb)
    tied.params["b"][:] = rng.standard_normal(6)
    h = rng.standard_normal((4, 2, 3))
    assert_layer_contract(tied, h)
    # check_layer perturbs the layer's own params (b) and h; E through the Embedding's grads
    assert_layer_gradients(tied, h, rng=rng)
    dz = rng.standard_normal((4, 2, 6))
    emb.zero_grad()
    tied.forward(h)
    dh = tied.backward(dz)
    np.testing.assert_allclose(dh, dz @ emb.params["W"])
    np.testing.assert_allclose(emb.grads["W"], np.einsum("tbv,tbd->vd", dz, h))
    tied.backward(dz)  # adds: twice the gradient
    np.testing.assert_allclose(emb.grads["W"], 2 * np.einsum("tbv,tbd->vd", dz, h))


def test_scale_multiplies_the_product_and_its_gradient_is_h_dot_delta_e(tmp_path):
    rng = np.random.default_rng(5)
    emb = ms.Embedding(6, 3, dtype=np.float64, rng=rng)
    tied = ms.TiedDense(emb, scale=True)
    assert tied.params["scale"].tolist() == [1.0]
    tied.params["scale"][:] = 2.5
    tied.params["b"][:] = rng.standard_normal(6)
    h, dz = rng.standard_normal((4, 2, 3)), rng.standard_normal((4, 2, 6))
    np.testing.assert_allclose(tied.forward(h), 2.5 * h @ emb.params["W"].T + tied.params["b"])
    assert_layer_gradients(tied, h, rng=rng)            # α and b by finite differences
    tied.zero_grad()
    emb.zero_grad()
    tied.forward(h)
    dh = tied.backward(dz)
    np.testing.assert_allclose(tied.grads["scale"], [np.sum(h * (dz @ emb.params["W"]))])
    np.testing.assert_allclose(dh, 2.5 * dz @ emb.params["W"])
    np.testing.assert_allclose(emb.grads["W"], 2.5 * np.einsum("tbv,tbd->vd", dz, h))
    net = ms.Sequential(emb, tied)
    net.save(tmp_path / "net.npz")
    loaded = ms.Sequential.load(tmp_path / "net.npz")
    assert loaded[1].scale and loaded[1].params["scale"].tolist() == [2.5]
    assert "scale" not in ms.TiedDense(emb).config()     # old checkpoints rebuild unchanged


def test_forward_is_h_times_e_transposed_plus_b_and_shares_e():
    rng = np.random.default_rng(3)
    emb = ms.Embedding(5, 3, rng=rng)
    tied = ms.TiedDense(emb)
    tied.params["b"][:] = np.arange(5)
    h = rng.standard_normal((2, 4, 3)).astype(np.float32)
    np.testing.assert_allclose(tied.forward(h), h @ emb.params["W"].T + np.arange(5), rtol=1e-6)
    assert tied.forward(h).dtype == np.float32
    assert list(tied.params) == ["b"] and (tied.n_in, tied.n_out) == (3, 5)
    emb.params["W"][0] += 1.0  # an in-place update of E is seen: shared, not copied
    np.testing.assert_allclose(tied.forward(h)[..., 0], h @ emb.params["W"][0] + 0, rtol=1e-6)
    assert list(ms.TiedDense(emb, bias=False).params) == []
    np.testing.assert_allclose(ms.TiedDense(emb, bias=False).forward(h), h @ emb.params["W"].T,
                               rtol=1e-6)


# ---------------------------------------------------------------------------
# the optimizer sees E once


def test_optimizer_sees_e_once():
    net = tied_lm(dtype=np.float32)
    assert list(net.params) == ["0.W", "1.W", "1.b", "1.H", "2.b"]
    ids = [id(p) for p in net.params.values()]
    assert len(set(ids)) == len(ids)
    assert net.n_params == 7 * 4 + (4 * 4 + 4 + 4 * 4) + 7


@pytest.mark.parametrize("make_opt, step", [
    (lambda net: ms.optim.SGD(net, lr=0.1), lambda p, g: p - 0.1 * g),
    # Adam's first step, m̂ = g, v̂ = g²: θ − η g / (|g| + ε)
    (lambda net: ms.optim.Adam(net, lr=0.01), lambda p, g: p - 0.01 * g / (np.abs(g) + 1e-8)),
])
def test_an_optimizer_step_updates_e_once_with_the_summed_gradient(make_opt, step):
    rng = np.random.default_rng(4)
    net = tied_lm(dtype=np.float64, rng=4)
    words, targets = rng.integers(0, 7, (6, 2)), rng.integers(0, 7, (6, 2))
    opt = make_opt(net)
    opt.zero_grad()
    _, dz = ms.losses.lm_cross_entropy(net.forward(words), targets)
    net.backward(dz)
    E = net[0].params["W"]
    before, grad = E.copy(), net[0].grads["W"].copy()
    opt.step()
    assert net[0].params["W"] is E  # updated in place
    np.testing.assert_allclose(E, step(before, grad), rtol=1e-12, atol=1e-15)
    assert net[-1].embedding.params["W"] is E


# ---------------------------------------------------------------------------
# checkpoints


def test_save_and_load_keep_the_tie_and_the_outputs(tmp_path):
    net = tied_lm(dtype=np.float32, dropout=True)
    for p in net.params.values():
        p += 0.01  # trained values, not the initial ones
    assert net[-1].config() == {"embedding": 0, "bias": True}
    net.save(tmp_path / "net.npz")
    loaded = ms.Sequential.load(tmp_path / "net.npz")
    tied, emb = loaded[-1], loaded[0]
    assert isinstance(tied, ms.TiedDense) and tied.embedding is emb
    assert np.shares_memory(tied.embedding.params["W"], emb.params["W"])
    assert list(loaded.params) == list(net.params)
    words = np.random.default_rng(5).integers(0, 7, (6, 3))
    net.eval()
    loaded.eval()
    np.testing.assert_array_equal(loaded.forward(words), net.forward(words))
    # still tied after loading: an update of E changes the logits
    before = loaded.forward(words)
    emb.params["W"] += 0.5
    assert not np.allclose(loaded.forward(words), before)


def test_tie_by_index_and_embedding_after_the_output(tmp_path):
    rng = np.random.default_rng(6)
    emb = ms.Embedding(5, 3, rng=rng)
    net = ms.Sequential(ms.Dense(2, 3, rng=rng), ms.TiedDense(3), ms.Readout("mean"), emb)
    assert net[1].embedding is emb and net[1].params["b"].shape == (5,)
    net.save(tmp_path / "net.npz")
    loaded = ms.Sequential.load(tmp_path / "net.npz")
    assert loaded[1].embedding is loaded[3]
    # (this stack does not run as a whole: the Embedding is only a parameter holder here)
    x = rng.standard_normal((4, 2, 2)).astype(np.float32)
    np.testing.assert_array_equal(loaded[1].forward(loaded[0].forward(x)),
                                  net[1].forward(net[0].forward(x)))


def test_a_shared_layer_saves_the_index_in_the_saved_sequential(tmp_path):
    emb = ms.Embedding(7, 4)
    net = ms.Sequential(ms.SNU(4, 4), emb, ms.SNU(4, 4), ms.TiedDense(emb))
    assert net[3].index == 1
    sub = net[1::2]  # (Embedding, TiedDense), the same layer objects
    assert sub[1].index == 0
    sub.save(tmp_path / "sub.npz")
    net.save(tmp_path / "net.npz")  # rebinds first: the index recorded is the one in net
    assert net[3].config()["embedding"] == 1
    loaded = ms.Sequential.load(tmp_path / "net.npz")
    assert loaded[3].embedding is loaded[1]
    loaded_sub = ms.Sequential.load(tmp_path / "sub.npz")
    assert loaded_sub[1].embedding is loaded_sub[0]


# ---------------------------------------------------------------------------
# mistakes


def test_tying_to_a_non_embedding():
    with pytest.raises(TypeError, match=r"ties to an Embedding.*got Dense"):
        ms.TiedDense(ms.Dense(3, 4))
    with pytest.raises(TypeError, match="layer 0, which is a Dense, not an Embedding"):
        ms.Sequential(ms.Dense(3, 4), ms.TiedDense(0))
    with pytest.raises(ValueError, match="tied to layer 5, but there are only 2 layers"):
        ms.Sequential(ms.Dense(3, 4), ms.TiedDense(5))
    with pytest.raises(ValueError, match="index >= 0"):
        ms.TiedDense(-1)


def test_size_mismatch_with_the_previous_layer():
    emb = ms.Embedding(7, 4)
    with pytest.raises(ValueError, match=r"n_dim=4, but layer 1 \(SNU\) outputs 5 features"):
        ms.Sequential(emb, ms.SNU(4, 5), ms.TiedDense(emb))
    # size-preserving layers between are looked through
    with pytest.raises(ValueError, match=r"layer 1 \(SNU\) outputs 5"):
        ms.Sequential(emb, ms.SNU(4, 5), ms.Dropout(0.2), ms.TiedDense(emb))
    with pytest.raises(ValueError, match="4 features"):
        ms.TiedDense(emb).forward(np.zeros((2, 3, 5), np.float32))


def test_the_embedding_must_be_in_the_sequential():
    emb = ms.Embedding(7, 4)
    with pytest.raises(ValueError, match="not a layer of the Sequential"):
        ms.Sequential(ms.SNU(3, 4), ms.TiedDense(emb))
    unbound = ms.TiedDense(2)
    with pytest.raises(RuntimeError, match="not tied yet"):
        unbound.forward(np.zeros((1, 4), np.float32))
    assert repr(unbound) == "TiedDense(embedding=2, bias=True)"


def test_a_checkpoint_whose_tie_does_not_fit_names_the_file(tmp_path):
    net = ms.Sequential(ms.Embedding(5, 3), ms.Dense(3, 3), ms.TiedDense(0))
    net.save(tmp_path / "net.npz")
    with np.load(tmp_path / "net.npz") as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(str(arrays["__meta__"]))
    meta["layers"][2]["config"]["embedding"] = 1  # now points at the Dense
    arrays["__meta__"] = np.array(json.dumps(meta))
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=r"bad\.npz.*layer 1, which is a Dense"):
        ms.Sequential.load(tmp_path / "bad.npz")
