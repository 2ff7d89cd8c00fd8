"""Sequential: a stack of layers applied one after the other, with checkpoints.

A checkpoint is one ``.npz`` file (no pickle anywhere): every parameter under
its flat name ("0.W", "2.b", ...) and, under "__meta__", a JSON string with the
format name, its version, each layer's type and ``config()``, and the user's
metadata. Loading rebuilds the layers by name (``minisnu.core.registry``) and copies
the arrays in, after checking that every name, shape and dtype matches and every
weight is finite. A file is trusted in nothing: every JSON field is checked for
its type, each layer's ``config()`` must rebuild to itself (a hand-edited
``"stateful": "no"`` would otherwise be read as True), and whatever is wrong is
one :class:`~minisnu.core.errors.CheckpointError` naming the file and the entry.

Layers that refer to other layers (``TiedDense`` uses an ``Embedding``'s table)
store the other layer's *index* in their ``config()``. The hook that connects
them: a layer may define ``bind(layers)``; ``Sequential`` calls it with the
list of all its layers once they are all built (in ``__init__``, hence also in
``load``), and again before ``save`` so that the index it records is the one
in this Sequential. ``bind`` resolves or records the reference and raises
TypeError/ValueError if the layers do not fit.
"""

from __future__ import annotations

import json
import struct
import zipfile
import zlib

import numpy as np

from ..core.errors import CheckpointError, InputError
from ..core.io import save_npz_atomic
from ..core.layer import Layer
from ..core.registry import layer_type
from ..core.validate import check_finite

#: the format name written in every checkpoint's metadata
FORMAT = "minisnu.sequential"
#: the version of that format this minisnu writes and reads
VERSION = 1
#: the entry of the ``.npz`` file that holds the metadata, a JSON string
META_KEY = "__meta__"

# What numpy and zipfile raise on a damaged or foreign file. zipfile reports
# some damaged headers as RuntimeError ("encrypted") or NotImplementedError
# ("unsupported compression method", a RuntimeError subclass).
# MemoryError: a header whose shape claims more than the machine has.
_DAMAGED_FILE_ERRORS = (OSError, EOFError, ValueError, RuntimeError, zipfile.BadZipFile, zlib.error,
                        struct.error, MemoryError, KeyError)
# an .npz archive is a zip file: it starts with a member's header, or, with no
# member at all (the state of plain SGD, which has none), with the end record
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


