import json
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minisnu.core.io
from minisnu.core.io import atomic_write, save_npz_atomic
from minisnu.layers.dense import Dense
from minisnu.layers.dropout import Dropout
from minisnu.layers.embedding import Embedding
from minisnu.layers.readout import Readout
from minisnu.layers.sequential import Sequential
from minisnu.training.gradcheck import check_network


def half_squared_norm(out, target):
    """L = ½ Σ (out − target)², dL/dout = out − target."""
    diff = out - target
    return 0.5 * float(np.sum(diff**2)), diff


def make_net(dtype=np.float32, rng=0):
    return Sequential(
        Dense(5, 4, dtype=dtype, rng=rng),
        Dropout(0.3, shared_over_time=True, rng=rng),
        Dense(4, 3, dtype=dtype, rng=rng + 1),
        Readout("mean"),
    )


def inputs(dtype=np.float32, shape=(6, 2, 5)):
    return np.random.default_rng(9).standard_normal(shape).astype(dtype)


# ---- gradients ------------------------------------------------------------


@settings(max_examples=10, deadline=None)
@given(
    T=st.integers(1, 4),
    B=st.integers(1, 3),
    sizes=st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4)),
    mode=st.sampled_from(["sum", "mean", "last"]),
    seed=st.integers(0, 2**16),
)
def test_network_gradients_match_finite_differences(T, B, sizes, mode, seed):
    n_in, n_hidden, n_out = sizes
    net = Sequential(
        Dense(n_in, n_hidden, dtype=np.float64, rng=seed),
        Dropout(0.4, rng=seed),
        Dense(n_hidden, n_out, dtype=np.float64, rng=seed + 1),
        Readout(mode),
    )
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((T, B, n_in))
    target = rng.standard_normal((B, n_out))
    report = check_network(net, x, half_squared_norm, target, rng=seed)
    assert report.worst < 1e-6, str(report)
    assert set(report.errors) == {"0.W", "0.b", "2.W", "2.b", "x"}


def test_embedding_network_gradients():
    net = Sequential(Embedding(6, 4, dtype=np.float64), Dense(4, 3, dtype=np.float64), Readout("sum"))
    rng = np.random.default_rng(0)
    idx = rng.integers(0, 6, (5, 2))
    report = check_network(net, idx, half_squared_norm, rng.standard_normal((2, 3)))
    assert report.worst < 1e-6, str(report)
    y = net.forward(idx)
    assert net.backward(np.ones_like(y)) is None  # indices are not differentiable


def test_only_the_first_layer_may_return_no_gradient():
    net = Sequential(Dense(3, 3), Embedding(4, 2))
    net[1].forward(np.array([0, 3]))  # (a Dense cannot feed indices to it)
    with pytest.raises(ValueError, match=r"layer 1 \(Embedding\) returned no input gradient"):
        net.backward(np.zeros((2, 2), np.float32))


# ---- parameters and the layer contract --------------------------------------


def test_params_are_the_layers_own_arrays():
    net = make_net()
    assert list(net.params) == ["0.W", "0.b", "2.W", "2.b"]
    assert net.params.keys() == net.grads.keys()
    assert net.params["2.W"] is net[2].params["W"]
    assert net.grads["0.b"] is net[0].grads["b"]
    triples = list(net.parameters())
    assert [name for name, _, _ in triples] == list(net.params)
    assert all(p is net.params[n] and g is net.grads[n] for n, p, g in triples)
    assert net.n_params == 5 * 4 + 4 + 4 * 3 + 3


def test_in_place_update_changes_the_output():
    net = make_net().eval()
    x = inputs()
    before = net.forward(x)
    for _, p, _ in net.parameters():
        p *= 0.5  # what an optimizer does
    assert not np.allclose(before, net.forward(x))


def test_backward_accumulates_and_zero_grad_clears():
    net = make_net(np.float64)
    y = net.forward(inputs(np.float64))
    net.backward(np.ones_like(y))
    once = {k: g.copy() for k, g in net.grads.items()}
    net.backward(np.ones_like(y))
    for k, g in net.grads.items():
        np.testing.assert_allclose(g, 2 * once[k])
    net.zero_grad()
    assert not any(g.any() for g in net.grads.values())


def test_float32_end_to_end():
    net = make_net(np.float32)
    y = net.forward(inputs(np.float32))
    assert y.dtype == np.float32 and y.shape == (2, 3)
    assert net.backward(np.ones_like(y)).dtype == np.float32
    assert all(g.dtype == np.float32 for g in net.grads.values())


