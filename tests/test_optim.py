"""Optimizers: hand-computed steps, in-place updates, convergence, checkpoints."""

import io
import math

import numpy as np
import pytest

from minisnu.core.errors import CheckpointError
from minisnu.training.optim import SGD, Adam, clip_grad_norm


class Tiny:
    """A stand-in model: the layer contract's ``params``/``grads`` dicts only."""

    def __init__(self, w=(1.0, -2.0), dtype=np.float64):
        self.params = {"w": np.array(w, dtype=dtype), "b": np.zeros((2, 2), dtype=dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}


class Quadratic(Tiny):
    """L = ½ Σ a_i (w_i − c_i)², minimised at w = c; b has no gradient."""

    A = np.array([1.0, 10.0])
    C = np.array([3.0, -1.0])

    def zero_grad(self):
        for g in self.grads.values():
            g.fill(0)

    def backward(self):
        self.grads["w"] += self.A * (self.params["w"] - self.C)


G1, G2 = np.array([0.5, 1.0]), np.array([-1.0, 2.0])


def run(opt, model, grads):
    """Step ``opt`` once per gradient in ``grads`` (applied to w); return w."""
    for g in grads:
        opt.zero_grad()
        model.grads["w"] += g
        opt.step()
    return model.params["w"]


# ---------------------------------------------------------------------------
# hand-computed steps (lr 0.1, w0 = [1, -2], gradients G1 then G2)


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        # w1 = w0 − 0.1 g1;  w2 = w1 − 0.1 g2
        ({}, [[0.95, -2.1], [1.05, -2.3]]),
        # d = g + 0.1 w:  d1 = [0.6, 0.8], w1 = [0.94, −2.08];  d2 = [−0.906, 1.792]
        ({"weight_decay": 0.1}, [[0.94, -2.08], [1.0306, -2.2592]]),
        # v1 = g1, w1 = w0 − 0.1 v1;  v2 = 0.9 v1 + g2 = [−0.55, 2.9]
        ({"momentum": 0.9}, [[0.95, -2.1], [1.005, -2.39]]),
        # w1 = w0 − 0.1 (g1 + 0.9 v1) = w0 − 0.19 g1;  d2 = g2 + 0.9 v2 = [−1.495, 4.61]
        ({"momentum": 0.9, "nesterov": True}, [[0.905, -2.19], [1.0545, -2.651]]),
    ],
)
def test_sgd_steps_by_hand(kwargs, expected):
    model = Tiny()
    opt = SGD(model, lr=0.1, **kwargs)
    np.testing.assert_allclose(run(opt, model, [G1]), expected[0], rtol=1e-14)
    np.testing.assert_allclose(run(opt, model, [G2]), expected[1], rtol=1e-14)
    assert np.all(model.params["b"] == 0)  # zero gradient, no decay of zeros


def adam_reference(w, grads, lr, beta1, beta2, eps, weight_decay=0.0, decoupled=False):
    """Adam written out as in Kingma & Ba (Algorithm 1), plus the two decays."""
    w, m, v = np.array(w), 0.0, 0.0
    out = []
    for t, g in enumerate(grads, start=1):
        if decoupled:
            w = w - lr * weight_decay * w
        else:
            g = g + weight_decay * w
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(w)
    return out


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"weight_decay": 0.1}, {"weight_decay": 0.1, "decoupled": True}, {"betas": (0.5, 0.6)}],
)
def test_adam_matches_the_paper(kwargs):
    model = Tiny()
    opt = Adam(model, lr=0.1, eps=1e-8, **kwargs)
    beta1, beta2 = kwargs.get("betas", (0.9, 0.999))
    decay = {k: kwargs[k] for k in ("weight_decay", "decoupled") if k in kwargs}
    grads = [G1, G2, -G1]
    expected = adam_reference([1.0, -2.0], grads, 0.1, beta1, beta2, 1e-8, **decay)
    for g, want in zip(grads, expected):
        np.testing.assert_allclose(run(opt, model, [g]), want, rtol=1e-13)
    assert opt.steps == 3


def test_adam_first_step_by_hand():
    # m̂1 = g1 and v̂1 = g1², so the first step is lr · g/(|g| + ε) ≈ lr · sign(g)
    model = Tiny()
    run(Adam(model, lr=0.1), model, [G1])
    np.testing.assert_allclose(model.params["w"], [0.9, -2.1], rtol=1e-8)
    # AdamW first shrinks w by (1 − lr λ) = 0.99
    model = Tiny()
    run(Adam(model, lr=0.1, weight_decay=0.1, decoupled=True), model, [G1])
    np.testing.assert_allclose(model.params["w"], [0.89, -2.08], rtol=1e-8)


# ---------------------------------------------------------------------------
# in place, dtype, learning rate changes


