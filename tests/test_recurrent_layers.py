"""What the temporal units share, proven for each of them.

Sections 1, 2 and 4 run once per recurrent baseline (RNN, LSTM, GRU; the
hypothesis tests draw their 30 examples per class); section 3 and the checks of
section 5, the contract of their common base ``TemporalLayer``, run for the SNU
too. A layer carries the state its ``state_names`` list: (h,) for the RNN and
the GRU, (h, c) for the LSTM, (s, y) for the SNU; each is recorded for every
step (h and y as ``.output``, c as the LSTM's ``.cell``, s as the SNU's ``.membrane``).

1. backward is the exact gradient (finite differences, float64), for both
   engines, from zeros and from a nonzero carried state;
2. the Numba engine equals the NumPy reference, in float32 and float64
   (outputs, recorded states, gradients);
3. the carried state: halves of a sequence give what the whole does; a layer
   that is not stateful starts every pass from zeros or from the state it was
   given; a given state is checked and copied; a carried state of another
   batch size asks for reset_state();
4. initialisation (Glorot W, one orthogonal block of U per gate, the initial
   bias) and checkpoints through Sequential;
5. the layer contract, bad input and bad options; every unit is a
   ``TemporalLayer`` and no unit imports another.

What is specific to one unit stays in its own file: the forward pass computed
by hand (test_rnn.py, test_lstm.py; test_gru.py against PyTorch's GRU
equations, telling them apart from the reset-before variant), a test that the
gradient check of (1) fails when the recurrent path of backward is cut, and,
for the LSTM, the forget bias, its options and its (h, c) state checks. The
SNU's gradients, engines, options and edge cases are in test_snu.py.
"""

import ast
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from helpers import ENGINES, randomize
from hypothesis import given, settings
from hypothesis import strategies as st

from minisnu.layers.dense import Dense
from minisnu.layers.sequential import Sequential
from minisnu.training.testing import (
    assert_layer_contract,
    assert_layer_gradients,
    layer_gradient_test,
    random_input,
    sequence_shapes,
)
from minisnu.units import recurrence, temporal
from minisnu.units.gru import GRU
from minisnu.units.lstm import LSTM
from minisnu.units.rnn import RNN
from minisnu.units.snu import SNU
from minisnu.units.temporal import TemporalLayer

LAYERS = [RNN, LSTM, GRU]
UNITS = [SNU, RNN, LSTM, GRU]
seeds = st.integers(0, 2**32 - 1)
by_layer = pytest.mark.parametrize("cls", LAYERS, ids=lambda cls: cls.__name__)
by_unit = pytest.mark.parametrize("cls", UNITS, ids=lambda cls: cls.__name__)

GATES = {RNN: 1, LSTM: 4, GRU: 3}                     # blocks of W, U and b, one per gate
RECORD = {"h": "output", "c": "cell", "s": "membrane", "y": "output"}   # state -> its record
OPTIONS = {RNN: {}, LSTM: {"forget_bias": 2.0}, GRU: {}}   # non-default options, for the checkpoint


def initial_bias(cls, n):
    """b at initialisation: zero, except the LSTM's forget gate (i, f, g, o), 1."""
    return np.repeat([0, 1, 0, 0], n) if cls is LSTM else np.zeros(GATES[cls] * n)


def random_state(layer, rng, B, dtype=np.float64):
    """A nonzero carried state: h in (−1, 1) as the units make it, the LSTM's c unbounded."""
    h = np.tanh(rng.standard_normal((B, layer.n_out))).astype(dtype)
    return (h, *(rng.standard_normal((B, layer.n_out)).astype(dtype) for _ in layer.state_names[1:]))


# -- 1. the gradient is exact -------------------------------------------------------------


@by_unit
@pytest.mark.parametrize("engine", ENGINES)
def test_without_input_gradient_backward_returns_none_and_the_same_parameter_gradients(cls, engine):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 2, 4))
    dy = rng.standard_normal((5, 2, 3))
    soft = {"soft": True} if cls is SNU else {}
    full, data_fed = (cls(4, 3, dtype=np.float64, rng=1, engine=engine, **soft) for _ in range(2))
    data_fed.input_gradient = False
    dx = [layer.forward(x) is not None and layer.backward(dy) for layer in (full, data_fed)]
    assert dx[0].shape == x.shape and dx[1] is None
    for name, grad in full.grads.items():
        np.testing.assert_array_equal(data_fed.grads[name], grad, err_msg=name)
        assert np.abs(grad).max() > 0