class Sequential(Layer):
    r"""Compose layers: :math:`y = f_L(\cdots f_2(f_1(x)))`.

    By the chain rule the backward pass runs the layers in reverse,

    .. math::

        \frac{\partial L}{\partial x} = J_{f_1}^\top \cdots J_{f_L}^\top
        \frac{\partial L}{\partial y},

    each layer adding its parameter gradients on the way.

    ``params`` and ``grads`` are flat dicts ``{"<layer index>.<name>": array}``
    holding the layers' own arrays (not copies), so an optimizer that updates
    them in place trains the layers.

    Examples
    --------
    >>> net = Sequential(Dense(784, 256), SNU(256, 10), Readout("sum"))
    >>> y = net.forward(x)               # x: (T, B, 784) -> y: (B, 10)
    >>> net.backward(dy)
    >>> net.save("net.npz", metadata={"epoch": 3})
    >>> net = Sequential.load("net.npz")
    """

    def __init__(self, *layers):
        # Layer.__init__ is not called: params and grads are computed from the layers.
        if not layers:
            raise ValueError("Sequential needs at least one layer")
        for i, layer in enumerate(layers):
            if not all(hasattr(layer, a) for a in ("forward", "backward", "params", "grads")):
                raise TypeError(
                    f"layer {i} ({type(layer).__name__}) does not follow the layer contract; "
                    "pass layers as separate arguments: Sequential(a, b, c)"
                )
        self.layers = list(layers)
        self.training = True
        self._bind_layers()

    def _bind_layers(self) -> None:
        """The hook for layers that refer to other layers: ``layer.bind(layers)`` (module docstring)."""
        for layer in self.layers:
            if callable(getattr(layer, "bind", None)):
                layer.bind(self.layers)

    # ---- forward and backward -------------------------------------------------

    def forward(self, x):
        """Each layer's output is the next one's input; an overflow is named by the layer that made it.

        The first layer checks ``x`` (no NaN or infinity) and every layer its
        parameters, so a non-finite output can only be an overflow (or 0·∞)
        inside that layer: refused here naming the layer's index and type,
        rather than by the next layer as a bad input. One sum per output.
        """
        for i, layer in enumerate(self.layers):
            x = layer.forward(x)
            if isinstance(x, np.ndarray) and x.dtype.kind == "f":
                try:
                    check_finite(f"the output of layer {i} ({type(layer).__name__})", x)
                except InputError as err:
                    raise InputError(f"{err}: an overflow in its forward pass (inputs or weights "
                                     "too large for its dtype)") from None
        return x

    def backward(self, dy):
        """Back-propagate through all layers; returns the first layer's dx (None for Embedding)."""
        last = len(self.layers) - 1
        for i in range(last, -1, -1):
            if dy is None and i < last:
                raise ValueError(
                    f"layer {i + 1} ({type(self.layers[i + 1]).__name__}) returned no input gradient, "
                    "so the layers below it cannot be trained; only the first layer may take "
                    "a non-differentiable input"
                )
            dy = self.layers[i].backward(dy)
        return dy

    # ---- parameters -----------------------------------------------------------

    @property
    def params(self) -> dict:
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.params.items()}

    @property
    def grads(self) -> dict:
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.grads.items()}

    def parameters(self):
        """Yield ``(name, param, grad)`` for every parameter, in layer order."""
        for i, layer in enumerate(self.layers):
            for k, p in layer.params.items():
                yield f"{i}.{k}", p, layer.grads[k]

    @property
    def n_params(self) -> int:
        return sum(p.size for p in self.params.values())

    def zero_grad(self) -> None:
        for layer in self.layers:
            layer.zero_grad()

    def train(self, mode: bool = True) -> Sequential:
        self.training = bool(mode)
        for layer in self.layers:
            layer.train(mode)
        return self

    # ---- container protocol ---------------------------------------------------

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, i):
        return Sequential(*self.layers[i]) if isinstance(i, slice) else self.layers[i]

    def __iter__(self):
        return iter(self.layers)

    def __repr__(self) -> str:
        lines = ["Sequential("]
        for i, layer in enumerate(self.layers):
            count = sum(p.size for p in layer.params.values())
            lines.append(f"  ({i}) {layer!r}  # {count:,} params")
        lines.append(f")  # {self.n_params:,} params in total")
        return "\n".join(lines)

    # ---- checkpoints ----------------------------------------------------------

    def save(self, path, metadata: dict | None = None) -> None:
        """Write the network to one ``.npz`` file at ``path`` (used as given), atomically.

        ``metadata`` is any JSON-serialisable dict (epoch, accuracy, ...),
        returned by :meth:`load_metadata`.
        """
        if metadata is not None and not isinstance(metadata, dict):
            raise TypeError(f"metadata must be a dict, got {type(metadata).__name__}")
        self._bind_layers()  # a layer shared with another Sequential records its index in this one
        specs = []
        for i, layer in enumerate(self.layers):
            spec = {"type": type(layer).__name__, "config": layer.config()}
            _to_json(f"the config of layer {i} ({spec['type']})", spec)
            specs.append(spec)
        meta = {"format": FORMAT, "version": VERSION, "layers": specs, "metadata": metadata or {}}
        arrays = dict(self.params)
        arrays[META_KEY] = np.array(_to_json("metadata", meta))  # a 0-d unicode array
        save_npz_atomic(path, arrays)

    @classmethod
    def load(cls, path) -> Sequential:
        """Rebuild a network saved by :meth:`save`.

        Anything wrong with the file (damaged, truncated, hand-edited, foreign,
        a field of the wrong type, an array of the wrong shape or dtype, a NaN
        or infinite weight) is a one-line :class:`~minisnu.core.errors.CheckpointError` naming the
        file and the entry; a missing file is a FileNotFoundError.
        """
        meta_array, arrays = _read_npz(path, with_arrays=True)
        meta = _parse_meta(path, meta_array)
        layers = [_build_layer(path, i, spec) for i, spec in enumerate(meta["layers"])]
        try:
            net = cls(*layers)  # binds the layers that refer to others
        except (TypeError, ValueError) as err:
            raise CheckpointError(f"{path}: the layers do not fit together: {err}") from err
        for i, (layer, spec) in enumerate(zip(net.layers, meta["layers"])):
            _check_config_round_trip(path, i, layer, spec)
        _copy_params(path, net.params, arrays)
        return net

    def load_weights(self, path) -> None:
        """Copy the weights stored in ``path`` into this network, in place.

        Only the arrays are read (not the layers' configs): every parameter
        must be stored under its name with its shape and dtype, finite, and
        nothing else; :class:`~minisnu.core.errors.CheckpointError` naming the file and the array
        otherwise, before any weight is changed.
        """
        _meta, arrays = _read_npz(path, with_arrays=True)
        _copy_params(path, self.params, arrays)

    @staticmethod
    def load_metadata(path) -> dict:
        """The ``metadata`` dict stored by :meth:`save`, without building the network."""
        meta_array, _ = _read_npz(path, with_arrays=False)
        return _parse_meta(path, meta_array)["metadata"]


