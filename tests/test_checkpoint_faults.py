"""Damaged, truncated, hand-edited and foreign checkpoints: a correct load or one clear error.

A small valid checkpoint (and an optimizer's state) is mutated systematically:
cut at every length, bytes flipped, every JSON field deleted or given another
type, arrays replaced by object arrays, other shapes, other dtypes, NaN. Every
outcome must be either a correct load or a ``CheckpointError`` whose one-line
message names the file; no other exception, no numpy advice to load unsafely.
"""

import copy
import io
import json
import math
import zipfile

import numpy as np
import pytest

from minisnu import SNU, Dense, Embedding, Readout, Sequential, TiedDense
from minisnu.core.errors import CheckpointError
from minisnu.layers.sequential import META_KEY, read_arrays
from minisnu.training import optim

METADATA = {"epoch": 2, "note": "x"}


def make_net():
    return Sequential(Dense(3, 4, rng=1), SNU(4, 3, rng=2), Readout("sum"))


def make_tied_net():
    return Sequential(Embedding(6, 4, rng=1), Dense(4, 4, rng=2), TiedDense(0))


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """The bytes of a valid checkpoint, its arrays and its JSON."""
    path = tmp_path_factory.mktemp("good") / "good.npz"
    make_net().save(path, metadata=METADATA)
    with np.load(path) as data:
        arrays = dict(data)
    meta = json.loads(str(arrays.pop(META_KEY)))
    return path.read_bytes(), arrays, meta


def write_npz(path, arrays, meta=None):
    if meta is not None:
        arrays = {**arrays, META_KEY: np.array(json.dumps(meta))}
    with open(path, "wb") as f:
        np.savez(f, **arrays)  # object arrays are pickled: a foreign file
    return path


def outcome(path):
    """"ok" after a load that gives the original network, else the CheckpointError's message.

    Any other exception fails the test (it would be a traceback for a user).
    """
    try:
        meta = Sequential.load_metadata(path)
        net = Sequential.load(path)
    except CheckpointError as err:
        message = str(err)
        assert str(path) in message, message
        assert "\n" not in message, message
        assert "allow_pickle" not in message and "unsafely" not in message, message
        return message
    assert meta == METADATA
    for (name, p), q in zip(net.params.items(), make_net().params.values()):
        np.testing.assert_array_equal(p, q, err_msg=name)
    return "ok"


def test_the_good_checkpoint_loads(good, tmp_path):
    path = tmp_path / "copy.npz"
    path.write_bytes(good[0])
    assert outcome(path) == "ok"


def test_cut_at_many_lengths(good, tmp_path):
    """Every third length, and every length within the zip's directory at the end."""
    data = good[0]
    path = tmp_path / "cut.npz"
    for length in sorted({*range(0, len(data), 3), *range(len(data) - 400, len(data))}):
        path.write_bytes(data[:length])
        assert outcome(path) != "ok", length


def test_every_third_byte_flipped(good, tmp_path):
    data = good[0]
    path = tmp_path / "flipped.npz"
    loaded = 0
    for i, position in enumerate(range(0, len(data), 3)):
        damaged = bytearray(data)
        damaged[position] ^= (0xFF, 0x01, 0x80)[i % 3]
        path.write_bytes(bytes(damaged))
        loaded += outcome(path) == "ok"  # a time stamp, a field zip does not read: harmless
    assert loaded < len(data) // 4


# ---- the JSON, field by field --------------------------------------------------------