@by_layer
@settings(max_examples=30, deadline=None)
@given(shape=sequence_shapes(), seed=seeds, engine=st.sampled_from(ENGINES), given_state=st.booleans())
def test_gradients_match_finite_differences(cls, shape, seed, engine, given_state):
    T, B, n_in, n_out = shape
    rng = np.random.default_rng(seed)
    layer = cls(n_in, n_out, dtype=np.float64, rng=rng, engine=engine)
    randomize(layer, rng)
    if given_state:   # a nonzero carried state, held constant (truncated BPTT)
        layer.state = random_state(layer, rng, B)
    x = random_input(rng, (T, B, n_in))
    assert_layer_contract(layer, x)
    assert_layer_gradients(layer, x, rng=rng)


def randomized_lstm(n_in, n_out, rng, forget_bias, engine):
    layer = LSTM(n_in, n_out, dtype=np.float64, rng=rng, forget_bias=forget_bias, engine=engine)
    np.testing.assert_array_equal(layer.params["b"][n_out:2 * n_out], forget_bias)
    randomize(layer, rng)
    return layer


# the ready-made property test of minisnu.training.testing, with the LSTM's options drawn
test_lstm_options_by_the_ready_made_property_test = layer_gradient_test(
    randomized_lstm, max_examples=10,
    options=st.fixed_dictionaries({"forget_bias": st.floats(-3, 3), "engine": st.sampled_from(ENGINES)}))


# -- 2. engine = reference ---------------------------------------------------------------


@by_layer
@settings(max_examples=30, deadline=None)
@given(shape=sequence_shapes(), seed=seeds, dtype=st.sampled_from([np.float32, np.float64]),
       stateful=st.booleans(), compiled=st.booleans())
def test_engine_equals_reference(cls, shape, seed, dtype, stateful, compiled):
    """Both ways the engine runs the loop agree with the reference: wholly compiled (small
    layers) and in Python around BLAS's per-step products (large ones)."""
    limit = recurrence.COMPILED_RECURRENCE if compiled else -1
    with mock.patch.object(recurrence, "COMPILED_RECURRENCE", limit):
        check_engine_equals_reference(cls, shape, seed, dtype, stateful)


def check_engine_equals_reference(cls, shape, seed, dtype, stateful):
    T, B, n_in, n_out = shape
    rng = np.random.default_rng(seed)
    layers = [cls(n_in, n_out, stateful=stateful, dtype=dtype, rng=seed, engine=engine)
              for engine in ENGINES]
    randomize(layers[0], rng)
    for name, p in layers[0].params.items():
        layers[1].params[name][...] = p
    state = random_state(layers[0], rng, B, dtype)
    for layer in layers if stateful else []:
        layer.state = state
    x = random_input(rng, (T, B, n_in), dtype=dtype)
    dy = rng.standard_normal((T, B, n_out)).astype(dtype)
    rtol = 1e-12 if dtype == np.float64 else 1e-4
    y_e, y_r = [layer.forward(x) for layer in layers]
    np.testing.assert_allclose(y_e, y_r, rtol=rtol, atol=rtol)
    for name in layers[0].state_names:       # the LSTM's cell as well as h
        record = RECORD[name]
        np.testing.assert_allclose(getattr(layers[0], record), getattr(layers[1], record),
                                   rtol=rtol, atol=rtol, err_msg=record)
    dx_e, dx_r = [layer.backward(dy) for layer in layers]
    pairs = [("x", dx_e, dx_r)] + [(k, layers[0].grads[k], layers[1].grads[k]) for k in "WUb"]
    for name, a, b in pairs:
        scale = max(np.abs(b).max(), 1.0)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * scale, err_msg=name)


# -- 3. the carried state ----------------------------------------------------------------


@by_unit
@pytest.mark.parametrize("engine", ENGINES)
def test_stateful_halves_equal_the_whole(cls, engine):
    rng = np.random.default_rng(0)
    x = random_input(rng, (10, 3, 2))
    whole = cls(2, 4, dtype=np.float64, rng=1, engine=engine)
    halves = cls(2, 4, stateful=True, dtype=np.float64, rng=1, engine=engine)
    y = whole.forward(x)
    y_halves = np.concatenate([halves.forward(x[:4]), halves.forward(x[4:])])
    np.testing.assert_allclose(y_halves, y, rtol=1e-12)
    assert len(halves.state) == len(cls.state_names)
    for name, carried in zip(cls.state_names, halves.state):   # h = y[-1]; the LSTM's c too
        np.testing.assert_allclose(carried, getattr(whole, RECORD[name])[-1], rtol=1e-12,
                                   err_msg=name)
    assert y.any()
    halves.reset_state()
    assert halves.state is None
    np.testing.assert_allclose(halves.forward(x[4:]), whole.forward(x[4:]), rtol=1e-12)


