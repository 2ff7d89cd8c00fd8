"""Tests of the convolutional SNU and sSNU.

What is proven here:
1. the convolution is the textbook one (a direct loop), in PyTorch's weight layout;
2. the soft ConvSNU's backward is the exact gradient (finite differences, float64) over
   random shapes, kernels, strides, paddings and settings, alone and in a
   conv → pool → flatten → dense stack;
3. the spiking ConvSNU's backward is BPTT with the surrogate (its smooth twin);
4. the Numba engine (im2col, products in blocks of images, the SNU's loops) equals the NumPy
   reference, with any number of blocks;
5. the carried state, bad input, the layer contract and checkpoints.
"""

from unittest.mock import patch

import numpy as np
import pytest
from helpers import ENGINES
from hypothesis import given, settings
from hypothesis import strategies as st

import minisnu as ms
from minisnu import gradcheck
from minisnu.training.testing import (
    assert_layer_contract,
    assert_layer_gradients,
    assert_network_gradients,
    decays,
    random_input,
)
from minisnu.units import conv_snu, snu_reference
from minisnu.units.conv_snu import G_SLOPE, ConvSNU, conv2d
from minisnu.units.surrogate import primitive

seeds = st.integers(0, 2**32 - 1)
SURROGATES = ["tanh", "sigmoid", "fast_sigmoid", "arctan", "straight_through"]


@st.composite
def conv_cases(draw, max_steps=3, max_batch=2, max_channels=3, max_side=7):
    """(T, B, C, O, H, W) and the kernel, stride and padding (ints or pairs) that fit them."""
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    H = draw(st.integers(max(1, kh - 2 * ph), max_side))
    W = draw(st.integers(max(1, kw - 2 * pw), max_side))
    square = draw(st.booleans())
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    shape = (draw(st.integers(1, max_steps)), draw(st.integers(1, max_batch)),
             draw(st.integers(1, max_channels)), draw(st.integers(1, max_channels)), H, W)
    if square:        # ints, as most callers write them
        return shape, {"kernel_size": min(kh, H + 2 * ph, W + 2 * ph), "stride": sh, "padding": ph}
    return shape, {"kernel_size": (kh, kw), "stride": (sh, sw), "padding": (ph, pw)}


def conv_settings(soft=None, smooth=False):
    """Keyword arguments of ConvSNU besides the geometry (dtype, rng and engine excepted)."""
    return st.fixed_dictionaries({
        "soft": st.just(True) if smooth else (st.booleans() if soft is None else st.just(soft)),
        "decay": decays(),
        "g": st.sampled_from(["relu", "identity", "leaky_relu"]),
        "surrogate": st.sampled_from(SURROGATES),
        "detach_reset": st.just(False) if smooth else st.booleans(),
        "train_decay": st.booleans(),
    })


def make(shape, geometry, options, dtype=np.float64, seed=0, engine="numba"):
    C, O = shape[2:4]
    return ConvSNU(C, O, **geometry, **options, dtype=dtype, rng=seed, engine=engine)


def randomize(layer, rng, scale=1.5):
    """Parameters that make units fire sometimes and decays away from the edges. W is scaled
    by 1/√(C·kh·kw), so that a_t stays of order one: a sigmoid deep in saturation (σ(−15) =
    3e-7, computed from 1 + tanh) holds too few correct digits for finite differences."""
    for name, p in layer.params.items():
        if name == "decay":
            p[...] = rng.uniform(0.05, 0.95, p.shape)
        elif name == "b":
            p[...] = rng.uniform(-1.5, 0.5, p.shape)
        else:
            p[...] = scale * rng.standard_normal(p.shape) / np.sqrt(p[0].size)


def direct_conv(x, W, stride, padding):
    """The convolution as its definition: one loop per index (x: (B, C, H, W))."""
    (sh, sw), (ph, pw) = stride, padding
    B, C, H, Wd = x.shape
    O, _, kh, kw = W.shape
    Ho, Wo = (H + 2 * ph - kh) // sh + 1, (Wd + 2 * pw - kw) // sw + 1
    a = np.zeros((B, O, Ho, Wo))
    for b in range(B):
        for o in range(O):
            for i in range(Ho):
                for j in range(Wo):
                    for c in range(C):
                        for p in range(kh):
                            for q in range(kw):
                                r, v = i * sh + p - ph, j * sw + q - pw
                                if 0 <= r < H and 0 <= v < Wd:
                                    a[b, o, i, j] += W[o, c, p, q] * x[b, c, r, v]
    return a


