"""The layer contract, checked on every simple layer (Dense, Embedding, Dropout, Readout)."""

import json

import numpy as np
import pytest

from minisnu.core.registry import layer_type
from minisnu.layers.dense import Dense
from minisnu.layers.dropout import Dropout
from minisnu.layers.embedding import Embedding
from minisnu.layers.readout import Readout

T, B = 4, 3


def float_input(n):
    return lambda dtype: np.random.default_rng(1).standard_normal((T, B, n)).astype(dtype)


def index_input(dtype):
    return np.random.default_rng(1).integers(0, 7, (T, B))


# (id, factory(dtype) -> layer, input(dtype) -> x)
CASES = [
    ("dense", lambda dt: Dense(5, 4, dtype=dt), float_input(5)),
    ("dense-nobias", lambda dt: Dense(5, 4, bias=False, dtype=dt), float_input(5)),
    ("embedding", lambda dt: Embedding(7, 4, dtype=dt), index_input),
    ("dropout", lambda dt: Dropout(0.3), float_input(5)),
    ("dropout-shared", lambda dt: Dropout(0.3, shared_over_time=True), float_input(5)),
    ("readout-sum", lambda dt: Readout("sum"), float_input(5)),
    ("readout-mean", lambda dt: Readout("mean"), float_input(5)),
    ("readout-last", lambda dt: Readout("last"), float_input(5)),
]


@pytest.fixture(params=CASES, ids=[c[0] for c in CASES])
def case(request):
    return request.param[1], request.param[2]


def test_params_and_grads_match(case):
    make, _ = case
    layer = make(np.float32)
    assert layer.params.keys() == layer.grads.keys()
    for k in layer.params:
        assert layer.grads[k].shape == layer.params[k].shape
        assert layer.grads[k].dtype == layer.params[k].dtype
        assert not layer.grads[k].any()


def test_backward_accumulates_and_zero_grad_clears(case):
    make, inp = case
    layer = make(np.float64)
    y = layer.forward(inp(np.float64))
    dy = np.random.default_rng(2).standard_normal(y.shape)
    dx1 = layer.backward(dy)
    once = {k: g.copy() for k, g in layer.grads.items()}
    dx2 = layer.backward(dy)
    for k, g in layer.grads.items():
        np.testing.assert_allclose(g, 2 * once[k], rtol=1e-12)
    if dx1 is not None:
        np.testing.assert_array_equal(dx1, dx2)
    layer.zero_grad()
    assert all(not g.any() for g in layer.grads.values())


def test_float32_is_preserved(case):
    make, inp = case
    layer = make(np.float32)
    y = layer.forward(inp(np.float32))
    assert y.dtype == np.float32
    dx = layer.backward(np.ones_like(y))
    assert dx is None or dx.dtype == np.float32
    assert all(g.dtype == np.float32 for g in layer.grads.values())


def test_float64_on_request(case):
    make, inp = case
    layer = make(np.float64)
    assert all(p.dtype == np.float64 for p in layer.params.values())
    assert layer.forward(inp(np.float64)).dtype == np.float64


def test_backward_before_forward(case):
    make, _ = case
    with pytest.raises(RuntimeError, match="before forward"):
        make(np.float32).backward(np.zeros((T, B, 4), np.float32))


def test_dy_of_wrong_shape(case):
    make, inp = case
    layer = make(np.float32)
    y = layer.forward(inp(np.float32))
    with pytest.raises(ValueError, match="dy must have shape"):
        layer.backward(np.zeros(y.shape + (1,), np.float32))


def test_dy_of_wrong_dtype(case):
    make, inp = case
    layer = make(np.float32)
    y = layer.forward(inp(np.float32))
    with pytest.raises(TypeError, match="dy has dtype float64"):
        layer.backward(np.zeros(y.shape, np.float64))


def test_config_rebuilds_the_layer(case):
    make, _ = case
    layer = make(np.float64)
    config = json.loads(json.dumps(layer.config()))  # JSON-friendly
    cls = layer_type(type(layer).__name__)  # registered under its class name
    assert cls is type(layer)
    assert cls(**config).config() == layer.config()


def test_train_and_eval_flags(case):
    make, _ = case
    layer = make(np.float32)
    assert layer.training
    assert layer.eval() is layer and not layer.training
    assert layer.train().training