@by_unit
def test_not_stateful_starts_from_zeros_or_the_given_state(cls):
    layer = cls(2, 3, rng=0)
    x = random_input(np.random.default_rng(0), (4, 2, 2), dtype=np.float32)
    record = RECORD[cls.state_names[0]]       # h, or the SNU's membrane s
    first = layer.forward(x).copy(), getattr(layer, record).copy()
    np.testing.assert_array_equal(layer.forward(x), first[0])
    assert layer.state is None
    layer.state = tuple(np.full((2, 3), 0.5, np.float32) for _ in cls.state_names)
    given = layer.forward(x).copy(), getattr(layer, record).copy()   # every pass starts from it
    np.testing.assert_array_equal(layer.forward(x), given[0])
    np.testing.assert_array_equal(getattr(layer, record), given[1])
    assert not np.array_equal(given[1], first[1])
    assert layer.state is not None           # not stateful: the given state stays
    names = ", ".join(cls.state_names)
    with pytest.raises(ValueError, match=rf"state of {cls.__name__} is a tuple \({names}\)"):
        layer.state = tuple(np.zeros((2, 3), np.float32) for _ in range(len(cls.state_names) + 1))
    with pytest.raises(ValueError, match="3 features"):
        layer.state = tuple(np.zeros((2, 4), np.float32) for _ in cls.state_names)


@by_unit
def test_given_state_is_checked_and_copied(cls):
    layer = cls(2, 3, rng=0)
    names = cls.state_names
    state = [np.full((2, 3), 0.5, np.float32) for _ in names]
    layer.state = state
    state[0][...] = 7                         # the layer keeps a copy
    assert all(np.array_equal(a, np.full((2, 3), 0.5)) for a in layer.state)
    assert isinstance(layer.state, tuple) and len(layer.state) == len(names)
    with pytest.raises(ValueError, match=rf"state of {cls.__name__} is a tuple"):
        layer.state = np.zeros((2, 3), np.float32)
    with pytest.raises(TypeError, match=rf"state {names[0]}_0 has dtype float64"):
        layer.state = tuple(np.zeros((2, 3)) for _ in names)
    with pytest.raises(ValueError, match=rf"state {names[0]}_0 must have 2 dimensions"):
        layer.state = tuple(np.zeros((2, 1, 3), np.float32) for _ in names)
    with pytest.raises(ValueError, match=rf"state {names[0]}_0 contains 2 NaN"):
        layer.state = tuple(np.where(np.arange(3) == 0, np.nan, np.zeros((2, 3), np.float32))
                            for _ in names)
    for k, name in enumerate(names[1:], 1):   # the others: the first one's shape
        bad = [np.zeros((2, 3), np.float32) for _ in names]
        bad[k] = np.zeros((4, 3), np.float32)
        with pytest.raises(ValueError, match=rf"state {name}_0 must have shape \(2, 3\)"):
            layer.state = tuple(bad)
    layer.reset_state()
    assert layer.state is None


@by_unit
def test_batch_size_mismatch_asks_for_reset_state(cls):
    layer = cls(2, 3, stateful=True, rng=0)
    layer.forward(np.zeros((4, 2, 2), np.float32))
    with pytest.raises(ValueError, match=r"state of 2 sequences.*batch of 5.*reset_state\(\)"):
        layer.forward(np.zeros((4, 5, 2), np.float32))
    layer.reset_state()
    assert layer.forward(np.zeros((4, 5, 2), np.float32)).shape == (4, 5, 3)


# -- 4. initialisation, checkpoints -------------------------------------------------------


@by_layer
def test_initialisation(cls):
    n, gates = 4, GATES[cls]
    layer = cls(5, n, rng=0)
    W, U, b = layer.params["W"], layer.params["U"], layer.params["b"]
    assert (W.shape, U.shape, b.shape) == ((5, gates * n), (n, gates * n), (gates * n,))
    assert all(p.dtype == np.float32 for p in layer.params.values())
    assert np.abs(W).max() <= np.sqrt(6 / (5 + gates * n)) and W.std() > 0.1   # Glorot uniform
    blocks = [U[:, k * n:(k + 1) * n] for k in range(gates)]
    for block in blocks:                                     # one orthogonal block per gate
        np.testing.assert_allclose(block.T @ block, np.eye(n), atol=1e-6)
    assert all(not np.array_equal(blocks[0], other) for other in blocks[1:])   # drawn apart
    np.testing.assert_array_equal(b, initial_bias(cls, n))
    np.testing.assert_array_equal(cls(5, n, rng=np.random.default_rng(0)).params["U"], U)
    assert not np.array_equal(cls(5, n, rng=1).params["U"], U)


# -- 5. contract, errors, the base ----------------------------------------------------------