# -- 1. the convolution ---------------------------------------------------------------------


@settings(max_examples=15, deadline=None)
@given(case=conv_cases(), seed=seeds, engine=st.sampled_from(ENGINES))
def test_input_current_is_the_direct_convolution(case, seed, engine):
    """With decay 0 and g = identity the membrane is the input current: s_t = a_t = conv2d(x_t, W)."""
    shape, geometry = case
    rng = np.random.default_rng(seed)
    layer = make(shape, geometry, {"decay": 0.0, "g": "identity"}, seed=seed, engine=engine)
    x = random_input(rng, shape[:3] + shape[4:])
    layer.forward(x)
    for t in range(len(x)):
        expected = direct_conv(x[t], layer.params["W"], layer.stride, layer.padding)
        np.testing.assert_allclose(layer.membrane[t], expected, rtol=1e-12, atol=1e-12)


def test_one_pixel_by_hand():
    """A 2×2 kernel of ones over a 3×3 image of 0.3 with stride 1: every a = 1.2, above the
    threshold 1 at once; padding 1 makes the corners a = 0.3 (one pixel of the image)."""
    layer = ConvSNU(1, 1, 2, padding=1, dtype=np.float64)
    layer.params["W"][...] = 1.0
    y = layer.forward(np.full((1, 1, 1, 3, 3), 0.3))
    np.testing.assert_allclose(layer.membrane[0, 0, 0], [[0.3, 0.6, 0.6, 0.3], [0.6, 1.2, 1.2, 0.6],
                                                         [0.6, 1.2, 1.2, 0.6], [0.3, 0.6, 0.6, 0.3]])
    np.testing.assert_array_equal(y[0, 0, 0], layer.membrane[0, 0, 0] > 1)


def test_weights_in_pytorchs_layout():
    """params["W"] is (out, in, kh, kw) and a_t is PyTorch's conv2d of x_t (cross-correlation)."""
    layer = ConvSNU(2, 3, (2, 3), stride=(1, 2), padding=(1, 0), dtype=np.float64,
                    decay=0.0, g="identity", rng=0)
    assert layer.params["W"].shape == (3, 2, 2, 3) and layer.params["b"].shape == (3,)
    x = random_input(np.random.default_rng(1), (2, 2, 2, 5, 6))
    layer.forward(x)
    # an asymmetric kernel: a flipped (true) convolution would differ
    np.testing.assert_allclose(layer.membrane[0], direct_conv(x[0], layer.params["W"], (1, 2), (1, 0)))
    torch = pytest.importorskip("torch")
    expected = torch.nn.functional.conv2d(torch.from_numpy(x.reshape(4, 2, 5, 6)),
                                          torch.from_numpy(layer.params["W"]),
                                          stride=(1, 2), padding=(1, 0)).numpy()
    np.testing.assert_allclose(layer.membrane.reshape(expected.shape), expected, rtol=1e-12)


# -- 2. the soft ConvSNU's gradient is exact ---------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(case=conv_cases(), options=conv_settings(smooth=True), seed=seeds,
       engine=st.sampled_from(ENGINES))
def test_soft_conv_snu_gradients_match_finite_differences(case, options, seed, engine):
    shape, geometry = case
    rng = np.random.default_rng(seed)
    layer = make(shape, geometry, options, seed=seed, engine=engine)
    randomize(layer, rng)
    x = random_input(rng, shape[:3] + shape[4:])
    assert_layer_gradients(layer, x, rng=rng, max_entries=25)


def test_gradient_check_catches_a_wrong_gradient():
    rng = np.random.default_rng(0)
    layer = ConvSNU(2, 3, 3, padding=1, soft=True, dtype=np.float64)
    randomize(layer, rng)
    x = random_input(rng, (4, 2, 2, 5, 5))
    layer.detach_reset = True        # backward now omits a true term of the gradient
    assert gradcheck.check_layer(layer, x, max_entries=30).worst > 1e-3


@settings(max_examples=10, deadline=None)
@given(seed=seeds, pool=st.sampled_from([ms.AvgPool2d, ms.MaxPool2d]), k=st.integers(1, 3),
       options=conv_settings(smooth=True), engine=st.sampled_from(ENGINES))