def read_arrays(path) -> dict:
    """Every array of an ``.npz`` file (an optimizer's state, ...), read without pickle.

    :class:`~minisnu.core.errors.CheckpointError` naming the file if it is damaged, not an ``.npz``
    archive, or holds anything but plain arrays; FileNotFoundError if missing.
    """
    meta, arrays = _read_npz(path, with_arrays=True)
    if meta is not None:
        arrays[META_KEY] = meta
    return arrays


def _to_json(what: str, value) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{what} is not JSON-serialisable: {err}") from err


def _read_npz(path, with_arrays: bool):
    """The raw "__meta__" array (None if absent) and the other arrays of an .npz file.

    The file is opened first, so a missing file is a FileNotFoundError; anything
    that goes wrong while parsing it (truncated or corrupted zip, pickled object
    arrays, not an .npz at all) becomes a CheckpointError naming the file.
    Pickles are never loaded (they can run code), and numpy's advice to load
    the file unsafely is not passed on.
    """
    with open(path, "rb") as f:
        if f.read(4) not in _ZIP_MAGIC:
            raise CheckpointError(f"{path} is not a minisnu checkpoint (not an .npz archive)")
        f.seek(0)
        try:
            with np.load(f, allow_pickle=False) as data:
                names = data.files
                meta = data[META_KEY] if META_KEY in names else None
                arrays = {k: data[k] for k in names if k != META_KEY} if with_arrays else {}
        except _DAMAGED_FILE_ERRORS as err:
            raise CheckpointError(_damage(path, err)) from None
    for name, value in ({META_KEY: meta} | arrays).items():
        if value is not None and not isinstance(value, np.ndarray):  # a member without ".npy"
            raise CheckpointError(f"{path} is not a minisnu checkpoint (entry {name!r} is not a NumPy array)")
    return meta, arrays


def _damage(path, err) -> str:
    """One line for an error raised while reading an .npz file."""
    text = _short(err, 200)
    if "pickle" in text:  # an object array: numpy's own message advises loading it unsafely
        return (f"{path} is not a minisnu checkpoint "
                "(it holds pickled Python objects, which minisnu never loads)")
    return f"{path}: cannot read it as an .npz checkpoint, the file is damaged or truncated ({text})"