def field_paths(value, prefix=()):
    """Every key path into a JSON value: ("layers", 1, "config", "decay"), ..."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, child in items:
        yield (*prefix, key)
        yield from field_paths(child, (*prefix, key))


def edited(meta, path, new=None, delete=False):
    meta = copy.deepcopy(meta)
    parent = meta
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return meta


OTHER_VALUES = [None, "x", "", 1.5, -1, 0, True, False, [], {}, [1], {"a": 1}, math.nan, 2**70]


def test_every_json_field_deleted_or_retyped(good, tmp_path):
    _, arrays, meta = good
    file = tmp_path / "edited.npz"
    for path in field_paths(meta):
        user_field = path[0] == "metadata"
        old = meta
        for key in path:
            old = old[key]
        # without a layer of no parameters (the Readout), another valid network
        edits = [(edited(meta, path, delete=True), not isinstance(path[-1], int))] + [
            (edited(meta, path, new), not same_type(new, old)) for new in OTHER_VALUES
            if not (same_type(new, old) and new == old)]
        for changed, wrong_type in edits:
            write_npz(file, arrays, changed)
            result = outcome_of_edit(file, changed)
            # The user's own metadata may hold anything JSON holds; a field of the
            # network given another value of its type may be another valid network.
            if wrong_type and not user_field:
                assert result != "ok", (path, changed)


def same_type(new, old):
    """Whether ``new`` is a value of the type of ``old`` (an int where a float is written counts)."""
    return type(new) is type(old) or (type(old) is float and type(new) is int)


def outcome_of_edit(path, meta):
    """Like outcome(), but a load with other user metadata is correct too."""
    try:
        Sequential.load_metadata(path)
        Sequential.load(path)
    except CheckpointError as err:
        assert str(path) in str(err) and "\n" not in str(err), str(err)
        return str(err)
    return "ok"


@pytest.mark.parametrize("edit, message", [
    (lambda m: edited(m, ("version",), True), "unsupported checkpoint version True"),
    (lambda m: edited(m, ("version",), 1.0), "unsupported checkpoint version 1.0"),
    (lambda m: edited(m, ("layers",), []), "'layers' must be a non-empty list"),
    (lambda m: edited(m, ("layers", 1, "type"), 3), r"layers\[1\]\['type'\] must be a str, got 3"),
    (lambda m: edited(m, ("layers", 1), "SNU"), r"layers\[1\] must be \{'type': str, 'config': dict\}"),
    (lambda m: edited(m, ("layers", 1, "config", "n_in"), "4"), r"layer 1 \(SNU\) cannot be built.*n_in"),
    (lambda m: edited(m, ("layers", 1, "config", "stateful"), "no"),
     r"layer 1 \(SNU\): config field 'stateful' is 'no', but the layer built from it has True"),
    (lambda m: edited(m, ("layers", 0, "config", "bias"), delete=True),
     r"layer 0 \(Dense\): config field 'bias' is '<missing>'"),
    (lambda m: edited(m, ("layers", 0, "config", "colour"), "red"),
     r"layer 0 \(Dense\) cannot be built.*colour"),
    (lambda m: edited(m, ("metadata",), [1]), "'metadata' must be a dict, got \\[1\\]"),
])
def test_edited_fields_are_named(good, tmp_path, edit, message):
    _, arrays, meta = good
    path = write_npz(tmp_path / "edited.npz", arrays, edit(meta))
    with pytest.raises(CheckpointError, match=message):
        Sequential.load(path)


def test_json_that_cannot_be_parsed(good, tmp_path):
    _, arrays, _ = good
    for text in ["{", "[" * 100_000 + "]" * 100_000, '{"a": ' + "9" * 5000 + "}", "null", "3", '"x"']:
        path = tmp_path / "json.npz"
        with open(path, "wb") as f:
            np.savez(f, **arrays, **{META_KEY: np.array(text)})
        assert outcome(path) != "ok"


@pytest.mark.parametrize("meta", [np.array(b"{}"), np.array(["{}"]), np.array(3), np.zeros((2, 2))])
def test_a_meta_entry_that_is_not_a_json_string(good, tmp_path, meta):
    _, arrays, _ = good
    path = tmp_path / "meta.npz"
    with open(path, "wb") as f:
        np.savez(f, **arrays, **{META_KEY: meta})
    assert "expected a JSON string" in outcome(path)


# ---- the arrays ------------------------------------------------------------------------


def replacements(array):
    yield "object", np.array([object()] * array.size, dtype=object).reshape(array.shape)
    yield "float64", array.astype(np.float64)
    yield "int32", array.astype(np.int32)
    yield "bool", array > 0
    yield "complex", array.astype(np.complex64)
    yield "0-d", np.float32(1.0) * np.ones((), np.float32)
    yield "transposed", np.ascontiguousarray(array.T) if array.ndim == 2 else array[:-1]
    yield "longer", np.concatenate([array.reshape(-1), array.reshape(-1)])
    yield "strings", np.array(["a"] * array.size).reshape(array.shape)
    for bad in (np.nan, np.inf, -np.inf):
        changed = array.copy()
        changed.flat[0] = bad
        yield f"{bad}", changed


def test_every_array_replaced(good, tmp_path):
    _, arrays, meta = good
    path = tmp_path / "arrays.npz"
    for name, array in arrays.items():
        for what, new in replacements(array):
            if what == "transposed" and new.shape == array.shape:
                continue
            write_npz(path, {**arrays, name: new}, meta)
            message = outcome(path)
            assert (message != "ok" and repr(name) in message) or "pickled" in message, (name, what, message)
        write_npz(path, {k: v for k, v in arrays.items() if k != name}, meta)
        assert f"missing: ['{name}']" in outcome(path)
    write_npz(path, {**arrays, "9.W": np.zeros(2, np.float32)}, meta)
    assert "unexpected: ['9.W']" in outcome(path)


def test_a_non_finite_weight_is_a_damaged_file_naming_the_array(good, tmp_path):
    _, arrays, meta = good
    weights = arrays["1.W"].copy()
    weights[1, 2] = np.nan
    path = write_npz(tmp_path / "nan.npz", {**arrays, "1.W": weights}, meta)
    with pytest.raises(CheckpointError, match=r"nan\.npz is damaged: array '1\.W' holds 1 NaN or inf") as err:
        Sequential.load(path)
    assert "diverged" not in str(err.value) and "learning rate" not in str(err.value)
    net = make_net()
    before = {k: v.copy() for k, v in net.params.items()}
    with pytest.raises(CheckpointError, match=r"'1\.W'"):
        net.load_weights(path)
    for name, p in net.params.items():  # nothing copied
        np.testing.assert_array_equal(p, before[name])


def test_pickles_are_never_loaded_and_numpy_advice_is_not_passed_on(good, tmp_path):
    _, arrays, meta = good
    path = write_npz(tmp_path / "pickled.npz", {**arrays, "0.W": np.array([{"x": 1}], dtype=object)}, meta)
    message = outcome(path)
    assert message == (f"{path} is not a minisnu checkpoint "
                       "(it holds pickled Python objects, which minisnu never loads)")
    (tmp_path / "pickle.npz").write_bytes(b"\x80\x04K\x01.")  # a pickle of the number 1
    assert "not a minisnu checkpoint (not an .npz archive)" in outcome(tmp_path / "pickle.npz")


def test_a_zip_member_that_is_not_an_array(good, tmp_path):
    _, arrays, meta = good
    path = write_npz(tmp_path / "member.npz", arrays, meta)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("notes", b"not an array")
    assert "entry 'notes' is not a NumPy array" in outcome(path)


def test_load_weights_and_read_arrays_name_the_file(good, tmp_path):
    data = good[0]
    path = tmp_path / "cut.npz"
    path.write_bytes(data[: len(data) // 2])
    for read in (make_net().load_weights, read_arrays):
        with pytest.raises(CheckpointError, match=r"cut\.npz"):
            read(path)
    path.write_bytes(data)
    assert set(read_arrays(path)) == {META_KEY, *make_net().params}


def test_a_tied_network_with_an_edited_reference(tmp_path):
    path = tmp_path / "tied.npz"
    make_tied_net().save(path)
    with np.load(path) as data:
        arrays = dict(data)
    meta = json.loads(str(arrays.pop(META_KEY)))
    assert isinstance(Sequential.load(path), Sequential)
    for new in (1, 5, -1, "0", None, 0.0, True):
        write_npz(path, arrays, edited(meta, ("layers", 2, "config", "embedding"), new))
        with pytest.raises(CheckpointError, match=r"tied\.npz"):
            Sequential.load(path)


# ---- the optimizer's state ---------------------------------------------------------------


def trained_optimizer(kind):
    net = make_net()
    opt = optim.Adam(net, lr=0.01) if kind == "adam" else optim.SGD(net, lr=0.01, momentum=0.9)
    x = np.random.default_rng(0).standard_normal((4, 2, 3)).astype(np.float32)
    for _ in range(2):
        opt.zero_grad()
        net.backward(np.ones_like(net.forward(x)))
        opt.step()
    return net, opt


def through_npz(state):
    """The state as a run stores it: scalars from JSON, arrays from an .npz file."""
    buffer = io.BytesIO()
    arrays = {k: v for k, v in state.items() if isinstance(v, np.ndarray)}
    np.savez(buffer, **arrays)
    buffer.seek(0)
    scalars = json.loads(json.dumps({k: v for k, v in state.items() if k not in arrays}))
    return {**scalars, **dict(np.load(buffer, allow_pickle=False))}


@pytest.mark.parametrize("kind", ["adam", "sgd"])
def test_every_optimizer_entry_deleted_or_retyped(kind):
    net, opt = trained_optimizer(kind)
    state = through_npz(opt.state_dict())
    fresh = type(opt)(net, lr=0.5)
    fresh.load_state_dict(state, source="opt.npz")
    assert fresh.steps == 2 and fresh.hyper_parameters() == opt.hyper_parameters()
    for key, value in state.items():
        others = [None, "x", 1.5, -1, True, [], {}, math.nan, math.inf, 2.0]
        if isinstance(value, np.ndarray):
            others += [np.zeros(value.size + 1, value.dtype), value.astype(np.float64), value[None],
                       np.where(np.arange(value.size).reshape(value.shape) == 0, np.nan, value)]
        edits = [{k: v for k, v in state.items() if k != key}]
        edits += [{**state, key: other} for other in others
                  if isinstance(other, np.ndarray) or not (type(other) is type(value) and other == value)]
        for changed in edits:
            target = type(opt)(net, lr=0.5)
            before = (target.hyper_parameters(), target.steps)
            try:
                target.load_state_dict(changed, source="opt.npz")
            except CheckpointError as err:
                assert str(err).startswith("opt.npz") and "\n" not in str(err), str(err)
                assert (target.hyper_parameters(), target.steps) == before  # unchanged
                assert all(not slot for slot in target.state.values())
            else:  # only a value the constructor takes anyway (2.0 for an lr)
                assert key not in ("steps",) and not isinstance(value, np.ndarray), (key, changed[key])
    extra = {**state, "m.9.W": np.zeros(2, np.float32)}
    with pytest.raises(CheckpointError, match=r"opt.npz: entry 'm.9.W' matches no state"):
        type(opt)(net).load_state_dict(extra, source="opt.npz")


@pytest.mark.parametrize("edit, message", [
    (lambda s: {**s, "steps": 2.0}, r"'steps' must be an integer, got 2.0"),
    (lambda s: {**s, "steps": -1}, r"'steps' must be >= 0, got -1"),
    (lambda s: {**s, "steps": True}, r"'steps' must be an integer, got True"),
    (lambda s: {**s, "lr": "0.1"}, r"'lr' must be a number, got '0.1'"),
    (lambda s: {**s, "decoupled": 0}, r"'decoupled' must be true or false, got 0"),
    (lambda s: {**s, "beta1": 1.0}, r"betas\[0\] must be in \[0.0, 1.0\)"),
    (lambda s: {k: v for k, v in s.items() if k != "m.0.W"},
     r"the state after 2 steps lacks 'm' for \['0.W'\]"),
    (lambda s: {**s, "v.1.W": np.full_like(s["v.1.W"], np.inf)},
     r"is damaged: state 'v.1.W' holds \d+ NaN or infinite"),
    (lambda s: {**s, "m.0.b": [0.0] * 4}, r"state 'm.0.b' has a list"),
])
def test_optimizer_problems_are_named(edit, message):
    net, opt = trained_optimizer("adam")
    with pytest.raises(CheckpointError, match=r"^opt.npz.*" + message):
        optim.Adam(net).load_state_dict(edit(through_npz(opt.state_dict())), source="opt.npz")


def test_an_sgd_without_momentum_has_no_state_to_miss():
    net = make_net()
    opt = optim.SGD(net, lr=0.1)
    state = {**opt.state_dict(), "steps": 5}
    fresh = optim.SGD(net, lr=0.2)
    fresh.load_state_dict(state)
    assert fresh.steps == 5 and fresh.lr == 0.1