def test_stack_gradients_match_finite_differences(seed, pool, k, options, engine):
    """conv-SNU → pool → flatten → Dense, with its loss, every parameter and the input."""
    rng = np.random.default_rng(seed)
    T, B, side = int(rng.integers(1, 4)), int(rng.integers(1, 3)), int(rng.integers(k + 2, 9))
    conv = ConvSNU(2, 3, 3, padding=int(rng.integers(0, 2)), **options, dtype=np.float64,
                   rng=rng, engine=engine)
    randomize(conv, rng)
    side_out = conv.output_shape(side, side)[0] // k
    net = ms.Sequential(conv, pool(k), ms.Flatten(), ms.Dense(3 * side_out**2, 4, dtype=np.float64,
                                                              rng=rng), ms.Readout("mean"))
    x = random_input(rng, (T, B, 2, side, side))
    labels = rng.integers(0, 4, B)
    assert_network_gradients(net, x, ms.losses.softmax_cross_entropy, labels, rng=rng,
                             max_entries=25)


# -- 3. the spiking ConvSNU's backward is BPTT of its surrogate ----------------------------------


def soft_twin(layer, x, y0, v0):
    """The smooth twin of a spiking ConvSNU around θ0 (see tests/test_snu.py): y_t =
    y0_t + P(v_t) − P(v0_t), P' = the surrogate; with detach_reset the gate sees y0."""
    p, opts = layer.params, layer.config()
    decay, b = layer.decay[:, None, None], p["b"][:, None, None]
    s = y = 0.0
    out = []
    for t in range(len(x)):
        y_gate = (y0[t - 1] if t else 0.0) if opts["detach_reset"] else y
        a = conv2d(x[t], p["W"], layer.stride, layer.padding)
        s = snu_reference.g_forward(a + decay * s * (1 - y_gate), opts["g"], G_SLOPE)
        P = lambda v: primitive(v, opts["surrogate"])  # noqa: E731
        y = (y0[t] - P(v0[t])) + P(s + b)
        out.append(y)
    return np.stack(out)


@settings(max_examples=25, deadline=None)
@given(case=conv_cases(), options=conv_settings(soft=False), seed=seeds,
       engine=st.sampled_from(ENGINES))
def test_spiking_backward_is_bptt_of_the_surrogate(case, options, seed, engine):
    shape, geometry = case
    rng = np.random.default_rng(seed)
    layer = make(shape, geometry, options, seed=seed, engine=engine)
    randomize(layer, rng, scale=0.5)
    x = random_input(rng, shape[:3] + shape[4:])
    y0 = layer.forward(x).copy()
    v0 = layer.membrane + layer.params["b"][:, None, None]
    size = 1 + np.abs(primitive(v0, options["surrogate"])).max()
    np.testing.assert_allclose(soft_twin(layer, x, y0, v0), y0, atol=1e-10 * size)

    dy = rng.standard_normal(y0.shape)
    layer.zero_grad()
    dx = layer.backward(dy)
    report = gradcheck.check_function(lambda: float(np.sum(soft_twin(layer, x, y0, v0) * dy)),
                                      dict(layer.params, x=x), dict(layer.grads, x=dx), rng=rng,
                                      max_entries=25, magnitude=float(np.sum(np.abs(dy))) * size)
    assert report.passed(1e-6), str(report)


# -- 4. engine = reference ----------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(case=conv_cases(), options=conv_settings(), seed=seeds,
       dtype=st.sampled_from([np.float32, np.float64]), per_block=st.integers(1, 4))
def test_engine_equals_reference(case, options, seed, dtype, per_block):
    """The engine in blocks of ``per_block`` images (the last one often smaller) equals the
    NumPy reference, forward and backward."""
    shape, geometry = case
    with patch.object(conv_snu, "BLOCK_BYTES", per_block * patch_bytes(shape, geometry, dtype)):
        engine_equals_reference(shape, geometry, options, seed, dtype)


def patch_bytes(shape, geometry, dtype):
    """The bytes of one image's patches (its rows of cols)."""
    layer = make(shape, geometry, {}, dtype)
    Ho, Wo = layer.output_shape(*shape[4:])
    return Ho * Wo * int(np.prod(layer.kernel_size)) * shape[2] * np.dtype(dtype).itemsize