def _parse_meta(path, meta_array) -> dict:
    """Decode and check the "__meta__" JSON of a checkpoint: every field's presence and type."""
    if meta_array is None:
        raise CheckpointError(f"{path} is not a minisnu checkpoint (it has no {META_KEY!r} entry)")
    if meta_array.ndim != 0 or meta_array.dtype.kind != "U":
        raise CheckpointError(f"{path}: malformed {META_KEY!r} entry, expected a JSON string")
    try:
        meta = json.loads(str(meta_array))
    except (ValueError, RecursionError) as err:  # JSONDecodeError is a ValueError; so is a 5,000-digit int
        raise CheckpointError(f"{path}: malformed JSON in {META_KEY!r}: {_short(err)}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a minisnu checkpoint (format is not {FORMAT!r})")
    version = meta.get("version")
    if type(version) is not int or version != VERSION:  # not True, not 1.0
        raise CheckpointError(
            f"{path}: unsupported checkpoint version {version!r} (this minisnu reads version {VERSION})"
        )
    layers = meta.get("layers")
    if not isinstance(layers, list) or not layers:
        raise CheckpointError(f"{path}: malformed {META_KEY!r}: 'layers' must be a non-empty list, "
                              f"got {_short(layers)}")
    for i, spec in enumerate(layers):
        if not isinstance(spec, dict):
            raise CheckpointError(f"{path}: malformed {META_KEY!r}: layers[{i}] must be "
                                  f"{{'type': str, 'config': dict}}, got {_short(spec)}")
        for key, kind in (("type", str), ("config", dict)):
            if not isinstance(spec.get(key), kind):
                raise CheckpointError(f"{path}: malformed {META_KEY!r}: layers[{i}][{key!r}] must be "
                                      f"a {kind.__name__}, got {_short(spec.get(key))}")
    if not isinstance(meta.get("metadata"), dict):
        raise CheckpointError(f"{path}: malformed {META_KEY!r}: 'metadata' must be a dict, "
                              f"got {_short(meta.get('metadata'))}")
    return meta


def _short(value, limit: int = 80) -> str:
    """``repr(value)`` on one line, cut to ``limit`` characters (a hand-edited field may be huge)."""
    text = " ".join((str(value) if isinstance(value, BaseException) else repr(value)).split())
    return text if len(text) <= limit else text[:limit] + " ..."

def _build_layer(path, i: int, spec: dict):
    try:
        cls = layer_type(spec["type"])
    except ValueError as err:
        hint = "import the module that defines it before loading"
        raise CheckpointError(f"{path}: layer {i}: {err}; {hint}") from None
    try:
        return cls(**spec["config"])
    except (TypeError, ValueError, OverflowError, MemoryError) as err:
        raise CheckpointError(
            f"{path}: layer {i} ({spec['type']}) cannot be built from its config "
            f"{_short(spec['config'])}: {_short(err, 200)}"
        ) from None


def _check_config_round_trip(path, i: int, layer, spec: dict) -> None:
    """The rebuilt layer's ``config()`` must be the stored one.

    A layer's constructor may accept more than ``config()`` writes (``bool("no")``
    is True); a stored field that it read as another value was edited by hand.
    """
    rebuilt = json.loads(_to_json(f"the config of layer {i}", layer.config()))
    stored = spec["config"]
    for key in sorted(rebuilt.keys() | stored.keys()):
        if key not in stored or key not in rebuilt or not _same_value(stored[key], rebuilt[key]):
            raise CheckpointError(
                f"{path}: layer {i} ({spec['type']}): config field {key!r} is "
                f"{_short(stored.get(key, '<missing>'))}, but the layer built from it has "
                f"{_short(rebuilt.get(key, '<missing>'))}"
            )


def _same_value(a, b) -> bool:
    """Equal JSON values, where 1 and 1.0 are the same number but 1 is not True."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def _copy_params(path, params: dict, arrays: dict) -> None:
    """Copy the stored arrays into the parameters, in place, after checking they fit and are finite."""
    missing, extra = sorted(params.keys() - arrays.keys()), sorted(arrays.keys() - params.keys())
    if missing or extra:
        raise CheckpointError(
            f"{path}: the arrays do not match the layers (missing: {missing}, unexpected: {extra})"
        )
    for name, param in params.items():
        stored = arrays[name]
        for what, got, want in (("shape", stored.shape, param.shape), ("dtype", stored.dtype, param.dtype)):
            if got != want:
                raise CheckpointError(f"{path}: array {name!r} has {what} {got}, the layer expects {want}")
        if not np.isfinite(stored).all():
            bad = stored.size - np.count_nonzero(np.isfinite(stored))
            raise CheckpointError(f"{path} is damaged: array {name!r} holds {bad} NaN or infinite value(s)")
    for name, param in params.items():
        param[...] = arrays[name]