def test_train_and_eval_reach_every_layer():
    net = make_net()
    assert net.eval() is net
    assert not net.training and not any(layer.training for layer in net)
    net.train()
    assert net.training and all(layer.training for layer in net)
    x = inputs()
    net.eval()
    np.testing.assert_array_equal(net.forward(x), net.forward(x))  # dropout off


def test_container_protocol_and_repr():
    net = make_net()
    assert len(net) == 4
    assert isinstance(net[1], Dropout) and isinstance(net[-1], Readout)
    assert [type(layer).__name__ for layer in net] == ["Dense", "Dropout", "Dense", "Readout"]
    assert len(net[:2]) == 2 and net[:2][0] is net[0]
    text = repr(net)
    assert "(0) Dense(n_in=5, n_out=4, bias=True, dtype='float32')  # 24 params" in text
    assert "Readout(mode='mean')" in text
    assert "39 params in total" in text


def test_constructor_errors():
    with pytest.raises(ValueError, match="at least one layer"):
        Sequential()
    with pytest.raises(TypeError, match="separate arguments"):
        Sequential([Dense(2, 2), Dense(2, 2)])


# ---- save and load -----------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_save_load_round_trip(tmp_path, dtype):
    net = make_net(dtype)
    for _, p, _ in net.parameters():  # the bias too, so that loading it is tested
        p += 0.1
    path = tmp_path / "net.npz"
    net.save(path, metadata={"epoch": 3, "accuracy": 0.97, "tags": ["a"]})
    loaded = Sequential.load(path)
    assert loaded.params.keys() == net.params.keys()
    for name, p in net.params.items():
        q = loaded.params[name]
        assert q.dtype == p.dtype and np.array_equal(q, p)
    assert [layer.config() for layer in loaded] == [layer.config() for layer in net]
    x = inputs(dtype)
    np.testing.assert_array_equal(loaded.eval().forward(x), net.eval().forward(x))
    assert Sequential.load_metadata(path) == {"epoch": 3, "accuracy": 0.97, "tags": ["a"]}
    assert os.listdir(tmp_path) == ["net.npz"]


def test_path_is_used_as_given(tmp_path):
    path = tmp_path / "weights.ckpt"
    make_net().save(str(path))
    assert os.listdir(tmp_path) == ["weights.ckpt"]
    assert Sequential.load_metadata(path) == {}


def test_checkpoint_is_plain_npz_without_pickle(tmp_path):
    path = tmp_path / "net.npz"
    make_net().save(path, metadata={"note": "hi"})
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["__meta__"]))
        assert data["__meta__"].ndim == 0
    assert meta["format"] == "minisnu.sequential" and meta["version"] == 1
    assert meta["layers"][1] == {"type": "Dropout", "config": {"p": 0.3, "shared_over_time": True}}
    assert meta["metadata"] == {"note": "hi"}


def test_save_refuses_non_json_metadata(tmp_path):
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        make_net().save(tmp_path / "net.npz", metadata={"w": np.zeros(2)})
    with pytest.raises(TypeError, match="metadata must be a dict"):
        make_net().save(tmp_path / "net.npz", metadata=[1])
    assert os.listdir(tmp_path) == []


def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "net.npz"
    old = make_net(rng=0)
    old.save(path, metadata={"version": "old"})
    before = path.read_bytes()

    def crash_midway(f, **arrays):
        f.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(minisnu.core.io.np, "savez", crash_midway)
    with pytest.raises(OSError, match="disk full"):
        make_net(rng=1).save(path, metadata={"version": "new"})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["net.npz"]  # no temporary file left behind
    assert Sequential.load_metadata(path) == {"version": "old"}


def test_atomic_write_cleans_up_on_interrupt(tmp_path):
    path = tmp_path / "file.bin"
    path.write_bytes(b"old")

    def interrupted(f):
        f.write(b"new but incomplete")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, interrupted)
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["file.bin"]
    atomic_write(path, lambda f: f.write(b"new"))
    assert path.read_bytes() == b"new" and os.listdir(tmp_path) == ["file.bin"]


def test_save_npz_atomic_refuses_object_arrays(tmp_path):
    with pytest.raises(TypeError, match="pickling"):
        save_npz_atomic(tmp_path / "a.npz", {"a": np.array([{}], dtype=object)})


# ---- loading bad files ----------------------------------------------------------

UNPICKLED = []


class Trap:
    """Unpickling this object would record it: the loader must never do so."""

    def __reduce__(self):
        return (UNPICKLED.append, ("unpickled!",))


def checkpoint_arrays(tmp_path):
    path = tmp_path / "good.npz"
    make_net().save(path)
    with np.load(path) as data:
        arrays = dict(data)
    return arrays, json.loads(str(arrays["__meta__"]))