def engine_equals_reference(shape, geometry, options, seed, dtype):
    rng = np.random.default_rng(seed)
    options["decay"] = float(rng.choice([0.0, 0.5, 1.0]))
    if options["g"] == "leaky_relu" and not options["soft"]:
        options["g"] = "relu"          # its slope 0.01 is off the exact grid below
    engine = make(shape, geometry, options, dtype, seed)
    reference = make(shape, geometry, options, dtype, seed, engine="reference")
    if options["soft"]:
        randomize(engine, rng)
    else:   # weights on a grid of 1/8: the currents are exact in any summation order
        engine.params["W"][...] = rng.integers(-12, 13, engine.params["W"].shape) / 8
        engine.params["b"][...] = rng.integers(-16, 5, engine.params["b"].shape) / 8
    for name, p in engine.params.items():
        reference.params[name][...] = p
    x = random_input(rng, shape[:3] + shape[4:], dtype=dtype, spikes=True)

    y_engine, y_reference = engine.forward(x), reference.forward(x)
    if options["soft"]:
        np.testing.assert_allclose(y_engine, y_reference, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(engine.membrane, reference.membrane, rtol=1e-5, atol=1e-5)
    else:
        np.testing.assert_array_equal(y_engine, y_reference)
        np.testing.assert_array_equal(engine.membrane, reference.membrane)

    dy = rng.standard_normal(y_engine.shape).astype(dtype)
    (dx_e, g_e), (dx_r, g_r) = [(layer.backward(dy), layer.grads) for layer in (engine, reference)]
    rtol = 1e-9 if dtype == np.float64 else 2e-4
    for name, a, b in [("x", dx_e, dx_r)] + [(k, g_e[k], g_r[k]) for k in g_e]:
        assert a.dtype == dtype
        scale = max(np.abs(b).max(), 1.0)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * scale, err_msg=name)


# -- 5. state, errors, contract, checkpoints -----------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_stateful_halves_equal_the_whole_sequence(engine):
    rng = np.random.default_rng(0)
    x = random_input(rng, (10, 2, 2, 6, 6), spikes=True)
    whole = ConvSNU(2, 3, 3, dtype=np.float64, rng=1, engine=engine)
    halves = ConvSNU(2, 3, 3, dtype=np.float64, rng=1, engine=engine, stateful=True)
    for layer in (whole, halves):
        randomize(layer, np.random.default_rng(2))
    y = whole.forward(x)
    y_split = np.concatenate([halves.forward(x[:4]), halves.forward(x[4:])])
    np.testing.assert_allclose(y_split, y, rtol=1e-12, atol=1e-12)
    assert y.any() and not y.all()
    np.testing.assert_array_equal(halves.state[0], whole.membrane[-1])
    with pytest.raises(ValueError, match=r"carries a state of shape \(2, 3, 4, 4\).*reset_state"):
        halves.forward(x[:, :1])
    halves.reset_state()
    np.testing.assert_array_equal(halves.forward(x[:4]), y[:4])


@pytest.mark.parametrize("soft", [False, True])
@pytest.mark.parametrize("engine", ENGINES)
def test_layer_contract(soft, engine):
    layer = ConvSNU(2, 3, 3, stride=2, padding=1, soft=soft, train_decay=True, engine=engine)
    x = random_input(np.random.default_rng(0), (4, 2, 2, 7, 7), dtype=np.float32, spikes=True)
    assert_layer_contract(layer, x)
    assert {k: v.shape for k, v in layer.params.items()} == {"W": (3, 2, 3, 3), "b": (3,),
                                                             "decay": (3,)}
    assert layer.forward(x).shape == (4, 2, 3, 4, 4)
    np.testing.assert_array_equal(layer.params["b"], -1.0)
    assert ms.ConvSNU is ConvSNU


@pytest.mark.parametrize("engine", ENGINES)
def test_without_input_gradient_backward_returns_none_and_the_same_parameter_gradients(engine):
    rng = np.random.default_rng(3)
    x = random_input(rng, (4, 2, 2, 6, 6), spikes=True)
    full, data_fed = (ConvSNU(2, 3, 3, soft=True, train_decay=True, dtype=np.float64, rng=1,
                              engine=engine) for _ in range(2))
    data_fed.input_gradient = False
    dy = rng.standard_normal((4, 2, 3, 4, 4))
    dx = [layer.forward(x) is not None and layer.backward(dy) for layer in (full, data_fed)]
    assert dx[0].shape == x.shape and dx[1] is None
    for name, grad in full.grads.items():
        np.testing.assert_array_equal(data_fed.grads[name], grad, err_msg=name)
        assert np.abs(grad).max() > 0