@by_unit
@pytest.mark.parametrize("engine", ENGINES)
def test_layer_contract_float32(cls, engine):
    layer = cls(3, 4, stateful=True, rng=0, engine=engine)
    assert_layer_contract(layer, random_input(np.random.default_rng(0), (5, 2, 3), np.float32))
    for name in cls.state_names:            # h or y (.output), the LSTM's c, the SNU's s
        record = getattr(layer, RECORD[name])
        assert record.shape == (5, 2, 4) and record.dtype == np.float32


@by_layer
def test_save_load_round_trip(cls, tmp_path):
    net = Sequential(cls(3, 4, stateful=True, dtype=np.float64, rng=1, engine="reference",
                         **OPTIONS[cls]),
                     Dense(4, 2, dtype=np.float64))
    for _, p, _ in net.parameters():
        p += 0.1
    net.save(tmp_path / "net.npz")
    loaded = Sequential.load(tmp_path / "net.npz")
    assert type(loaded[0]) is cls
    assert loaded[0].config() == net[0].config() == {
        "n_in": 3, "n_out": 4, "stateful": True, "dtype": "float64", "engine": "reference",
        **OPTIONS[cls]}
    x = random_input(np.random.default_rng(0), (5, 2, 3))
    np.testing.assert_array_equal(loaded.forward(x), net.forward(x))


@by_unit
def test_bad_input(cls):
    layer = cls(3, 2)
    x = np.zeros((4, 2, 3), np.float32)
    with pytest.raises(ValueError, match="x must have 3 dimensions"):
        layer.forward(x[0])
    with pytest.raises(ValueError, match="3 features on its last axis"):
        layer.forward(np.zeros((4, 2, 5), np.float32))
    with pytest.raises(ValueError, match="NaN or infinite"):
        layer.forward(np.where(np.arange(3) == 1, np.nan, x).astype(np.float32))
    with pytest.raises(TypeError, match="layer computes in float32"):
        layer.forward(x.astype(np.float64))
    with pytest.raises(RuntimeError, match="backward called before forward"):
        layer.backward(np.zeros((4, 2, 2), np.float32))
    for name in cls.state_names:            # .output, the LSTM's .cell, the SNU's .membrane
        with pytest.raises(RuntimeError, match="backward called before forward"):
            getattr(layer, RECORD[name])
    layer.forward(x)
    with pytest.raises(ValueError, match=r"dy must have shape \(4, 2, 2\)"):
        layer.backward(np.zeros((4, 2, 3), np.float32))


@by_unit
@pytest.mark.parametrize("kwargs,error,match", [
    ({"engine": "cuda"}, ValueError, "unknown engine"),
    ({"n_in": 0}, ValueError, "n_in must be positive"),
    ({"n_out": 0}, ValueError, "n_out must be positive"),
    ({"dtype": np.int32}, TypeError, "dtype must be float32 or float64"),
    ({"rng": "seed"}, TypeError, "rng must be an int seed"),
])
def test_bad_options(cls, kwargs, error, match):
    with pytest.raises(error, match=match):
        cls(**{"n_in": 2, "n_out": 3} | kwargs)


UNIT_MODULES = {"snu": {"snu", "conv_snu", "snu_reference", "snu_engine", "surrogate"},
                "rnn": {"rnn"}, "lstm": {"lstm"}, "gru": {"gru"}}   # unit -> its own modules


def test_every_unit_is_a_temporal_layer_and_imports_no_other_unit():
    """The carried state, the engines and the products outside the loop are written once,
    in the base (with the per-step product of the compiled loops, ``recurrence``); a unit's
    modules import those, the core and their own modules only."""
    assert all(issubclass(cls, TemporalLayer) for cls in UNITS)
    assert {cls.__module__.rsplit(".", 1)[1] for cls in UNITS} == set(UNIT_MODULES)
    folder = Path(temporal.__file__).parent
    owner = {module: unit for unit, modules in UNIT_MODULES.items() for module in modules}
    shared = {"temporal", "recurrence"}
    assert {p.stem for p in folder.glob("*.py")} == set(owner) | {"__init__"} | shared
    for module, unit in owner.items():
        for node in ast.walk(ast.parse((folder / f"{module}.py").read_text())):
            if not isinstance(node, ast.ImportFrom) or node.level == 0:
                continue
            if node.level == 2:                   # from ..core.x: below the units
                assert node.module.split(".")[0] == "core", f"{module}.py imports ..{node.module}"
                continue
            targets = [node.module] if node.module else [alias.name for alias in node.names]
            for target in targets:
                assert target in UNIT_MODULES[unit] | shared, f"{module}.py imports .{target}"