@pytest.mark.parametrize("make", [lambda m: SGD(m, momentum=0.9), lambda m: Adam(m)])
def test_updates_in_place_through_shared_arrays(make):
    layers = [Tiny(), Tiny(w=(0.5, 0.5))]
    # like Sequential: flattened dicts that hold the layers' own arrays
    net = Tiny()
    net.params = {f"{i}.{k}": v for i, layer in enumerate(layers) for k, v in layer.params.items()}
    net.grads = {f"{i}.{k}": v for i, layer in enumerate(layers) for k, v in layer.grads.items()}
    before = {k: v.copy() for k, v in net.params.items()}
    ids = {k: id(v) for k, v in net.params.items()}
    opt = make(net)
    for layer in layers:
        layer.grads["w"] += 1.0
    opt.step()
    opt.step()
    assert {k: id(v) for k, v in net.params.items()} == ids
    assert net.params["0.w"] is layers[0].params["w"]
    assert np.all(layers[0].params["w"] < before["0.w"])
    assert np.all(layers[1].params["w"] < before["1.w"])


@pytest.mark.parametrize("make", [lambda m: SGD(m, momentum=0.9, nesterov=True), lambda m: Adam(m)])
def test_float32_stays_float32(make):
    model32, model64 = Tiny(dtype=np.float32), Tiny()
    opt32 = make(model32)
    w32 = run(opt32, model32, [G1, G2])
    w64 = run(make(model64), model64, [G1, G2])
    assert w32.dtype == np.float32
    arrays = [v for v in opt32.state_dict().values() if isinstance(v, np.ndarray)]
    assert arrays and all(a.dtype == np.float32 for a in arrays)
    np.testing.assert_allclose(w32, w64, rtol=1e-6)


def test_learning_rate_can_change_between_steps():
    model = Tiny()
    opt = SGD(model, lr=0.1)
    run(opt, model, [G1])
    opt.lr = 0.2
    np.testing.assert_allclose(run(opt, model, [G1]), [0.95 - 0.1, -2.1 - 0.2], rtol=1e-14)
    with pytest.raises(ValueError, match="lr must be in"):
        opt.lr = 0.0


def test_zero_grad_with_and_without_model_method():
    plain, quad = Tiny(), Quadratic()
    for model in (plain, quad):
        model.grads["w"] += 1.0
        SGD(model).zero_grad()
        assert np.all(model.grads["w"] == 0)


# ---------------------------------------------------------------------------
# convergence


@pytest.mark.parametrize(
    "make, steps, tol",
    [
        (lambda m: SGD(m, lr=0.05), 300, 1e-6),
        (lambda m: SGD(m, lr=0.05, momentum=0.9), 300, 1e-6),
        (lambda m: SGD(m, lr=0.05, momentum=0.9, nesterov=True), 300, 1e-6),
        (lambda m: Adam(m, lr=0.05), 1000, 1e-4),
    ],
)
def test_converges_on_a_quadratic(make, steps, tol):
    model = Quadratic()
    opt = make(model)
    for _ in range(steps):
        opt.zero_grad()
        model.backward()
        opt.step()
    np.testing.assert_allclose(model.params["w"], Quadratic.C, atol=tol)


# ---------------------------------------------------------------------------
# gradient clipping


def test_clip_grad_norm_scales_to_max_norm():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]])}
    assert clip_grad_norm(grads, 1.0) == 5.0
    np.testing.assert_allclose(grads["a"], [0.6, 0.0], rtol=1e-15)
    np.testing.assert_allclose(grads["b"], [[0.8]], rtol=1e-15)
    rng = np.random.default_rng(0)
    grads = {"x": rng.standard_normal((30, 20)), "y": rng.standard_normal(7)}
    norm = math.sqrt(sum(np.sum(g**2) for g in grads.values()))
    assert clip_grad_norm(grads, 0.5) == pytest.approx(norm, rel=1e-14)
    assert math.sqrt(sum(np.sum(g**2) for g in grads.values())) == pytest.approx(0.5, rel=1e-14)