def test_same_seed_same_layer():
    a, b, c = ConvSNU(2, 3, 3, rng=7), ConvSNU(2, 3, 3, rng=7), ConvSNU(2, 3, 3, rng=8)
    np.testing.assert_array_equal(a.params["W"], b.params["W"])
    assert not np.array_equal(a.params["W"], c.params["W"])
    limit = np.sqrt(6 / (2 * 9 + 3))      # Glorot for the (C·kh·kw) × O patch matrix
    assert np.abs(a.params["W"]).max() <= limit


@pytest.mark.parametrize("kwargs,error,match", [
    ({"kernel_size": 0}, ValueError, "kernel_size must be positive"),
    ({"kernel_size": (3, 3, 3)}, TypeError, "kernel_size must be an int or a pair"),
    ({"kernel_size": 2.5}, TypeError, "kernel_size must be an int or a pair"),
    ({"stride": 0}, ValueError, "stride must be positive"),
    ({"padding": -1}, ValueError, "padding must be >= 0"),
    ({"padding": "same"}, TypeError, "padding must be an int or a pair"),
    ({"decay": 1.5}, ValueError, r"decay must lie in \[0, 1\]"),
    ({"decay": [0.5, 0.5]}, ValueError, r"decay must be a number or have shape \(3,\)"),
    ({"g": "tanh"}, ValueError, "unknown g 'tanh'"),
    ({"surrogate": "box"}, ValueError, "unknown surrogate 'box'"),
    ({"engine": "cuda"}, ValueError, "unknown engine"),
    ({"dtype": np.int32}, TypeError, "dtype must be float32 or float64"),
    ({"in_channels": 0}, ValueError, "in_channels must be positive"),
    ({"out_channels": 2.0}, TypeError, "out_channels must be an int"),
])
def test_bad_options(kwargs, error, match):
    args = {"in_channels": 2, "out_channels": 3, "kernel_size": 3} | kwargs
    with pytest.raises(error, match=match) as info:
        ConvSNU(**args)
    assert isinstance(info.value, ms.core.errors.MinisnuError) and "\n" not in str(info.value)


def test_bad_input():
    layer = ConvSNU(2, 3, 3)
    x = np.zeros((4, 2, 2, 5, 5), np.float32)
    for bad, match in [(np.zeros((4, 2, 5, 5), np.float32), "x must have 5 dimensions"),
                       (np.zeros((4, 2, 3, 5, 5), np.float32), "x must have 2 channels on axis 2"),
                       (np.zeros((4, 2, 2, 2, 5), np.float32), r"images of 2×5 pixels are smaller"),
                       (x.astype(np.float64), "dtype float64 but the layer computes in float32"),
                       (np.full_like(x, np.nan), "NaN or infinite")]:
        with pytest.raises(ms.core.errors.MinisnuError, match=match):
            layer.forward(bad)
    with pytest.raises(RuntimeError, match="backward called before forward"):
        layer.backward(np.zeros((4, 2, 3, 3, 3), np.float32))
    assert layer.forward(x > 0).dtype == np.float32          # bool spikes are accepted
    with pytest.raises(ValueError, match=r"dy must have shape \(4, 2, 3, 3, 3\)"):
        layer.backward(np.zeros((4, 2, 3, 3, 2), np.float32))
    with pytest.raises(ValueError, match="state s_0 must have 3 channels"):
        layer.state = (np.zeros((2, 2, 3, 3), np.float32),) * 2
    layer.params["W"][0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"parameter 'W' of ConvSNU contains 1 NaN"):
        layer.forward(x)


def test_checkpoint_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    net = ms.Sequential(
        ConvSNU(1, 4, (3, 2), stride=(1, 2), padding=1, soft=True, decay=[0.1, 0.5, 0.9, 1.0],
                train_decay=True, g="leaky_relu", rng=0),
        ms.MaxPool2d(2), ConvSNU(4, 2, 2, surrogate="arctan", detach_reset=True, rng=1),
        ms.AvgPool2d(1), ms.Flatten(), ms.SNU(6, 3, rng=2), ms.Readout("mean"))
    x = random_input(rng, (5, 2, 1, 9, 9), dtype=np.float32, spikes=True)
    for layer in net.layers:
        for p in layer.params.values():
            p += np.float32(0.1)
    y = net.forward(x)
    net.save(tmp_path / "net.npz")
    loaded = ms.Sequential.load(tmp_path / "net.npz")
    assert [layer.config() for layer in loaded.layers] == [layer.config() for layer in net.layers]
    np.testing.assert_array_equal(loaded.forward(x), y)