def write_npz(tmp_path, arrays, meta=None):
    if meta is not None:
        arrays = {**arrays, "__meta__": np.array(json.dumps(meta))}
    path = tmp_path / "bad.npz"
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def test_pickled_arrays_are_refused_and_never_unpickled(tmp_path):
    arrays, _meta = checkpoint_arrays(tmp_path)
    arrays["0.W"] = np.array([Trap()], dtype=object)
    path = write_npz(tmp_path, arrays)
    with pytest.raises(ValueError, match=r"bad.npz is not a minisnu checkpoint .*pickled") as info:
        Sequential.load(path)
    assert "allow_pickle" not in str(info.value)
    assert UNPICKLED == []


def test_truncated_and_garbage_files(tmp_path):
    good = tmp_path / "good.npz"
    make_net().save(good)
    data = good.read_bytes()
    for cut in (0, 10, len(data) // 2, len(data) - 1):
        bad = tmp_path / "cut.npz"
        bad.write_bytes(data[:cut])
        with pytest.raises(ValueError, match=r"cut.npz"):
            Sequential.load(bad)
    (tmp_path / "text.npz").write_text("hello, world\n" * 10)
    with pytest.raises(ValueError, match=r"text.npz is not a minisnu checkpoint \(not an .npz archive\)"):
        Sequential.load(tmp_path / "text.npz")


@settings(max_examples=20, deadline=None)
@given(position=st.floats(0, 1, exclude_max=True), byte=st.integers(0, 255))
def test_corrupted_byte_is_a_value_error_or_harmless(tmp_path_factory, position, byte):
    tmp_path = tmp_path_factory.mktemp("corrupt")
    good = tmp_path / "good.npz"
    make_net().save(good)
    data = bytearray(good.read_bytes())
    data[int(position * len(data))] = byte
    bad = tmp_path / "bad.npz"
    bad.write_bytes(bytes(data))
    try:
        net = Sequential.load(bad)
    except ValueError as err:
        assert "bad.npz" in str(err)
    else:  # e.g. a byte of a zip comment or an unused header field
        assert all(np.array_equal(p, q) for p, q in zip(net.params.values(), make_net().params.values()))


def test_missing_file():
    with pytest.raises(FileNotFoundError):
        Sequential.load("/nonexistent/net.npz")


def tamper(meta, **changes):
    return {**meta, **changes}


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda a, m: (a, None), "not a minisnu checkpoint .*no '__meta__'"),
        (lambda a, m: (a, tamper(m, format="other")), "not a minisnu checkpoint"),
        (lambda a, m: (a, tamper(m, version=2)), "unsupported checkpoint version 2"),
        (lambda a, m: (a, tamper(m, layers="Dense")),
         "malformed '__meta__': 'layers' must be a non-empty list"),
        (lambda a, m: (a, tamper(m, metadata=None)), "malformed '__meta__': 'metadata' must be a dict"),
        (lambda a, m: ({**a, "__meta__": np.array("{not json")}, None), "malformed JSON"),
        (lambda a, m: ({**a, "__meta__": np.arange(3)}, None), "expected a JSON string"),
        (
            lambda a, m: (a, tamper(m, layers=[{"type": "Conv9d", "config": {}}] + m["layers"][1:])),
            "layer 0: unknown layer type 'Conv9d'",
        ),
        (
            lambda a, m: (a, tamper(m, layers=[{"type": "Dense", "config": {"n_in": 5}}] + m["layers"][1:])),
            r"layer 0 \(Dense\) cannot be built",
        ),
        (lambda a, m: ({k: v for k, v in a.items() if k != "2.b"}, m), r"missing: \['2.b'\]"),
        (lambda a, m: ({**a, "7.W": np.zeros(2)}, m), r"unexpected: \['7.W'\]"),
        (lambda a, m: ({**a, "0.W": np.zeros((4, 5), np.float32)}, m), r"'0.W' has shape \(4, 5\).*\(5, 4\)"),
        (lambda a, m: ({**a, "0.W": a["0.W"].astype(np.float64)}, m), "'0.W' has dtype float64.*float32"),
    ],
)
def test_bad_checkpoints_name_the_problem(tmp_path, edit, match):
    arrays, meta = checkpoint_arrays(tmp_path)
    arrays.pop("__meta__")
    arrays, meta = edit(arrays, meta)
    path = write_npz(tmp_path, arrays, meta)
    with pytest.raises(ValueError, match=match) as info:
        Sequential.load(path)
    assert "bad.npz" in str(info.value)


def test_single_npy_file_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "array.npy"
    np.save(path, np.zeros(3))
    with pytest.raises(ValueError, match="not a minisnu checkpoint"):
        Sequential.load(path)