def test_clip_grad_norm_leaves_small_and_nonfinite_gradients_alone():
    grads = {"a": np.array([0.3, 0.4])}
    assert clip_grad_norm(grads, 1.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(grads["a"], [0.3, 0.4])
    for bad in (np.nan, np.inf):
        grads = {"a": np.array([1.0, 2.0]), "b": np.array([bad])}
        norm = clip_grad_norm(grads, 1.0)
        assert not math.isfinite(norm)
        np.testing.assert_array_equal(grads["a"], [1.0, 2.0])


# ---------------------------------------------------------------------------
# checkpoints


@pytest.mark.parametrize(
    "make",
    [
        lambda m: SGD(m, lr=0.02, momentum=0.9, nesterov=True, weight_decay=1e-3),
        lambda m: Adam(m, lr=0.05, weight_decay=1e-2),
        lambda m: Adam(m, lr=0.05, weight_decay=1e-2, decoupled=True),
    ],
)
def test_state_dict_resumes_bit_identically(make):
    def train(model, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            model.backward()
            opt.step()

    straight = Quadratic()
    train(straight, make(straight), 6)

    first = Quadratic()
    opt = make(first)
    train(first, opt, 3)
    # through an .npz file without pickle, as a checkpoint would be
    buffer = io.BytesIO()
    np.savez(buffer, **{f"param.{k}": v for k, v in first.params.items()},
             **{f"opt.{k}": v for k, v in opt.state_dict().items()})
    buffer.seek(0)
    saved = dict(np.load(buffer, allow_pickle=False))

    resumed = Quadratic()
    for k, v in resumed.params.items():
        v[...] = saved[f"param.{k}"]
    opt2 = type(opt)(resumed, lr=1.0)  # the hyper-parameters come from the state
    opt2.load_state_dict({k[4:]: v for k, v in saved.items() if k.startswith("opt.")})
    assert opt2.hyper_parameters() == opt.hyper_parameters()
    assert opt2.steps == 3
    train(resumed, opt2, 3)
    for k in straight.params:
        np.testing.assert_array_equal(resumed.params[k], straight.params[k])


def test_state_dict_is_a_copy():
    model = Tiny()
    opt = SGD(model, lr=0.1, momentum=0.9)
    run(opt, model, [G1])
    state = opt.state_dict()
    run(opt, model, [G2])
    np.testing.assert_array_equal(state["velocity.w"], G1)
    assert state["steps"] == 1


def test_load_state_dict_refuses_mismatches():
    model = Tiny()
    sgd = SGD(model, momentum=0.9)
    run(sgd, model, [G1])
    state = sgd.state_dict()
    with pytest.raises(CheckpointError, match="lacks"):
        Adam(model).load_state_dict(state)
    with pytest.raises(CheckpointError, match=r"'velocity.nope' matches no state"):
        SGD(model).load_state_dict({**state, "velocity.nope": np.zeros(2)})
    with pytest.raises(ValueError, match=r"state 'velocity.w' has shape \(3,\)"):
        SGD(model).load_state_dict({**state, "velocity.w": np.zeros(3)})
    with pytest.raises(ValueError, match="momentum must be in"):
        SGD(model).load_state_dict({**state, "momentum": 1.5})


# ---------------------------------------------------------------------------
# bad hyper-parameters and models


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda m: SGD(m, lr=0.0), ValueError, r"lr must be in \(0.0, inf\)"),
        (lambda m: SGD(m, lr=-1.0), ValueError, "lr must be in"),
        (lambda m: SGD(m, lr=float("nan")), ValueError, "lr must be in"),
        (lambda m: SGD(m, lr="fast"), TypeError, "lr must be a number"),
        (lambda m: SGD(m, momentum=1.0), ValueError, r"momentum must be in \[0.0, 1.0\)"),
        (lambda m: SGD(m, momentum=-0.1), ValueError, "momentum must be in"),
        (lambda m: SGD(m, nesterov=True), ValueError, "nesterov=True needs momentum > 0"),
        (lambda m: SGD(m, weight_decay=-1e-4), ValueError, "weight_decay must be in"),
        (lambda m: Adam(m, betas=(1.0, 0.999)), ValueError, r"betas\[0\] must be in \[0.0, 1.0\)"),
        (lambda m: Adam(m, betas=(0.9, -0.1)), ValueError, r"betas\[1\] must be in"),
        (lambda m: Adam(m, betas=0.9), ValueError, "betas must be a pair"),
        (lambda m: Adam(m, eps=0.0), ValueError, "eps must be in"),
        (lambda m: Adam(m, weight_decay=float("inf")), ValueError, "weight_decay must be in"),
        (lambda m: Adam(m, decoupled="yes"), TypeError, "decoupled must be True or False"),
        (lambda m: SGD(object()), TypeError, "model must have a 'params' dict"),
    ],
)
def test_bad_hyper_parameters(make, error, match):
    with pytest.raises(error, match=match):
        make(Tiny())


def test_bad_gradients_are_refused_before_any_update():
    model = Tiny()
    model.grads["b"] = np.zeros(3)
    opt = SGD(model)
    with pytest.raises(ValueError, match=r"gradient 'b' has shape \(3,\)"):
        opt.step()
    assert opt.steps == 0 and np.all(model.params["w"] == [1.0, -2.0])
    del model.grads["b"]
    with pytest.raises(KeyError, match="no entry for parameter 'b'"):
        opt.step()
    model = Tiny()
    model.params["b"] = np.zeros((2, 4))[:, ::2]  # a strided view
    with pytest.raises(ValueError, match="parameter 'b' must be C-contiguous"):
        SGD(model).step()
    with pytest.raises(ValueError, match="max_norm must be in"):
        clip_grad_norm(model.grads, 0.0)
    with pytest.raises(TypeError, match="grads must be a dict"):
        clip_grad_norm([np.zeros(2)], 1.0)
